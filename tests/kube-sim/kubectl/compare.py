#!/usr/bin/env python3
"""kube-sim held to the real kube-apiserver: `make test-kubectl-compare`.

Runs the kubectl command sequence of tests/kube-sim/kubectl/run.sh twice with the same kubectl
(the one of tests/kube-real's release unless KUBECTL is set): once against kube-sim (run.sh starts
it), once against a real kube-apiserver (tests/kube-real/start.sh, admin kubeconfig; stopped at
the end). Each kubectl call's stdout, stderr and exit code are recorded (KUBECTL_RECORD_DIR),
normalised for what legitimately differs between two servers and two runs (uids, timestamps,
resourceVersions, ages, server URLs, temporary paths, table column widths) and compared line by
line. Every difference must be listed in known-differences.md (check description + stream) with
its reason; an unlisted difference, or a listed one that no longer occurs, fails the run.

  tests/kube-sim/kubectl/compare.py [--keep DIR] [--show-known] [--no-known]
    --keep DIR    write the recordings and the normalised outputs to DIR (default: a temp dir,
                  deleted unless the comparison fails)
    --show-known  also print the diffs of the listed (known) differences
    --no-known    ignore known-differences.md (prints every difference: the raw diff count)
"""
import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
KNOWN = os.path.join(HERE, "known-differences.md")
STREAMS = ("rc", "stdout", "stderr")


def load_known(path):
    """Rows of the table in known-differences.md: | `check` | streams | reason |."""
    known = {}
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^\|\s*`([^`]+)`\s*\|\s*([a-z, ]+?)\s*\|\s*(.+?)\s*\|\s*$", line)
        if not m:
            continue
        for stream in re.split(r"[ ,]+", m.group(2)):
            if stream not in STREAMS:
                sys.exit(f"compare: {path}: unknown stream {stream!r} for {m.group(1)!r}")
            known[(m.group(1), stream)] = m.group(3)
    return known


def load_recording(d):
    """[(check, args, {stream: text})] in run order; repeated check names get #2, #3."""
    out, seen = [], {}
    for name in sorted(f for f in os.listdir(d) if f.endswith(".desc")):
        n = name[: -len(".desc")]
        desc = open(os.path.join(d, name)).read().strip()
        seen[desc] = seen.get(desc, 0) + 1
        if seen[desc] > 1:
            desc = f"{desc} #{seen[desc]}"
        args_file = os.path.join(d, n + ".args")
        args = open(args_file).read().strip() if os.path.exists(args_file) else "(background command)"
        streams = {
            "rc": open(os.path.join(d, n + ".rc")).read(),
            "stdout": open(os.path.join(d, n + ".out"), errors="replace").read(),
            "stderr": open(os.path.join(d, n + ".err"), errors="replace").read(),
        }
        out.append((desc, args, streams))
    return out


UID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?\b")
RV = re.compile(r'((?:"resourceVersion"|resourceVersion):\s*)"?\d+"?')
RV_TEXT = re.compile(r"((?:resourceVersion[= ])|(?:Resource Version:\s+))\d+")
AGE = re.compile(r"(?<![\w.:/-])(\d+d)?(\d+h)?(\d+m)?(\d+s)?(?![\w.:/-])")
URL = re.compile(r"https://127\.0\.0\.1:\d+")
SPACES = re.compile(r" {2,}")
# Events a real API server writes about its own objects when its repair loops run (e.g.
# `ClusterIPNotAllocated` on service/kubernetes shortly after start): their timing is the server's,
# not the test's, so a `get events` may or may not list them.
SERVER_OWN_EVENT = re.compile(r"\s(service|endpoints|endpointslice\.discovery\.k8s\.io)/kubernetes\s")


def age(m):
    return "<age>" if m.group(0) and any(m.groups()) else m.group(0)


def normalise(text, work, server):
    if work:
        text = text.replace(work, "<work>")
    if server:
        text = text.replace(server, "<server>")
    text = URL.sub("<server>", text)
    text = UID.sub("<uid>", text)
    text = TIME.sub("<time>", text)
    text = RV.sub(r"\1<rv>", text)
    text = RV_TEXT.sub(r"\1<rv>", text)
    lines = []
    for line in text.splitlines():
        if SERVER_OWN_EVENT.search(line):
            continue
        line = AGE.sub(age, line)
        # Table columns are as wide as their widest cell: ages and names of other widths shift them.
        line = SPACES.sub("  ", line.rstrip())
        lines.append(line)
    return lines


def run_sequence(label, env_extra, record, log):
    env = dict(os.environ, **env_extra, KUBECTL_RECORD_DIR=record)
    t0 = time.time()
    with open(log, "w") as f:
        rc = subprocess.call(["bash", os.path.join(HERE, "run.sh")], env=env, stdout=f, stderr=subprocess.STDOUT)
    summary = ""
    for line in open(log):
        if line.startswith("kubectl conformance:"):
            summary = line.strip()
    print(f"compare: {label}: {time.time() - t0:.0f} s, run.sh's own checks: {summary or 'no summary'} (rc {rc})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep")
    ap.add_argument("--show-known", action="store_true")
    ap.add_argument("--no-known", action="store_true")
    args = ap.parse_args()

    t0 = time.time()
    bindir = subprocess.check_output(["bash", os.path.join(ROOT, ".ci/deps-kube-real.sh"), "--print-dir"], text=True).strip()
    kubectl = os.environ.get("KUBECTL") or os.path.join(bindir, "kubectl")
    work = args.keep or tempfile.mkdtemp(prefix="kubectl-compare.")
    if args.keep:
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    cluster = os.path.join(work, "kube-real")
    sim_rec, real_rec = os.path.join(work, "sim"), os.path.join(work, "real")

    # kube-sim is built first (run.sh builds it; no second cargo build beside the real server's start).
    subprocess.check_call(["cargo", "build", "--quiet", "-p", "kube-sim", "--bin", "kube-sim"], cwd=ROOT)
    subprocess.check_call(["bash", os.path.join(ROOT, "tests/kube-real/start.sh"), cluster], stdout=subprocess.DEVNULL)
    try:
        admin = os.path.join(cluster, "admin.kubeconfig")
        kreal = [kubectl, "--kubeconfig", admin]
        subprocess.check_call(kreal + ["apply", "-f", os.path.join(HERE, "fixtures/monitoring-crds.yaml")], stdout=subprocess.DEVNULL)
        # Retried: a just-created CRD is served for a moment without status.conditions, and
        # kubectl wait then fails at once instead of waiting.
        wait = kreal + ["wait", "--for=condition=Established", "--timeout=30s",
                        "crd/servicemonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com"]
        for _ in range(20):
            if subprocess.call(wait, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
                break
            time.sleep(0.25)
        subprocess.check_call(wait, stdout=subprocess.DEVNULL)
        # Both sequences at once: each has its own server, namespaces and temp dir.
        threads = [
            threading.Thread(target=run_sequence, args=("kube-sim", {"KUBECTL": kubectl}, sim_rec, os.path.join(work, "sim.log"))),
            threading.Thread(target=run_sequence, args=("kube-apiserver", {"KUBECTL": kubectl, "KUBECTL_SERVER_KUBECONFIG": admin}, real_rec, os.path.join(work, "real.log"))),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        subprocess.call(["bash", os.path.join(ROOT, "tests/kube-real/stop.sh"), cluster])

    def meta(d, f):
        p = os.path.join(d, f)
        return open(p).read().strip() if os.path.exists(p) else ""

    sim = load_recording(sim_rec)
    real = load_recording(real_rec)
    sim_norm = {"work": meta(sim_rec, "work"), "server": meta(sim_rec, "server")}
    real_norm = {"work": meta(real_rec, "work"), "server": meta(real_rec, "server")}
    if [d for d, _, _ in sim] != [d for d, _, _ in real]:
        print("compare: the two runs made different command sequences (run.sh must not branch on the server)")
        for line in difflib.unified_diff([d for d, _, _ in sim], [d for d, _, _ in real], "kube-sim", "kube-apiserver", lineterm=""):
            print("  " + line)
        return 1

    known = {} if args.no_known else load_known(KNOWN)
    unlisted, listed, diff_lines = [], [], 0
    os.makedirs(os.path.join(work, "normalised"), exist_ok=True)
    for (desc, argv, s), (_, _, r) in zip(sim, real):
        for stream in STREAMS:
            a = normalise(s[stream], **sim_norm)
            b = normalise(r[stream], **real_norm)
            if a == b:
                continue
            diff = list(difflib.unified_diff(a, b, "kube-sim", "kube-apiserver", lineterm="", n=1))
            diff_lines += sum(1 for line in diff[2:] if line[:1] in "+-")
            entry = (desc, argv, stream, diff)
            (listed if (desc, stream) in known else unlisted).append(entry)

    def show(entries, title):
        if not entries:
            return
        print(f"\n{title}")
        for desc, argv, stream, diff in entries:
            why = known.get((desc, stream))
            print(f"--- [{stream}] {desc}: kubectl {argv}" + (f"\n    known: {why}" if why else ""))
            for line in diff[2:]:
                print("    " + line)

    show(unlisted, "UNLISTED differences (fix kube-sim or list them in tests/kube-sim/kubectl/known-differences.md):")
    if args.show_known:
        show(listed, "known differences:")
    occurred = {(d, st) for d, _, st, _ in listed}
    stale = sorted(k for k in known if k not in occurred)
    for desc, stream in stale:
        print(f"compare: listed but no longer different (remove it from known-differences.md): [{stream}] {desc}")
    print(
        f"\ncompare: {len(sim)} kubectl calls, {len(unlisted) + len(listed)} differing outputs "
        f"({diff_lines} differing lines): {len(listed)} known, {len(unlisted)} unlisted, {len(stale)} stale listings; "
        f"{time.time() - t0:.0f} s"
    )
    failed = bool(unlisted or stale)
    if failed or args.keep:
        print(f"compare: recordings and logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
