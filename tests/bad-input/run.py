#!/usr/bin/env python3
"""Applies every bad-input case with the real kubectl to a kube-sim it starts, and checks that each
is rejected (kubectl exits non-zero with a server-side error) and that the message names the field.

Usage: tests/bad-input/run.py [-v] [-j JOBS] [--kubeconfig FILE]
  --kubeconfig FILE  use that cluster (e.g. the real kube-apiserver of tests/kube-real) instead of
                     starting kube-sim; its user must be allowed to apply CRDs and namespaces
  KUBECTL      kubectl binary (default: kubectl)
  KUBE_SIM     kube-sim binary (default: built with cargo into $CARGO_TARGET_DIR or target/)

Also checks that gen.py still writes exactly the committed corpus, and that valid controls (including
the punycode form of an IDN) are admitted, so a rejection is never an artefact of the setup.
Exit status 0 only when every case passes.
"""

import argparse
import collections
import concurrent.futures
import filecmp
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(HERE, "corpus")
KUBECTL = os.environ.get("KUBECTL", "kubectl")

CONTROLS = """\
apiVersion: auth0.domain-operator.dev/v1alpha1
kind: Auth0Tenant
metadata:
  name: control-tenant
spec:
  domain: acme.eu.auth0.com
  credentialsSecretRef: {namespace: auth0, name: creds}
  resyncInterval: 1h30m
---
apiVersion: auth0.domain-operator.dev/v1alpha1
kind: CustomDomain
metadata:
  name: control-idn-punycode
  namespace: bad-input
spec:
  domain: xn--lgin-5qa.example.com
  type: Auth0ManagedCerts
---
apiVersion: auth0.domain-operator.dev/v1alpha1
kind: CustomDomain
metadata:
  name: control-full
  namespace: bad-input
spec:
  domain: login.example.co.uk
  type: SelfManagedCerts
  verificationMethod: TXT
  customClientIPHeader: x-forwarded-for
  metadata: {team: identity}
  relyingPartyIdentifier: example.co.uk
  mtls: {enabled: true}
  deletionPolicy: Orphan
"""


def check_corpus_current():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), tmp], check=True, capture_output=True)
        want = sorted(os.listdir(tmp))
        have = sorted(f for f in os.listdir(CORPUS) if f.endswith(".yaml") or f == "index.json")
        if want != have:
            return f"corpus file list differs from gen.py output ({len(have)} vs {len(want)} files)"
        _, mismatch, errors = filecmp.cmpfiles(tmp, CORPUS, want, shallow=False)
        if mismatch or errors:
            return f"corpus differs from gen.py output: {(mismatch + errors)[:5]}"
    return None


def kube_sim_binary():
    if os.environ.get("KUBE_SIM"):
        return os.environ["KUBE_SIM"]
    subprocess.run(
        ["cargo", "build", "--quiet", "-p", "kube-sim", "--bin", "kube-sim", "--manifest-path", os.path.join(ROOT, "Cargo.toml")],
        check=True,
    )
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "debug", "kube-sim")


def kubectl(env, *args, stdin=None):
    p = subprocess.run(
        [KUBECTL, "--request-timeout=20s", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
    )
    return p.returncode, (p.stdout + p.stderr).strip()


def run_case(env, case):
    """Returns (rejected, names_field, output)."""
    if "base" in case:
        rc, out = kubectl(env, "apply", "-f", os.path.join(CORPUS, case["base"]))
        if rc != 0:
            return False, False, f"base object was not admitted: {out}"
    verb = "apply" if "base" in case or case["id"] % 2 else "create"
    rc, out = kubectl(env, verb, "-f", os.path.join(CORPUS, case["file"]))
    # A server-side refusal, not a client-side one (kubectl would print "error: ..." only).
    server = "is invalid" in out or "Error from server" in out or "strict decoding error" in out
    rejected = rc != 0 and server
    return rejected, case["field"] in out, f"{verb}: {out}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-v", "--verbose", action="store_true", help="print every case's kubectl output")
    ap.add_argument("-j", "--jobs", type=int, default=4, help="kubectl processes in parallel")
    ap.add_argument("--kubeconfig", help="use this cluster instead of starting kube-sim")
    args = ap.parse_args()

    failures = []
    stale = check_corpus_current()
    if stale:
        failures.append(f"corpus: {stale}; run tests/bad-input/gen.py")
    with open(os.path.join(CORPUS, "index.json"), encoding="utf-8") as f:
        cases = json.load(f)["cases"]

    work = tempfile.mkdtemp(prefix="bad-input.")
    if args.kubeconfig:
        env = dict(os.environ, KUBECONFIG=os.path.abspath(args.kubeconfig))
        sim = log = None
    else:
        binary = kube_sim_binary()
        env = dict(os.environ, KUBECONFIG=os.path.join(work, "kubeconfig"))
        ready = os.path.join(work, "ready")
        log = open(os.path.join(work, "kube-sim.log"), "w")
        sim = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--kubeconfig", env["KUBECONFIG"], "--ready-file", ready],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(100):
            if sim is None or (os.path.exists(ready) and os.path.getsize(ready) > 0):
                break
            time.sleep(0.1)
        else:
            print("FAIL: kube-sim did not become ready")
            return 1
        for crd in ("auth0tenants.yaml", "customdomains.yaml"):
            rc, out = kubectl(env, "apply", "-f", os.path.join(ROOT, "crds", crd))
            if rc != 0:
                print(f"FAIL: applying crds/{crd}: {out}")
                return 1
        rc, out = kubectl(env, "wait", "--for=condition=Established", "--timeout=20s",
                          "crd/customdomains.auth0.domain-operator.dev", "crd/auth0tenants.auth0.domain-operator.dev")
        rc2, out2 = kubectl(env, "create", "namespace", "bad-input")
        if rc2 != 0 and sim is None and "AlreadyExists" in out2:
            rc2 = 0  # a cluster of --kubeconfig used before
        if rc != 0 or rc2 != 0:
            print(f"FAIL: setup: {out} {out2}")
            return 1
        rc, out = kubectl(env, "apply", "-f", "-", stdin=CONTROLS)
        if rc != 0:
            failures.append(f"valid controls were not admitted: {out}")

        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = list(pool.map(lambda c: run_case(env, c), cases))
        elapsed = time.monotonic() - started
    finally:
        if sim is not None:
            sim.terminate()
            sim.wait(timeout=10)
            log.close()

    table = collections.OrderedDict()
    for case, (rejected, named, out) in zip(cases, results):
        key = (case["kind"], case["category"])
        row = table.setdefault(key, [0, 0, 0])
        row[0] += 1
        row[1] += rejected
        row[2] += rejected and named
        if args.verbose:
            print(f"--- {case['id']:03d} {case['label']} ({case['field']})\n    {out}")
        if not rejected:
            failures.append(f"case {case['id']:03d} {case['file']}: NOT REJECTED\n    {out}")
        elif not named:
            failures.append(f"case {case['id']:03d} {case['file']}: message does not name {case['field']}\n    {out}")

    print(f"{'kind':<14}{'category':<24}{'cases':>6}{'rejected':>10}{'names field':>13}")
    totals = [0, 0, 0]
    for (kind, category), row in table.items():
        print(f"{kind:<14}{category:<24}{row[0]:>6}{row[1]:>10}{row[2]:>13}")
        totals = [a + b for a, b in zip(totals, row)]
    print(f"{'total':<38}{totals[0]:>6}{totals[1]:>10}{totals[2]:>13}")
    print(f"kubectl {KUBECTL}: {len(cases)} cases in {elapsed:.1f}s with {args.jobs} parallel kubectl processes")
    for f in failures:
        print("FAIL " + f)
    if failures:
        print(f"bad-input: {len(failures)} failures")
        return 1
    print("bad-input: every case rejected with a message naming its field")
    return 0


if __name__ == "__main__":
    sys.exit(main())
