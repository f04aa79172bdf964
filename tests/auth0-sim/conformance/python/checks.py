"""Field-by-field assertions shared by the Python conformance tests."""

from __future__ import annotations

import re
from typing import Any

ID_RE = re.compile(r"^cd_[A-Za-z0-9]{16}$")
TXT_PREFIX = "_cf-custom-hostname."


def sent(model: Any, key: str) -> bool:
    """Whether the JSON the SDK parsed into `model` carried `key` at all (declared or extra field)."""
    return key in model.model_fields_set or key in (model.model_extra or {})


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
    assert d.verification is not None and d.verification.methods, "verification.methods must be filled"
    assert len(d.verification.methods) == 1
    method = d.verification.methods[0]
    if type_ == "auth0_managed_certs":
        assert method.name == "cname"
        # The CNAME is published at the custom domain itself and points at the origin name.
        assert method.record and "." in method.record and method.record != domain
        assert d.certificate is not None and d.certificate.status == "provisioning"
    else:
        assert method.name == "txt"
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
