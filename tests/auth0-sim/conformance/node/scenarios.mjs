// SDK scenarios, run in a child node (see harness.mjs) against a simulator started by the parent test.
// Each export gets the context {sim, dns, full, readOnly} and asserts field by field with node:assert.
import assert from "node:assert/strict";
import { appendFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { ManagementClient, ManagementError, TokenProvider, Management } from "auth0";

const ID_RE = /^cd_[A-Za-z0-9]{16}$/;
const TXT_PREFIX = "_cf-custom-hostname.";
const NO_RETRY = { maxRetries: 0 };
const CERT_WAIT_MS = 15_000;

// ---- recording which SDK methods ran ------------------------------------------------------------

const noted = new Set();
function note(name) {
  if (noted.has(name)) return;
  noted.add(name);
  if (process.env.CONFORMANCE_METHODS_FILE) appendFileSync(process.env.CONFORMANCE_METHODS_FILE, `node ${name}\n`);
}

/** Wraps an SDK sub-client so every method call is noted as `prefix.method`. */
function recorded(target, prefix) {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (typeof value !== "function" || typeof prop !== "string" || prop.startsWith("_")) return value;
      return (...args) => {
        note(`${prefix}.${prop}`);
        return value.apply(obj, args);
      };
    },
  });
}

/** The SDK's ManagementClient with client credentials; custom-domain and settings calls recorded. */
function management(sim, client) {
  const raw = new ManagementClient({ domain: sim.tenantDomain, clientId: client.clientId, clientSecret: client.clientSecret });
  return { raw, customDomains: recorded(raw.customDomains, "customDomains"), settings: recorded(raw.tenants.settings, "tenants.settings") };
}

function freshDomain(label) {
  return `${label}-${randomBytes(5).toString("hex")}.conformance-node.example.com`;
}

async function publish(dns, name, type, value) {
  const resp = await fetch(`${dns.controlUrl}/records`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, type, value }),
  });
  assert.ok(resp.status === 200 || resp.status === 201, `test-dns PUT /records: ${resp.status} ${await resp.text()}`);
}

async function control(sim, method, path, body) {
  const resp = await fetch(`${sim.controlUrl}/${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  return { status: resp.status, body: text ? JSON.parse(text) : null };
}

// ---- assertions ---------------------------------------------------------------------------------

/** Awaits `promise`, expects the SDK to reject with `cls`, and checks status, Auth0 body and headers. */
async function expectError(promise, cls, status, errorCode) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${cls.name} ${status}, the call succeeded`);
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${err?.constructor?.name}: ${err?.message}`);
  assert.ok(err instanceof ManagementError);
  assert.equal(err.statusCode, status);
  const body = err.body;
  assert.equal(typeof body, "object", `error body is not JSON: ${body}`);
  assert.equal(body.statusCode, status);
  assert.ok(typeof body.error === "string" && body.error.length > 0);
  assert.ok(typeof body.message === "string" && body.message.length > 0);
  // null: no specific code required (no source fixes it); undefined: not checked at all.
  if (errorCode === null) assert.ok(!("errorCode" in body) || body.errorCode, JSON.stringify(body));
  else if (errorCode !== undefined) assert.equal(body.errorCode, errorCode, JSON.stringify(body));
  const headers = err.rawResponse?.headers;
  for (const h of ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"]) {
    assert.match(headers?.get(h) ?? "", /^\d+$/, `${h} missing on ${status}`);
  }
  return err;
}

/** `created_at` (not in the API definition, but in every real answer since 2025): ISO 8601 with ms. */
function assertCreatedAt(d) {
  assert.match(d.created_at ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `created_at: ${d.created_at}`);
  const at = Date.parse(d.created_at);
  assert.ok(Math.abs(Date.now() - at) < 3_600_000, d.created_at);
}

function assertNewDomain(d, domain, type, extra = {}) {
  assert.match(d.custom_domain_id, ID_RE);
  assert.equal(d.domain, domain);
  assert.equal(d.type, type);
  assert.equal(d.status, "pending_verification");
  assert.equal(typeof d.primary, "boolean");
  assert.ok(!("cname_api_key" in d), "cname_api_key must never appear before the first verify");
  assert.equal(d.verification.methods.length, 1);
  assertCreatedAt(d);
  const m = d.verification.methods[0];
  if (type === "auth0_managed_certs") {
    // Upper case, as every real answer since mid-2025 (the API definition says lower case).
    assert.equal(m.name, "CNAME");
    assert.equal(m.domain, domain);
    assert.ok(m.record.includes(".edge.tenants.") && m.record !== domain, m.record);
    assert.equal(d.tls_policy, "recommended");
    assert.ok(!("origin_domain_name" in d), "Auth0-managed domains never show origin_domain_name");
    assert.ok(!("custom_client_ip_header" in d));
    // Until Auth0's background job has looked at the domain: no certificate, no status.
    assert.ok(!d.certificate || (d.certificate.certificate_authority === "letsencrypt" && !d.certificate.status), JSON.stringify(d.certificate));
  } else {
    assert.equal(m.name, "TXT");
    assert.equal(m.domain, TXT_PREFIX + domain);
    assert.ok(typeof m.record === "string" && m.record.length >= 8);
    assert.ok(!("origin_domain_name" in d), "a self-managed origin is shown once the domain is ready");
    assert.ok(!("tls_policy" in d));
    assert.ok("custom_client_ip_header" in d, "self-managed domains carry custom_client_ip_header (null until set)");
  }
  for (const [k, v] of Object.entries(extra)) assert.deepEqual(d[k], v, k);
}

// ---- scenarios ----------------------------------------------------------------------------------

/** TokenProvider (the SDK's client-credentials grant) and its refusals. */
export async function tokens({ sim, full, readOnly }) {
  note("TokenProvider.getAccessToken");
  const provider = new TokenProvider({ domain: sim.tenantDomain, clientId: full.clientId, clientSecret: full.clientSecret, audience: sim.audience });
  const token = await provider.getAccessToken();
  assert.equal(token.split(".").length, 3);
  const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
  assert.ok(claims.exp * 1000 > Date.now());
  const scopes = new Set((claims.scope ?? "").split(" "));
  for (const s of ["read:custom_domains", "create:custom_domains", "update:custom_domains", "delete:custom_domains"]) {
    assert.ok(scopes.has(s), `token lacks ${s}: ${claims.scope}`);
  }
  // Cached: a second call answers the same token.
  assert.equal(await provider.getAccessToken(), token);

  // A static token from the provider works with ManagementClient({token}).
  const viaToken = new ManagementClient({ domain: sim.tenantDomain, token });
  assert.ok(Array.isArray(await recorded(viaToken.customDomains, "customDomains").list()));

  const ro = await new TokenProvider({ domain: sim.tenantDomain, clientId: readOnly.clientId, clientSecret: readOnly.clientSecret, audience: sim.audience }).getAccessToken();
  const roScopes = JSON.parse(Buffer.from(ro.split(".")[1], "base64url").toString()).scope.split(" ").sort();
  assert.deepEqual(roScopes, ["read:custom_domains", "read:tenant_settings"]);

  for (const [clientId, secret] of [[full.clientId, "wrong-secret"], ["no-such-client", "x"]]) {
    const bad = new TokenProvider({ domain: sim.tenantDomain, clientId, clientSecret: secret, audience: sim.audience });
    await assert.rejects(bad.getAccessToken(), (e) => {
      assert.ok(e instanceof ManagementError);
      assert.equal(e.statusCode, 401);
      assert.equal(e.body.error, "access_denied");
      assert.ok(e.body.error_description);
      return true;
    });
  }

  const foreign = new TokenProvider({ domain: sim.tenantDomain, clientId: full.clientId, clientSecret: full.clientSecret, audience: "https://other-tenant.example.com/api/v2/" });
  await assert.rejects(foreign.getAccessToken(), (e) => {
    assert.equal(e.statusCode, 403);
    assert.equal(e.body.error, "access_denied");
    assert.ok(e.body.error_description.includes("https://other-tenant.example.com/api/v2/"));
    return true;
  });

  // ManagementClient with a wrong secret fails on its first call, at token time.
  const badClient = management(sim, { ...full, clientSecret: "wrong" });
  await assert.rejects(badClient.customDomains.list(), (e) => {
    assert.ok(e instanceof ManagementError);
    assert.equal(e.statusCode, 401);
    assert.equal(e.body.error, "access_denied");
    return true;
  });
}

export async function createAndGet({ sim, full }) {
  const c = management(sim, full);
  const am = freshDomain("am");
  const d1 = await c.customDomains.create({
    domain: am,
    type: "auth0_managed_certs",
    tls_policy: "recommended",
    domain_metadata: { team: "payments", env: "prod" },
  });
  assertNewDomain(d1, am, "auth0_managed_certs", {
    tls_policy: "recommended",
    domain_metadata: { team: "payments", env: "prod" },
  });
  assert.notEqual(d1.is_default, true);
  assert.ok(!d1.certificate && !d1.verification.status, "create shows no certificate and no verification.status");

  const sm = freshDomain("sm");
  const d2 = await c.customDomains.create({
    domain: sm,
    type: "self_managed_certs",
    verification_method: "txt",
    custom_client_ip_header: "cf-connecting-ip",
    relying_party_identifier: sm,
  });
  assertNewDomain(d2, sm, "self_managed_certs", { custom_client_ip_header: "cf-connecting-ip", relying_party_identifier: sm });
  assert.ok(!d2.certificate || d2.certificate.status === undefined, "self-managed domains have no Auth0 certificate");

  const got = await c.customDomains.get(d2.custom_domain_id);
  assertNewDomain(got, sm, "self_managed_certs", { custom_client_ip_header: "cf-connecting-ip" });
  assert.deepEqual(got.verification.methods, d2.verification.methods);
  const got1 = await c.customDomains.get(d1.custom_domain_id);
  assert.deepEqual(got1.verification.methods, d1.verification.methods);
  assert.equal(got1.created_at, d1.created_at);

  // The HttpResponsePromise exposes the raw response: rate-limit headers on success.
  const { data, rawResponse } = await c.customDomains.get(d1.custom_domain_id).withRawResponse();
  assert.equal(data.custom_domain_id, d1.custom_domain_id);
  assert.equal(rawResponse.status, 200);
  for (const h of ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"]) assert.match(rawResponse.headers.get(h), /^\d+$/);

  await expectError(c.customDomains.get("cd_0000000000000000", NO_RETRY), Management.NotFoundError, 404, "inexistent_custom_domain");
}

export async function list({ sim, full }) {
  const c = management(sim, full);
  const tail = freshDomain("list");
  const names = [`c${tail}`, `a${tail}`, `b${tail}`];
  const ids = {};
  for (const n of names) ids[n] = (await c.customDomains.create({ domain: n, type: "self_managed_certs" })).custom_domain_id;

  const all = await c.customDomains.list();
  assert.ok(Array.isArray(all));
  for (const n of names) {
    const d = all.find((x) => x.domain === n);
    assert.ok(d, `${n} missing from list`);
    assert.equal(d.custom_domain_id, ids[n]);
    assertNewDomain(d, n, "self_managed_certs");
  }

  const only = await c.customDomains.list({ q: `domain:${names[1]}` });
  assert.deepEqual(only.map((d) => d.custom_domain_id), [ids[names[1]]]);

  const pending = await c.customDomains.list({ q: "status:pending_verification" });
  assert.ok(pending.every((d) => d.status === "pending_verification"));
  for (const n of names) assert.ok(pending.some((d) => d.domain === n));

  const sorted = await c.customDomains.list({ sort: "domain:1" });
  const order = sorted.map((d) => d.domain);
  assert.deepEqual(order, [...order].sort());
  assert.equal(order.length, all.length);

  const projected = await c.customDomains.list({ q: `domain:${names[0]}`, fields: "domain,status", include_fields: true });
  assert.deepEqual(projected, [{ domain: names[0], status: "pending_verification" }]);
  const excluded = await c.customDomains.list({ q: `domain:${names[0]}`, fields: "verification,certificate", include_fields: false });
  assert.equal(excluded.length, 1);
  assert.ok(!("verification" in excluded[0]));
  assert.equal(excluded[0].custom_domain_id, ids[names[0]]);

  // The SDK's list has no take/from; passed as extra query parameters the checkpoint shape comes back
  // untouched (the node SDK does not validate responses).
  const page1 = await c.customDomains.list({}, { queryParams: { take: 2 } });
  assert.equal(page1.custom_domains.length, 2);
  assert.equal(typeof page1.next, "string");
  const seen = page1.custom_domains.map((d) => d.domain);
  let next = page1.next;
  for (let i = 0; next && i < 100; i++) {
    const page = await c.customDomains.list({}, { queryParams: { take: 2, from: next } });
    assert.ok(page.custom_domains.length <= 2);
    seen.push(...page.custom_domains.map((d) => d.domain));
    next = page.next;
  }
  assert.equal(next, undefined, "the last page has no `next`");
  assert.deepEqual(seen, [...seen].sort(), "pages come in domain order");
  assert.equal(new Set(seen).size, all.length, "pages cover every domain exactly once");
}

export async function update({ sim, full }) {
  const c = management(sim, full);
  const name = freshDomain("upd");
  const created = await c.customDomains.create({
    domain: name,
    type: "self_managed_certs",
    custom_client_ip_header: "true-client-ip",
    domain_metadata: { keep: "1", drop: "2" },
  });
  const id = created.custom_domain_id;
  const updated = await c.customDomains.update(id, {
    custom_client_ip_header: "x-forwarded-for",
    domain_metadata: { drop: null, new: "3" },
    relying_party_identifier: name,
  });
  assert.equal(updated.custom_domain_id, id);
  assert.equal(updated.domain, name);
  assert.equal(updated.status, "pending_verification");
  assert.ok(!("tls_policy" in updated));
  assert.equal(updated.custom_client_ip_header, "x-forwarded-for");
  assert.deepEqual(updated.domain_metadata, { keep: "1", new: "3" });
  assert.equal(updated.relying_party_identifier, name);
  assert.ok(!("cname_api_key" in updated));

  const cleared = await c.customDomains.update(id, { relying_party_identifier: null });
  assert.ok(!cleared.relying_party_identifier, "null removes relying_party_identifier");
  const emptyHeader = await c.customDomains.update(id, { custom_client_ip_header: "" });
  assert.equal(emptyHeader.custom_client_ip_header, "", "\"\" is a valid header value and is kept");
  // Metadata is untouched by a PATCH that does not name it.
  assert.deepEqual(emptyHeader.domain_metadata, { keep: "1", new: "3" });
  const got0 = await c.customDomains.get(id);
  assert.equal(got0.custom_client_ip_header, "");
  await c.customDomains.update(id, { custom_client_ip_header: "x-forwarded-for" });
  const got = await c.customDomains.get(id);
  assert.deepEqual(got.domain_metadata, { keep: "1", new: "3" });
  assert.equal(got.custom_client_ip_header, "x-forwarded-for");

  await expectError(c.customDomains.update(id, { type: "auth0_managed_certs" }, NO_RETRY), Management.BadRequestError, 400, "invalid_body");
  await expectError(c.customDomains.update(id, { domain: "other.example.com" }, NO_RETRY), Management.BadRequestError, 400, "invalid_body");
  await expectError(c.customDomains.update(id, { tls_policy: "compatible" }, NO_RETRY), Management.BadRequestError, 400, "invalid_body");
  const cross = await expectError(c.customDomains.update(id, { tls_policy: "recommended" }, NO_RETRY), Management.BadRequestError, 400, "invalid_body");
  assert.equal(cross.body.message, "The 'tls_policy' cannot be set on self_managed domains");
  assert.equal((await c.customDomains.get(id)).domain, name);
}

export async function verifySelfManaged({ sim, dns, full }) {
  const c = management(sim, full);
  const name = freshDomain("smv");
  const created = await c.customDomains.create({ domain: name, type: "self_managed_certs" });
  const id = created.custom_domain_id;
  const method = created.verification.methods[0];

  const early = await c.customDomains.verify(id);
  assert.equal(early.custom_domain_id, id);
  assert.equal(early.status, "pending_verification");
  assert.ok(!("cname_api_key" in early));
  assert.ok(!("origin_domain_name" in early));

  await publish(dns, method.domain, "TXT", method.record);
  const first = await c.customDomains.verify(id);
  assert.equal(first.custom_domain_id, id);
  assert.equal(first.domain, name);
  assert.equal(first.type, "self_managed_certs");
  assert.equal(first.status, "ready");
  assert.match(first.cname_api_key, /^[0-9a-f]{128}$/);
  assert.ok(!("is_default" in first), "verify answers carry no is_default");
  assert.ok(first.origin_domain_name.includes(".edge.tenants."), first.origin_domain_name);

  // The simulator's bookkeeping agrees with what the SDK received.
  const issued = await control(sim, "GET", "domains");
  assert.equal(issued.status, 200);
  const mine = issued.body.filter((d) => d.custom_domain_id === id);
  assert.equal(mine.length, 1);
  assert.equal(mine[0].cname_api_key, first.cname_api_key);

  const again = await expectError(c.customDomains.verify(id, NO_RETRY), Management.BadRequestError, 400, null);
  assert.equal(again.body.message, "Custom domain already verified.");
  assert.ok(!("cname_api_key" in again.body), "the key must be handed out only once");
  const got = await c.customDomains.get(id);
  assert.equal(got.status, "ready");
  assert.ok(!("cname_api_key" in got));
  assert.equal(got.origin_domain_name, first.origin_domain_name);
  const listed = await c.customDomains.list({ q: `domain:${name}` });
  assert.equal(listed.length, 1);
  assert.ok(!("cname_api_key" in listed[0]));

  const t = await c.customDomains.test(id);
  assert.equal(t.success, true);
  assert.ok(typeof t.message === "string" && t.message.length > 0);
}

export async function verifyAuth0Managed({ sim, dns, full }) {
  const c = management(sim, full);
  const name = freshDomain("amv");
  const created = await c.customDomains.create({ domain: name, type: "auth0_managed_certs" });
  const id = created.custom_domain_id;

  const notReady = await expectError(c.customDomains.test(id, NO_RETRY), Management.ConflictError, 409, null);
  assert.equal(notReady.body.message, "The custom domain is not ready.");

  // No record: 200 and the domain as it was (no verification.status, no is_default).
  const failed = await c.customDomains.verify(id);
  assert.equal(failed.status, "pending_verification");
  assert.equal(failed.verification.status, undefined);
  assert.ok(!("is_default" in failed));
  assert.ok(!("cname_api_key" in failed));

  await publish(dns, name, "CNAME", created.verification.methods[0].record);
  const ok = await c.customDomains.verify(id);
  assert.equal(ok.verification.status, "verified");
  assert.match(ok.verification.last_verified_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(["provisioning", "provisioned"].includes(ok.certificate.status));
  assert.ok(!("cname_api_key" in ok));

  const deadline = Date.now() + CERT_WAIT_MS;
  let got = await c.customDomains.get(id);
  while (got.certificate.status !== "provisioned" && Date.now() < deadline) {
    await sleep(100);
    got = await c.customDomains.get(id);
  }
  assert.equal(got.certificate.status, "provisioned");
  assert.equal(got.status, "ready");
  assert.ok(["letsencrypt", "googletrust"].includes(got.certificate.certificate_authority));
  const days = (Date.parse(got.certificate.renews_before) - Date.now()) / 86_400_000;
  assert.ok(days > 89.9 && days < 90.1, got.certificate.renews_before);
  assert.ok(!("origin_domain_name" in got));
  assert.equal((await c.customDomains.test(id)).success, true);
}

export async function deleteDomain({ sim, full }) {
  const c = management(sim, full);
  const id = (await c.customDomains.create({ domain: freshDomain("del"), type: "auth0_managed_certs" })).custom_domain_id;
  const { data, rawResponse } = await c.customDomains.delete(id).withRawResponse();
  assert.equal(data, undefined);
  assert.equal(rawResponse.status, 204);
  await expectError(c.customDomains.get(id, NO_RETRY), Management.NotFoundError, 404, "inexistent_custom_domain");
  assert.ok(!(await c.customDomains.list()).some((d) => d.custom_domain_id === id));
  // Deleting an id that is gone answers 204 again, as recorded from a real tenant.
  assert.equal((await c.customDomains.delete(id, NO_RETRY).withRawResponse()).rawResponse.status, 204);
  await expectError(c.customDomains.test("cd_0000000000000000", NO_RETRY), Management.NotFoundError, 404, "inexistent_custom_domain");
  await expectError(c.customDomains.verify("cd_0000000000000000", NO_RETRY), Management.NotFoundError, 404, "inexistent_custom_domain");
  // update has no typed 404 in the SDK.
  await expectError(c.customDomains.update("cd_0000000000000000", { tls_policy: "recommended" }, NO_RETRY), ManagementError, 404, "inexistent_custom_domain");
  for (const call of [(x) => c.customDomains.get(x, NO_RETRY), (x) => c.customDomains.verify(x, NO_RETRY), (x) => c.customDomains.delete(x, NO_RETRY)]) {
    const err = await expectError(call("not-a-domain-id"), Management.BadRequestError, 400, "invalid_uri");
    assert.ok(err.body.message.includes("not-a-domain-id"));
  }
}

export async function defaultDomain({ sim, dns, full }) {
  const c = management(sim, full);
  const canonical = await c.customDomains.getDefault();
  assert.deepEqual(Object.keys(canonical), ["domain"], "no default yet: the canonical {domain} shape");
  const canonicalName = canonical.domain;

  const pending = await c.customDomains.create({ domain: freshDomain("pend"), type: "self_managed_certs" });
  await expectError(c.customDomains.setDefault({ domain: pending.domain }, NO_RETRY), Management.BadRequestError, 400, null);

  const ids = {};
  const names = [freshDomain("defa"), freshDomain("defb")];
  for (const n of names) {
    const d = await c.customDomains.create({ domain: n, type: "self_managed_certs" });
    await publish(dns, d.verification.methods[0].domain, "TXT", d.verification.methods[0].record);
    assert.equal((await c.customDomains.verify(d.custom_domain_id)).status, "ready");
    ids[n] = d.custom_domain_id;
  }

  const chosen = await c.customDomains.setDefault({ domain: names[0] });
  assert.equal(chosen.custom_domain_id, ids[names[0]]);
  assert.equal(chosen.domain, names[0]);
  assert.equal(chosen.is_default, true);
  assert.equal(chosen.status, "ready");
  const got = await c.customDomains.getDefault();
  assert.equal(got.custom_domain_id, ids[names[0]]);
  assert.equal(got.is_default, true);
  assert.equal((await c.customDomains.get(ids[names[1]])).is_default, false);

  await c.customDomains.setDefault({ domain: names[1] });
  const flags = Object.fromEntries((await c.customDomains.list()).map((d) => [d.custom_domain_id, d.is_default]));
  assert.equal(flags[ids[names[1]]], true);
  assert.equal(flags[ids[names[0]]], false);
  assert.equal(Object.values(flags).filter(Boolean).length, 1);

  const back = await c.customDomains.setDefault({ domain: canonicalName });
  assert.equal(back.domain, canonicalName);
  assert.ok(!("custom_domain_id" in back));
  assert.deepEqual(await c.customDomains.getDefault(), { domain: canonicalName });
  assert.ok(!(await c.customDomains.list()).some((d) => d.is_default));
}

export async function tenantSettings({ sim, full, readOnly }) {
  const c = management(sim, full);
  const before = await c.settings.get();
  assert.equal(before.mtls.enable_endpoint_aliases, false);
  assert.equal(typeof before.friendly_name, "string");

  const after = await c.settings.update({ mtls: { enable_endpoint_aliases: true } });
  assert.equal(after.mtls.enable_endpoint_aliases, true);
  assert.equal(after.friendly_name, before.friendly_name);

  const renamed = await c.settings.update({ friendly_name: "Conformance Tenant" });
  assert.equal(renamed.friendly_name, "Conformance Tenant");
  assert.equal(renamed.mtls.enable_endpoint_aliases, true, "an update that does not name mtls keeps it");

  const again = await c.settings.get();
  assert.equal(again.mtls.enable_endpoint_aliases, true);
  assert.equal(again.friendly_name, "Conformance Tenant");
  assert.deepEqual(await c.settings.get({ fields: "mtls", include_fields: true }), { mtls: { enable_endpoint_aliases: true } });

  const ro = management(sim, readOnly);
  assert.equal((await ro.settings.get()).mtls.enable_endpoint_aliases, true);
  const err = await expectError(ro.settings.update({ friendly_name: "nope" }, NO_RETRY), Management.ForbiddenError, 403, "insufficient_scope");
  assert.ok(err.body.message.includes("update:tenant_settings"));
  assert.equal((await c.settings.update({ mtls: { enable_endpoint_aliases: false } })).mtls.enable_endpoint_aliases, false);
}

export async function invalidBodies({ sim, full }) {
  const c = management(sim, full);
  const name = freshDomain("dup");
  const first = await c.customDomains.create({ domain: name, type: "self_managed_certs" });
  await expectError(c.customDomains.create({ domain: name, type: "auth0_managed_certs" }, NO_RETRY), Management.ConflictError, 409, null);
  assert.deepEqual((await c.customDomains.list({ q: `domain:${name}` })).map((d) => [d.custom_domain_id, d.type]), [[first.custom_domain_id, "self_managed_certs"]]);

  const ok = "ok.conformance-node.example.com";
  const cases = [
    { domain: "not a hostname", type: "self_managed_certs" },
    { domain: "*.wild.example.com", type: "self_managed_certs" },
    { domain: ok, type: "bring_your_own" },
    { domain: ok },
    { domain: ok, type: "auth0_managed_certs", tls_policy: "compatible" },
    { domain: ok, type: "self_managed_certs", custom_client_ip_header: "x-real-ip" },
    { domain: ok, type: "self_managed_certs", domain_metadata: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, "v"])) },
    { domain: ok, type: "self_managed_certs", domain_metadata: { k: "x".repeat(256) } },
    { domain: ok, type: "self_managed_certs", colour: "blue" },
  ];
  for (const body of cases) {
    const err = await expectError(c.customDomains.create(body, NO_RETRY), Management.BadRequestError, 400, "invalid_body");
    if ("colour" in body) assert.ok(err.body.message.includes("colour"), err.body.message);
  }
  assert.deepEqual(await c.customDomains.list({ q: `domain:${ok}` }), []);

  const meta = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, "v".repeat(255)]));
  assert.deepEqual((await c.customDomains.create({ domain: freshDomain("meta"), type: "self_managed_certs", domain_metadata: meta })).domain_metadata, meta);
}

export async function insufficientScope({ sim, full, readOnly }) {
  const ro = management(sim, readOnly);
  const c = management(sim, full);
  assert.ok(Array.isArray(await ro.customDomains.list()));
  const id = (await c.customDomains.create({ domain: freshDomain("ro"), type: "self_managed_certs" })).custom_domain_id;
  const calls = [
    [() => ro.customDomains.create({ domain: freshDomain("ro2"), type: "self_managed_certs" }, NO_RETRY), "create:custom_domains"],
    [() => ro.customDomains.update(id, { tls_policy: "recommended" }, NO_RETRY), "update:custom_domains"],
    [() => ro.customDomains.delete(id, NO_RETRY), "delete:custom_domains"],
    [() => ro.customDomains.verify(id, NO_RETRY), "create:custom_domains"],
    [() => ro.customDomains.setDefault({ domain: "x.example.com" }, NO_RETRY), "update:custom_domains"],
  ];
  for (const [call, scope] of calls) {
    const err = await expectError(call(), Management.ForbiddenError, 403, "insufficient_scope");
    assert.ok(err.body.message.includes(scope), err.body.message);
  }
  assert.equal((await c.customDomains.get(id)).status, "pending_verification");
}

export async function entitlement({ sim, full }) {
  const c = management(sim, full);
  await c.customDomains.create({ domain: freshDomain("e1"), type: "self_managed_certs" });
  await c.customDomains.create({ domain: freshDomain("e2"), type: "self_managed_certs" });
  const err = await expectError(c.customDomains.create({ domain: freshDomain("e3"), type: "self_managed_certs" }, NO_RETRY), Management.ConflictError, 409, null);
  assert.equal(err.body.message, "You reached the maximum number of custom domains for your account.");
  assert.equal((await c.customDomains.list()).length, 2);
}

export async function tenantRateLimit({ sim, full }) {
  const c = management(sim, full);
  const seen = [];
  let limited;
  for (let i = 0; i < 10 && !limited; i++) {
    try {
      seen.push((await c.customDomains.list({}, NO_RETRY).withRawResponse()).rawResponse.headers);
    } catch (e) {
      limited = e;
    }
  }
  assert.ok(limited, "no 429 within 10 calls on a 3-token bucket");
  assert.ok(seen.length >= 1 && seen.length <= 3, `${seen.length} calls passed`);
  const remaining = seen.map((h) => Number(h.get("x-ratelimit-remaining")));
  assert.deepEqual(remaining, [...remaining].sort((a, b) => b - a));
  assert.ok(seen.every((h) => h.get("x-ratelimit-limit") === "3"));
  await expectError(Promise.reject(limited), Management.TooManyRequestsError, 429, "too_many_requests");
  assert.equal(limited.body.error, "Too Many Requests");
  const h = limited.rawResponse.headers;
  assert.equal(h.get("x-ratelimit-limit"), "3");
  assert.equal(h.get("x-ratelimit-remaining"), "0");
  assert.ok(Number(h.get("x-ratelimit-reset")) >= Math.floor(Date.now() / 1000));
}

export async function sdkRetryHonoursReset({ sim, full }) {
  const c = management(sim, full);
  await c.customDomains.list();
  const start = Date.now();
  assert.ok(Array.isArray(await c.customDomains.list()), "the SDK's default retries wait for x-ratelimit-reset");
  assert.ok(Date.now() - start < 10_000);
}

export async function verifyBucket({ sim, full }) {
  const c = management(sim, full);
  const id = (await c.customDomains.create({ domain: freshDomain("vl"), type: "self_managed_certs" })).custom_domain_id;
  const { rawResponse } = await c.customDomains.verify(id, NO_RETRY).withRawResponse();
  assert.equal(rawResponse.headers.get("x-ratelimit-limit"), "2");
  assert.equal(rawResponse.headers.get("x-ratelimit-remaining"), "1");
  await c.customDomains.verify(id, NO_RETRY);
  const err = await expectError(c.customDomains.verify(id, NO_RETRY), Management.TooManyRequestsError, 429, "too_many_requests");
  assert.equal(err.rawResponse.headers.get("x-ratelimit-remaining"), "0");
  const wait = Number(err.rawResponse.headers.get("x-ratelimit-reset")) - Date.now() / 1000;
  assert.ok(wait >= 30 && wait <= 61, `reset ${wait}s away`);
  assert.equal((await c.customDomains.get(id)).custom_domain_id, id, "other endpoints are not throttled by verify's bucket");
}

export async function expiredToken({ sim, full }) {
  const c = management(sim, full);
  assert.ok(Array.isArray(await c.customDomains.list()));
  const r = await control(sim, "POST", "expire-tokens");
  assert.ok(r.status === 200 || r.status === 204, JSON.stringify(r));
  await expectError(c.customDomains.list({}, NO_RETRY), Management.UnauthorizedError, 401, null);
  assert.ok(Array.isArray(await management(sim, full).customDomains.list()), "a fresh client gets a new token");
}

/** The uncertain readings switched to their alternative (one simulator with every switch). */
export async function readings({ sim, dns, full }) {
  const c = management(sim, full);

  const am = await c.customDomains.create({ domain: freshDomain("v400"), type: "auth0_managed_certs", tls_policy: "recommended" });
  await expectError(c.customDomains.verify(am.custom_domain_id, NO_RETRY), Management.BadRequestError, 400, "custom_domain_not_verified");
  const failed = await c.customDomains.get(am.custom_domain_id);
  assert.equal(failed.status, "pending_verification");
  assert.equal(failed.verification.methods[0].name, "cname", "--lowercase-method-names");

  await expectError(c.customDomains.list({}, { queryParams: { take: 2 }, ...NO_RETRY }), ManagementError, 400, "invalid_query_string");

  const sm = await c.customDomains.create({ domain: freshDomain("repl"), type: "self_managed_certs", domain_metadata: { a: "1", b: "2" } });
  assert.deepEqual((await c.customDomains.update(sm.custom_domain_id, { domain_metadata: { c: "3" } })).domain_metadata, { c: "3" });

  // --relaxed-type-fields: accepted, and still shown per type only.
  const st1 = await c.customDomains.create({ domain: freshDomain("st1"), type: "self_managed_certs", tls_policy: "recommended" });
  assert.ok(!("tls_policy" in st1));
  const st2 = await c.customDomains.create({ domain: freshDomain("st2"), type: "auth0_managed_certs", custom_client_ip_header: "true-client-ip" });
  assert.ok(!("custom_client_ip_header" in st2));

  const m = sm.verification.methods[0];
  await publish(dns, m.domain, "TXT", m.record);
  const withKey = await c.customDomains.verify(sm.custom_domain_id);
  assert.ok(withKey.cname_api_key);
  const read = await c.customDomains.get(sm.custom_domain_id);
  assert.ok(withKey.origin_domain_name);
  assert.ok(!("origin_domain_name" in read), "--origin-only-in-first-verify");
  assert.ok(!("cname_api_key" in read));

  await publish(dns, am.domain, "CNAME", am.verification.methods[0].record);
  const verified = await c.customDomains.verify(am.custom_domain_id);
  assert.equal(verified.verification.status, "verified");
  assert.equal(verified.certificate.status, "provisioning");
  await expectError(c.customDomains.test(am.custom_domain_id, NO_RETRY), Management.ConflictError, 409, null);
  await expectError(c.customDomains.delete(am.custom_domain_id, NO_RETRY), Management.ConflictError, 409, null);
  assert.equal((await c.customDomains.get(am.custom_domain_id)).custom_domain_id, am.custom_domain_id);
}

/** Injected 5xx on one endpoint, and a 429 storm, as the SDK surfaces them. */
export async function faults({ sim, full }) {
  const c = management(sim, full);
  const id = (await c.customDomains.create({ domain: freshDomain("flt"), type: "self_managed_certs" })).custom_domain_id;
  const set = await control(sim, "POST", "faults", { error_rate: 1.0, error_status: 503, endpoint: "GET /api/v2/custom-domains/{id}" });
  assert.ok([200, 204].includes(set.status));
  await expectError(c.customDomains.get(id, NO_RETRY), ManagementError, 503, null);
  assert.ok((await c.customDomains.list()).some((d) => d.custom_domain_id === id), "only the named endpoint fails");
  assert.ok([200, 204].includes((await control(sim, "DELETE", "faults")).status));
  assert.equal((await c.customDomains.get(id)).custom_domain_id, id);

  assert.ok([200, 204].includes((await control(sim, "POST", "storm", { seconds: 30 })).status));
  await expectError(c.customDomains.list({}, NO_RETRY), Management.TooManyRequestsError, 429, "too_many_requests");
}

/** A static token dies at its TTL; ManagementClient's own provider refreshes ahead of expiry. */
export async function tokenTtl({ sim, full }) {
  const provider = new TokenProvider({ domain: sim.tenantDomain, clientId: full.clientId, clientSecret: full.clientSecret, audience: sim.audience });
  const token = await provider.getAccessToken();
  const exp = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).exp;
  const fixed = recorded(new ManagementClient({ domain: sim.tenantDomain, token }).customDomains, "customDomains");
  const refreshing = management(sim, full);
  assert.ok(Array.isArray(await refreshing.customDomains.list()));
  const deadline = Date.now() + 5000;
  while (Date.now() / 1000 <= exp + 0.3 && Date.now() < deadline) await sleep(100);
  await expectError(fixed.list({}, NO_RETRY), Management.UnauthorizedError, 401, null);
  assert.ok(Array.isArray(await refreshing.customDomains.list()), "the SDK's provider fetched a fresh token");
  const counters = await control(sim, "GET", "counters");
  assert.ok(counters.body.tokens_issued >= 3, JSON.stringify(counters.body));
}

/** 20 concurrent creates of one domain: exactly one 201, the rest typed 409s; 10 distinct ones all land. */
export async function raceCreate({ sim, full }) {
  const c = management(sim, full);
  await c.customDomains.list(); // token fetched once, outside the race
  const name = freshDomain("race");
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, () => c.customDomains.create({ domain: name, type: "self_managed_certs" }, NO_RETRY)),
  );
  const ok = results.filter((r) => r.status === "fulfilled");
  const conflicts = results.filter((r) => r.status === "rejected" && r.reason instanceof Management.ConflictError);
  assert.equal(ok.length, 1, JSON.stringify(results.map((r) => r.status)));
  assert.equal(conflicts.length, 19);
  assert.deepEqual((await c.customDomains.list({ q: `domain:${name}` })).map((d) => d.custom_domain_id), [ok[0].value.custom_domain_id]);

  const names = Array.from({ length: 10 }, (_, i) => freshDomain(`par${i}`));
  const made = await Promise.all(names.map((n) => c.customDomains.create({ domain: n, type: "auth0_managed_certs" })));
  assert.equal(new Set(made.map((d) => d.custom_domain_id)).size, 10);
  const listed = new Set((await c.customDomains.list()).map((d) => d.domain));
  for (const n of names) assert.ok(listed.has(n), `${n} lost`);
}
