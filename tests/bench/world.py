"""The simulated world shared by tests/bench/bench.py and tests/chaos/chaos.py: test-dns,
auth0-sim, kube-sim and the operator as processes, plus helpers to drive them. Python stdlib only.
"""

import base64
import json
import os
import queue
import re
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _pinned_kubectl():
    """The kubectl `make deps` builds with the test cluster's release (tests/kube-real), when built;
    else the one on PATH. The bench applies 10,000 objects on the 2 cores the operator runs on, so
    kubectl's own cost is part of what it measures: the machine's kubectl (on one machine a cloud
    SDK's v1.32 dispatcher) spent about 4 times the CPU of the pinned v1.37 for the same 500
    server-side applies (2.0-2.4 s against 0.5 s), which made the same operator's figures differ
    by machine."""
    try:
        d = subprocess.run(["bash", os.path.join(ROOT, ".ci", "deps-kube-real.sh"), "--print-dir"],
                           capture_output=True, text=True, cwd=ROOT, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "kubectl"
    path = os.path.join(d, "kubectl") if d else ""
    return path if path and os.access(path, os.X_OK) else "kubectl"


KUBECTL = _pinned_kubectl()


def run_kubectl(env, *argv, stdin=None):
    """kubectl with `env` (its KUBECONFIG names the cluster); stdout, or exit naming the failure."""
    r = subprocess.run([KUBECTL, *argv], env=env, input=stdin, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(argv)} failed: {r.stderr.strip()}")
    return r.stdout


_MACHINE = []


def machine_line():
    """One line naming the machine a run measured: cores, CPU model, kubectl's version and a CPU
    reference time (a fixed single-core task timed once per process, best of three; lower is
    faster). Figures bound by the 2 cores (10 tenants x 1,000) move with it from one machine to the
    next, so results from different machines are compared through it, not as they stand."""
    if not _MACHINE:
        import hashlib
        block = b"\x5a" * (1 << 20)
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            h = hashlib.sha256()
            for _ in range(256):
                h.update(block)
            n = 0
            for i in range(5_000_000):
                n += i & 7
            best = min(best, time.perf_counter() - t)
        model = "unknown CPU"
        try:
            with open("/proc/cpuinfo") as f:
                model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), model)
        except OSError:
            pass
        try:
            out = subprocess.run([KUBECTL, "version", "--client", "-o", "json"], capture_output=True,
                                 text=True, timeout=30).stdout
            kubectl = json.loads(out)["clientVersion"]["gitVersion"]
        except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
            kubectl = "unknown"
        _MACHINE.append(f"Machine: {os.cpu_count()} cores ({model}), CPU reference {best:.2f} s "
                        f"(sha256 of 256 MiB and 5 million Python loop steps, best of 3; lower is faster), "
                        f"kubectl {kubectl} ({'pinned, .deps/kube-real' if KUBECTL != 'kubectl' else 'the one on PATH'}).")
    return _MACHINE[0]


class Background:
    """Jobs (kubectl applies) running in threads while the caller follows the domains.

    A bulk apply takes seconds to tens of seconds; DNS automation (a person, external-dns) does not
    wait for it to finish before publishing the records of the domains already there. Following
    only after the apply would hold every record back until the last object is created, and leave
    the tenant's budget idle whenever creates outrun the apply. `check()` re-raises the first
    failure; `finished` is when the last job ended (monotonic), None while any still runs.
    """

    def __init__(self, jobs):
        self.failed, self.ends = [], []
        self.threads = [threading.Thread(target=self._run, args=(job,), daemon=True) for job in jobs]
        for t in self.threads:
            t.start()

    def _run(self, job):
        try:
            job()
        except SystemExit as e:
            self.failed.append(str(e))
        finally:
            self.ends.append(time.monotonic())

    def check(self):
        if self.failed:
            raise SystemExit(self.failed[0])

    @property
    def finished(self):
        return max(self.ends) if len(self.ends) == len(self.threads) else None

    def join(self):
        for t in self.threads:
            t.join()
        self.check()
        return self.finished


class World:
    """Starts test-dns, auth0-sim, kube-sim and the operator; stops them on exit.

    `args` needs: profile, sim_rate_limit, sim_verify_limit, tenant_rate_limit, resync, concurrency;
    optional: bin_dir, seed, namespace, rust_log, dns_recheck_max.
    """

    def __init__(self, args, workdir):
        self.args = args
        self.dir = workdir
        self.procs = []
        self.operator = None
        self.operator_runs = 0
        self.ns = getattr(args, "namespace", "bench")
        bin_dir = getattr(args, "bin_dir", None)
        self.bin = bin_dir or os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                                           args.profile)

    def spawn(self, name, argv, env=None, mode="w"):
        out = open(os.path.join(self.dir, f"{name}.log"), mode)
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        out.close()
        self.procs.append(p)
        return p

    def ready_file(self, path, what):
        for _ in range(300):
            if os.path.exists(path) and os.path.getsize(path) > 0:
                with open(path) as f:
                    text = f.read()
                try:
                    return json.loads(text)
                except ValueError:  # kube-sim writes its URL as plain text
                    return text.strip()
            time.sleep(0.1)
        raise SystemExit(f"{what} did not start; see {self.dir}")

    def start_dns(self):
        """Starts test-dns (the only part a deploy-cli-only bench run needs besides its simulator)."""
        d = self.dir
        self.spawn("test-dns", [f"{self.bin}/test-dns", "--listen", "127.0.0.1:0", "--control-listen",
                                "127.0.0.1:0", "--ready-file", f"{d}/dns.json"])
        dns = self.ready_file(f"{d}/dns.json", "test-dns")
        self.dns, self.dns_control = dns["dns"], dns["control"]

    def start(self, start_operator=True):
        a = self.args
        d = self.dir
        self.start_dns()
        self.secret = os.urandom(12).hex()
        sim = self.start_auth0_sim("auth0-sim", self.secret, tenant_domain="bench.auth0.local")
        self.sim_url, self.sim_control, self.ca = sim["url"], sim["control"], sim["ca_file"]
        self.ssl = ssl.create_default_context(cafile=self.ca)
        self.spawn("kube-sim", [f"{self.bin}/kube-sim", "--listen", "127.0.0.1:0", "--kubeconfig",
                                f"{d}/kubeconfig", "--ready-file", f"{d}/kube.json"])
        self.kube_url = self.ready_file(f"{d}/kube.json", "kube-sim")
        self._kube_control_setup(f"{d}/kubeconfig")
        self.env = dict(os.environ, KUBECONFIG=f"{d}/kubeconfig")
        self.kubectl("apply", "-f", os.path.join(ROOT, "crds"))
        self.kubectl("wait", "--for=condition=Established", "crd/customdomains.auth0.domain-operator.dev")
        self.kubectl("create", "namespace", "auth0")
        self.kubectl("create", "namespace", self.ns)
        self.kubectl("-n", "auth0", "create", "secret", "generic", "creds", "--from-literal=client_id=bench",
                     f"--from-literal=client_secret={self.secret}")
        rps, burst = a.tenant_rate_limit.split(":")
        self.apply(f"""
apiVersion: auth0.domain-operator.dev/v1alpha1
kind: Auth0Tenant
metadata: {{name: default}}
spec:
  domain: bench.auth0.local
  managementApiUrl: {self.sim_url}
  credentialsSecretRef: {{namespace: auth0, name: creds}}
  rateLimit: {{requestsPerSecond: {rps}, burst: {burst}}}
  resyncInterval: {a.resync}
""")
        if start_operator:
            self.start_operator()

    def start_auth0_sim(self, name, secret, tenant_domain=None):
        """Starts one more auth0-sim (client `bench:<secret>`, this world's DNS and limits, a CA shared
        through `<dir>/tls`) and returns its ready file: url, tenant_domain, control, ca_file.
        Without `tenant_domain` the simulator's own `127.0.0.1:<port>` is the tenant domain."""
        a = self.args
        d = self.dir
        argv = [f"{self.bin}/auth0-sim", "--listen", "127.0.0.1:0", "--tls-dir", f"{d}/tls",
                "--client", f"bench:{secret}", "--tenant", "bench", "--dns-server", self.dns, "--control",
                "--no-edge", "--rate-limit", a.sim_rate_limit, "--verify-limit", a.sim_verify_limit,
                "--cert-delay", "500", "--seed", str(getattr(a, "seed", 1)), "--ready-file", f"{d}/{name}.json"]
        if tenant_domain:
            argv += ["--tenant-domain", tenant_domain]
        self.spawn(name, argv, env=dict(os.environ, RUST_LOG="info"))
        return self.ready_file(f"{d}/{name}.json", name)

    def start_operator(self):
        """Starts (or restarts) the operator; each run logs to operator-<n>.log."""
        a = self.args
        # POD_NAMESPACE as in a Deployment: the key escrow lives in the operator's namespace.
        env = dict(self.env, SSL_CERT_FILE=self.ca, RUST_LOG=getattr(a, "rust_log", "warn"), POD_NAMESPACE="auth0")
        argv = [f"{self.bin}/auth0-domain-operator", "--log-format", "json", "run", "--cluster-id", "bench",
                "--dns-nameservers", self.dns, "--metrics-addr", "127.0.0.1:0", "--concurrency",
                str(a.concurrency), "--verify-limit", a.sim_verify_limit,
                # The simulator's tenant is not below auth0.com, its API is at its own URL and the
                # credentials are in namespace auth0 (the operator's own would be the kubeconfig's).
                "--extra-tenant-domain-suffix", "auth0.local", "--allow-custom-api-url",
                "--credentials-namespace", "auth0"]
        if getattr(a, "dns_recheck_max", None):
            argv += ["--dns-recheck-max", a.dns_recheck_max]
        name = "operator" if self.operator_runs == 0 else f"operator-{self.operator_runs}"
        self.operator_runs += 1
        self.operator_log = os.path.join(self.dir, f"{name}.log")
        self.operator = self.spawn(name, argv, env=env)
        return self.operator

    def kill_operator(self):
        """SIGKILLs the running operator and reaps it."""
        if self.operator is not None and self.operator.poll() is None:
            self.operator.send_signal(signal.SIGKILL)
            self.operator.wait(timeout=10)

    def operator_logs(self):
        """Paths of every operator log written so far."""
        return sorted(os.path.join(self.dir, f) for f in os.listdir(self.dir) if f.startswith("operator"))

    def _kube_control_setup(self, kubeconfig):
        with open(kubeconfig) as f:
            text = f.read()
        token = re.search(r"token:\s*\"?([^\s\"]+)", text)
        ca = re.search(r"certificate-authority-data:\s*\"?([^\s\"]+)", text)
        self.kube_token = token.group(1) if token else None
        if ca:
            fd, path = tempfile.mkstemp(dir=self.dir, suffix=".pem")
            with os.fdopen(fd, "wb") as f:
                f.write(base64.b64decode(ca.group(1)))
            self.kube_ssl = ssl.create_default_context(cafile=path)
        else:
            self.kube_ssl = None

    def kube(self, path, method="POST", body=None):
        """Calls kube-sim's /__sim control API."""
        headers = {"content-type": "application/json"}
        if self.kube_token:
            headers["authorization"] = f"Bearer {self.kube_token}"
        req = urllib.request.Request(f"{self.kube_url}/__sim/{path}", method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
        ctx = self.kube_ssl if self.kube_url.startswith("https") else None
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            raw = r.read()
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return raw.decode()

    def kubectl(self, *argv, stdin=None):
        return run_kubectl(self.env, *argv, stdin=stdin)

    def watch(self, resource, namespace, env=None):
        """`kubectl get -w -o json` in the background: returns a queue of the objects as they change
        (the first list, then every update), so the bench reacts within milliseconds instead of
        re-listing every second. `namespace` None: every namespace; `env`: another cluster's."""
        scope = ["-A"] if namespace is None else ["-n", namespace]
        proc = subprocess.Popen([KUBECTL, "get", resource, *scope, "-w", "-o", "json"],
                                env=env or self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs.append(proc)
        out = queue.Queue()

        def pump():
            # kubectl prints each object indented, opening and closing braces at column 0.
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if line.rstrip("\n") == "}":
                    try:
                        obj = json.loads("".join(lines))
                    except ValueError:
                        obj = {}
                    # The first answer may be the whole list at once.
                    for item in obj.get("items", [obj]) if obj.get("kind", "").endswith("List") else [obj]:
                        out.put(item)
                    lines = []

        threading.Thread(target=pump, daemon=True).start()
        return out

    def apply(self, yaml):
        return self.kubectl("apply", "-f", "-", stdin=yaml)

    def sim(self, path, method="GET", body=None):
        req = urllib.request.Request(f"{self.sim_control}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, context=self.ssl, timeout=30) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def dns_ctl(self, path, method="POST", body=None):
        req = urllib.request.Request(f"{self.dns_control}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def publish(self, rtype, name, value):
        self.dns_ctl("/records", "PUT", {"name": name, "type": rtype, "value": value})

    def proc_stats(self):
        pid = self.operator.pid
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return {
            "rss_kib": int(fields["VmRSS"].split()[0]),
            "hwm_kib": int(fields["VmHWM"].split()[0]),
            "cpu_s": (int(stat[11]) + int(stat[12])) / tick,
        }

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
