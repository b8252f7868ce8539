"""A remote model's settings from the environment: what each means, what is refused, and that
no message says the API key."""

from __future__ import annotations

from pathlib import Path

import pytest

from slmesh.runtime.llm.remote import RemoteModelSettings
from slmesh.runtime.micromodel import MicromodelSettings
from slmesh.runtime.settings_errors import InvalidSettingsError

KEY = "sk-live-Zr8Kq2Wm5Np7Xt3Vb9"
BASE = "https://api.example.com/v1"


def from_env(monkeypatch: pytest.MonkeyPatch, **variables: str) -> MicromodelSettings:
    for name in ("SLMESH_REMOTE__API_KEY", "SLMESH_REMOTE__BASE_URL", "SLMESH_REMOTE__MODEL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return MicromodelSettings()


def refusal(monkeypatch: pytest.MonkeyPatch, **variables: str) -> str:
    with pytest.raises(InvalidSettingsError) as info:
        from_env(monkeypatch, **variables)
    return str(info.value)


def test_without_remote_settings_a_micromodel_runs_a_local_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert from_env(monkeypatch).remote is None


def test_remote_settings_come_from_slmesh_remote_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = from_env(
        monkeypatch,
        SLMESH_REMOTE__BASE_URL=BASE + "/",
        SLMESH_REMOTE__MODEL="gpt-4o-mini",
        SLMESH_REMOTE__API_KEY=KEY,
        SLMESH_REMOTE__CONCURRENCY="8",
        SLMESH_REMOTE__PRICE_INPUT_PER_MTOK="0.15",
        SLMESH_REMOTE__PRICE_OUTPUT_PER_MTOK="0.6",
        SLMESH_NAME="summarizer-cloud",
    ).remote
    assert settings is not None
    assert settings.base_url == BASE  # no trailing slash: paths are joined to it
    assert (settings.model, settings.concurrency) == ("gpt-4o-mini", 8)
    # Defaults: three retries from 0.5 s, JSON through OpenAI's json_schema format.
    assert (settings.retries, settings.backoff_s, settings.json_mode) == (3, 0.5, "json_schema")
    # Who runs it, unless named: the endpoint's host.
    assert settings.who == "api.example.com"
    assert settings.price is not None
    assert (settings.price.input_per_mtok, settings.price.currency) == (0.15, "USD")
    assert settings.key() == KEY
    assert KEY not in repr(settings)


def test_prices_of_zero_put_no_price_on_the_card() -> None:
    assert RemoteModelSettings(base_url=BASE, model="m").price is None


@pytest.mark.parametrize(
    ("variables", "said"),
    [
        ({"SLMESH_REMOTE__BASE_URL": "ftp://example.com"}, "SLMESH_REMOTE__BASE_URL: must be"),
        (
            {"SLMESH_REMOTE__BASE_URL": f"https://user:{KEY}@api.example.com/v1"},
            "must hold no user or password",
        ),
        ({"SLMESH_REMOTE__BASE_URL": BASE}, "SLMESH_REMOTE__MODEL: Field required"),
        (
            {"SLMESH_REMOTE__API_KEY": f"{KEY} \n", "SLMESH_REMOTE__MODEL": "m"},
            "SLMESH_REMOTE__API_KEY: must be printable ASCII without spaces",
        ),
        (
            {"SLMESH_REMOTE__API_KEY_FILE": "/nonexistent/key", "SLMESH_REMOTE__MODEL": "m"},
            "SLMESH_REMOTE__API_KEY_FILE: no such file",
        ),
        (
            {"SLMESH_REMOTE__RETRIES": "11", "SLMESH_REMOTE__MODEL": "m"},
            "SLMESH_REMOTE__RETRIES: Input should be less than or equal to 10",
        ),
        (
            {"SLMESH_REMOTE__PRICE_INPUT_PER_MTOK": "inf", "SLMESH_REMOTE__MODEL": "m"},
            "SLMESH_REMOTE__PRICE_INPUT_PER_MTOK",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused_by_name_and_never_quoted(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], said: str
) -> None:
    message = refusal(monkeypatch, **{"SLMESH_REMOTE__BASE_URL": BASE, **variables})
    assert said in message
    assert KEY not in message


def test_a_key_goes_in_clear_text_only_to_this_machine_unless_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clear = {"SLMESH_REMOTE__MODEL": "m", "SLMESH_REMOTE__API_KEY": KEY}
    message = refusal(monkeypatch, SLMESH_REMOTE__BASE_URL="http://llm.internal:8000/v1", **clear)
    assert "the API key would travel in clear text" in message
    assert KEY not in message
    for local in ("http://127.0.0.1:8000/v1", "http://localhost:8000/v1", "http://[::1]:80/v1"):
        assert from_env(monkeypatch, SLMESH_REMOTE__BASE_URL=local, **clear).remote is not None
    allowed = from_env(
        monkeypatch,
        SLMESH_REMOTE__BASE_URL="http://llm.internal:8000/v1",
        SLMESH_REMOTE__INSECURE_HTTP="true",
        **clear,
    )
    assert allowed.remote is not None
    # Without a key, plain http is anyone's choice.
    assert RemoteModelSettings(base_url="http://llm.internal:8000/v1", model="m").key() is None


def test_one_key_at_a_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY)
    message = refusal(
        monkeypatch,
        SLMESH_REMOTE__BASE_URL=BASE,
        SLMESH_REMOTE__MODEL="m",
        SLMESH_REMOTE__API_KEY=KEY,
        SLMESH_REMOTE__API_KEY_FILE=str(key_file),
    )
    assert "not both" in message
    assert KEY not in message


def test_where_a_micromodel_may_be_placed(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = from_env(monkeypatch)
    # Unset: the ceiling follows the model's locality (micromodel.card).
    assert (settings.max_classification, settings.on_pii) == (None, "local")
    assert (settings.name, settings.serves) == (None, None)
    settings = from_env(
        monkeypatch,
        SLMESH_MAX_CLASSIFICATION="internal",
        SLMESH_ON_PII="redact",
        SLMESH_NAME="summarizer-cloud",
    )
    assert (settings.max_classification, settings.on_pii) == ("internal", "redact")
    assert settings.name == "summarizer-cloud"
    assert "SLMESH_ON_PII" in refusal(monkeypatch, SLMESH_ON_PII="send")
    assert "SLMESH_NAME" in refusal(monkeypatch, SLMESH_NAME="Not A Name")
