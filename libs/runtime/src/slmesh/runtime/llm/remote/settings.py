"""Where a remote model is and how it is called: one settings block (`SLMESH_REMOTE__*`).

Set, a micromodel runs its inference on the endpoint instead of loading a GGUF. The API
key is a secret: a `SecretStr` (shown as `**********`), or a file read again for each
call (a Kubernetes Secret mounted as a file, rotated in place). Checks name the
variable and what is wrong with it, never its value (slmesh.runtime.settings_errors).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from slmesh.runtime.llm.settings import PricedModel

# What an HTTP header value may hold: a key with a line break or a space would be
# refused by the HTTP library, in an error message that quotes the header.
_KEY_CHARACTERS = frozenset(chr(c) for c in range(0x21, 0x7F))
_LOOPBACK_NAMES = frozenset({"localhost"})


class KeyUnreadable(ValueError):
    """The API key file cannot be read, or holds no usable key (never says what it holds)."""


class RemoteModelSettings(PricedModel):
    """A remote model: an OpenAI-compatible chat-completions endpoint (`SLMESH_REMOTE__*`)."""

    base_url: str = Field(
        description="The API's base URL, up to the version: https://api.openai.com/v1; "
        "the calls go to <base_url>/chat/completions.",
    )
    model: str = Field(
        min_length=1,
        max_length=256,
        pattern=r"^[A-Za-z0-9._:/@\-]+$",
        description="The model id the endpoint knows (sent in each call; the reply's model).",
    )
    api_key: SecretStr | None = Field(
        default=None, description="Sent as `Authorization: Bearer <key>`."
    )
    api_key_file: Path | None = Field(
        default=None,
        description="A file holding the key (a mounted Secret), read again for each call.",
    )
    provider: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Who runs the model, for the card (e.g. openai); unset: the base URL's host.",
    )
    insecure_http: bool = Field(
        default=False,
        description="Allow an API key over plain http:// to a host that is not this "
        "machine (a cluster-internal endpoint); off, only https:// carries a key away.",
    )
    timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="How long one call may take to answer."
    )
    connect_timeout_s: float = Field(
        default=5.0, gt=0, le=120, description="How long connecting to the endpoint may take."
    )
    retries: int = Field(
        default=3,
        ge=0,
        le=10,
        description="Retries of a call that was rate limited (429), failed on the server "
        "(5xx), could not connect or timed out; other refusals are not retried.",
    )
    backoff_s: float = Field(
        default=0.5, ge=0, le=60, description="First retry delay's bound; doubled each retry."
    )
    max_backoff_s: float = Field(
        default=8.0,
        ge=0,
        le=300,
        description="Bound of any retry delay; a Retry-After asking for longer fails the call.",
    )
    concurrency: int = Field(
        default=4, ge=1, le=256, description="Calls in flight to the endpoint at once."
    )
    max_tokens: int = Field(default=256, ge=1, le=65_536, description="Default answer budget.")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    json_mode: Literal["json_schema", "json_object"] = Field(
        default="json_schema",
        description="How complete_json asks for JSON: json_schema (OpenAI's response format "
        "{type: json_schema, json_schema: {name, schema}}) or json_object (llama.cpp's "
        "server and others: {type: json_object, schema}).",
    )

    @field_validator("base_url")
    @classmethod
    def _an_http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            # A credential in a URL ends up in logs and cards: it belongs in the key.
            raise ValueError("must hold no user or password (give the key as the API key)")
        if parts.query or parts.fragment:
            raise ValueError("must hold no query or fragment")
        return url.rstrip("/")

    @field_validator("api_key")
    @classmethod
    def _a_header_value(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and not _usable_key(key.get_secret_value()):
            raise ValueError("must be printable ASCII without spaces")
        return key

    @model_validator(mode="after")
    def _one_key_sent_safely(self) -> Self:
        if self.api_key is not None and self.api_key_file is not None:
            raise ValueError("give SLMESH_REMOTE__API_KEY or SLMESH_REMOTE__API_KEY_FILE, not both")
        if self.api_key_file is not None and not self.api_key_file.is_file():
            # Not the path: it may be a secret set in the wrong variable.
            raise ValueError("SLMESH_REMOTE__API_KEY_FILE: no such file")
        has_key = self.api_key is not None or self.api_key_file is not None
        if has_key and not self.insecure_http and not self._carries_keys_safely():
            raise ValueError(
                "SLMESH_REMOTE__BASE_URL is http:// to another machine: the API key would "
                "travel in clear text. Use https://, or set SLMESH_REMOTE__INSECURE_HTTP=true"
            )
        return self

    def _carries_keys_safely(self) -> bool:
        parts = urlsplit(self.base_url)
        if parts.scheme == "https":
            return True
        host = parts.hostname or ""
        if host in _LOOPBACK_NAMES:
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def who(self) -> str:
        """Who runs the model: the provider named, else the endpoint's host."""
        return self.provider or self.host

    def key(self) -> str | None:
        """The API key to send now: the setting's, or the file's as it is now. Raises
        KeyUnreadable (naming the variable, never the contents) when the file is unusable."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        if self.api_key_file is None:
            return None
        try:
            key = self.api_key_file.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            what = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise KeyUnreadable(f"SLMESH_REMOTE__API_KEY_FILE cannot be read ({what})") from None
        if not _usable_key(key):
            raise KeyUnreadable(
                "SLMESH_REMOTE__API_KEY_FILE holds no usable key (printable ASCII without spaces)"
            )
        return key


def _usable_key(key: str) -> bool:
    return bool(key) and all(c in _KEY_CHARACTERS for c in key)
