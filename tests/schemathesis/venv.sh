# Source me: make .venv-ci/ (git-ignored) with the pinned contract checkers
# of tests/schemathesis/requirements.txt, once per change of that file.
VENV="${VENV:-$(pwd)/.venv-ci}"
REQUIREMENTS="$(pwd)/tests/schemathesis/requirements.txt"
if ! cmp -s "$REQUIREMENTS" "$VENV/requirements.txt" 2>/dev/null; then
    echo "venv: installing $(grep -v '^#' "$REQUIREMENTS" | tr '\n' ' ')into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    cp "$REQUIREMENTS" "$VENV/requirements.txt"
fi
