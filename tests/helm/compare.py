#!/usr/bin/env python3
"""Compares the chart's rendering (`helm template --include-crds`) with a kustomize rendering
of deploy/ (`kubectl kustomize deploy/base`, an overlay), object by object.

    compare.py KUSTOMIZE.yaml HELM.yaml [--label NAME]

Same objects (kind, namespace, name), and each object equal field by field after the
normalisations below, which are the chart's intended differences from deploy/. Anything else
(an RBAC verb, a container argument, a port, a probe, a label of a selector, …) fails. Prints
one `ok`/`FAIL` line per object and exits non-zero on any failure.
"""

import argparse
import copy
import json
import sys

import yaml

# Intended differences, each with its reason. Only these are normalised away.
INTENDED = {
    "namespace-object": "the chart renders no Namespace: Helm installs into an existing namespace "
    "(or `--create-namespace`), and a Namespace in the chart would clash with it; NOTES.txt "
    "gives the `pod-security.kubernetes.io/enforce=restricted` label deploy/base sets",
    "helm-labels": "every templated object also carries Helm's labels app.kubernetes.io/instance, "
    "app.kubernetes.io/version, app.kubernetes.io/managed-by and helm.sh/chart (metadata only, "
    "never a selector or the pod template)",
    "crd-labels": "the CRDs are the chart's crds/ files, byte-identical copies of the repository's "
    "crds/ (Helm does not template crds/), so they lack the app.kubernetes.io/part-of label that "
    "kustomize's `labels:` adds",
    "servicemonitor-off": "serviceMonitor.enabled is false by default: a ServiceMonitor needs the "
    "Prometheus Operator's CRDs, and without them the whole install fails (deploy/README.md tells "
    "kustomize users to delete it in an overlay); with serviceMonitor.enabled=true it is the same "
    "as deploy/base's",
    "rbac-rule-order": "RBAC rules are compared as sets of (apiGroup, resource, verb): the chart "
    "keeps the namespaced rules in one helper shared by the ClusterRole (scope cluster) and the "
    "Role (scope namespaced), so their order in the ClusterRole differs",
}
HELM_LABELS = {
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
}


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def key(obj):
    md = obj.get("metadata", {})
    return (obj.get("kind"), md.get("namespace", ""), md.get("name"))


def rules_set(rules):
    out = set()
    for r in rules or []:
        for g in r.get("apiGroups", []):
            for res in r.get("resources", []):
                for v in r.get("verbs", []):
                    out.add((g, res, v))
        for u in r.get("nonResourceURLs", []):
            for v in r.get("verbs", []):
                out.add(("url", u, v))
    return sorted(out)


def normalise(obj, side, used):
    obj = copy.deepcopy(obj)
    md = obj.setdefault("metadata", {})
    labels = md.get("labels") or {}
    if side == "helm":
        if HELM_LABELS & labels.keys():
            used.add("helm-labels")
        for k in HELM_LABELS:
            labels.pop(k, None)
    if obj.get("kind") == "CustomResourceDefinition" and side == "kustomize":
        if labels.pop("app.kubernetes.io/part-of", None) is not None:
            used.add("crd-labels")
    if labels:
        md["labels"] = labels
    else:
        md.pop("labels", None)
    if obj.get("kind") in ("ClusterRole", "Role"):
        if side == "helm":
            used.add("rbac-rule-order")
        obj["rules"] = rules_set(obj.get("rules"))
    return obj


def diff(a, b, path=""):
    """Yields the paths where a and b differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a:
                yield f"{path}.{k}: only in helm: {json.dumps(b[k])[:200]}"
            elif k not in b:
                yield f"{path}.{k}: only in kustomize: {json.dumps(a[k])[:200]}"
            else:
                yield from diff(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from diff(x, y, f"{path}[{i}]")
    elif a != b:
        yield f"{path}: kustomize {json.dumps(a)[:300]} != helm {json.dumps(b)[:300]}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kustomize")
    ap.add_argument("helm")
    ap.add_argument("--label", default="")
    ap.add_argument("--servicemonitor-off", action="store_true",
                    help="the chart was rendered with serviceMonitor.enabled=false")
    args = ap.parse_args()
    label = f"{args.label}: " if args.label else ""
    k_objs = {key(o): o for o in load(args.kustomize)}
    h_objs = {key(o): o for o in load(args.helm)}
    fails = 0
    used = set()

    # The Namespace of deploy/base is the one object the chart leaves out on purpose.
    for k in list(k_objs):
        if k[0] == "Namespace":
            used.add("namespace-object")
            del k_objs[k]
        if k[0] == "ServiceMonitor" and args.servicemonitor_off:
            used.add("servicemonitor-off")
            del k_objs[k]

    for k in sorted(set(k_objs) | set(h_objs), key=str):
        name = f"{k[0]} {k[1] + '/' if k[1] else ''}{k[2]}"
        if k not in h_objs:
            print(f"FAIL {label}{name}: in deploy/ but not rendered by the chart")
            fails += 1
            continue
        if k not in k_objs:
            print(f"FAIL {label}{name}: rendered by the chart but not in deploy/")
            fails += 1
            continue
        a = normalise(k_objs[k], "kustomize", used)
        b = normalise(h_objs[k], "helm", used)
        d = list(diff(a, b))
        if d:
            print(f"FAIL {label}{name}: differs")
            for line in d[:20]:
                print(f"       {line}")
            fails += 1
        else:
            print(f"ok   {label}{name}: same as deploy/")
    for u in sorted(used):
        print(f"info {label}intended difference {u}: {INTENDED[u]}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
