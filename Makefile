# kluis — the commands a developer and CI run.
#   make run      serve on the embedded SQLite default (./data), no setup
#   make test     the whole suite: unit tests + HTTP tests on SQLite and PostgreSQL
#   make openapi  regenerate openapi/openapi.json from the code
#   make lint     rustfmt check + clippy with warnings as errors

CARGO ?= cargo

.PHONY: run test openapi lint fmt build release

run:
	$(CARGO) run -p kluis-server --bin kluis -- serve

test:
	$(CARGO) test --workspace --all-targets --locked

openapi:
	$(CARGO) run -q -p kluis-server --bin kluis -- openapi > openapi/openapi.json.tmp
	mv openapi/openapi.json.tmp openapi/openapi.json

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

build:
	$(CARGO) build --workspace --locked

release:
	$(CARGO) build --release --locked -p kluis-server
