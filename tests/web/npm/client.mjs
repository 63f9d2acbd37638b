// The mailpit-api npm client, unchanged, against a running postier: each call's result
// (or its error) printed as one JSON object for tests/web/test_npm_client.py to judge.
//
// node client.mjs URL [USER PASSWORD]
import { MailpitClient } from "mailpit-api";

const [url, username, password] = process.argv.slice(2);
const auth = username === undefined ? undefined : { username, password };
const mailpit = new MailpitClient(url, { auth });
const stranger = new MailpitClient(url, { auth: { username: "nobody", password: "wrong" } });

async function outcome(call) {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error: String(error.message ?? error) };
  }
}

const results = {};
results.info = await outcome(() => mailpit.getInfo());
results.list = await outcome(() => mailpit.listMessages());
const listed = results.list.ok ? results.list.value.messages : [];
const rich = listed.find((message) => message.Subject === "Rich");
const plain = listed.find((message) => message.Subject === "Plain");
if (rich !== undefined && plain !== undefined) {
  results.page = await outcome(() => mailpit.listMessages(1, 1));
  results.message = await outcome(() => mailpit.getMessageSummary(rich.ID));
  results.latest = await outcome(() => mailpit.getMessageSummary());
  results.headers = await outcome(() => mailpit.getMessageHeaders(rich.ID));
  results.raw = await outcome(() => mailpit.getMessageSource(rich.ID));
  results.text = await outcome(() => mailpit.renderMessageText(rich.ID));
  results.html = await outcome(() => mailpit.renderMessageHTML(rich.ID));
  const attachment = results.message.ok ? results.message.value.Attachments[0] : undefined;
  if (attachment !== undefined) {
    results.part = await outcome(async () => {
      const blob = await mailpit.getMessageAttachment(rich.ID, attachment.PartID);
      return { size: blob.size, type: blob.type };
    });
  }
  results.search = await outcome(() => mailpit.searchMessages({ query: "subject:Plain" }));
  results.searchNone = await outcome(() => mailpit.searchMessages({ query: "subject:nothing" }));
  results.badSearch = await outcome(() => mailpit.searchMessages({ query: "nosuchfield:x" }));
  results.wait = await outcome(() =>
    mailpit.waitForMessage({ query: "subject:Plain" }, { timeout: 5000, interval: 100 }),
  );
  results.markUnread = await outcome(() => mailpit.setReadStatus({ IDs: [rich.ID], Read: false }));
  results.afterUnread = await outcome(() => mailpit.listMessages());
  results.markAllRead = await outcome(() => mailpit.setReadStatus({ Read: true }));
  results.afterAllRead = await outcome(() => mailpit.listMessages());
  results.markSearch = await outcome(() =>
    mailpit.setReadStatus({ Search: "subject:Plain", Read: false }),
  );
  results.afterSearch = await outcome(() => mailpit.listMessages());
  results.missing = await outcome(() => mailpit.getMessageSummary("qnosuchmessage2"));
  results.deleteOne = await outcome(() => mailpit.deleteMessages({ IDs: [plain.ID] }));
  results.afterDeleteOne = await outcome(() => mailpit.listMessages());
  results.deleteSearch = await outcome(() => mailpit.deleteMessagesBySearch({ query: "subject:Rich" }));
  results.afterDeleteSearch = await outcome(() => mailpit.listMessages());
  results.deleteAll = await outcome(() => mailpit.deleteMessages());
  results.afterDeleteAll = await outcome(() => mailpit.listMessages());
}
results.stranger = await outcome(() => stranger.listMessages());
process.stdout.write(JSON.stringify(results) + "\n");
