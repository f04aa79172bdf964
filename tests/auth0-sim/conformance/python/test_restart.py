"""A simulator restarted on its state file loses nothing the SDK can see, and the one-time key stays
one-time across the restart."""

from __future__ import annotations

import pytest
from auth0.management.errors.bad_request_error import BadRequestError

from checks import sent
from conftest import FULL, Mgmt


def test_restart_keeps_domains_and_never_reissues_the_key(sim_factory, workdir, dns, fresh_domain):
    state = workdir / "pyrestart-state.json"
    extra = ["--state", str(state), "--rate-limit", "1000:1000", "--verify-limit", "1000:1"]
    first = sim_factory("pyrestart", extra=extra)
    m = Mgmt(first, FULL)
    name = fresh_domain("rst")
    d = m.custom_domains.create(domain=name, type="self_managed_certs", domain_metadata={"k": "v"})
    method = d.verification.methods[0]
    dns.put(method.domain, "TXT", method.record)
    key = m.custom_domains.verify(d.custom_domain_id).cname_api_key
    assert key
    m.tenant_settings.update(mtls={"enable_endpoint_aliases": True})
    first.proc.stop()

    second = sim_factory("pyrestart", extra=extra)
    m2 = Mgmt(second, FULL)
    got = m2.custom_domains.get(d.custom_domain_id)
    assert (got.domain, got.status, got.domain_metadata) == (name, "ready", {"k": "v"})
    assert got.verification.methods[0].record == method.record
    # A restart must not hand the key out again: verify says "already verified".
    with pytest.raises(BadRequestError) as err:
        m2.custom_domains.verify(d.custom_domain_id, request_options={"max_retries": 0})
    assert "cname_api_key" not in err.value.body
    assert err.value.body["message"] == "Custom domain already verified."
    assert not sent(got, "cname_api_key")
    assert m2.tenant_settings.get().mtls.enable_endpoint_aliases is True
    status, domains = second.control("GET", "domains")
    assert status == 200
    assert [x["cname_api_key"] for x in domains if x["custom_domain_id"] == d.custom_domain_id] == [key]
