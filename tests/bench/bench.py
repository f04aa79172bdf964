#!/usr/bin/env python3
"""Measures the operator against the simulators: N CustomDomains from apply to Ready, then a
steady-state window. Prints a table (and writes it to bench/results/ with --write).

What it reports, from the Auth0 simulator's own counters and /proc:
  - wall time to all Ready, and the lower bound the run's rate limits allow;
  - Auth0 calls per domain by endpoint, 429s received;
  - time from "DNS record published" to Ready (p50/p95/max);
  - steady-state Auth0 calls over a window, projected to one hour at resyncInterval 10m;
  - operator peak RSS (VmHWM) and CPU seconds.

The DNS records are published the moment a domain's status names them (as a person or
external-dns would), so "published → Ready" is the operator's own latency. Python stdlib only.
"""

import argparse
import datetime
import json
import math
import os
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class World:
    """Starts test-dns, auth0-sim, kube-sim and the operator; stops them on exit."""

    def __init__(self, args, workdir):
        self.args = args
        self.dir = workdir
        self.procs = []
        self.bin = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), args.profile)

    def spawn(self, name, argv, env=None):
        out = open(os.path.join(self.dir, f"{name}.log"), "w")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        self.procs.append(p)
        return p

    def ready_file(self, path, what):
        for _ in range(300):
            if os.path.exists(path) and os.path.getsize(path) > 0:
                with open(path) as f:
                    text = f.read()
                try:
                    return json.loads(text)
                except ValueError:  # kube-sim writes its URL as plain text
                    return text.strip()
            time.sleep(0.1)
        raise SystemExit(f"{what} did not start; see {self.dir}")

    def start(self):
        a = self.args
        d = self.dir
        self.spawn("test-dns", [f"{self.bin}/test-dns", "--listen", "127.0.0.1:0", "--control-listen",
                                "127.0.0.1:0", "--ready-file", f"{d}/dns.json"])
        dns = self.ready_file(f"{d}/dns.json", "test-dns")
        self.dns, self.dns_control = dns["dns"], dns["control"]
        self.secret = os.urandom(12).hex()
        self.spawn("auth0-sim", [f"{self.bin}/auth0-sim", "--listen", "127.0.0.1:0", "--tls-dir", f"{d}/tls",
                                 "--client", f"bench:{self.secret}", "--tenant", "bench", "--tenant-domain",
                                 "bench.auth0.local", "--dns-server", self.dns, "--control", "--no-edge",
                                 "--rate-limit", a.sim_rate_limit, "--verify-limit", a.sim_verify_limit,
                                 "--cert-delay", "500", "--ready-file", f"{d}/auth0.json"])
        sim = self.ready_file(f"{d}/auth0.json", "auth0-sim")
        self.sim_url, self.sim_control, self.ca = sim["url"], sim["control"], sim["ca_file"]
        self.ssl = ssl.create_default_context(cafile=self.ca)
        self.spawn("kube-sim", [f"{self.bin}/kube-sim", "--listen", "127.0.0.1:0", "--kubeconfig",
                                f"{d}/kubeconfig", "--ready-file", f"{d}/kube.json"])
        self.ready_file(f"{d}/kube.json", "kube-sim")
        self.env = dict(os.environ, KUBECONFIG=f"{d}/kubeconfig")
        self.kubectl("apply", "-f", os.path.join(ROOT, "crds"))
        self.kubectl("wait", "--for=condition=Established", "crd/customdomains.auth0.domain-operator.dev")
        self.kubectl("create", "namespace", "auth0")
        self.kubectl("create", "namespace", "bench")
        self.kubectl("-n", "auth0", "create", "secret", "generic", "creds", "--from-literal=client_id=bench",
                     f"--from-literal=client_secret={self.secret}")
        rps, burst = a.tenant_rate_limit.split(":")
        self.apply(f"""
apiVersion: auth0.domain-operator.dev/v1alpha1
kind: Auth0Tenant
metadata: {{name: default}}
spec:
  domain: bench.auth0.local
  managementApiUrl: {self.sim_url}
  credentialsSecretRef: {{namespace: auth0, name: creds}}
  rateLimit: {{requestsPerSecond: {rps}, burst: {burst}}}
  resyncInterval: {a.resync}
""")
        env = dict(self.env, SSL_CERT_FILE=self.ca, RUST_LOG="warn")
        self.operator = self.spawn("operator", [f"{self.bin}/auth0-domain-operator", "--log-format", "json", "run",
                                                "--cluster-id", "bench", "--dns-nameservers", self.dns,
                                                "--metrics-addr", "127.0.0.1:0", "--concurrency",
                                                str(a.concurrency), "--verify-limit", a.sim_verify_limit], env=env)

    def kubectl(self, *argv, stdin=None):
        r = subprocess.run(["kubectl", *argv], env=self.env, input=stdin, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"kubectl {' '.join(argv)} failed: {r.stderr.strip()}")
        return r.stdout

    def apply(self, yaml):
        return self.kubectl("apply", "-f", "-", stdin=yaml)

    def sim(self, path, method="GET", body=None):
        req = urllib.request.Request(f"{self.sim_control}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, context=self.ssl, timeout=30) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def publish(self, rtype, name, value):
        req = urllib.request.Request(f"{self.dns_control}/records", method="PUT",
                                     data=json.dumps({"name": name, "type": rtype, "value": value}).encode(),
                                     headers={"content-type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()

    def proc_stats(self):
        pid = self.operator.pid
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return {
            "rss_kib": int(fields["VmRSS"].split()[0]),
            "hwm_kib": int(fields["VmHWM"].split()[0]),
            "cpu_s": (int(stat[11]) + int(stat[12])) / tick,
        }

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def calls(counters):
    """{"METHOD /template": total} from the simulator's counters (all statuses)."""
    out = {}
    for key, by_status in counters.get("calls", {}).items():
        out[key] = sum(by_status.values()) if isinstance(by_status, dict) else by_status
    return out


def diff(after, before):
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domains", type=int, default=100)
    ap.add_argument("--type", choices=["SelfManagedCerts", "Auth0ManagedCerts"], default="SelfManagedCerts")
    ap.add_argument("--sim-rate-limit", default="20:40", help="simulator tenant bucket RPS:BURST")
    ap.add_argument("--tenant-rate-limit", default="20:40", help="Auth0Tenant spec.rateLimit RPS:BURST")
    ap.add_argument("--sim-verify-limit", default="20:1", help="verify bucket COUNT:SECONDS (sim and operator)")
    ap.add_argument("--resync", default="30s", help="Auth0Tenant resyncInterval during the run")
    ap.add_argument("--steady-seconds", type=int, default=90)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--profile", default="release", choices=["release", "debug"])
    ap.add_argument("--write", action="store_true", help="also write bench/results/<date>.md")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already built")
    args = ap.parse_args()

    if not args.no_build:
        log(f"building ({args.profile})")
        build = ["cargo", "build", "--quiet", "--bins"] + (["--release"] if args.profile == "release" else [])
        subprocess.run(build, cwd=ROOT, check=True)

    workdir = tempfile.mkdtemp(prefix="auth0-bench-")
    w = World(args, workdir)
    try:
        w.start()
        n = args.domains
        docs = []
        for i in range(n):
            docs.append(f"""apiVersion: auth0.domain-operator.dev/v1alpha1
kind: CustomDomain
metadata: {{name: d{i:04d}, namespace: bench}}
spec: {{domain: d{i:04d}.bench.example.com, type: {args.type}}}""")
        before = calls(w.sim("/counters"))
        t0 = time.monotonic()
        w.apply("\n---\n".join(docs))
        log(f"applied {n} CustomDomains")
        published, ready, peak = {}, {}, {"rss_kib": 0, "hwm_kib": 0, "cpu_s": 0}
        last_report = 0
        while len(ready) < n:
            if time.monotonic() - t0 > args.timeout:
                raise SystemExit(f"timeout: {len(ready)}/{n} Ready after {args.timeout}s; logs in {workdir}")
            items = json.loads(w.kubectl("get", "customdomains", "-n", "bench", "-o", "json"))["items"]
            now = time.monotonic()
            for cd in items:
                name = cd["metadata"]["name"]
                st = cd.get("status") or {}
                for r in (st.get("verification") or {}).get("records") or []:
                    key = (name, r["type"], r["name"], r["value"])
                    if key not in published:
                        w.publish(r["type"], r["name"], r["value"])
                        published[key] = time.monotonic()
                conds = {c["type"]: c["status"] for c in st.get("conditions") or []}
                if conds.get("Ready") == "True" and name not in ready:
                    ready[name] = now
            peak = w.proc_stats()
            if now - last_report > 10:
                log(f"{len(ready)}/{n} Ready, {len(published)} records published, RSS {peak['rss_kib'] // 1024} MiB")
                last_report = now
            time.sleep(1)
        wall = time.monotonic() - t0
        cold = w.proc_stats()
        counters = w.sim("/counters")
        cold_calls = diff(calls(counters), before)
        pub_by_name = {}
        for (name, *_), at in published.items():
            pub_by_name[name] = max(pub_by_name.get(name, 0), at)
        lat = [ready[nm] - pub_by_name[nm] for nm in ready if nm in pub_by_name]

        log(f"all {n} Ready in {wall:.1f}s; steady state for {args.steady_seconds}s")
        before_steady = calls(w.sim("/counters"))
        time.sleep(args.steady_seconds)
        steady_calls = diff(calls(w.sim("/counters")), before_steady)
        idle = w.proc_stats()

        # Lower bound: every domain needs one create and one verify; verify has its own bucket.
        vn, vsecs = args.sim_verify_limit.split(":")
        verify_rate = int(vn) / float(vsecs)
        trps, tburst = (float(x) for x in args.tenant_rate_limit.split(":"))
        bound = max(max(0.0, (n - int(vn)) / verify_rate), max(0.0, (2 * n - tburst) / trps))
        per_domain = {k: v / n for k, v in sorted(cold_calls.items())}
        api_calls = sum(v for k, v in cold_calls.items() if "/oauth/" not in k)
        steady_api = sum(v for k, v in steady_calls.items() if "/oauth/" not in k)
        resync_s = int(args.resync.rstrip("s")) if args.resync.endswith("s") else 600
        per_hour_at_10m = steady_api / args.steady_seconds * resync_s / 600 * 3600
        too_many = counters.get("rate_limited", counters.get("too_many_requests", "n/a"))

        lines = [
            f"# auth0-domain-operator bench — {datetime.date.today().isoformat()}",
            "",
            f"Command: `python3 tests/bench/bench.py --domains {n} --type {args.type} --sim-rate-limit {args.sim_rate_limit} "
            f"--tenant-rate-limit {args.tenant_rate_limit} --sim-verify-limit {args.sim_verify_limit} --resync {args.resync} "
            f"--steady-seconds {args.steady_seconds} --profile {args.profile}`",
            "",
            "| measure | value |",
            "|---|---|",
            f"| domains | {n} ({args.type}) |",
            f"| limits | tenant {args.tenant_rate_limit} rps:burst, verify {args.sim_verify_limit} count:s |",
            f"| wall time to all Ready | {wall:.1f} s |",
            f"| lower bound from the limits | {bound:.1f} s (ratio {wall / bound if bound else float('nan'):.2f}) |",
            f"| Management API calls per domain (apply → Ready) | {api_calls / n:.2f} |",
            f"| 429s sent by the simulator | {too_many} |",
            f"| record published → Ready p50 / p95 / max | {pct(lat, 50):.1f} / {pct(lat, 95):.1f} / {max(lat) if lat else float('nan'):.1f} s |",
            f"| steady state: calls in {args.steady_seconds} s at resync {args.resync} | {steady_api} |",
            f"| steady state projected to 1 h at resync 10m | {per_hour_at_10m:.0f} calls/h (per-object polling at 1/min: {n * 60}) |",
            f"| operator peak RSS (VmHWM) | {cold['hwm_kib'] / 1024:.1f} MiB |",
            f"| operator CPU to all Ready / during steady window | {cold['cpu_s']:.2f} s / {idle['cpu_s'] - cold['cpu_s']:.2f} s |",
            "",
            "Calls per domain by endpoint (apply → Ready):",
            "",
        ] + [f"- `{k}`: {v:.2f}" for k, v in per_domain.items()] + [
            "",
            "Steady-state calls by endpoint:",
            "",
        ] + ([f"- `{k}`: {v}" for k, v in sorted(steady_calls.items())] or ["- none"])
        report = "\n".join(lines)
        print()
        print(report)
        if args.write:
            out = os.path.join(ROOT, "bench", "results")
            os.makedirs(out, exist_ok=True)
            path = os.path.join(out, f"{datetime.date.today().isoformat()}-{n}-{args.type}.md")
            with open(path, "w") as f:
                f.write(report + "\n")
            log(f"wrote {path}")
    finally:
        w.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
