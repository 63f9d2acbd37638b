"""Postfix's smtp-source (Debian package postfix) loads a live server; mailbox counts it all."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.conftest import StartServer
from tests.support.mailboxes import maildir_messages, mbox_messages, settled_journals, split_trace
from tests.support.server import ServerProcess
from tests.support.tools import require_tool

pytestmark = pytest.mark.interop


def smtp_source(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    command = [require_tool("smtp-source", "postfix"), *args, f"127.0.0.1:{server.port}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=100, check=False)


def check_message(stored: bytes, length: int) -> None:
    trace, message = split_trace(stored)
    assert trace["Return-Path"] == "<a@test.com>"
    assert trace["Delivered-To"] == "b@test.com"
    # smtp-source greets with HELO: plain SMTP (RFC 3848).
    assert " with SMTP id " in trace["Received"]
    headers, _, body = message.partition(b"\n\n")
    assert b"From: <a@test.com>" in headers and b"To: <b@test.com>" in headers
    # smtp-source writes `length` octets of body: lines of a digit and "X"s, CRLF-ended
    # on the wire (its last line's CRLF not counted).
    assert set(body) <= set(b"0123456789X\n")
    assert len(body.replace(b"\n", b"\r\n")) in (length, length + 2), len(body)


def test_smtp_source_500_messages_in_20_sessions(start_server: StartServer) -> None:
    server = start_server()
    started = time.monotonic()
    result = smtp_source(
        server, "-s", "20", "-m", "500", "-l", "1024", "-f", "a@test.com", "-t", "b@test.com"
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    stored = mbox_messages(server.store, "b@test.com")
    assert len(stored) == 500
    for message in stored:
        check_message(message, 1024)
    assert settled_journals(server.store) == []
    print(f"\nsmtp-source: 500 messages of 1 KiB, 20 sessions, fsync: {elapsed:.2f}s")


@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_smtp_source_several_messages_per_session(start_server: StartServer, fmt: str) -> None:
    server = start_server("--format", fmt)
    result = smtp_source(
        server,
        "-d",
        "-c",
        "-s", "4",
        "-m", "100",
        "-l", "4000",
        "-f", "a@test.com",
        "-t", "b@test.com",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # -c counts each completed DATA on stdout.
    assert result.stdout.split()[-1:] == ["100"], result.stdout
    stored = (
        mbox_messages(server.store, "b@test.com")
        if fmt == "mbox"
        else maildir_messages(server.store, "b@test.com")
    )
    assert len(stored) == 100
    for message in stored:
        check_message(message, 4000)
    # -d keeps each session open for several messages: 4 connections, not 100.
    assert server.log_text().count(" closed after ") <= 4 + 1


def test_smtp_source_several_recipients(start_server: StartServer) -> None:
    server = start_server()
    result = smtp_source(server, "-r", "3", "-m", "10", "-f", "a@test.com", "-t", "b@test.com")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in server.store.glob("*.mbox"))
    assert names == ["2b@test.com.mbox", "3b@test.com.mbox", "b@test.com.mbox"]
    for name in names:
        assert len(mbox_messages(server.store, name.removesuffix(".mbox"))) == 10
