"""Typed errors the SDK raises for the simulator's refusals: status code and Auth0 `errorCode`."""

from __future__ import annotations

import time

import pytest
from auth0.management.errors.bad_request_error import BadRequestError
from auth0.management.errors.conflict_error import ConflictError
from auth0.management.errors.forbidden_error import ForbiddenError
from auth0.management.errors.too_many_requests_error import TooManyRequestsError

from checks import assert_error
from conftest import FULL, READ_ONLY, Mgmt

NO_RETRY = {"max_retries": 0}


def test_duplicate_domain_is_conflict(mgmt, fresh_domain):
    name = fresh_domain("dup")
    first = mgmt.custom_domains.create(domain=name, type="self_managed_certs")
    with pytest.raises(ConflictError) as err:
        mgmt.custom_domains.create(domain=name, type="auth0_managed_certs", request_options=NO_RETRY)
    assert_error(err.value, 409, None)
    # The refusal changed nothing.
    same = mgmt.custom_domains.list(q=f"domain:{name}")
    assert [(d.custom_domain_id, d.type) for d in same] == [(first.custom_domain_id, "self_managed_certs")]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"domain": "not a hostname", "type": "self_managed_certs"}, id="bad-hostname"),
        pytest.param({"domain": "*.wild.example.com", "type": "self_managed_certs"}, id="wildcard"),
        pytest.param({"domain": "ok.example.com", "type": "bring_your_own"}, id="bad-type-enum"),
        pytest.param({"domain": "ok.example.com", "type": "auth0_managed_certs", "tls_policy": "compatible"}, id="tls-compatible"),
        pytest.param(
            {"domain": "ok.example.com", "type": "self_managed_certs", "custom_client_ip_header": "x-real-ip"},
            id="bad-ip-header",
        ),
        pytest.param(
            {"domain": "ok.example.com", "type": "self_managed_certs", "domain_metadata": {f"k{i}": "v" for i in range(11)}},
            id="eleven-metadata-keys",
        ),
        pytest.param(
            {"domain": "ok.example.com", "type": "self_managed_certs", "domain_metadata": {"k": "x" * 256}},
            id="metadata-value-256",
        ),
    ],
)
def test_invalid_create_body_is_invalid_body(mgmt, kwargs):
    with pytest.raises(BadRequestError) as err:
        mgmt.custom_domains.create(**kwargs, request_options=NO_RETRY)
    assert_error(err.value, 400, "invalid_body")
    if kwargs["domain"] == "ok.example.com":
        assert mgmt.custom_domains.list(q="domain:ok.example.com") == []


def test_unknown_property_is_invalid_body(mgmt, fresh_domain):
    name = fresh_domain("unk")
    with pytest.raises(BadRequestError) as err:
        mgmt.custom_domains.create(
            domain=name,
            type="self_managed_certs",
            request_options={"additional_body_parameters": {"colour": "blue"}, **NO_RETRY},
        )
    body = assert_error(err.value, 400, "invalid_body")
    assert "colour" in body["message"]
    assert mgmt.custom_domains.list(q=f"domain:{name}") == []


def test_boundary_metadata_is_accepted(mgmt, fresh_domain):
    meta = {f"k{i}": "v" * 255 for i in range(10)}
    d = mgmt.custom_domains.create(domain=fresh_domain("meta"), type="self_managed_certs", domain_metadata=meta)
    assert d.domain_metadata == meta


def test_read_only_client_gets_insufficient_scope_on_writes(sim, fresh_domain):
    ro = Mgmt(sim, READ_ONLY)
    assert isinstance(ro.custom_domains.list(), list)
    with pytest.raises(ForbiddenError) as err:
        ro.custom_domains.create(domain=fresh_domain("ro"), type="self_managed_certs", request_options=NO_RETRY)
    body = assert_error(err.value, 403, "insufficient_scope")
    assert "create:custom_domains" in body["message"]

    full = Mgmt(sim, FULL)
    cid = full.custom_domains.create(domain=fresh_domain("ro2"), type="self_managed_certs").custom_domain_id
    for call, scope in (
        (lambda: ro.custom_domains.update(cid, tls_policy="recommended", request_options=NO_RETRY), "update:custom_domains"),
        (lambda: ro.custom_domains.delete(cid, request_options=NO_RETRY), "delete:custom_domains"),
        (lambda: ro.custom_domains.verify(cid, request_options=NO_RETRY), "create:custom_domains"),
    ):
        with pytest.raises(ForbiddenError) as err:
            call()
        assert scope in assert_error(err.value, 403, "insufficient_scope")["message"]
    # Nothing changed behind the refusals.
    assert full.custom_domains.get(cid).status == "pending_verification"


def test_entitlement_is_refused_with_409(sim_factory, fresh_domain):
    sim = sim_factory("pyentitle", extra=["--max-domains", "2", "--rate-limit", "1000:1000"])
    m = Mgmt(sim, FULL)
    m.custom_domains.create(domain=fresh_domain("e1"), type="self_managed_certs")
    m.custom_domains.create(domain=fresh_domain("e2"), type="self_managed_certs")
    with pytest.raises(ConflictError) as err:
        m.custom_domains.create(domain=fresh_domain("e3"), type="self_managed_certs", request_options=NO_RETRY)
    body = assert_error(err.value, 409, None)
    assert body["message"] == "You reached the maximum number of custom domains for your account."
    assert len(m.custom_domains.list()) == 2


def test_plan_without_custom_domains_is_403(sim_factory, fresh_domain):
    sim = sim_factory("pynoplan", extra=["--no-custom-domains-plan", "--rate-limit", "1000:1000"])
    m = Mgmt(sim, FULL)
    with pytest.raises(ForbiddenError) as err:
        m.custom_domains.create(domain=fresh_domain("np"), type="self_managed_certs", request_options=NO_RETRY)
    body = assert_error(err.value, 403, None)
    assert body["message"] == "The account is not allowed to perform this operation."


def _headers(exc) -> dict:
    return {k.lower(): v for k, v in (exc.headers or {}).items()}


def test_tenant_rate_limit_is_too_many_requests(sim_factory):
    sim = sim_factory("pyratelimit", extra=["--rate-limit", "0.1:3"])
    m = Mgmt(sim, FULL)
    seen = []
    with pytest.raises(TooManyRequestsError) as err:
        for _ in range(10):
            seen.append(m.custom_domains.with_raw_response.list(request_options=NO_RETRY))
    assert 1 <= len(seen) <= 3
    remaining = [int(r.headers["x-ratelimit-remaining"]) for r in seen]
    assert remaining == sorted(remaining, reverse=True)
    assert all(r.headers["x-ratelimit-limit"] == "3" for r in seen)
    body = assert_error(err.value, 429, "too_many_requests")
    assert body["error"] == "Too Many Requests"
    h = _headers(err.value)
    assert h["x-ratelimit-limit"] == "3"
    assert h["x-ratelimit-remaining"] == "0"
    assert int(h["x-ratelimit-reset"]) >= int(time.time())


def test_sdk_retry_honours_ratelimit_reset(sim_factory):
    """With its default retries the SDK waits for `x-ratelimit-reset` and then succeeds."""
    sim = sim_factory("pyretry", extra=["--rate-limit", "2:1"])
    m = Mgmt(sim, FULL)
    m.custom_domains.list()  # drains the single-token bucket
    start = time.monotonic()
    assert isinstance(m.custom_domains.list(), list)
    assert time.monotonic() - start < 10


def test_verify_has_its_own_bucket(sim_factory, fresh_domain):
    sim = sim_factory("pyverifylimit", extra=["--rate-limit", "1000:1000", "--verify-limit", "2:60"])
    m = Mgmt(sim, FULL)
    cid = m.custom_domains.create(domain=fresh_domain("vl"), type="self_managed_certs").custom_domain_id
    first = m.custom_domains.with_raw_response.verify(cid, request_options=NO_RETRY)
    assert first.headers["x-ratelimit-limit"] == "2"
    assert first.headers["x-ratelimit-remaining"] == "1"
    m.custom_domains.verify(cid, request_options=NO_RETRY)
    with pytest.raises(TooManyRequestsError) as err:
        m.custom_domains.verify(cid, request_options=NO_RETRY)
    assert_error(err.value, 429, "too_many_requests")
    h = _headers(err.value)
    assert h["x-ratelimit-limit"] == "2" and h["x-ratelimit-remaining"] == "0"
    # Reset = when the verify bucket is full again: 2 tokens at 2/60 s → about 60 s away.
    assert 30 <= int(h["x-ratelimit-reset"]) - time.time() <= 61
    # Other endpoints are not throttled by verify's bucket.
    assert m.custom_domains.get(cid).custom_domain_id == cid
