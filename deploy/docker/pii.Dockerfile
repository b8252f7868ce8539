# The pii micromodel (slmesh-pii), built from the repository root:
#
#   docker build -f deploy/docker/pii.Dockerfile -t slmesh/pii .
#
# Deterministic: no model and no llama.cpp (slmesh-runtime without its llm extra).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# The service's virtual environment: only slmesh-pii and its dependencies from uv.lock
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
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --no-install-workspace --package slmesh-pii
COPY libs/schemas/ libs/schemas/
COPY libs/runtime/ libs/runtime/
COPY services/pii/ services/pii/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --package slmesh-pii

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 slmesh \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/slmesh --create-home \
        --shell /usr/sbin/nologin slmesh
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
EXPOSE 8080
# /readyz: every consumer in its group, the broker and Redis answering (slim images have no
# curl: python's urllib raises on a 503, so the check fails).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('SLMESH_HTTP_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["python", "-m", "slmesh.pii"]
