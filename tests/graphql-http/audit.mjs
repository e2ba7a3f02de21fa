// Runs the graphql-http server audits (GraphQL over HTTP spec conformance) against a
// running OrchStack server.
//
//   node tests/graphql-http/audit.mjs <url> <bearer-token>
//   GRAPHQL_URL=... GRAPHQL_TOKEN=... node tests/graphql-http/audit.mjs
//
// Prints one line per audit and exits 1 when any MUST or SHOULD audit is not "ok"
// (MAY audits may warn; they are printed but do not fail the run). Exits 2 on bad usage.

import { serverAudits } from 'graphql-http';

const url = process.argv[2] || process.env.GRAPHQL_URL;
const token = process.argv[3] || process.env.GRAPHQL_TOKEN;
if (!url || !token) {
  console.error('usage: node audit.mjs <graphql-url> <bearer-token> (or GRAPHQL_URL, GRAPHQL_TOKEN)');
  process.exit(2);
}

/** Global fetch with the bearer token on every request. */
function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const audits = serverAudits({ url, fetchFn });
const failed = [];
const counts = { ok: 0, notice: 0, warn: 0, error: 0 };

for (const audit of audits) {
  let result;
  try {
    result = await audit.fn();
  } catch (err) {
    // A thrown audit is fatal (e.g. the server is unreachable): count it as an error.
    result = { id: audit.id, name: audit.name, status: 'error', reason: `audit threw: ${err && err.stack ? err.stack : err}` };
  }
  const status = result.status;
  counts[status] = (counts[status] || 0) + 1;
  let line = `${audit.id}\t${status}\t${audit.name}`;
  if (status !== 'ok') {
    line += `\n\treason: ${result.reason}`;
    if (result.response) {
      let body = '';
      try {
        body = await result.response.text();
      } catch {
        // The audit may have consumed the body already.
      }
      const ct = result.response.headers.get('content-type');
      line += `\n\tresponse: ${result.response.status} content-type=${ct} body=${body.slice(0, 500)}`;
    }
  }
  console.log(line);
  const level = audit.name.split(' ', 1)[0];
  if ((level === 'MUST' || level === 'SHOULD') && status !== 'ok') {
    failed.push(`${audit.id} ${audit.name}: ${status}: ${result.reason}`);
  }
}

console.log(
  `\n${audits.length} audits: ${counts.ok} ok, ${counts.notice} notice, ${counts.warn} warn, ${counts.error} error`,
);
if (failed.length > 0) {
  console.log(`\n${failed.length} MUST/SHOULD audit(s) failed:`);
  for (const f of failed) console.log(`  ${f}`);
  process.exit(1);
}
console.log('every MUST and SHOULD audit passed');
