#!/usr/bin/env python3
"""Summarises a kube-real audit log (tests/kube-real/start.sh logs every request a ServiceAccount
makes, at Metadata level): one row per user, verb, resource and response code, then every denied
request (403) in full. Exit status 1 when anything was denied.

Usage: tests/kube-real/audit.py AUDIT_LOG
"""

import collections
import json
import sys


def resource(ev):
    ref = ev.get("objectRef") or {}
    if not ref:
        return ev.get("requestURI", "?").split("?")[0]
    group = ref.get("apiGroup") or "core"
    name = ref.get("resource", "?")
    if ref.get("subresource"):
        name += "/" + ref["subresource"]
    return f"{group}:{name}"


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    rows = collections.Counter()
    denied = []
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("stage") not in ("ResponseComplete", "Panic"):
                continue
            user = (ev.get("user") or {}).get("username", "?")
            code = (ev.get("responseStatus") or {}).get("code", 0)
            scope = "ns" if (ev.get("objectRef") or {}).get("namespace") else "cluster"
            rows[(user, ev.get("verb", "?"), resource(ev), scope, code)] += 1
            if code == 403:
                denied.append(ev)
    if not rows:
        print("audit: no request by a ServiceAccount")
        return 0
    print(f"{'user':<68}{'verb':<18}{'resource':<48}{'scope':<9}{'code':>5}{'count':>7}")
    for (user, verb, res, scope, code), n in sorted(rows.items()):
        print(f"{user:<68}{verb:<18}{res:<48}{scope:<9}{code:>5}{n:>7}")
    for ev in denied:
        ref = ev.get("objectRef") or {}
        reason = (ev.get("annotations") or {}).get("authorization.k8s.io/reason", "")
        msg = (ev.get("responseStatus") or {}).get("message", "")
        print(f"DENIED {ev.get('user', {}).get('username')} {ev.get('verb')} {resource(ev)}"
              f" namespace={ref.get('namespace', '-')} name={ref.get('name', '-')}: {msg or reason}")
    total = sum(rows.values())
    print(f"audit: {total} requests by ServiceAccounts, {len(denied)} denied")
    return 1 if denied else 0


if __name__ == "__main__":
    sys.exit(main())
