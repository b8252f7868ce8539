"""The Dockerfiles, read as text: no container engine runs here, so what can be checked
without building is checked: stages, user, health check, what is copied and installed."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.layout import (
    CLI,
    DOCKERFILES,
    ROOT,
    Dockerfile,
    dockerfile_for,
    module,
    package_name,
    parse_dockerfile,
    runs_a_model,
    services,
    settings_class,
    unknown_settings,
)

LLAMA_STAGES = ("uv", "llama-pin", "llama-wheel")
# The model Dockerfiles are one text: each is this one with its member's names.
REFERENCE_MODEL_IMAGE = "classifier"
WORKSPACE_MANIFESTS = {
    "pyproject.toml",
    "uv.lock",
    "libs/schemas/pyproject.toml",
    "libs/runtime/pyproject.toml",
    "tools/cli/pyproject.toml",
    *(f"services/{s}/pyproject.toml" for s in services()),
}


def image(name: str) -> Dockerfile:
    return parse_dockerfile(dockerfile_for(name))


def copied_sources(dockerfile: Dockerfile) -> set[str]:
    """What the Dockerfile copies from the build context (not from other stages)."""
    sources: set[str] = set()
    for arguments in dockerfile.all("COPY") + dockerfile.all("ADD"):
        words = [w for w in arguments.split() if not w.startswith("--")]
        if any(w.startswith("--from=") for w in arguments.split()):
            continue
        sources.update(w.rstrip("/") for w in words[:-1])
    return sources


def sync_commands(dockerfile: Dockerfile) -> list[str]:
    return [r for r in dockerfile.all("RUN") if re.search(r"\buv sync\b", r)]


def test_every_service_and_the_cli_have_a_dockerfile() -> None:
    expected = {f"{name}.Dockerfile" for name in [*services(), CLI]}
    assert {p.name for p in DOCKERFILES.glob("*.Dockerfile")} == expected


@pytest.mark.parametrize("name", [*services(), CLI])
def test_multi_stage_with_a_non_root_final_user(name: str) -> None:
    dockerfile = image(name)
    assert len(dockerfile.stages) >= 3, "uv, a build stage and the runtime"
    assert dockerfile.final.name == "runtime"
    users = dockerfile.final.all("USER")
    assert users, f"{name}: the runtime stage sets no USER (it would run as root)"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"{name} runs as {users[-1]}"
    # Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
    assert user.isdigit()
    assert int(user) >= 1000
    # The runtime stage installs no uv and no compiler: it gets the finished environment.
    assert "/app/.venv" in " ".join(dockerfile.final.all("COPY"))
    assert not any("build-essential" in r for r in dockerfile.final.all("RUN"))


@pytest.mark.parametrize("service", services())
def test_services_check_their_readiness(service: str) -> None:
    runtime = image(service).final
    healthchecks = runtime.all("HEALTHCHECK")
    assert len(healthchecks) == 1, f"{service}: one HEALTHCHECK"
    check = healthchecks[0]
    assert "/readyz" in check
    assert "urllib.request" in check, "slim images have no curl: python's urllib"
    assert "SLMESH_HTTP_PORT" in check
    env = " ".join(runtime.all("ENV"))
    assert re.search(r"\bSLMESH_HTTP_PORT=8080\b", env)
    # Asked from outside the container too, whatever SLMESH_DEPLOYMENT says.
    assert re.search(r"\bSLMESH_HTTP_HOST=0\.0\.0\.0(\s|$)", env)
    assert "EXPOSE 8080" in runtime.text


def test_the_cli_image_runs_the_topics_job_and_has_no_health_check() -> None:
    runtime = image(CLI).final
    assert runtime.all("HEALTHCHECK") == ["NONE"]
    assert runtime.all("ENTRYPOINT") == ['["slmesh"]']
    assert runtime.all("CMD") == ['["topics", "apply"]']


@pytest.mark.parametrize("service", services())
def test_services_run_their_module(service: str) -> None:
    assert image(service).final.all("ENTRYPOINT") == [f'["python", "-m", "{module(service)}"]']


@pytest.mark.parametrize("name", [*services(), CLI])
def test_uv_installs_only_this_member_from_the_lock(name: str) -> None:
    dockerfile = image(name)
    package = "slmesh-cli" if name == CLI else package_name(name)
    syncs = sync_commands(dockerfile)
    assert len(syncs) == 2, "dependencies first (cached layer), then the member itself"
    for sync in syncs:
        assert f"--package {package}" in sync
        for flag in ("--locked", "--no-dev", "--no-editable"):
            assert flag in sync, f"{name}: uv sync without {flag}"
        for widening in ("--all-packages", "--extra", "--all-extras"):
            assert widening not in sync
    assert "--no-install-workspace" in syncs[0]


@pytest.mark.parametrize("name", [*services(), CLI])
def test_copies_no_weights_and_only_what_it_installs(name: str) -> None:
    dockerfile = image(name)
    sources = copied_sources(dockerfile)
    assert not [s for s in sources if re.search(r"gguf|safetensors|models?\b", s, re.I)]
    member = "tools/cli" if name == CLI else f"services/{name}"
    libraries = {"libs/schemas", "libs/runtime"}
    allowed = WORKSPACE_MANIFESTS | libraries | {member, "deploy/docker/llama_wheel.py"}
    assert sources <= allowed, f"{name} copies {sorted(sources - allowed)}"
    assert {*libraries, member} <= sources
    # uv reads every member's manifest to check uv.lock.
    assert sources >= WORKSPACE_MANIFESTS


def test_the_llama_build_stages_are_the_same_in_every_model_image() -> None:
    model_services = [s for s in services() if runs_a_model(s)]
    assert model_services, "the services that run a model"
    first = image(model_services[0])
    for service in model_services:
        dockerfile = image(service)
        assert dockerfile.preamble == first.preamble
        for name in LLAMA_STAGES:
            stage, expected = dockerfile.stage(name), first.stage(name)
            assert (stage.base, stage.text) == (expected.base, expected.text), (
                f"{service}: stage {name} differs from {model_services[0]}'s: BuildKit would "
                "compile llama.cpp once per image"
            )
        build = dockerfile.stage("build")
        assert "--no-install-package llama-cpp-python" in " ".join(sync_commands(dockerfile))
        assert any("/wheels/" in c and "--from=llama-wheel" in c for c in build.all("COPY"))
        assert any("llama_wheel.py check" in r for r in build.all("RUN"))
        assert any("libgomp1" in r for r in dockerfile.final.all("RUN"))
    for name in [*(s for s in services() if not runs_a_model(s)), CLI]:
        assert not [s.name for s in image(name).stages if s.name in LLAMA_STAGES[1:]]


def model_dockerfile_as_reference(service: str) -> list[str]:
    """The service's model Dockerfile, comment lines left out, with its member's names
    (package, sources, module) spelled as the reference image's. The workspace manifests
    it copies (every member's pyproject.toml) are the same list in every image: kept."""
    ref = REFERENCE_MODEL_IMAGE
    names = [
        (package_name(service), package_name(ref)),
        (module(service), module(ref)),
        (f"services/{service}/", f"services/{ref}/"),
    ]
    lines = []
    for line in dockerfile_for(service).read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue
        if not re.search(r"services/\S+/pyproject\.toml", line):
            for name, reference in names:
                if service != ref:
                    # Else a line naming the reference's member would pass unnoticed.
                    assert not re.search(rf"(?<![\w.-]){re.escape(reference)}(?![\w-])", line), (
                        f"{service}.Dockerfile names {ref}'s member: {line.strip()}"
                    )
                line = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", reference, line)
        lines.append(line)
    return lines


def test_the_model_dockerfiles_differ_only_in_their_member() -> None:
    model_services = [s for s in services() if runs_a_model(s)]
    assert REFERENCE_MODEL_IMAGE in model_services
    assert len(model_services) == 5, model_services
    reference = [
        line
        for line in dockerfile_for(REFERENCE_MODEL_IMAGE).read_text().splitlines()
        if not line.lstrip().startswith("#")
    ]
    for service in model_services:
        assert model_dockerfile_as_reference(service) == reference, (
            f"{service}.Dockerfile is not {REFERENCE_MODEL_IMAGE}.Dockerfile with its own names"
        )


def test_the_llama_wheel_is_built_with_the_flags_and_version_uv_uses(tmp_path: Path) -> None:
    """The image's wheel: pyproject's CMAKE_ARGS, uv.lock's version and source hash."""
    script = DOCKERFILES / "llama_wheel.py"
    pin = [sys.executable, str(script), "pin", "--root", str(ROOT), "--out", str(tmp_path)]
    subprocess.run(pin, check=True)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    variables = pyproject["tool"]["uv"]["extra-build-variables"]["llama-cpp-python"]
    env = dict(line.split("=", 1) for line in (tmp_path / "build.env").read_text().splitlines())
    assert env["CMAKE_ARGS"].strip("'") == variables["CMAKE_ARGS"]
    assert "-DGGML_NATIVE=OFF" in env["CMAKE_ARGS"]
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    (llama,) = [p for p in lock["package"] if p["name"] == "llama-cpp-python"]
    requirement = (tmp_path / "requirements.txt").read_text().strip()
    assert requirement == f"llama-cpp-python=={llama['version']} --hash={llama['sdist']['hash']}"
    wheel_stage = image(next(s for s in services() if runs_a_model(s))).stage("llama-wheel")
    assert any(
        "/pin/build.env" in r and "--require-hashes" in r and "pip wheel" in r
        for r in wheel_stage.all("RUN")
    )


@pytest.mark.parametrize("name", [*services(), CLI])
def test_image_settings_are_settings(name: str) -> None:
    names = [
        m.group(1)
        for arguments in image(name).final.all("ENV")
        for m in re.finditer(r"\b(SLMESH_\w+)=", arguments)
    ]
    assert not unknown_settings(names, settings_class(name))


def test_the_build_context_leaves_out_weights_environments_and_caches() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (
        "**/.venv",
        "**/*.gguf",
        "**/__pycache__",
        "**/.mypy_cache",
        "**/.ruff_cache",
        "**/.pytest_cache",
        ".slmesh",
        "**/dist",
        "**/build",
        ".git",
    ):
        assert needed in patterns, f".dockerignore does not leave out {needed}"
