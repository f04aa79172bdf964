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
external-dns would), so "published → Ready" is the operator's own latency.

Side by side (tests/bench/deploy_cli.py): the pinned npm auth0-deploy-cli applies the same domains
to a fresh simulator with the same limits, in the same run, after the operator's steady window;
`--only deploy-cli` runs just that part, `--only operator` skips it. Python stdlib only.
"""

import argparse
import datetime
import json
import math
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from world import ROOT, Background, World, machine_line  # noqa: E402
import deploy_cli  # noqa: E402


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def calls(counters):
    """{"METHOD /template": total} from the simulator's counters (all statuses)."""
    out = {}
    for key, by_status in counters.get("calls", {}).items():
        out[key] = sum(by_status.values()) if isinstance(by_status, dict) else by_status
    return out


def operator_kube_requests(w):
    """{"verb resource[/subresource]": count} of the operator's requests kube-sim recorded; watches
    and lists included. The operator's kube-rs client sends no User-Agent; the harness's kubectl
    and urllib do."""
    out = {}
    for r in w.kube("requests", method="GET") or []:
        if r.get("userAgent", "").startswith(("kubectl", "Python-urllib")) or not r.get("resource"):
            continue
        sub = r.get("subresource") or ""
        key = f"{r['verb']} {r['resource']}{'/' + sub if sub else ''}"
        out[key] = out.get(key, 0) + 1
    return out


def api_total(by_endpoint):
    """Management API calls (the token endpoint has its own limit and is not counted)."""
    return sum(v for k, v in by_endpoint.items() if "/oauth/" not in k)


def time_spent(timeline, applied_s, wall, rps, burst):
    """Where a run's wall time went, from (seconds, calls so far) samples taken every half second:
    kubectl apply, the wait for the first Management API call, the tenant bucket left unused while
    calls were being made (what the bucket would have allowed minus what was sent, in seconds of
    refill), and the time from the last call to all Ready."""
    made = [(t, c) for t, c in timeline if c > 0]
    if not made:
        return f"apply {applied_s:.1f} s; no Management API call"
    first = next(t for t, c in timeline if c > 0)
    # The sample before the first call bounds when it happened; take the midpoint.
    before = max((t for t, c in timeline if c == 0), default=0.0)
    first = (before + first) / 2
    total = made[-1][1]
    last = next(t for t, c in made if c == total)
    unused = max(0.0, (last - first) - (total - burst) / rps)
    return (f"apply {applied_s:.1f} s, first Auth0 call at {first:.1f} s, last at {last:.1f} s "
            f"(bucket unused for {unused:.1f} s of it), all Ready {wall - last:.1f} s after the last call")


def diff(after, before):
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


def command(args):
    """The command line that reproduces this run."""
    return (f"python3 tests/bench/bench.py --domains {args.domains} --type {args.type} --sim-rate-limit {args.sim_rate_limit} "
            f"--tenant-rate-limit {args.tenant_rate_limit} --sim-verify-limit {args.sim_verify_limit} --resync {args.resync} "
            f"--steady-seconds {args.steady_seconds} --profile {args.profile}"
            + (f" --dns-batches {args.dns_batches} --dns-batch-interval {args.dns_batch_interval:g}" if args.dns_batches > 1 else "")
            + (f" --dns-recheck-max {args.dns_recheck_max}" if args.dns_recheck_max else "")
            + (f" --only {args.only}" if args.only != "all" else "")
            + (f" --results-name {args.results_name}" if args.results_name else ""))


def finish(args, lines, workdir):
    """Prints the report and, with --write, stores it under bench/results/."""
    report = "\n".join(lines)
    print()
    print(report)
    if args.write:
        out = os.path.join(ROOT, "bench", "results")
        os.makedirs(out, exist_ok=True)
        name = args.results_name
        if not name:
            today = datetime.date.today().isoformat()
            if args.only == "deploy-cli":
                name = f"{today}-deploy-cli.md"
            else:
                name = f"{today}-{args.domains}-{args.type}{'-dns-late' if args.dns_batches > 1 else ''}.md"
        path = os.path.join(out, name)
        with open(path, "w") as f:
            f.write(report + "\n")
        log(f"wrote {path}")


# Auth0's published limits (docs/auth0-api.md#rate-limits): tenant bucket by plan, verify's own
# bucket 5/min burst 5.
PUBLISHED_PLANS = [("Free", 2.0, 2), ("public production (Self-Service / Enterprise)", 16.0, 16), ("private cloud, lowest tier", 20.0, 20)]
AUTH0_VERIFY = (5, 60.0)


def projection(n, wall, bound, steady_per_hour):
    """The run's figures carried over to Auth0's published limits: the same lower bound formula,
    plus the overhead this run measured above its own bound (DNS gate, Kubernetes writes)."""
    vn, vsecs = AUTH0_VERIFY
    out = [f"Projection to Auth0's published limits (verify {vn} per {vsecs:g} s, burst {vn}; the "
           f"measured overhead above the bound, {wall - bound:.1f} s, is added):", "",
           "| tenant bucket | lower bound for all Ready | projected wall time | steady state share of the budget |",
           "|---|---|---|---|"]
    for plan, rps, burst in PUBLISHED_PLANS:
        b = max(max(0.0, (n - vn) / (vn / vsecs)), max(0.0, (2 * n - burst) / rps))
        share = steady_per_hour / (rps * 3600) * 100
        out.append(f"| {plan}: {rps:g} rps, burst {burst} | {b / 60:.1f} min | {(b + max(0.0, wall - bound)) / 60:.1f} min "
                   f"| {share:.2f} % ({steady_per_hour:.0f} calls/h) |")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domains", type=int, default=100)
    ap.add_argument("--type", choices=["SelfManagedCerts", "Auth0ManagedCerts"], default="SelfManagedCerts")
    ap.add_argument("--sim-rate-limit", default="20:40", help="simulator tenant bucket RPS:BURST")
    ap.add_argument("--tenant-rate-limit", default="20:40", help="Auth0Tenant spec.rateLimit RPS:BURST")
    ap.add_argument("--sim-verify-limit", default="20:1", help="verify bucket COUNT:SECONDS (sim and operator)")
    ap.add_argument("--resync", default="30s", help="Auth0Tenant resyncInterval during the run")
    ap.add_argument("--steady-seconds", type=int, default=90)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--dns-batches", type=int, default=1,
                    help="DNS arrives late: publish the records of domain i only at (i*B//N)*interval seconds")
    ap.add_argument("--dns-batch-interval", type=float, default=20.0, help="seconds between DNS batches")
    ap.add_argument("--dns-recheck-max", default=None, help="operator --dns-recheck-max (default: its own, 30s)")
    ap.add_argument("--profile", default="release", choices=["release", "debug"])
    ap.add_argument("--rust-log", default="warn", help="operator RUST_LOG (logs stay with BENCH_KEEP=1)")
    ap.add_argument("--write", action="store_true", help="also write bench/results/<date>.md")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already built")
    ap.add_argument("--bin-dir", default=None, help="directory with the four binaries (default: target/<profile>)")
    ap.add_argument("--only", choices=["all", "operator", "deploy-cli"], default="all",
                    help="all: the operator, then auth0-deploy-cli side by side (default); or just one of them")
    ap.add_argument("--results-name", default=None,
                    help="file name under bench/results/ for --write (default: <date>-<N>-<type>[-dns-late].md, "
                         "or <date>-deploy-cli.md with --only deploy-cli)")
    args = ap.parse_args()
    # Timed now, before anything else runs on the machine.
    log(machine_line())

    if not args.no_build and not args.bin_dir:
        log(f"building ({args.profile})")
        build = ["cargo", "build", "--quiet"] + (["--release"] if args.profile == "release" else [])
        # The workspace root is a package, so a bare `cargo build` would skip the simulators.
        build += ["-p", "auth0-sim", "-p", "test-dns"] if args.only == "deploy-cli" else ["--workspace", "--bins"]
        subprocess.run(build, cwd=ROOT, check=True)
    if args.only != "operator":
        deploy_cli.installed_version()  # fail before the long part when it is missing

    workdir = tempfile.mkdtemp(prefix="auth0-bench-")
    w = World(args, workdir)
    try:
        if args.only == "deploy-cli":
            w.start_dns()
            theirs = deploy_cli.run(w, args, workdir)
            lines = deploy_cli.report(theirs, None, args, command(args))
            finish(args, lines, workdir)
            return 0 if theirs["first"]["rc"] == 0 else 1
        w.start()
        n = args.domains
        docs = []
        for i in range(n):
            docs.append(f"""apiVersion: auth0.domain-operator.dev/v1alpha1
kind: CustomDomain
metadata: {{name: d{i:04d}, namespace: bench}}
spec: {{domain: d{i:04d}.bench.example.com, type: {args.type}}}""")
        before_raw = w.sim("/counters")
        before = calls(before_raw)
        changes = w.watch("customdomains", "bench")
        t0 = time.monotonic()
        # Records are published while the apply still creates later domains (see `Background`).
        applies = Background([lambda: w.apply("\n---\n".join(docs))])
        applied_s = None
        timeline = []  # (seconds since t0, Management API calls so far): where the time went
        last_sample = 0
        published, ready, peak = {}, {}, {"rss_kib": 0, "hwm_kib": 0, "cpu_s": 0}
        due = {}  # records seen in status, waiting for their batch's time
        last_report = 0
        while len(ready) < n:
            if time.monotonic() - t0 > args.timeout:
                raise SystemExit(f"timeout: {len(ready)}/{n} Ready after {args.timeout}s; logs in {workdir}")
            applies.check()
            if applied_s is None and applies.finished is not None:
                applied_s = applies.finished - t0
                log(f"applied {n} CustomDomains in {applied_s:.1f} s")
            try:
                cd = changes.get(timeout=0.2)
            except queue.Empty:
                cd = None
            now = time.monotonic()
            if now - last_sample >= 0.5:
                timeline.append((now - t0, api_total(diff(calls(w.sim("/counters")), before))))
                last_sample = now
            if cd is not None:
                name = cd["metadata"]["name"]
                st = cd.get("status") or {}
                for r in (st.get("verification") or {}).get("records") or []:
                    key = (name, r["type"], r["name"], r["value"])
                    batch = int(name[1:]) * args.dns_batches // n if name[1:].isdigit() else 0
                    if key not in published:
                        due.setdefault(key, t0 + batch * args.dns_batch_interval)
                conds = {c["type"]: c["status"] for c in st.get("conditions") or []}
                if conds.get("Ready") == "True" and name not in ready:
                    ready[name] = now
            for key, at in list(due.items()):
                if now >= at:
                    w.publish(key[1], key[2], key[3])
                    published[key] = time.monotonic()
                    del due[key]
            if now - last_report > 10:
                peak = w.proc_stats()
                log(f"{len(ready)}/{n} Ready, {len(published)} records published, RSS {peak['rss_kib'] // 1024} MiB")
                last_report = now
        wall = time.monotonic() - t0
        applied_s = applies.join() - t0
        cold = w.proc_stats()
        counters = w.sim("/counters")
        cold_calls = diff(calls(counters), before)
        timeline.append((wall, api_total(cold_calls)))
        kube_writes = operator_kube_requests(w)
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
        # With DNS arriving late nothing can be verified before its record exists.
        bound = max(bound, (args.dns_batches - 1) * args.dns_batch_interval)
        per_domain = {k: v / n for k, v in sorted(cold_calls.items())}
        api_calls = api_total(cold_calls)
        steady_api = api_total(steady_calls)
        resync_s = int(args.resync.rstrip("s")) if args.resync.endswith("s") else 600
        per_hour_at_10m = steady_api / args.steady_seconds * resync_s / 600 * 3600
        too_many = counters.get("rate_limited", counters.get("too_many_requests", "n/a"))

        lines = [
            f"# auth0-domain-operator bench — {datetime.date.today().isoformat()}",
            "",
            f"Command: `{command(args)}`",
            "",
            machine_line(),
            "",
            "| measure | value |",
            "|---|---|",
            f"| domains | {n} ({args.type}) |",
            f"| limits | tenant {args.tenant_rate_limit} rps:burst, verify {args.sim_verify_limit} count:s |",
            f"| wall time to all Ready | {wall:.1f} s |",
            f"| lower bound from the limits | {bound:.1f} s (ratio {wall / bound if bound else float('nan'):.2f}) |",
            f"| DNS records | {'published as soon as status names them' if args.dns_batches <= 1 else f'{args.dns_batches} batches, {args.dns_batch_interval:g} s apart'} |",
            f"| Management API calls per domain (apply → Ready) | {api_calls / n:.2f} |",
            f"| verify calls per domain | {cold_calls.get('POST /api/v2/custom-domains/{id}/verify', 0) / n:.2f} |",
            f"| 429s sent by the simulator | {too_many} |",
            f"| where the time went | {time_spent(timeline, applied_s, wall, trps, tburst)} |",
            f"| record published → Ready p50 / p95 / max | {pct(lat, 50):.1f} / {pct(lat, 95):.1f} / {max(lat) if lat else float('nan'):.1f} s |",
            f"| steady state: calls in {args.steady_seconds} s at resync {args.resync} | {steady_api} |",
            f"| steady state projected to 1 h at resync 10m | {per_hour_at_10m:.0f} calls/h (per-object polling at 1/min: {n * 60}) |",
            f"| operator peak RSS (VmHWM) | {cold['hwm_kib'] / 1024:.1f} MiB |",
            f"| operator RSS idle after the steady window | {idle['rss_kib'] / 1024:.1f} MiB |",
            f"| operator CPU to all Ready / during steady window | {cold['cpu_s']:.2f} s / {idle['cpu_s'] - cold['cpu_s']:.2f} s |",
            f"| operator's Kubernetes requests per domain, start → Ready | {sum(kube_writes.values()) / n:.2f} "
            f"({', '.join(f'{k} {v / n:.2f}' for k, v in sorted(kube_writes.items(), key=lambda kv: -kv[1])[:6])}) |",
            "",
            "Calls per domain by endpoint (apply → Ready):",
            "",
        ] + [f"- `{k}`: {v:.2f}" for k, v in per_domain.items()] + [
            "",
            "Steady-state calls by endpoint:",
            "",
        ] + ([f"- `{k}`: {v}" for k, v in sorted(steady_calls.items())] or ["- none"]) + [
            "",
        ] + projection(n, wall, bound, per_hour_at_10m)
        rc = 0
        if args.only == "all":
            log(f"auth0-deploy-cli: the same {n} domains against a fresh simulator with the same limits")
            theirs = deploy_cli.run(w, args, workdir)
            ours = {"wall_s": wall, "calls": deploy_cli.calls_between(counters, before_raw), "cpu_s": cold["cpu_s"]}
            lines += [""] + deploy_cli.report(theirs, ours, args, None)
            rc = 0 if theirs["first"]["rc"] == 0 else 1
        finish(args, lines, workdir)
        return rc
    finally:
        w.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
