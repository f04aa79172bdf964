"""Side by side with npm auth0-deploy-cli (tests/bench/bench.py --only deploy-cli, or part of every
`make bench` run): the pinned auth0-deploy-cli (.ci/deps-bench.sh installs it into .deps/deploy-cli)
applies the same N custom domains, from a generated tenant.yaml, to a FRESH auth0-sim that has the
same limits as the operator's run, and we read what it did from that simulator's counters.

deploy-cli is configured to manage custom domains only (AUTH0_INCLUDED_ONLY: ["customDomains"],
deletes off). Its "done" is weaker than ours: it creates the domains and stops; it never publishes
DNS, never calls verify, so nothing receives a cname_api_key and every domain stays
pending_verification. The run measures that as well (verify calls, statuses, keys issued).

A second import with the same file ("re-apply") measures what one more pipeline run costs when
nothing changed. Python stdlib only.
"""

import collections
import datetime
import json
import os
import re
import resource
import shutil
import ssl
import subprocess
import time
import urllib.request

from world import ROOT

INSTALL = os.path.join(ROOT, ".deps", "deploy-cli", "node_modules", "auth0-deploy-cli")
PINS = os.path.join(ROOT, "tests", "bench", "deploy-cli", "package.json")
VERIFY = "POST /api/v2/custom-domains/{id}/verify"
AUTH0_TYPES = {"SelfManagedCerts": "self_managed_certs", "Auth0ManagedCerts": "auth0_managed_certs"}


def pinned_version():
    """The auth0-deploy-cli version pinned in tests/bench/deploy-cli/package.json."""
    with open(PINS) as f:
        return json.load(f)["dependencies"]["auth0-deploy-cli"]


def installed_version():
    """The installed auth0-deploy-cli version; exits with a hint when it is missing or not the pin."""
    path = os.path.join(INSTALL, "package.json")
    if not os.path.exists(path):
        raise SystemExit("auth0-deploy-cli is not installed: run `bash .ci/deps-bench.sh` (make deps-bench)")
    with open(path) as f:
        have = json.load(f)["version"]
    if have != pinned_version():
        raise SystemExit(f"auth0-deploy-cli {have} installed, {pinned_version()} pinned: run `bash .ci/deps-bench.sh`")
    return have


def domain_name(i):
    """The i-th bench domain; the operator's run uses the same names."""
    return f"d{i:04d}.bench.example.com"


def tenant_yaml(n, domain_type):
    """deploy-cli's YAML for n custom domains with the fields our create body carries (domain,
    type, and tls_policy for Auth0-managed ones only: Auth0 answers 400 to it on self-managed
    domains); our ownership marker (domain_metadata.k8s_owner) has no deploy-cli counterpart, so it
    is left out."""
    lines = ["customDomains:"]
    for i in range(n):
        lines += [f"  - domain: {domain_name(i)}",
                  f"    type: {AUTH0_TYPES[domain_type]}"]
        if domain_type == "Auth0ManagedCerts":
            lines.append("    tls_policy: recommended")
    return "\n".join(lines) + "\n"


class SimClient:
    """Reads one auth0-sim's /__sim control API."""

    def __init__(self, ready):
        self.control = ready["control"]
        self.ssl = ssl.create_default_context(cafile=ready["ca_file"])

    def get(self, path):
        with urllib.request.urlopen(f"{self.control}{path}", context=self.ssl, timeout=60) as r:
            return json.loads(r.read())


def by_endpoint(counters):
    """{"METHOD /template": {status: count}} with int statuses."""
    return {k: {int(s): c for s, c in v.items()} for k, v in counters.get("calls", {}).items()}


def calls_between(after, before):
    """Per-endpoint, per-status call counts added between two counter snapshots."""
    out = {}
    for key, statuses in by_endpoint(after).items():
        prev = by_endpoint(before).get(key, {})
        d = {s: c - prev.get(s, 0) for s, c in statuses.items() if c - prev.get(s, 0)}
        if d:
            out[key] = d
    return out


def import_once(cmd, env, log_path, timeout):
    """Runs one `a0deploy import`; returns (exit code, wall seconds, CPU seconds, start as UNIX time,
    log text)."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    t0 = time.monotonic()
    with open(log_path, "w") as out:
        try:
            rc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=os.path.dirname(log_path),
                                timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    with open(log_path) as f:
        return rc, wall, cpu, started, f.read()


def first_write_at(log_text, started):
    """Seconds from the process start to its first logged create/update (winston's ISO timestamps):
    start-up, token, schema validation and the list, before any write."""
    m = re.search(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z - .*(?:Created|Updated) \[customDomains\]",
                  log_text, re.M)
    if not m:
        return None
    at = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc).timestamp()
    return at - started


def summarize(calls, log_text, rc, wall, cpu, started):
    """Totals of one import: calls (Management API, token), 429s, retries seen in its log."""
    api = {k: sum(v.values()) for k, v in calls.items() if "/oauth/" not in k}
    return {
        "rc": rc,
        "wall_s": wall,
        "cpu_s": cpu,
        "before_first_write_s": first_write_at(log_text, started),
        "calls": calls,
        "api_calls": sum(api.values()),
        "token_calls": sum(sum(v.values()) for k, v in calls.items() if "/oauth/" in k),
        "status_429": sum(v.get(429, 0) for v in calls.values()),
        "errors_4xx_5xx": sum(c for v in calls.values() for s, c in v.items() if s >= 400 and s != 429),
        # deploy-cli's own retry wrapper logs this line; the SDK's retries under it (maxRetries 10,
        # waiting for x-ratelimit-reset) are silent, so the 429 count is the full retry count.
        "wrapper_retries": len(re.findall(r"Rate limit hit for \[", log_text)),
        "created_logged": len(re.findall(r"Created \[customDomains\]", log_text)),
        "updated_logged": len(re.findall(r"Updated \[customDomains\]", log_text)),
    }


def run(world, args, workdir):
    """Applies args.domains custom domains with deploy-cli to a fresh simulator (the world's DNS,
    args' limits), then once more unchanged. Returns the figures for the side-by-side table."""
    version = installed_version()
    n = args.domains
    secret = os.urandom(12).hex()
    ready = world.start_auth0_sim("auth0-sim-deploy-cli", secret)
    sim = SimClient(ready)
    d = os.path.join(workdir, "deploy-cli")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "tenant.yaml"), "w") as f:
        f.write(tenant_yaml(n, args.type))
    # The secret goes through the environment (deploy-cli reads AUTH0_* from it), not the file.
    config = {
        "AUTH0_DOMAIN": ready["tenant_domain"],
        "AUTH0_CLIENT_ID": "bench",
        "AUTH0_INCLUDED_ONLY": ["customDomains"],
        "AUTH0_ALLOW_DELETE": False,
    }
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    env = dict(os.environ, NODE_EXTRA_CA_CERTS=ready["ca_file"], AUTH0_CLIENT_SECRET=secret)
    cmd = [shutil.which("node") or "node", os.path.join(INSTALL, "lib", "index.js"), "import",
           "--config_file", "config.json", "--input_file", "tenant.yaml"]

    c0 = sim.get("/counters")
    rc, wall, cpu, started, text = import_once(cmd, env, os.path.join(d, "import-1.log"), args.timeout)
    c1 = sim.get("/counters")
    domains = sim.get("/domains")
    first = summarize(calls_between(c1, c0), text, rc, wall, cpu, started)
    first["domains"] = len(domains)
    first["statuses"] = dict(collections.Counter(x["status"] for x in domains))
    first["keys_issued"] = sum(1 for x in domains if x.get("cname_api_key"))
    first["verify_calls"] = sum(first["calls"].get(VERIFY, {}).values())
    if rc != 0:
        first["log_tail"] = text[-2000:]

    rc2, wall2, cpu2, started2, text2 = import_once(cmd, env, os.path.join(d, "import-2.log"), args.timeout)
    c2 = sim.get("/counters")
    again = summarize(calls_between(c2, c1), text2, rc2, wall2, cpu2, started2)
    again["domains"] = len(sim.get("/domains"))
    if rc2 != 0:
        again["log_tail"] = text2[-2000:]
    return {"version": version, "node": subprocess.run(["node", "--version"], capture_output=True,
                                                       text=True).stdout.strip(),
            "config": config, "first": first, "again": again, "dir": d}


def pacing():
    """deploy-cli's own request pool limits, read from the installed source (not configurable)."""
    path = os.path.join(INSTALL, "lib", "tools", "auth0", "client.js")
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return "unknown"
    conc = re.search(r"API_CONCURRENCY\s*=\s*(\d+)", text)
    freq = re.search(r"API_FREQUENCY_PER_SECOND\s*=\s*(\d+)", text)
    if not (conc and freq):
        return "unknown"
    return f"{conc.group(1)} concurrent, {freq.group(1)} requests/s (its request pool, fixed in lib/tools/auth0/client.js)"


def _total(calls):
    return {k: sum(v.values()) if isinstance(v, dict) else v for k, v in calls.items()}


def _statuses(calls):
    return ", ".join(f"`{k}` {'/'.join(f'{s}×{c}' for s, c in sorted(v.items()))}" for k, v in sorted(calls.items()))


def report(theirs, ours, args, command):
    """Markdown lines: the side-by-side table (or deploy-cli alone when `ours` is None)."""
    n = args.domains
    first, again = theirs["first"], theirs["again"]
    label = f"auth0-deploy-cli {theirs['version']}"
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = []
    if ours is None:
        lines += [f"# auth0-deploy-cli side-by-side bench — {time.strftime('%Y-%m-%d')}", "",
                  f"Command: `{command}`", ""]
    lines += [f"## Side by side: {label} (node {theirs['node']}) applying the same {n} domains", "",
              f"A fresh auth0-sim with the same limits (tenant {args.sim_rate_limit} rps:burst, verify "
              f"{args.sim_verify_limit} count:s); deploy-cli config: `AUTH0_INCLUDED_ONLY: [\"customDomains\"]`, "
              f"`AUTH0_ALLOW_DELETE: false`, `tenant.yaml` with `domain`, `type: {AUTH0_TYPES[args.type]}`"
              + (", `tls_policy: recommended`" if args.type == "Auth0ManagedCerts" else "")
              + " per domain. Load average (1/5/15 min) at the end: " + load + ".", ""]
    theirs_done = (f"import finished (exit {first['rc']}): {first['domains']}/{n} created, statuses "
                   + ", ".join(f"{k} {v}" for k, v in sorted(first["statuses"].items()))
                   + "; no DNS check, no verify, no cname_api_key")
    if ours is None:
        head = ["| measure | " + label + " |", "|---|---|"]

        def row(name, _ours, theirs_value):
            return f"| {name} | {theirs_value} |"
    else:
        head = ["| measure | auth0-domain-operator | " + label + " |", "|---|---|---|"]

        def row(name, ours_value, theirs_value):
            return f"| {name} | {ours_value} | {theirs_value} |"
    ours_calls = _total(ours["calls"]) if ours else {}
    ours_429 = sum(v.get(429, 0) for v in ours["calls"].values()) if ours else ""
    ours_err = sum(c for v in ours["calls"].values() for st, c in v.items() if st >= 400 and st != 429) if ours else ""
    ours_api = sum(v for k, v in ours_calls.items() if "/oauth/" not in k)
    theirs_calls = _total(first["calls"])
    rows = [
        row("what \"done\" means", "Ready: DNS record seen, verified, cname_api_key stored in a Secret", theirs_done),
        row("wall time to done", f"{ours['wall_s']:.1f} s" if ours else "", f"{first['wall_s']:.1f} s"),
        row("of which before the first write", "" if not ours else "—",
            f"{first['before_first_write_s']:.1f} s (start-up, token, schema validation, list)"
            if first["before_first_write_s"] is not None else "no write logged"),
        row("CPU seconds (process, to done)", f"{ours['cpu_s']:.2f} s" if ours else "", f"{first['cpu_s']:.2f} s"),
        row("Management API calls (total / per domain)", f"{ours_api} / {ours_api / n:.2f}" if ours else "",
            f"{first['api_calls']} / {first['api_calls'] / n:.2f}"),
        row("token requests", ours_calls.get("POST /oauth/token", 0) if ours else "", first["token_calls"]),
        row("429s received", ours_429, first["status_429"]),
        row("retries", "after each 429, at x-ratelimit-reset (POST only after looking first)" if ours else "",
            f"{first['status_429']} (node-auth0 retries 429 up to 10× at x-ratelimit-reset; deploy-cli's own "
            f"wrapper logged {first['wrapper_retries']})"),
        row("other 4xx/5xx", ours_err, first["errors_4xx_5xx"]),
        row("verify calls", ours_calls.get(VERIFY, 0) if ours else "", first["verify_calls"]),
        row("cname_api_key issued", n if ours else "", first["keys_issued"]),
        row("its own pacing", f"token bucket spec.rateLimit {args.tenant_rate_limit} rps:burst" if ours else "",
            pacing()),
        row("same file applied again, nothing changed",
            "no call per unchanged domain (one list per resync)" if ours else "",
            f"{again['wall_s']:.1f} s ({again['cpu_s']:.1f} s CPU), {again['api_calls']} calls "
            f"({_statuses(again['calls'])}), exit {again['rc']}"),
    ]
    endpoints = sorted(set(ours_calls) | set(theirs_calls))
    rows += [row(f"`{k}` per domain (all statuses)", f"{ours_calls.get(k, 0) / n:.2f}" if ours else "",
                 f"{theirs_calls.get(k, 0) / n:.2f}") for k in endpoints]
    lines += head + rows + ["", f"deploy-cli calls by endpoint and status (first import): {_statuses(first['calls'])}."]
    if ours:
        lines += ["", f"Operator calls by endpoint and status (apply → Ready): {_statuses(ours['calls'])}."]
    for tag, r in (("first import", first), ("second import", again)):
        if r.get("log_tail"):
            lines += ["", f"deploy-cli {tag} failed; its log ends with:", "", "```", r["log_tail"].strip(), "```"]
    return lines
