"""The trace headers: exact text, IPv6, authentication, TLS, and no header injection."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postier.store.trace import MAX_LINE, trace_headers
from tests.store.helpers import envelope


def test_exact_block() -> None:
    assert trace_headers(envelope(), "Destinataire@exemple.fr") == (
        b"Return-Path: <expediteur@exemple.fr>\n"
        b"Delivered-To: Destinataire@exemple.fr\n"
        b"Received: from client.exemple.fr (unknown [192.0.2.7])\n"
        b"\tby mx.exemple.fr (postier) with ESMTP id Q1\n"
        b"\tfor <Destinataire@exemple.fr>; Fri, 27 Nov 2026 02:23:09 +0000\n"
    )


def test_null_sender_ipv6_auth_and_tls() -> None:
    block = trace_headers(
        envelope(
            sender="",
            peer_ip="::1",
            protocol="ESMTPSA",
            auth_user="alice",
            tls_info="TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
        ),
        "b@x",
    )
    assert block == (
        b"Return-Path: <>\n"
        b"Delivered-To: b@x\n"
        b"Received: from client.exemple.fr (unknown [IPv6:::1])\n"
        b"\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\n"
        b"\t(Authenticated sender: alice)\n"
        b"\tby mx.exemple.fr (postier) with ESMTPSA id Q1\n"
        b"\tfor <b@x>; Fri, 27 Nov 2026 02:23:09 +0000\n"
    )


def test_unicode_values_are_utf8() -> None:
    block = trace_headers(envelope(sender="élodie@exämple.fr"), "ü@exämple.de")
    assert "Return-Path: <élodie@exämple.fr>".encode() in block
    assert "for <ü@exämple.de>;".encode() in block


INJECTIONS = [
    {"helo": "evil\r\nX-Injected: 1"},
    {"helo": "evil\nX-Injected: 1"},
    {"helo": "evil\rX-Injected: 1"},
    {"auth_user": "u\r\nX-Injected: 1"},
    {"auth_user": "u) by fake (x"},
    {"tls_info": "t\nX-Injected: 1"},
    {"sender": "a@b>\r\nX-Injected: 1"},
    {"server_name": "mx\x00\nX-Injected: 1"},
    {"queue_id": "Q\u2028X-Injected: 1"},
    {"protocol": "ESMTP\x85X-Injected: 1"},
    {"peer_ip": "1.2.3.4]\nX-Injected: 1"},
]


@pytest.mark.parametrize("fields", INJECTIONS)
def test_no_value_starts_a_header(fields: dict[str, str]) -> None:
    block = trace_headers(envelope(**fields), "r@x")
    parsed = message_from_bytes(block + b"\nbody\n", policy=default)
    assert parsed.keys() == ["Return-Path", "Delivered-To", "Received"]
    assert b"\r" not in block
    assert b"\nX-Injected" not in block
    assert all(line.startswith(b"\t") for line in block.split(b"\n")[3:] if line)


def test_recipient_cannot_inject() -> None:
    block = trace_headers(envelope(), "r@x\r\nX-Injected: 1")
    assert b"\nX-Injected" not in block
    assert b"Delivered-To: r@x??X-Injected: 1\n" in block


def test_unbalanced_parentheses_cannot_end_the_comment() -> None:
    block = trace_headers(envelope(auth_user="u) by fake (x"), "r@x")
    assert b"(Authenticated sender: u? by fake ?x)\n" in block


def test_helo_with_spaces_stays_one_word() -> None:
    block = trace_headers(envelope(helo="a by fake.host"), "r@x")
    assert b"from a?by?fake.host (unknown" in block


def test_empty_helo() -> None:
    assert b"from unknown (unknown [192.0.2.7])" in trace_headers(envelope(helo=""), "r@x")


def test_long_values_are_folded() -> None:
    words = " ".join(["TLSv1.3", "with", "cipher", "TLS_AES_256_GCM_SHA384"] * 6)
    block = trace_headers(envelope(tls_info=words), "r@x")
    assert all(len(line) <= MAX_LINE for line in block.decode().split("\n"))


@given(st.text(max_size=60), st.text(max_size=60), st.text(max_size=60))
def test_any_values_give_exactly_three_headers(helo: str, user: str, rcpt: str) -> None:
    block = trace_headers(envelope(helo=helo, auth_user=user, tls_info=user), rcpt)
    lines = block.decode().split("\n")
    assert lines[-1] == ""
    starts = [line.split(":")[0] for line in lines[:-1] if not line.startswith("\t")]
    assert starts == ["Return-Path", "Delivered-To", "Received"]
