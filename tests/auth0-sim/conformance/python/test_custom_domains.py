"""auth0-python `custom_domains` create / get / list / update / test / delete against the simulator."""

from __future__ import annotations

import pytest
from auth0.management.core.api_error import ApiError
from auth0.management.core.parse_error import ParsingError
from auth0.management.errors.bad_request_error import BadRequestError
from auth0.management.errors.not_found_error import NotFoundError

from checks import ID_RE, assert_error, assert_new_domain, sent

NO_RETRY = {"max_retries": 0}


def test_create_auth0_managed_returns_pending_domain_with_cname_method(mgmt, fresh_domain):
    name = fresh_domain("am")
    d = mgmt.custom_domains.create(
        domain=name,
        type="auth0_managed_certs",
        tls_policy="recommended",
        domain_metadata={"team": "payments", "env": "prod"},
    )
    assert_new_domain(
        d,
        name,
        "auth0_managed_certs",
        tls_policy="recommended",
        domain_metadata={"team": "payments", "env": "prod"},
    )
    # Right after create: no certificate and no verification.status yet.
    assert d.certificate is None and d.verification.status is None
    assert not sent(d, "custom_client_ip_header")
    assert d.is_default is not True


def test_create_self_managed_returns_txt_method_and_no_key(mgmt, fresh_domain):
    name = fresh_domain("sm")
    d = mgmt.custom_domains.create(
        domain=name,
        type="self_managed_certs",
        verification_method="txt",
        custom_client_ip_header="cf-connecting-ip",
        relying_party_identifier=name,
    )
    assert_new_domain(
        d, name, "self_managed_certs", custom_client_ip_header="cf-connecting-ip", relying_party_identifier=name
    )
    # Self-managed domains have no Auth0 certificate.
    assert d.certificate is None or d.certificate.status is None


def test_get_returns_what_create_returned(mgmt, fresh_domain):
    name = fresh_domain("get")
    created = mgmt.custom_domains.create(domain=name, type="self_managed_certs", domain_metadata={"k": "v"})
    got = mgmt.custom_domains.get(created.custom_domain_id)
    assert got.custom_domain_id == created.custom_domain_id
    assert_new_domain(got, name, "self_managed_certs", domain_metadata={"k": "v"})
    assert got.verification.methods[0].record == created.verification.methods[0].record
    assert got.verification.methods[0].domain == created.verification.methods[0].domain


def test_get_unknown_id_raises_not_found(mgmt):
    with pytest.raises(NotFoundError) as err:
        mgmt.custom_domains.get("cd_0000000000000000", request_options={"max_retries": 0})
    assert_error(err.value, 404, "inexistent_custom_domain")


def test_list_returns_every_domain_and_honours_q_fields_sort(mgmt, fresh_domain):
    suffix = fresh_domain("list")  # unique tail shared by the three names
    names = [f"c{suffix}", f"a{suffix}", f"b{suffix}"]
    ids = {}
    for n in names:
        ids[n] = mgmt.custom_domains.create(domain=n, type="self_managed_certs").custom_domain_id

    everything = mgmt.custom_domains.list()
    assert isinstance(everything, list)
    by_name = {d.domain: d for d in everything}
    for n in names:
        assert by_name[n].custom_domain_id == ids[n]
        assert_new_domain(by_name[n], n, "self_managed_certs")

    only = mgmt.custom_domains.list(q=f"domain:{names[1]}")
    assert [d.domain for d in only] == [names[1]]
    assert only[0].custom_domain_id == ids[names[1]]

    pending = mgmt.custom_domains.list(q="status:pending_verification")
    assert {n for n in names} <= {d.domain for d in pending}
    assert all(d.status == "pending_verification" for d in pending)

    ordered = mgmt.custom_domains.list(sort="domain:1")
    domains = [d.domain for d in ordered]
    assert domains == sorted(domains)
    assert len(domains) == len(everything)

    # Projection: the SDK's model needs custom_domain_id, domain, primary, status and type, so ask for those.
    projected = mgmt.custom_domains.list(
        q=f"domain:{names[0]}", fields="custom_domain_id,domain,primary,status,type", include_fields=True
    )
    assert len(projected) == 1
    p = projected[0]
    assert (p.custom_domain_id, p.domain, p.status, p.type) == (ids[names[0]], names[0], "pending_verification", "self_managed_certs")
    for absent in ("verification", "certificate", "domain_metadata", "tls_policy", "custom_client_ip_header"):
        assert not sent(p, absent), f"{absent} should be projected away"

    excluded = mgmt.custom_domains.list(q=f"domain:{names[0]}", fields="verification", include_fields=False)
    assert len(excluded) == 1
    assert not sent(excluded[0], "verification")
    assert excluded[0].custom_domain_id == ids[names[0]]


def test_list_checkpoint_pagination_is_not_typed_by_the_sdk(mgmt, fresh_domain):
    """auth0-python 6.8.0's `list` has no take/from; passed as extra query parameters the simulator
    answers the checkpoint shape, which the SDK's list model cannot parse. That is the SDK's real
    behaviour against a tenant offering pagination, so assert it precisely."""
    for i in range(3):
        mgmt.custom_domains.create(domain=fresh_domain(f"page{i}"), type="self_managed_certs")
    with pytest.raises(ParsingError) as err:
        mgmt.custom_domains.list(request_options={"additional_query_parameters": {"take": 2}, "max_retries": 0})
    body = err.value.body
    assert err.value.status_code == 200
    assert isinstance(body["custom_domains"], list) and len(body["custom_domains"]) == 2
    first_page = [d["domain"] for d in body["custom_domains"]]
    assert first_page == sorted(first_page)
    assert isinstance(body["next"], str) and body["next"]

    with pytest.raises(ParsingError) as err2:
        mgmt.custom_domains.list(
            request_options={"additional_query_parameters": {"take": 2, "from": body["next"]}, "max_retries": 0}
        )
    second = err2.value.body["custom_domains"]
    assert second and second[0]["domain"] > first_page[-1]


def test_update_changes_mutable_fields_and_merges_metadata(mgmt, fresh_domain):
    name = fresh_domain("upd")
    created = mgmt.custom_domains.create(
        domain=name,
        type="self_managed_certs",
        custom_client_ip_header="true-client-ip",
        domain_metadata={"keep": "1", "drop": "2"},
    )
    cid = created.custom_domain_id

    updated = mgmt.custom_domains.update(
        cid,
        custom_client_ip_header="x-forwarded-for",
        domain_metadata={"drop": None, "new": "3"},
        relying_party_identifier=name,
    )
    assert updated.custom_domain_id == cid
    assert updated.domain == name
    assert updated.type == "self_managed_certs"
    assert updated.status == "pending_verification"
    assert not sent(updated, "tls_policy")
    assert updated.custom_client_ip_header == "x-forwarded-for"
    # `null` removes a key, omitted keys are kept (merge), new keys are added.
    assert updated.domain_metadata == {"keep": "1", "new": "3"}
    assert updated.relying_party_identifier == name
    assert not sent(updated, "cname_api_key")

    got = mgmt.custom_domains.get(cid)
    assert got.domain_metadata == {"keep": "1", "new": "3"}
    assert got.custom_client_ip_header == "x-forwarded-for"
    assert got.relying_party_identifier == name

    # "" is a valid header value (recorded from a real tenant by terraform-provider-auth0): kept as "".
    cleared = mgmt.custom_domains.update(cid, custom_client_ip_header="")
    assert cleared.custom_client_ip_header == ""
    assert cleared.domain_metadata == {"keep": "1", "new": "3"}


def test_update_rejects_immutable_field_and_compatible_tls_policy(mgmt, fresh_domain):
    cid = mgmt.custom_domains.create(domain=fresh_domain("imm"), type="self_managed_certs").custom_domain_id
    with pytest.raises(ApiError) as err:
        mgmt.custom_domains.update(
            cid, request_options={"additional_body_parameters": {"type": "auth0_managed_certs"}, "max_retries": 0}
        )
    assert_error(err.value, 400, "invalid_body")
    with pytest.raises(ApiError) as err:
        mgmt.custom_domains.update(cid, tls_policy="compatible", request_options={"max_retries": 0})
    assert_error(err.value, 400, "invalid_body")
    assert mgmt.custom_domains.get(cid).type == "self_managed_certs"


def test_delete_then_get_and_delete_again_are_not_found(mgmt, fresh_domain):
    cid = mgmt.custom_domains.create(domain=fresh_domain("del"), type="auth0_managed_certs").custom_domain_id
    assert mgmt.custom_domains.delete(cid) is None
    with pytest.raises(NotFoundError) as err:
        mgmt.custom_domains.get(cid, request_options={"max_retries": 0})
    assert_error(err.value, 404, "inexistent_custom_domain")
    assert cid not in {d.custom_domain_id for d in mgmt.custom_domains.list()}
    # Deleting an id that is gone answers 204 again, as recorded from a real tenant.
    assert mgmt.custom_domains.delete(cid, request_options={"max_retries": 0}) is None


def test_unknown_id_is_not_found_for_test_verify_update(mgmt):
    unknown = "cd_0000000000000000"
    with pytest.raises(NotFoundError) as err:
        mgmt.custom_domains.test(unknown, request_options=NO_RETRY)
    assert_error(err.value, 404, "inexistent_custom_domain")
    with pytest.raises(NotFoundError) as err:
        mgmt.custom_domains.verify(unknown, request_options=NO_RETRY)
    assert_error(err.value, 404, "inexistent_custom_domain")
    # update has no typed 404 in the SDK: the generic ApiError carries it.
    with pytest.raises(ApiError) as err:
        mgmt.custom_domains.update(unknown, tls_policy="recommended", request_options=NO_RETRY)
    assert_error(err.value, 404, "inexistent_custom_domain")


def test_malformed_id_is_invalid_uri(mgmt):
    for call in (mgmt.custom_domains.get, mgmt.custom_domains.verify, mgmt.custom_domains.delete):
        with pytest.raises(BadRequestError) as err:
            call("not-a-domain-id", request_options=NO_RETRY)
        assert "not-a-domain-id" in assert_error(err.value, 400, "invalid_uri")["message"]


def test_ids_are_unique_and_well_formed(mgmt, fresh_domain):
    ids = [
        mgmt.custom_domains.create(domain=fresh_domain(f"id{i}"), type="self_managed_certs").custom_domain_id
        for i in range(5)
    ]
    assert len(set(ids)) == 5
    assert all(ID_RE.match(i) for i in ids)
