"""Releasing one stored message to chosen recipients, through the upstream, at once.

The stored copy is sent as the store keeps it, less what belongs to its final delivery
here: the `Return-Path:` and `Delivered-To:` that head it (RFC 5321 §4.4: a relay adds
no `Return-Path:`), and any `Bcc:` (RFC 5322 §3.6.3: the recipients of a release are
its own). Its `Received:` lines stay: they are its trace. The envelope sender is the
one it came with (its `Return-Path:`), or `--relay-from`.

The copy to send is written to a temporary file first (in memory while small), so
that its size is known for SIZE and the store's file is not held open while the
upstream is slow.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from email.utils import parseaddr
from typing import IO, Final

from postier.client import Client, SendResult
from postier.protocol.smtp import AddressError, OutgoingEnvelope, validate_mailbox
from postier.relay.config import RelayConfig, Upstream
from postier.relay.measure import Measured

MAX_HEADER: Final = 1 << 20
"""A header section longer than this is not a message postier stored."""
_MEMORY: Final = 1 << 20
_DROPPED_AT_TOP: Final = (b"return-path", b"delivered-to")
_DROPPED_ANYWHERE: Final = (b"bcc", b"resent-bcc")
_NAME: Final = re.compile(rb"^([!-9;-~]+)[ \t]*:")


class ReleaseError(Exception):
    """A release that cannot be made; `kind` says whose fault: "usage" (a bad request),
    "refused" (`--release-allow`), "unconfigured" (no upstream)."""

    def __init__(self, message: str, kind: str = "usage") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Prepared:
    """The copy to send, written out, and its envelope."""

    data: IO[bytes]
    envelope: OutgoingEnvelope


def check_recipients(config: RelayConfig, recipients: Sequence[str]) -> tuple[str, ...]:
    """The recipients of a release, each checked; raises ReleaseError."""
    if config.upstream is None:
        raise ReleaseError(
            "release needs an upstream server: start postier serve with --relay HOST[:PORT]",
            "unconfigured",
        )
    if not recipients:
        raise ReleaseError("name at least one recipient to release the message to")
    addresses: list[str] = []
    for given in recipients:
        address = parseaddr(given)[1] if "<" in given else given.strip()
        try:
            validate_mailbox(address, allow_postmaster=True)
        except AddressError as exc:
            raise ReleaseError(f"not an address: {given!r} ({exc})") from None
        addresses.append(address)
    refused = config.release_refused(addresses)
    if refused:
        raise ReleaseError(f"not allowed by --release-allow: {', '.join(refused)}", "refused")
    return tuple(dict.fromkeys(addresses))


def prepare(stored: IO[bytes], config: RelayConfig, recipients: tuple[str, ...]) -> Prepared:
    """Write the copy to release from the stored message `stored` (blocking: a thread's)."""
    kept, sender = _cleaned(_head(stored))
    if config.sender is not None:
        sender = config.sender
    out = tempfile.SpooledTemporaryFile(_MEMORY)  # noqa: SIM115 - the caller closes it
    try:
        measured = Measured(_chunks(kept, stored))
        for chunk in measured:
            out.write(chunk)
        envelope = OutgoingEnvelope(
            sender,
            recipients,
            size=measured.size,
            eight_bit=measured.eight_bit,
            utf8_headers=not kept.isascii(),
        )
    except AddressError as exc:
        out.close()
        raise ReleaseError(f"cannot release: {exc}") from None
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return Prepared(out, envelope)


async def send(upstream: Upstream, prepared: Prepared, *, hostname: str | None) -> SendResult:
    """Send a prepared copy over a connection of its own; raises ClientError."""
    client: Client = upstream.client(hostname)
    async with asyncio.timeout(upstream.timeout * 10):
        await client.connect()
        try:
            if upstream.username is not None:
                assert upstream.password is not None
                await client.login(upstream.username, upstream.password)
            return await client.send_file(prepared.data, prepared.envelope)
        finally:
            await client.quit()


def _head(stored: IO[bytes]) -> bytes:
    """The header section, up to its empty line (included); `stored` is left after it."""
    head = bytearray()
    while True:
        line = stored.readline(MAX_HEADER + 1)
        head += line
        if len(head) > MAX_HEADER:
            raise ReleaseError("the stored message's header section is too long to release")
        if not line or line in (b"\n", b"\r\n"):
            return bytes(head)


def _cleaned(head: bytes) -> tuple[bytes, str]:
    """The header section less the final delivery's fields and Bcc; the envelope sender
    its `Return-Path:` names ("" for `<>`, the From address when there is none)."""
    fields = _fields(head)
    sender: str | None = None
    kept: list[bytes] = []
    at_top = True
    for name, raw in fields:
        lower = name.lower()
        if at_top and lower in _DROPPED_AT_TOP:
            if lower == b"return-path" and sender is None:
                sender = _path(raw)
            continue
        at_top = False
        if lower in _DROPPED_ANYWHERE:
            continue
        kept.append(raw)
    if sender is None:
        sender = next(
            (parseaddr(_value(raw))[1] for name, raw in fields if name.lower() == b"from"), ""
        )
    return b"".join(kept), sender


def _fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """Each field of the header section with its folded lines; the empty line as b""."""
    fields: list[tuple[bytes, bytes]] = []
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and fields:
            name, raw = fields[-1]
            fields[-1] = (name, raw + line)
            continue
        match = _NAME.match(line)
        fields.append((match.group(1) if match else b"", line))
    return fields


def _value(raw: bytes) -> str:
    return raw.partition(b":")[2].decode("utf-8", "replace").strip()


def _path(raw: bytes) -> str:
    value = _value(raw)
    return value[1:-1].strip() if value.startswith("<") and value.endswith(">") else value


def _chunks(head: bytes, stored: IO[bytes]) -> Iterator[bytes]:
    yield head
    while chunk := stored.read(1 << 16):
        yield chunk


async def release(
    config: RelayConfig,
    opened: Callable[[], AbstractContextManager[IO[bytes]]],
    recipients: Sequence[str],
    *,
    hostname: str | None = None,
) -> SendResult:
    """Release the stored message `opened()` opens to `recipients`, through the
    upstream; the upstream's answer. Raises ReleaseError
    before anything is sent, ClientError when the upstream fails or refuses."""
    addresses = check_recipients(config, recipients)
    assert config.upstream is not None

    def written() -> Prepared:
        with opened() as stored:
            return prepare(stored, config, addresses)

    prepared = await asyncio.to_thread(written)
    try:
        return await send(config.upstream, prepared, hostname=hostname)
    finally:
        prepared.data.close()
