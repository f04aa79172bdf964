// node-auth0 (npm `auth0`) custom-domain and tenant-settings methods against the simulator, over TLS.
import { after, before, test } from "node:test";
import { Infra, ROOMY_LIMITS } from "./harness.mjs";

const infra = new Infra();
let sim;

before(async () => {
  await infra.startDns();
  sim = await infra.startSim("nodeconf", { extra: ROOMY_LIMITS });
});
after(() => infra.close());

test("TokenProvider / ManagementClient client credentials and refusals", () => infra.runScenario("tokens", sim));
test("create and get, both types, field by field", () => infra.runScenario("createAndGet", sim));
test("list with q, fields, include_fields, sort and checkpoint pages", () => infra.runScenario("list", sim));
test("update mutable fields, metadata merge and null removal", () => infra.runScenario("update", sim));
test("verify self-managed: cname_api_key exactly once; test()", () => infra.runScenario("verifySelfManaged", sim));
test("verify Auth0-managed: CNAME, certificate provisioned", () => infra.runScenario("verifyAuth0Managed", sim));
test("delete: 204, then GET 404 inexistent_custom_domain, delete again 204", () => infra.runScenario("deleteDomain", sim));
test("getDefault / setDefault and is_default", async () => {
  const own = await infra.startSim("nodedefault", { extra: ROOMY_LIMITS });
  await infra.runScenario("defaultDomain", own);
});
test("tenants.settings get / update keep mtls.enable_endpoint_aliases", async () => {
  const own = await infra.startSim("nodesettings", { extra: ROOMY_LIMITS });
  await infra.runScenario("tenantSettings", own);
});
