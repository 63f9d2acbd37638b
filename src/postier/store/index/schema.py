"""The index's tables: what the store's readers find without opening a message file.

The index is derived from the files and may be thrown away at any time: `sync` rebuilds
what is missing or out of date. One database, `<store>/.postier/index.sqlite3`, in WAL
mode, so that readers in any process see the last committed update whole while one
writer (a server's indexer, or a reader catching up) commits the next.

    mailboxes   one row per mailbox file or directory, with the `stamp` the cheap
                check compares (an mbox's device, inode, size and mtime; a Maildir's
                `new/` and `cur/` mtimes) and, for an mbox, how many bytes are indexed
    messages    one row per stored copy, keyed by its stable ID (`store.identity`),
                with what a list shows (sender, subject, sizes, flags, snippet) and
                where the copy is (an mbox offset and length, or a Maildir file name)
    search      FTS5 over the folded text a search looks at (`query.fold`), one row per
                message with the same rowid; its tokens are the words of each column as
                stored (cut at whitespace and control characters only, so never folded
                or split further) and it knows the columns of each, not the positions
    words       every token `search` holds, once (kept when its messages go; a reindex
                starts it afresh), and `words_trigrams`, FTS5 trigrams over them (its
                content is `words`' own, added per transaction: `words.KnownWords`): a word
                of a query is in a column exactly when it is in one of the column's
                tokens, so the tokens holding it, looked up here, are the `search` terms
                that decide (substring semantics, as `Query.matches`) without reading
                the stored text; a phrase reads it (`instr`) after those terms narrow
    counts      per mailbox file and address, what its visible messages (not `hidden`)
                come to: how many, how many unread, their size, the newest `received`;
                kept by triggers on `messages`, so that every change of a row (an update
                of the files, a mark, a deletion, a reindex) moves them in the same
                transaction, and a list's counts cost a lookup, not a count of its rows
    deliveries  per delivery postier filed (`identity.delivery_id`, the `delivery` of its
                copies' rows), how many of its copies are visible and how many of those
                unread; kept by triggers as `counts` is. All mail lists a delivery once,
                so its total is `counts`' sum less `copies - 1` for each delivery of
                several copies, and its unread less `unread - 1` for each with unread
                copies (a delivery is unread while any copy is)
    sharing     one row: the deliveries of several copies, their copies, and their unread
                copies beyond one each (the sums above), kept by triggers on `deliveries`,
                so that all mail's counts cost two lookups however many messages went to
                several recipients; `deliveries_shared` lists those deliveries, for a
                search that has more matches than they have copies
    tags_chosen the tags the API (`PUT /api/v1/tags`, a rename, a deletion) gave a copy,
                keyed by its stable ID, a JSON array: they replace what its `X-Tags:`
                header and plus-address give it (`messages.header_tags`, `plus_tags`).
                Unlike every other table, this one is not derived from the files: a
                reindex keeps it (and drops the rows of copies no longer in the store),
                and so does a rebuild for another schema version (`KEPT_TABLES`); only
                a damaged index file loses it

Times are integers, microseconds since the epoch (UTC). `recipients` and `cc` are JSON
arrays of the decoded addresses as written; in `search`, each address is folded and
they are joined by a newline, which no folded query word can hold (`fold` turns every
whitespace run into one space), so no match spans two addresses.
"""

from __future__ import annotations

from typing import Final

SCHEMA_VERSION: Final = 7
"""Bumped whenever a table changes: an index of another version is rebuilt from the files,
keeping the rows of `KEPT_TABLES` (6 to 7: the tags, `header_tags`, `plus_tags` and
`tags_chosen`; a version 6 index has no tags of its own, every tag it has comes again
from the files)."""

KEPT_TABLES: Final = {"tags_chosen": ("id", "tags")}
"""The tables a rebuild carries over (their columns): what the files cannot give again."""

ADDRESS_SEPARATOR: Final = "\n"
"""Joins the folded To (or Cc) addresses of a message in `search`."""

SEARCH_COLUMNS: Final = ("subject", "sender", "recipients", "cc", "text", "message_id", "mailbox")
"""The columns of `search`, in order: all hold folded text."""

TOKEN_CHARACTERS: Final = "".join(chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum())
"""The ASCII punctuation that FTS5's `ascii` tokenizer is told is part of a token: then only
ASCII whitespace and control characters (which no query word holds) end a token, and every
character from U+0080 on is part of one, as that tokenizer always has it."""


def _option(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_TOKENIZER: Final = _option(f"ascii tokenchars {_option(TOKEN_CHARACTERS)}")

_NEWEST: Final = """(SELECT received FROM messages INDEXED BY messages_by_newest
        WHERE entry = old.entry AND hidden = 0 AND mailbox = old.mailbox
        ORDER BY received DESC LIMIT 1)"""
"""The newest visible message of `old`'s mailbox file once `old` is gone from it: the
index reads one row, or a few (an entry's rows nearly always share their address)."""

COUNTS: Final = f"""
CREATE TABLE IF NOT EXISTS counts(
    entry TEXT NOT NULL,
    mailbox TEXT NOT NULL,
    messages INTEGER NOT NULL,
    unread INTEGER NOT NULL,
    size INTEGER NOT NULL,
    newest INTEGER,
    PRIMARY KEY (entry, mailbox)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS counts_by_mailbox ON counts(mailbox);
CREATE INDEX IF NOT EXISTS messages_by_newest ON messages(entry, received) WHERE hidden = 0;
CREATE TRIGGER IF NOT EXISTS counts_inserted AFTER INSERT ON messages
WHEN new.hidden = 0 BEGIN
    INSERT INTO counts VALUES (new.entry, new.mailbox, 1, new.seen = 0, new.size, new.received)
    ON CONFLICT DO UPDATE SET messages = messages + 1, unread = unread + excluded.unread,
        size = size + excluded.size, newest = max(coalesce(newest, 0), excluded.newest);
END;
CREATE TRIGGER IF NOT EXISTS counts_deleted AFTER DELETE ON messages
WHEN old.hidden = 0 BEGIN
    UPDATE counts SET messages = messages - 1, unread = unread - (old.seen = 0),
        size = size - old.size,
        newest = CASE WHEN newest > old.received THEN newest ELSE {_NEWEST} END
    WHERE entry = old.entry AND mailbox = old.mailbox;
    DELETE FROM counts WHERE entry = old.entry AND mailbox = old.mailbox AND messages = 0;
END;
CREATE TRIGGER IF NOT EXISTS counts_updated_from AFTER UPDATE OF
    entry, mailbox, received, size, seen, hidden ON messages
WHEN old.hidden = 0 BEGIN
    UPDATE counts SET messages = messages - 1, unread = unread - (old.seen = 0),
        size = size - old.size,
        newest = CASE WHEN newest > old.received THEN newest ELSE {_NEWEST} END
    WHERE entry = old.entry AND mailbox = old.mailbox;
    DELETE FROM counts WHERE entry = old.entry AND mailbox = old.mailbox AND messages = 0;
END;
CREATE TRIGGER IF NOT EXISTS counts_updated_to AFTER UPDATE OF
    entry, mailbox, received, size, seen, hidden ON messages
WHEN new.hidden = 0 BEGIN
    INSERT INTO counts VALUES (new.entry, new.mailbox, 1, new.seen = 0, new.size, new.received)
    ON CONFLICT DO UPDATE SET messages = messages + 1, unread = unread + excluded.unread,
        size = size + excluded.size, newest = max(coalesce(newest, 0), excluded.newest);
END;
"""
"""`counts`, its triggers, and the index that finds a file's newest message again when
its newest goes. An update of a row takes it out of its old line and puts it in its new
one (in either order, the result is the same: the newest is looked up again from the
rows as they are after the update, and taking the larger of two is idempotent)."""

DELIVERIES: Final = """
CREATE TABLE IF NOT EXISTS deliveries(
    delivery TEXT PRIMARY KEY,
    copies INTEGER NOT NULL,
    unread INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_shared ON deliveries(copies, unread) WHERE copies > 1;
CREATE INDEX IF NOT EXISTS messages_by_delivery ON messages(delivery, seq)
    WHERE hidden = 0 AND delivery != '';
CREATE TRIGGER IF NOT EXISTS deliveries_inserted AFTER INSERT ON messages
WHEN new.hidden = 0 AND new.delivery != '' BEGIN
    INSERT INTO deliveries VALUES (new.delivery, 1, new.seen = 0)
    ON CONFLICT DO UPDATE SET copies = copies + 1, unread = unread + excluded.unread;
END;
CREATE TRIGGER IF NOT EXISTS deliveries_deleted AFTER DELETE ON messages
WHEN old.hidden = 0 AND old.delivery != '' BEGIN
    UPDATE deliveries SET copies = copies - 1, unread = unread - (old.seen = 0)
    WHERE delivery = old.delivery;
    DELETE FROM deliveries WHERE delivery = old.delivery AND copies = 0;
END;
CREATE TRIGGER IF NOT EXISTS deliveries_updated_from AFTER UPDATE OF delivery, seen, hidden
ON messages WHEN old.hidden = 0 AND old.delivery != '' BEGIN
    UPDATE deliveries SET copies = copies - 1, unread = unread - (old.seen = 0)
    WHERE delivery = old.delivery;
    DELETE FROM deliveries WHERE delivery = old.delivery AND copies = 0;
END;
CREATE TRIGGER IF NOT EXISTS deliveries_updated_to AFTER UPDATE OF delivery, seen, hidden
ON messages WHEN new.hidden = 0 AND new.delivery != '' BEGIN
    INSERT INTO deliveries VALUES (new.delivery, 1, new.seen = 0)
    ON CONFLICT DO UPDATE SET copies = copies + 1, unread = unread + excluded.unread;
END;
CREATE TABLE IF NOT EXISTS sharing(
    one INTEGER PRIMARY KEY CHECK (one = 0),
    deliveries INTEGER NOT NULL,
    copies INTEGER NOT NULL,
    unread INTEGER NOT NULL
) STRICT;
INSERT OR IGNORE INTO sharing VALUES (0, 0, 0, 0);
CREATE TRIGGER IF NOT EXISTS sharing_inserted AFTER INSERT ON deliveries
WHEN new.copies > 1 BEGIN
    UPDATE sharing SET deliveries = deliveries + 1, copies = copies + new.copies,
        unread = unread + new.unread - (new.unread > 0);
END;
CREATE TRIGGER IF NOT EXISTS sharing_deleted AFTER DELETE ON deliveries
WHEN old.copies > 1 BEGIN
    UPDATE sharing SET deliveries = deliveries - 1, copies = copies - old.copies,
        unread = unread - old.unread + (old.unread > 0);
END;
CREATE TRIGGER IF NOT EXISTS sharing_updated_from AFTER UPDATE ON deliveries
WHEN old.copies > 1 BEGIN
    UPDATE sharing SET deliveries = deliveries - 1, copies = copies - old.copies,
        unread = unread - old.unread + (old.unread > 0);
END;
CREATE TRIGGER IF NOT EXISTS sharing_updated_to AFTER UPDATE ON deliveries
WHEN new.copies > 1 BEGIN
    UPDATE sharing SET deliveries = deliveries + 1, copies = copies + new.copies,
        unread = unread + new.unread - (new.unread > 0);
END;
"""
"""`deliveries`, `sharing`, their triggers, and the index that finds a delivery's copies
(its lead, the visible copy with the lowest `seq`, first): as with `counts`, an update
takes a row out of its old line and puts it in its new one."""

TABLES: Final = f"""
CREATE TABLE IF NOT EXISTS meta(
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS mailboxes(
    entry TEXT PRIMARY KEY,
    format TEXT NOT NULL,
    address TEXT NOT NULL,
    stamp TEXT NOT NULL,
    indexed_end INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS messages(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    entry TEXT NOT NULL,
    mailbox TEXT NOT NULL,
    position INTEGER NOT NULL,
    location TEXT NOT NULL,
    length INTEGER NOT NULL,
    received INTEGER NOT NULL,
    size INTEGER NOT NULL,
    date INTEGER,
    sender TEXT NOT NULL,
    from_address TEXT NOT NULL,
    recipients TEXT NOT NULL,
    cc TEXT NOT NULL,
    subject TEXT NOT NULL,
    message_id TEXT NOT NULL,
    attachments INTEGER NOT NULL,
    seen INTEGER NOT NULL,
    hidden INTEGER NOT NULL,
    snippet TEXT NOT NULL,
    key TEXT NOT NULL DEFAULT '',
    rank INTEGER NOT NULL DEFAULT 0,
    delivery TEXT NOT NULL DEFAULT '',
    header_tags TEXT NOT NULL DEFAULT '[]',
    plus_tags TEXT NOT NULL DEFAULT '[]'
) STRICT;
CREATE INDEX IF NOT EXISTS messages_by_received ON messages(received, position);
CREATE INDEX IF NOT EXISTS messages_by_mailbox
    ON messages(mailbox, hidden, rank, position, location, seen);
CREATE INDEX IF NOT EXISTS messages_by_state ON messages(hidden, seen);
CREATE INDEX IF NOT EXISTS messages_by_entry ON messages(entry, position);
CREATE INDEX IF NOT EXISTS messages_by_key ON messages(entry, key);
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(
    {", ".join(SEARCH_COLUMNS)},
    tokenize = {_TOKENIZER}, detail = column, columnsize = 0
);
CREATE TABLE IF NOT EXISTS words(
    id INTEGER PRIMARY KEY,
    word TEXT NOT NULL UNIQUE
) STRICT;
CREATE VIRTUAL TABLE IF NOT EXISTS words_trigrams USING fts5(
    word, content = 'words', content_rowid = 'id',
    tokenize = 'trigram case_sensitive 1', detail = none, columnsize = 0
);
CREATE TABLE IF NOT EXISTS tags_chosen(
    id TEXT PRIMARY KEY,
    tags TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_header_tagged ON messages(hidden) WHERE header_tags != '[]';
CREATE INDEX IF NOT EXISTS messages_plus_tagged ON messages(hidden) WHERE plus_tags != '[]';
{COUNTS}{DELIVERIES}"""
"""`messages` columns:

- `seq`: the row's number (its rowid, and the `search` row's): it only grows, so that a
  reader that follows the store finds what was indexed since its last look.
- `entry`: the mailbox's name in the store directory (`alice@example.org.mbox`, or the
  Maildir directory's name); `mailbox`: its address, as readers show it.
- `position`: in an mbox, the offset of the message's `From ` line; in a Maildir, when it
  was received (the time in its name, microseconds). With `location`, the mailbox's order.
- `location`: empty in an mbox; in a Maildir, `new/NAME` or `cur/NAME:2,FLAGS`.
- `length`: the bytes of the message as stored (in an mbox, still mboxrd-quoted, without
  the `From ` line and the empty line after it); `size`: the message as readers show it.
- `date`: its `Date:` header, when readable; `received`: when the store received it.
- `seen`: read (Maildir `S` flag; an mbox's `Status: R`, or a change not yet written).
- `hidden`: deleted, and not yet gone from its mbox (compaction pending).
- `key`: in an mbox, the message's identity key (`identity.MboxKey.token`), so that an
  update that reads only what was appended gives twins their next ordinals; in a Maildir,
  the unique name.
- `rank`: 0 in an mbox, 1 in a Maildir: an address with both lists the mbox first.
  A mailbox's order is `(rank, position, location)`: its file order (an mbox) or the
  order received (a Maildir); all mailboxes together are ordered by `received`.
- `delivery`: the ID of the delivery the copy belongs to (`identity.delivery_id` of the
  queue id in postier's `Received:`), or '' for a message postier did not file.
- `header_tags`: the tags of its `X-Tags:` fields (`tagging.header_tags`), a JSON array;
  `plus_tags`: those of its mailbox's plus-address (`tagging.plus_tags`), shown only by a
  reader told to (`serve --tags-from-plus`), so the option needs no reindex. Two partial
  indexes find the rows that have either, so that listing the store's tags reads those
  rows and the API's, never the untagged mail.
"""
