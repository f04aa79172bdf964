"""auth0-python `custom_domains.verify` / `test` with records published in the test DNS server."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

import pytest
from auth0.management.errors.bad_request_error import BadRequestError
from auth0.management.errors.conflict_error import ConflictError

from checks import assert_error, sent

CERT_WAIT_S = 15.0


def test_self_managed_verify_returns_key_once(mgmt, dns, fresh_domain):
    name = fresh_domain("smv")
    created = mgmt.custom_domains.create(domain=name, type="self_managed_certs")
    cid = created.custom_domain_id
    method = created.verification.methods[0]

    # No record yet: still pending, and no key is handed out.
    early = mgmt.custom_domains.verify(cid)
    assert early.custom_domain_id == cid
    assert early.status == "pending_verification"
    assert not sent(early, "cname_api_key")
    assert not sent(early, "origin_domain_name")

    dns.put(method.domain, "TXT", method.record)
    first = mgmt.custom_domains.verify(cid)
    assert first.custom_domain_id == cid
    assert first.domain == name
    assert first.type == "self_managed_certs"
    assert first.status == "ready"
    assert isinstance(first.cname_api_key, str) and len(first.cname_api_key) >= 16
    assert isinstance(first.origin_domain_name, str) and ".edge.tenants." in first.origin_domain_name

    assert len(first.cname_api_key) == 128 and all(c in "0123456789abcdef" for c in first.cname_api_key)
    assert not sent(first, "is_default"), "verify answers carry no is_default"
    with pytest.raises(BadRequestError) as err:
        mgmt.custom_domains.verify(cid, request_options={"max_retries": 0})
    body = assert_error(err.value, 400, None)
    assert body["message"] == "Custom domain already verified."
    assert "cname_api_key" not in body, "the key must be handed out only once"

    got = mgmt.custom_domains.get(cid)
    assert got.status == "ready"
    assert not sent(got, "cname_api_key")
    assert got.origin_domain_name == first.origin_domain_name
    listed = [d for d in mgmt.custom_domains.list(q=f"domain:{name}")]
    assert len(listed) == 1 and listed[0].status == "ready" and not sent(listed[0], "cname_api_key")

    # The simulator's bookkeeping agrees with what the SDK received.
    status, domains = mgmt_control_domains(mgmt)
    assert status == 200
    mine = [d for d in domains if d["custom_domain_id"] == cid]
    assert len(mine) == 1, f"{cid} missing from control listing"
    assert mine[0]["cname_api_key"] == first.cname_api_key

    # test() on a ready domain answers the typed success object.
    t = mgmt.custom_domains.test(cid)
    assert t.success is True
    assert isinstance(t.message, str) and t.message


def mgmt_control_domains(mgmt):
    sim = mgmt.sim
    return sim.control("GET", "domains")


def test_auth0_managed_verify_then_certificate_provisioned(mgmt, dns, fresh_domain):
    name = fresh_domain("amv")
    created = mgmt.custom_domains.create(domain=name, type="auth0_managed_certs")
    cid = created.custom_domain_id
    target = created.verification.methods[0].record

    # test() before the domain is ready: 409.
    with pytest.raises(ConflictError) as err:
        mgmt.custom_domains.test(cid, request_options={"max_retries": 0})
    assert assert_error(err.value, 409, None)["message"] == "The custom domain is not ready."

    # No record: 200 and the domain as it was (no verification.status, no is_default).
    failed = mgmt.custom_domains.verify(cid)
    assert failed.status == "pending_verification"
    assert failed.verification.status is None
    assert not sent(failed, "is_default")
    assert not sent(failed, "cname_api_key")

    dns.put(name, "CNAME", target)
    ok = mgmt.custom_domains.verify(cid)
    assert ok.custom_domain_id == cid
    assert ok.verification.status == "verified"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ok.verification.last_verified_at)
    assert ok.certificate.status in ("provisioning", "provisioned")
    assert not sent(ok, "cname_api_key"), "Auth0-managed domains never get a cname_api_key"

    deadline = time.monotonic() + CERT_WAIT_S
    got = mgmt.custom_domains.get(cid)
    while got.certificate.status != "provisioned" and time.monotonic() < deadline:
        time.sleep(0.1)
        got = mgmt.custom_domains.get(cid)
    assert got.certificate.status == "provisioned"
    assert got.status == "ready"
    assert got.certificate.certificate_authority in ("letsencrypt", "googletrust")
    renews = datetime.fromisoformat(got.certificate.renews_before.replace("Z", "+00:00"))
    days = (renews - datetime.now(timezone.utc)).total_seconds() / 86400
    assert 89.9 < days < 90.1, got.certificate.renews_before
    assert not sent(got, "origin_domain_name"), "Auth0-managed domains never show origin_domain_name"
    assert not sent(got, "cname_api_key")

    t = mgmt.custom_domains.test(cid)
    assert t.success is True
