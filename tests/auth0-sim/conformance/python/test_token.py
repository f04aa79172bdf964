"""Tokens through the SDK: `GetToken.client_credentials` (auth0.authentication) and the Management
client's own client-credentials provider."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management import ManagementClient
from auth0.management.errors.unauthorized_error import UnauthorizedError

from checks import assert_error
from conftest import FULL, READ_ONLY, Mgmt
from recorder import Recorded, note


def _claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_get_token_client_credentials_and_use_it(sim):
    note("authentication.GetToken.client_credentials")
    tok = GetToken(sim.tenant_domain, FULL.client_id, client_secret=FULL.client_secret).client_credentials(sim.audience)
    assert tok["token_type"] == "Bearer"
    assert isinstance(tok["expires_in"], int) and tok["expires_in"] > 0
    scopes = set(tok["scope"].split())
    assert {"read:custom_domains", "create:custom_domains", "update:custom_domains", "delete:custom_domains"} <= scopes
    assert {"read:tenant_settings", "update:tenant_settings"} <= scopes
    assert tok["access_token"].count(".") == 2
    claims = _claims(tok["access_token"])
    assert claims["aud"] in (sim.audience, [sim.audience]) or sim.audience in claims["aud"]
    assert claims["exp"] > time.time()

    # A token obtained that way is accepted by the Management client given a static token.
    client = ManagementClient(domain=sim.tenant_domain, token=tok["access_token"])
    listed = Recorded(client.custom_domains, "custom_domains").list()
    assert isinstance(listed, list)


def test_read_only_client_token_carries_only_its_scopes(sim):
    tok = GetToken(sim.tenant_domain, READ_ONLY.client_id, client_secret=READ_ONLY.client_secret).client_credentials(
        sim.audience
    )
    assert set(tok["scope"].split()) == {"read:custom_domains", "read:tenant_settings"}


def test_get_token_wrong_secret_is_access_denied(sim):
    with pytest.raises(Auth0Error) as err:
        GetToken(sim.tenant_domain, FULL.client_id, client_secret="wrong-secret").client_credentials(sim.audience)
    assert err.value.status_code == 401
    assert err.value.error_code == "access_denied"
    assert err.value.message  # error_description


def test_get_token_unknown_client_is_access_denied(sim):
    with pytest.raises(Auth0Error) as err:
        GetToken(sim.tenant_domain, "no-such-client", client_secret="x").client_credentials(sim.audience)
    assert err.value.status_code == 401
    assert err.value.error_code == "access_denied"


def test_get_token_foreign_audience_is_forbidden(sim):
    with pytest.raises(Auth0Error) as err:
        GetToken(sim.tenant_domain, FULL.client_id, client_secret=FULL.client_secret).client_credentials(
            "https://other-tenant.example.com/api/v2/"
        )
    assert err.value.status_code == 403
    assert err.value.error_code == "access_denied"
    assert "https://other-tenant.example.com/api/v2/" in err.value.message


def test_management_client_with_wrong_secret_fails_at_token_time(sim):
    bad = ManagementClient(domain=sim.tenant_domain, client_id=FULL.client_id, client_secret="wrong")
    # The Management client's token provider uses httpx.raise_for_status: the 401 surfaces as HTTPStatusError.
    with pytest.raises(httpx.HTTPStatusError) as err:
        Recorded(bad.custom_domains, "custom_domains").list()
    assert err.value.response.status_code == 401
    assert err.value.request.url.path == "/oauth/token"
    assert err.value.response.json()["error"] == "access_denied"


def test_expired_tokens_are_refused_with_401(sim_factory):
    sim = sim_factory("pyexpiry")
    m = Mgmt(sim, FULL)
    assert isinstance(m.custom_domains.list(), list)  # token fetched and cached by the SDK
    status, body = sim.control("POST", "expire-tokens")
    assert status in (200, 204), (status, body)
    with pytest.raises(UnauthorizedError) as err:
        m.custom_domains.list(request_options={"max_retries": 0})
    assert_error(err.value, 401, None)
    # A fresh client fetches a new token and is served again.
    assert isinstance(Mgmt(sim, FULL).custom_domains.list(), list)


def test_short_ttl_static_token_expires_while_sdk_provider_refreshes(sim_factory):
    sim = sim_factory("pyttl", extra=["--token-ttl", "2"])
    tok = GetToken(sim.tenant_domain, FULL.client_id, client_secret=FULL.client_secret).client_credentials(sim.audience)
    assert tok["expires_in"] == 2
    exp = _claims(tok["access_token"])["exp"]
    static = Recorded(ManagementClient(domain=sim.tenant_domain, token=tok["access_token"]).custom_domains, "custom_domains")
    refreshing = Mgmt(sim, FULL)
    assert isinstance(refreshing.custom_domains.list(), list)

    deadline = time.monotonic() + 5
    while time.time() <= exp + 0.3 and time.monotonic() < deadline:
        time.sleep(0.1)
    with pytest.raises(UnauthorizedError) as err:
        static.list(request_options={"max_retries": 0})
    assert_error(err.value, 401, None)
    # The SDK's provider refreshes ahead of expiry (10 s leeway > 2 s TTL: a new token per call).
    assert isinstance(refreshing.custom_domains.list(), list)

    status, counters = sim.control("GET", "counters")
    assert status == 200
    assert counters["tokens_issued"] >= 3
    assert counters["calls"]["GET /api/v2/custom-domains"]["401"] >= 1
