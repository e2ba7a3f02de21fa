// Verifies webhook deliveries with the unmodified Standard Webhooks reference library.
// Input (stdin): one JSON object per line, {"secret": "whsec_...", "headers": {...},
// "body": "<the raw body as received>"}. Output: one line per input, "ok" or
// "fail: <reason>", in order.
import { Webhook } from "standardwebhooks";
import { createInterface } from "node:readline";

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  try {
    const { secret, headers, body } = JSON.parse(line);
    new Webhook(secret).verify(body, headers);
    console.log("ok");
  } catch (err) {
    console.log(`fail: ${err && err.message ? err.message : err}`);
  }
}
