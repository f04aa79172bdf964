// node-auth0 typed errors (ManagementError subclasses with statusCode and Auth0's errorCode).
import { after, before, test } from "node:test";
import { Infra, ROOMY_LIMITS } from "./harness.mjs";

const infra = new Infra();
let sim;

before(async () => {
  await infra.startDns();
  sim = await infra.startSim("nodeerrors", { extra: ROOMY_LIMITS });
});
after(() => infra.close());

test("409 duplicate and 400 invalid_body", () => infra.runScenario("invalidBodies", sim));
test("concurrent creates: one 201 and typed 409s for one domain, no lost creates", () => infra.runScenario("raceCreate", sim));
test("403 insufficient_scope for a read-only client", () => infra.runScenario("insufficientScope", sim));
test("409 past --max-domains", async () => {
  const own = await infra.startSim("nodeentitle", { extra: ["--max-domains", "2", "--rate-limit", "1000:1000"] });
  await infra.runScenario("entitlement", own);
});
test("429 too_many_requests from the tenant bucket, with headers", async () => {
  const own = await infra.startSim("noderatelimit", { extra: ["--rate-limit", "0.1:3"] });
  await infra.runScenario("tenantRateLimit", own);
});
test("the SDK's retries wait for x-ratelimit-reset", async () => {
  const own = await infra.startSim("noderetry", { extra: ["--rate-limit", "2:1"] });
  await infra.runScenario("sdkRetryHonoursReset", own);
});
test("429 from verify's own bucket", async () => {
  const own = await infra.startSim("nodeverifylimit", { extra: ["--rate-limit", "1000:1000", "--verify-limit", "2:60"] });
  await infra.runScenario("verifyBucket", own);
});
test("401 after the simulator expires every token", async () => {
  const own = await infra.startSim("nodeexpiry");
  await infra.runScenario("expiredToken", own);
});
test("uncertain readings switched: verify 400, no pagination, metadata replace, relaxed type fields, lower-case methods, origin only in first verify, 409 while provisioning", async () => {
  const own = await infra.startSim("nodereadings", {
    extra: [
      "--rate-limit", "1000:1000", "--verify-limit", "1000:1", "--cert-delay", "600000",
      "--verify-failure-400", "--no-pagination", "--metadata-replace", "--relaxed-type-fields",
      "--origin-only-in-first-verify", "--lowercase-method-names", "--conflict-while-provisioning",
    ],
  });
  await infra.runScenario("readings", own);
});
test("injected 503 and a 429 storm", async () => {
  const own = await infra.startSim("nodefaults", { extra: ROOMY_LIMITS });
  await infra.runScenario("faults", own);
});
test("a static token expires at its TTL; the SDK's provider refreshes", async () => {
  const own = await infra.startSim("nodettl", { extra: ["--token-ttl", "2"] });
  await infra.runScenario("tokenTtl", own);
});
