#!/usr/bin/env python3
"""Chaos suite: N self-managed CustomDomains against the simulators while faults are injected
everywhere and the operator is SIGKILLed at random moments (seeded; the seed is printed), then
the faults are cleared and the end state is checked.

Faults: Auth0 10 % 5xx with jitter, latency spikes, dropped connections, 429 storms, token
expiry (auth0-sim control); 409 conflicts on writes, watch 410s and closed watches, 5xx/latency
on Secret and status writes, and Secret-write outages of 10-30 s in the CustomDomains' namespace
(every create/patch/update refused: keys go to the escrow in the operator's namespace) (kube-sim
control); SERVFAIL bursts (test-dns control). Halfway through, the Auth0Tenant is deleted: its
finalizer holds it while CustomDomains need it. At the end every CustomDomain is deleted.

Checks (exit 1 on any violation):
  - every domain Ready, or SecretStored=False/CnameApiKeyLost only when a SIGKILL landed within
    --lost-window seconds after the simulator issued that domain's key;
  - 0 duplicate domains in the simulator (domains per host name from /__sim/domains);
  - each Secret's cname-api-key equals the key the simulator issued, or the loss was reported
    (0 silent losses);
  - no secret value (client secret, issued keys) in any operator log line, in any Event, nor in
    any CustomDomain object;
  - 0 leaks: once every CustomDomain is deleted, the simulator holds no domain, no escrow Secret is
    left, and the deleted Auth0Tenant is gone.

  python3 tests/chaos/chaos.py                          # full: 1,000 domains, 200 SIGKILLs
  python3 tests/chaos/chaos.py --domains 100 --kills 20 # reduced (make test)
Python stdlib only.
"""

import argparse
import base64
import collections
import datetime
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from world import KUBECTL, ROOT, World  # noqa: E402

BASE_FAULTS = {"error_rate": 0.10, "jitter_ms": 150}
RECREATE_ANNOTATION = "auth0-domain-operator.dev/recreate-on-key-loss"
ESCROW_LABEL = "auth0-domain-operator.dev/escrow-for-namespace"
TENANT_FINALIZER = "auth0-domain-operator.dev/tenant-in-use"
OUTAGE_KEYS = 10  # keys issued into the final Secret-write outage (half before the graceful restart)
RECREATE = f", annotations: {{{RECREATE_ANNOTATION}: 'true'}}"


def log(msg):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def try_json(w, *argv):
    """kubectl ... -o json that tolerates injected API faults (None on failure)."""
    r = subprocess.run([KUBECTL, *argv, "-o", "json"], env=w.env, capture_output=True, text=True)
    if r.returncode != 0:
        return None
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def try_kubectl(w, *argv):
    """kubectl ... that tolerates injected API faults (False on failure)."""
    return subprocess.run([KUBECTL, *argv], env=w.env, capture_output=True, text=True).returncode == 0


def tenant_finalized(w):
    """True when the Auth0Tenant carries the operator's finalizer (an operator run has seen it)."""
    t = try_json(w, "get", "auth0tenant", "default")
    return t is not None and TENANT_FINALIZER in (t["metadata"].get("finalizers") or [])


def delete_everything(w, ns, timeout):
    """Deletes every CustomDomain; returns (seconds until they and the deleted tenant were gone or
    None, Auth0 domains left, escrow Secrets left)."""
    started = time.monotonic()
    while not try_kubectl(w, "delete", "customdomains", "--all", "-n", ns, "--wait=false"):
        time.sleep(1)
    gone_after = None
    while time.monotonic() - started < timeout:
        left = try_json(w, "get", "customdomains", "-n", ns)
        tenants = try_json(w, "get", "auth0tenants")
        if left is not None and not left["items"] and tenants is not None and not tenants["items"]:
            gone_after = time.monotonic() - started
            break
        time.sleep(1)
    escrows = try_json(w, "get", "secrets", "-n", "auth0", "-l", ESCROW_LABEL) or {"items": []}
    return gone_after, w.sim("/domains"), escrows["items"]


def sim_keys(w):
    """How many cname_api_keys the simulator has issued."""
    try:
        return int(w.sim("/counters").get("keys_issued") or 0)
    except Exception:
        return 0


def hand_overs(log_paths):
    """Totals of the operator's key hand-overs (graceful stops): keys in Secret, escrowed, lost."""
    totals = collections.Counter()
    for path in log_paths:
        with open(path, errors="replace") as f:
            for line in f:
                if "kept in escrow until its Secret" in line:
                    totals["escrowed on a failed write"] += 1
                    continue
                if "found the cname-api-key in escrow" in line:
                    totals["restored from escrow"] += 1
                    continue
                if "handed over" not in line and "could not hand over" not in line:
                    continue
                try:
                    fields = json.loads(ANSI.sub("", line)).get("fields") or {}
                except ValueError:
                    continue
                if "in_secret" in fields:
                    totals["stops"] += 1
                    for k in ("in_secret", "escrowed", "lost"):
                        totals[k] += int(fields.get(k) or 0)
    return totals


def conditions(cd):
    return {c["type"]: c for c in (cd.get("status") or {}).get("conditions") or []}


def is_ready(cd):
    return conditions(cd).get("Ready", {}).get("status") == "True"


def is_key_lost(cd):
    c = conditions(cd).get("SecretStored", {})
    return c.get("status") == "False" and c.get("reason") == "CnameApiKeyLost"


ANSI = re.compile(r"\x1b\[[0-9;]*m")
ISSUED = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z.*cname_api_key issued.*?\bid=(cd_\w+)")


def recreates_allowed(cd):
    return ((cd.get("metadata") or {}).get("annotations") or {}).get(RECREATE_ANNOTATION) == "true"


FIELD_ID = re.compile(r"\bid=(cd_\w+)")
FIELD_DOMAIN = re.compile(r"\bdomain=(\S+)")


def read_sim_log(sim_log):
    """From the simulator's log, in one pass: ({host: [domain ids created for it]},
    {domain id: UNIX seconds its cname_api_key was issued}).

    Created ids come from the simulator, not the operators' logs: an operator killed between the
    create and its log line never names the id it created, and that id is exactly the one a lost
    key belongs to."""
    created, issued = collections.defaultdict(list), {}
    with open(sim_log, errors="replace") as f:
        for line in f:
            line = ANSI.sub("", line)
            if "custom domain created" in line:
                cid, host = FIELD_ID.search(line), FIELD_DOMAIN.search(line)
                if cid and host:
                    created[host.group(1)].append(cid.group(1))
            elif m := ISSUED.search(line):
                ts = datetime.datetime.fromisoformat(m.group(1)[:26]).replace(tzinfo=datetime.timezone.utc)
                issued[m.group(2)] = ts.timestamp()
    return created, issued


class Chaos:
    """Draws and applies the faults; remembers what it did."""

    def __init__(self, w, rng, args):
        self.w, self.rng, self.args = w, rng, args
        self.counts = collections.Counter()
        self.kill_times = []  # UNIX seconds of each SIGKILL
        self.restore_sim_at = None
        self.restore_kube_at = None

    def sim_faults(self, faults):
        self.w.sim("/faults", "PUT", faults)

    def start(self):
        self.sim_faults(BASE_FAULTS)
        self.counts["auth0 10% 5xx on"] += 1

    def kill(self):
        self.kill_times.append(time.time())
        self.w.kill_operator()
        self.counts["SIGKILL"] += 1
        time.sleep(self.rng.uniform(0.0, 0.3))
        self.w.start_operator()

    def fault(self):
        r = self.rng
        action = r.choice(["latency", "drops", "storm", "expire", "conflicts", "gone", "close", "kube5xx",
                           "servfail", "secret_outage"])
        try:
            if action == "latency":
                self.sim_faults(dict(BASE_FAULTS, latency_ms=r.choice([500, 1000, 2000])))
                self.restore_sim_at = time.monotonic() + r.uniform(1, 4)
            elif action == "drops":
                self.sim_faults(dict(BASE_FAULTS, drop_rate=r.choice([0.1, 0.3])))
                self.restore_sim_at = time.monotonic() + r.uniform(1, 4)
            elif action == "storm":
                self.w.sim("/storm", "POST", {"seconds": r.randint(2, 5)})
            elif action == "expire":
                self.w.sim("/expire-tokens", "POST")
            elif action == "conflicts":
                self.w.kube("conflicts", body={"count": r.randint(1, 10)})
            elif action == "gone":
                self.w.kube("watches/gone", body={"count": r.randint(1, 3)})
                self.w.kube("watches/close")
            elif action == "close":
                self.w.kube("watches/close")
            elif action == "kube5xx":
                verb, res = r.choice([("create", "secrets"), ("patch", "secrets"), ("update", "secrets"),
                                      ("get", "secrets"), ("patch", "customdomains")])
                self.w.kube("faults", body={"verb": verb, "resource": res, "status": r.choice([500, 503]),
                                            "latencyMs": r.choice([0, 300]), "count": r.randint(1, 5)})
            elif action == "secret_outage":
                if self.restore_kube_at is not None:
                    return  # one outage at a time
                self.secret_outage(r.uniform(10, 30))
            elif action == "servfail":
                self.w.dns_ctl("/faults", body={"servfail_for_ms": r.randint(1000, 4000)})
            self.counts[action] += 1
        except Exception as e:  # a control call failing is not the operator's fault; note it
            self.counts[f"{action} (control call failed: {type(e).__name__})"] += 1

    def secret_outage(self, seconds, verbs=("create", "patch", "update")):
        """Secret writes (`verbs`) in the CustomDomains' namespace fail for `seconds` (the escrow, in
        the operator's namespace, still works)."""
        for verb in verbs:
            self.w.kube("faults", body={"verb": verb, "resource": "secrets", "namespace": self.args.namespace,
                                        "status": 500})
        self.restore_kube_at = time.monotonic() + seconds

    def graceful_restart(self):
        """SIGTERM (the operator hands over the keys it holds, then exits), then a new process."""
        op = self.w.operator
        if op is not None and op.poll() is None:
            op.send_signal(signal.SIGTERM)
            try:
                op.wait(timeout=60)
            except subprocess.TimeoutExpired:
                op.kill()
                op.wait()
                self.counts["SIGTERM not obeyed in 60 s"] += 1
        self.counts["SIGTERM during the final outage"] += 1
        self.w.start_operator()

    def tick(self):
        if self.restore_sim_at and time.monotonic() >= self.restore_sim_at:
            self.sim_faults(BASE_FAULTS)
            self.restore_sim_at = None
        if self.restore_kube_at and time.monotonic() >= self.restore_kube_at:
            self.w.kube("faults", method="DELETE")  # the outage's rules (others are count-limited)
            self.restore_kube_at = None

    def clear(self):
        self.w.sim("/faults", "DELETE")
        self.w.kube("faults", method="DELETE")
        self.restore_kube_at = None
        self.w.dns_ctl("/faults", method="DELETE")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domains", type=int, default=1000)
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--seed", type=int, default=None, help="RNG seed (default: random, printed)")
    ap.add_argument("--kill-interval", default="0.5:2.5", help="seconds between SIGKILLs, MIN:MAX")
    ap.add_argument("--fault-interval", default="0.5:2.0", help="seconds between other faults, MIN:MAX")
    ap.add_argument("--lost-window", type=float, default=10.0,
                    help="a CnameApiKeyLost is explained by a SIGKILL at most this long after the key was issued")
    ap.add_argument("--sim-rate-limit", default="50:50")
    ap.add_argument("--tenant-rate-limit", default="20:40")
    ap.add_argument("--sim-verify-limit", default="10:1")
    ap.add_argument("--resync", default="30s")
    ap.add_argument("--dns-recheck-max", default="5s")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--settle-timeout", type=int, default=600, help="seconds after the faults end")
    ap.add_argument("--final-outage", type=float, default=60.0,
                    help="longest Secret-write outage when the other faults end (a graceful restart in it)")
    ap.add_argument("--profile", default="debug", choices=["release", "debug"])
    ap.add_argument("--bin-dir", default=None, help="directory with the four binaries (default: target/<profile>)")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    args.namespace = "chaos"
    args.rust_log = os.environ.get("CHAOS_RUST_LOG", "info")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 2**31)
    log(f"seed {args.seed} (rerun with --seed {args.seed})")
    rng = random.Random(args.seed)

    if not args.no_build and not args.bin_dir:
        log(f"building ({args.profile})")
        build = ["cargo", "build", "--quiet", "--workspace", "--bins"] + (["--release"] if args.profile == "release" else [])
        subprocess.run(build, cwd=ROOT, check=True)

    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="auth0-chaos-")
    w = World(args, workdir)
    violations = []
    try:
        w.start()
        n = args.domains
        ns = args.namespace
        # Every other domain may be recreated to get a new key after a loss (annotation
        # recreate-on-key-loss, docs/design.md#key-safety): those must all end Ready; the others
        # may end CnameApiKeyLost.
        docs = [f"""apiVersion: auth0.domain-operator.dev/v1alpha1
kind: CustomDomain
metadata: {{name: d{i:04d}, namespace: {ns}{RECREATE if i % 2 == 0 else ""}}}
spec: {{domain: d{i:04d}.chaos.example.com, type: SelfManagedCerts}}""" for i in range(n)]
        chaos = Chaos(w, rng, args)
        chaos.start()
        w.apply("\n---\n".join(docs))
        log(f"applied {n} CustomDomains; injecting faults and {args.kills} SIGKILLs")
        kmin, kmax = (float(x) for x in args.kill_interval.split(":"))
        fmin, fmax = (float(x) for x in args.fault_interval.split(":"))
        published = set()
        now = time.monotonic()
        next_kill, next_fault, next_poll, last_report = now + rng.uniform(kmin, kmax), now, now, now
        items = []
        faults_on = True
        tenant_deleted = None
        next_tenant_check = now
        outage = None
        settle_deadline = None
        while True:
            now = time.monotonic()
            if w.operator.poll() is not None:
                violations.append(f"operator exited by itself with code {w.operator.returncode} at "
                                  f"{time.strftime('%H:%M:%S')} (log {w.operator_log})")
                w.start_operator()
            if (not tenant_deleted and chaos.counts["SIGKILL"] >= args.kills // 2
                    and now >= next_tenant_check):
                # Deleting the tenant with its domains in flight: the finalizer keeps it (and
                # every domain working) until the CustomDomains are gone. Only once an operator
                # run has put the finalizer on: with kills every second or so, a seed can have
                # no run live long enough to see the tenant before it is deleted, and nothing
                # can hold an object no controller has seen (a real tenant is never that new).
                next_tenant_check = now + 1.0
                if tenant_finalized(w) and try_kubectl(w, "delete", "auth0tenant", "default", "--wait=false"):
                    tenant_deleted = time.time()
                    chaos.counts["tenant deleted"] += 1
            if faults_on:
                chaos.tick()
                if now >= next_kill and chaos.counts["SIGKILL"] < args.kills:
                    chaos.kill()
                    next_kill = time.monotonic() + rng.uniform(kmin, kmax)
                if now >= next_fault:
                    chaos.fault()
                    next_fault = time.monotonic() + rng.uniform(fmin, fmax)
                if chaos.counts["SIGKILL"] >= args.kills:
                    chaos.clear()
                    faults_on = False
                    settle_deadline = time.monotonic() + args.settle_timeout
                    # Most keys arrive now: a last Secret-write outage makes them go to the escrow,
                    # and a graceful restart inside it must hand over the ones still in memory.
                    # It lasts until enough keys were issued into it (or --final-outage seconds).
                    # Creates still work: a Secret must exist before a verify is sent, so with creates
                    # failing no key would be issued at all.
                    chaos.secret_outage(args.final_outage, verbs=("patch", "update"))
                    outage = {"keys_before": sim_keys(w), "restarted": False}
                    log(f"faults cleared after {time.monotonic() - started:.0f}s but for a Secret-write outage "
                        f"(until {OUTAGE_KEYS} keys were issued into it, ≤ {args.final_outage:.0f}s) with a graceful "
                        f"restart in it; waiting for every domain to settle (≤ {args.settle_timeout}s)")
            else:
                chaos.tick()
                if outage is not None and chaos.restore_kube_at is not None and now >= next_poll:
                    issued = sim_keys(w) - outage["keys_before"]
                    outage["issued"] = issued
                    if not outage["restarted"] and issued >= OUTAGE_KEYS // 2:
                        chaos.graceful_restart()
                        outage["restarted"] = True
                    elif outage["restarted"] and issued >= OUTAGE_KEYS:
                        chaos.restore_kube_at = time.monotonic()  # ends the outage at the next tick
                if outage is not None and chaos.restore_kube_at is None and not outage["restarted"]:
                    chaos.graceful_restart()  # the outage timed out before enough keys came
                    outage["restarted"] = True
            if now >= next_poll:
                got = try_json(w, "get", "customdomains", "-n", ns)
                if got is not None:
                    items = got["items"]
                    for cd in items:
                        for r in ((cd.get("status") or {}).get("verification") or {}).get("records") or []:
                            key = (r["type"], r["name"], r["value"])
                            if key not in published:
                                try:
                                    w.publish(*key)
                                    published.add(key)
                                except Exception:
                                    pass  # retried on the next poll
                next_poll = time.monotonic() + 1.0
                done = sum(1 for cd in items if is_ready(cd) or is_key_lost(cd))
                if now - last_report > 10:
                    log(f"{sum(map(is_ready, items))}/{n} Ready, {sum(map(is_key_lost, items))} CnameApiKeyLost, "
                        f"{chaos.counts['SIGKILL']} kills, {len(published)} records published")
                    last_report = now
                if not faults_on and chaos.restore_kube_at is None and len(items) == n and done == n:
                    break
            if settle_deadline and time.monotonic() > settle_deadline:
                violations.append(f"not settled {args.settle_timeout}s after the faults ended")
                break
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        log(f"settled after {elapsed:.0f}s; checking")
        time.sleep(1)  # let the last status writes land before reading everything

        items = json.loads(w.kubectl("get", "customdomains", "-n", ns, "-o", "json"))["items"]
        sim_domains = w.sim("/domains")
        counters = w.sim("/counters")
        secrets = {s["metadata"]["name"]: s for s in
                   json.loads(w.kubectl("get", "secrets", "-n", ns, "-o", "json"))["items"]}
        events_text = w.kubectl("get", "events.events.k8s.io", "-A", "-o", "json")
        ids_by_host, issued_at = read_sim_log(os.path.join(workdir, "auth0-sim.log"))

        per_host = collections.Counter(d["domain"] for d in sim_domains)
        duplicates = {h: c for h, c in per_host.items() if c > 1}
        by_host = {d["domain"]: d for d in sim_domains}
        recreated = {e["regarding"]["name"] for e in json.loads(events_text)["items"]
                     if e.get("reason") == "Recreating" and (e.get("regarding") or {}).get("name")}
        recreations_explained = 0
        for cd in items:
            name, host = cd["metadata"]["name"], cd["spec"]["domain"]
            if not recreates_allowed(cd):
                continue
            if not is_ready(cd):
                violations.append(f"{name}: annotated recreate-on-key-loss but not Ready")
            if name in recreated:
                current = (by_host.get(host) or {}).get("custom_domain_id")
                old = [i for i in ids_by_host.get(host, []) if i != current]
                gaps = [k - issued_at[i] for i in old if i in issued_at
                        for k in chaos.kill_times if 0 <= k - issued_at[i] <= args.lost_window]
                if gaps:
                    recreations_explained += 1
                else:
                    violations.append(f"{name}: recreated for a lost key with no SIGKILL within {args.lost_window}s "
                                      f"after an earlier key was issued (earlier ids {old})")
        ready = [cd for cd in items if is_ready(cd)]
        lost = [cd for cd in items if is_key_lost(cd)]
        neither = [cd["metadata"]["name"] for cd in items if not is_ready(cd) and not is_key_lost(cd)]
        key_ok = key_reported = silent = lost_explained = lost_unexplained = unfinished = 0
        lost_gaps = []
        for cd in items:
            name, host = cd["metadata"]["name"], cd["spec"]["domain"]
            sim = by_host.get(host)
            if sim is None:
                if is_ready(cd) or is_key_lost(cd):
                    violations.append(f"{name}: no domain {host} in the simulator")
                else:
                    unfinished += 1  # not created yet
                continue
            secret_name = ((cd.get("status") or {}).get("secretRef") or {}).get("name") or f"{name}-auth0-edge"
            data = (secrets.get(secret_name) or {}).get("data") or {}
            stored = base64.b64decode(data["cname-api-key"]).decode() if data.get("cname-api-key") else None
            if sim["cname_api_key"] is not None and stored == sim["cname_api_key"]:
                key_ok += 1
                if is_key_lost(cd):
                    violations.append(f"{name}: CnameApiKeyLost although the Secret holds the issued key")
            elif is_key_lost(cd):
                key_reported += 1
                t = issued_at.get(sim["custom_domain_id"])
                gaps = [k - t for k in chaos.kill_times if t is not None and 0 <= k - t <= args.lost_window]
                if gaps:
                    lost_explained += 1
                    lost_gaps.append(min(gaps))
                else:
                    lost_unexplained += 1
                    after = [round(k - t, 2) for k in chaos.kill_times if t is not None and k >= t][:3]
                    violations.append(f"{name}: CnameApiKeyLost with no SIGKILL within {args.lost_window}s after "
                                      f"the key was issued (issued at {t}, next kills +{after} s)")
            elif sim["cname_api_key"] is None or not is_ready(cd):
                unfinished += 1  # not verified yet (or key in flight): counted under "neither" above
            else:
                silent += 1
                violations.append(f"{name}: SILENT key loss: Secret {secret_name} has "
                                  f"{'no key' if stored is None else 'a different key'} than the simulator issued, yet Ready")
        if neither:
            violations.append(f"{len(neither)} domains neither Ready nor CnameApiKeyLost: {neither[:10]}")
        if duplicates:
            violations.append(f"{len(duplicates)} duplicate host names in the simulator: {list(duplicates)[:10]}")
        if len(sim_domains) != n:
            violations.append(f"simulator holds {len(sim_domains)} domains, expected {n}")

        secret_values = {w.secret} | {d["cname_api_key"] for d in sim_domains if d.get("cname_api_key")}
        leaks = collections.Counter()
        log_lines = 0
        for path in w.operator_logs():
            with open(path, errors="replace") as f:
                for line in f:
                    log_lines += 1
                    if any(v in line for v in secret_values):
                        leaks[os.path.basename(path)] += 1
        if any(v in events_text for v in secret_values):
            leaks["events"] += 1
        cds_text = json.dumps(items)
        if any(v in cds_text for v in secret_values):
            leaks["CustomDomain objects"] += 1
        for where, count in leaks.items():
            violations.append(f"secret value found in {where} ({count} lines/objects)")
        events = json.loads(events_text)["items"]

        # The tenant deleted halfway must still be there (its domains need it), then every
        # CustomDomain is deleted: nothing may stay behind in Auth0 or in escrow.
        if tenant_deleted is None:
            violations.append("the Auth0Tenant was never deleted")
        elif try_json(w, "get", "auth0tenant", "default") is None:
            violations.append("the Auth0Tenant went away while CustomDomains still needed it")
        gone_after, left_in_auth0, escrows_left = delete_everything(w, ns, args.settle_timeout)
        if gone_after is None:
            violations.append(f"CustomDomains or the deleted Auth0Tenant still there {args.settle_timeout}s "
                              "after deleting every CustomDomain")
        if left_in_auth0:
            violations.append(f"LEAK: {len(left_in_auth0)} Auth0 domains left after every CustomDomain was deleted: "
                              f"{[d['domain'] for d in left_in_auth0][:10]}")
        if escrows_left:
            violations.append(f"{len(escrows_left)} escrow Secrets left: "
                              f"{[e['metadata']['name'] for e in escrows_left][:10]}")

        api = {k: sum(v.values()) if isinstance(v, dict) else v for k, v in counters.get("calls", {}).items()}
        print()
        print(f"chaos seed {args.seed}: {n} domains, runtime {elapsed:.0f} s (faults + settle), logs {workdir}")
        print("faults injected: " + ", ".join(f"{k} {v}" for k, v in sorted(chaos.counts.items())))
        print(f"operator runs: {w.operator_runs}; log lines scanned: {log_lines}; events scanned: {len(events)}")
        print(f"Ready {len(ready)}/{n}; CnameApiKeyLost {len(lost)} (explained by a kill {lost_explained}, "
              f"unexplained {lost_unexplained}); neither {len(neither)}")
        if lost_gaps:
            print(f"  key issued → SIGKILL for the lost keys: {', '.join(f'{g:.2f}s' for g in sorted(lost_gaps))}")
        print(f"simulator domains {len(sim_domains)}; duplicates {sum(c - 1 for c in duplicates.values())}; "
              f"keys issued {counters.get('keys_issued')}; domains created {counters.get('domains_created')}")
        print(f"recreated after a key loss (annotated domains): {len(recreated)} (explained by a kill "
              f"{recreations_explained})")
        print(f"Secret key == issued key {key_ok}; loss reported {key_reported}; SILENT losses {silent}; "
              f"unfinished (no key yet or not Ready) {unfinished}")
        print(f"secret values in logs/events/objects: {sum(leaks.values())}")
        ho = hand_overs(w.operator_logs())
        print(f"Secret-write outages: keys escrowed on a failed write {ho['escrowed on a failed write']}, "
              f"restored from escrow by a later run {ho['restored from escrow']}; handed over at graceful stops: "
              f"{ho['stops']} stops with keys in memory (in Secret {ho['in_secret']}, escrowed {ho['escrowed']}, "
              f"lost {ho['lost']})")
        if ho["lost"]:
            violations.append(f"{ho['lost']} keys lost at a graceful stop")
        issued_in_outage = (outage or {}).get("issued", 0)
        print(f"final Secret-write outage: {issued_in_outage} keys issued into it")
        if issued_in_outage and not ho["escrowed on a failed write"] and not ho["escrowed"]:
            violations.append(f"{issued_in_outage} keys were issued during the final Secret-write outage, "
                              "yet none went to the escrow")
        print(f"deleted every CustomDomain: gone with the deleted tenant after "
              f"{'never' if gone_after is None else f'{gone_after:.0f}s'}; Auth0 domains left {len(left_in_auth0)}; "
              f"escrow Secrets left {len(escrows_left)}")
        print(f"Auth0 calls: {sum(api.values())} ({', '.join(f'{k} {v}' for k, v in sorted(api.items()))})")
        print(f"429s: {counters.get('rate_limited', counters.get('too_many_requests', 'n/a'))}")
        if violations:
            print(f"\n{len(violations)} VIOLATIONS:")
            for v in violations[:50]:
                print(f"  - {v}")
            return 1
        print("\nchaos: all checks passed")
        return 0
    finally:
        w.stop()
        if os.environ.get("CHAOS_KEEP") != "1" and not violations:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
