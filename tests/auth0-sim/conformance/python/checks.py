"""Field-by-field assertions shared by the Python conformance tests."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

ID_RE = re.compile(r"^cd_[A-Za-z0-9]{16}$")
TXT_PREFIX = "_cf-custom-hostname."


def sent(model: Any, key: str) -> bool:
    """Whether the JSON the SDK parsed into `model` carried `key` at all (declared or extra field)."""
    return key in model.model_fields_set or key in (model.model_extra or {})


def extra(model: Any, key: str) -> Any:
    """A field the JSON carried, declared by the SDK model or kept as an extra."""
    if key in model.model_fields_set:
        return getattr(model, key)
    return (model.model_extra or {}).get(key)


def assert_created_at(model: Any) -> datetime:
    """`created_at` (not in the API definition, but in every real answer since 2025) reaches the
    SDK's model and parses as ISO 8601 with milliseconds."""
    raw = extra(model, "created_at")
    assert isinstance(raw, (str, datetime)), f"created_at missing: {raw!r}"
    if isinstance(raw, datetime):
        return raw
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", raw), raw
    at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    assert at.tzinfo is not None and abs((datetime.now(timezone.utc) - at).total_seconds()) < 3600, raw
    return at


def method_name(method: Any) -> str:
    """`verification.methods[].name` as the SDK parsed it (a plain string or an enum member)."""
    name = method.name
    return getattr(name, "value", name)


def assert_error(exc: Any, status: int, error_code: str | None) -> dict:
    """The SDK's `ApiError` carries the status and Auth0's error body (`statusCode`, `error`, `message`, `errorCode`)."""
    assert exc.status_code == status, f"status {exc.status_code} != {status}: {exc.body}"
    body = exc.body
    assert isinstance(body, dict), f"error body is not JSON: {body!r}"
    assert body["statusCode"] == status
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    if error_code is None:
        assert "errorCode" not in body or body["errorCode"], body
    else:
        assert body.get("errorCode") == error_code, body
    # Every answer carries the rate-limit headers, errors included.
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    for h in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        assert h in headers and headers[h].isdigit(), f"{h} missing on {status}: {headers}"
    return body


def assert_new_domain(
    d: Any,
    domain: str,
    type_: str,
    *,
    tls_policy: str | None = None,
    custom_client_ip_header: str | None = None,
    domain_metadata: dict | None = None,
    relying_party_identifier: str | None = None,
) -> None:
    """A domain as create/get/list show it before any successful verify."""
    assert ID_RE.match(d.custom_domain_id), d.custom_domain_id
    assert d.domain == domain
    assert d.type == type_
    assert d.status == "pending_verification"
    # `primary` is deprecated upstream but still a required boolean in the SDK model.
    assert isinstance(d.primary, bool)
    assert not sent(d, "cname_api_key"), "cname_api_key must never appear before the first verify"
    assert_created_at(d)
    assert d.verification is not None and d.verification.methods, "verification.methods must be filled"
    assert len(d.verification.methods) == 1
    method = d.verification.methods[0]
    if type_ == "auth0_managed_certs":
        # Upper case, as every real answer since mid-2025 (the API definition says lower case).
        assert method_name(method) == "CNAME"
        # The CNAME is published at the custom domain itself and points at the CNAME target.
        assert method.domain == domain
        assert method.record and ".edge.tenants." in method.record and method.record != domain
        assert d.tls_policy == "recommended"
        assert not sent(d, "origin_domain_name")
        # Until Auth0's background job has looked at the domain: no certificate, no status.
        assert d.certificate is None or d.certificate.certificate_authority == "letsencrypt"
    else:
        assert method_name(method) == "TXT"
        assert not sent(d, "tls_policy")
        assert method.domain == TXT_PREFIX + domain
        assert isinstance(method.record, str) and len(method.record) >= 8
    if tls_policy is not None:
        assert d.tls_policy == tls_policy
    if custom_client_ip_header is not None:
        assert d.custom_client_ip_header == custom_client_ip_header
    if domain_metadata is not None:
        assert d.domain_metadata == domain_metadata
    if relying_party_identifier is not None:
        assert d.relying_party_identifier == relying_party_identifier
