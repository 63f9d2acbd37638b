"""Builds the corpus of `store_bench.py`: the same synthetic mail filed into four stores
(many mailboxes and one mailbox, each as mbox and as Maildir), in the store's own format.

Each copy is rendered by the store's own `render_copy` (trace headers `Return-Path`,
`Delivered-To`, `Received: ... id QUEUEID ...`; in an mbox the `From ` line, the mboxrd
quoting and the closing empty line), and files are named as the server names them
(`naming.mailbox_path`, `maildir.unique_name`). The messages are plain text mostly, some
replies quoting a line that starts with `From `, a few HTML alternatives, a few with a
small attachment; ~100 words each drawn Zipf-like from a 5,000-word vocabulary, plus now
and then a word from a long tail of rare ones (names, codes), so that a search can pick a
common word, a middling one and a rare one. One seed makes the same corpus every time.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import os
import random
import shutil
import string
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from postier.store.copies import render_copy  # noqa: E402
from postier.store.envelope import Envelope  # noqa: E402
from postier.store.maildir import unique_name  # noqa: E402
from postier.store.naming import StoreFormat, mailbox_path  # noqa: E402

SEED = 20260101
VOCABULARY = 5_000
RARE_TAIL = 20_000
WORDS_MEDIAN = 100
ATTACHMENT_SHARE = 0.03
HTML_SHARE = 0.05
REPLY_SHARE = 0.15
NON_ASCII_SHARE = 0.05
ALICE_SHARE = 0.02
START = datetime(2026, 1, 1, tzinfo=UTC)
MANIFEST = "corpus.json"
HOST = "bench.example.org"

FIRST_NAMES = [
    "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "zoe", "yann",
]  # fmt: skip
LAST_NAMES = [
    "martin", "bernard", "dubois", "thomas", "robert", "richard", "petit", "durand",
    "leroy", "moreau", "simon", "laurent", "lefebvre", "michel", "garcia", "muller",
]  # fmt: skip
DOMAINS = ["example.com", "example.net", "mail.example.org", "shop.example", "lists.example"]
ACCENTED = ["été", "café", "Jérôme", "Zoë", "naïve", "Ångström", "Straße"]


@dataclass(frozen=True, slots=True)
class StoreSpec:
    """One of the four stores."""

    label: str
    path: str
    format: StoreFormat
    addresses: list[str]
    """Its mailboxes' addresses, in the order they were made."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What was built, so that a kept corpus can be measured again without building it."""

    messages: int
    mailboxes: int
    seed: int
    stores: list[StoreSpec]
    words: dict[str, list[object]]
    """`common`, `mid`, `rare`: [the word, the messages that hold it]."""
    attachments: int
    mean_size: float
    build_seconds: float

    def save(self, directory: Path) -> None:
        (directory / MANIFEST).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, directory: Path) -> Manifest | None:
        try:
            data = json.loads((directory / MANIFEST).read_text())
        except (FileNotFoundError, ValueError):
            return None
        data["stores"] = [StoreSpec(**store) for store in data["stores"]]
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Message:
    """One message as the client sent it, and its envelope's varying parts."""

    sender: str
    data: bytes
    received: datetime
    queue_id: str


class _Source:
    """A message in memory, read as the store reads a spooled one."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        for start in range(0, len(self.data), size):
            yield self.data[start : start + size]


def _words(rng: random.Random, count: int, low: int, high: int) -> list[str]:
    found: dict[str, None] = {}
    while len(found) < count:
        found["".join(rng.choices(string.ascii_lowercase, k=rng.randint(low, high)))] = None
    return list(found)


class Writer:
    """Makes the messages: one random generator, so the corpus depends on the seed alone."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.vocabulary = _words(self.rng, VOCABULARY, 3, 10)
        common = set(self.vocabulary)
        self.rare = [w for w in _words(self.rng, RARE_TAIL + 2_000, 9, 12) if w not in common]
        self.cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(VOCABULARY)))
        self.people = self._people()
        self.counts: Counter[str] = Counter()
        """In how many messages each word occurs (subject or text)."""
        self.attachments = 0

    def _people(self) -> list[tuple[str, str]]:
        people = []
        for first, last in itertools.product(FIRST_NAMES, LAST_NAMES):
            domain = self.rng.choice(DOMAINS)
            people.append((f"{first.title()} {last.title()}", f"{first}.{last}@{domain}"))
        return people

    def _sender(self) -> tuple[str, str]:
        rng = self.rng
        if rng.random() < ALICE_SHARE:
            last = rng.choice(LAST_NAMES)
            return f"Alice {last.title()}", f"{rng.choice(['alice', 'a.' + last])}@example.com"
        name, address = rng.choice(self.people)
        if rng.random() < NON_ASCII_SHARE:
            name = f"{rng.choice(ACCENTED)} {name.split()[1]}"
        return name, address

    def _text(self) -> list[str]:
        count = max(20, min(600, round(self.rng.lognormvariate(math.log(WORDS_MEDIAN), 0.5))))
        words = self.rng.choices(self.vocabulary, cum_weights=self.cumulative, k=count)
        if self.rng.random() < 0.3:
            words.insert(self.rng.randrange(len(words)), self.rng.choice(self.rare))
        return words

    def message(self, number: int, recipient: str) -> Message:
        rng = self.rng
        name, address = self._sender()
        words = self._text()
        subject_words = words[: rng.randint(3, 8)]
        self.counts.update(set(words))
        subject = " ".join(subject_words).capitalize()
        if rng.random() < REPLY_SHARE:
            subject = "Re: " + subject
        received = START + timedelta(seconds=number * 30 + rng.randrange(30))
        sent = received - timedelta(seconds=rng.randrange(2, 600))
        headers = [
            f"From: {_display(name)} <{address}>",
            f"To: {recipient}",
            f"Subject: {_display(subject)}",
            f"Date: {format_datetime(sent)}",
            f"Message-ID: <{number}.{rng.getrandbits(40):x}@{address.split('@')[1]}>",
            "MIME-Version: 1.0",
        ]
        text = self._body(name, words[len(subject_words) :], subject.startswith("Re: "))
        roll = rng.random()
        if roll < ATTACHMENT_SHARE:
            self.attachments += 1
            headers.append(self._with_attachment(number, text))
        elif roll < ATTACHMENT_SHARE + HTML_SHARE:
            headers.append(_alternative(number, text))
        else:
            headers.append('Content-Type: text/plain; charset="utf-8"\n'
                           "Content-Transfer-Encoding: 8bit\n\n" + text)  # fmt: skip
        data = "\n".join(headers).encode()
        return Message(address, data, received, f"Q{number:09X}")

    def _body(self, name: str, words: list[str], reply: bool) -> str:
        lines = [f"Hello {self.rng.choice(FIRST_NAMES).title()},", ""]
        lines += _wrapped(words)
        if reply:
            quoted = self.rng.choices(self.vocabulary, cum_weights=self.cumulative, k=30)
            lines += ["", "On Monday someone wrote:", "> " + " ".join(quoted[:12])]
            # A line that mboxrd quotes in the file and the reader unquotes.
            lines += ["From " + " ".join(quoted[12:20]), "> " + " ".join(quoted[20:])]
        lines += ["", "-- ", name, ""]
        return "\n".join(lines)

    def _with_attachment(self, number: int, text: str) -> str:
        blob = base64.encodebytes(self.rng.randbytes(self.rng.randint(500, 3_000))).decode()
        boundary = f"=_part_{number}"
        return (
            f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n'
            f'--{boundary}\nContent-Type: text/plain; charset="utf-8"\n\n{text}\n'
            f'--{boundary}\nContent-Type: application/pdf; name="report-{number}.pdf"\n'
            f'Content-Disposition: attachment; filename="report-{number}.pdf"\n'
            f"Content-Transfer-Encoding: base64\n\n{blob}--{boundary}--\n"
        )


def _display(text: str) -> str:
    """An RFC 2047 encoded word when the text is not ASCII, as mail clients write it."""
    if text.isascii():
        return text
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def _wrapped(words: list[str], width: int = 72) -> list[str]:
    lines, line = [], ""
    for word in words:
        if len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line]


def _alternative(number: int, text: str) -> str:
    boundary = f"=_alt_{number}"
    html = "".join(f"<p>{paragraph}</p>" for paragraph in text.split("\n\n"))
    return (
        f'Content-Type: multipart/alternative; boundary="{boundary}"\n\n'
        f'--{boundary}\nContent-Type: text/plain; charset="utf-8"\n\n{text}\n'
        f'--{boundary}\nContent-Type: text/html; charset="utf-8"\n\n'
        f"<html><body>{html}</body></html>\n--{boundary}--\n"
    )


def _envelope(message: Message, recipient: str) -> Envelope:
    return Envelope(
        sender=message.sender,
        recipients=(recipient,),
        helo="client.example.net",
        peer_ip="192.0.2.7",
        server_name="mx.example.org",
        protocol="ESMTP",
        queue_id=message.queue_id,
        received_at=message.received,
    )


def _write_mbox(path: Path, copies: list[tuple[Message, str]]) -> None:
    with open(path, "wb") as file:
        for message, recipient in copies:
            for piece in render_copy(
                _envelope(message, recipient), recipient, _Source(message.data), "mbox"
            ):
                file.write(piece)


def _write_maildir(path: Path, copies: list[tuple[Message, str]]) -> None:
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for message, recipient in copies:
        pieces = render_copy(
            _envelope(message, recipient), recipient, _Source(message.data), "maildir"
        )
        with open(path / "new" / unique_name(HOST, message.received), "wb") as file:
            file.write(b"".join(pieces))


def _build_store(root: Path, fmt: StoreFormat, boxes: dict[str, list[Message]]) -> None:
    root.mkdir(parents=True)
    for address, messages in boxes.items():
        path = mailbox_path(root, address, fmt)
        copies = [(message, address) for message in messages]
        (_write_mbox if fmt == "mbox" else _write_maildir)(path, copies)


def _pick_words(counts: Counter[str], vocabulary: list[str], total: int) -> dict[str, list[object]]:
    common, common_count = counts.most_common(1)[0]
    mid = min(vocabulary, key=lambda word: (abs(counts[word] - total / 100), word))
    rare = min((w for w, n in counts.items() if n >= 2), key=lambda w: (counts[w], w))
    return {
        "common": [common, common_count],
        "mid": [mid, counts[mid]],
        "rare": [rare, counts[rare]],
    }


def build(directory: Path, messages: int, mailboxes: int, seed: int = SEED) -> Manifest:
    """Build the four stores in `directory` (a corpus already there is replaced)."""
    started = time.perf_counter()
    if directory.exists() and any(directory.iterdir()):
        if not (directory / MANIFEST).exists():
            raise SystemExit(f"{directory} holds something else than a corpus: not touched")
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    writer = Writer(seed)
    many = [f"user{k:04d}@example.org" for k in range(mailboxes)]
    one = "inbox@example.org"
    # Each message is written once per shape: to `many[n % mailboxes]` and to `one`; its
    # bytes differ only in the trace headers' recipient, so the To: is the many-shape's.
    corpus = [writer.message(n, many[n % mailboxes]) for n in range(messages)]
    shaped: dict[str, tuple[StoreFormat, str]] = {
        f"mbox {mailboxes}x{math.ceil(messages / mailboxes)}": ("mbox", "many"),
        f"maildir {mailboxes}x{math.ceil(messages / mailboxes)}": ("maildir", "many"),
        f"mbox 1x{messages}": ("mbox", "one"),
        f"maildir 1x{messages}": ("maildir", "one"),
    }
    stores = []
    for number, (label, (fmt, shape)) in enumerate(shaped.items()):
        root = directory / f"store{number}-{fmt}-{shape}"
        if shape == "many":
            boxes = {address: corpus[k::mailboxes] for k, address in enumerate(many)}
        else:
            boxes = {one: corpus}
        _progress(f"writing {label} ({fmt}) in {root}")
        _build_store(root, fmt, boxes)
        stores.append(StoreSpec(label, str(root), fmt, list(boxes)))
    manifest = Manifest(
        messages=messages,
        mailboxes=mailboxes,
        seed=seed,
        stores=stores,
        words=_pick_words(writer.counts, writer.vocabulary + writer.rare, messages),
        attachments=writer.attachments,
        mean_size=sum(len(m.data) for m in corpus) / max(1, messages),
        build_seconds=time.perf_counter() - started,
    )
    manifest.save(directory)
    return manifest


def ensure(directory: Path, messages: int, mailboxes: int, seed: int = SEED) -> Manifest:
    """The corpus in `directory`: the one there when it was built with these settings,
    otherwise a new one."""
    kept = Manifest.load(directory)
    if kept is not None and (kept.messages, kept.mailboxes, kept.seed) == (
        messages,
        mailboxes,
        seed,
    ):
        _progress(f"reusing the corpus in {directory}")
        return kept
    return build(directory, messages, mailboxes, seed)


def _progress(text: str) -> None:
    print(f"[store_bench] {text}", file=sys.stderr, flush=True)


def mailbox_bytes(spec: StoreSpec) -> int:
    """The bytes of the store's mailbox files (the index and logs under `.postier` not)."""
    total = 0
    for address in spec.addresses:
        path = mailbox_path(Path(spec.path), address, spec.format)
        if spec.format == "mbox":
            total += path.stat().st_size
            continue
        for sub in ("tmp", "new", "cur"):
            with os.scandir(path / sub) as entries:
                total += sum(entry.stat().st_size for entry in entries)
    return total
