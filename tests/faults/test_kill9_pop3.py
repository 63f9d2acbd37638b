"""kill -9 of the server during a POP3 UPDATE that deletes 50 messages: no message that
was not marked deleted is lost or damaged, none is doubled, and the mailbox is one that
Python's `mailbox` reads, at once and after the server starts again (mbox and Maildir).

The kill comes at a range of delays after QUIT, so that some land before the update,
some during it (the store's deletion: a compaction for mbox, unlinks for Maildir) and
some after it.
"""

from __future__ import annotations

import mailbox
import poplib
import random
import time
from pathlib import Path

import pytest

from postier.store import open_store
from tests.faults.numbered import check_stored, numbered_message
from tests.store.helpers import envelope, spool
from tests.support.mailboxes import unquote_mboxrd
from tests.support.pop3 import POP3_ARGS, pop3_address
from tests.support.server import ServerProcess

USER = "you@exemple.fr"
COUNT = 250
DELETED = 50
DELAYS = (0.0, 0.003, 0.01, 0.03, 0.1, 0.3)


def fill(store: Path, fmt: str) -> list[str]:
    """COUNT numbered messages in `USER`'s mailbox, written by the store itself."""
    tokens = [f"m{n:05d}" for n in range(COUNT)]
    with open_store(store, fmt) as mail:  # type: ignore[arg-type]
        items = []
        for token in tokens:
            items.append((envelope(recipients=(USER,), queue_id=token),
                          spool(numbered_message(token, 2000 + len(items) % 7 * 700))))  # fmt: skip
        assert mail.deliver_batch(items) == [None] * COUNT
    return tokens


def stored(store: Path, fmt: str) -> list[bytes]:
    """The mailbox as Python's `mailbox` reads it (mboxrd quoting undone)."""
    if fmt == "mbox":
        box: mailbox.Mailbox[mailbox.Message] = mailbox.mbox(store / f"{USER}.mbox", create=False)
        try:
            return [unquote_mboxrd(box.get_bytes(key)) for key in box.iterkeys()]
        finally:
            box.close()
    folder = mailbox.Maildir(store / USER, create=False)
    return [folder.get_bytes(key) for key in folder.iterkeys()]


def tokens_in(messages: list[bytes]) -> list[str]:
    return [check_stored(message.replace(b"\r\n", b"\n"), USER) for message in messages]


def delete_and_kill(server: ServerProcess, rng: random.Random, delay: float) -> set[str]:
    """Log in, mark DELETED messages, QUIT, and kill -9 the server `delay` seconds later;
    the tokens marked."""
    client = poplib.POP3(*pop3_address(server), timeout=30)
    try:
        client.user(USER)
        client.pass_("x")
        count, _ = client.stat()
        assert count == COUNT
        marked = set()
        for number in rng.sample(range(1, COUNT + 1), DELETED):
            head = client.top(number, 0)[1]
            subject = next(line for line in head if line.startswith(b"Subject: "))
            marked.add(subject.removeprefix(b"Subject: ").decode())
            client.dele(number)
        client.sock.sendall(b"QUIT\r\n")
        time.sleep(delay)
        server.kill()
    finally:
        client.close()
    return marked


def subjects(server: ServerProcess) -> set[str]:
    """The token of every message a new POP3 session finds."""
    client = poplib.POP3(*pop3_address(server), timeout=30)
    try:
        client.user(USER)
        client.pass_("x")
        found = set()
        for number in range(1, client.stat()[0] + 1):
            head = client.top(number, 0)[1]
            subject = next(line for line in head if line.startswith(b"Subject: "))
            found.add(subject.removeprefix(b"Subject: ").decode())
        client.quit()
        return found
    finally:
        client.close()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_kill_9_during_a_pop3_update_loses_nothing_kept(tmp_path: Path, fmt: str) -> None:
    rng = random.Random(f"pop3-{fmt}")
    outcomes = []
    for round_, delay in enumerate(DELAYS):
        store = tmp_path / f"store-{round_}"
        tokens = fill(store, fmt)
        server = ServerProcess(store, *POP3_ARGS, "--format", fmt).start()
        marked = delete_and_kill(server, rng, delay)
        kept = set(tokens) - marked

        after_kill = tokens_in(stored(store, fmt))  # each whole, or an AssertionError
        assert sorted(set(after_kill)) == sorted(after_kill), "a message doubled"
        assert kept <= set(after_kill), f"lost: {sorted(kept - set(after_kill))[:5]}"

        server.start()  # recovers the store and looks again
        try:
            shown = subjects(server)
        finally:
            server.stop()
        assert kept <= shown, f"lost: {sorted(kept - shown)[:5]}"
        if fmt == "mbox":
            # An mbox's deletion is one batch: it took effect whole, or not at all (a
            # Maildir's is a file at a time: a new session finds the rest still there).
            assert len(shown & marked) in (0, DELETED)
        outcomes.append(len(shown & marked))
        again = tokens_in(stored(store, fmt))
        assert kept <= set(again) and len(again) == len(set(again))
    # Some kills came before the deletions took effect, some after.
    assert max(outcomes) > 0 and min(outcomes) < DELETED, outcomes
