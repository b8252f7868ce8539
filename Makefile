# slmesh: every developer task is a target here. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv from PATH, else the one `make uv` installs with pip.
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
SAMPLE ?= What are the VAT rates in Germany, France and Italy, and what is this story about: Heavy snow closed the mountain pass on Friday night. Police turned back more than two hundred trucks, and the road authority expects to reopen one lane by Sunday noon.

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: uv
uv: ## install uv with pip when it is missing
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

.PHONY: install
install: uv ## install the workspace (all members, dev tools) into .venv from uv.lock
	$(UV) sync --locked --all-packages

.PHONY: demo
demo: install ## run the whole mesh (embedded broker + Redis), answer a sample request, stop
	$(UV) run slmesh dev --once --ask "$(SAMPLE)"

.PHONY: demo-pipelines
demo-pipelines: install ## the mesh answering each example pipeline (examples/pipelines), step by step
	$(UV) run python scripts/demo_pipelines.py

.PHONY: demo-federated
demo-federated: install ## the mesh with a stand-in cloud: what went where, what was redacted, what it cost
	$(UV) run slmesh dev --once --cloud --timeout 120 --request examples/federated-request.json

.PHONY: dev
dev: install ## run the whole mesh locally until Ctrl-C
	$(UV) run slmesh dev

.PHONY: ask
ask: ## send a request to a running mesh: make ask SAMPLE="..."
	$(UV) run slmesh ask "$(SAMPLE)"

.PHONY: lint
lint: install ## ruff lint and format check
	$(UV) run ruff check .
	$(UV) run ruff format --check .

.PHONY: typecheck
typecheck: install ## mypy --strict over every member, the tests and the benchmarks
	$(UV) run mypy

.PHONY: schemas
schemas: install ## write the JSON Schema files and the AsyncAPI document
	$(UV) run slmesh schemas --out libs/schemas/contract

.PHONY: schemas-check
schemas-check: install ## fail when the contract files are stale
	$(UV) run slmesh schemas --out libs/schemas/contract --check

# The fast inner loop: what needs no model, no Redis and no process of the mesh
# (markers: tests/conftest.py). Under two minutes on two cores, lint and types included.
FAST := not model and not redis and not processes

.PHONY: test-fast
test-fast: install ## the inner loop: lint, types, and every test without a model, Redis or mesh processes
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run pytest -m "$(FAST)"

.PHONY: test-unit
test-unit: install ## unit tests (real Redis, in-memory broker only for single handlers)
	$(UV) run pytest tests/unit

.PHONY: test-faults
test-faults: install ## fault injection: 200 requests while replicas are SIGKILLed; 0 lost, 0 duplicated
	$(UV) run pytest tests/faults -s

.PHONY: test-integration
test-integration: install ## integration tests: real Tansu broker, real Redis, services as processes
	$(UV) run pytest tests/integration

.PHONY: test-deploy
test-deploy: install ## images, compose file and Kubernetes overlays, checked without building (deploy/)
	$(UV) run pytest tests/deploy

.PHONY: check-members
check-members: install ## install each workspace member alone and import every module of it
	UV="$(UV)" $(UV) run python scripts/check_members.py

.PHONY: test
test: lint typecheck schemas-check check-members ## everything CI runs: lint, types, contract freshness, members alone, all tests
	$(UV) run pytest

# Extra options for a benchmark, e.g. make bench BENCH_ARGS="--json /tmp/bench.json".
BENCH_ARGS ?=
# The interpreter of another llama-cpp-python build, for bench-build (bench/README.md).
OTHER_PYTHON ?=

# Benchmarks run as modules of the `bench` package (they share bench/measure.py), from here.
.PHONY: bench
bench: install ## mesh overhead vs a raw aiokafka ping-pong; the mesh as `slmesh dev` runs it
	$(UV) run python -m bench.mesh_overhead $(BENCH_ARGS)

.PHONY: bench-guard
bench-guard: install ## CI guard: quick bench; fails only if single-call mesh/raw p50 > 3x
	$(UV) run python -m bench.mesh_overhead --quick --max-ratio 3 $(BENCH_ARGS)

.PHONY: bench-idle
bench-idle: install ## idle mesh's CPU per process; first request after 60 s of quiet
	$(UV) run python -m bench.idle_cost $(BENCH_ARGS)

.PHONY: bench-chain
bench-chain: install ## end-to-end vs model time; micromodel tokens/s vs bare llama-cpp-python
	$(UV) run python -m bench.chain_efficiency $(BENCH_ARGS)

.PHONY: bench-build
bench-build: other-python install ## tokens/s of this llama-cpp-python build vs OTHER_PYTHON's build
	$(UV) run python -m bench.inference_build --other-python "$(OTHER_PYTHON)" $(BENCH_ARGS)

# Before `install`, so that a usage error costs nothing.
.PHONY: other-python
other-python:
	@test -n "$(OTHER_PYTHON)" || { echo "usage: make bench-build OTHER_PYTHON=/path/to/python (bench/README.md: how to make a native build)" >&2; exit 2; }

# Quality of the PII finder on a labelled set (eval/pii_quality.py): per kind and language.
EVAL_ARGS ?=

.PHONY: eval-planner
eval-planner: install ## planner: valid calls, right tools/arguments/plans on the held-apart set and the cards' examples (EVAL_ARGS="eval/planner/dev.jsonl --show")
	$(UV) run python -m eval.planner_quality $(EVAL_ARGS)

.PHONY: eval-pipelines
eval-pipelines: install ## each pipeline's answers, field by field, on its held-apart set through a real mesh (EVAL_ARGS="eval/pipelines/bill-to-data.dev.jsonl --show")
	$(UV) run python -m eval.pipeline_quality $(EVAL_ARGS)

.PHONY: eval-pii
eval-pii: install ## PII finder: precision/recall/F1 per kind on eval/pii/labelled.jsonl (EVAL_ARGS="eval/pii/dev.jsonl --show")
	$(UV) run python -m eval.pii_quality $(EVAL_ARGS)

.PHONY: clean
clean: ## remove the virtualenv, caches and dev-stack logs
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache .slmesh
