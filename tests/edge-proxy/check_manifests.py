"""Checks `kubectl kustomize deploy/edge-proxy` (YAML on stdin) against the files run.sh tested.

Usage: kubectl kustomize deploy/edge-proxy | python3 check_manifests.py deploy/edge-proxy
Prints one line per check; exits 1 on the first failure.
"""
import os
import sys

import yaml

edge_dir = sys.argv[1]
docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)


def check(what, ok):
    if not ok:
        print(f"not ok - manifests: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok - manifests: {what}")


check("kinds are ConfigMap, Deployment, Service, PodDisruptionBudget",
      sorted(by_kind) == ["ConfigMap", "Deployment", "PodDisruptionBudget", "Service"])
cm = by_kind["ConfigMap"][0]
shipped = ["render.sh", "watch.sh", "nginx.conf.template", "edge.conf.template",
           "auth0-origin.inc.template", "edge-mtls.conf.template"]
for name in shipped:
    with open(os.path.join(edge_dir, name)) as f:
        check(f"ConfigMap {cm['metadata']['name']} carries the tested {name}", cm["data"].get(name) == f.read())

dep = by_kind["Deployment"][0]
pod = dep["spec"]["template"]["spec"]
(c,) = pod["containers"]
env = {e["name"]: e.get("value") for e in c["env"]}
mounts = {m["name"]: m for m in c["volumeMounts"]}
vols = {v["name"]: v for v in pod["volumes"]}

check("2 replicas", dep["spec"]["replicas"] == 2)
sec = vols["auth0-edge"]["secret"]
check("operator Secret mounted whole (mtls-domain may be absent) at SECRET_DIR",
      "items" not in sec and mounts["auth0-edge"]["mountPath"] == env["SECRET_DIR"]
      and sec["secretName"].endswith("-auth0-edge"))
check("TLS Secret mounted where TLS_CERT_FILE/TLS_KEY_FILE point",
      os.path.dirname(env["TLS_CERT_FILE"]) == mounts["tls"]["mountPath"]
      and os.path.dirname(env["TLS_KEY_FILE"]) == mounts["tls"]["mountPath"])
check("templates ConfigMap (hashed name) mounted at TEMPLATE_DIR",
      vols["templates"]["configMap"]["name"] == cm["metadata"]["name"]
      and mounts["templates"]["mountPath"] == env["TEMPLATE_DIR"])
run_mount = mounts["run"]["mountPath"]
check("OUT_DIR is on the writable emptyDir",
      "emptyDir" in vols["run"] and (env["OUT_DIR"] + "/").startswith(run_mount.rstrip("/") + "/"))
cmd = " ".join(c.get("command", []) + c.get("args", []))
check("container runs watch.sh (render.sh, nginx, reload on Secret changes) from TEMPLATE_DIR",
      c.get("command") == ["/bin/sh"] and c.get("args") == [f"{env['TEMPLATE_DIR']}/watch.sh"])
check("WATCH_INTERVAL is a positive number of seconds",
      float(env.get("WATCH_INTERVAL") or 0) > 0)
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
check("container ports match HTTP_PORT/HTTPS_PORT",
      ports == {"http": int(env["HTTP_PORT"]), "https": int(env["HTTPS_PORT"])})
check("probes hit /edge-healthz on http",
      all(c[p]["httpGet"] == {"path": "/edge-healthz", "port": "http"} for p in ("readinessProbe", "livenessProbe")))
psc, csc = pod["securityContext"], c["securityContext"]
check("hardened: non-root, read-only root fs, no privilege escalation, caps dropped, seccomp",
      psc["runAsNonRoot"] is True and psc["runAsUser"] != 0
      and psc["seccompProfile"]["type"] == "RuntimeDefault"
      and csc["readOnlyRootFilesystem"] is True and csc["allowPrivilegeEscalation"] is False
      and csc["capabilities"]["drop"] == ["ALL"])
check("no service account token in the proxy", pod.get("automountServiceAccountToken") is False)
svc = by_kind["Service"][0]
check("Service 80/443 → named ports, selector matches the Pod, client IP preserved",
      {(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]} == {(80, "http"), (443, "https")}
      and all(dep["spec"]["template"]["metadata"]["labels"].get(k) == v
              for k, v in svc["spec"]["selector"].items())
      and svc["spec"].get("externalTrafficPolicy") == "Local")
pdb = by_kind["PodDisruptionBudget"][0]
check("PodDisruptionBudget selects the Pods",
      pdb["spec"]["selector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]
      and all(dep["spec"]["template"]["metadata"]["labels"].get(k) == v
              for k, v in pdb["spec"]["selector"]["matchLabels"].items()))
