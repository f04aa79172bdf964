#!/usr/bin/env python3
"""Scale and real-limit benchmarks of issue 17, against the simulators (never part of `make test`).

Modes:
  tenants       N simulator tenants x M domains in one operator: each tenant's wall time against
                its own lower bound, all at once; then the same with tenant 0 in a 429 storm, to
                measure how much the others are delayed. Operator RSS/CPU, kube-sim RSS, steady-state
                calls per hour per tenant.
  free-tier     M self-managed domains at Auth0's Free-tier limits (2 req/s burst 2, verify 5 per
                minute): ratio to the bound, 429s, and the verify ETA each status showed
                (status.verification.verifyExpectedAt) against the real Ready time.
  two-clusters  Two operators (two kube-sims, --cluster-id c1 / c2), each given the tenant's whole
                budget, sharing one simulator tenant: 429s after the first second (counted from
                the first create, and from the later cluster's first domain), and whether either
                touched the other's domains.
  at-once       One tenant, M domains, every record published as soon as a status names it: ratio to
                the bound and record published -> Ready p95 (target 1's throughput half).
  dns-late      One tenant, M domains, records published in batches: ratio and record-visible ->
                Ready p95 in the same run (target 1).
  all           every mode above.

`--repeat N` runs a mode N times and prints the median and spread of its main figures. Each mode
writes bench/results/<date>-<mode>.md. Timing never fails the run.
"""

import argparse
import datetime
import json
import os
import queue
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench import calls, diff, pct  # noqa: E402
from world import ROOT, Background, World, machine_line, run_kubectl  # noqa: E402

VERIFY_KEY = "POST /api/v2/custom-domains/{id}/verify"
# auth0-sim's default custom-domain entitlement (`--max-domains`), Auth0's own per-tenant maximum.
SIM_ENTITLEMENT = 1000
CREATE_KEY = "POST /api/v2/custom-domains"


def log(msg):
    print(f"[scale {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def proc_stats(pid):
    """RSS, peak RSS and CPU seconds of a process from /proc."""
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return {"rss_kib": int(fields["VmRSS"].split()[0]), "hwm_kib": int(fields["VmHWM"].split()[0]),
            "cpu_s": (int(stat[11]) + int(stat[12])) / tick}


def bound_of(n, tenant_limit, verify_limit, full_verify_burst=True):
    """Lower bound (s) for n domains: one create and one verify each. Verify has its own bucket; with
    `full_verify_burst=False` it starts empty (the operator's choice after a start)."""
    vn, vsecs = verify_limit.split(":")
    rate = int(vn) / float(vsecs)
    trps, tburst = (float(x) for x in tenant_limit.split(":"))
    verify = (n - int(vn)) / rate if full_verify_burst else n / rate
    return max(0.0, verify, (2 * n - tburst) / trps)


def ratio(wall, bound):
    """wall / bound; NaN when the bound is 0 (a run small enough to fit in the bursts)."""
    return wall / bound if bound > 0 else float("nan")


def rfc3339(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


class Cluster:
    """One kube-sim with the CRDs, an operator namespace with the credentials, and (later) one
    operator run with its own --cluster-id."""

    def __init__(self, world, name, cluster_id):
        self.w, self.name, self.cluster_id = world, name, cluster_id
        d = world.dir
        self.kube = world.spawn(f"kube-sim-{name}", [f"{world.bin}/kube-sim", "--listen", "127.0.0.1:0",
                                                      "--kubeconfig", f"{d}/kubeconfig-{name}",
                                                      "--ready-file", f"{d}/kube-{name}.json"])
        world.ready_file(f"{d}/kube-{name}.json", f"kube-sim {name}")
        self.env = dict(os.environ, KUBECONFIG=f"{d}/kubeconfig-{name}")
        self.kubectl("apply", "-f", os.path.join(ROOT, "crds"))
        self.kubectl("wait", "--for=condition=Established", "crd/customdomains.auth0.domain-operator.dev")
        self.kubectl("create", "namespace", "auth0")
        self.kubectl("-n", "auth0", "create", "secret", "generic", "creds", "--from-literal=client_id=bench",
                     f"--from-literal=client_secret={world.secret}")
        self.operator = None

    def kubectl(self, *argv, stdin=None):
        return run_kubectl(self.env, *argv, stdin=stdin)

    def apply(self, yaml):
        return self.kubectl("apply", "-f", "-", stdin=yaml)

    def tenant(self, name, domain, url, rate, resync):
        rps, burst = rate.split(":")
        self.apply(f"""
apiVersion: auth0.domain-operator.dev/v1alpha1
kind: Auth0Tenant
metadata: {{name: {name}}}
spec:
  domain: {domain}
  managementApiUrl: {url}
  credentialsSecretRef: {{namespace: auth0, name: creds}}
  rateLimit: {{requestsPerSecond: {rps}, burst: {burst}}}
  resyncInterval: {resync}
""")

    def domains(self, ns, tenant, names_domains, dtype="SelfManagedCerts"):
        self.kubectl("create", "namespace", ns)
        docs = [f"""apiVersion: auth0.domain-operator.dev/v1alpha1
kind: CustomDomain
metadata: {{name: {name}, namespace: {ns}}}
spec: {{domain: {domain}, type: {dtype}, tenantRef: {{name: {tenant}}}}}""" for name, domain in names_domains]
        # kubectl apply in chunks: one huge document list is slow to parse. Server-side apply (as
        # GitOps tools do it) sends one request per object instead of a read and a create.
        flags = ["--server-side", "--field-manager=bench"] if self.w.args.server_side else []
        for i in range(0, len(docs), 500):
            self.kubectl("apply", *flags, "-f", "-", stdin="\n---\n".join(docs[i:i + 500]))

    def start_operator(self, args, verify_limit):
        w = self.w
        env = dict(self.env, SSL_CERT_FILE=w.ca, RUST_LOG=getattr(args, "rust_log", "warn"), POD_NAMESPACE="auth0")
        argv = [f"{w.bin}/auth0-domain-operator", "--log-format", "json", "run", "--cluster-id", self.cluster_id,
                "--dns-nameservers", w.dns, "--metrics-addr", "127.0.0.1:0", "--concurrency",
                str(args.concurrency), "--verify-limit", verify_limit, "--extra-tenant-domain-suffix",
                "auth0.local", "--allow-custom-api-url", "--credentials-namespace", "auth0"]
        if args.dns_recheck_max:
            argv += ["--dns-recheck-max", args.dns_recheck_max]
        self.operator = w.spawn(f"operator-{self.name}", argv, env=env)

    def watch(self):
        """Every CustomDomain change in every namespace of this cluster, as objects, in the background."""
        return self.w.watch("customdomains", None, env=self.env)


class Tracker:
    """Follows CustomDomains to Ready: publishes each record the status names (at once, or at its
    batch's time), remembers when each became Ready and the verify ETA statuses showed."""

    def __init__(self, world, batches=1, batch_interval=0.0, batch_of=None):
        self.w = world
        self.batches, self.interval = batches, batch_interval
        self.batch_of = batch_of or (lambda key: 0)
        self.published, self.due, self.ready, self.eta = {}, {}, {}, {}
        self.t0 = time.monotonic()
        self.wall0 = time.time()

    def feed(self, cd):
        key = (cd["metadata"]["namespace"], cd["metadata"]["name"])
        st = cd.get("status") or {}
        ver = st.get("verification") or {}
        for r in ver.get("records") or []:
            rk = (key, r["type"], r["name"], r["value"])
            if rk not in self.published:
                self.due.setdefault(rk, self.t0 + self.batch_of(key) * self.interval)
        if ver.get("verifyExpectedAt") and key not in self.eta:
            # The first ETA shown, with when it was shown (wall clock, as the ETA is).
            self.eta[key] = (time.time(), rfc3339(ver["verifyExpectedAt"]))
        conds = {c["type"]: c["status"] for c in st.get("conditions") or []}
        if conds.get("Ready") == "True" and key not in self.ready:
            self.ready[key] = (time.monotonic(), time.time())

    def publish_due(self):
        now = time.monotonic()
        for rk, at in list(self.due.items()):
            if now >= at:
                self.w.publish(rk[1], rk[2], rk[3])
                self.published[rk] = time.monotonic()
                del self.due[rk]

    def run(self, changes, want, timeout, on_tick=None, applies=None):
        """Until `want` domains are Ready; `applies` (a `Background`) still creating them meanwhile."""
        last = 0
        while len(self.ready) < want:
            if time.monotonic() - self.t0 > timeout:
                raise SystemExit(f"timeout: {len(self.ready)}/{want} Ready after {timeout}s; logs in {self.w.dir}")
            if applies is not None:
                applies.check()
            try:
                self.feed(changes.get(timeout=0.2))
            except queue.Empty:
                pass
            self.publish_due()
            if time.monotonic() - last > 10:
                last = time.monotonic()
                log(f"{len(self.ready)}/{want} Ready, {len(self.published)} records published")
                if on_tick:
                    on_tick()

    def record_to_ready(self):
        pub = {}
        for (key, *_), at in self.published.items():
            pub[key] = max(pub.get(key, 0), at)
        return [self.ready[k][0] - pub[k] for k in self.ready if k in pub]


def new_world(args, workdir):
    w = World(args, workdir)
    w.start_dns()
    w.secret = os.urandom(12).hex()
    return w


def start_sim(w, name, tenant_domain, rate, verify):
    a = w.args
    a.sim_rate_limit, a.sim_verify_limit = rate, verify
    sim = w.start_auth0_sim(name, w.secret, tenant_domain=tenant_domain)
    w.ca = sim["ca_file"]
    import ssl
    w.ssl = ssl.create_default_context(cafile=w.ca)
    return sim


def sim_get(w, sim, path, method="GET", body=None):
    w.sim_control = sim["control"]
    return w.sim(path, method, body)


def domain_batch(n, batches):
    return lambda key: int(key[1][1:]) * batches // n if batches > 1 else 0


# ---------------------------------------------------------------------------------------------- modes

def mode_tenants(args, workdir, storm):
    w = new_world(args, workdir)
    try:
        n_t, m = args.tenants, args.domains
        sims = [start_sim(w, f"sim{i}", f"t{i}.auth0.local", args.sim_rate_limit, args.sim_verify_limit)
                for i in range(n_t)]
        c = Cluster(w, "main", "bench")
        for i, sim in enumerate(sims):
            c.tenant(f"t{i}", f"t{i}.auth0.local", sim["url"], args.tenant_rate_limit, args.resync)
        c.start_operator(args, args.sim_verify_limit)
        time.sleep(1)
        before = [calls(sim_get(w, s, "/counters")) for s in sims]
        if storm:
            # Tenant 0 answers 429 to everything for the first half of the expected run.
            storm_s = bound_of(m, args.tenant_rate_limit, args.sim_verify_limit) / 2
            sim_get(w, sims[0], "/storm", "POST", {"seconds": storm_s})
        tr = Tracker(w)
        changes = c.watch()
        # Every tenant's domains applied at once (one kubectl per tenant), each tenant's wall time
        # counted from the start of its own apply: a platform's teams do not wait for each other.
        started = {}

        def apply_tenant(i):
            started[f"t{i}"] = time.monotonic()
            c.domains(f"t{i}", f"t{i}", [(f"d{j:04d}", f"d{j:04d}.t{i}.example.com") for j in range(m)])

        # The records of the domains already created are published while the rest still arrive.
        kubectl_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        applies = Background([lambda i=i: apply_tenant(i) for i in range(n_t)])
        peak = {"op": 0, "kube": 0}

        def tick():
            peak["op"] = max(peak["op"], proc_stats(c.operator.pid)["rss_kib"])
            peak["kube"] = max(peak["kube"], proc_stats(c.kube.pid)["rss_kib"])

        tr.run(changes, n_t * m, args.timeout, tick, applies)
        tick()
        applied_s = applies.join() - tr.t0
        # Only the applies ended meanwhile (the simulators, kube-sim and the watch still run).
        kubectl_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        kubectl_cpu = (kubectl_after.ru_utime + kubectl_after.ru_stime
                       - kubectl_before.ru_utime - kubectl_before.ru_stime)
        log(f"applied {n_t} x {m} CustomDomains in {applied_s:.1f} s"
            f"{' (tenant 0 in a 429 storm)' if storm else ''}")
        wall = {}
        for (ns, _), (mono, _) in tr.ready.items():
            wall[ns] = max(wall.get(ns, 0), mono - started.get(ns, tr.t0))
        op, kube = proc_stats(c.operator.pid), proc_stats(c.kube.pid)
        counters = [sim_get(w, s, "/counters") for s in sims]
        cold = [diff(calls(k), b) for k, b in zip(counters, before)]
        log(f"all Ready; steady state for {args.steady_seconds}s")
        b2 = [calls(sim_get(w, s, "/counters")) for s in sims]
        time.sleep(args.steady_seconds)
        steady = [sum(v for k, v in diff(calls(sim_get(w, s, "/counters")), b).items() if "/oauth/" not in k)
                  for s, b in zip(sims, b2)]
        resync_s = int(args.resync.rstrip("s")) if args.resync.endswith("s") else 600
        bound = bound_of(m, args.tenant_rate_limit, args.sim_verify_limit)
        return {
            "wall": [wall.get(f"t{i}", float("nan")) for i in range(n_t)],
            "bound": bound,
            "ratio": [ratio(wall.get(f"t{i}", float("nan")), bound) for i in range(n_t)],
            "calls_per_domain": [sum(v for k, v in cc.items() if "/oauth/" not in k) / m for cc in cold],
            "429": [k.get("rate_limited", 0) for k in counters],
            "op_hwm_mib": op["hwm_kib"] / 1024, "op_cpu_s": op["cpu_s"],
            "kube_rss_mib": max(peak["kube"], kube["rss_kib"]) / 1024, "kube_hwm_mib": kube["hwm_kib"] / 1024,
            "kube_cpu_s": kube["cpu_s"], "apply_all_s": applied_s, "kubectl_cpu_s": kubectl_cpu,
            "steady_per_hour_10m": [s / args.steady_seconds * resync_s / 600 * 3600 for s in steady],
            "p95": pct(tr.record_to_ready(), 95),
        }
    finally:
        w.stop()


def mode_free_tier(args, workdir):
    w = new_world(args, workdir)
    rate, verify = "2:2", "5:60"
    try:
        sim = start_sim(w, "sim", "free.auth0.local", rate, verify)
        c = Cluster(w, "main", "bench")
        c.tenant("free", "free.auth0.local", sim["url"], rate, "10m")
        c.start_operator(args, verify)
        time.sleep(1)
        tr = Tracker(w)
        changes = c.watch()
        m = args.free_domains
        applies = Background([lambda: c.domains("free", "free", [(f"d{j:04d}", f"d{j:04d}.free.example.com")
                                                                   for j in range(m)])])
        log(f"applying {m} CustomDomains at the Free tier's limits")
        tr.run(changes, m, max(args.timeout, m * 12 * 2 + 120), applies=applies)
        applies.join()
        wall = max(mono for mono, _ in tr.ready.values()) - tr.t0
        counters = sim_get(w, sim, "/counters")
        errs = []
        for key, (shown, eta) in tr.eta.items():
            if key in tr.ready:
                real = tr.ready[key][1]
                errs.append(abs(real - eta) / max(real - shown, 1.0))
        within = sum(1 for e in errs if e <= 0.10)
        b_full = bound_of(m, rate, verify, True)
        b_empty = bound_of(m, rate, verify, False)
        return {"wall": wall, "bound": b_full, "ratio": ratio(wall, b_full), "bound_empty": b_empty,
                "ratio_empty": ratio(wall, b_empty), "429": counters.get("rate_limited", 0),
                "eta_shown": len(errs), "eta_within_10pct": within,
                "eta_err_p50": pct(errs, 50), "eta_err_max": max(errs) if errs else float("nan"), "domains": m}
    finally:
        w.stop()


def creates_sent(counters):
    """POST /custom-domains calls the simulator has answered, whatever the status."""
    by_status = counters.get("calls", {}).get(CREATE_KEY, {})
    return sum(by_status.values()) if isinstance(by_status, dict) else by_status


def owner_of(domain):
    """The `k8s_owner` marker (`cluster/namespace/name`) of a domain in the sim's list."""
    return ((domain.get("stored") or {}).get("domain_metadata") or {}).get("k8s_owner", "")


def mode_two_clusters(args, workdir):
    w = new_world(args, workdir)
    try:
        sim = start_sim(w, "sim", "shared.auth0.local", args.sim_rate_limit, args.sim_verify_limit)
        clusters = [Cluster(w, f"c{i}", f"c{i}") for i in (1, 2)]
        # Both clusters' domains live in the one tenant, which holds at most SIM_ENTITLEMENT: more
        # would be refused (409) and stall, so each cluster gets half of it at most.
        m = min(args.domains, SIM_ENTITLEMENT // 2)
        if m < args.domains:
            log(f"two clusters share one tenant of at most {SIM_ENTITLEMENT} domains: {m} per cluster")
        for c in clusters:
            # Each operator is given the tenant's whole budget.
            c.tenant("shared", "shared.auth0.local", sim["url"], args.tenant_rate_limit, args.resync)
        before = sim_get(w, sim, "/counters").get("rate_limited", 0)
        for c in clusters:
            c.start_operator(args, args.sim_verify_limit)
        trackers, watches = [], []
        for c in clusters:
            trackers.append(Tracker(w))
            watches.append(c.watch())
        t0 = time.monotonic()
        applies = Background([lambda c=c: c.domains("apps", "shared", [(f"d{j:04d}", f"d{j:04d}.{c.name}.example.com")
                                                                      for j in range(m)]) for c in clusters])
        log(f"applying {m} CustomDomains in each of 2 clusters")
        # "The first second" starts at the first create, not at the apply: the operators take a
        # few seconds to see their tenants.
        first_call = None
        first_second = None
        # The tenant is shared once both operators spend it: "after the first second" is also
        # reported from the later cluster's first domain (the sim's list names each owner;
        # read only until both appear, while it is short).
        both_started = None
        both_second = None
        done = [False, False]
        while not all(done):
            if time.monotonic() - t0 > args.timeout:
                raise SystemExit(f"timeout; logs in {workdir}")
            applies.check()
            for i, (tr, ch) in enumerate(zip(trackers, watches)):
                try:
                    while True:
                        tr.feed(ch.get_nowait())
                except queue.Empty:
                    pass
                tr.publish_due()
                done[i] = len(tr.ready) >= m
            if first_call is None and creates_sent(sim_get(w, sim, "/counters")):
                first_call = time.monotonic()
            if first_second is None and first_call is not None and time.monotonic() - first_call >= 1.0:
                first_second = sim_get(w, sim, "/counters").get("rate_limited", 0)
            if both_started is None and first_call is not None:
                owners = {owner_of(d).split("/")[0] for d in sim_get(w, sim, "/domains")}
                if all(c.name in owners for c in clusters):
                    both_started = time.monotonic()
            if both_second is None and both_started is not None and time.monotonic() - both_started >= 1.0:
                both_second = sim_get(w, sim, "/counters").get("rate_limited", 0)
            time.sleep(0.1)
        wall = time.monotonic() - t0
        applies.join()
        total = sim_get(w, sim, "/counters").get("rate_limited", 0)
        # Who owns what: every Auth0 domain's marker names the cluster whose name it carries.
        crossed = 0
        for d in sim_get(w, sim, "/domains"):
            owner = owner_of(d)
            cluster = d["domain"].split(".")[1]
            if not owner.startswith(f"{cluster}/"):
                crossed += 1
        bound = bound_of(2 * m, args.sim_rate_limit, args.sim_verify_limit)
        return {"wall": wall, "bound": bound, "ratio": ratio(wall, bound), "429_total": total - before,
                "429_first_second": (first_second or 0) - before, "429_after_first_second": total - (first_second or 0),
                "later_start_s": (both_started or first_call or t0) - (first_call or t0),
                "429_after_both_first_second": total - (both_second or 0),
                "crossed": crossed, "domains": 2 * m}
    finally:
        w.stop()


def mode_dns_late(args, workdir):
    w = new_world(args, workdir)
    try:
        sim = start_sim(w, "sim", "late.auth0.local", args.sim_rate_limit, args.sim_verify_limit)
        c = Cluster(w, "main", "bench")
        c.tenant("late", "late.auth0.local", sim["url"], args.tenant_rate_limit, args.resync)
        c.start_operator(args, args.sim_verify_limit)
        time.sleep(1)
        m = args.domains
        tr = Tracker(w, args.dns_batches, args.dns_batch_interval, domain_batch(m, args.dns_batches))
        changes = c.watch()
        before = sim_get(w, sim, "/counters")
        applies = Background([lambda: c.domains("late", "late", [(f"d{j:04d}", f"d{j:04d}.late.example.com")
                                                                   for j in range(m)])])
        tr.run(changes, m, args.timeout, applies=applies)
        applies.join()
        wall = max(mono for mono, _ in tr.ready.values()) - tr.t0
        after = sim_get(w, sim, "/counters")
        cold = diff(calls(after), calls(before))
        bound = max(bound_of(m, args.tenant_rate_limit, args.sim_verify_limit),
                    (args.dns_batches - 1) * args.dns_batch_interval)
        lat = tr.record_to_ready()
        return {"wall": wall, "bound": bound, "ratio": ratio(wall, bound), "p50": pct(lat, 50), "p95": pct(lat, 95),
                "verify_per_domain": cold.get(VERIFY_KEY, 0) / m,
                "calls_per_domain": sum(v for k, v in cold.items() if "/oauth/" not in k) / m,
                "429": after.get("rate_limited", 0) - before.get("rate_limited", 0), "domains": m}
    finally:
        w.stop()


# ------------------------------------------------------------------------------------------- reports

def spread(values):
    vals = [v for v in values if v == v]  # drop NaN
    if not vals:
        return "n/a"
    if len(vals) == 1:
        return f"{vals[0]:.2f} (1 run)"
    return f"median {statistics.median(vals):.2f}, min {min(vals):.2f}, max {max(vals):.2f} ({len(vals)} runs)"


def limits_line(args, mode):
    if mode == "free-tier":
        return "Auth0's Free tier: tenant 2 requests/s burst 2 (simulator and Auth0Tenant), verify 5 per 60 s"
    return (f"simulator tenant bucket {args.sim_rate_limit} rps:burst, Auth0Tenant rateLimit {args.tenant_rate_limit}, "
            f"verify {args.sim_verify_limit} count:s")


def report(args, mode, runs, extra=None):
    cmd = "python3 tests/bench/scale.py " + " ".join(sys.argv[1:])
    lines = [f"# auth0-domain-operator scale bench — {mode} — {datetime.date.today().isoformat()}", "",
             f"Command: `{cmd}`", "", f"Limits: {limits_line(args, mode)}. Build: {args.profile}.", "", machine_line(), "",
             "| measure | value |", "|---|---|"]
    keys = [k for k in runs[0] if k not in ("domains",)]
    for k in keys:
        v0 = runs[0][k]
        if isinstance(v0, list):
            per = [statistics.median([r[k][i] for r in runs]) for i in range(len(v0))]
            lines.append(f"| {k} (per tenant, median over runs) | {', '.join(f'{x:.2f}' for x in per)} |")
            lines.append(f"| {k} (all tenants, all runs) | {spread([x for r in runs for x in r[k]])} |")
        else:
            lines.append(f"| {k} | {spread([r[k] for r in runs])} |")
    if extra:
        lines += [""] + extra
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    path = os.path.join(ROOT, "bench", "results", f"{datetime.date.today().isoformat()}-{mode}{args.tag}.md")
    with open(path, "w") as f:
        f.write(text)
    log(f"wrote {os.path.relpath(path, ROOT)}")


def repeated(args, fn):
    runs = []
    for i in range(args.repeat):
        workdir = tempfile.mkdtemp(prefix="auth0-scale-")
        try:
            log(f"run {i + 1}/{args.repeat}")
            runs.append(fn(workdir))
            log(json.dumps(runs[-1]))
        finally:
            if os.environ.get("BENCH_KEEP") != "1":
                shutil.rmtree(workdir, ignore_errors=True)
    return runs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["tenants", "free-tier", "two-clusters", "at-once", "dns-late", "all"], default="all")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--tenants", type=int, default=10)
    ap.add_argument("--domains", type=int, default=1000, help="domains per tenant (per cluster in two-clusters)")
    ap.add_argument("--free-domains", type=int, default=60)
    ap.add_argument("--sim-rate-limit", default="20:40")
    ap.add_argument("--tenant-rate-limit", default="20:40")
    ap.add_argument("--sim-verify-limit", default="20:1")
    ap.add_argument("--resync", default="30s")
    ap.add_argument("--steady-seconds", type=int, default=60)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--timeout", type=int, default=3600)
    ap.add_argument("--dns-batches", type=int, default=5)
    ap.add_argument("--dns-batch-interval", type=float, default=30.0)
    ap.add_argument("--dns-recheck-max", default=None)
    ap.add_argument("--rust-log", default="warn", help="operator RUST_LOG (logs stay with BENCH_KEEP=1)")
    ap.add_argument("--tag", default="", help="suffix of the results file name (e.g. -at-once)")
    ap.add_argument("--no-storm", action="store_true", help="tenants: skip the 429-storm run")
    ap.add_argument("--server-side", action="store_true",
                    help="apply the CustomDomains with kubectl apply --server-side (as GitOps tools do)")
    ap.add_argument("--profile", default="release", choices=["release", "debug"])
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--bin-dir", default=None)
    args = ap.parse_args()
    # Timed now, before anything else runs on the machine.
    log(machine_line())
    if not args.no_build and not args.bin_dir:
        log(f"building ({args.profile})")
        build = ["cargo", "build", "--quiet", "--workspace", "--bins"] + (["--release"] if args.profile == "release" else [])
        subprocess.run(build, cwd=ROOT, check=True)
    modes = ["at-once", "dns-late", "tenants", "two-clusters", "free-tier"] if args.mode == "all" else [args.mode]
    for mode in modes:
        log(f"mode {mode}")
        if mode == "tenants":
            calm = repeated(args, lambda d: mode_tenants(args, d, storm=False))
            extra = []
            if not args.no_storm:
                stormy = repeated(args, lambda d: mode_tenants(args, d, storm=True))
                base = statistics.median([x for r in calm for x in r["wall"][1:]])
                hit = statistics.median([x for r in stormy for x in r["wall"][1:]])
                extra = ["Tenant 0 in a 429 storm (half the bound), tenants 1.. measured:", "",
                         f"- their wall time, median: {base:.1f} s calm, {hit:.1f} s with the storm: "
                         f"{(hit / base - 1) * 100:+.1f} %",
                         f"- storm runs: {json.dumps(stormy)}"]
            report(args, mode, calm, extra)
        elif mode == "free-tier":
            report(args, mode, repeated(args, lambda d: mode_free_tier(args, d)))
        elif mode == "two-clusters":
            report(args, mode, repeated(args, lambda d: mode_two_clusters(args, d)))
        elif mode == "dns-late":
            report(args, mode, repeated(args, lambda d: mode_dns_late(args, d)))
        elif mode == "at-once":
            once = argparse.Namespace(**{**vars(args), "dns_batches": 1})
            report(once, mode, repeated(once, lambda d: mode_dns_late(once, d)))
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
