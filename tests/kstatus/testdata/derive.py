#!/usr/bin/env python3
"""Writes the fixtures of testdata/ that no e2e run left behind, from the recorded ones, with the
conditions the operator's planner writes in those states (src/custom_domain/plan.rs and
plan/status.rs, the rows of src/custom_domain/plan/tests.rs named below). README.md says which
fixture is recorded and which derived. Run from anywhere: python3 tests/kstatus/testdata/derive.py
"""

import copy
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    with open(os.path.join(HERE, name)) as f:
        return json.load(f)


def save(name, obj):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def cond(typ, status, reason, message, gen, ts):
    return {"lastTransitionTime": ts, "message": message, "observedGeneration": gen,
            "reason": reason, "status": status, "type": typ}


def replace(conds, new):
    """Sets conditions as the planner's StatusBuilder::set does (one per type), drops `None`s."""
    by_type = {c["type"]: c for c in conds}
    for typ, c in new.items():
        if c is None:
            by_type.pop(typ, None)
        else:
            by_type[typ] = c
    return list(by_type.values())


ready = load("customdomain-ready.json")
awaiting = load("customdomain-awaiting-dns.json")
domain = ready["spec"]["domain"]
rec = ready["status"]["verification"]["records"][0]
gen = ready["metadata"]["generation"]
ts = "2026-12-04T16:40:00Z"

# Verifying: DNS shows the record, Auth0 asked to verify (plan.rs, DnsAnswer::Visible:
# not_verified + progress(AwaitingVerification); tests.rs "record visible -> verify").
v = copy.deepcopy(awaiting)
msg = f'TXT record {rec["name"]} with value "{rec["value"]}" is visible in DNS; verification requested'
v["status"]["conditions"] = replace(v["status"]["conditions"], {
    "Verified": cond("Verified", "False", "AwaitingVerification", msg, gen, ts),
    "Ready": cond("Ready", "False", "AwaitingVerification", msg, gen, ts),
    "Reconciling": cond("Reconciling", "True", "AwaitingVerification", msg, gen, ts),
    "Stalled": None,
})
v["status"]["verification"]["dnsObserved"] = True
v["status"]["verification"].pop("errorMessage", None)
save("customdomain-verifying.json", v)

# CnameApiKeyLost: Ready in Auth0, the Secret lost its one-time key (plan.rs key_lost:
# secret_lost + stalled(CnameApiKeyLost); tests.rs row "ready + no key -> CnameApiKeyLost").
k = copy.deepcopy(ready)
secret = k["status"]["secretRef"]["name"]
msg = (f"the one-time cname-api-key of {domain} is not in Secret {secret} and Auth0 will not return it "
       'again: put the key back into the Secret, or set annotation '
       'auth0-domain-operator.dev/recreate-on-key-loss: "true" to delete and recreate the domain')
k["status"]["conditions"] = replace(k["status"]["conditions"], {
    "SecretStored": cond("SecretStored", "False", "CnameApiKeyLost", msg, gen, ts),
    "Ready": cond("Ready", "False", "CnameApiKeyLost", msg, gen, ts),
    "Stalled": cond("Stalled", "True", "CnameApiKeyLost", msg, gen, ts),
    "Reconciling": None,
})
save("customdomain-cname-api-key-lost.json", k)

# A spec edit not yet seen by the operator: the API server bumped metadata.generation, the
# status (Ready=True) is of generation 1.
g = copy.deepcopy(ready)
g["metadata"]["generation"] = 2
g["spec"]["metadata"] = {"team": "e2e-edited"}
save("customdomain-generation-behind.json", g)

# Deleted with deletionPolicy Delete: the API server set deletionTimestamp, the finalizer holds
# the object while the operator removes the domain (status.rs deleting(): progress(Deleting)).
d = copy.deepcopy(ready)
d["metadata"]["deletionTimestamp"] = ts
d["metadata"]["deletionGracePeriodSeconds"] = 0
msg = "the resource is being deleted"
d["status"]["conditions"] = replace(d["status"]["conditions"], {
    "Ready": cond("Ready", "False", "Deleting", msg, gen, ts),
    "Reconciling": cond("Reconciling", "True", "Deleting", msg, gen, ts),
    "Stalled": None,
})
save("customdomain-deleting.json", d)
