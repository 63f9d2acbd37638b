"""Mailbox names on a live server: crafted recipients never reach outside the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import StartServer
from tests.support.mailboxes import tree
from tests.support.smtp import connect

CRAFTED = [
    "<../../x@y>",
    '<"../../x"@y>',
    "<a/b@c>",
    "<..@x>",
    '<"/etc/passwd"@x>',
    '<"..\\/..\\/x"@y>',
    "<%2e%2e@x>",
    "<.hidden@x>",
    '<".."@x>',
    '<"."@x>',
    "<a\\b@c>",
    '<"a\\\\b"@c>',
    "<@evil.test:../../x@y>",
    "<" + "a" * 64 + "@" + "b" * 180 + ".test>",
]


@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_crafted_recipients_stay_inside_the_store(
    start_server: StartServer, tmp_path: Path, fmt: str
) -> None:
    # The store is two levels down, so `../../x` would still land inside tmp_path.
    store = tmp_path / "one" / "two" / "mail"
    server = start_server("--format", fmt, store=store)
    before = tree(tmp_path)
    accepted = 0
    with connect(server.address) as client:
        for recipient in CRAFTED:
            assert client.command("MAIL FROM:<a@test.com>").code == 250
            rcpt = client.command(f"RCPT TO:{recipient}")
            if rcpt.code != 250:
                assert 500 <= rcpt.code < 600, (recipient, rcpt)
                assert client.command("RSET").code == 250
                continue
            assert client.command("DATA").code == 354
            client.send(b"Subject: crafted\r\n\r\nbody\r\n.\r\n")
            stored = client.reply()
            assert stored.code == 250, (recipient, stored)
            accepted += 1
    assert accepted >= 5  # the quoted and slashed ones are valid addresses
    after = tree(tmp_path)
    created = after - before
    store_rel = str(store.relative_to(tmp_path))
    outside = sorted(p for p in created if not p.startswith(store_rel + "/"))
    assert outside == [], f"created outside the store: {outside}"
    # Every mailbox is an entry directly inside the store, not hidden, no `..` anywhere.
    entries = {p.split("/")[3] for p in created if p.startswith(store_rel + "/")}
    entries.discard(".postier")
    assert len(entries) == accepted
    for entry in entries:
        assert not entry.startswith(".") and entry not in {"", "."}
        assert (store / entry).resolve().parent == store.resolve()
        if fmt == "mbox":
            assert entry.endswith(".mbox")
        else:
            assert {"tmp", "new", "cur"} <= {p.name for p in (store / entry).iterdir()}
    assert not (tmp_path / "x@y").exists() and not (tmp_path / "x@y.mbox").exists()


def test_plain_names_kept_and_others_escaped(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server()
    with connect(server.address) as client:
        for recipient in ["<First.Last+tag@Exemple.FR>", '<"a b"@x.test>', "<a/b@c>"]:
            client.command("MAIL FROM:<a@test.com>")
            assert client.command(f"RCPT TO:{recipient}").code == 250
            client.command("DATA")
            client.send(b"Subject: n\r\n\r\n.\r\n")
            assert client.reply().code == 250
    names = sorted(p.name for p in server.store.iterdir() if not p.name.startswith("."))
    assert "first.last+tag@exemple.fr.mbox" in names
    assert "a%2Fb@c.mbox" in names
    assert "%22a%20b%22@x.test.mbox" in names
