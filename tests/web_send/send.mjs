// npm's mailpit-api client, unchanged, sending through postier's POST /api/v1/send:
// prints {ok, value} or {ok: false, error} as one JSON line for test_send_api.py.
//
// node send.mjs MODULE_DIR URL REQUEST_JSON
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [directory, url, request] = process.argv.slice(2);
const entry = join(directory, "node_modules", "mailpit-api", "dist", "index.mjs");
const { MailpitClient } = await import(pathToFileURL(entry).href);
const mailpit = new MailpitClient(url);
try {
  console.log(JSON.stringify({ ok: true, value: await mailpit.sendMessage(JSON.parse(request)) }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error.message ?? error) }));
}
