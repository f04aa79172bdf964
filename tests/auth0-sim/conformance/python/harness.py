"""Starts the Auth0 simulator and the test DNS server as real processes for the SDK conformance tests.

Both binaries are started on port 0 and report where they listen through `--ready-file`, so tests never
depend on fixed ports. Every simulator writes its own CA; the CAs are collected in one bundle that the
SDKs trust through `SSL_CERT_FILE` (httpx, used by the Management client) and `REQUESTS_CA_BUNDLE`
(requests, used by `auth0.authentication`).
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[4]
READY_TIMEOUT_S = 30.0


def binary(env_name: str, default_name: str) -> Path:
    """Path of a workspace binary: `$ENV_NAME`, else `$CARGO_TARGET_DIR/debug/NAME`, else `target/debug/NAME`."""
    explicit = os.environ.get(env_name)
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / default_name


class ProcessFailed(RuntimeError):
    """A helper process exited or never wrote its ready file."""


@dataclass
class Proc:
    """A started helper process and the JSON it wrote to its ready file."""

    name: str
    popen: subprocess.Popen
    ready: dict[str, Any]
    log_path: Path

    def stop(self) -> None:
        """Terminates the process and waits for it (bounded)."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of the process's combined output, for failure messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "<no log>"


def start_process(name: str, argv: list[str], workdir: Path) -> Proc:
    """Starts `argv` with `--ready-file` and waits until the file holds valid JSON."""
    ready_file = workdir / f"{name}.ready.json"
    log_path = workdir / f"{name}.log"
    # A restart under the same name must not read the previous run's file.
    ready_file.unlink(missing_ok=True)
    if not Path(argv[0]).exists():
        raise ProcessFailed(f"{name}: binary {argv[0]} not found (build it with cargo build)")
    log = open(log_path, "wb")  # noqa: SIM115 - kept open for the child's lifetime
    popen = subprocess.Popen([*argv, "--ready-file", str(ready_file)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise ProcessFailed(f"{name} exited with {popen.returncode}:\n{log_path.read_text(errors='replace')}")
        if ready_file.exists():
            try:
                ready = json.loads(ready_file.read_text())
                return Proc(name, popen, ready, log_path)
            except json.JSONDecodeError:
                pass  # partially written; the binary writes it atomically, but be tolerant
        time.sleep(0.02)
    popen.kill()
    raise ProcessFailed(f"{name}: no ready file after {READY_TIMEOUT_S}s:\n{log_path.read_text(errors='replace')}")


def _http(method: str, url: str, body: Any = None, ctx: ssl.SSLContext | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as e:
        raw = e.read()
        status = e.code
    text = raw.decode(errors="replace")
    try:
        return status, json.loads(text) if text else None
    except json.JSONDecodeError:
        return status, text


@dataclass
class TestDns:
    """The project's test DNS server (`tests/test-dns`): UDP/TCP nameserver plus an HTTP control API."""

    proc: Proc
    dns_addr: str
    control_url: str

    def put(self, name: str, rtype: str, value: str) -> None:
        """Publishes a record (`PUT /records`)."""
        status, body = _http("PUT", f"{self.control_url}/records", {"name": name, "type": rtype, "value": value})
        if status not in (200, 201):
            raise RuntimeError(f"test-dns PUT /records {name} {rtype}: {status} {body}")

    def remove(self, name: str) -> None:
        """Removes every record of `name`."""
        q = urllib.parse.urlencode({"name": name})
        status, body = _http("DELETE", f"{self.control_url}/records?{q}")
        if status != 200:
            raise RuntimeError(f"test-dns DELETE /records {name}: {status} {body}")


def start_dns(workdir: Path) -> TestDns:
    """Starts `test-dns` on loopback port 0 with its control API."""
    exe = binary("TEST_DNS_BIN", "test-dns")
    proc = start_process(
        "test-dns",
        [str(exe), "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0"],
        workdir,
    )
    ready = proc.ready
    dns_addr = ready.get("dns") or ready.get("listen") or ready.get("addr") or ready.get("udp")
    control = ready.get("control") or ready.get("control_url") or ready.get("control_listen")
    if not dns_addr or not control:
        proc.stop()
        raise ProcessFailed(f"test-dns ready file lacks dns/control addresses: {ready}")
    if not control.startswith("http"):
        control = f"http://{control}"
    return TestDns(proc, dns_addr, control.rstrip("/"))


@dataclass
class Client:
    """Credentials of one machine-to-machine client registered with the simulator."""

    client_id: str
    client_secret: str
    scopes: list[str] = field(default_factory=list)

    def flag(self) -> str:
        """The `--client ID:SECRET[:scope,…]` value."""
        base = f"{self.client_id}:{self.client_secret}"
        return f"{base}:{','.join(self.scopes)}" if self.scopes else base


@dataclass
class Sim:
    """A running `auth0-sim` process and what its ready file says."""

    proc: Proc
    url: str
    tenant_domain: str
    edge: str
    ca_file: str
    control_url: str
    clients: dict[str, Client]
    ssl_ctx: ssl.SSLContext

    @property
    def audience(self) -> str:
        """The Management API audience the SDKs derive from the domain."""
        return f"https://{self.tenant_domain}/api/v2/"

    def control(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Calls the simulator's `/__sim/` control API."""
        return _http(method, f"{self.control_url}/{path.lstrip('/')}", body, self.ssl_ctx)


class CaBundle:
    """One PEM file holding every simulator CA started in this test session."""

    def __init__(self, path: Path):
        self.path = path
        self.path.write_text("")

    def add(self, pem_file: str) -> None:
        """Appends a CA (once) and points the SDKs' HTTP stacks at the bundle."""
        pem = Path(pem_file).read_text()
        if pem not in self.path.read_text():
            with open(self.path, "a") as out:
                out.write(pem)
                out.write("\n")
        os.environ["SSL_CERT_FILE"] = str(self.path)
        os.environ["REQUESTS_CA_BUNDLE"] = str(self.path)


def start_sim(
    workdir: Path,
    name: str,
    bundle: CaBundle,
    dns: TestDns | None,
    clients: list[Client],
    extra: list[str] | None = None,
) -> Sim:
    """Starts `auth0-sim` over TLS on port 0 with the control API and the given clients."""
    exe = binary("AUTH0_SIM_BIN", "auth0-sim")
    # One TLS directory for every simulator of the session: the simulator reuses an existing CA, so all
    # of them chain to one CA. (Separate CAs all carry the same subject name, and OpenSSL then picks
    # the wrong one from a bundle: "certificate signature failure".)
    tls_dir = workdir / "sim-tls"
    tls_dir.mkdir(parents=True, exist_ok=True)
    argv = [str(exe), "--listen", "127.0.0.1:0", "--tls-dir", str(tls_dir), "--control", "--tenant", name]
    if dns is not None:
        argv += ["--dns-server", dns.dns_addr]
    for c in clients:
        argv += ["--client", c.flag()]
    argv += extra or []
    proc = start_process(name, argv, workdir)
    r = proc.ready
    ca_file = r.get("ca_file") or str(tls_dir / "ca.pem")
    bundle.add(ca_file)
    control = r.get("control") or f"{r['url'].rstrip('/')}/__sim"
    return Sim(
        proc=proc,
        url=r["url"],
        tenant_domain=r["tenant_domain"],
        edge=r.get("edge", ""),
        ca_file=ca_file,
        control_url=control.rstrip("/"),
        clients={c.client_id: c for c in clients},
        ssl_ctx=ssl.create_default_context(cafile=ca_file),
    )
