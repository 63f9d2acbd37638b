// postier's page in French and English: one catalogue per language, the choice between
// them (the one saved by the switch, else the browser's first French or English, else
// English), and the numbers and dates written as that language writes them.
//
// A catalogue's entry is a string or a function of numbers and strings; the numbers are
// formatted here, so that every plural and every decimal comma follows the language.

const SAVED = "postier.lang"; // the localStorage key the FR/EN switch writes
const NB = "\u00a0"; // French puts a no-break space before : ; ? ! and inside « »

let language = "en";
let tag = "en";
let numbers = new Intl.NumberFormat("en");

/** A number as the language writes it (1,234 / 1 234). */
export function num(value, options) {
  return options ? new Intl.NumberFormat(tag, options).format(value) : numbers.format(value);
}

const plural = (n, one, many) => `${num(n)} ${n === 1 ? one : many}`;
const pluralFr = (n, one, many) => `${num(n)} ${n <= 1 ? one : many}`; // 0 and 1 are singular

export const CATALOGUES = {
  en: {
    "lang.aria": "Language",
    "back.aria": "Back to the list",
    "brand.aria": "postier, all mail",
    "search.label": "Search the mail",
    "search.placeholder": "Search   (from:  to:  subject:  tag:  has:attachment  is:unread)   press /",
    "live.title": "Live updates",
    "live.connecting": "connecting…",
    "live.on": "live",
    "live.retry": "reconnecting…",
    mailboxes: "Mailboxes",
    "mailboxes.error": (why) => `Mailboxes: ${why}`,
    "messages.aria": "Messages",
    "message.aria": "Message",
    "list.aria": "Message list",
    allMail: "All mail",
    markAllRead: "Mark all read",
    deleteAll: "Delete all",
    noMessages: "No messages.",
    noMatch: "No message matches.",
    "search.error": (why) => `Search: ${why}`,
    "search.suffix": "search",
    newer: "‹ Newer",
    "newer.aria": "Newer messages",
    older: "Older ›",
    "older.aria": "Older messages",
    range: (first, last, total) => `${num(first)}–${num(last)} of ${num(total)}`,
    unreadOf: (unread, total) => `${num(unread)} unread of ${num(total)}`,
    unread: "Unread",
    attachmentsCount: (n) => plural(n, "attachment", "attachments"),
    "tags.aria": "Tags",
    "tags.label": "Tags",
    "tags.add": "Add a tag…",
    "tags.remove": (name) => `Remove the tag ${name}`,
    "tags.find": (name) => `The messages tagged ${name}`,
    noSender: "(no sender)",
    noSubject: "(no subject)",
    choose: "Choose a message to read it.",
    gone: "That message was deleted.",
    "keys.move": "move",
    "keys.open": "open",
    "keys.delete": "delete",
    "keys.search": "search",
    "tools.aria": "Message actions",
    markRead: "Mark read",
    markUnread: "Mark unread",
    delete: "Delete",
    download: "Download .eml",
    "attachments.aria": "Attachments",
    "views.aria": "Views of the message",
    "tab.html": "HTML",
    "tab.text": "Text",
    "tab.headers": "Headers",
    "tab.raw": "Source",
    "tab.check": "Compatibility",
    "check.clients": "Mail clients",
    "check.features": "Features used, least supported first",
    "check.overall": (s, p, u) => `${num(s)}% supported, ${num(p)}% partly, ${num(u)}% not`,
    "check.found": (n) => plural(n, "use", "uses"),
    "check.none": "This HTML uses no feature that caniemail tests.",
    "check.source": "Support data: caniemail.com",
    remote: "Load remote content",
    "frame.title": "The message's HTML",
    loading: "Loading…",
    "field.from": "From",
    "field.to": "To",
    "field.cc": "Cc",
    "field.bcc": "Bcc",
    "field.replyTo": "Reply-To",
    "field.date": "Date",
    "field.size": "Size",
    units: ["B", "kB", "MB", "GB"],
    cancel: "Cancel",
    "confirm.search": (n, query) => `Delete the ${num(n)} messages that match “${query}”? This cannot be undone.`,
    "confirm.mailbox": (n, box) => `Delete all ${num(n)} messages of ${box}? This cannot be undone.`,
    "confirm.all": (n) => `Delete all ${num(n)} messages of the store? This cannot be undone.`,
    sessions: "Sessions",
    "sessions.title": "SMTP sessions",
    "sessions.aria": "Recent SMTP sessions",
    "sessions.count": (n, live) => `${plural(n, "session", "sessions")} kept${live ? `, ${num(live)} live` : ""}`,
    "sessions.empty": "No SMTP session yet: send a message to postier's SMTP port.",
    "sessions.off": "This postier keeps no SMTP session (postier web, or --sessions-kept 0).",
    "sessions.error": (why) => `Sessions: ${why}`,
    "sessions.choose": "Choose a session to read its dialogue, told by the parts of the server.",
    "session.title": (id) => `Session ${id}`,
    "session.live": "live",
    "session.accepted": (n) => plural(n, "accepted", "accepted"),
    "session.refused": (n) => plural(n, "refused", "refused"),
    "session.client": "Client",
    "session.started": "Started",
    "session.ended": "Ended",
    "session.going": "still going on",
    "session.messages": "Messages",
    "session.gone": "That session is no longer kept.",
    "session.dropped": (n) => `… and ${plural(n, "more step", "more steps")}, not kept`,
    "session.legend.client": "C: the client writes",
    "session.legend.server": "S: the server answers",
    "session.dialogue": "The session's dialogue",
    "session.link": (id) => `Session ${id}`,
    "session.link.title": "Read the SMTP session that delivered this message",
    seconds: (s) => `${num(s, { minimumFractionDigits: 3, maximumFractionDigits: 3 })} s`,
  },
  fr: {
    "lang.aria": "Langue",
    "back.aria": "Retour à la liste",
    "brand.aria": "postier, tout le courrier",
    "search.label": "Chercher dans le courrier",
    "search.placeholder": "Chercher   (from:  to:  subject:  tag:  has:attachment  is:unread)   touche /",
    "live.title": "Mises à jour en direct",
    "live.connecting": "connexion…",
    "live.on": "en direct",
    "live.retry": "reconnexion…",
    mailboxes: "Boîtes aux lettres",
    "mailboxes.error": (why) => `Boîtes aux lettres${NB}: ${why}`,
    "messages.aria": "Messages",
    "message.aria": "Message",
    "list.aria": "Liste des messages",
    allMail: "Tout le courrier",
    markAllRead: "Tout marquer lu",
    deleteAll: "Tout supprimer",
    noMessages: "Aucun message.",
    noMatch: "Aucun message ne correspond.",
    "search.error": (why) => `Recherche${NB}: ${why}`,
    "search.suffix": "recherche",
    newer: "‹ Plus récents",
    "newer.aria": "Messages plus récents",
    older: "Plus anciens ›",
    "older.aria": "Messages plus anciens",
    range: (first, last, total) => `${num(first)}–${num(last)} sur ${num(total)}`,
    unreadOf: (unread, total) => `${pluralFr(unread, "non lu", "non lus")} sur ${num(total)}`,
    unread: "Non lu",
    attachmentsCount: (n) => pluralFr(n, "pièce jointe", "pièces jointes"),
    "tags.aria": "Étiquettes",
    "tags.label": "Étiquettes",
    "tags.add": "Ajouter une étiquette…",
    "tags.remove": (name) => `Retirer l’étiquette ${name}`,
    "tags.find": (name) => `Les messages étiquetés ${name}`,
    noSender: "(sans expéditeur)",
    noSubject: "(sans objet)",
    choose: "Choisissez un message pour le lire.",
    gone: "Ce message a été supprimé.",
    "keys.move": "se déplacer",
    "keys.open": "ouvrir",
    "keys.delete": "supprimer",
    "keys.search": "chercher",
    "tools.aria": "Actions sur le message",
    markRead: "Marquer comme lu",
    markUnread: "Marquer comme non lu",
    delete: "Supprimer",
    download: "Télécharger le .eml",
    "attachments.aria": "Pièces jointes",
    "views.aria": "Vues du message",
    "tab.html": "HTML",
    "tab.text": "Texte",
    "tab.headers": "En-têtes",
    "tab.raw": "Source",
    "tab.check": "Compatibilité",
    "check.clients": "Clients de messagerie",
    "check.features": "Fonctions employées, les moins prises en charge d’abord",
    "check.overall": (s, p, u) => `${num(s)}${NB}% pris en charge, ${num(p)}${NB}% en partie, ${num(u)}${NB}% non`,
    "check.found": (n) => pluralFr(n, "emploi", "emplois"),
    "check.none": "Ce HTML n’emploie aucune fonction que caniemail teste.",
    "check.source": "Données de prise en charge : caniemail.com",
    remote: "Charger le contenu distant",
    "frame.title": "Le HTML du message",
    loading: "Chargement…",
    "field.from": "De",
    "field.to": "À",
    "field.cc": "Cc",
    "field.bcc": "Cci",
    "field.replyTo": "Répondre à",
    "field.date": "Date",
    "field.size": "Taille",
    units: ["o", "ko", "Mo", "Go"],
    cancel: "Annuler",
    "confirm.search": (n, query) =>
      `Supprimer les ${num(n)} messages qui correspondent à «${NB}${query}${NB}»${NB}? C'est sans retour.`,
    "confirm.mailbox": (n, box) => `Supprimer les ${num(n)} messages de ${box}${NB}? C'est sans retour.`,
    "confirm.all": (n) => `Supprimer les ${num(n)} messages de toutes les boîtes${NB}? C'est sans retour.`,
    sessions: "Sessions SMTP",
    "sessions.title": "Sessions SMTP",
    "sessions.aria": "Sessions SMTP récentes",
    "sessions.count": (n, live) =>
      `${pluralFr(n, "session gardée", "sessions gardées")}${live ? `, ${num(live)} en cours` : ""}`,
    "sessions.empty": `Aucune session SMTP pour l'instant${NB}: envoyez un message sur le port SMTP de postier.`,
    "sessions.off": "Ce postier ne garde aucune session SMTP (postier web, ou --sessions-kept 0).",
    "sessions.error": (why) => `Sessions${NB}: ${why}`,
    "sessions.choose": "Choisissez une session pour lire son dialogue, raconté par les parties du serveur.",
    "session.title": (id) => `Session ${id}`,
    "session.live": "en cours",
    "session.accepted": (n) => pluralFr(n, "accepté", "acceptés"),
    "session.refused": (n) => pluralFr(n, "refusé", "refusés"),
    "session.client": "Client",
    "session.started": "Début",
    "session.ended": "Fin",
    "session.going": "toujours en cours",
    "session.messages": "Messages",
    "session.gone": "Cette session n'est plus gardée.",
    "session.dropped": (n) =>
      `… et ${pluralFr(n, "étape de plus", "étapes de plus")}, non gardée${n <= 1 ? "" : "s"}`,
    "session.legend.client": `C${NB}: le client écrit`,
    "session.legend.server": `S${NB}: le serveur répond`,
    "session.dialogue": "Le dialogue de la session",
    "session.link": (id) => `Session ${id}`,
    "session.link.title": "Lire la session SMTP qui a livré ce message",
    seconds: (s) => `${num(s, { minimumFractionDigits: 3, maximumFractionDigits: 3 })}${NB}s`,
  },
};

/** The parts of the brief as each language spells them, to the one name the styles use. */
export const PARTS = {
  listener: "listener",
  écouteur: "listener",
  brain: "brain",
  cerveau: "brain",
  understand: "understand",
  comprendre: "understand",
  process: "process",
  traiter: "process",
  send: "send",
  envoyer: "send",
  intermediary: "intermediary",
  intermédiaire: "intermediary",
  terminus: "terminus",
  writer: "writer",
  écrivain: "writer",
  listen: "listen",
  écouter: "listen",
  processing: "processing",
  traitement: "processing",
};

/** The text of `key` in the language chosen (English when the catalogue lacks it). */
export function t(key, ...args) {
  const entry = key in CATALOGUES[language] ? CATALOGUES[language][key] : CATALOGUES.en[key];
  if (entry === undefined) return key;
  return typeof entry === "function" ? entry(...args) : entry;
}

export function current() {
  return language;
}

/** The locale for dates and numbers: the browser's own variant of the language if it has one. */
export function locale() {
  return tag;
}

function preferred() {
  let saved = null;
  try {
    saved = localStorage.getItem(SAVED);
  } catch {
    saved = null; // storage refused (a private window): the browser's choice, unsaved
  }
  if (saved === "fr" || saved === "en") return saved;
  for (const wanted of navigator.languages || [navigator.language || ""]) {
    const lower = wanted.toLowerCase();
    if (lower.startsWith("fr")) return "fr";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

function use(chosen) {
  language = chosen;
  tag = chosen;
  for (const wanted of navigator.languages || []) {
    if (wanted.toLowerCase().split("-")[0] === chosen) {
      tag = wanted;
      break;
    }
  }
  numbers = new Intl.NumberFormat(tag);
  document.documentElement.lang = chosen;
}

/** Start in the language saved, or the browser's. */
export function start() {
  use(preferred());
}

/** The switch: change and remember. */
export function choose(chosen) {
  use(chosen === "fr" ? "fr" : "en");
  try {
    localStorage.setItem(SAVED, language);
  } catch {
    // not saved: this page still speaks it
  }
}

/** Put the catalogue's words in the page's fixed elements (`data-i18n*` attributes). */
export function translate(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  const attributes = { i18nAria: "aria-label", i18nTitle: "title", i18nPlaceholder: "placeholder" };
  for (const [data, attribute] of Object.entries(attributes)) {
    const selector = `[data-${data.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}]`;
    for (const node of root.querySelectorAll(selector)) node.setAttribute(attribute, t(node.dataset[data]));
  }
}
