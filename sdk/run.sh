#!/usr/bin/env bash
# `make sdk`: generate the clients of the contract into sdk/out/ (git-ignored)
# and run one scenario with each against the real kluis binary on SQLite:
#   Python      openapi-python-client, from openapi/openapi.json
#   TypeScript  openapi-typescript types + openapi-fetch, checked by tsc --strict
#   Rust        progenitor, from openapi/openapi-3.0.json (sdk/rust)
# The scenario: operator token -> tenant -> client -> people with contacts ->
# a consent granted and checked -> the people listed page by page with the
# cursor. A generator that says it dropped or skipped anything fails the run.
#
#   SDK_LANGUAGES  "python typescript rust" (default) or a subset
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SDK="$ROOT/sdk"
OUT="$SDK/out"
VENV="$ROOT/.venv-sdk"
LANGUAGES=${SDK_LANGUAGES:-python typescript rust}

# The generators, pinned: Python's in .venv-sdk/, TypeScript's in
# sdk/typescript/node_modules (package-lock.json), progenitor in sdk/rust/Cargo.lock.
if ! cmp -s "$SDK/python/requirements.txt" "$VENV/requirements.txt" 2>/dev/null; then
    echo "sdk: installing $(grep -v '^#' "$SDK/python/requirements.txt" | tr '\n' ' ')into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$SDK/python/requirements.txt"
    cp "$SDK/python/requirements.txt" "$VENV/requirements.txt"
fi
if [[ " $LANGUAGES " == *" typescript "* ]] && ! cmp -s "$SDK/typescript/package-lock.json" "$SDK/typescript/node_modules/.kluis-lock" 2>/dev/null; then
    echo "sdk: npm ci in sdk/typescript"
    (cd "$SDK/typescript" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$SDK/typescript/package-lock.json" "$SDK/typescript/node_modules/.kluis-lock"
fi

cargo build --quiet --locked -p kluis-server --bin kluis
BIN="$ROOT/target/debug/kluis"
rm -rf "$OUT"
mkdir -p "$OUT"

# Fail when a generator's output names something it left out.
no_drops() {
    local name=$1 log=$2
    if grep -Ei 'warn|skip|omit|unsupported|not supported|drop|ignor' "$log"; then
        echo "sdk: $name: the generator left something out (above); the contract must be fixed" >&2
        exit 1
    fi
}

for language in $LANGUAGES; do
    case "$language" in
        python)
            (cd "$OUT" && PATH="$VENV/bin:$PATH" openapi-python-client generate --path "$ROOT/openapi/openapi.json" \
                --meta none --output-path python/kluis_client --config "$SDK/python/config.yml") >"$OUT/python.log" 2>&1 \
                || { cat "$OUT/python.log" >&2; exit 1; }
            no_drops python "$OUT/python.log"
            "$VENV/bin/python" "$SDK/python/upstream_fixes.py" "$OUT/python/kluis_client"
            "$VENV/bin/ruff" check --quiet --select F "$OUT/python/kluis_client"
            ;;
        typescript)
            (cd "$SDK/typescript" && npx --no-install openapi-typescript "$ROOT/openapi/openapi.json" -o "$OUT/typescript/kluis.d.ts") \
                >"$OUT/typescript.log" 2>&1 || { cat "$OUT/typescript.log" >&2; exit 1; }
            no_drops typescript "$OUT/typescript.log"
            rm -rf "$SDK/typescript/build"
            (cd "$SDK/typescript" && npx --no-install tsc -p tsconfig.json --strict)
            ;;
        rust)
            (cd "$SDK/rust" && CARGO_TARGET_DIR="$ROOT/target/sdk" cargo build --quiet --locked) >"$OUT/rust.log" 2>&1 \
                || { cat "$OUT/rust.log" >&2; exit 1; }
            no_drops rust "$OUT/rust.log"
            ;;
        *) echo "sdk: unknown language $language" >&2; exit 2 ;;
    esac
    echo "sdk: $language: generated, nothing left out"
done

WORK=$(mktemp -d /tmp/kluis-sdk.XXXXXX)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
KLUIS_DATA_DIR="$WORK/data" KLUIS_DATABASE_URL="sqlite://$WORK/kluis.db" KLUIS_BIND="127.0.0.1:$port" \
    KLUIS_PUBLIC_URL="$base" KLUIS_LOG=warn "$BIN" serve >"$WORK/kluis.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fsS "$base/health/ready" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/kluis.log" >&2; exit 1; }
    sleep 0.2
done
operator="$WORK/data/operator-client.json"

passed=0
for language in $LANGUAGES; do
    case "$language" in
        python) PYTHONPATH="$OUT/python" "$VENV/bin/python" "$SDK/python/scenario.py" "$base" "$operator" ;;
        typescript) node "$SDK/typescript/build/typescript/scenario.js" "$base" "$operator" ;;
        rust) "$ROOT/target/sdk/debug/kluis-sdk-scenario" "$base" "$operator" ;;
    esac
    passed=$((passed + 1))
done
echo "sdk: $passed passed, 0 failed"
