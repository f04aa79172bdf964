"""The uncertain readings, switched to their alternative, as the SDK sees them; and
injected faults. Each group runs on a simulator of its own."""

from __future__ import annotations

import pytest
from auth0.management.core.api_error import ApiError
from auth0.management.errors.bad_request_error import BadRequestError
from auth0.management.errors.conflict_error import ConflictError
from auth0.management.errors.too_many_requests_error import TooManyRequestsError

from checks import assert_error, sent
from conftest import FULL, Mgmt

NO_RETRY = {"max_retries": 0}
ROOMY = ["--rate-limit", "1000:1000", "--verify-limit", "1000:1"]


@pytest.fixture(scope="module")
def alt_sim(sim_factory):
    return sim_factory(
        "pyreadings",
        extra=[
            *ROOMY,
            "--cert-delay",
            "600000",  # certificates stay `provisioning` for the whole module
            "--verify-failure-400",
            "--no-pagination",
            "--metadata-replace",
            "--relaxed-type-fields",
            "--origin-only-in-first-verify",
            "--lowercase-method-names",
            "--conflict-while-provisioning",
        ],
    )


def test_failed_verify_as_400(alt_sim, fresh_domain):
    m = Mgmt(alt_sim, FULL)
    d = m.custom_domains.create(domain=fresh_domain("v400"), type="auth0_managed_certs")
    with pytest.raises(BadRequestError) as err:
        m.custom_domains.verify(d.custom_domain_id, request_options=NO_RETRY)
    assert_error(err.value, 400, "custom_domain_not_verified")
    got = m.custom_domains.get(d.custom_domain_id)
    assert got.status == "pending_verification"
    # Lower-case method names in this reading (older tenants, the API definition).
    assert getattr(got.verification.methods[0].name, "value", got.verification.methods[0].name) == "cname"


def test_pagination_refused(alt_sim):
    m = Mgmt(alt_sim, FULL)
    with pytest.raises(ApiError) as err:
        m.custom_domains.list(request_options={"additional_query_parameters": {"take": 2}, **NO_RETRY})
    assert_error(err.value, 400, "invalid_query_string")
    assert isinstance(m.custom_domains.list(), list)


def test_metadata_replace(alt_sim, fresh_domain):
    m = Mgmt(alt_sim, FULL)
    d = m.custom_domains.create(domain=fresh_domain("repl"), type="self_managed_certs", domain_metadata={"a": "1", "b": "2"})
    updated = m.custom_domains.update(d.custom_domain_id, domain_metadata={"c": "3"})
    assert updated.domain_metadata == {"c": "3"}
    assert m.custom_domains.get(d.custom_domain_id).domain_metadata == {"c": "3"}


def test_strict_type_fields_by_default(mgmt, fresh_domain):
    with pytest.raises(BadRequestError) as err:
        mgmt.custom_domains.create(
            domain=fresh_domain("st1"), type="self_managed_certs", tls_policy="recommended", request_options=NO_RETRY
        )
    body = assert_error(err.value, 400, "invalid_body")
    assert body["message"] == "The 'tls_policy' cannot be set on self_managed domains"
    with pytest.raises(BadRequestError) as err:
        mgmt.custom_domains.create(
            domain=fresh_domain("st2"),
            type="auth0_managed_certs",
            custom_client_ip_header="true-client-ip",
            request_options=NO_RETRY,
        )
    body = assert_error(err.value, 400, "invalid_body")
    assert body["message"] == "The 'custom_client_ip_header' cannot be set on auth0_managed domains"
    ok = mgmt.custom_domains.create(domain=fresh_domain("st3"), type="auth0_managed_certs", tls_policy="recommended")
    assert ok.tls_policy == "recommended"


def test_relaxed_type_fields(alt_sim, fresh_domain):
    m = Mgmt(alt_sim, FULL)
    sm = m.custom_domains.create(domain=fresh_domain("rt1"), type="self_managed_certs", tls_policy="recommended")
    assert not sent(sm, "tls_policy"), "accepted, but never shown on a self-managed domain"
    am = m.custom_domains.create(
        domain=fresh_domain("rt2"), type="auth0_managed_certs", custom_client_ip_header="true-client-ip"
    )
    assert not sent(am, "custom_client_ip_header")


def test_origin_only_in_first_verify(alt_sim, dns, fresh_domain):
    m = Mgmt(alt_sim, FULL)
    d = m.custom_domains.create(domain=fresh_domain("orig"), type="self_managed_certs")
    method = d.verification.methods[0]
    dns.put(method.domain, "TXT", method.record)
    with_key = m.custom_domains.verify(d.custom_domain_id)
    assert with_key.cname_api_key
    assert with_key.origin_domain_name
    got = m.custom_domains.get(d.custom_domain_id)
    assert not sent(got, "origin_domain_name")
    assert not sent(got, "cname_api_key")


def test_conflict_while_certificate_provisioning(alt_sim, dns, fresh_domain):
    m = Mgmt(alt_sim, FULL)
    name = fresh_domain("busy")
    d = m.custom_domains.create(domain=name, type="auth0_managed_certs")
    dns.put(name, "CNAME", d.verification.methods[0].record)
    # The 400 reading applies only to failures; a found record verifies normally.
    ok = m.custom_domains.verify(d.custom_domain_id)
    assert ok.verification.status == "verified" and ok.certificate.status == "provisioning"
    with pytest.raises(ConflictError) as err:
        m.custom_domains.test(d.custom_domain_id, request_options=NO_RETRY)
    assert_error(err.value, 409, None)
    with pytest.raises(ConflictError) as err:
        m.custom_domains.delete(d.custom_domain_id, request_options=NO_RETRY)
    assert_error(err.value, 409, None)
    assert m.custom_domains.get(d.custom_domain_id).custom_domain_id == d.custom_domain_id


def test_injected_5xx_and_429_storm(sim_factory, fresh_domain):
    sim = sim_factory("pyfaults", extra=ROOMY)
    m = Mgmt(sim, FULL)
    cid = m.custom_domains.create(domain=fresh_domain("flt"), type="self_managed_certs").custom_domain_id

    status, _ = sim.control(
        "POST", "faults", {"error_rate": 1.0, "error_status": 503, "endpoint": "GET /api/v2/custom-domains/{id}"}
    )
    assert status in (200, 204)
    with pytest.raises(ApiError) as err:
        m.custom_domains.get(cid, request_options=NO_RETRY)
    assert_error(err.value, 503, None)
    # Only the named endpoint is affected.
    assert any(d.custom_domain_id == cid for d in m.custom_domains.list())
    status, _ = sim.control("DELETE", "faults")
    assert status in (200, 204)
    assert m.custom_domains.get(cid).custom_domain_id == cid

    status, _ = sim.control("POST", "storm", {"seconds": 30})
    assert status in (200, 204)
    with pytest.raises(TooManyRequestsError) as err:
        m.custom_domains.list(request_options=NO_RETRY)
    assert_error(err.value, 429, "too_many_requests")
