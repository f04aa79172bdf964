"""auth0-python's `AsyncManagementClient` (httpx.AsyncClient + AsyncTokenProvider): every custom-domain
method and tenant settings, on a simulator of its own."""

from __future__ import annotations

import asyncio

import pytest
from auth0.management import AsyncManagementClient
from auth0.management.errors.bad_request_error import BadRequestError
from auth0.management.errors.conflict_error import ConflictError
from auth0.management.errors.not_found_error import NotFoundError

from checks import assert_error, assert_new_domain, sent
from conftest import FULL, ROOMY_LIMITS
from recorder import Recorded


@pytest.fixture(scope="module")
def async_sim(sim_factory):
    return sim_factory("pyasync", extra=ROOMY_LIMITS)


def test_async_client_runs_every_method(async_sim, dns, fresh_domain):
    asyncio.run(_scenario(async_sim, dns, fresh_domain))


async def _scenario(sim, dns, fresh_domain):
    client = AsyncManagementClient(domain=sim.tenant_domain, client_id=FULL.client_id, client_secret=FULL.client_secret)
    cd = Recorded(client.custom_domains, "async.custom_domains")
    settings = Recorded(client.tenants.settings, "async.tenants.settings")

    canonical = await cd.get_default()
    assert canonical.domain and not sent(canonical, "custom_domain_id")

    # Concurrent creates of distinct domains all land.
    names = [fresh_domain(f"as{i}") for i in range(5)]
    created = await asyncio.gather(*(cd.create(domain=n, type="self_managed_certs") for n in names))
    for n, d in zip(names, created):
        assert_new_domain(d, n, "self_managed_certs")
    assert len({d.custom_domain_id for d in created}) == 5
    with pytest.raises(ConflictError) as err:
        await cd.create(domain=names[0], type="self_managed_certs", request_options={"max_retries": 0})
    assert_error(err.value, 409, None)

    first = created[0]
    listed = await cd.list(q=f"domain:{names[0]}")
    assert [d.custom_domain_id for d in listed] == [first.custom_domain_id]
    assert (await cd.get(first.custom_domain_id)).domain == names[0]
    upd = await cd.update(first.custom_domain_id, domain_metadata={"owner": "async"})
    assert upd.domain_metadata == {"owner": "async"}

    method = first.verification.methods[0]
    dns.put(method.domain, "TXT", method.record)
    v1 = await cd.verify(first.custom_domain_id)
    assert v1.status == "ready" and v1.cname_api_key and ".edge.tenants." in v1.origin_domain_name
    with pytest.raises(BadRequestError) as err:
        await cd.verify(first.custom_domain_id, request_options={"max_retries": 0})
    assert assert_error(err.value, 400, None)["message"] == "Custom domain already verified."
    assert (await cd.test(first.custom_domain_id)).success is True

    chosen = await cd.set_default(domain=names[0])
    assert chosen.custom_domain_id == first.custom_domain_id and chosen.is_default is True
    assert (await cd.get_default()).custom_domain_id == first.custom_domain_id

    s = await settings.update(mtls={"enable_endpoint_aliases": True})
    assert s.mtls.enable_endpoint_aliases is True
    assert (await settings.get()).mtls.enable_endpoint_aliases is True

    await cd.delete(created[1].custom_domain_id)
    with pytest.raises(NotFoundError) as err:
        await cd.get(created[1].custom_domain_id, request_options={"max_retries": 0})
    assert_error(err.value, 404, "inexistent_custom_domain")


def test_concurrent_creates_of_one_domain_make_exactly_one(async_sim, fresh_domain):
    asyncio.run(_race(async_sim, fresh_domain("race")))


async def _race(sim, name):
    client = AsyncManagementClient(domain=sim.tenant_domain, client_id=FULL.client_id, client_secret=FULL.client_secret)
    cd = Recorded(client.custom_domains, "async.custom_domains")
    await cd.list()  # fetch the token once, outside the race
    results = await asyncio.gather(
        *(cd.create(domain=name, type="self_managed_certs", request_options={"max_retries": 0}) for _ in range(20)),
        return_exceptions=True,
    )
    created = [r for r in results if not isinstance(r, BaseException)]
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    assert len(created) == 1, results
    assert len(conflicts) == 19, [r for r in results if isinstance(r, BaseException) and not isinstance(r, ConflictError)]
    listed = await cd.list(q=f"domain:{name}")
    assert [d.custom_domain_id for d in listed] == [created[0].custom_domain_id]
