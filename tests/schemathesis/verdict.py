"""Judge one schemathesis run of kluis: `python3 verdict.py BACKEND SECONDS REPORT_DIR`.

Passes only when every selected operation was tested (none skipped or
errored) and no check failed. Prints one line of numbers per backend.
"""

import glob
import json
import sys

backend, seconds, directory = sys.argv[1], sys.argv[2], sys.argv[3]
reports = sorted(glob.glob(f"{directory}/json-*.json"))
if not reports:
    sys.exit(f"fuzz: {backend}: schemathesis wrote no report")
report = json.load(open(reports[-1]))
ops = report["operations"]
cases = report["test_cases"]
failures = sum(f["count"] for f in report["failures"])
errors = report.get("errors") or []
print(
    f"fuzz: {backend}: {ops['tested']}/{ops['total']} operations tested, {cases['generated']} test cases, "
    f"{failures} failures, {len(errors)} errors, {seconds}s"
)
problems = []
if ops["tested"] != ops["total"] or ops["skipped"] or ops["errored"]:
    problems.append(f"operations: {ops}")
if failures:
    problems += [f"{f['code']} {f['title']}: {f['count']} in {', '.join(f['operations'])}" for f in report["failures"]]
if errors:
    problems += [json.dumps(e)[:500] for e in errors]
for problem in problems:
    print(f"fuzz: {backend}: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
