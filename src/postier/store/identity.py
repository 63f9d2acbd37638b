"""Stable message IDs: one short name for each stored copy, worked out from the files alone.

An ID is what the CLI, the HTTP API and POP3's UIDL show. It stays the same across
restarts, reindexing, other messages being deleted and an mbox being compacted, because it
is computed from what the copy itself holds, never from its position or from an index:

    ID = kind + base32(blake2b-80(kind, mailbox, key[, ordinal])), lowercase, no padding
    kind  key
    m     a Maildir file: its unique name (the file name without its info part)
    q     an mbox message filed by postier: the queue id of its topmost `Received:`
    c     any other mbox message: a digest of its bytes, less the fields tools rewrite
    d     a delivery, all its copies at once: the queue id postier wrote in them (no
          mailbox, no ordinal; `delivery_id`)

17 characters of `[a-z2-7]` (`qwij475lfknpyrfdp`): URL-safe, unchanged by a file system
that ignores case, and well inside POP3's UIDL (RFC 1939 §7: 1 to 70 characters of
0x21-0x7E). 80 bits: among the million messages of a large store, a collision is a chance
under 10^-12. The kind letter says what an ID rests on, keeps the kinds apart by
construction, and makes sure no ID is ever all digits, so the CLI can take an ID where it
takes a message number. `mailbox` is the store's name for it (`naming.mailbox_name`, the
entry without `.mbox`): a delivery's copies in two mailboxes have two IDs, and a copy moved
to another mailbox is another copy. Each field is length-prefixed in the hash, so no two
inputs give it the same bytes.

- **Maildir.** The unique name is the same in `new/` and `cur/` whatever the flags
  (`maildir_flags.parse_name`); the convention never gives it to another message of that
  Maildir. A tool that renames the unique part itself (mbsync's `,U=`) makes a new ID.
- **mbox, filed by postier.** The first `Received:` of each copy is the one postier wrote,
  `[from HELO (...)] by HOST (postier) with PROTOCOL id QUEUEID` (`trace.received`): one
  delivery writes one copy per mailbox, and a queue id names one delivery. The ID survives
  what tools do to a message in place (mutt rewriting `Status:` or editing it).
- **mbox, anything else.** The digest covers the message as readers show it (trace headers
  and message, mboxrd quoting undone), without the `From ` line: that line is the mbox's
  envelope, not the message, and tools that rewrite an mbox (compaction, conversions) may
  write a new one; and without the `VOLATILE_FIELDS` of the header block, which mail tools
  rewrite in place to keep state (mutt's and Thunderbird's `Status:`, `X-Status:`,
  `X-Mozilla-Status:`, Dovecot's `X-UID:`, `X-Keywords:`, the `Content-Length:` and
  `Lines:` mutt updates). An edited foreign message is a new one, with a new ID.

Where this improves on hashing the mailbox and a key as they come:
- marking a message read, in postier (`Status:`) or in mutt, would have changed the digest,
  hence the ID, of every foreign message read: the volatile fields are left out;
- a client chooses the text of the comments before postier's `by` clause (its TLS, its
  login), and could have written `(by x (postier) with ESMTP id ANOTHER)` there: the clause
  is read from the field's words outside comments, at its place after `from HELO`;
- `;` and `!` are info separators only before `2,` and letters: both appear in unique names
  other systems write, which would otherwise have shared an ID;
- a queue id can repeat within a mailbox (a tool copying a message within it), so the
  ordinal below applies to every mbox key, not only to digests.

A **delivery** is what one SMTP transaction handed postier: one copy in each recipient's
mailbox, mbox or Maildir, every copy's topmost `Received:` naming the same queue id
(`server/queue_ids`: unique across processes and restarts). Its `d` ID hashes that queue
id alone, so it is the same whichever copies are left, in whichever formats, and is
worked out again from any one of them; "all mail" lists a delivery once under it, and
deleting or marking it acts on every copy. A message postier did not file (no such
`Received:`) is a delivery of one copy and has no `d` ID: its copy ID names it.

Copies with the same key in one mailbox (identical foreign messages; a postier copy that a
tool duplicated in place) are told apart by their **ordinal** among them, in file order: 0
for the first, 1 for the next, and so on. Deleting one gives each later twin the ID of the
one before it; the last twin's ID is the one that goes away. An ID thus never names a
message of other content, but it may move to an identical twin, with that twin's read
state; a POP3 client that had both sees the last UIDL go and keeps what it downloaded under
the other, which has the same content. Without state kept beside the files, no scheme can
tell byte-identical twins apart better; copies with distinct keys never shift.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Literal

from .maildir_flags import unique_part

Kind = Literal["m", "q", "c", "d"]

ID_HASH_BYTES: Final = 10
"""80 bits of blake2b: 16 base32 characters, no padding."""
ID_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz234567"
"""RFC 4648 §6 base32, lowercase."""
ID_LENGTH: Final = 1 + ID_HASH_BYTES * 8 // 5
HEAD_LIMIT: Final = 1 << 16
"""Bytes of a message searched for its first `Received:`: postier's is in the first few
hundred; past this a message falls back to its digest."""
CONTENT_DIGEST_BYTES: Final = 16
VOLATILE_FIELDS: Final = frozenset(
    {
        b"status",
        b"x-status",
        b"x-keywords",
        b"x-uid",
        b"x-imap",
        b"x-imapbase",
        b"x-mozilla-status",
        b"x-mozilla-status2",
        b"x-mozilla-keys",
        b"x-evolution",
        b"content-length",
        b"lines",
    }
)
"""Header fields (lowercase) that mail tools rewrite in an mbox to keep their state."""

_NAME_LIMIT: Final = 64
"""A field counts as volatile only when its colon is within this many bytes of the line's
start (`Status    :` counts, the obsolete syntax of RFC 5322 §4.5): decided on a
bounded prefix of each line, so chunks cut anywhere give the same digest."""
_ID_PERSON: Final = b"postier.msgid"
_CONTENT_PERSON: Final = b"postier.content"
_ID_TEXT: Final = re.compile(rf"[mqcd][{ID_ALPHABET}]{{{ID_LENGTH - 1}}}")
_RECEIVED: Final = re.compile(rb"^received[ \t]*:", re.IGNORECASE | re.MULTILINE)
_FIELD_END: Final = re.compile(rb"\n(?=[^ \t])")
_HEAD_END: Final = re.compile(rb"(?:\A|\n)\r?\n")
_FOLD: Final = re.compile(rb"\r?\n(?=[ \t])")
_COMMENT_MARKS: Final = re.compile(rb"\\.|[()]", re.DOTALL)
_WSP: Final = b" \t"


def _hash_id(kind: Kind, *fields: bytes) -> str:
    """The ID of `kind` over `fields`, each length-prefixed (so no two tuples share bytes)."""
    digest = hashlib.blake2b(digest_size=ID_HASH_BYTES, person=_ID_PERSON)
    digest.update(kind.encode("ascii"))
    for field in fields:
        digest.update(len(field).to_bytes(8, "big"))
        digest.update(field)
    return kind + base64.b32encode(digest.digest()).decode("ascii").lower()


def _text(value: str) -> bytes:
    # surrogatepass: file names that are not UTF-8 come from os.listdir with surrogates.
    return value.encode("utf-8", "surrogatepass")


def is_message_id(text: str) -> bool:
    """Whether `text` has the form of an ID (the CLI takes an ID where it takes a number)."""
    return _ID_TEXT.fullmatch(text) is not None


def is_delivery_id(text: str) -> bool:
    """Whether `text` has the form of a delivery's ID (`d`), which names all its copies."""
    return text[:1] == "d" and is_message_id(text)


def delivery_id(queue_id: bytes) -> str:
    """The ID of the delivery whose copies postier filed under `queue_id`
    (`postier_queue_id` of any of them)."""
    return _hash_id("d", queue_id)


def maildir_message_id(mailbox: str, file_name: str) -> str:
    """The ID of the Maildir message whose file (in `new/` or `cur/`) is called `file_name`."""
    return _hash_id("m", _text(mailbox), _text(unique_part(file_name)))


# -- mbox ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MboxKey:
    """What identifies an mbox message within its mailbox, but for its ordinal."""

    kind: Literal["q", "c"]
    value: bytes
    """The queue id (ASCII), or the content digest."""

    @property
    def token(self) -> str:
        """The key as text, for an index to keep: `q:QUEUEID` or `c:HEXDIGEST`."""
        if self.kind == "q":
            return "q:" + self.value.decode("utf-8", "surrogateescape")
        return "c:" + self.value.hex()

    @classmethod
    def from_token(cls, token: str) -> MboxKey:
        """The key a `token` was made from; ValueError when it is no token."""
        kind, colon, text = token.partition(":")
        if colon and kind == "q" and text:
            return cls("q", text.encode("utf-8", "surrogateescape"))
        if colon and kind == "c" and len(text) == 2 * CONTENT_DIGEST_BYTES:
            return cls("c", bytes.fromhex(text))
        raise ValueError(f"not a message key: {token!r}")


def mbox_message_id(mailbox: str, key: MboxKey, ordinal: int = 0) -> str:
    """The ID of the mbox message with `key`, the `ordinal`-th (from 0) with it in `mailbox`."""
    if ordinal < 0:
        raise ValueError("an ordinal counts from 0")
    return _hash_id(key.kind, _text(mailbox), key.value, ordinal.to_bytes(8, "big"))


def postier_queue_id(head: bytes, *, whole: bool = True) -> bytes | None:
    """The queue id in the first `Received:` field of `head` when postier wrote it, else None.

    `head` is the start of a message (its first `HEAD_LIMIT` bytes are looked at); `whole`
    says that it is all of the message, so that a field ending the data is complete.
    """
    whole = whole and len(head) < HEAD_LIMIT
    head = head[:HEAD_LIMIT]
    end = _HEAD_END.search(head)
    found = _RECEIVED.search(head, 0, len(head) if end is None else end.start() + 1)
    if found is None:
        return None
    field_end = _FIELD_END.search(head, found.end())
    if field_end is None and not whole:
        return None  # the field may go on past what we were given
    value = head[found.end() : None if field_end is None else field_end.start()]
    return _postier_clause(_top_level(_FOLD.sub(b"", value)).split())


def _postier_clause(words: list[bytes]) -> bytes | None:
    """The queue id of `[from HELO] by HOST (postier) with PROTOCOL id QUEUEID ...`."""
    at = 2 if words[:1] and words[0].lower() == b"from" else 0
    clause = [word.lower() for word in words[at : at + 6]]
    if len(clause) < 6 or clause[0] != b"by" or clause[2:4] != [b"(postier)", b"with"]:
        return None
    if clause[5] != b"id" or len(words) <= at + 6:
        return None
    return words[at + 6].rstrip(b";") or None


def _top_level(value: bytes) -> bytes:
    """`value` with each comment (RFC 5322 §3.2.2, nested, with quoted pairs) made a space,
    except `(postier)`, which stays a word.

    A client chooses the text of the comments before the `by` clause (its TLS, its login),
    so a `by ... (postier) ... id` inside them must not count.
    """
    out = bytearray()
    depth = 0
    start = 0
    for mark in _COMMENT_MARKS.finditer(value):
        if mark[0] == b"(":
            if depth == 0:
                out += value[start : mark.start()]
                start = mark.start()
            depth += 1
        elif mark[0] == b")" and depth > 0:
            depth -= 1
            if depth == 0:
                comment = value[start : mark.end()].lower()
                out += b" (postier) " if comment == b"(postier)" else b" "
                start = mark.end()
    if depth == 0:
        out += value[start:]
    return bytes(out)


def mbox_key(message: bytes | Iterable[bytes]) -> MboxKey:
    """The key of an mbox message: its bytes unquoted (trace headers and message, without
    the `From ` line), whole or as chunks cut anywhere, read only as far as needed."""
    if isinstance(message, bytes | bytearray | memoryview):
        data = bytes(message)
        queue_id = postier_queue_id(data)
        return MboxKey("q", queue_id) if queue_id else MboxKey("c", content_digest([data]))
    chunks = iter(message)
    head, rest = _read_head(chunks)
    queue_id = postier_queue_id(head, whole=rest is None)
    if queue_id:
        return MboxKey("q", queue_id)
    return MboxKey("c", content_digest(itertools.chain([head], rest or ())))


def _read_head(chunks: Iterator[bytes]) -> tuple[bytes, Iterator[bytes] | None]:
    """The first chunks, up to the end of the header block or `HEAD_LIMIT` bytes, and the
    chunks left (None when there are none)."""
    head = bytearray()
    for chunk in chunks:
        searched = max(0, len(head) - 3)
        head += chunk
        if len(head) >= HEAD_LIMIT or _HEAD_END.search(head, searched):
            return bytes(head), chunks
    return bytes(head), None


def content_digest(chunks: Iterable[bytes]) -> bytes:
    """A digest of a message's bytes without its `VOLATILE_FIELDS`, the same wherever the
    chunks are cut."""
    digest = _ContentDigest()
    for chunk in chunks:
        digest.feed(chunk)
    return digest.finish()


class _ContentDigest:
    """Hashes a message fed in chunks, leaving out the volatile fields of its header block.

    Each line of the header block is decided from its first bytes alone: a continuation
    (leading space or tab) goes with the field before it, an empty line ends the block
    (everything after it is hashed as it is), and any other line is a field, left out when
    its name is volatile. Only an undecided line start (at most `_NAME_LIMIT` bytes) is held.
    """

    def __init__(self) -> None:
        self._hash = hashlib.blake2b(digest_size=CONTENT_DIGEST_BYTES, person=_CONTENT_PERSON)
        self._in_head = True
        self._start = bytearray()
        """The start of the current line while it is undecided."""
        self._keep: bool | None = None
        """Whether the current line is hashed, once decided; None at an undecided line."""
        self._field_kept = True
        """Whether the field that continuation lines belong to is hashed."""

    def feed(self, chunk: bytes) -> None:
        position = 0
        while position < len(chunk) and self._in_head:
            if self._keep is None:
                position = self._decide(chunk, position)
                continue
            newline = chunk.find(b"\n", position)
            end = len(chunk) if newline < 0 else newline + 1
            if self._keep:
                self._hash.update(chunk[position:end])
            if newline >= 0:
                self._keep = None
            position = end
        if position < len(chunk):
            self._hash.update(chunk[position:] if position else chunk)

    def _decide(self, chunk: bytes, position: int) -> int:
        """Take bytes of the line being decided from `chunk`; decide it if they suffice.
        Return where in `chunk` the rest of the line starts."""
        room = _NAME_LIMIT - len(self._start)
        newline = chunk.find(b"\n", position, position + room)
        end = min(len(chunk), position + room) if newline < 0 else newline + 1
        self._start += chunk[position:end]
        start = bytes(self._start)
        if start[:1] in (b" ", b"\t"):
            keep = self._field_kept
        elif start in (b"\n", b"\r\n"):
            self._in_head, keep = False, True
        elif start == b"\r" and end == len(chunk):
            return end  # a lone CR: the next byte says whether the block ends here
        elif (colon := start.find(b":")) >= 0:
            keep = start[:colon].rstrip(_WSP).lower() not in VOLATILE_FIELDS
            self._field_kept = keep
        elif newline >= 0 or len(start) >= _NAME_LIMIT:
            keep = self._field_kept = True  # not a field: kept, as is what continues it
        else:
            return end  # no colon yet: the name may still be volatile
        self._start.clear()
        if keep:
            self._hash.update(start)
        self._keep = None if start.endswith(b"\n") else keep
        return end

    def finish(self) -> bytes:
        # The data ended in an undecided line: one without a colon, so no field, and kept.
        self._hash.update(self._start)
        self._start.clear()
        return self._hash.digest()


class IdAssigner:
    """Hands out the IDs of one mbox's messages, fed in the order of the file.

    It remembers the key of each message fed, to give the next with the same key the next
    ordinal. To go on after messages read before (an index that re-reads only what was
    appended), pass their keys as `seen`, in order, or `count_before`, which tells how many
    messages before have a key (asked once for each key met).
    """

    def __init__(
        self,
        mailbox: str,
        seen: Iterable[MboxKey] = (),
        *,
        count_before: Callable[[MboxKey], int] | None = None,
    ) -> None:
        self.mailbox = mailbox
        self._counts: dict[MboxKey, int] = {}
        self._count_before = count_before
        for key in seen:
            self._counts[key] = self._counts.get(key, 0) + 1

    def assign(self, message: bytes | Iterable[bytes]) -> str:
        """The ID of the next message, given as `mbox_key` takes it."""
        return self.assign_key(mbox_key(message))

    def assign_key(self, key: MboxKey) -> str:
        """The ID of the next message, whose key is `key`."""
        ordinal = self._counts.get(key)
        if ordinal is None:
            ordinal = 0 if self._count_before is None else self._count_before(key)
        self._counts[key] = ordinal + 1
        return mbox_message_id(self.mailbox, key, ordinal)
