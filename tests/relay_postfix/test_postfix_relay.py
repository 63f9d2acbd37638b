"""`postier serve --relay` to a real Postfix: what arrives, byte for byte; what never leaves.

The upstream is a private Postfix (tests/support/postfix.py) that delivers every message
to a Maildir with its own `virtual(8)` agent; what it adds above the message is its own
(Return-Path, X-Original-To, Delivered-To and its Received:), and below that must come
postier's Received: line and then the message as the client sent it, with only the line
endings changed (a Maildir file ends its lines with LF).
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from postier.relay import OutboundQueue
from tests.conftest import StartServer
from tests.support.postfix import HOSTNAME, PostfixProcess
from tests.support.server import ServerProcess
from tests.support.tls import TlsFiles, make_tls_files

pytestmark = [pytest.mark.interop, pytest.mark.slow]

MATCH = r".*@relay\.test"
SENDER = "sender@origin.test"
USER, PASSWORD = "postier", "s3cret pass"

# What a client may send that a relay could spoil: dot-stuffing (smtplib doubles the
# leading dots, postier must undo it), a lone dot, a folded header, 8-bit UTF-8 text,
# a line starting "From " (mbox quotes it in the store, never upstream), trailing blanks
# and tabs, a long line, blank lines at the end.
MESSAGE = (
    b"From: Sender <sender@origin.test>\r\n"
    b"To: alice@relay.test, Carol <carol@local.test>\r\n"
    b"Subject: a folded\r\n"
    b"\tsubject line\r\n"
    b"Message-ID: <relay-1@origin.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b".leading dot\r\n"
    b"..two leading dots\r\n"
    b".\r\n"
    b"From the start of a line\r\n"
    b">From quoted already\r\n"
    b"trailing blanks   \r\n"
    b"trailing tab\t\r\n"
    b"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xac\r\n" + b"x" * 900 + b"\r\n"
    b"\r\n"
    b"\r\n"
)


def _relaying(postfix: PostfixProcess, *extra: str) -> tuple[str, ...]:
    return ("--relay", postfix.relay, "--relay-match", MATCH, "--relay-retry", "1", *extra)


def _send(address: tuple[str, int], recipients: list[str], message: bytes = MESSAGE) -> None:
    with smtplib.SMTP(*address, timeout=30) as client:
        refused = client.sendmail(SENDER, recipients, message)
    assert refused == {}


def _split_copy(copy: bytes, message: bytes) -> tuple[list[bytes], bytes]:
    """Postfix's copy as (the header fields above postier's Received:, that Received:),
    once its tail is checked to be `message` exactly, in LF line endings."""
    expected = message.replace(b"\r\n", b"\n")
    assert copy.endswith(expected), "the message upstream differs from the one sent"
    head = copy[: len(copy) - len(expected)]
    fields = re.split(rb"\n(?![ \t])", head.removesuffix(b"\n"))
    return fields[:-1], fields[-1] + b"\n"


def _check_postfix_fields(fields: list[bytes], recipient: str) -> None:
    """Above postier's line, only what Postfix adds, and nothing else."""
    names = [field.split(b":", 1)[0] for field in fields]
    assert names == [b"Return-Path", b"X-Original-To", b"Delivered-To", b"Received"], fields
    assert fields[0] == f"Return-Path: <{SENDER}>".encode()
    assert fields[2] == f"Delivered-To: {recipient}".encode()
    assert f"by {HOSTNAME} (Postfix)".encode() in fields[3]


def _queue_ids(log: str, recipient: str) -> list[str]:
    return re.findall(rf"queued \S+ \((\w+)\) for relay to <{re.escape(recipient)}>", log)


@pytest.fixture
def postfix() -> Iterator[PostfixProcess]:
    with PostfixProcess() as process:
        yield process


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("upstream-tls"))


def test_matched_recipients_arrive_byte_exact(
    postfix: PostfixProcess, start_server: StartServer, store_dir: Path
) -> None:
    server = start_server(*_relaying(postfix), store=store_dir)
    _send(server.address, ["alice@relay.test", "carol@local.test"])
    log = server.wait_for_log(r"relayed \S+ \(\w+\) from <[^>]*> to <alice@relay\.test>")

    [copy] = postfix.wait_for("alice@relay.test")
    fields, received = _split_copy(copy, MESSAGE)
    _check_postfix_fields(fields, "alice@relay.test")
    [queue_id] = _queue_ids(log, "alice@relay.test")
    # One relayed recipient: postier's line names it (`for <r>`), and its own queue id.
    assert received.startswith(b"Received: from [127.0.0.1] ")
    assert f"by mx.test (postier) with ESMTP id {queue_id}\n".encode() in received
    assert b"for <alice@relay.test>;" in received
    assert b"\r" not in received.replace(b"\r\n", b"")  # one line ending kind only


def test_unmatched_recipients_never_leave(
    postfix: PostfixProcess, start_server: StartServer, store_dir: Path
) -> None:
    recipients = ["alice@relay.test", "Bob@RELAY.test", "carol@local.test", "dan@relay.test.org"]
    server = start_server(*_relaying(postfix), store=store_dir)
    _send(server.address, recipients)
    log = server.wait_for_log(r"relayed \S+ \(\w+\) from <[^>]*> to <[^>]*> via ", count=2)
    relayed = re.findall(r"relayed \S+ \(\w+\) from <[^>]*> to <([^>]*)> via [^:]+:\d+: 250 ", log)
    assert sorted(relayed) == ["Bob@RELAY.test", "alice@relay.test"]

    alice = postfix.wait_for("alice@relay.test")
    bob = postfix.wait_for("bob@relay.test")
    # The envelope recipient goes upstream as the client wrote it (case and all).
    for recipient, [copy] in (("alice@relay.test", alice), ("Bob@RELAY.test", bob)):
        fields, received = _split_copy(copy, MESSAGE)
        _check_postfix_fields(fields, recipient)
        # Two relayed recipients in one transaction: postier's line names neither.
        assert b" for <" not in received

    # The store kept every copy; upstream saw two recipients, and has nothing else.
    stored = sorted(path.name for path in store_dir.glob("*.mbox"))
    assert stored == [f"{r.lower()}.mbox" for r in sorted(recipients, key=str.lower)]
    assert postfix.count() == 2
    assert {address for address, _ in postfix.messages()} == {"alice@relay.test", "bob@relay.test"}
    upstream_log = postfix.log_text()
    assert "carol@local.test" not in upstream_log
    assert "dan@relay.test.org" not in upstream_log
    assert len(re.findall(r"postfix/smtpd\[\d+\]: \w+: client=", upstream_log)) == 1
    assert OutboundQueue(store_dir).entries() == []


def test_mail_waits_for_postfix_and_arrives_once(
    postfix: PostfixProcess, start_server: StartServer, store_dir: Path
) -> None:
    """Postfix down: the message stays queued and retried; up again: it arrives, once."""
    postfix.stop()
    server = start_server(*_relaying(postfix), store=store_dir)
    _send(server.address, ["alice@relay.test"])
    server.wait_for_log(r"relay of \S+ \(\w+\) to <[^>]*> deferred \(try 1, ")
    assert len(OutboundQueue(store_dir).entries()) == 1

    postfix.start()
    server.wait_for_log(r"relayed \S+ \(\w+\) from <[^>]*> to <alice@relay\.test>", timeout=30)
    [copy] = postfix.wait_for("alice@relay.test")
    _check_postfix_fields(_split_copy(copy, MESSAGE)[0], "alice@relay.test")
    assert OutboundQueue(store_dir).entries() == []


def test_starttls_to_postfix_with_its_ca(
    tls: TlsFiles, start_server: StartServer, store_dir: Path
) -> None:
    with PostfixProcess(tls=tls) as postfix:
        server = start_server(
            *_relaying(postfix, "--relay-starttls", "--relay-ca", str(tls.ca_pem)),
            store=store_dir,
        )
        _send(server.address, ["alice@relay.test", "carol@local.test"])
        [copy] = postfix.wait_for("alice@relay.test")
        fields, _ = _split_copy(copy, MESSAGE)
        _check_postfix_fields(fields, "alice@relay.test")
        # Postfix's own Received: says the hop was encrypted (RFC 3848's ESMTPS).
        assert b"(Postfix) with ESMTPS id " in fields[3], fields[3]
        assert "TLS connection established from" in postfix.log_text()


def test_starttls_refuses_a_certificate_of_another_ca(
    tls: TlsFiles, tmp_path: Path, start_server: StartServer, store_dir: Path
) -> None:
    other = make_tls_files(tmp_path)
    with PostfixProcess(tls=tls) as postfix:
        server = start_server(
            *_relaying(postfix, "--relay-starttls", "--relay-ca", str(other.ca_pem)),
            store=store_dir,
        )
        _send(server.address, ["alice@relay.test"])
        log = server.wait_for_log(r"relay of \S+ \(\w+\) to <[^>]*> deferred \(try 1, ")
        assert re.search(r"deferred \(try 1, .*certificate", log, re.IGNORECASE), log
        assert postfix.count() == 0
        assert len(OutboundQueue(store_dir).entries()) == 1


def _start_logging_in(
    start_server: StartServer,
    postfix: PostfixProcess,
    tls: TlsFiles,
    store_dir: Path,
    password: str,
) -> ServerProcess:
    """postier relaying to `postfix` over STARTTLS, logging in with `password`."""
    return start_server(
        *_relaying(postfix, "--relay-starttls", "--relay-ca", str(tls.ca_pem)),
        "--relay-auth",
        f"{USER}@{HOSTNAME}:{password}",
        store=store_dir,
    )


def test_auth_to_postfix_over_starttls(
    tls: TlsFiles, start_server: StartServer, store_dir: Path
) -> None:
    with PostfixProcess(tls=tls, auth=(USER, PASSWORD)) as postfix:
        server = _start_logging_in(start_server, postfix, tls, store_dir, PASSWORD)
        _send(server.address, ["alice@relay.test"])
        [copy] = postfix.wait_for("alice@relay.test")
        _check_postfix_fields(_split_copy(copy, MESSAGE)[0], "alice@relay.test")
        postfix.wait_for_log(rf"client=\S+, sasl_method=(PLAIN|LOGIN), sasl_username={USER}@")


def test_auth_with_a_wrong_password_delivers_nothing(
    tls: TlsFiles, start_server: StartServer, store_dir: Path
) -> None:
    with PostfixProcess(tls=tls, auth=(USER, PASSWORD)) as postfix:
        server = _start_logging_in(start_server, postfix, tls, store_dir, "wrong")
        _send(server.address, ["alice@relay.test"])
        log = server.wait_for_log(r"relay of \S+ \(\w+\) to <[^>]*> (deferred|dropped)")
        assert re.search(r"relay of .* (deferred|dropped).*\b535\b", log), log
        postfix.wait_for_log(r"SASL (PLAIN|LOGIN) authentication failed")
        assert postfix.count() == 0
