#!/usr/bin/env python3
"""Every metric the alerts and the dashboard use must be one the operator exposes, with the label
names the selectors and aggregations use.

The exposed metrics come from src/telemetry/metrics.rs (each `let field = registered(&mut registry,
"name", …)` or `registry.register("name", …, field)`, with the field's type and label struct: counters gain `_total`, histograms `_bucket`/`_sum`/
`_count` and the `le` label), or, with --scrape FILE, from a real `/metrics` answer (the `# TYPE`
lines), which is then also compared with the source. Every family metrics.rs registers must be used
by an alert or a dashboard panel. Prints one line per check; exit 1 on failure."""
import json, os, re, sys
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = "auth0_domain_operator_"
# Series Prometheus itself attaches to every target: allowed in expressions.
BUILTIN = {"up": {"job", "instance", "namespace", "service", "pod", "endpoint"}}


def from_source():
    src = open(os.path.join(ROOT, "src/telemetry/metrics.rs")).read()
    label_structs = {}
    for name, body in re.findall(r"struct (\w+Labels)\s*\{([^}]*)\}", src):
        label_structs[name] = set(re.findall(r"(\w+)\s*:\s*String", body))
    fields = {}
    m = re.search(r"pub struct Metrics\s*\{([^}]*)\}", src)
    for field, ty in re.findall(r"^\s*(\w+)\s*:\s*(.+?),?\s*$", m.group(1), re.M):
        fields[field] = ty.strip()
    families = {}
    registrations = re.findall(r'register\(\s*"(\w+)",\s*"[^"]*",\s*(\w+)\.clone\(\)', src)
    registrations += [
        (name, field)
        for field, name in re.findall(r'let (\w+) = registered\(\s*&mut registry,\s*"(\w+)"', src)
    ]
    if not registrations:
        raise SystemExit("FAIL metrics.rs: no registrations found (has the registration code changed shape?)")
    for name, field in registrations:
        ty = fields[field]
        labels_struct = re.search(r"<\s*(\w+Labels)", ty).group(1)
        kind = "histogram" if "Histogram" in ty else "gauge" if "Gauge" in ty else "counter" if "Counter" in ty else "unknown"
        if kind == "unknown":
            raise SystemExit("FAIL metrics.rs: cannot tell the type of %s (%s)" % (name, ty))
        families[PREFIX + name] = (kind, label_structs[labels_struct])
    return families


def from_scrape(path):
    families = {}
    for line in open(path):
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if m:
            families[m.group(1)] = (m.group(2), set())
    for line in open(path):
        m = re.match(r"([a-zA-Z_:][\w:]*)\{([^}]*)\}", line)
        if not m:
            continue
        labels = set(re.findall(r'(\w+)="', m.group(2)))
        for fam in families:
            if m.group(1) == fam or m.group(1).startswith(fam + "_"):
                families[fam][1].update(labels - {"le"})
    return families


def series(families):
    """Exposed series name -> label names."""
    out = {}
    for fam, (kind, labels) in families.items():
        if kind == "counter":
            out[fam + "_total"] = set(labels)
        elif kind == "histogram":
            out[fam + "_bucket"] = set(labels) | {"le"}
            out[fam + "_sum"] = set(labels)
            out[fam + "_count"] = set(labels)
        else:
            out[fam] = set(labels)
    for k, v in BUILTIN.items():
        out[k] = set(v)
    return out


def expressions():
    rule = yaml.safe_load(open(os.path.join(ROOT, "deploy/monitoring/prometheusrule.yaml")))
    for g in rule["spec"]["groups"]:
        for r in g["rules"]:
            yield "rule %s" % (r.get("alert") or r.get("record")), r["expr"]
    dash = json.load(open(os.path.join(ROOT, "deploy/monitoring/grafana-dashboard.json")))
    for p in dash["panels"]:
        for t in p.get("targets", []):
            yield "panel %r/%s" % (p["title"], t["refId"]), t["expr"]
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            yield "variable %s" % v["name"], q


def check(exposed):
    failures = 0
    used = set()
    for where, expr in expressions():
        # Metric names: identifiers followed by `{`, `[`, `)` , `,` or space that carry our prefix
        # or are builtins; label matchers inside {...}; label lists of by/without/on/ignoring.
        names = set(re.findall(r"\b(%s\w+)" % PREFIX, expr))
        names |= {n for n in BUILTIN if re.search(r"\b%s\s*\{" % n, expr)}
        problems = []
        for n in sorted(names):
            if n not in exposed:
                problems.append("unknown metric %s" % n)
        available = set().union(*(exposed.get(n, set()) for n in names)) if names else set()
        for n, matchers in re.findall(r"\b(\w+)\s*\{([^}]*)\}", expr):
            if n not in exposed:
                continue
            for label in re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers):
                if label not in exposed[n]:
                    problems.append("%s has no label %s" % (n, label))
        for group in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
            for label in [x.strip() for x in group.split(",") if x.strip()]:
                if label not in available:
                    problems.append("no metric in the expression has label %s" % label)
        m = re.search(r"label_values\((\w+),\s*(\w+)\)", expr)
        if m and m.group(2) not in exposed.get(m.group(1), set()):
            problems.append("%s has no label %s" % (m.group(1), m.group(2)))
        if not names:
            problems.append("references no metric")
        used |= names
        failures += bool(problems)
        print("%s metrics %s: %s" % ("FAIL" if problems else "ok  ", where, "; ".join(problems) or ", ".join(sorted(names))))
    return failures, used


def main():
    fams = from_source()
    failures = 0
    ok = len(fams) >= 5
    failures += not ok
    print("%s metrics.rs registers %d families: %s" % ("ok  " if ok else "FAIL", len(fams), ", ".join(sorted(fams))))
    if len(sys.argv) == 3 and sys.argv[1] == "--scrape":
        scraped = from_scrape(sys.argv[2])
        # Only families with samples are exposed: each one seen must be in metrics.rs with the same
        # type and no label metrics.rs does not declare.
        seen = {k: v for k, v in scraped.items() if k.startswith(PREFIX)}
        bad = ["%s %s %s" % (k, v[0], sorted(v[1])) for k, v in seen.items()
               if k not in fams or fams[k][0] != v[0] or not v[1] <= fams[k][1]]
        ok = len(seen) >= 2 and not bad
        failures += not ok
        print("%s real /metrics: %d families agree with metrics.rs (names, types, labels): %s" % (
            "ok  " if ok else "FAIL", len(seen), ", ".join(sorted(seen))))
        if bad:
            print("       disagree: %s" % "; ".join(bad))
        for k, v in seen.items():
            if v[1] and k in fams:
                print("     %s labels seen: %s" % (k, ",".join(sorted(v[1]))))
    f, used = check(series(fams))
    failures += f
    # The other way round: every family the operator exposes is on the dashboard or in an alert
    # (a metric added for an alert, like tenant_ready or certificates, must be wired up).
    unused = sorted(fam for fam, (kind, _) in fams.items()
                    if not any(u == fam or u.startswith(fam + "_") for u in used))
    failures += bool(unused)
    print("%s every metrics.rs family is used by the alerts or the dashboard%s" % (
        "FAIL" if unused else "ok  ", ": unused " + ", ".join(unused) if unused else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
