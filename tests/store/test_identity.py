"""Stable message IDs: the same copy keeps its ID, other copies never get it."""

from __future__ import annotations

import hashlib
import itertools
import mailbox
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postier.store import MaildirStore, MboxStore, unquote_mboxrd
from postier.store.identity import (
    CONTENT_DIGEST_BYTES,
    HEAD_LIMIT,
    ID_ALPHABET,
    ID_LENGTH,
    VOLATILE_FIELDS,
    IdAssigner,
    MboxKey,
    content_digest,
    is_message_id,
    maildir_message_id,
    mbox_key,
    mbox_message_id,
    postier_queue_id,
)
from postier.store.maildir_flags import mark_seen
from postier.store.trace import clean, trace_headers
from tests.store.helpers import envelope, spool

BODY = b"Subject: hello\n\nHello.\n"
FOREIGN_RECEIVED = (
    b"Received: from mx.example.net (mx.example.net [198.51.100.2])\n"
    b"\tby smtp.example.org (Postfix) with ESMTPS id 4Qx7Lm0AbCz9sT\n"
    b"\tfor <alice@example.org>; Fri, 27 Nov 2026 02:23:09 +0000\n"
)


def postier_copy(
    queue_id: str = "Q1", recipient: str = "alice@example.org", **fields: str
) -> bytes:
    """A copy as postier files it: its trace headers, then the message."""
    return trace_headers(envelope(queue_id=queue_id, **fields), recipient) + BODY


def chunked(data: bytes, cuts: list[int]) -> Iterator[bytes]:
    """`data` cut at the (sorted, deduplicated) offsets `cuts`."""
    bounds = [0, *sorted({cut % (len(data) + 1) for cut in cuts}), len(data)]
    for start, end in itertools.pairwise(bounds):
        if end > start:
            yield data[start:end]


# -- the form of an ID -----------------------------------------------------------------


@given(st.text(), st.text(), st.binary(), st.integers(0, 2**40))
def test_ids_have_the_documented_alphabet_and_length(
    mailbox_name: str, file_name: str, data: bytes, ordinal: int
) -> None:
    key = mbox_key(data)
    ids = {
        "m": maildir_message_id(mailbox_name, file_name),
        key.kind: mbox_message_id(mailbox_name, key, ordinal),
    }
    for kind, message_id in ids.items():
        assert len(message_id) == ID_LENGTH == 17
        assert message_id[0] == kind
        assert set(message_id[1:]) <= set(ID_ALPHABET)
        assert re.fullmatch(r"[a-z2-7]+", message_id)
        assert is_message_id(message_id)
        assert not message_id.isdigit()  # never taken for a message number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (maildir_message_id("alice@example.org", "1.M2P3.host"), True),
        ("qaaaaaaaaaaaaaaaa", True),
        ("c2345672345672345", True),
        ("Qaaaaaaaaaaaaaaaa", False),  # IDs are lowercase
        ("qAAAAAAAAAAAAAAAA", False),
        ("xaaaaaaaaaaaaaaaa", False),  # no such kind
        ("qaaaaaaaaaaaaaaa", False),  # one character short
        ("qaaaaaaaaaaaaaaaaa", False),  # one too many
        ("qaaaaaaaaaaaaaaa1", False),  # 0, 1, 8 and 9 are not base32
        ("qaaaaaaaaaaaaaaa8", False),
        ("12", False),
        ("", False),
        (" qaaaaaaaaaaaaaaaa", False),
        ("qaaaaaaaaaaaaaaaa\n", False),
    ],
)
def test_is_message_id(text: str, expected: bool) -> None:
    assert is_message_id(text) is expected


def test_ids_depend_on_every_input() -> None:
    key = MboxKey("q", b"Q1")
    ids = {
        mbox_message_id("alice", key),
        mbox_message_id("alice", key, 1),
        mbox_message_id("bob", key),
        mbox_message_id("alice", MboxKey("q", b"Q2")),
        mbox_message_id("alice", MboxKey("c", bytes(CONTENT_DIGEST_BYTES))),
        maildir_message_id("alice", "Q1"),
        # Length prefixes: moving bytes from one field to the next is another input.
        mbox_message_id("alic", MboxKey("q", b"eQ1")),
        # A file name that is not UTF-8 (os.listdir gives it with surrogates) is not `?`.
        maildir_message_id("alice", "\udcff"),
        maildir_message_id("alice", "?"),
    }
    assert len(ids) == 9
    with pytest.raises(ValueError, match="ordinal"):
        mbox_message_id("alice", key, -1)


# -- Maildir ---------------------------------------------------------------------------

UNIQUE = "1795746189.M0P4242Q7R0123456789abcdef.mx.example.org"


@pytest.mark.parametrize(
    "name",
    [UNIQUE, f"{UNIQUE}:2,", f"{UNIQUE}:2,S", f"{UNIQUE}:2,FRSab", f"{UNIQUE};2,S", f"{UNIQUE}!2,"],
)
def test_a_maildir_file_keeps_its_id_whatever_its_info(name: str) -> None:
    assert maildir_message_id("alice@example.org", name) == maildir_message_id(
        "alice@example.org", UNIQUE
    )


@pytest.mark.parametrize(
    "other",
    [
        UNIQUE + "2",
        UNIQUE.replace("Q7", "Q8"),
        "1795746189.M0P4242Q7R0123456789abcdef.mx;example.org",
        f"{UNIQUE}!2,x.y",  # not an info part: `!` and `;` count only before `2,` and letters
    ],
)
def test_other_maildir_files_have_other_ids(other: str) -> None:
    assert maildir_message_id("a", other) != maildir_message_id("a", UNIQUE)


def test_a_maildir_message_marked_seen_keeps_its_id(store_dir: Path) -> None:
    with MaildirStore(store_dir, fsync=False) as store, spool(BODY) as message:
        store.deliver(envelope(recipients=("alice@example.org", "bob@example.org")), message)
    alice, bob = store_dir / "alice@example.org", store_dir / "bob@example.org"
    [in_new] = (alice / "new").iterdir()
    before = maildir_message_id("alice@example.org", in_new.name)
    in_cur = mark_seen(alice, in_new.name)
    assert in_cur.parent.name == "cur" and in_cur.name != in_new.name
    assert maildir_message_id("alice@example.org", in_cur.name) == before
    # The same delivery in another mailbox is another copy.
    [bobs] = (bob / "new").iterdir()
    assert maildir_message_id("bob@example.org", bobs.name) != before
    assert maildir_message_id("bob@example.org", in_new.name) != before


# -- the queue id of postier's copies ----------------------------------------------------

FOLDED = [
    # As postier writes it.
    postier_copy(),
    # Folded anywhere, by hand or by a tool that refolds headers, with CRLF or LF.
    b"Received: from c (unknown [192.0.2.7])\n by mx\n (postier)\n with ESMTP\n id Q1\n"
    b" for <a@b>; Fri, 27 Nov 2026 02:23:09 +0000\nSubject: x\n\nbody\n",
    b"Received: from c (unknown [192.0.2.7])\r\n\tby mx (postier) with ESMTP\r\n\tid Q1\r\n"
    b"\tfor <a@b>; date\r\n\r\nbody\r\n",
    b"Received:from c (unknown [192.0.2.7]) by mx (postier) with ESMTP id Q1 for <a@b>; d\n\n",
    # Case-insensitive names and keywords; the obsolete space before the colon.
    b"RECEIVED : FROM c (unknown [192.0.2.7]) BY mx (POSTIER) WITH esmtp ID Q1; date\n\nx\n",
    # No `from` clause; no `for` clause; the id just before the date.
    b"Received: by mx (postier) with ESMTP id Q1; Fri, 27 Nov 2026 02:23:09 +0000\n\n",
    # The field ends the message.
    b"Return-Path: <a@b>\nReceived: from c (x) by mx (postier) with ESMTP id Q1",
    # Fields above it, a `Received:` of someone else below it (the message's own path).
    b"Status: RO\nReturn-Path: <a@b>\nDelivered-To: a@b\n"
    b"Received: from c (unknown [::1]) by mx (postier) with ESMTPSA id Q1\n" + FOREIGN_RECEIVED,
    # What the client chose for its TLS and login comments cannot stand in for the clause.
    postier_copy(tls_info="TLSv1.3 (by x (postier) with ESMTP id FAKE)"),
    postier_copy(auth_user="by x (postier) with ESMTP id FAKE"),
    postier_copy(auth_user="x) by x (postier) with ESMTP id FAKE (y"),
    # Long values that fold the `by` clause itself.
    postier_copy(server_name="mx." + "a" * 80 + ".example"),
    postier_copy(helo="h" * 100, tls_info="x " * 60),
]


@pytest.mark.parametrize("data", FOLDED)
def test_the_queue_id_of_postier_s_received_is_read(data: bytes) -> None:
    assert postier_queue_id(data) == b"Q1"
    assert mbox_key(data) == MboxKey("q", b"Q1")
    for size in (1, 7, 64):
        pieces = [data[start : start + size] for start in range(0, len(data), size)]
        assert mbox_key(pieces) == MboxKey("q", b"Q1")


NOT_POSTIER = [
    # Another server's `Received:` on top, even above one of postier's (a relayed message).
    FOREIGN_RECEIVED + BODY,
    FOREIGN_RECEIVED + postier_copy(),
    # postier's clause inside a comment, or damaged.
    b"Received: from c (by mx (postier) with ESMTP id Q1) by mx (Postfix) with SMTP id Z\n\n",
    b"Received: from c (unknown) by mx (postier) with ESMTP Q1\n\n",
    b"Received: from c (unknown) by mx (postier) with ESMTP id\n\n",
    b"Received: from c (unknown) by mx postier with ESMTP id Q1\n\n",
    b"Received: from c (unknown) by mx (postier-ng) with ESMTP id Q1\n\n",
    # No `Received:`, or only in the body, or too far down.
    b"Subject: x\n\nReceived: from c by mx (postier) with ESMTP id Q1\n",
    b"\nReceived: from c by mx (postier) with ESMTP id Q1\n",
    b"X-Received: from c by mx (postier) with ESMTP id Q1\n\n",
    b"Subject: x\n X-Received: by mx (postier) with ESMTP id Q1\n\n",
    b"X-Long: " + b"x" * HEAD_LIMIT + b"\nReceived: by mx (postier) with ESMTP id Q1\n\n",
    b"",
]


@pytest.mark.parametrize("data", NOT_POSTIER)
def test_other_messages_fall_back_to_their_digest(data: bytes) -> None:
    assert postier_queue_id(data) is None
    assert mbox_key(data) == MboxKey("c", content_digest([data]))
    assert mbox_key(chunked(data, [1, 5, 100, 200])) == mbox_key(data)


def test_a_field_cut_at_the_head_limit_is_not_read() -> None:
    received = b"Received: by mx (postier) with ESMTP id Q1\n"
    data = b"X-Pad: " + b"x" * (HEAD_LIMIT - 8 - len(received)) + b"\n" + received
    assert len(data) == HEAD_LIMIT
    # The field fits, but whether a continuation follows is past the limit.
    assert mbox_key(data + b" id Q2\n\n").kind == "c"
    assert mbox_key(data).kind == "c"  # a message of HEAD_LIMIT bytes is not read whole
    assert mbox_key(data[1:]) == MboxKey("q", b"Q1")
    assert mbox_key(iter([data[1:]])) == MboxKey("q", b"Q1")


_TOKEN = st.text(st.characters(codec="utf-8"), max_size=30)


@given(
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
    st.fixed_dictionaries(
        {"helo": _TOKEN, "server_name": _TOKEN, "protocol": _TOKEN},
        optional={"tls_info": _TOKEN, "auth_user": _TOKEN},
    ),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=30),
)
def test_whatever_the_client_says_the_queue_id_is_postier_s(
    queue_id: str, fields: dict[str, str], recipient: str
) -> None:
    head = trace_headers(envelope(queue_id=queue_id, **fields), recipient)
    # The id as `trace` writes it: one word, `unknown` when nothing is left of it.
    written = clean(queue_id, ' ()<>;\\"') or "unknown"
    assert postier_queue_id(head + BODY) == written.encode()


# -- the digest of other messages ------------------------------------------------------


def oracle_digest(data: bytes) -> bytes:
    """The content digest, the simple way: the whole message split in lines."""
    kept: list[bytes] = []
    in_head, field_kept = True, True
    for line in re.findall(rb"[^\n]*\n|[^\n]+", data):
        if not in_head:
            kept.append(line)
        elif line in (b"\n", b"\r\n"):
            in_head = False
            kept.append(line)
        elif line[:1] in (b" ", b"\t"):
            if field_kept:
                kept.append(line)
        else:
            colon = line.find(b":", 0, 64)
            name = line[:colon].rstrip(b" \t").lower() if colon >= 0 else None
            field_kept = name not in VOLATILE_FIELDS
            if field_kept:
                kept.append(line)
    digest = hashlib.blake2b(digest_size=CONTENT_DIGEST_BYTES, person=b"postier.content")
    digest.update(b"".join(kept))
    return digest.digest()


_NAMES = st.sampled_from(
    [
        *(name.decode() for name in VOLATILE_FIELDS),
        "Status ",
        "STATUS",
        "x-Mozilla-Status2",
        "Subject",
        "Statuses",
        "X-Status-Not",
        "Received",
        "X" * 70,
        "Status" + " " * 60,
    ]
)
_LINE_TEXT = st.text(st.sampled_from("ab :;\t\r>From"), max_size=12)


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """Messages whose header blocks mix volatile fields, others, folds, CRLF and junk."""
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["field", "fold", "junk"]))
        if kind == "field":
            lines.append(f"{draw(_NAMES)}:{draw(_LINE_TEXT)}")
        else:
            lines.append((" " if kind == "fold" else "") + draw(_LINE_TEXT))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    text = end.join(lines)
    if draw(st.booleans()):
        text += end + end + end.join(f"{draw(_NAMES)}: {draw(_LINE_TEXT)}" for _ in range(3))
    return text.encode() + draw(st.sampled_from([b"", b"\n", b"\r"]))


@given(st.one_of(messages(), st.binary()), st.lists(st.integers(0, 10_000)))
def test_the_digest_matches_a_simple_one_wherever_the_chunks_are_cut(
    data: bytes, cuts: list[int]
) -> None:
    expected = oracle_digest(data)
    assert content_digest([data]) == expected
    assert content_digest(chunked(data, cuts)) == expected
    assert content_digest(data[i : i + 1] for i in range(len(data))) == expected
    assert mbox_key(chunked(data, cuts)) == mbox_key(data)


MESSAGE = b"Return-Path: <a@b>\n" + FOREIGN_RECEIVED + b"Subject: x\n\nBody\n"


@pytest.mark.parametrize(
    "state",
    [
        b"Status: RO\n",
        b"Status: RO\nX-Status: A\n",
        b"X-Mozilla-Status: 0001\nX-Mozilla-Status2: 00000000\nX-Mozilla-Keys: \n",
        b"X-UID: 7\nX-Keywords: $Label1\n     $Label2\n",
        b"Content-Length: 5\nLines: 1\n",
        b"status : O\n",
        b"X-Evolution: 00000001-0010\n",
    ],
)
def test_state_kept_in_the_headers_does_not_change_the_digest(state: bytes) -> None:
    assert mbox_key(state + MESSAGE) == mbox_key(MESSAGE)
    assert mbox_key(MESSAGE.replace(b"Subject", state + b"Subject")) == mbox_key(MESSAGE)
    assert mbox_key(MESSAGE.replace(b"Body\n", b"Body\n" + state)) != mbox_key(MESSAGE)


@pytest.mark.parametrize(
    "change",
    [
        b"Subject: y\n\nBody\n",
        b"Subject: x\n\nBody.\n",
        b"Subject: x\n\nBody",
        b"Subject: x\nStatuses: x\n\nBody\n",
        b"Subject: x\n Status: RO\n\nBody\n",  # a fold of Subject, not a field
        # A colon this far is no volatile name's: decided on a line's first 64 bytes.
        b"Subject: x\nStatus" + b" " * 60 + b": RO\n\nBody\n",
    ],
)
def test_any_other_change_does(change: bytes) -> None:
    changed = MESSAGE.replace(b"Subject: x\n\nBody\n", change)
    assert changed != MESSAGE
    assert mbox_key(changed) != mbox_key(MESSAGE)


# -- an mbox: order, other messages, duplicates ------------------------------------------


def ids_of(mailbox_name: str, messages: list[bytes]) -> list[str]:
    assigner = IdAssigner(mailbox_name)
    return [assigner.assign(message) for message in messages]


_MESSAGES = st.one_of(
    st.builds(postier_copy, st.sampled_from(["Q1", "Q2", "Q3", "AAAABBBBCCCCDDDD"])),
    st.sampled_from([BODY, MESSAGE, b"Subject: y\n\n", b"Status: RO\n" + MESSAGE]),
    st.binary(max_size=40),
)


@given(
    st.lists(_MESSAGES, max_size=8),
    st.lists(_MESSAGES, max_size=8),
    st.lists(st.booleans(), max_size=16),
)
def test_a_copy_keeps_its_id_whatever_else_is_in_the_mailbox(
    kept: list[bytes], others: list[bytes], order: list[bool]
) -> None:
    keys = {mbox_key(message) for message in kept}
    others = [message for message in others if mbox_key(message) not in keys]
    # Any interleaving that keeps the order of `kept`: deliveries before, between, after.
    mixed: list[tuple[bool, bytes]] = []
    queues = [list(others), list(kept)]
    for take_kept in [*order, *[True] * len(kept), *[False] * len(others)]:
        if queues[take_kept]:
            mixed.append((take_kept, queues[take_kept].pop(0)))
    assigned = ids_of("alice", [message for _, message in mixed])
    assert [i for (is_kept, _), i in zip(mixed, assigned, strict=True) if is_kept] == ids_of(
        "alice", kept
    )
    # And every message of the mailbox has an ID of its own.
    assert len(set(assigned)) == len(assigned)


def test_identical_foreign_messages_get_distinct_ids() -> None:
    first, second, third = ids_of("alice", [MESSAGE, MESSAGE, b"Status: RO\n" + MESSAGE])
    assert len({first, second, third}) == 3
    # The first deleted, the second takes its ID: the documented rule for duplicates.
    assert ids_of("alice", [MESSAGE, MESSAGE]) == [first, second]
    assert ids_of("alice", [MESSAGE]) == [first]
    assert ids_of("alice", [BODY, MESSAGE]) == [ids_of("alice", [BODY])[0], first]


def test_the_same_delivery_in_two_mailboxes_has_two_ids() -> None:
    copy = postier_copy()
    assert ids_of("alice@example.org", [copy]) != ids_of("bob@example.org", [copy])
    assert ids_of("alice@example.org", [MESSAGE]) != ids_of("bob@example.org", [MESSAGE])


def test_an_assigner_goes_on_after_the_keys_it_is_given() -> None:
    before = [MESSAGE, postier_copy("Q1"), MESSAGE]
    after = [MESSAGE, postier_copy("Q1"), BODY]
    seen = [mbox_key(message) for message in before]
    assigner = IdAssigner("alice", seen)
    assert [assigner.assign(message) for message in after] == ids_of("alice", before + after)[3:]


@given(st.one_of(st.builds(postier_copy, _TOKEN.filter(bool)), st.binary()))
def test_a_key_survives_its_token(data: bytes) -> None:
    key = mbox_key(data)
    assert MboxKey.from_token(key.token) == key


@pytest.mark.parametrize("token", ["", "q:", "c:12", "x:abc", "Q1", "c:" + "zz" * 16])
def test_what_is_no_token_is_refused(token: str) -> None:
    with pytest.raises(ValueError):
        MboxKey.from_token(token)


def read_mbox(path: Path) -> list[bytes]:
    """The messages of an mbox as a reader gives them: unquoted, no `From ` line."""
    box = mailbox.mbox(path, create=False)
    try:
        return [unquote_mboxrd(box.get_bytes(key)) for key in box.iterkeys()]
    finally:
        box.close()


def test_ids_survive_deletion_and_compaction_of_a_real_mbox(store_dir: Path) -> None:
    recipients = ("alice@example.org", "bob@example.org")
    with MboxStore(store_dir, fsync=False) as store:
        for number in range(4):
            data = b"Subject: %d\r\n\r\nFrom the start\r\n" % number
            with spool(data) as message:
                store.deliver(envelope(queue_id=f"QID{number}", recipients=recipients), message)
    path = store_dir / "alice@example.org.mbox"
    # Messages filed by another tool: two identical ones, and one that is read later.
    box = mailbox.mbox(path)
    for data in (MESSAGE, MESSAGE, BODY):
        box.add(data)
    box.flush()
    box.close()

    messages = read_mbox(path)
    before = ids_of("alice@example.org", messages)
    assert [mbox_key(message).kind for message in messages] == ["q"] * 4 + ["c"] * 3
    assert len(set(before)) == 7
    assert not set(before) & set(
        ids_of("bob@example.org", read_mbox(path.with_name("bob@example.org.mbox")))
    )

    # Another tool deletes the second message and marks the last one read, rewriting the file.
    box = mailbox.mbox(path)
    keys = list(box.iterkeys())
    box.remove(keys[1])
    last = box[keys[-1]]
    last.set_flags("RO")
    box[keys[-1]] = last
    box.flush()
    box.close()
    messages = read_mbox(path)
    assert b"\nStatus: RO\n" in messages[-1]
    after = ids_of("alice@example.org", messages)
    assert after == [before[0], *before[2:]]
