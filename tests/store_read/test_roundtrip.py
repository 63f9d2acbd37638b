"""Round trips through a real `postier serve` (mbox and Maildir): smtplib sends, the
reading commands read back."""

from __future__ import annotations

import base64
import json
import mailbox
import os
import signal
import subprocess
import sys
import threading
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from tests.store_read.helpers import PDF, CliRun, html_only, plain, send, with_attachments
from tests.support.server import ServerProcess

SRC = str(Path(__file__).resolve().parents[2] / "src")


def fmt_of(server: ServerProcess) -> str:
    return "maildir" if "maildir" in server.args else "mbox"


def read_json(cli: CliRun, server: ServerProcess, *args: str) -> Any:
    result = cli("read", *args, "--json", "--store", server.store)
    assert result.status == 0, result.err
    return json.loads(result.out)


def test_a_message_with_attachments(
    cli: CliRun, live_server: ServerProcess, tmp_path: Path
) -> None:
    address = f"attach-{fmt_of(live_server)}@example.org"
    send(live_server, with_attachments(), [address])
    [document] = read_json(cli, live_server, address)
    assert document["subject"] == "Invoice"
    assert document["text"] == "See the attachments.\n"
    assert [a["name"] for a in document["attachments"]] == ["invoice.pdf", "notés.txt"]
    raw = base64.b64decode(document["raw_base64"])
    assert raw.startswith(b"Return-Path: <sender@example.com>\nDelivered-To: " + address.encode())
    target = tmp_path / "invoice.pdf"
    cli(
        "read",
        address,
        "1",
        "--part",
        "invoice.pdf",
        "--output",
        target,
        "--store",
        live_server.store,
    )
    assert target.read_bytes() == PDF
    table = cli("read", address, "--store", live_server.store).out.splitlines()
    assert "Invoice" in table[2] and table[2].rstrip().endswith(" 2")
    inbox = json.loads(cli("inbox", "--json", "--store", live_server.store).out)
    [row] = [row for row in inbox if row["mailbox"] == address]
    assert row["count"] == 1


def test_an_html_only_message(cli: CliRun, live_server: ServerProcess) -> None:
    address = f"html-{fmt_of(live_server)}@example.org"
    send(live_server, html_only(), [address])
    out = cli("read", address, "1", "--store", live_server.store).out
    assert "[the HTML part, rendered as text]" in out
    assert "News\n\nRead the news (https://example.com/news)." in out
    [document] = read_json(cli, live_server, address)
    assert document["html"].startswith("<html>") and document["attachments"] == []


def test_unicode_addresses_and_subjects(cli: CliRun, live_server: ServerProcess) -> None:
    recipient = f"Ünïcode-{fmt_of(live_server)}@exämple.org"
    message = EmailMessage(policy=policy.SMTPUTF8)
    message["From"] = "Jérôme <jérôme@exemple.fr>"
    message["To"] = recipient
    message["Subject"] = "日本語の件名 — déjà"
    message.set_content("こんにちは\n")
    send(live_server, message, [recipient], sender="jérôme@exemple.fr")
    lower = recipient.lower()
    [document] = read_json(cli, live_server, recipient.upper())
    assert document["subject"] == "日本語の件名 — déjà"
    assert (document["from"], document["to"]) == ("jérôme@exemple.fr", [recipient])
    assert document["text"] == "こんにちは\n"
    table = cli("read", lower, "--store", live_server.store).out
    assert table.startswith(f"{lower}: 1 message, 1 unread\n") and "日本語の件名" in table
    inbox = json.loads(cli("inbox", "--json", "--store", live_server.store).out)
    assert lower in [row["mailbox"] for row in inbox]


def test_a_mailbox_written_by_another_tool(cli: CliRun, live_server: ServerProcess) -> None:
    """Python's `mailbox` writes two messages, then the server appends a third."""
    address = f"other-{fmt_of(live_server)}@example.org"
    store = live_server.store
    box: mailbox.Mailbox[mailbox.Message]
    if fmt_of(live_server) == "mbox":
        box = mailbox.mbox(store / f"{address}.mbox")
    else:
        box = mailbox.Maildir(store / address)
    box.lock()
    for subject in ("by mailbox 1", "by mailbox 2"):
        box.add(f"From: tool@example.org\nSubject: {subject}\n\nFrom the other tool\n".encode())
    box.flush()
    box.unlock()
    box.close()
    send(live_server, plain("by postier"), [address])
    documents = read_json(cli, live_server, address)
    assert [d["subject"] for d in documents] == ["by mailbox 1", "by mailbox 2", "by postier"]
    assert documents[0]["text"] == "From the other tool\n"
    assert cli("read", address, "2", "--store", store).status == 0


def test_a_mailbox_read_while_the_server_writes_it(cli: CliRun, live_server: ServerProcess) -> None:
    address = f"busy-{fmt_of(live_server)}@example.org"
    total = 30
    body = "From the start of a line\n" + "x" * 70 + "\n"
    messages = [plain(f"n {n}", body * 200 + f"end {n}\n") for n in range(total)]

    def write() -> None:
        for message in messages:
            send(live_server, message, [address])

    writer = threading.Thread(target=write)
    writer.start()
    count = 0
    try:
        while writer.is_alive() or count < total:
            result = cli("read", address, "--json", "--store", live_server.store)
            assert result.status == 0, result.err
            documents = json.loads(result.out)
            # Whole messages only, in order, never fewer than before.
            assert [d["subject"] for d in documents] == [f"n {n}" for n in range(len(documents))]
            assert all(d["text"].endswith(f"end {d['index'] - 1}\n") for d in documents)
            assert len(documents) >= count
            count = len(documents)
    finally:
        writer.join()
    assert count == total


def test_watch_follows_two_servers_on_one_store(live_server: ServerProcess, tmp_path: Path) -> None:
    store = live_server.store
    fmt = fmt_of(live_server)
    second = ServerProcess(store, *live_server.args, log=tmp_path / "second.log").start()
    watch = subprocess.Popen(
        [sys.executable, "-m", "postier", "watch", "--json", "--count", "4", "--timeout", "20",
         "--interval", "0.05", "--store", str(store)],
        env={**os.environ, "PYTHONPATH": SRC},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert watch.stderr is not None
        assert watch.stderr.readline().startswith("Watching ")
        for number, server in enumerate([live_server, second, live_server, second]):
            send(server, plain(f"watched {number}"), [f"watch-{fmt}-{number % 2}@example.org"])
        out, err = watch.communicate(timeout=30)
    finally:
        second.stop()
        if watch.poll() is None:
            watch.kill()
            watch.communicate()
    assert watch.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert sorted(line["subject"] for line in lines) == [f"watched {n}" for n in range(4)]
    assert {(line["mailbox"], line["index"]) for line in lines} == {
        (f"watch-{fmt}-{box}@example.org", index) for box in (0, 1) for index in (1, 2)
    }
    assert all(line["from"] == "sender@example.com" for line in lines)


def test_ctrl_c_ends_a_watch_cleanly(tmp_path: Path) -> None:
    # The with-block closes the pipes and reaps the child whatever happens, so that a
    # failure here cannot leave open files to fail a later test. Ctrl-C reaches a
    # command run at a terminal: a suite started in the background (where the shell
    # ignores SIGINT for its children) must not pass that on to the watch.
    with subprocess.Popen(
        [sys.executable, "-m", "postier", "watch", "--store", str(tmp_path / "mail")],
        env={**os.environ, "PYTHONPATH": SRC},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    ) as watch:
        try:
            assert watch.stderr is not None and watch.stderr.readline().startswith("Watching ")
            watch.send_signal(signal.SIGINT)
            # Generous: on a loaded machine a child can wait seconds for a core.
            out, err = watch.communicate(timeout=30)
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.communicate()
    assert (watch.returncode, out, err) == (0, "", "")
