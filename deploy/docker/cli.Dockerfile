# The `slmesh` command (slmesh-cli, without its dev extra: no embedded broker or Redis),
# built from the repository root:
#
#   docker build -f deploy/docker/cli.Dockerfile -t slmesh/cli .
#
# Its default command is the topics job, `slmesh topics apply`: every mesh topic (requests,
# replies, responses, dead letters, the registry, each bundled micromodel's tasks) made with
# the partitions, replication and min.insync.replicas of the SLMESH_* settings. Any other
# command runs too: `docker run ... slmesh/cli ask "..."`, `... lag`, `... dlq`.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# The command's virtual environment: only slmesh-cli and its dependencies from uv.lock
# (no dev group, no dev extra, no other member), installed as wheels, not editable.
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# uv reads every member's manifest to check the lock; only the command's sources follow.
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
    uv sync --locked --no-dev --no-editable --no-install-workspace --package slmesh-cli
COPY libs/schemas/ libs/schemas/
COPY libs/runtime/ libs/runtime/
COPY tools/cli/ tools/cli/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --package slmesh-cli

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 slmesh \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/slmesh --create-home \
        --shell /usr/sbin/nologin slmesh
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/slmesh
USER 10001:10001
WORKDIR /home/slmesh
# A one-shot command: no server, nothing to probe.
HEALTHCHECK NONE
ENTRYPOINT ["slmesh"]
CMD ["topics", "apply"]
