#!/usr/bin/env python3
"""Granted vs observed RBAC: every Kubernetes request the operator made (kube-sim's request log,
`GET /__sim/requests`, or the per-scenario logs the e2e suite writes with E2E_REQUEST_LOG_DIR) must
be allowed by the install's RBAC table (rbac-expected.tsv); a request outside it would be 403
Forbidden in a real cluster. Granted verbs never observed are listed (not a failure: a run does not
exercise every path). Ends with a granted-vs-observed table per resource.

Usage: rbac_observed.py [--label TEXT] [--operator-namespace REGEX] INSTALL PATH...
--operator-namespace: requests in namespaces matching REGEX are held to the Roles of the
install's own namespace (auth0-domain-operator): an e2e world's operator runs with the world's
namespace as its own (POD_NAMESPACE, --namespace), where deploy/base's credentials Role would be.
PATH is a request log (JSON array, or an object with `requests`/`items`) or a directory whose
*.json files are such logs. Requests from kubectl (User-Agent `kubectl/…`) and from the e2e
harness's own client are the tests' own and are skipped."""
import json, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
OPERATOR_NS = "auth0-domain-operator"
TEST_AGENTS = ("kubectl", "auth0-domain-operator-e2e-harness")


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


def log_files(paths):
    for p in paths:
        if os.path.isdir(p):
            for f in sorted(os.listdir(p)):
                if f.endswith(".json"):
                    yield os.path.join(p, f)
        else:
            yield p


def records_of(path):
    log = json.load(open(path))
    return log if isinstance(log, list) else log.get("requests", log.get("items", []))


def main(argv):
    label, own = "", None
    while len(argv) > 2 and argv[0] in ("--label", "--operator-namespace"):
        if argv[0] == "--label":
            label = " (%s)" % argv[1]
        else:
            own = re.compile(argv[1])
        argv = argv[2:]
    if len(argv) < 2:
        print(__doc__)
        return 2
    install, paths = argv[0], argv[1:]
    grants = granted(install)
    files = list(log_files(paths))
    if not files:
        print("FAIL rbac observed%s: no request logs in %s" % (label, " ".join(paths)))
        return 1
    observed = {}
    for path in files:
        for r in records_of(path):
            if r.get("userAgent", "").startswith(TEST_AGENTS) or not r.get("resource"):
                continue
            res = "%s/%s%s" % (r["group"] or "core", r["resource"], "/" + r["subresource"] if r.get("subresource") else "")
            key = (r["verb"], res, r.get("namespace", ""))
            observed[key] = observed.get(key, 0) + 1
    if not observed:
        print("FAIL rbac observed%s: no operator requests in %d log(s)" % (label, len(files)))
        return 1
    print("     rbac%s: %d operator requests from %d log(s)" % (label, sum(observed.values()), len(files)))
    failures = 0
    used = set()
    by_resource = {}
    # One line per (verb, resource, scope): namespaces are folded (e2e worlds each have their own).
    folded = {}
    for (verb, res, ns), n in sorted(observed.items()):
        home = own is not None and bool(ns) and own.search(ns) is not None
        allowed = [key for key, verbs in grants.items()
                   if key[1] == res and verb in verbs
                   and (key[0] is None or key[0] == ns or (home and key[0] == OPERATOR_NS))]
        used.update((key, verb) for key in allowed)
        ok = bool(allowed)
        failures += not ok
        scope = "namespaced" if ns else "cluster-wide"
        f = folded.setdefault((verb, res, scope), [0, set(), True])
        f[0] += n
        f[1].add(ns)
        f[2] = f[2] and ok
        by_resource.setdefault(res, {}).setdefault(verb, 0)
        by_resource[res][verb] += n
    for (verb, res, scope), (n, namespaces, ok) in sorted(folded.items()):
        where = " in %s" % ",".join(sorted(namespaces)) if scope == "namespaced" and len(namespaces) <= 2 \
            else " in %d namespaces" % len(namespaces) if scope == "namespaced" else " (cluster-wide)"
        print("%s rbac observed %-6s %s%s x%d %s" % ("ok  " if ok else "FAIL", verb, res, where, n,
              "granted" if ok else "NOT GRANTED: 403 in a real cluster"))
    unobserved = sorted("%s %s%s" % (v, key[1], " in " + key[0] if key[0] else "")
                        for key, verbs in grants.items() for v in verbs if (key, v) not in used)
    print("     rbac granted, not observed in this run: %s" % (", ".join(unobserved) or "-"))
    # Granted vs observed, per resource.
    resources = sorted(set(r for _, r in grants) | set(by_resource))
    width = max(len(r) for r in resources)
    print("     %-*s  %-32s  %s" % (width, "resource", "granted (%s)" % install, "observed (requests)"))
    for res in resources:
        g = sorted(set().union(*[v for (s, r), v in grants.items() if r == res])) if any(r == res for _, r in grants) else []
        o = by_resource.get(res, {})
        print("     %-*s  %-32s  %s" % (width, res, ",".join(g) or "-",
                                     ", ".join("%s x%d" % (v, o[v]) for v in sorted(o)) or "-"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
