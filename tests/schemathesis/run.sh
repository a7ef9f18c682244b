#!/usr/bin/env bash
# Fuzz the real kluis binary with Schemathesis, once per backend (SQLite, then
# PostgreSQL), with every check and every phase, and fail unless every
# operation was exercised with 0 failures. `make fuzz` runs it; `.ci/run` too.
#
#   FUZZ_BACKENDS   "sqlite postgres" (default) or one of them
#   FUZZ_SECONDS    time budget per backend (default 150)
#   FUZZ_EXAMPLES   examples per operation and phase (default 20)
#   FUZZ_SEED       a seed to replay a run (default: a new one, printed)
#   KLUIS_TEST_DATABASE_URL  a PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
HERE="$ROOT/tests/schemathesis"
VENV="$ROOT/.venv-ci"
BACKENDS=${FUZZ_BACKENDS:-sqlite postgres}
SECONDS_PER_BACKEND=${FUZZ_SECONDS:-150}
EXAMPLES=${FUZZ_EXAMPLES:-20}
PG_URL=${KLUIS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}

# shellcheck source=tests/schemathesis/venv.sh
source "$HERE/venv.sh"
cargo build --quiet --locked -p kluis-server --bin kluis
BIN="$ROOT/target/debug/kluis"

WORK=$(mktemp -d /tmp/kluis-fuzz.XXXXXX)
SERVER_PID=""
PG_DB=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [ -n "$PG_DB" ]; then psql "$PG_URL" -qc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$VENV/bin/python" "$HERE/config.py" openapi/openapi.json "$WORK/schemathesis.toml"

status=0
for backend in $BACKENDS; do
    dir="$WORK/$backend"
    mkdir -p "$dir"
    case "$backend" in
        sqlite) database="sqlite://$dir/kluis.db" ;;
        postgres)
            PG_DB="kluis_fuzz_$(date +%s)_$$"
            psql "$PG_URL" -qc "CREATE DATABASE \"$PG_DB\"" >/dev/null
            database="${PG_URL%/*}/$PG_DB"
            ;;
        *) echo "fuzz: unknown backend $backend" >&2; exit 2 ;;
    esac
    port=$(free_port)
    base="http://127.0.0.1:$port"
    KLUIS_DATA_DIR="$dir/data" KLUIS_DATABASE_URL="$database" KLUIS_BIND="127.0.0.1:$port" \
        KLUIS_PUBLIC_URL="$base" KLUIS_LOG=warn "$BIN" serve >"$dir/kluis.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        curl -fsS "$base/health/ready" >/dev/null 2>&1 && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$dir/kluis.log" >&2; exit 1; }
        sleep 0.2
    done

    started=$(date +%s)
    seed=()
    if [ -n "${FUZZ_SEED:-}" ]; then seed=(--seed "$FUZZ_SEED"); fi
    echo "fuzz: $backend: schemathesis $("$VENV/bin/schemathesis" --version | awk '{print $NF}'), ${SECONDS_PER_BACKEND}s, $EXAMPLES examples per operation"
    KLUIS_FUZZ_URL="$base" KLUIS_FUZZ_OPERATOR_FILE="$dir/data/operator-client.json" \
        SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$HERE" \
        "$VENV/bin/schemathesis" --config-file "$WORK/schemathesis.toml" --no-color run "$base/openapi.json" \
        --checks all --phases examples,coverage,fuzzing,stateful \
        --max-examples "$EXAMPLES" --max-time "$SECONDS_PER_BACKEND" "${seed[@]}" \
        --report json,ndjson --report-dir "$dir/report" >"$dir/schemathesis.txt" 2>&1 || true
    elapsed=$(( $(date +%s) - started ))
    if ! "$VENV/bin/python" "$HERE/verdict.py" "$backend" "$elapsed" "$dir/report"; then
        status=1
        cat "$dir/schemathesis.txt"
        mkdir -p "$ROOT/target/fuzz" && cp -r "$dir/report" "$ROOT/target/fuzz/$backend" && cp "$dir/kluis.log" "$ROOT/target/fuzz/$backend/"
        echo "fuzz: $backend: reports kept in target/fuzz/$backend" >&2
    fi

    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    if [ -n "$PG_DB" ]; then
        psql "$PG_URL" -qc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null
        PG_DB=""
    fi
done
exit $status
