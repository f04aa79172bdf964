#!/usr/bin/env python3
"""Writes the bad-input corpus: invalid CustomDomain and Auth0Tenant manifests, each with the field
its rejection must name.

Usage: tests/bad-input/gen.py [OUT_DIR]     (default: tests/bad-input/corpus next to this file)

Deterministic: the random cases come from a seeded generator, so running it twice writes the same
bytes (run.py checks that the committed corpus is current). Python 3 standard library only.

Layout of OUT_DIR:
  index.json                       one entry per case: id, kind, category, label, field, files
  NNN-<slug>.yaml                  the manifest that must be rejected
  NNN-<slug>.base.yaml             (immutability cases) the object that is created first
"""

import json
import os
import random
import re
import sys

SEED = 20261125
GROUP = "auth0.domain-operator.dev/v1alpha1"
NAMESPACE = "bad-input"

# Decision on internationalised names: Auth0 validates `domain` as an ASCII host name ("format
# hostname"), so an IDN must be written as its punycode A-label (xn--...). Unicode U-labels are bad
# input; the punycode form of the same name is accepted (run.py's positive controls show it).


def cd(name, spec, extra_meta=None):
    meta = {"name": name, "namespace": NAMESPACE}
    meta.update(extra_meta or {})
    return {"apiVersion": GROUP, "kind": "CustomDomain", "metadata": meta, "spec": spec}


def tenant(name, spec, extra_meta=None):
    meta = {"name": name}
    meta.update(extra_meta or {})
    return {"apiVersion": GROUP, "kind": "Auth0Tenant", "metadata": meta, "spec": spec}


def am(**fields):
    spec = {"domain": "login.example.com", "type": "Auth0ManagedCerts"}
    spec.update(fields)
    return spec


def sm(**fields):
    spec = {"domain": "login.example.com", "type": "SelfManagedCerts"}
    spec.update(fields)
    return spec


def tspec(**fields):
    spec = {
        "domain": "acme.eu.auth0.com",
        "credentialsSecretRef": {"namespace": "auth0", "name": "creds"},
    }
    spec.update(fields)
    return spec


class Corpus:
    def __init__(self):
        self.cases = []

    def add(self, kind, category, label, field, manifest_fn, base_spec=None, new_spec=None, spec=None):
        """One case. `manifest_fn(name, spec)` builds the object; `spec` is the bad spec, or
        `base_spec` + `new_spec` for a change of an existing object."""
        n = len(self.cases) + 1
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:40].strip("-")
        prefix = "acd" if kind == "CustomDomain" else "a0t"
        name = f"{prefix}-{n:03d}"
        case = {
            "id": n,
            "kind": kind,
            "category": category,
            "label": label,
            "field": field,
            "name": name,
            "file": f"{n:03d}-{slug}.yaml",
        }
        if base_spec is not None:
            case["base"] = f"{n:03d}-{slug}.base.yaml"
            case["_base"] = manifest_fn(name, base_spec)
            case["_manifest"] = manifest_fn(name, new_spec)
        else:
            case["_manifest"] = manifest_fn(name, spec)
        self.cases.append(case)

    def cd(self, category, label, field, spec):
        self.add("CustomDomain", category, label, field, cd, spec=spec)

    def cd_change(self, label, field, base, new):
        self.add("CustomDomain", "immutable", label, field, cd, base_spec=base, new_spec=new)

    def t(self, category, label, field, spec):
        self.add("Auth0Tenant", category, label, field, tenant, spec=spec)


# ---- YAML writer (block style; every string double-quoted, which keeps types exact) ----


def scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(v, ensure_ascii=False)


def to_yaml(v, indent=0):
    pad = "  " * indent
    lines = []
    if isinstance(v, dict):
        if not v:
            return [pad + "{}"]
        for k, val in v.items():
            key = scalar(k) if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", k) else k
            if isinstance(val, (dict, list)) and val:
                lines.append(f"{pad}{key}:")
                lines.extend(to_yaml(val, indent + 1))
            else:
                lines.append(f"{pad}{key}: {to_yaml(val)[0].strip()}")
        return lines
    if isinstance(v, list):
        if not v:
            return [pad + "[]"]
        for item in v:
            if isinstance(item, (dict, list)) and item:
                sub = to_yaml(item, indent + 1)
                lines.append(f"{pad}- {sub[0].strip()}")
                lines.extend(sub[1:])
            else:
                lines.append(f"{pad}- {to_yaml(item)[0].strip()}")
        return lines
    return [pad + scalar(v)]


def document(case, obj, role):
    head = (
        f"# bad-input case {case['id']:03d} [{case['kind']}/{case['category']}] {case['label']}\n"
        f"# {role}: must be rejected at admission with a message naming {case['field']}\n"
        if role == "manifest"
        else f"# bad-input case {case['id']:03d}: valid object created first; the case then changes it\n"
    )
    return head + "\n".join(to_yaml(obj)) + "\n"


# ---- the cases ----


def fqdn_cases(c, rng):
    long63 = "a" * 63
    bad = [
        ("empty domain", ""),
        ("single label", "localhost"),
        ("top-level domain only", "com"),
        ("leading dot", ".example.com"),
        ("trailing dot", "login.example.com."),
        ("only dots", ".."),
        ("empty label", "login..example.com"),
        ("leading hyphen", "-login.example.com"),
        ("trailing hyphen", "login-.example.com"),
        ("hyphen-led inner label", "login.-example.com"),
        ("hyphen-ended inner label", "login.example-.com"),
        ("hyphen-ended tld", "login.example.com-"),
        ("underscore label", "_acme.example.com"),
        ("underscore inside label", "log_in.example.com"),
        ("upper-case first letter", "Login.example.com"),
        ("all upper-case", "LOGIN.EXAMPLE.COM"),
        ("upper-case tld", "login.example.COM"),
        ("wildcard", "*.example.com"),
        ("bare wildcard", "*"),
        ("inner wildcard", "login.*.example.com"),
        ("wildcard glued to label", "*login.example.com"),
        ("trailing wildcard", "login.example.*"),
        ("IDN unicode label (write the xn-- punycode form)", "lögin.example.com"),
        ("IDN CJK label", "登录.example.com"),
        ("IDN cyrillic tld", "login.пример.рф"),
        ("emoji label", "🔐.example.com"),
        ("ideographic full stop", "login。example.com"),
        ("fullwidth letters", "ｌｏｇｉｎ.example.com"),
        ("label of 64 characters first", "a" * 64 + ".example.com"),
        ("label of 64 characters inner", "login." + "b" * 64 + ".com"),
        ("label of 64 characters last", "login.example." + "c" * 64),
        ("label of 100 characters", "d" * 100 + ".example.com"),
        ("name of 254 characters", ".".join([long63] * 3) + "." + "e" * 61 + ".com"),
        ("name of 300 characters", ".".join(["f" * 59] * 5) + ".com"),
        ("name of 1000 characters", ".".join(["g" * 49] * 20) + ".com"),
        ("IPv4 address", "192.168.10.20"),
        ("IPv4 loopback", "127.0.0.1"),
        ("IPv4 with port", "10.0.0.1:443"),
        ("IPv6 address", "2001:db8::1"),
        ("bracketed IPv6", "[::1]"),
        ("port", "login.example.com:443"),
        ("https scheme", "https://login.example.com"),
        ("http scheme", "http://login.example.com"),
        ("scheme and path", "https://login.example.com/authorize"),
        ("path", "login.example.com/login"),
        ("trailing slash", "login.example.com/"),
        ("query string", "login.example.com?tenant=acme"),
        ("fragment", "login.example.com#top"),
        ("user info", "admin@login.example.com"),
        ("percent-encoded dot", "login%2Eexample.com"),
        ("leading space", " login.example.com"),
        ("trailing space", "login.example.com "),
        ("inner space", "login example.com"),
        ("tab", "login\texample.com"),
        ("newline", "login.example.com\nevil.example.com"),
        ("comma-separated list", "login.example.com,auth.example.com"),
        ("semicolon", "login.example.com;rm"),
        ("quote", "login'.example.com"),
        ("backslash", "login\\.example.com"),
        ("numeric tld", "login.example.123"),
    ]
    for label, value in bad:
        c.cd("fqdn", label, "spec.domain", am(domain=value))
    # Same rules for self-managed domains.
    for label, value in [("self-managed wildcard", "*.auth.example.com"), ("self-managed port", "auth.example.com:8443")]:
        c.cd("fqdn", label, "spec.domain", sm(domain=value))
    # Seeded mutations of valid names: one bad character at a random place.
    bad_chars = list("_*!$&'()+,;=@:/\\ ?#%~`^{}[]|\"<>") + ["é", "ß", "\u200b", "\u00a0", "A", "Z"]
    words = ["login", "auth", "id", "sso", "accounts", "signin", "eu", "us", "prod", "staging", "acme", "example"]
    tlds = ["com", "net", "org", "io", "dev", "co.uk", "de", "cloud"]
    seen = set()
    while len(seen) < 40:
        labels = [rng.choice(words) for _ in range(rng.randint(1, 3))]
        host = ".".join(labels) + "." + rng.choice(tlds)
        ch = rng.choice(bad_chars)
        pos = rng.randint(0, len(host))
        value = host[:pos] + ch + host[pos:]
        if value in seen:
            continue
        seen.add(value)
        c.cd("fqdn", f"random bad character {ch!r} at {pos}", "spec.domain", am(domain=value))


def metadata_cases(c):
    c.cd("metadata", "10 keys (9 allowed)", "spec.metadata", am(metadata={f"k{i}": "v" for i in range(10)}))
    c.cd("metadata", "11 keys (Auth0 maximum + 1)", "spec.metadata", am(metadata={f"k{i}": "v" for i in range(11)}))
    c.cd("metadata", "50 keys", "spec.metadata", am(metadata={f"key-{i:02d}": str(i) for i in range(50)}))
    c.cd("metadata", "value of 256 characters", "spec.metadata", am(metadata={"team": "v" * 256}))
    c.cd("metadata", "value of 10000 characters", "spec.metadata", am(metadata={"team": "w" * 10000}))
    c.cd("metadata", "value of 256 non-ASCII characters", "spec.metadata", am(metadata={"team": "é" * 256}))
    c.cd("metadata", "key of 256 characters", "spec.metadata", am(metadata={"k" * 256: "v"}))
    c.cd("metadata", "empty key", "spec.metadata", am(metadata={"": "v"}))
    c.cd("metadata", "reserved key k8s_owner", "spec.metadata", am(metadata={"k8s_owner": "cluster/ns/name"}))
    c.cd("metadata", "reserved key among others", "spec.metadata", sm(metadata={"team": "a", "k8s_owner": "x"}))
    c.cd("metadata", "integer value", "spec.metadata", am(metadata={"replicas": 3}))
    c.cd("metadata", "boolean value", "spec.metadata", am(metadata={"public": True}))
    c.cd("metadata", "float value", "spec.metadata", am(metadata={"weight": 0.5}))
    c.cd("metadata", "list value", "spec.metadata", am(metadata={"owners": ["a", "b"]}))
    c.cd("metadata", "object value", "spec.metadata", am(metadata={"owner": {"team": "id"}}))
    c.cd("metadata", "metadata is a list", "spec.metadata", am(metadata=["team=id"]))
    c.cd("metadata", "metadata is a string", "spec.metadata", am(metadata="team=id"))
    c.cd("metadata", "metadata is a number", "spec.metadata", am(metadata=7))


def enum_cases(c):
    for label, v in [
        ("type in Auth0 wire spelling", "auth0_managed_certs"),
        ("type self_managed_certs", "self_managed_certs"),
        ("type lower camel case", "auth0ManagedCerts"),
        ("type abbreviated", "SelfManaged"),
        ("type empty", ""),
        ("type with trailing space", "SelfManagedCerts "),
    ]:
        c.cd("enum", label, "spec.type", {"domain": "login.example.com", "type": v})
    for label, v in [
        ("tlsPolicy compatible (no longer accepted)", "compatible"),
        ("tlsPolicy capitalised", "Recommended"),
        ("tlsPolicy empty", ""),
        ("tlsPolicy legacy", "legacy"),
    ]:
        c.cd("enum", label, "spec.tlsPolicy", am(tlsPolicy=v))
    for label, v in [
        ("customClientIPHeader x-real-ip", "x-real-ip"),
        ("customClientIPHeader upper-case", "X-Forwarded-For"),
        ("customClientIPHeader underscores", "true_client_ip"),
        ("customClientIPHeader empty string", ""),
        ("customClientIPHeader trailing space", "cf-connecting-ip "),
        ("customClientIPHeader two headers", "x-forwarded-for,true-client-ip"),
    ]:
        c.cd("enum", label, "spec.customClientIPHeader", sm(customClientIPHeader=v))
    for label, v in [
        ("deletionPolicy Retain", "Retain"),
        ("deletionPolicy lower-case delete", "delete"),
        ("deletionPolicy lower-case orphan", "orphan"),
        ("deletionPolicy empty", ""),
    ]:
        c.cd("enum", label, "spec.deletionPolicy", am(deletionPolicy=v))
    for label, v in [("verificationMethod CNAME", "CNAME"), ("verificationMethod lower-case txt", "txt"), ("verificationMethod http", "HTTP")]:
        c.cd("enum", label, "spec.verificationMethod", sm(verificationMethod=v))


def type_cases(c):
    c.cd("wrong-type", "domain is a number", "spec.domain", am(domain=42))
    c.cd("wrong-type", "domain is a boolean", "spec.domain", am(domain=True))
    c.cd("wrong-type", "domain is a list", "spec.domain", am(domain=["login.example.com"]))
    c.cd("wrong-type", "domain is an object", "spec.domain", am(domain={"name": "login.example.com"}))
    c.cd("wrong-type", "type is a number", "spec.type", {"domain": "login.example.com", "type": 1})
    c.cd("wrong-type", "tenantRef is a string", "spec.tenantRef", am(tenantRef="default"))
    c.cd("wrong-type", "tenantRef.name is a number", "spec.tenantRef.name", am(tenantRef={"name": 7}))
    c.cd("wrong-type", "mtls is a boolean", "spec.mtls", sm(mtls=True))
    c.cd("wrong-type", "mtls.enabled is the string \"true\"", "spec.mtls.enabled", sm(mtls={"enabled": "true"}))
    c.cd("wrong-type", "mtls.enabled is yes", "spec.mtls.enabled", sm(mtls={"enabled": "yes"}))
    c.cd("wrong-type", "mtls.enabled is 1", "spec.mtls.enabled", sm(mtls={"enabled": 1}))
    c.cd("wrong-type", "dnsEndpoint.enabled is a string", "spec.dnsEndpoint.enabled", am(dnsEndpoint={"enabled": "true"}))
    c.cd("wrong-type", "dnsEndpoint is a list", "spec.dnsEndpoint", am(dnsEndpoint=[{"enabled": True}]))
    c.cd("wrong-type", "secretName is a number", "spec.secretName", am(secretName=5))
    c.cd("wrong-type", "relyingPartyIdentifier is a list", "spec.relyingPartyIdentifier", am(relyingPartyIdentifier=["example.com"]))
    c.cd("wrong-type", "certificate is a string", "spec.certificate", sm(certificate="letsencrypt"))
    c.cd("wrong-type", "certificate.issuerRef is a string", "spec.certificate.issuerRef", sm(certificate={"issuerRef": "letsencrypt"}))
    c.cd("wrong-type", "issuerRef.name is a number", "spec.certificate.issuerRef.name", sm(certificate={"issuerRef": {"name": 1}}))
    c.cd("wrong-type", "tlsPolicy is a boolean", "spec.tlsPolicy", am(tlsPolicy=True))
    c.cd("wrong-type", "deletionPolicy is a list", "spec.deletionPolicy", am(deletionPolicy=["Delete"]))
    c.add("CustomDomain", "wrong-type", "spec is a string", "spec", cd, spec="login.example.com")
    c.add("CustomDomain", "wrong-type", "spec is a list", "spec", cd, spec=[am()])


def required_cases(c):
    c.cd("required", "domain missing", "spec.domain", {"type": "Auth0ManagedCerts"})
    c.cd("required", "type missing", "spec.type", {"domain": "login.example.com"})
    c.cd("required", "spec empty", "spec.domain", {})
    c.cd("required", "issuerRef.name missing", "spec.certificate.issuerRef.name", sm(certificate={"issuerRef": {"kind": "ClusterIssuer"}}))


def cross_field_cases(c):
    c.cd("cross-field", "verificationMethod on Auth0-managed", "spec.verificationMethod", am(verificationMethod="TXT"))
    c.cd("cross-field", "mtls on Auth0-managed", "spec.mtls", am(mtls={"enabled": True}))
    c.cd("cross-field", "certificate.issuerRef on Auth0-managed", "spec.certificate", am(certificate={"issuerRef": {"name": "letsencrypt"}}))
    # Auth0 answers 400 to each type's foreign field; admission says so first.
    c.cd("cross-field", "tlsPolicy on self-managed", "spec.tlsPolicy", sm(tlsPolicy="recommended"))
    c.cd("cross-field", "customClientIPHeader on Auth0-managed", "spec.customClientIPHeader", am(customClientIPHeader="true-client-ip"))
    c.cd(
        "cross-field",
        "relyingPartyIdentifier not a suffix of the domain",
        "spec.relyingPartyIdentifier",
        sm(relyingPartyIdentifier="other.example.org"),
    )
    c.cd(
        "cross-field",
        "relyingPartyIdentifier longer than the domain",
        "spec.relyingPartyIdentifier",
        sm(domain="example.com", relyingPartyIdentifier="login.example.com"),
    )
    c.cd(
        "cross-field",
        "relyingPartyIdentifier a partial label",
        "spec.relyingPartyIdentifier",
        sm(domain="login.myexample.com", relyingPartyIdentifier="example.com"),
    )


def field_value_cases(c):
    for label, v in [
        ("secretName with underscore and capitals", "Bad_Name"),
        ("secretName ends with hyphen", "edge-"),
        ("secretName starts with dot", ".edge"),
        ("secretName empty label", "edge..secret"),
        ("secretName empty", ""),
        ("secretName of 254 characters", "s" * 254),
        ("secretName with slash", "ns/edge"),
    ]:
        c.cd("field-value", label, "spec.secretName", sm(secretName=v))
    for label, v in [
        ("relyingPartyIdentifier empty", ""),
        ("relyingPartyIdentifier URL", "https://login.example.com"),
        ("relyingPartyIdentifier with port", "login.example.com:443"),
        ("relyingPartyIdentifier upper-case", "Example.com"),
        ("relyingPartyIdentifier of 254 characters", "r" * 254),
    ]:
        c.cd("field-value", label, "spec.relyingPartyIdentifier", sm(relyingPartyIdentifier=v))
    for label, v in [
        ("tenantRef.name empty", ""),
        ("tenantRef.name with capitals", "Default"),
        ("tenantRef.name with underscore", "eu_tenant"),
        ("tenantRef.name of 254 characters", "t" * 254),
    ]:
        c.cd("field-value", label, "spec.tenantRef.name", am(tenantRef={"name": v}))
    c.cd("field-value", "issuerRef.name empty", "spec.certificate.issuerRef.name", sm(certificate={"issuerRef": {"name": ""}}))


def unknown_field_cases(c):
    for label, field, spec in [
        ("misspelt field", "spec.domian", am(domian="x")),
        ("snake_case verification_method", "spec.verification_method", sm(verification_method="TXT")),
        ("capitalised Domain next to domain", "spec.Domain", am(Domain="login.example.com")),
        ("Auth0 wire name domain_metadata", "spec.domain_metadata", am(domain_metadata={"team": "id"})),
        ("tenantRef.namespace (tenants are cluster-scoped)", "spec.tenantRef.namespace", am(tenantRef={"name": "eu", "namespace": "auth0"})),
        ("mtls.enable", "spec.mtls.enable", sm(mtls={"enable": True})),
        ("dnsEndpoint.provider", "spec.dnsEndpoint.provider", am(dnsEndpoint={"enabled": True, "provider": "route53"})),
        ("issuerRef.namespace", "spec.certificate.issuerRef.namespace", sm(certificate={"issuerRef": {"name": "le", "namespace": "cert-manager"}})),
        ("cnameApiKey in spec", "spec.cnameApiKey", sm(cnameApiKey="do-not-put-keys-here")),
        ("status fields in spec", "spec.state", am(state="Ready")),
    ]:
        c.cd("unknown-field", label, field, spec)
    c.add(
        "CustomDomain",
        "unknown-field",
        "top-level specs",
        "specs",
        lambda name, spec: {**cd(name, am()), "specs": spec},
        spec=am(),
    )


def object_meta_cases(c):
    c.add("CustomDomain", "object-meta", "metadata.name with capitals", "metadata.name",
          lambda name, spec: cd("Login_Example", spec), spec=am())
    c.add("CustomDomain", "object-meta", "metadata.name of 254 characters", "metadata.name",
          lambda name, spec: cd("n" * 254, spec), spec=am())
    # The name labels the Secret and child objects; label values end at 63 characters.
    c.add("CustomDomain", "object-meta", "metadata.name of 64 characters", "metadata.name",
          lambda name, spec: cd("n" * 64, spec), spec=am())
    c.add("Auth0Tenant", "object-meta", "tenant metadata.name with underscore", "metadata.name",
          lambda name, spec: tenant("eu_tenant", spec), spec=tspec())


def immutable_cases(c):
    c.cd_change("domain changed", "spec.domain", am(), am(domain="auth.example.com"))
    c.cd_change("domain changed on self-managed", "spec.domain", sm(), sm(domain="login.example.org"))
    c.cd_change("domain gains a subdomain", "spec.domain", am(), am(domain="eu.login.example.com"))
    c.cd_change("type Auth0-managed to self-managed", "spec.type", am(), sm())
    c.cd_change("type self-managed to Auth0-managed", "spec.type", sm(), am())
    c.cd_change("tenantRef default to eu", "spec.tenantRef", am(), am(tenantRef={"name": "eu"}))
    c.cd_change("tenantRef eu to us", "spec.tenantRef", am(tenantRef={"name": "eu"}), am(tenantRef={"name": "us"}))
    c.cd_change("tenantRef eu to default (removed)", "spec.tenantRef", am(tenantRef={"name": "eu"}), am())
    c.cd_change("domain and type changed together", "spec.domain", sm(), am(domain="new.example.com"))


def tenant_cases(c):
    for label, v in [
        ("domain with scheme", "https://acme.eu.auth0.com"),
        ("domain with path", "acme.eu.auth0.com/api/v2"),
        ("domain with port", "acme.eu.auth0.com:443"),
        ("domain upper-case", "ACME.eu.auth0.com"),
        ("domain single label", "acme"),
        ("domain trailing dot", "acme.eu.auth0.com."),
        ("domain wildcard", "*.auth0.com"),
        ("domain IPv4", "10.1.2.3"),
        ("domain empty", ""),
        ("domain unicode", "acmé.eu.auth0.com"),
        ("domain label of 64 characters", "a" * 64 + ".auth0.com"),
        ("domain is a number", 5),
    ]:
        c.t("tenant-domain", label, "spec.domain", tspec(domain=v))
    for label, v in [
        ("managementApiUrl ftp scheme", "ftp://acme.eu.auth0.com"),
        ("managementApiUrl without scheme", "acme.eu.auth0.com"),
        ("managementApiUrl scheme only", "https://"),
        ("managementApiUrl with space", "https://acme eu.auth0.com"),
        ("managementApiUrl with query", "https://acme.eu.auth0.com/?debug=1"),
        ("managementApiUrl with fragment", "https://acme.eu.auth0.com/#x"),
        ("managementApiUrl javascript", "javascript:alert(1)"),
        ("managementApiUrl of 2049 characters", "https://acme.eu.auth0.com/" + "p" * 2023),
        ("managementApiUrl is a number", 443),
    ]:
        c.t("tenant-url", label, "spec.managementApiUrl", tspec(managementApiUrl=v))
    ref = {"namespace": "auth0", "name": "creds"}
    for label, field, v in [
        ("credentialsSecretRef.name missing", "spec.credentialsSecretRef.name", {"namespace": "auth0"}),
        ("credentialsSecretRef.namespace missing", "spec.credentialsSecretRef.namespace", {"name": "creds"}),
        ("credentialsSecretRef.namespace upper-case", "spec.credentialsSecretRef.namespace", {**ref, "namespace": "Auth0"}),
        ("credentialsSecretRef.namespace with dot", "spec.credentialsSecretRef.namespace", {**ref, "namespace": "auth0.system"}),
        ("credentialsSecretRef.namespace of 64 characters", "spec.credentialsSecretRef.namespace", {**ref, "namespace": "n" * 64}),
        ("credentialsSecretRef.name with underscore", "spec.credentialsSecretRef.name", {**ref, "name": "auth0_creds"}),
        ("credentialsSecretRef.name empty", "spec.credentialsSecretRef.name", {**ref, "name": ""}),
        ("credentialsSecretRef.clientIdKey empty", "spec.credentialsSecretRef.clientIdKey", {**ref, "clientIdKey": ""}),
        ("credentialsSecretRef.clientIdKey with space", "spec.credentialsSecretRef.clientIdKey", {**ref, "clientIdKey": "client id"}),
        ("credentialsSecretRef.clientSecretKey path", "spec.credentialsSecretRef.clientSecretKey", {**ref, "clientSecretKey": "../client_secret"}),
        ("credentialsSecretRef.clientSecretKey of 254 characters", "spec.credentialsSecretRef.clientSecretKey", {**ref, "clientSecretKey": "k" * 254}),
        ("credentialsSecretRef is a string", "spec.credentialsSecretRef", "auth0/creds"),
        ("credentialsSecretRef.key unknown field", "spec.credentialsSecretRef.key", {**ref, "key": "client_secret"}),
    ]:
        c.t("tenant-secret-ref", label, field, tspec(credentialsSecretRef=v))
    for label, field, v in [
        ("requestsPerSecond 0", "spec.rateLimit.requestsPerSecond", {"requestsPerSecond": 0}),
        ("requestsPerSecond negative", "spec.rateLimit.requestsPerSecond", {"requestsPerSecond": -1}),
        ("requestsPerSecond 1001", "spec.rateLimit.requestsPerSecond", {"requestsPerSecond": 1001}),
        ("requestsPerSecond is a string", "spec.rateLimit.requestsPerSecond", {"requestsPerSecond": "10"}),
        ("requestsPerSecond fractional", "spec.rateLimit.requestsPerSecond", {"requestsPerSecond": 1.5}),
        ("burst 0", "spec.rateLimit.burst", {"burst": 0}),
        ("burst 10001", "spec.rateLimit.burst", {"burst": 10001}),
        ("burst is a string", "spec.rateLimit.burst", {"burst": "5"}),
        ("rateLimit is a number", "spec.rateLimit", 2),
        ("rateLimit unknown field perMinute", "spec.rateLimit.perMinute", {"perMinute": 60}),
    ]:
        c.t("tenant-rate-limit", label, field, tspec(rateLimit=v))
    for label, v in [
        ("resyncInterval 10s (below 30s)", "10s"),
        ("resyncInterval 29s", "29s"),
        ("resyncInterval 0s", "0s"),
        ("resyncInterval 0m", "0m"),
        ("resyncInterval in words", "10 minutes"),
        ("resyncInterval empty", ""),
        ("resyncInterval without unit", "600"),
        ("resyncInterval in days", "1d"),
        ("resyncInterval negative", "-5m"),
        ("resyncInterval milliseconds", "500ms"),
        ("resyncInterval fractional", "1.5h"),
        ("resyncInterval upper-case unit", "10M"),
        ("resyncInterval ISO 8601", "PT10M"),
        ("resyncInterval absurdly long", "99999999999999h"),
        ("resyncInterval is a number", 600),
    ]:
        c.t("tenant-resync", label, "spec.resyncInterval", tspec(resyncInterval=v))
    for label, v in [
        ("entitlement 0", 0),
        ("entitlement negative", -5),
        ("entitlement 100001", 100001),
        ("entitlement is a string", "20"),
        ("entitlement fractional", 20.5),
        ("entitlement is a boolean", True),
    ]:
        c.t("tenant-entitlement", label, "spec.entitlement", tspec(entitlement=v))
    for label, v in [
        ("defaultCustomDomain wildcard", "*.example.com"),
        ("defaultCustomDomain upper-case", "Login.example.com"),
        ("defaultCustomDomain trailing dot", "login.example.com."),
        ("defaultCustomDomain empty", ""),
        ("defaultCustomDomain URL", "https://login.example.com"),
    ]:
        c.t("tenant-default-domain", label, "spec.defaultCustomDomain", tspec(defaultCustomDomain=v))
    for label, field, v in [
        ("allowedNamespaces.from Some", "spec.allowedNamespaces.from", {"from": "Some"}),
        ("allowedNamespaces.from lower-case all", "spec.allowedNamespaces.from", {"from": "all"}),
        ("allowedNamespaces Selector without selector", "spec.allowedNamespaces", {"from": "Selector"}),
        ("allowedNamespaces is a string", "spec.allowedNamespaces", "All"),
        ("allowedNamespaces.selector is a string", "spec.allowedNamespaces.selector", {"from": "Selector", "selector": "team=id"}),
        ("allowedNamespaces.selector.matchLabels value a number", "spec.allowedNamespaces.selector.matchLabels", {"from": "Selector", "selector": {"matchLabels": {"team": 1}}}),
        ("allowedNamespaces.namespaces unknown field", "spec.allowedNamespaces.namespaces", {"from": "All", "namespaces": ["a"]}),
    ]:
        c.t("tenant-namespaces", label, field, tspec(allowedNamespaces=v))
    for label, field, v in [
        ("mtls.enableEndpointAliases is a string", "spec.mtls.enableEndpointAliases", {"enableEndpointAliases": "true"}),
        ("mtls is a boolean", "spec.mtls", True),
        ("mtls.enabled (the CustomDomain field) on a tenant", "spec.mtls.enabled", {"enabled": True}),
    ]:
        c.t("tenant-mtls", label, field, tspec(mtls=v))
    c.t("required", "tenant domain missing", "spec.domain", {"credentialsSecretRef": {"namespace": "auth0", "name": "creds"}})
    c.t("required", "tenant credentialsSecretRef missing", "spec.credentialsSecretRef", {"domain": "acme.eu.auth0.com"})
    c.t("unknown-field", "client secret inline in the tenant", "spec.clientSecret", tspec(clientSecret="do-not-put-secrets-here"))
    c.t("unknown-field", "tenant misspelt rateLimits", "spec.rateLimits", tspec(rateLimits={"burst": 5}))


def build():
    rng = random.Random(SEED)
    c = Corpus()
    fqdn_cases(c, rng)
    metadata_cases(c)
    enum_cases(c)
    type_cases(c)
    required_cases(c)
    cross_field_cases(c)
    field_value_cases(c)
    unknown_field_cases(c)
    object_meta_cases(c)
    immutable_cases(c)
    tenant_cases(c)
    return c.cases


def write(out):
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if f.endswith(".yaml") or f == "index.json":
            os.remove(os.path.join(out, f))
    cases = build()
    index = []
    for case in cases:
        with open(os.path.join(out, case["file"]), "w", encoding="utf-8") as f:
            f.write(document(case, case["_manifest"], "manifest"))
        if "base" in case:
            with open(os.path.join(out, case["base"]), "w", encoding="utf-8") as f:
                f.write(document(case, case["_base"], "base"))
        index.append({k: v for k, v in case.items() if not k.startswith("_")})
    with open(os.path.join(out, "index.json"), "w", encoding="utf-8") as f:
        json.dump({"seed": SEED, "namespace": NAMESPACE, "cases": index}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return index


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    index = write(out)
    print(f"wrote {len(index)} cases to {out}")
