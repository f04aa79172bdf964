#!/usr/bin/env python3
"""Granted vs observed RBAC: every Kubernetes request the operator made (kube-sim's request log,
`GET /__sim/requests`) must be allowed by the install's RBAC table (rbac-expected.tsv); a
request outside it would be 403 Forbidden in a real cluster. Granted verbs never observed are
listed (not a failure: a short run does not exercise every path).

Usage: rbac_observed.py INSTALL REQUESTS_JSON [OPERATOR_NAMESPACE]
Requests from kubectl (User-Agent `kubectl/…`) are the test's own and are skipped."""
import json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))


def granted(install):
    """(role namespace or None for cluster-wide, group/resource) -> verbs."""
    rows = {}
    for line in open(os.path.join(HERE, "rbac-expected.tsv")):
        if not line.strip() or line.startswith("#"):
            continue
        inst, role, res, verbs = line.rstrip("\n").split("\t")[:4]
        if inst != install:
            continue
        kind, ns, _ = role.split("/", 2)
        scope = None if kind == "ClusterRole" else ns
        rows.setdefault((scope, res), set()).update(verbs.split(","))
    return rows


def main():
    install, path = sys.argv[1], sys.argv[2]
    grants = granted(install)
    log = json.load(open(path))
    records = log if isinstance(log, list) else log.get("requests", log.get("items", []))
    observed = {}
    for r in records:
        if r.get("userAgent", "").startswith("kubectl") or not r.get("resource"):
            continue
        res = "%s/%s%s" % (r["group"] or "core", r["resource"], "/" + r["subresource"] if r.get("subresource") else "")
        observed.setdefault((r["verb"], res, r.get("namespace", "")), 0)
        observed[(r["verb"], res, r.get("namespace", ""))] += 1
    failures = 0
    if not observed:
        print("FAIL rbac observed: no operator requests in the log")
        return 1
    used = set()
    for (verb, res, ns), n in sorted(observed.items()):
        allowed = [key for key, verbs in grants.items()
                   if key[1] == res and verb in verbs and (key[0] is None or key[0] == ns)]
        used.update((key, verb) for key in allowed)
        ok = bool(allowed)
        failures += not ok
        print("%s rbac observed %-6s %s%s x%d %s" % ("ok  " if ok else "FAIL", verb, res,
              " in " + ns if ns else " (cluster-wide)", n, "granted" if ok else "NOT GRANTED: 403 in a real cluster"))
    unobserved = sorted("%s %s%s" % (v, key[1], " in " + key[0] if key[0] else "")
                        for key, verbs in grants.items() for v in verbs if (key, v) not in used)
    print("     rbac granted, not observed in this run: %s" % (", ".join(unobserved) or "-"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
