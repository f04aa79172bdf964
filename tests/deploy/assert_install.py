#!/usr/bin/env python3
"""Checks one install as the API server holds it after `kubectl apply`.

Usage: assert_install.py INSTALL OBJECTS_JSON RENDERED_YAML
  INSTALL       base | namespaced | dev (rows of rbac-expected.tsv, and the per-install facts below)
  OBJECTS_JSON  `kubectl get … -o json` of everything the install created (a v1 List)
  RENDERED_YAML `kubectl kustomize` output: every object in it must be among OBJECTS_JSON
Prints one line per check; exit 1 when any fails."""
import json, os, sys
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
NS = "auth0-domain-operator"
INSTALLS = {
    "base": {"replicas": 2, "leader_election": True, "namespace_flag": False},
    "namespaced": {"replicas": 2, "leader_election": True, "namespace_flag": True},
    "dev": {"replicas": 1, "leader_election": False, "namespace_flag": False},
}

failures = 0


def check(ok, what, detail=""):
    global failures
    failures += not ok
    print("%s %s%s" % ("ok  " if ok else "FAIL", what, (": " + detail) if detail and not ok else ""))
    return ok


def one(objs, kind, name=None):
    found = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    check(len(found) == 1, "exactly one %s%s" % (kind, " " + name if name else ""), "found %d" % len(found))
    return found[0] if found else {}


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def rbac_rows(objs):
    rows = {}
    for o in objs:
        if o["kind"] not in ("ClusterRole", "Role"):
            continue
        role = "%s/%s/%s" % (o["kind"], o["metadata"].get("namespace", "-"), o["metadata"]["name"])
        rules = o.get("rules") or []
        check(not any(r.get("resourceNames") or r.get("nonResourceURLs") or "*" in r.get("verbs", [])
                      or "*" in r.get("resources", []) for r in rules),
              "%s: no wildcards, resourceNames or nonResourceURLs" % role)
        for rule in rules:
            for group in rule.get("apiGroups", []):
                for res in rule.get("resources", []):
                    key = (role, "%s/%s" % (group or "core", res))
                    rows.setdefault(key, set()).update(rule.get("verbs", []))
    return rows


def expected_rows(install):
    rows = {}
    for line in open(os.path.join(HERE, "rbac-expected.tsv")):
        if not line.strip() or line.startswith("#"):
            continue
        inst, role, res, verbs = line.rstrip("\n").split("\t")[:4]
        if inst == install:
            rows[(role, res)] = set(verbs.split(","))
    return rows


def main():
    install, path = sys.argv[1], sys.argv[2]
    facts = INSTALLS[install]
    objs = json.load(open(path))["items"]
    rendered = [d for d in yaml.safe_load_all(open(sys.argv[3])) if d]
    stored = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs}
    unchecked = {"PrometheusRule", "ConfigMap"}
    missing = [(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in rendered
               if d["kind"] not in unchecked
               and (d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) not in stored]
    check(not missing and len(rendered) == len(objs),
          "all %d rendered objects read back from the API server" % len(rendered),
          "missing %s; read back %d" % (missing, len(objs)))

    ns = one(objs, "Namespace", NS)
    check(ns.get("metadata", {}).get("labels", {}).get("pod-security.kubernetes.io/enforce") == "restricted",
          "namespace enforces the restricted Pod Security Standard")
    crds = {o["metadata"]["name"] for o in objs if o["kind"] == "CustomResourceDefinition"}
    check(crds == {"customdomains.auth0.domain-operator.dev", "auth0tenants.auth0.domain-operator.dev"},
          "CRDs installed: %s" % ", ".join(sorted(crds)))
    sa = one(objs, "ServiceAccount", "auth0-domain-operator")

    dep = one(objs, "Deployment", "auth0-domain-operator")
    spec = dep.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    pod_labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
    check(spec.get("replicas") == facts["replicas"], "replicas = %d" % facts["replicas"], str(spec.get("replicas")))
    check(selects(spec.get("selector", {}).get("matchLabels"), pod_labels), "Deployment selector matches its pod labels")
    check(pod.get("serviceAccountName") == sa.get("metadata", {}).get("name"), "pod runs as the ServiceAccount")
    psc = pod.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True, "pod runAsNonRoot")
    check(psc.get("runAsUser") == 65532, "pod runAsUser 65532", str(psc.get("runAsUser")))
    check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "pod seccompProfile RuntimeDefault")
    containers = pod.get("containers", [])
    check(len(containers) == 1 and not pod.get("initContainers"), "one container, no init containers")
    c = containers[0] if containers else {}
    csc = c.get("securityContext", {})
    check(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
    check(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation false")
    check(csc.get("privileged") in (None, False), "not privileged")
    check(csc.get("capabilities", {}).get("drop") == ["ALL"] and not csc.get("capabilities", {}).get("add"),
          "capabilities drop ALL, add none")
    check(csc.get("runAsNonRoot") in (None, True) and csc.get("runAsUser") in (None, 65532),
          "container does not override the non-root user")
    check(csc.get("seccompProfile", {}).get("type") in (None, "RuntimeDefault"), "container seccomp RuntimeDefault")
    check(not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC"), "no host namespaces")
    res = c.get("resources", {})
    check(all(res.get("requests", {}).get(k) for k in ("cpu", "memory")) and res.get("limits", {}).get("memory"),
          "resources: cpu/memory requests, memory limit", json.dumps(res))
    image = c.get("image", "")
    check(":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), "image pinned to a tag (%s)" % image)

    args = c.get("args", [])
    check(args[:1] == ["run"], "args start with the run subcommand", str(args))
    ports = {p.get("name"): p for p in c.get("ports", [])}
    metrics_port = ports.get("metrics", {}).get("containerPort")
    check(metrics_port == 8080 and "--metrics-addr=0.0.0.0:%s" % metrics_port in args,
          "--metrics-addr listens on the metrics containerPort", str(args))
    check(("--leader-election=true" in args) == facts["leader_election"]
          and ("--leader-election=false" in args) == (not facts["leader_election"]),
          "--leader-election=%s" % str(facts["leader_election"]).lower(), str(args))
    check(any(a == "--namespace=$(POD_NAMESPACE)" for a in args) == facts["namespace_flag"],
          "--namespace flag %s" % ("present" if facts["namespace_flag"] else "absent"), str(args))
    env = {e["name"]: e for e in c.get("env", [])}
    check(env.get("POD_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name",
          "POD_NAME from metadata.name (event reporter instance)")
    uses_pod_ns = any("$(POD_NAMESPACE)" in a for a in args)
    check(not uses_pod_ns or env.get("POD_NAMESPACE", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
          == "metadata.namespace", "POD_NAMESPACE from metadata.namespace where args use it")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = c.get(probe, {}).get("httpGet", {})
        check(get.get("path") == path and get.get("port") in ("metrics", metrics_port), "%s GET %s on the metrics port" % (probe, path))

    lease_rules = [o for o in objs if o["kind"] == "Role"
                   and any("leases" in r.get("resources", []) for r in o.get("rules") or [])]
    if facts["leader_election"]:
        check("--lease-namespace=$(POD_NAMESPACE)" in args and all(r["metadata"].get("namespace") == NS for r in lease_rules)
              and len(lease_rules) == 1, "Lease Role lives in the lease namespace (%s)" % NS)
    else:
        check(not lease_rules, "no Lease permissions without leader election")

    pdb = one(objs, "PodDisruptionBudget", "auth0-domain-operator")
    pspec = pdb.get("spec", {})
    check(selects(pspec.get("selector", {}).get("matchLabels"), pod_labels), "PodDisruptionBudget selects the operator pods")
    check(pspec.get("maxUnavailable") == 1 or (isinstance(pspec.get("minAvailable"), int) and pspec["minAvailable"] < facts["replicas"]),
          "PodDisruptionBudget lets one pod go (drains do not block)", json.dumps(pspec))

    np = one(objs, "NetworkPolicy", "auth0-domain-operator")
    nspec = np.get("spec", {})
    check(selects(nspec.get("podSelector", {}).get("matchLabels"), pod_labels), "NetworkPolicy selects the operator pods")
    check(sorted(nspec.get("policyTypes", [])) == ["Egress", "Ingress"], "NetworkPolicy restricts both directions")
    ing = nspec.get("ingress", [])
    ing_ports = sorted((p.get("port"), p.get("protocol", "TCP")) for r in ing for p in r.get("ports", []))
    check(ing_ports in ([("metrics", "TCP")], [(metrics_port, "TCP")]) and all(r.get("ports") for r in ing),
          "NetworkPolicy ingress: the metrics port only", json.dumps(ing))
    egr = nspec.get("egress", [])
    eg_ports = sorted((str(p.get("port")), p.get("protocol", "TCP")) for r in egr for p in r.get("ports", []))
    check(all(r.get("ports") for r in egr) and eg_ports == [("443", "TCP"), ("53", "TCP"), ("53", "UDP"), ("6443", "TCP")],
          "NetworkPolicy egress: DNS 53, HTTPS 443 (Auth0, API server), 6443 (API server endpoint) only", json.dumps(egr))

    svc = one(objs, "Service", "auth0-domain-operator-metrics")
    sspec = svc.get("spec", {})
    check(selects(sspec.get("selector"), pod_labels), "metrics Service selects the operator pods")
    sports = sspec.get("ports", [])
    check(len(sports) == 1 and sports[0].get("targetPort") in ("metrics", metrics_port), "Service targets the metrics port")
    sm = one(objs, "ServiceMonitor", "auth0-domain-operator")
    mspec = sm.get("spec", {})
    check(selects(mspec.get("selector", {}).get("matchLabels"), svc.get("metadata", {}).get("labels", {})),
          "ServiceMonitor selects the metrics Service")
    eps = mspec.get("endpoints", [])
    check(len(eps) == 1 and eps[0].get("port") == (sports[0].get("name") if sports else None) and eps[0].get("path") == "/metrics",
          "ServiceMonitor scrapes /metrics on the Service's port")

    # RBAC: exact table, and every binding points at the ServiceAccount.
    have, want = rbac_rows(objs), expected_rows(install)
    check(bool(want), "rbac-expected.tsv has rows for %s" % install)
    for key in sorted(set(have) | set(want)):
        h, w = have.get(key, set()), want.get(key, set())
        check(h == w, "RBAC %s %s verbs %s" % (key[0], key[1], ",".join(sorted(h)) or "-"),
              "want %s; extra %s; missing %s" % (",".join(sorted(w)) or "-", ",".join(sorted(h - w)) or "-", ",".join(sorted(w - h)) or "-"))
    roles = {"%s/%s" % (o["kind"], o["metadata"]["name"]) for o in objs if o["kind"] in ("ClusterRole", "Role")}
    for b in [o for o in objs if o["kind"] in ("ClusterRoleBinding", "RoleBinding")]:
        ref = b.get("roleRef", {})
        subj = b.get("subjects", [])
        check("%s/%s" % (ref.get("kind"), ref.get("name")) in roles
              and subj == [{"kind": "ServiceAccount", "name": "auth0-domain-operator", "namespace": NS}],
              "%s %s binds %s %s to the ServiceAccount only" % (b["kind"], b["metadata"]["name"], ref.get("kind"), ref.get("name")))
    bound = {"%s/%s" % (b["roleRef"]["kind"], b["roleRef"]["name"]) for b in objs if b["kind"] in ("ClusterRoleBinding", "RoleBinding")}
    check(roles <= bound, "every role is bound", ", ".join(sorted(roles - bound)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
