"""Every field the simulator sends is one the SDK's generated model declares for that endpoint (the
models come from Auth0's API definition). Both SDKs tolerate extra fields, so an extra field cannot
break them; this test keeps the known extras explicit instead of letting new ones slip in."""

from __future__ import annotations

from typing import Any

from auth0.management.types.create_custom_domain_response_content import CreateCustomDomainResponseContent
from auth0.management.types.custom_domain import CustomDomain
from auth0.management.types.domain_certificate import DomainCertificate
from auth0.management.types.domain_verification import DomainVerification
from auth0.management.types.domain_verification_method import DomainVerificationMethod
from auth0.management.types.get_custom_domain_response_content import GetCustomDomainResponseContent
from auth0.management.types.update_custom_domain_response_content import UpdateCustomDomainResponseContent
from auth0.management.types.verify_custom_domain_response_content import VerifyCustomDomainResponseContent

# Sent by the simulator although the SDK model of that endpoint does not declare them (reported as
# discrepancies in the conformance report; harmless to both SDKs).
# `created_at` is in every real answer since 2025 but not in the API definition.
KNOWN_EXTRAS = {
    "create": {"created_at"},
    "get": {"created_at"},
    "list": {"created_at"},
    "update": {"created_at"},
    # The verify response model has no relying_party_identifier.
    "verify": {"created_at", "relying_party_identifier"},
}


def _extras(obj: dict, model: Any) -> set[str]:
    return set(obj) - set(model.model_fields)


def _check(label: str, obj: dict, model: Any) -> None:
    extra = _extras(obj, model) - KNOWN_EXTRAS.get(label, set())
    assert not extra, f"{label}: fields not in the SDK model {model.__name__}: {sorted(extra)}"
    if "verification" in obj:
        v = obj["verification"]
        assert not _extras(v, DomainVerification), f"{label}.verification: {sorted(_extras(v, DomainVerification))}"
        for m in v.get("methods", []):
            assert not _extras(m, DomainVerificationMethod), f"{label}.verification.methods: {m}"
    if "certificate" in obj:
        assert not _extras(obj["certificate"], DomainCertificate), f"{label}.certificate: {obj['certificate']}"


def test_responses_carry_only_declared_fields(mgmt, dns, fresh_domain):
    raw = mgmt.raw.custom_domains.with_raw_response
    for kind in ("auth0_managed_certs", "self_managed_certs"):
        name = fresh_domain("wire")
        created = raw.create(domain=name, type=kind, domain_metadata={"a": "b"}, relying_party_identifier=name)
        body = created._response.json()
        _check("create", body, CreateCustomDomainResponseContent)
        cid = body["custom_domain_id"]
        _check("get", raw.get(cid)._response.json(), GetCustomDomainResponseContent)
        for item in raw.list(q=f"domain:{name}")._response.json():
            _check("list", item, CustomDomain)
        _check("update", raw.update(cid, domain_metadata={"c": "d"})._response.json(), UpdateCustomDomainResponseContent)
        method = body["verification"]["methods"][0]
        if kind == "self_managed_certs":
            dns.put(method["domain"], "TXT", method["record"])
        else:
            dns.put(name, "CNAME", method["record"])
        first = raw.verify(cid)._response.json()
        _check("verify", first, VerifyCustomDomainResponseContent)
        assert "is_default" not in first
        assert ("cname_api_key" in first) == (kind == "self_managed_certs")
