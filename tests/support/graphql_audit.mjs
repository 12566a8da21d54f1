// Runs graphql-http's GraphQL-over-HTTP audit against a server; prints one JSON line per result.
// Usage: node graphql_audit.mjs <modules dir> <url>
import { createRequire } from "node:module";
import path from "node:path";

const [modules, url] = process.argv.slice(2);
const require = createRequire(path.join(modules, "noop.js"));
const { auditServer } = require("graphql-http");
const results = await auditServer({ url });
for (const result of results) {
  const response = result.response ? { status: result.response.status } : undefined;
  console.log(JSON.stringify({ id: result.id, name: result.name, status: result.status, reason: result.reason, response }));
}
