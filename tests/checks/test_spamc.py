"""The SPAMC/SPAMD protocol, pure: the request's bytes, and replies (REPORT's table,
SYMBOLS' list, refusals, broken replies) parsed into results, a table of bytes in and
result (or error) out."""

from __future__ import annotations

import pytest

from postier.checks.spamc import Rule, SpamdError, SpamResult, parse_reply, request

REPORT = (
    'Spam detection software, running on the system "vm",\n'
    "has identified this incoming email as possible spam.\n\n"
    "Content analysis details:   (7.3 points, 5.0 required)\n\n"
    " pts rule name              description\n"
    "---- ---------------------- --------------------------------------------------\n"
    "-0.0 NO_RECEIVED            Informational: message has no Received headers\n"
    " 2.7 MISSING_DATE           Missing Date: header\n"
    " 3.8 LONG_RULE              A description that spamd wraps onto\n"
    "                            a second line\n"
    " 0.8 DRUGS_ERECTILE         Refers to an erectile drug\n"
    "\n"
)


def reply(body: str, spam: str = "True ; 7.3 / 5.0", status: str = "0 EX_OK") -> bytes:
    data = body.encode()
    head = f"SPAMD/1.1 {status}\r\nContent-length: {len(data)}\r\nSpam: {spam}\r\n\r\n"
    return head.encode() + data


CASES: list[tuple[bytes, SpamResult]] = [
    (
        reply(REPORT),
        SpamResult(True, 7.3, 5.0, (
            Rule("NO_RECEIVED", -0.0, "Informational: message has no Received headers"),
            Rule("MISSING_DATE", 2.7, "Missing Date: header"),
            Rule("LONG_RULE", 3.8, "A description that spamd wraps onto a second line"),
            Rule("DRUGS_ERECTILE", 0.8, "Refers to an erectile drug"),
        )),
    ),
    (
        reply("MISSING_DATE,NO_RELAYS", spam="False ; 2.7 / 5.0"),
        SpamResult(False, 2.7, 5.0, (Rule("MISSING_DATE", 0, ""), Rule("NO_RELAYS", 0, ""))),
    ),
    (reply("", spam="Yes ; -1.5 / 5.0"), SpamResult(True, -1.5, 5.0, ())),
    (b"SPAMD/1.1 0 EX_OK\r\nSpam: False ; 0.0 / 5.0\r\n\r\n", SpamResult(False, 0.0, 5.0, ())),
]  # fmt: skip


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_replies(data: bytes, expected: SpamResult) -> None:
    assert parse_reply(data) == expected


BROKEN: list[tuple[bytes, str]] = [
    (b"", "not a spamd reply"),
    (b"HTTP/1.1 200 OK\r\n\r\n", "not a spamd reply"),
    (reply("", status="76 EX_PROTOCOL Bad header line"), "spamd refused: 76 EX_PROTOCOL"),
    (b"SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n", "no Spam header"),
    (reply("", spam="maybe"), "unreadable Spam header"),
    (b"SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 / 5\r\nContent-length: 9\r\n\r\nbad", "length"),
    (b"SPAMD/1.1 0 EX_OK\r\nno colon\r\n\r\n", "not a header line"),
    (b"SPAMD/1.1 0 EX_OK\r\n" + b"x" * (1 << 20), "over"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "error"), BROKEN)
def test_broken_replies(data: bytes, error: str) -> None:
    with pytest.raises(SpamdError, match=error):
        parse_reply(data)


def test_the_request() -> None:
    assert request(b"Subject: x\r\n\r\nhi\r\n") == (
        b"REPORT SPAMC/1.5\r\nContent-length: 18\r\n\r\nSubject: x\r\n\r\nhi\r\n"
    )
    assert request(b"", "SYMBOLS", user="u").startswith(
        b"SYMBOLS SPAMC/1.5\r\nContent-length: 0\r\nUser: u\r\n\r\n"
    )


def test_a_reply_split_anywhere_only_parses_whole() -> None:
    data = reply(REPORT)
    for cut in range(1, len(data)):
        try:
            parse_reply(data[:cut])
        except SpamdError:
            continue
        # A cut that still parses must be one the Content-length cannot tell (none).
        pytest.fail(f"a reply cut at {cut} of {len(data)} bytes parsed")
