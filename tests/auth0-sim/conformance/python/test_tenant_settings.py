"""auth0-python `tenants.settings.get` / `update`, on a simulator of their own (settings are tenant-wide)."""

from __future__ import annotations

import pytest
from auth0.management.errors.forbidden_error import ForbiddenError

from checks import assert_error
from conftest import FULL, READ_ONLY, ROOMY_LIMITS, Mgmt


@pytest.fixture(scope="module")
def settings_sim(sim_factory):
    return sim_factory("pysettings", extra=ROOMY_LIMITS)


def test_mtls_endpoint_aliases_round_trip(settings_sim):
    m = Mgmt(settings_sim, FULL)
    before = m.tenant_settings.get()
    assert before.mtls is not None
    assert before.mtls.enable_endpoint_aliases is False
    assert isinstance(before.friendly_name, str)

    after = m.tenant_settings.update(mtls={"enable_endpoint_aliases": True})
    assert after.mtls.enable_endpoint_aliases is True
    assert after.friendly_name == before.friendly_name

    renamed = m.tenant_settings.update(friendly_name="Conformance Tenant")
    assert renamed.friendly_name == "Conformance Tenant"
    # An update that does not name mtls keeps it.
    assert renamed.mtls.enable_endpoint_aliases is True

    again = m.tenant_settings.get()
    assert again.mtls.enable_endpoint_aliases is True
    assert again.friendly_name == "Conformance Tenant"

    projected = m.tenant_settings.get(fields="mtls", include_fields=True)
    assert projected.mtls.enable_endpoint_aliases is True
    assert projected.friendly_name is None

    off = m.tenant_settings.update(mtls={"enable_endpoint_aliases": False})
    assert off.mtls.enable_endpoint_aliases is False


def test_read_only_client_cannot_update_settings(settings_sim):
    ro = Mgmt(settings_sim, READ_ONLY)
    assert ro.tenant_settings.get().mtls is not None
    with pytest.raises(ForbiddenError) as err:
        ro.tenant_settings.update(friendly_name="nope", request_options={"max_retries": 0})
    body = assert_error(err.value, 403, "insufficient_scope")
    assert "update:tenant_settings" in body["message"]
