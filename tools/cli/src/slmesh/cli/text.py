"""Values cut to fit a column of what the commands print."""


def short(value: object, limit: int = 24) -> str:
    text = str(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
