// npm's mailpit-api client, unchanged: one call of it, for the Python tests.
// Prints {ok, value} or {ok: false, error} as one JSON line.
//
// node npm_call.mjs MODULE_DIR URL METHOD ARGS_JSON
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [directory, url, method, args] = process.argv.slice(2);
const entry = join(directory, "node_modules", "mailpit-api", "dist", "index.mjs");
const { MailpitClient } = await import(pathToFileURL(entry).href);
const mailpit = new MailpitClient(url);
try {
  const value = await mailpit[method](...JSON.parse(args));
  console.log(JSON.stringify({ ok: true, value: value ?? null }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error.message ?? error) }));
}
