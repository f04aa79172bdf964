// Child-process entry: `node scenario-runner.mjs NAME` runs scenarios.mjs export NAME with the context
// the parent test put in CONFORMANCE_CTX. Exit code 0 = every assertion held.
import * as scenarios from "./scenarios.mjs";

const name = process.argv[2];
const fn = scenarios[name];
if (typeof fn !== "function") {
  console.error(`unknown scenario ${name}`);
  process.exit(2);
}
const ctx = JSON.parse(process.env.CONFORMANCE_CTX ?? "{}");
try {
  await fn(ctx);
  process.exit(0);
} catch (err) {
  console.error(err?.stack ?? err);
  if (err?.body !== undefined) console.error("body:", JSON.stringify(err.body));
  process.exit(1);
}
