#!/usr/bin/env python3
"""Checks what `helm template` rendered from the kluis chart (deploy/helm/lint.sh).

    check-render.py CASE RENDERED.yaml KNOWN_VARIABLES

CASE is one of the cases lint.sh renders: `sqlite-defaults`,
`postgres-existing-secrets`, `postgres-inline-secrets`. KNOWN_VARIABLES is a
file with one KLUIS_* name a line, taken from the code: every KLUIS_*
variable the chart sets must be one kluis reads. Prints what it checked;
exits 1 with every problem found.
"""

import base64
import sys

import yaml

DATA_DIR = "/var/lib/kluis"


class Check:
    def __init__(self, case):
        self.case = case
        self.problems = []
        self.passed = 0

    def that(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.problems.append(what)
        return ok


def env_of(container):
    return {e["name"]: e for e in container.get("env") or []}


def secret_ref(env, name):
    entry = env.get(name)
    if not entry:
        return None
    ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
    return (ref["name"], ref["key"]) if ref else ("<literal>", None)


def main():
    case, rendered, known_file = sys.argv[1:4]
    with open(known_file) as f:
        known = {line.strip() for line in f if line.strip()}
    with open(rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    c = Check(case)
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)

    deployments = by_kind.get("Deployment", [])
    services = by_kind.get("Service", [])
    if not c.that(len(deployments) == 1, f"one Deployment, found {len(deployments)}"):
        return report(c)
    c.that(len(services) == 1, f"one Service, found {len(services)}")
    dep = deployments[0]
    pod = dep["spec"]["template"]
    spec = pod["spec"]
    containers = spec["containers"]
    c.that(len(containers) == 1, "one container")
    kluis = containers[0]
    env = env_of(kluis)

    # Selectors: the Deployment's and the Service's select the pod's labels.
    labels = pod["metadata"]["labels"]
    for sel_owner, sel in [("Deployment", dep["spec"]["selector"]["matchLabels"])] + [
        ("Service", s["spec"]["selector"]) for s in services
    ]:
        c.that(all(labels.get(k) == v for k, v in sel.items()), f"{sel_owner} selector {sel} matches pod labels {labels}")

    # Ports: the Service targets the container's named port, on which kluis listens.
    ports = {p["name"]: p["containerPort"] for p in kluis.get("ports", [])}
    c.that("http" in ports, "container port named http")
    for s in services:
        c.that(all(p["targetPort"] in ("http", ports.get("http")) for p in s["spec"]["ports"]), "Service targets port http")
    bind = (env.get("KLUIS_BIND") or {}).get("value", "")
    c.that(bind == f"0.0.0.0:{ports.get('http')}", f"KLUIS_BIND {bind!r} listens on the container port {ports.get('http')}")
    c.that((env.get("KLUIS_DATA_DIR") or {}).get("value") == DATA_DIR, f"KLUIS_DATA_DIR is {DATA_DIR}")
    c.that(kluis.get("args") == ["serve"], f"the container runs `kluis serve`, not {kluis.get('args')}")

    # Probes on the routes kluis serves (crates/api/src/routes/meta.rs).
    for probe, path in [("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready"), ("startupProbe", "/health/live")]:
        got = ((kluis.get(probe) or {}).get("httpGet") or {})
        c.that(got.get("path") == path and got.get("port") in ("http", ports.get("http")), f"{probe} GET {path} on port http, got {got}")

    # Hardening.
    psc, csc = spec.get("securityContext") or {}, kluis.get("securityContext") or {}
    c.that(psc.get("runAsNonRoot") is True, "pod runAsNonRoot")
    c.that(psc.get("runAsUser") == 10001, "pod runs as uid 10001 (the image's kluis user)")
    c.that(csc.get("readOnlyRootFilesystem") is True, "read-only root filesystem")
    c.that(csc.get("allowPrivilegeEscalation") is False, "no privilege escalation")
    c.that("ALL" in ((csc.get("capabilities") or {}).get("drop") or []), "capabilities drop ALL")
    c.that(spec.get("enableServiceLinks") is False, "enableServiceLinks false (no stray KLUIS_* service variables)")
    c.that(spec.get("automountServiceAccountToken") is False, "no service account token mounted")

    # Where kluis writes: the data directory and /tmp, from volumes that exist.
    mounts = {m["mountPath"]: m["name"] for m in kluis.get("volumeMounts") or []}
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    for path in (DATA_DIR, "/tmp"):
        c.that(mounts.get(path) in volumes, f"a volume mounted at {path}")
    data_volume = volumes.get(mounts.get(DATA_DIR), {})

    # Every KLUIS_* variable is one kluis reads.
    for name in env:
        if name.startswith("KLUIS_"):
            c.that(name in known, f"{name} is a variable kluis reads (crates/server/src/settings.rs)")

    # Every secretKeyRef names a key of a Secret the chart renders, or one
    # of the Secrets the case says the user made.
    rendered_secrets = {s["metadata"]["name"]: s.get("data") or {} for s in by_kind.get("Secret", [])}
    user_secrets = {
        "postgres-existing-secrets": {("kluis-db", "uri"), ("kluis-master", "master-key"), ("kluis-smtp", "url")},
    }.get(case, set())
    for name, entry in env.items():
        ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            ok = (ref["name"], ref["key"]) in user_secrets or ref["key"] in rendered_secrets.get(ref["name"], {})
            c.that(ok, f"{name} reads key {ref['key']!r} of Secret {ref['name']!r}, which exists")

    replicas = dep["spec"]["replicas"]
    strategy = dep["spec"]["strategy"]["type"]
    pvcs = by_kind.get("PersistentVolumeClaim", [])

    if case == "sqlite-defaults":
        c.that(replicas == 1, f"SQLite: replicas 1, got {replicas}")
        c.that(strategy == "Recreate", f"SQLite: strategy Recreate, got {strategy}")
        c.that("KLUIS_DATABASE_URL" not in env, "SQLite: no KLUIS_DATABASE_URL (the default file in the data dir)")
        c.that("KLUIS_MASTER_KEY" not in env, "no master key given: none set (kluis keeps master.key on the volume)")
        c.that(not rendered_secrets, "no values given: no Secret rendered")
        c.that(len(pvcs) == 1, "a PersistentVolumeClaim for the data directory")
        claim = (data_volume.get("persistentVolumeClaim") or {}).get("claimName")
        c.that(bool(pvcs) and claim == pvcs[0]["metadata"]["name"], "the data directory is on that claim")
        c.that(bool(pvcs) and pvcs[0]["metadata"].get("annotations", {}).get("helm.sh/resource-policy") == "keep",
               "the claim is kept on uninstall")
        c.that((env.get("KLUIS_LOG_FORMAT") or {}).get("value") == "json", "JSON logs")
        c.that(not by_kind.get("Ingress") and not by_kind.get("PodDisruptionBudget"), "no Ingress, no PodDisruptionBudget by default")

    elif case == "postgres-existing-secrets":
        c.that(replicas == 3, f"replicas 3, got {replicas}")
        c.that(strategy == "RollingUpdate", f"PostgreSQL without a shared volume: RollingUpdate, got {strategy}")
        c.that(secret_ref(env, "KLUIS_DATABASE_URL") == ("kluis-db", "uri"), "KLUIS_DATABASE_URL from Secret kluis-db, key uri")
        c.that(secret_ref(env, "KLUIS_MASTER_KEY") == ("kluis-master", "master-key"), "KLUIS_MASTER_KEY from Secret kluis-master")
        c.that(secret_ref(env, "KLUIS_SMTP_URL") == ("kluis-smtp", "url"), "KLUIS_SMTP_URL from Secret kluis-smtp, key url")
        c.that(not rendered_secrets, "every value from an existingSecret: no chart Secret")
        c.that(not pvcs and "emptyDir" in data_volume, "persistence disabled: the data directory is an emptyDir")
        c.that((env.get("KLUIS_PUBLIC_URL") or {}).get("value") == "https://kluis.example.nl", "KLUIS_PUBLIC_URL from settings")
        c.that((env.get("KLUIS_BACKUP_URL") or {}).get("value") == "s3://kluis-backups/production", "KLUIS_BACKUP_URL from settings")
        c.that((env.get("KLUIS_CORS_ORIGINS") or {}).get("value") == "https://app.example.nl,https://admin.example.nl",
               "a list setting joined with commas")
        c.that((env.get("KLUIS_RETENTION_BATCH") or {}).get("value") == "1000000", "a large number rendered as an integer")
        c.that(len(by_kind.get("PodDisruptionBudget", [])) == 1, "a PodDisruptionBudget")
        c.that(len(by_kind.get("Ingress", [])) == 1, "an Ingress")

    elif case == "postgres-inline-secrets":
        name = dep["metadata"]["name"]
        data = rendered_secrets.get(name, {})
        c.that(set(data) == {"master-key", "database-url"}, f"the chart's Secret {name} holds master-key and database-url, got {sorted(data)}")
        c.that(secret_ref(env, "KLUIS_DATABASE_URL") == (name, "database-url"), "KLUIS_DATABASE_URL from the chart's Secret")
        c.that(secret_ref(env, "KLUIS_MASTER_KEY") == (name, "master-key"), "KLUIS_MASTER_KEY from the chart's Secret")
        url = base64.b64decode(data.get("database-url", "")).decode()
        c.that(url.startswith("postgres://"), "the stored database URL is the one given")
        c.that(len(base64.b64decode(base64.b64decode(data.get("master-key", "")))) == 32, "the stored master key is 32 bytes")
        c.that("checksum/secret" in (pod["metadata"].get("annotations") or {}), "pods roll when the Secret changes")
        c.that(replicas == 1 and strategy == "Recreate", "one PostgreSQL replica on a ReadWriteOnce volume: Recreate")

    else:
        c.that(False, f"unknown case {case}")
    return report(c)


def report(c):
    if c.problems:
        for p in c.problems:
            print(f"helm: FAIL [{c.case}] {p}", file=sys.stderr)
        return 1
    print(f"helm: ok [{c.case}] {c.passed} checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
