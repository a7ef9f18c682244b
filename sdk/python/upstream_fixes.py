"""Mend the one known fault of openapi-python-client 0.29.1 in our client:
an operation whose required body has several content types (the token
endpoint: JSON and form) annotates `| Unset` without importing `Unset`
(openapi-generators/openapi-python-client#1451, open). Each mended file is
named; sdk/run.sh then fails on any undefined name ruff still finds.

    python upstream_fixes.py PACKAGE_DIR
"""

import pathlib
import re
import sys

IMPORT = re.compile(r"^from \.\.\.types import (.*)$", re.MULTILINE)

for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.py")):
    text = path.read_text()
    match = IMPORT.search(text)
    if not match or not re.search(r"\bUnset\b", text):
        continue
    names = [n.strip() for n in match.group(1).split(",")]
    if "Unset" in names:
        continue
    names.append("Unset")
    path.write_text(text[: match.start()] + "from ...types import " + ", ".join(names) + text[match.end() :])
    print(f"python: mended the import of Unset in {path} (upstream #1451)")
