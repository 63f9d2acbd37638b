"""A real disk error during delivery: 451 4.3.0, the copies already written rolled back.

The server runs under RLIMIT_FSIZE: a write past the limit fails with EFBIG (Python
ignores SIGXFSZ), exactly as on a full disk, in the middle of the 2nd copy.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from pathlib import Path

from tests.conftest import StartServer
from tests.support.mailboxes import maildir_messages, mbox_messages, settled_journals, split_trace
from tests.support.smtp import RawClient, connect

LIMIT = 256 * 1024
FIRST = "first@test.com"
SECOND = "second." + "x" * 50 + "@test.com"  # a longer name: a larger copy


def file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def send(client: RawClient, recipients: list[str], message: bytes) -> tuple[int, str | None, str]:
    assert client.command("MAIL FROM:<a@test.com>").code == 250
    for recipient in recipients:
        assert client.command(f"RCPT TO:<{recipient}>").code == 250
    assert client.command("DATA").code == 354
    client.send(message + b".\r\n")
    reply = client.reply()
    return reply.code, reply.enhanced, reply.text


def message_of(size: int, tag: str) -> bytes:
    line = b"y" * 70 + b"\r\n"
    return f"Subject: {tag}\r\n\r\n".encode() + line * (size // len(line))


def prefill_mbox(path: Path, size: int) -> None:
    """A valid mbox of one message, `size` bytes long."""
    head = b"From filler@test.com Thu Nov 26 00:00:00 2026\nSubject: filler\n\n"
    tail = b"end\n\n"
    body_size = size - len(head) - len(tail)
    lines = b"z" * 99 + b"\n"
    body = lines * (body_size // len(lines))
    body += b"z" * (body_size - len(body) - 1) + b"\n"
    path.write_bytes(head + body + tail)
    assert path.stat().st_size == size


def test_disk_error_on_the_second_copy_mbox(start_server: StartServer, tmp_path: Path) -> None:
    store = tmp_path / "mail"
    store.mkdir()
    # The second mailbox is 3 kB short of the limit: a 6 kB message cannot fit in it.
    prefill_mbox(store / f"{SECOND}.mbox", LIMIT - 3000)
    server = start_server(store=store, preexec=file_size_limit(LIMIT))
    with connect(server.address) as client:
        assert send(client, [FIRST], message_of(500, "before"))[0] == 250
        before = {p.name: p.read_bytes() for p in store.glob("*.mbox")}

        code, enhanced, text = send(client, [FIRST, SECOND], message_of(6000, "too big"))
        assert (code, enhanced) == (451, "4.3.0"), text
        assert "Errno" not in text and "large" not in text  # no OS text for the client
        # The first copy was written, then rolled back: both mailboxes as they were.
        after = {p.name: p.read_bytes() for p in store.glob("*.mbox")}
        assert after == before
        assert settled_journals(store) == []

        # The session goes on, and a smaller retry goes through whole.
        assert client.command("NOOP").code == 250
        assert send(client, [FIRST, SECOND], message_of(500, "retry"))[0] == 250
    firsts = mbox_messages(store, FIRST)
    assert [split_trace(m)[1].split(b"\n", 1)[0] for m in firsts] == [
        b"Subject: before",
        b"Subject: retry",
    ]
    seconds = mbox_messages(store, SECOND)
    assert len(seconds) == 2 and b"Subject: retry" in seconds[1]
    assert (store / f"{FIRST}.mbox").read_bytes().startswith(before[f"{FIRST}.mbox"])
    assert "File too large" in server.log_text()  # the details go to the log


def test_disk_error_on_the_second_copy_maildir(start_server: StartServer, tmp_path: Path) -> None:
    limit = 64 * 1024
    server = start_server("--format", "maildir", preexec=file_size_limit(limit))
    with connect(server.address) as client:
        # Measure each recipient's trace headers with a small probe message.
        probe = message_of(300, "probe")
        assert send(client, [FIRST, SECOND], probe)[0] == 250
        (one,) = maildir_messages(server.store, FIRST)
        (two,) = maildir_messages(server.store, SECOND)
        stored_probe = probe.replace(b"\r\n", b"\n")
        trace_one, trace_two = len(one) - len(stored_probe), len(two) - len(stored_probe)
        assert trace_two - trace_one > 60
        # A message whose first copy fits under the limit and whose second does not.
        stored_size = limit - trace_one - 30
        content = b"Subject: edge\n\n"
        line = b"w" * 70 + b"\n"
        content += line * ((stored_size - len(content)) // len(line))
        content += b"w" * (stored_size - len(content) - 1) + b"\n"
        assert trace_one + len(content) < limit < trace_two + len(content)
        edge = content.replace(b"\n", b"\r\n")

        listing = {FIRST: os.listdir(server.store / FIRST / "new")}
        code, enhanced, text = send(client, [FIRST, SECOND], edge)
        assert (code, enhanced) == (451, "4.3.0"), text
        assert os.listdir(server.store / FIRST / "new") == listing[FIRST]
        for recipient in (FIRST, SECOND):
            assert os.listdir(server.store / recipient / "tmp") == []
            assert len(maildir_messages(server.store, recipient)) == 1
        assert settled_journals(server.store) == []

        assert send(client, [FIRST, SECOND], message_of(1000, "retry"))[0] == 250
    for recipient in (FIRST, SECOND):
        assert len(maildir_messages(server.store, recipient)) == 2
