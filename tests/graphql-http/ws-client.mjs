// Subscribes to a run's events with the unmodified `graphql-ws` client (over the `ws`
// package) and prints each event as one JSON line on stdout.
//
//   node ws-client.mjs <ws-url> <api-key> <run-id> [after]
//
// Exit status: 0 when the server completed the subscription, 1 when it failed (GraphQL
// errors, a closed socket: the reason goes to stderr), 2 on bad usage, 3 on timeout.
// Used by tests/it/streaming.rs.

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, key, runId, after] = process.argv.slice(2);
if (!url || !key || !runId) {
  console.error('usage: node ws-client.mjs <ws-url> <api-key> <run-id> [after]');
  process.exit(2);
}

const TIMEOUT_MS = 60_000;
setTimeout(() => {
  console.error(`no completion within ${TIMEOUT_MS} ms`);
  process.exit(3);
}, TIMEOUT_MS).unref();

const query = `subscription RunEvents($runId: ID!, $after: Int) {
  runEvents(runId: $runId, after: $after) { seq type data runId createdAt }
}`;
const variables = { runId };
if (after !== undefined) variables.after = Number(after);

/** A close event, error event or error as text. */
function describe(err) {
  if (err instanceof Error) return err.stack ?? err.message;
  if (err && typeof err === 'object') {
    if ('code' in err && 'reason' in err) {
      return `socket closed: code ${err.code}, reason ${JSON.stringify(err.reason)}`;
    }
    if ('message' in err) return `${err.type ?? 'error'}: ${err.message}`;
  }
  return String(err);
}

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${key}` },
  lazy: true,
  retryAttempts: 0,
});

let failed = false;
try {
  // The loop ends when the server sends `complete` for the subscription.
  for await (const result of client.iterate({ query, variables })) {
    if (result.errors) {
      console.error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      failed = true;
      break;
    }
    process.stdout.write(`${JSON.stringify(result.data.runEvents)}\n`);
  }
  if (!failed) console.error('subscription completed');
} catch (err) {
  console.error(`subscription failed: ${describe(err)}`);
  failed = true;
} finally {
  await client.dispose();
}
// Let stdout drain: the process ends once the client has disposed of its socket.
process.exitCode = failed ? 1 : 0;
