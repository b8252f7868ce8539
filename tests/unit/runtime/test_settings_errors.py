"""Settings that do not load are reported by variable name and what is wrong, never by value.

A value can be a secret or a piece of one (a password with a stray character, a Redis URL
with its password, a token in the wrong variable): every test plants "hunter2" in the
values and looks for it in everything a person or a log would see.
"""

from __future__ import annotations

import subprocess
import sys
import traceback
from typing import Any

import pytest
from pydantic import BaseModel, field_validator

from slmesh.cli import main as cli
from slmesh.cli.conventions import INVALID_SETTINGS
from slmesh.orchestrator.settings import OrchestratorSettings
from slmesh.runtime.micromodel.app import MicromodelSettings
from slmesh.runtime.service import MISCONFIGURED, load_settings_or_exit
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.settings_errors import InvalidSettingsError

SECRET = "hunter2"  # noqa: S105 (planted, to be looked for)


def everything_shown(error: BaseException) -> str:
    """What a person or a log could see of an error: its message, repr and whole traceback."""
    return f"{error}\n{error!r}\n{''.join(traceback.format_exception(error))}"


def refused(settings: type[MeshSettings] = MeshSettings, **values: Any) -> str:
    with pytest.raises(InvalidSettingsError) as caught:
        settings(**values)
    return everything_shown(caught.value)


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"SLMESH_REDIS_URL": f"{SECRET}://mesh:{SECRET}@redis:6379/0"}, "SLMESH_REDIS_URL"),
        ({"SLMESH_MAX_EVENT_BYTES": f"notanumber-{SECRET}"}, "SLMESH_MAX_EVENT_BYTES"),
        ({"SLMESH_DEPLOYMENT": f"prod-{SECRET}"}, "SLMESH_DEPLOYMENT"),
        ({"SLMESH_KAFKA_SSL_CHECK_HOSTNAME": SECRET}, "SLMESH_KAFKA_SSL_CHECK_HOSTNAME"),
        ({"SLMESH_REDIS_NAMESPACE": f"{SECRET} x"}, "SLMESH_REDIS_NAMESPACE"),
        ({"SLMESH_MODEL__CONTEXT": SECRET}, "SLMESH_MODEL__CONTEXT"),
        ({"SLMESH_MICROMODELS": f'["{SECRET}"'}, "SLMESH_MICROMODELS"),
        # A secret in the wrong variable: a file setting given the password.
        (
            {"SLMESH_KAFKA_SSL_CERT_FILE": SECRET, "SLMESH_KAFKA_SSL_KEY_FILE": SECRET},
            "SLMESH_KAFKA_SSL_CERT_FILE",
        ),
        # A check of the whole settings: pydantic would show every value it was given,
        # the password among them.
        (
            {"SLMESH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "SLMESH_KAFKA_PASSWORD": SECRET},
            "SLMESH_KAFKA_USERNAME",
        ),
    ],
)
def test_an_invalid_setting_is_named_and_its_value_never_shown(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    shown = refused(OrchestratorSettings)
    assert named in shown
    assert SECRET not in shown


def fields_of(settings: type[BaseModel], prefix: str = "SLMESH_") -> list[str]:
    """Every variable a settings class reads, nested models' fields included."""
    names = []
    for name, field in settings.model_fields.items():
        variable = f"{prefix}{name.upper()}"
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names += fields_of(kind, f"{variable}__")
        else:
            names.append(variable)
    return names


@pytest.mark.parametrize("settings", [OrchestratorSettings, MicromodelSettings])
def test_no_setting_shows_its_value_when_it_is_refused(
    monkeypatch: pytest.MonkeyPatch, settings: type[MeshSettings]
) -> None:
    """Every setting, secret or not: set to what no number, flag, list, choice or
    pattern takes, each refused one is named without its value."""
    refusals = 0
    for variable in fields_of(settings):
        with monkeypatch.context() as env:
            env.setenv(variable, f"{{{SECRET} !")
            try:
                settings()
            except InvalidSettingsError as exc:
                shown = everything_shown(exc)
                assert variable in shown
                assert SECRET not in shown, variable
                refusals += 1
    # Free-text settings take anything; most settings refuse this value.
    assert refusals >= 30


def test_a_check_that_quotes_its_input_is_scrubbed_of_it() -> None:
    class Careless(MeshSettings):
        token_file: str = ""

        @field_validator("token_file")
        @classmethod
        def _exists(cls, value: str) -> str:
            if value:
                raise ValueError(f"no file {value}")
            return value

    shown = refused(Careless, token_file=f"/run/{SECRET}")
    assert "SLMESH_TOKEN_FILE: no file ***" in shown
    assert SECRET not in shown


def test_a_service_that_cannot_load_its_settings_says_which_and_stops(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLMESH_REDIS_URL", f"http://mesh:{SECRET}@redis")
    with pytest.raises(SystemExit) as stopped:
        load_settings_or_exit(OrchestratorSettings, what="orchestrator")
    # MISCONFIGURED: a supervisor restarting it would meet the same refusal.
    assert stopped.value.code == MISCONFIGURED
    said = capsys.readouterr().err
    assert "orchestrator cannot start: invalid settings: SLMESH_REDIS_URL: must start" in said
    assert SECRET not in said


def test_a_command_that_cannot_load_its_settings_says_which(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLMESH_MAX_EVENT_BYTES", f"notanumber-{SECRET}")
    with pytest.raises(SystemExit) as stopped:
        cli.main(["lag"])
    assert stopped.value.code == INVALID_SETTINGS
    said = capsys.readouterr().err
    assert said.startswith("slmesh lag: invalid settings: SLMESH_MAX_EVENT_BYTES: ")
    assert "Traceback" not in said
    assert SECRET not in said


@pytest.mark.processes
@pytest.mark.parametrize("module", ["slmesh.orchestrator", "slmesh.vat_rates"])
def test_a_service_process_with_a_bad_secret_setting_names_it_and_not_its_value(
    module: str,
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "SLMESH_REDIS_URL": f"{SECRET}://mesh:{SECRET}@redis:6379/0",
        "SLMESH_KAFKA_PASSWORD": SECRET,
        "SLMESH_MAX_EVENT_BYTES": f"notanumber-{SECRET}",
    }
    done = subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == MISCONFIGURED, done.stderr
    assert "SLMESH_REDIS_URL" in done.stderr
    assert "SLMESH_MAX_EVENT_BYTES" in done.stderr
    assert SECRET not in done.stdout + done.stderr
