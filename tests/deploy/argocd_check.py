#!/usr/bin/env python3
"""Runs deploy/argocd/health.lua with a real Lua interpreter over the recorded objects in
tests/deploy/argocd/*.yaml and compares the health status and message; also checks that the
argocd-cm patch embeds it byte for byte under both keys. Prints one line per check; exit 1 on a failure."""
import glob, json, math, os, shutil, subprocess, sys, tempfile
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# lua5.4 (required) and lua5.1 when installed: Argo CD runs health checks in gopher-lua, a Lua 5.1.
LUAS = [l for l in ("lua5.4", "lua5.1") if l == "lua5.4" or shutil.which(l)]
# One script serves both kinds (kstatus conditions); each argocd-cm key must embed it.
SCRIPTS = {
    "customdomain": ("deploy/argocd/health.lua", "auth0.domain-operator.dev_CustomDomain"),
    "auth0tenant": ("deploy/argocd/health.lua", "auth0.domain-operator.dev_Auth0Tenant"),
}


def lua_literal(v):
    """A Lua table constructor for a JSON-like value (null fields are left out, as in Argo CD)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError("non-finite number")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are valid Lua escapes for this data
    if isinstance(v, list):
        return "{" + ", ".join(lua_literal(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join("[%s] = %s" % (json.dumps(k), lua_literal(x)) for k, x in v.items() if x is not None) + "}"
    raise ValueError("unsupported value %r" % (v,))


def apply_fixtures():
    """Each fixture's object is created in the API server (kube-sim with the operator's CRDs, via
    KUBECONFIG) and its status written through the status subresource, so the recorded statuses
    are ones the CRD schema admits. Names become the fixture's file name."""
    failures = 0
    for f in sorted(glob.glob(os.path.join(ROOT, "tests/deploy/argocd/*.yaml"))):
        case = yaml.safe_load(open(f))
        obj = json.loads(json.dumps(case["obj"]))
        status = obj.pop("status", None)
        name = os.path.basename(f)[: -len(".yaml")]
        meta = {"name": name}
        if obj["metadata"].get("namespace"):
            meta["namespace"] = obj["metadata"]["namespace"]
        obj["metadata"] = meta
        steps = [["kubectl", "create", "-f", "-"]]
        inputs = [json.dumps(obj)]
        if status is not None:
            ns = ["-n", meta["namespace"]] if "namespace" in meta else []
            steps.append(["kubectl", "patch", obj["kind"].lower(), name, *ns, "--subresource=status",
                          "--type=merge", "-p", json.dumps({"status": status})])
            inputs.append(None)
        errors = []
        for cmd, stdin in zip(steps, inputs):
            run = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=30)
            if run.returncode != 0:
                errors.append(run.stderr.strip())
        failures += bool(errors)
        print("%s argocd fixture %s admitted by the CRD schema%s" % (
            "FAIL" if errors else "ok  ", os.path.basename(f), (": " + " | ".join(errors)) if errors else ""))
    return failures


def main():
    failures = 0
    if sys.argv[1:] == ["--apply"]:
        return 1 if apply_fixtures() else 0
    patch = yaml.safe_load(open(os.path.join(ROOT, "deploy/argocd/argocd-cm-patch.yaml")))
    for name, (path, key) in SCRIPTS.items():
        text = open(os.path.join(ROOT, path)).read()
        embedded = patch.get("data", {}).get("resource.customizations.health." + key)
        ok = embedded == text
        failures += not ok
        print("%s argocd-cm key resource.customizations.health.%s matches %s" % ("ok  " if ok else "FAIL", key, path))
    fixtures = sorted(glob.glob(os.path.join(ROOT, "tests/deploy/argocd/*.yaml")))
    seen = {"Healthy": 0, "Progressing": 0, "Degraded": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for f in fixtures:
            case = yaml.safe_load(open(f))
            script = os.path.join(ROOT, SCRIPTS[case["script"]][0])
            obj_file = os.path.join(tmp, "obj.lua")
            with open(obj_file, "w") as out:
                out.write("return " + lua_literal(case["obj"]) + "\n")
            want = "%s\t%s" % (case["expect"]["status"], case["expect"]["message"])
            seen[case["expect"]["status"]] = seen.get(case["expect"]["status"], 0) + 1
            for lua in LUAS:
                run = subprocess.run([lua, os.path.join(ROOT, "tests/deploy/argocd/harness.lua"), script, obj_file],
                                     capture_output=True, text=True, timeout=10)
                got = run.stdout.rstrip("\n")
                ok = run.returncode == 0 and got == want
                failures += not ok
                print("%s argocd %s %s -> %s" % ("ok  " if ok else "FAIL", lua, os.path.basename(f), got or run.stderr.strip()))
                if not ok:
                    print("       want: %s" % want)
    for status, n in seen.items():
        ok = n > 0
        failures += not ok
        print("%s argocd fixtures cover %s (%d)" % ("ok  " if ok else "FAIL", status, n))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
