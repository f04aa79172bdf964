#!/usr/bin/env python3
"""Records the CustomDomain and Auth0Tenant objects the operator writes during e2e scenarios on
the real kube-apiserver, for tests/kstatus/testdata/ (not part of `make test`; run by hand when
the status conventions change).

    python3 tests/kstatus/record.py OUT_DIR [cargo test filters...]

Runs tests/kube-real/run.sh (its own cluster in OUT_DIR/cluster, no bad-input step) with the
e2e tests named by the filters (default: the self-managed domain to Ready, the missing DNS
record, the entitlement refusal and the plan refusal), and meanwhile polls
`kubectl get customdomains,auth0tenants -A -o json` every 0.2 s as admin, writing every new
resourceVersion of every object to OUT_DIR/raw/<kind>.<namespace>.<name>.<resourceVersion>.json
(managedFields dropped). OUT_DIR/index.tsv lists them with their Ready/Reconciling/Stalled
conditions, to pick fixtures from.
"""

import json
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_FILTERS = [
    "self_managed_to_ready",
    "missing_dns_names_the_record",
    "entitlement_refusal_stalls",
    "plan_refusal_is_reported",
]


def conds(obj):
    out = {}
    for c in (obj.get("status") or {}).get("conditions") or []:
        out[c["type"]] = f'{c["status"]}/{c.get("reason", "")}'
    return out


def poll(out, env_file, stop):
    seen = set()
    index = open(os.path.join(out, "index.tsv"), "w")
    index.write("file\tgeneration\tobservedGeneration\tReady\tReconciling\tStalled\n")
    while not stop.is_set() and not os.path.exists(env_file):
        time.sleep(0.2)
    env = dict(line.strip().split("=", 1) for line in open(env_file) if "=" in line)
    cmd = [env["KUBECTL"], "--kubeconfig", env["KUBE_REAL_KUBECONFIG"], "get",
           "customdomains,auth0tenants", "-A", "-o", "json"]
    while not stop.is_set():
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode == 0:
            for obj in json.loads(r.stdout).get("items", []):
                md = obj["metadata"]
                k = (md["uid"], md["resourceVersion"])
                if k in seen:
                    continue
                seen.add(k)
                md.pop("managedFields", None)
                name = f'{obj["kind"]}.{md.get("namespace", "-")}.{md["name"]}.{md["resourceVersion"]}.json'
                with open(os.path.join(out, "raw", name), "w") as f:
                    json.dump(obj, f, indent=2, sort_keys=True)
                c = conds(obj)
                index.write("\t".join([name, str(md.get("generation")),
                                       str((obj.get("status") or {}).get("observedGeneration")),
                                       c.get("Ready", "-"), c.get("Reconciling", "-"),
                                       c.get("Stalled", "-")]) + "\n")
                index.flush()
        time.sleep(0.2)


def main():
    out = os.path.abspath(sys.argv[1])
    filters = sys.argv[2:] or DEFAULT_FILTERS
    os.makedirs(os.path.join(out, "raw"), exist_ok=True)
    cluster = os.path.join(out, "cluster")
    stop = threading.Event()
    t = threading.Thread(target=poll, args=(out, os.path.join(cluster, "env"), stop))
    t.start()
    env = dict(os.environ, KUBE_REAL_DIR=cluster, KUBE_REAL_SKIP="bad-input",
               KUBE_REAL_E2E_ARGS="--test scenarios --test auth0_real -- " + " ".join(filters))
    try:
        rc = subprocess.call(["bash", "tests/kube-real/run.sh"], cwd=ROOT, env=env)
    finally:
        stop.set()
        t.join()
    print(f"record: tests/kube-real/run.sh exited {rc}; objects in {out}/raw, index {out}/index.tsv")
    return rc


if __name__ == "__main__":
    sys.exit(main())
