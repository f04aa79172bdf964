// Starts the Auth0 simulator and the test DNS server as real processes, and runs SDK scenarios in
// child node processes. A child is needed because node reads NODE_EXTRA_CA_CERTS only at start-up,
// and each simulator generates its CA when it starts.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync, openSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, "../../../..");
const READY_TIMEOUT_MS = 30_000;
const SCENARIO_TIMEOUT_MS = 120_000;

/** Path of a workspace binary: $ENV_NAME, else $CARGO_TARGET_DIR/debug/NAME, else target/debug/NAME. */
export function binary(envName, name) {
  if (process.env[envName]) return process.env[envName];
  const target = process.env.CARGO_TARGET_DIR || join(REPO, "target");
  return join(target, "debug", name);
}

/** A client registered with the simulator; no scopes = the simulator's defaults (all). */
export const FULL = { clientId: "conformance-full", clientSecret: "full-secret-0123456789", scopes: [] };
export const READ_ONLY = {
  clientId: "conformance-ro",
  clientSecret: "ro-secret-0123456789",
  scopes: ["read:custom_domains", "read:tenant_settings"],
};
/** Generous buckets so functional scenarios never meet a rate limit by accident. */
export const ROOMY_LIMITS = ["--rate-limit", "1000:1000", "--verify-limit", "1000:1", "--cert-delay", "300"];

function clientFlag(c) {
  const base = `${c.clientId}:${c.clientSecret}`;
  return c.scopes.length ? `${base}:${c.scopes.join(",")}` : base;
}

/** Starts `argv` with --ready-file and resolves with {child, ready, logPath} once the file holds JSON. */
async function startProcess(name, argv, workdir) {
  if (!existsSync(argv[0])) throw new Error(`${name}: binary ${argv[0]} not found (build it with cargo build)`);
  const readyFile = join(workdir, `${name}.ready.json`);
  rmSync(readyFile, { force: true }); // a restart under the same name must not read a stale file
  const logPath = join(workdir, `${name}.log`);
  const logFd = openSync(logPath, "w");
  const child = spawn(argv[0], [...argv.slice(1), "--ready-file", readyFile], { stdio: ["ignore", logFd, logFd] });
  closeSync(logFd);
  let exited = null;
  child.on("exit", (code, signal) => (exited = { code, signal }));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${name} exited (${JSON.stringify(exited)}):\n${readFileSync(logPath, "utf8")}`);
    if (existsSync(readyFile)) {
      try {
        return { child, ready: JSON.parse(readFileSync(readyFile, "utf8")), logPath };
      } catch {
        // partially written; retry
      }
    }
    await sleep(20);
  }
  child.kill("SIGKILL");
  throw new Error(`${name}: no ready file after ${READY_TIMEOUT_MS} ms:\n${readFileSync(logPath, "utf8")}`);
}

/** Owns every process started for one test file; `close()` stops them all. */
export class Infra {
  constructor() {
    this.workdir = mkdtempSync(join(tmpdir(), "auth0-sim-conformance-node-"));
    this.children = [];
    this.dns = null;
  }

  /** Starts test-dns; its control API is plain HTTP. */
  async startDns() {
    const { child, ready } = await startProcess(
      "test-dns",
      [binary("TEST_DNS_BIN", "test-dns"), "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0"],
      this.workdir,
    );
    this.children.push(child);
    this.dns = { addr: ready.dns, controlUrl: ready.control.replace(/\/$/, "") };
    return this.dns;
  }

  /** Starts auth0-sim over TLS with the control API, the DNS server and the given clients. */
  async startSim(name, { clients = [FULL, READ_ONLY], extra = [] } = {}) {
    // One TLS directory per Infra: the simulator reuses an existing CA, so every simulator of this
    // file chains to one CA (separate CAs share a subject name and cannot sit in one trust bundle).
    const tlsDir = join(this.workdir, "sim-tls");
    mkdirSync(tlsDir, { recursive: true });
    const argv = [binary("AUTH0_SIM_BIN", "auth0-sim"), "--listen", "127.0.0.1:0", "--tls-dir", tlsDir];
    argv.push("--control", "--tenant", name);
    if (this.dns) argv.push("--dns-server", this.dns.addr);
    for (const c of clients) argv.push("--client", clientFlag(c));
    argv.push(...extra);
    const { child, ready } = await startProcess(name, argv, this.workdir);
    this.children.push(child);
    return {
      name,
      url: ready.url,
      tenantDomain: ready.tenant_domain,
      audience: `https://${ready.tenant_domain}/api/v2/`,
      caFile: ready.ca_file || join(tlsDir, "ca.pem"),
      controlUrl: (ready.control || `${ready.url.replace(/\/$/, "")}/__sim`).replace(/\/$/, ""),
      clients: Object.fromEntries(clients.map((c) => [c.clientId, c])),
    };
  }

  /**
   * Runs `scenarios.mjs` export `scenario` in a child node that trusts the simulator's CA through
   * NODE_EXTRA_CA_CERTS. Rejects with the child's output when the scenario's assertions fail.
   */
  runScenario(scenario, sim) {
    const ctx = { sim, dns: this.dns, full: FULL, readOnly: READ_ONLY };
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: sim.caFile, CONFORMANCE_CTX: JSON.stringify(ctx) };
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [join(here, "scenario-runner.mjs"), scenario], {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), SCENARIO_TIMEOUT_MS);
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolvePromise(out);
        else reject(new Error(`scenario ${scenario} failed (code ${code}, signal ${signal}):\n${out}`));
      });
    });
  }

  /** Stops every process and removes the work directory. */
  async close() {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([gone, sleep(5000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
    }
    if (!process.env.CONFORMANCE_KEEP_WORKDIR) rmSync(this.workdir, { recursive: true, force: true });
  }
}
