"""auth0-python `custom_domains.get_default` / `set_default`, on a simulator of their own (the default is tenant-wide)."""

from __future__ import annotations

import pytest
from auth0.management.core.api_error import ApiError

from checks import ID_RE, assert_error
from conftest import FULL, ROOMY_LIMITS, Mgmt


@pytest.fixture(scope="module")
def default_sim(sim_factory):
    return sim_factory("pydefault", extra=ROOMY_LIMITS)


def _verified_self_managed(m: Mgmt, dns, name: str) -> str:
    created = m.custom_domains.create(domain=name, type="self_managed_certs")
    method = created.verification.methods[0]
    dns.put(method.domain, "TXT", method.record)
    assert m.custom_domains.verify(created.custom_domain_id).status == "ready"
    return created.custom_domain_id


def test_default_domain_lifecycle(default_sim, dns, fresh_domain):
    m = Mgmt(default_sim, FULL)

    # No default yet: the canonical domain, in the canonical shape (`domain` only).
    canonical = m.custom_domains.get_default()
    assert type(canonical).__name__ == "GetDefaultCanonicalDomainResponseContent", canonical
    assert isinstance(canonical.domain, str) and canonical.domain
    canonical_name = canonical.domain

    # A pending domain cannot become the default.
    pending = m.custom_domains.create(domain=fresh_domain("pend"), type="self_managed_certs")
    with pytest.raises(ApiError) as err:
        m.custom_domains.set_default(domain=pending.domain, request_options={"max_retries": 0})
    assert_error(err.value, 400, None)

    name_a = fresh_domain("defa")
    name_b = fresh_domain("defb")
    id_a = _verified_self_managed(m, dns, name_a)
    id_b = _verified_self_managed(m, dns, name_b)

    chosen = m.custom_domains.set_default(domain=name_a)
    assert type(chosen).__name__ == "UpdateDefaultCustomDomainResponseContent", chosen
    assert chosen.custom_domain_id == id_a
    assert ID_RE.match(chosen.custom_domain_id)
    assert chosen.domain == name_a
    assert chosen.is_default is True
    assert chosen.status == "ready"
    assert chosen.type == "self_managed_certs"

    got = m.custom_domains.get_default()
    assert type(got).__name__ == "GetDefaultCustomDomainResponseContent", got
    assert (got.custom_domain_id, got.domain, got.is_default) == (id_a, name_a, True)
    assert m.custom_domains.get(id_a).is_default is True
    assert m.custom_domains.get(id_b).is_default is False

    # Moving the default moves is_default: exactly one domain carries it.
    m.custom_domains.set_default(domain=name_b)
    listed = {d.custom_domain_id: d.is_default for d in m.custom_domains.list()}
    assert listed[id_b] is True and listed[id_a] is False
    assert sum(1 for v in listed.values() if v) == 1

    # Back to the canonical domain: the canonical shape again and no custom domain is default.
    back = m.custom_domains.set_default(domain=canonical_name)
    assert back.domain == canonical_name
    assert not hasattr(back, "custom_domain_id") or getattr(back, "custom_domain_id", None) is None
    assert m.custom_domains.get_default().domain == canonical_name
    assert not any(d.is_default for d in m.custom_domains.list())
