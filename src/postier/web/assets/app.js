// postier's page: the mailboxes, a paged list of messages, one message; the recent SMTP
// sessions, each one's dialogue narrated by the parts of the brief; live through
// /api/events. Plain JavaScript, no build step, nothing loaded from elsewhere; its words
// in French or English (i18n.js).
//
// Every piece of a message (subject, addresses, file names, text) and of a session (the
// client's lines are whatever it typed) is put in the page as text (textContent,
// attribute values), never as markup; the message's HTML is shown in a sandboxed frame
// from /view/, which runs no script and has no origin of its own.

import * as i18n from "./i18n.js";

const t = i18n.t;

const PAGE = 50; // messages a page of the list shows
const SEARCH_DELAY = 250; // ms after the last key before a search is asked
const RELOAD_DELAY = 120; // ms that live changes are gathered before a list is asked again
const SESSION_POLL = 1000; // ms between two looks at a session that goes on, while it is open
const SESSIONS_POLL = 2000; // ms between two looks at the sessions' list, while it is shown

const state = {
  mode: "mail", // "mail": the mailboxes' messages; "sessions": the SMTP sessions
  mailbox: null, // the address shown, or null: all mail
  query: "",
  start: 0,
  total: 0, // messages of the list (those that match, for a search)
  messages: [], // the summaries of the page shown
  selected: null, // the ID of the row chosen
  open: null, // the message shown, as /api/v1/message/{ID} gives it
  view: "html",
  remote: false,
  mailboxes: [],
  sessions: [], // the summaries /api/v1/sessions gives, newest first
  sessionsKept: null, // how many the server keeps (0: none), null until asked
  session: null, // the session shown, as /api/v1/session/{ID} gives it
  live: null, // the socket's state: null (connecting), true, false (reconnecting)
};

const $ = (id) => document.getElementById(id);

/** An element with its properties and children (strings become text nodes). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function clip() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "clip");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute(
    "d",
    "M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9",
  );
  svg.append(path);
  return svg;
}

// -- talking to the API ----------------------------------------------------------------

async function api(method, path, body) {
  const options = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    if (type.includes("json")) message = (await response.json()).Error || message;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return type.includes("json") ? response.json() : response.text();
}

function messagePath(id, tail = "") {
  return `/api/v1/message/${encodeURIComponent(id)}${tail}`;
}

/** The query that names the list shown: its mailbox and its search. */
function scope() {
  const parts = [];
  if (state.mailbox) parts.push(`mailbox:"${state.mailbox.replaceAll('"', "")}"`);
  if (state.query) parts.push(state.query);
  return parts.join(" ");
}

// -- formatting ------------------------------------------------------------------------

let timeFormat;
let secondsFormat;
let dayFormat;
let yearFormat;
let longFormat;
const numberFormat = { format: (value) => i18n.num(value) };

/** The date formats of the language chosen (made again at each switch). */
function formats() {
  const locale = i18n.locale();
  timeFormat = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
  secondsFormat = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  dayFormat = new Intl.DateTimeFormat(locale, { month: "short", day: "numeric" });
  yearFormat = new Intl.DateTimeFormat(locale, { year: "numeric", month: "short", day: "numeric" });
  longFormat = new Intl.DateTimeFormat(locale, { dateStyle: "full", timeStyle: "medium" });
}

function shortDate(text) {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return "";
  const now = new Date();
  if (date.toDateString() === now.toDateString()) return timeFormat.format(date);
  if (date.getFullYear() === now.getFullYear()) return dayFormat.format(date);
  return yearFormat.format(date);
}

function longDate(text) {
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : longFormat.format(date);
}

function size(bytes) {
  const units = t("units");
  if (bytes < 1000) return `${numberFormat.format(bytes)} ${units[0]}`;
  let value = bytes / 1000;
  let unit = 1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = value < 10 ? 1 : 0;
  return `${i18n.num(value, { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${units[unit]}`;
}

function person(contact) {
  if (!contact) return "";
  return contact.Name || contact.Address || "";
}

function address(contact) {
  if (!contact.Name) return contact.Address;
  return contact.Address ? `${contact.Name} <${contact.Address}>` : contact.Name;
}

// -- small things on screen --------------------------------------------------------------

let toastTimer = 0;

function toast(message) {
  let node = $("toast");
  if (!node) {
    node = el("div", { id: "toast", class: "toast", role: "alert" });
    document.body.append(node);
  }
  node.textContent = message;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (node.hidden = true), 5000);
}

/** Ask before something that cannot be undone; in the page (never window.confirm). */
function confirmed(question, action = t("delete")) {
  const dialog = $("confirm");
  $("confirm-text").textContent = question;
  $("confirm-ok").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

// -- mailboxes ---------------------------------------------------------------------------

async function loadMailboxes() {
  try {
    state.mailboxes = await api("GET", "/api/v1/mailboxes");
  } catch (error) {
    toast(t("mailboxes.error", error.message));
    return;
  }
  renderMailboxes();
}

function counter(unread, total) {
  return el("span", {
    class: unread ? "count" : "count zero",
    text: unread ? numberFormat.format(unread) : numberFormat.format(total),
    title: t("unreadOf", unread, total),
  });
}

function renderMailboxes() {
  const list = $("mailboxes");
  let total = 0;
  let unread = 0;
  for (const box of state.mailboxes) {
    total += box.Total;
    unread += box.Unread;
  }
  const entry = (label, value, count, extra) =>
    el(
      "li",
      { class: extra },
      el(
        "button",
        {
          type: "button",
          "aria-current": String(state.mode === "mail" && state.mailbox === value),
          "aria-label": `${label}, ${count.title}`,
          onclick: () => choose(value),
        },
        el("span", { class: "mailbox-name", text: label, title: label }),
        count,
      ),
    );
  list.replaceChildren(
    entry(t("allMail"), null, counter(unread, total), "all"),
    ...state.mailboxes.map((box) => entry(box.Address, box.Address, counter(box.Unread, box.Total))),
  );
  document.title = unread ? `(${numberFormat.format(unread)}) postier` : "postier";
}

function choose(mailbox) {
  leaveSessions();
  state.mailbox = mailbox;
  state.start = 0;
  closeMessage();
  renderMailboxes();
  loadList();
}

// -- the list ----------------------------------------------------------------------------

let listAsked = 0;
let listLoading = false;
let listStale = false; // a live change came while the list was asked: its answer may miss it

function listPath() {
  const params = new URLSearchParams({ start: String(state.start), limit: String(PAGE) });
  if (state.mailbox) params.set("mailbox", state.mailbox);
  if (state.query) {
    params.set("query", state.query);
    return `/api/v1/search?${params}`;
  }
  return `/api/v1/messages?${params}`;
}

async function loadList() {
  const asked = ++listAsked;
  listLoading = true;
  listStale = false;
  let found;
  try {
    found = await api("GET", listPath());
  } catch (error) {
    if (asked !== listAsked) return;
    listLoading = false;
    state.messages = [];
    state.total = 0;
    renderList(state.query ? t("search.error", error.message) : error.message);
    return;
  }
  if (asked !== listAsked) return; // a later request answers for the list now
  listLoading = false;
  if (listStale) reloadSoon();
  if (found.messages.length === 0 && state.start > 0 && found.messages_count > 0) {
    state.start = Math.max(0, Math.floor((found.messages_count - 1) / PAGE) * PAGE);
    loadList();
    return;
  }
  state.messages = found.messages;
  state.total = found.messages_count;
  renderList();
}

let reloadTimer = 0;

function reloadSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(loadList, RELOAD_DELAY);
}

let mailboxTimer = 0;

function mailboxesSoon() {
  clearTimeout(mailboxTimer);
  mailboxTimer = setTimeout(loadMailboxes, RELOAD_DELAY * 2);
}

function rowLabel(message) {
  const said = `${person(message.From) || t("noSender")}: ${message.Subject || t("noSubject")}`;
  return message.Read ? said : `${t("unread")}. ${said}`;
}

function row(message) {
  const subject = message.Subject || t("noSubject");
  const attachments = message.Attachments
    ? el(
        "span",
        {
          class: "attached",
          title: t("attachmentsCount", message.Attachments),
        },
        clip(),
      )
    : null;
  return el(
    "li",
    {
      class: message.Read ? "row" : "row unread",
      role: "option",
      "aria-selected": String(message.ID === state.selected),
      "aria-label": rowLabel(message),
      "data-id": message.ID,
      onclick: () => openMessage(message.ID),
    },
    el("span", { class: "dot", "aria-hidden": "true" }),
    el("span", {
      class: "from",
      text: person(message.From) || t("noSender"),
      title: message.From ? address(message.From) : "",
    }),
    el("time", {
      class: "date",
      datetime: message.Created,
      text: shortDate(message.Created),
      title: longDate(message.Created),
    }),
    el("span", { class: "subject", text: subject, title: subject }),
    el("span", { class: "meta" }, attachments, el("span", { class: "size", text: size(message.Size) })),
    el("span", { class: "snippet" }, ...chips(message.Tags), message.Snippet || ""),
  );
}

// -- tags ------------------------------------------------------------------------------

/** A message's tags as chips (text only); a chip searches for its tag. */
function chips(tags, remove) {
  return (tags || []).map((name) =>
    el(
      "span",
      { class: "tag", "data-tag": name },
      el("button", {
        type: "button",
        class: "tag-name",
        text: name,
        title: t("tags.find", name),
        onclick: (event) => {
          event.stopPropagation();
          findTag(name);
        },
      }),
      remove
        ? el("button", {
            type: "button",
            class: "tag-remove",
            text: "×",
            "aria-label": t("tags.remove", name),
            title: t("tags.remove", name),
            onclick: () => remove(name),
          })
        : null,
    ),
  );
}

function findTag(name) {
  const search = $("search");
  search.value = `tag:"${name.replaceAll('"', "")}"`;
  runSearch();
}

/** The open message's tags, each removable, and the field that adds one. */
function renderTags() {
  const message = state.open;
  const input = el("input", {
    type: "text",
    id: "tag-input",
    class: "tag-input",
    maxlength: 100,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: t("tags.add"),
    "aria-label": t("tags.add"),
  });
  const form = el(
    "form",
    {
      class: "tag-add",
      onsubmit: (event) => {
        event.preventDefault();
        const name = input.value.trim();
        if (name) setTags(message.ID, [...(message.Tags || []), name]);
      },
    },
    input,
  );
  const remove = (name) => setTags(message.ID, (message.Tags || []).filter((tag) => tag !== name));
  $("tags").replaceChildren(
    el("span", { class: "tags-label", text: t("tags.label") }),
    ...chips(message.Tags, remove),
    form,
  );
}

/** Give the message exactly `tags` (PUT /api/v1/tags), then show them as the server has them. */
async function setTags(id, tags) {
  try {
    await api("PUT", "/api/v1/tags", { Tags: tags, IDs: [id] });
    const fresh = await api("GET", messagePath(id));
    if (state.open && state.open.ID === id) {
      state.open.Tags = fresh.Tags;
      renderTags();
      $("tag-input").focus();
    }
    const shown = state.messages.find((item) => item.ID === id);
    if (shown) shown.Tags = fresh.Tags;
    reloadSoon();
  } catch (error) {
    toast(error.message);
  }
}

function renderList(problem) {
  const list = $("messages");
  list.setAttribute("role", "listbox");
  list.replaceChildren(...state.messages.map(row));
  const empty = $("empty");
  if (state.mode !== "mail") return; // the sessions' list has the pane
  empty.hidden = state.messages.length > 0;
  empty.textContent = problem || (state.query ? t("noMatch") : t("noMessages"));
  const title = state.mailbox || t("allMail");
  $("list-title").textContent = state.query ? `${title} · ${t("search.suffix")}` : title;
  $("list-title").title = title;
  const last = state.start + state.messages.length;
  $("range").textContent = state.total ? t("range", state.start + 1, last, state.total) : "";
  $("prev").disabled = state.start === 0;
  $("next").disabled = last >= state.total;
  $("delete-all").disabled = state.total === 0;
  $("mark-all-read").disabled = state.total === 0;
}

function rowOf(id) {
  for (const node of $("messages").children) if (node.dataset.id === id) return node;
  return null;
}

function select(id, { scroll = true } = {}) {
  state.selected = id;
  for (const node of $("messages").children) {
    node.setAttribute("aria-selected", String(node.dataset.id === id));
  }
  const node = id && rowOf(id);
  if (node && scroll) node.scrollIntoView({ block: "nearest" });
}

function move(step) {
  const ids = state.messages.map((m) => m.ID);
  if (ids.length === 0) return;
  let at = ids.indexOf(state.selected);
  at = at < 0 ? (step > 0 ? 0 : ids.length - 1) : Math.min(ids.length - 1, Math.max(0, at + step));
  select(ids[at]);
}

function setRead(id, read) {
  const message = state.messages.find((m) => m.ID === id);
  if (message) message.Read = read;
  const node = rowOf(id);
  if (node) {
    node.classList.toggle("unread", !read);
    if (message) node.setAttribute("aria-label", rowLabel(message));
  }
  if (state.open && state.open.ID === id) {
    state.open.Read = read;
    $("toggle-read").textContent = read ? t("markUnread") : t("markRead");
  }
}

/** Tags changed elsewhere (another page, the API): show them; a search may now match
 * other messages, so its list is asked for again. */
function tagsHeard(id, tags) {
  const message = state.messages.find((m) => m.ID === id);
  if (message) {
    message.Tags = tags;
    const node = rowOf(id);
    if (node) node.replaceWith(row(message));
  }
  if (state.open && state.open.ID === id) {
    const input = $("tag-input");
    const typing = input && document.activeElement === input ? input.value : null;
    state.open.Tags = tags;
    renderTags();
    if (typing !== null) {
      $("tag-input").value = typing;
      $("tag-input").focus();
    }
  }
  if (state.query) reloadSoon();
}

function removed(id) {
  const at = state.messages.findIndex((m) => m.ID === id);
  if (at >= 0) {
    state.messages.splice(at, 1);
    state.total = Math.max(0, state.total - 1);
    const node = rowOf(id);
    if (node) node.remove();
    renderList();
    if (state.start + state.messages.length < state.total) reloadSoon(); // fill the page again
  }
  if (state.open && state.open.ID === id) showGone();
  if (state.selected === id) state.selected = null;
}

// -- one message -------------------------------------------------------------------------

let openAsked = 0;

async function openMessage(id) {
  select(id);
  const asked = ++openAsked;
  let message;
  try {
    message = await api("GET", messagePath(id));
  } catch (error) {
    if (asked === openAsked) toast(error.message);
    return;
  }
  if (asked !== openAsked) return;
  closeSession();
  state.open = message;
  state.remote = false;
  state.view = message.HTML ? "html" : "text";
  renderMessage();
  findSession(message, asked);
  setRead(id, true);
  document.body.classList.add("reading");
  $("back").hidden = false;
}

function closeMessage() {
  state.open = null;
  openAsked += 1;
  closeSession();
  $("message").hidden = true;
  $("nothing").hidden = false;
  $("view").replaceChildren();
  document.body.classList.remove("reading");
  $("back").hidden = true;
}

function showGone() {
  state.open = null;
  $("message").hidden = true;
  $("nothing").hidden = false;
  $("nothing-text").textContent = t("gone");
  $("view").replaceChildren();
}

const REMOTE = /\b(?:src|srcset|background|poster)\s*=\s*["']?\s*(?:https?:)?\/\/|url\(\s*["']?\s*(?:https?:)?\/\/|@import/i;

function renderMessage() {
  const message = state.open;
  $("nothing").hidden = true;
  $("nothing-text").textContent = t("choose");
  $("message").hidden = false;
  $("subject").textContent = message.Subject || t("noSubject");
  const fields = $("fields");
  fields.replaceChildren();
  const field = (name, value) => {
    if (value) fields.append(el("dt", { text: name }), el("dd", { text: value }));
  };
  const list = (contacts) => (contacts || []).map(address).join(", ");
  field(t("field.from"), message.From ? address(message.From) : "");
  field(t("field.to"), list(message.To));
  field(t("field.cc"), list(message.Cc));
  field(t("field.bcc"), list(message.Bcc));
  field(t("field.replyTo"), list(message.ReplyTo));
  field(t("field.date"), longDate(message.Date));
  field(t("field.size"), size(message.Size));
  const attachments = $("attachments");
  attachments.replaceChildren(
    ...(message.Attachments || []).map((part) =>
      el(
        "li",
        {},
        el(
          "a",
          {
            href: messagePath(message.ID, `/part/${encodeURIComponent(part.PartID)}`),
            download: part.FileName || `part-${part.PartID}`,
            title: `${part.ContentType}, ${size(part.Size)}`,
          },
          clip(),
          el("span", { text: part.FileName || part.ContentType }),
          el("span", { class: "size", text: size(part.Size) }),
        ),
      ),
    ),
  );
  attachments.hidden = !(message.Attachments || []).length;
  renderTags();
  $("toggle-read").textContent = message.Read ? t("markUnread") : t("markRead");
  $("download").href = messagePath(message.ID, "/raw?dl=1");
  $("tab-html").disabled = !message.HTML;
  $("tab-text").disabled = !message.Text;
  $("tab-check").disabled = !message.HTML;
  showView(state.view);
}

async function showView(name) {
  const message = state.open;
  if (!message) return;
  state.view = name;
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.setAttribute("aria-selected", String(tab.dataset.view === name));
  }
  const view = $("view");
  $("remote").hidden = !(name === "html" && !state.remote && REMOTE.test(message.HTML || ""));
  if (name === "html") {
    const source = `/view/${encodeURIComponent(message.ID)}.html${state.remote ? "?remote=1" : ""}`;
    view.replaceChildren(
      el("iframe", {
        sandbox: "",
        referrerpolicy: "no-referrer",
        title: t("frame.title"),
        src: source,
      }),
    );
  } else if (name === "text") {
    view.replaceChildren(el("pre", { class: "plain", text: message.Text || "" }));
  } else if (name === "check") {
    view.replaceChildren(el("p", { class: "gone", text: t("loading") }));
    let body;
    try {
      body = await api("GET", messagePath(message.ID, "/html-check"));
    } catch (error) {
      body = null;
      toast(error.message);
    }
    if (state.open !== message || state.view !== name) return;
    view.replaceChildren(...(body === null ? [] : htmlCheck(body)));
  } else {
    view.replaceChildren(el("p", { class: "gone", text: t("loading") }));
    let body;
    try {
      body = await api("GET", messagePath(message.ID, name === "raw" ? "/raw" : "/headers"));
    } catch (error) {
      body = null;
      toast(error.message);
    }
    if (state.open !== message || state.view !== name) return;
    if (body === null) view.replaceChildren();
    else if (name === "raw") view.replaceChildren(el("pre", { text: body }));
    else view.replaceChildren(headerTable(body));
  }
}

/** The HTML check: a bar per client family, then the features found, worst first. */
function htmlCheck(body) {
  const total = body.Total;
  const families = Object.values(body.Families || {}).sort((a, b) => b.Supported - a.Supported || a.Name.localeCompare(b.Name));
  // Widths through the CSSOM: the page's policy refuses style attributes.
  const share = (kind, value) => {
    const part = el("span", { class: kind });
    part.style.width = `${value}%`;
    return part;
  };
  const bar = (score) =>
    el(
      "span",
      { class: "share-bar", "aria-hidden": "true" },
      share("yes", score.Supported),
      share("partial", score.Partial),
      share("no", score.Unsupported),
    );
  const pct = (value) => i18n.num(value / 100, { style: "percent", maximumFractionDigits: 0 });
  const clients = el(
    "table",
    { class: "check-clients" },
    el(
      "tbody",
      {},
      ...families.map((family) =>
        el(
          "tr",
          {},
          el("th", { scope: "row", text: family.Name }),
          el("td", {}, bar(family)),
          el("td", { class: "pct", text: pct(family.Supported) }),
        ),
      ),
    ),
  );
  const features = body.Warnings.map((warning) =>
    el(
      "li",
      { class: "check-feature", "data-slug": warning.Slug },
      el("span", { class: "title", text: warning.Title }),
      el("span", { class: "found", text: t("check.found", warning.Score.Found) }),
      bar(warning.Score),
      el("span", { class: "pct", text: pct(warning.Score.Supported) }),
    ),
  );
  return [
    el(
      "section",
      { class: "check" },
      el("p", { class: "check-total", text: t("check.overall", Math.round(total.Supported), Math.round(total.Partial), Math.round(total.Unsupported)) }),
      el("h3", { text: t("check.clients") }),
      clients,
      el("h3", { text: t("check.features") }),
      features.length ? el("ol", { class: "check-features" }, ...features) : el("p", { class: "gone", text: t("check.none") }),
      el("p", { class: "check-source", text: t("check.source") }),
    ),
  ];
}

function headerTable(headers) {
  const rows = [];
  for (const [name, values] of Object.entries(headers)) {
    for (const value of values) rows.push(el("tr", {}, el("th", { scope: "row", text: name }), el("td", { text: value })));
  }
  return el("table", { class: "headers" }, el("tbody", {}, ...rows));
}

// -- changes asked from the page ---------------------------------------------------------

async function toggleRead() {
  const message = state.open;
  if (!message) return;
  const read = !message.Read;
  try {
    await api("PUT", "/api/v1/messages", { IDs: [message.ID], Read: read });
    setRead(message.ID, read);
  } catch (error) {
    toast(error.message);
  }
}

async function deleteMessage(id) {
  if (!id) return;
  const ids = state.messages.map((m) => m.ID);
  const next = ids[ids.indexOf(id) + 1] || ids[ids.indexOf(id) - 1] || null;
  const wasOpen = state.open && state.open.ID === id;
  try {
    await api("DELETE", "/api/v1/messages", { IDs: [id] });
  } catch (error) {
    toast(error.message);
    return;
  }
  removed(id);
  if (next) {
    select(next);
    if (wasOpen) openMessage(next);
  } else if (wasOpen) {
    closeMessage();
  }
}

async function deleteAll() {
  const question = state.query
    ? t("confirm.search", state.total, state.query)
    : state.mailbox
      ? t("confirm.mailbox", state.total, state.mailbox)
      : t("confirm.all", state.total);
  if (!(await confirmed(question))) return;
  try {
    const query = scope();
    if (query) await api("DELETE", `/api/v1/search?${new URLSearchParams({ query })}`);
    else await api("DELETE", "/api/v1/messages");
  } catch (error) {
    toast(error.message);
    return;
  }
  closeMessage();
  state.start = 0;
  loadList();
  loadMailboxes();
}

async function markAllRead() {
  const query = scope();
  try {
    await api("PUT", "/api/v1/messages", query ? { Search: query, Read: true } : { Read: true });
  } catch (error) {
    toast(error.message);
    return;
  }
  for (const message of state.messages) setRead(message.ID, true);
  mailboxesSoon();
}

// -- the SMTP sessions ---------------------------------------------------------------------
//
// The list is asked when the socket opens, again (gathered) after each delivery, and every
// SESSIONS_POLL ms while it is shown (a session that delivers nothing makes no event); an
// open session that goes on is asked again every SESSION_POLL ms until it ends or is left.

let sessionsAsked = 0;
let sessionsTimer = 0;
let sessionsPoll = 0;

async function loadSessions() {
  const asked = ++sessionsAsked;
  let found;
  try {
    found = await api("GET", "/api/v1/sessions");
  } catch (error) {
    // Shown only while live: when the server is away, the socket's state says so already.
    if (asked === sessionsAsked && state.mode === "sessions" && state.live) toast(t("sessions.error", error.message));
    return;
  }
  if (asked !== sessionsAsked) return;
  state.sessions = found.Sessions;
  state.sessionsKept = found.Kept;
  renderSessions();
}

function sessionsSoon() {
  clearTimeout(sessionsTimer);
  sessionsTimer = setTimeout(loadSessions, RELOAD_DELAY * 4);
}

function pollSessions() {
  clearTimeout(sessionsPoll);
  if (state.mode !== "sessions") return;
  sessionsPoll = setTimeout(() => {
    if (document.visibilityState !== "hidden") loadSessions();
    pollSessions();
  }, SESSIONS_POLL);
}

function moment(text) {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return "";
  if (date.toDateString() === new Date().toDateString()) return secondsFormat.format(date);
  return `${shortDate(text)} ${secondsFormat.format(date)}`;
}

function counts(session) {
  return el(
    "span",
    { class: "session-counts" },
    el("span", {
      class: session.Accepted ? "accepted" : "accepted none",
      text: t("session.accepted", session.Accepted),
    }),
    el("span", {
      class: session.Refused ? "refused" : "refused none",
      text: t("session.refused", session.Refused),
    }),
  );
}

function sessionRow(session) {
  const going = session.Ended === null;
  return el(
    "li",
    {
      class: going ? "row session-row going" : "row session-row",
      role: "option",
      "aria-selected": String(Boolean(state.session && state.session.ID === session.ID)),
      "data-id": session.ID,
      onclick: () => openSession(session.ID),
    },
    el("span", { class: "dot", "aria-hidden": "true" }),
    el("span", { class: "from" }, el("span", { class: "session-id", text: session.ID }), " ", session.Client),
    el("time", {
      class: "date",
      datetime: session.Started,
      text: moment(session.Started),
      title: longDate(session.Started),
    }),
    going
      ? el("span", { class: "subject live-badge", text: t("session.live") })
      : el("time", {
          class: "subject ended",
          datetime: session.Ended,
          text: `→ ${moment(session.Ended)}`,
          title: longDate(session.Ended),
        }),
    el("span", { class: "meta" }, counts(session)),
  );
}

function renderSessions() {
  const going = state.sessions.filter((s) => s.Ended === null).length;
  const count = $("sessions-count");
  count.textContent = state.sessions.length ? numberFormat.format(state.sessions.length) : "";
  count.className = going ? "count going" : "count zero";
  count.title = t("sessions.count", state.sessions.length, going);
  $("sessions-entry").setAttribute("aria-label", `${t("sessions")}, ${count.title}`);
  if (state.mode !== "sessions") return;
  $("sessions").replaceChildren(...state.sessions.map(sessionRow));
  const empty = $("empty");
  empty.hidden = state.sessions.length > 0;
  empty.textContent = state.sessionsKept === 0 ? t("sessions.off") : t("sessions.empty");
  $("list-title").textContent = t("sessions.title");
  $("list-title").title = t("sessions.title");
}

/** Show the sessions in the list pane (and `id`'s dialogue, if given). */
function showSessions(id) {
  if (state.mode !== "sessions") {
    state.mode = "sessions";
    closeMessage();
    for (const [node, shown] of [["messages", false], ["sessions", true], ["list-tools", false], ["pager", false]]) {
      $(node).hidden = !shown;
    }
    $("sessions-entry").setAttribute("aria-current", "true");
    $("nothing-text").textContent = t("sessions.choose");
    $("keys").hidden = true;
    renderMailboxes();
    renderSessions();
  }
  loadSessions();
  pollSessions();
  if (id) openSession(id);
}

/** Back to the messages: the sessions' list and dialogue are left. */
function leaveSessions() {
  if (state.mode === "mail") return;
  state.mode = "mail";
  clearTimeout(sessionsPoll);
  closeSession();
  for (const [node, shown] of [["messages", true], ["sessions", false], ["list-tools", true], ["pager", true]]) {
    $(node).hidden = !shown;
  }
  $("sessions-entry").setAttribute("aria-current", "false");
  $("nothing-text").textContent = t("choose");
  $("keys").hidden = false;
}

let sessionAsked = 0;
let sessionTimer = 0;

async function openSession(id) {
  if (state.mode !== "sessions") {
    showSessions(id);
    return;
  }
  const asked = ++sessionAsked;
  clearTimeout(sessionTimer);
  let session;
  try {
    session = await api("GET", `/api/v1/session/${encodeURIComponent(id)}?lang=${i18n.current()}`);
  } catch (error) {
    if (asked !== sessionAsked) return;
    if (error.status === 404) {
      closeSession(); // pushed out by newer ones (the server keeps the last --sessions-kept)
      toast(t("session.gone"));
      loadSessions();
    } else {
      toast(error.message);
    }
    return;
  }
  if (asked !== sessionAsked || state.mode !== "sessions") return;
  const again = state.session && state.session.ID === session.ID;
  state.session = session;
  for (const node of $("sessions").children) node.setAttribute("aria-selected", String(node.dataset.id === id));
  renderSession(again);
  document.body.classList.add("reading");
  $("back").hidden = false;
  if (session.Ended === null) sessionTimer = setTimeout(followSession, SESSION_POLL);
}

/** Ask again for the session open (it goes on, or the language changed). */
function followSession() {
  if (state.session && state.mode === "sessions") openSession(state.session.ID);
}

function closeSession() {
  sessionAsked += 1;
  clearTimeout(sessionTimer);
  if (!state.session) return;
  state.session = null;
  $("session").hidden = true;
  $("dialogue").replaceChildren();
  $("nothing").hidden = false;
  for (const node of $("sessions").children) node.setAttribute("aria-selected", "false");
}

function sessionFields(session) {
  const fields = $("session-fields");
  fields.replaceChildren();
  const field = (name, value) => fields.append(el("dt", { text: name }), el("dd", {}, value));
  field(t("session.client"), session.Client);
  field(t("session.started"), longDate(session.Started));
  field(
    t("session.ended"),
    session.Ended === null ? el("span", { class: "live-badge", text: t("session.going") }) : longDate(session.Ended),
  );
  field(t("session.messages"), counts(session));
}

function line(item, started, previous) {
  const part = i18n.PARTS[item.Part] || "other";
  const same = previous && previous.Part === item.Part;
  const wire = item.Wire || "";
  const side = wire.startsWith("C:") ? "client" : wire.startsWith("S:") ? "server" : "";
  const at = (new Date(item.Time).getTime() - started) / 1000;
  return el(
    "li",
    { class: `line part-${part}${side ? ` from-${side}` : ""}${same ? " same" : ""}` },
    el("time", {
      class: "at",
      datetime: item.Time,
      text: Number.isFinite(at) ? `+${t("seconds", Math.max(0, at))}` : "",
    }),
    el("span", { class: "part", text: `[${item.Part}]` }),
    el(
      "div",
      { class: "said" },
      wire ? el("code", { class: `wire ${side}`, text: wire }) : null,
      item.Text ? el("span", { class: "text", text: item.Text }) : null,
    ),
  );
}

/** The dialogue; `again`: the same session asked anew (kept at the bottom if it was there). */
function renderSession(again) {
  const session = state.session;
  $("nothing").hidden = true;
  $("session").hidden = false;
  $("session-title").textContent = t("session.title", session.ID);
  sessionFields(session);
  const dialogue = $("dialogue");
  const pane = $("session");
  const bottom = again && pane.scrollTop + pane.clientHeight >= pane.scrollHeight - 8;
  const started = new Date(session.Started).getTime();
  const lines = session.Lines.map((item, at) => line(item, started, session.Lines[at - 1]));
  if (session.Dropped) lines.push(el("li", { class: "line dropped", text: t("session.dropped", session.Dropped) }));
  dialogue.replaceChildren(...lines);
  dialogue.classList.toggle("going", session.Ended === null);
  if (!again) pane.scrollTop = 0;
  else if (bottom) pane.scrollTop = pane.scrollHeight;
}

function moveSession(step) {
  const ids = state.sessions.map((s) => s.ID);
  if (ids.length === 0) return;
  let at = state.session ? ids.indexOf(state.session.ID) : -1;
  at = at < 0 ? (step > 0 ? 0 : ids.length - 1) : Math.min(ids.length - 1, Math.max(0, at + step));
  openSession(ids[at]);
  const node = $("sessions").children[at];
  if (node) node.scrollIntoView({ block: "nearest" });
}

/** The message's session, when the server still keeps it: a button that opens it. */
async function findSession(message, asked) {
  const button = $("message-session");
  button.hidden = true;
  let session;
  try {
    session = await api("GET", messagePath(message.ID, "/session"));
  } catch {
    return; // not kept (or no SMTP here): no button
  }
  if (asked !== openAsked || state.open !== message) return;
  button.textContent = t("session.link", session.ID);
  button.dataset.id = session.ID;
  button.hidden = false;
}

// -- the language ---------------------------------------------------------------------------

function speak(language) {
  if (language) i18n.choose(language);
  formats();
  i18n.translate();
  for (const button of document.querySelectorAll(".lang button")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === i18n.current()));
  }
  if (!language) return; // the first time: nothing is on screen yet
  live(state.live);
  renderMailboxes();
  renderList();
  renderSessions();
  if (state.mode === "sessions") {
    $("nothing-text").textContent = t("sessions.choose");
    followSession();
  } else if (state.open) {
    $("toggle-read").textContent = state.open.Read ? t("markUnread") : t("markRead");
    renderMessage();
    const button = $("message-session");
    if (!button.hidden) button.textContent = t("session.link", button.dataset.id);
  } else {
    $("nothing-text").textContent = t("choose");
  }
}

// -- live --------------------------------------------------------------------------------

let socket = null;
let retry = 500;

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(`${scheme}//${location.host}/api/events`);
  let greeted = false;
  socket.addEventListener("message", (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!greeted) {
      // The first frame: from now on every change is heard, so the lists are asked now.
      greeted = true;
      retry = 500;
      live(true);
      loadMailboxes();
      loadList();
      loadSessions();
      followSession(); // a session left unfollowed while the server was away
    }
    heard(frame);
  });
  socket.addEventListener("close", () => {
    live(false);
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 8000);
  });
}

function live(on) {
  state.live = on;
  const node = $("live");
  node.classList.toggle("on", on === true);
  node.textContent = on === null ? t("live.connecting") : on ? t("live.on") : t("live.retry");
}

// The events name all mail's entries (a delivery to several recipients under its d ID);
// a mailbox lists copies: a change to an entry it does not hold is asked of the server.
function elsewhere(id) {
  const shown = state.messages.some((m) => m.ID === id) || (state.open && state.open.ID === id);
  return !shown && Boolean(state.mailbox || state.query);
}

function heard(frame) {
  const data = frame.Data;
  if (listLoading && frame.Type !== "stats") listStale = true;
  switch (frame.Type) {
    case "new":
      sessionsSoon(); // a delivery: its session's counts, and perhaps a session not yet listed
      if (state.messages.some((m) => m.ID === data.ID)) break;
      if (!state.mailbox && !state.query && state.start === 0) {
        state.messages.unshift(data);
        if (state.messages.length > PAGE) state.messages.length = PAGE;
        state.total += 1;
        renderList();
        select(state.selected, { scroll: false });
      } else {
        reloadSoon(); // which copy is whose, or what a search matches: the server says
      }
      break;
    case "update":
      if (elsewhere(data.ID)) reloadSoon();
      else if (Array.isArray(data.Tags)) tagsHeard(data.ID, data.Tags);
      else setRead(data.ID, data.Read);
      break;
    case "delete":
      if (elsewhere(data.ID)) reloadSoon();
      else removed(data.ID);
      break;
    case "truncate":
      state.messages = [];
      state.total = 0;
      state.start = 0;
      renderList();
      if (state.open) showGone();
      break;
    case "stats":
      mailboxesSoon();
      break;
    default:
      break;
  }
}

// -- keys and wiring -------------------------------------------------------------------------

function typing(target) {
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target.isContentEditable;
}

function onKey(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if ($("confirm").open) return;
  const search = $("search");
  if (typing(event.target)) {
    if (event.key === "Escape" && event.target === search) {
      search.blur();
      $("messages").focus();
    } else if (event.key === "Enter" && event.target === search) {
      event.preventDefault();
      runSearch();
    }
    return;
  }
  switch (event.key) {
    case "/":
      event.preventDefault();
      search.focus();
      search.select();
      break;
    case "j":
    case "ArrowDown":
      event.preventDefault();
      if (state.mode === "sessions") moveSession(1);
      else move(1);
      break;
    case "k":
    case "ArrowUp":
      event.preventDefault();
      if (state.mode === "sessions") moveSession(-1);
      else move(-1);
      break;
    case "Enter":
      if (state.mode === "mail" && state.selected) openMessage(state.selected);
      break;
    case "Delete":
      if (state.mode === "mail") deleteMessage(state.selected);
      break;
    case "u":
      if (state.mode === "mail") toggleRead();
      break;
    case "Escape":
      closeMessage();
      break;
    default:
      break;
  }
}

let searchTimer = 0;

function runSearch() {
  clearTimeout(searchTimer);
  const query = $("search").value.trim();
  if (query === state.query && state.mode === "mail") return;
  if (state.mode !== "mail") choose(state.mailbox);
  state.query = query;
  state.start = 0;
  loadList();
}

function wire() {
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runSearch();
  });
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, SEARCH_DELAY);
  });
  $("prev").addEventListener("click", () => {
    state.start = Math.max(0, state.start - PAGE);
    loadList();
  });
  $("next").addEventListener("click", () => {
    state.start += PAGE;
    loadList();
  });
  $("delete-all").addEventListener("click", deleteAll);
  $("mark-all-read").addEventListener("click", markAllRead);
  $("toggle-read").addEventListener("click", toggleRead);
  $("delete").addEventListener("click", () => deleteMessage(state.open && state.open.ID));
  $("remote").addEventListener("click", () => {
    state.remote = true;
    showView("html");
  });
  $("back").addEventListener("click", closeMessage);
  $("sessions-entry").addEventListener("click", () => showSessions());
  $("message-session").addEventListener("click", (event) => showSessions(event.currentTarget.dataset.id));
  for (const button of document.querySelectorAll(".lang button")) {
    button.addEventListener("click", () => speak(button.dataset.lang));
  }
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
  }
  document.addEventListener("keydown", onKey);
}

i18n.start();
speak();
wire();
renderList();
live(null);
connect();
