"""pytest fixtures: real simulator and DNS processes, and SDK clients pointed at them over TLS."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import CaBundle, Client, Sim, TestDns, start_dns, start_sim  # noqa: E402
from recorder import CALLED, Recorded  # noqa: E402

#: A client with the simulator's default scopes (every custom-domain and tenant-settings scope).
FULL = Client("conformance-full", "full-secret-0123456789")
#: A client that may only read.
READ_ONLY = Client("conformance-ro", "ro-secret-0123456789", ["read:custom_domains", "read:tenant_settings"])

#: Generous buckets so the functional tests never meet a rate limit by accident.
ROOMY_LIMITS = ["--rate-limit", "1000:1000", "--verify-limit", "1000:1", "--cert-delay", "300"]


class Mgmt:
    """An SDK `ManagementClient` whose custom-domain and tenant-settings calls are recorded."""

    def __init__(self, sim: Sim, client: Client, **kwargs: Any):
        from auth0.management import ManagementClient

        self.sim = sim
        self.raw = ManagementClient(
            domain=sim.tenant_domain, client_id=client.client_id, client_secret=client.client_secret, **kwargs
        )
        self.custom_domains = Recorded(self.raw.custom_domains, "custom_domains")
        self.tenant_settings = Recorded(self.raw.tenants.settings, "tenants.settings")


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("conformance")


@pytest.fixture(scope="session")
def bundle(workdir: Path) -> CaBundle:
    return CaBundle(workdir / "ca-bundle.pem")


@pytest.fixture(scope="session")
def dns(workdir: Path) -> Iterator[TestDns]:
    server = start_dns(workdir)
    yield server
    server.proc.stop()


@pytest.fixture(scope="session")
def sim_factory(workdir: Path, bundle: CaBundle, dns: TestDns) -> Iterator[Callable[..., Sim]]:
    """Starts extra simulators (own name, clients and flags); all are stopped at session end."""
    started: list[Sim] = []

    def make(name: str, clients: list[Client] | None = None, extra: list[str] | None = None) -> Sim:
        sim = start_sim(workdir, name, bundle, dns, clients or [FULL, READ_ONLY], extra)
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.proc.stop()


@pytest.fixture(scope="session")
def sim(sim_factory: Callable[..., Sim]) -> Sim:
    """The shared simulator for functional tests."""
    return sim_factory("pyconf", extra=ROOMY_LIMITS)


@pytest.fixture()
def mgmt(sim: Sim) -> Mgmt:
    return Mgmt(sim, FULL)


@pytest.fixture()
def fresh_domain() -> Callable[[str], str]:
    """A domain name no other test uses."""

    def make(label: str) -> str:
        return f"{label}-{uuid.uuid4().hex[:10]}.conformance-py.example.com"

    return make


def pytest_terminal_summary(terminalreporter: Any) -> None:
    names = sorted(CALLED)
    terminalreporter.write_line(f"python SDK (auth0-python) methods exercised: {len(names)}: {', '.join(names)}")
