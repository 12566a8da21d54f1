// Subscribes with the reference clients, graphql-ws (over the `ws` package) and
// graphql-sse (distinct connections mode), and prints what each received as one JSON line:
// {"ws": [result, ...], "sse": [result, ...]}; a failure is recorded as {"error": ...}.
// Usage: node graphql_clients.mjs <modules dir> <http url> <query>
import { createRequire } from "node:module";
import path from "node:path";

const [modules, url, query] = process.argv.slice(2);
const require = createRequire(path.join(modules, "noop.js"));
const WebSocket = require("ws");
const graphqlWs = require("graphql-ws");
const graphqlSse = require("graphql-sse");

async function collect(client) {
  const received = [];
  try {
    for await (const result of client.iterate({ query })) {
      received.push(result);
    }
  } catch (error) {
    received.push({ error: Array.isArray(error) ? error.map((e) => e.message) : String(error?.message ?? error) });
  }
  return received;
}

const wsClient = graphqlWs.createClient({ url: url.replace(/^http/, "ws"), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
const ws = await collect(wsClient);
await wsClient.dispose();
const sseClient = graphqlSse.createClient({ url, retryAttempts: 0 });
const sse = await collect(sseClient);
sseClient.dispose();
console.log(JSON.stringify({ ws, sse }));
