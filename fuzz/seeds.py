"""The seed corpus: `python3 fuzz/seeds.py` (re)writes `fuzz/corpus/{server,client}/`.

Server seeds are what a client sends; client seeds are what a server answers to
the harness's driver (greeting, EHLO, then STARTTLS, AUTH and transactions as offered).
"""

from __future__ import annotations

from base64 import b64encode
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"

_SESSION = (
    b"EHLO client.example\r\n"
    b"MAIL FROM:<alice@example.org>\r\n"
    b"RCPT TO:<bob@example.net>\r\n"
    b"DATA\r\n"
    b"Subject: hi\r\n\r\nhello\r\n..dot\r\n.\r\n"
    b"QUIT\r\n"
)

SERVER: dict[str, bytes] = {
    "session": _SESSION,
    "session-helo": _SESSION.replace(b"EHLO", b"HELO"),
    # Found by fuzzing: client text quoted back in a reply must keep it within 512 octets.
    "long-echo": b"EHLO "
    + b"h" * 500
    + b"\r\nMAIL FROM:<a@b.c> "
    + b"X" * 1900
    + b"\r\n"
    + b"MAIL FROM:<a@b.c> Y="
    + b"Z" * 1900
    + b"\r\nQUIT\r\n",
    "pipelined": (
        b"EHLO c\r\nMAIL FROM:<a@b.c> SIZE=20 BODY=8BITMIME\r\nRCPT TO:<x@y.z>\r\n"
        b"RCPT TO:<q@y.z>\r\nDATA\r\nbody\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<postmaster>\r\n"
        b"DATA\r\n.\r\nRSET\r\nNOOP\r\nVRFY bob\r\nHELP\r\nQUIT\r\n"
    ),
    "bare-lf": b"EHLO c\nMAIL FROM:<a@b.c>\nRCPT TO:<x@y.z>\nDATA\nbody\n.\nmore\r\n.\r\nQUIT\n",
    "smuggling": (
        b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nbody\n.\n"
        b"MAIL FROM:<evil@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nspoof\r\n.\r\n"
        b"\r.\r\n.\r\r\n\r\n.\r\n"
    ),
    "starttls": b"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<injected@b.c>\r\nEHLO c\r\nSTARTTLS\r\nQUIT\r\n",
    "starttls-inline": b"EHLO c\r\nSTARTTLS\r\nEHLO d\r\nMAIL FROM:<a@b.c>\r\nQUIT\r\n",
    "long-command": b"EHLO " + b"c" * 600 + b"\r\nNOOP " + b"x" * 3000 + b"\r\nQUIT\r\n",
    "long-mail": b"EHLO c\r\nMAIL FROM:<" + b"a" * 70 + b"@" + b"b" * 300 + b".c>\r\n",
    "long-data-line": (
        b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\n" + b"y" * 1200 + b"\r\n.\r\n"
    ),
    "too-big": b"EHLO c\r\nMAIL FROM:<a@b.c> SIZE=99999999999\r\nMAIL FROM:<a@b.c>\r\n"
    b"RCPT TO:<x@y.z>\r\nDATA\r\n" + b"0123456789abcdef\r\n" * 300 + b".\r\n",
    "recipients": b"EHLO c\r\nMAIL FROM:<a@b.c>\r\n"
    + b"".join(b"RCPT TO:<r%d@y.z>\r\n" % i for i in range(6))
    + b"DATA\r\n.\r\n",
    "utf8": "EHLO c\r\nMAIL FROM:<jörg@b.c> SMTPUTF8\r\nRCPT TO:<ü@y.z>\r\n"
    "DATA\r\nSubject: é\r\n\r\n.\r\n".encode()
    + b"MAIL FROM:<a@b.c>\r\nRCPT TO:<\xc3\xbc@y.z>\r\nRCPT TO:<\xff@y.z>\r\n",
    "errors": b"".join(b"BOGUS %d\r\n" % i for i in range(25)),
    "sequence": b"DATA\r\nRCPT TO:<x@y.z>\r\nMAIL FROM:<a@b.c>\r\nEHLO c\r\nDATA\r\n"
    b"RCPT TO:<x@y.z>\r\nMAIL FROM:<a@b.c>\r\nMAIL FROM:<a@b.c>\r\nSTARTTLS\r\nQUIT\r\n",
    "garbage": b"\x00\xff\r\n\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03GET / HTTP/1.1\r\n\r\n",
    "empty-lines": b"\r\n\n\r\r\n \r\nehlo c\r\nmail from: <a@b.c>\r\nrcpt to:<x@y.z>\r\n",
    "quit-early": b"QUIT\r\nEHLO c\r\n",
}


def _b64(text: bytes) -> bytes:
    return b64encode(text)


# The harness accepts a username of even length and rejects the others.
_PLAIN_OK = _b64(b"\x00al\x00secret")
_PLAIN_BAD = _b64(b"\x00bob\x00secret")
_ENVELOPE = b"MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\n"
_AUTHED = b"EHLO c\r\nAUTH PLAIN " + _PLAIN_OK + b"\r\n"

SERVER_AUTH: dict[str, bytes] = {
    "auth-plain-initial": _AUTHED + _ENVELOPE + b"DATA\r\nhi\r\n.\r\nQUIT\r\n",
    "auth-plain-challenge": b"EHLO c\r\nAUTH PLAIN\r\n"
    + _PLAIN_BAD
    + b"\r\nAUTH plain\r\n"
    + _PLAIN_OK
    + b"\r\n"
    + _ENVELOPE
    + b"BDAT 4 LAST\r\nabcd",
    "auth-plain-authzid": b"EHLO c\r\nAUTH PLAIN " + _b64(b"al\x00al\x00pw") + b"\r\n"
    b"AUTH PLAIN " + _b64(b"x\x00al\x00pw") + b"\r\nAUTH PLAIN " + _b64(b"\x00al") + b"\r\n"
    b"AUTH PLAIN =\r\nAUTH PLAIN " + _b64(b"\x00\xff\x00pw") + b"\r\n",
    "auth-login": b"EHLO c\r\nAUTH LOGIN =\r\nAUTH LOGIN\r\n"
    + _b64(b"bob")
    + b"\r\n"
    + _b64(b"pw")
    + b"\r\n"
    b"AUTH LOGIN "
    + _b64(b"alice1")
    + b"\r\n"
    + _b64(b"pw")
    + b"\r\n"
    + _ENVELOPE
    + b"DATA\r\n.\r\n",
    "auth-cram-md5": b"EHLO c\r\nAUTH CRAM-MD5\r\n"
    + _b64(b"al " + b"0123456789abcdef" * 2)
    + b"\r\nAUTH CRAM-MD5 =\r\nAUTH CRAM-MD5\r\n"
    + _b64(b"al nothex")
    + b"\r\n",
    "auth-cancel": b"EHLO c\r\nAUTH LOGIN\r\n*\r\nAUTH LOGIN\r\n" + _b64(b"al") + b"\r\n*\r\n"
    b"AUTH PLAIN\r\n*\r\nAUTH CRAM-MD5\r\n*\r\nNOOP\r\n",
    "auth-bad-base64": b"EHLO c\r\nAUTH PLAIN not!base64\r\nAUTH PLAIN\r\n====\r\n"
    b"AUTH LOGIN\r\n\xff\xfe\r\nAUTH LOGIN\r\n" + b"QUJD" * 600 + b"\r\nAUTH PLAIN YQ\r\n",
    "auth-twice": _AUTHED
    + b"AUTH PLAIN "
    + _PLAIN_OK
    + b"\r\nAUTH LOGIN\r\nEHLO d\r\n"
    + _ENVELOPE
    + b"DATA\r\n.\r\nQUIT\r\n",
    "auth-in-transaction": _AUTHED + _ENVELOPE + b"AUTH PLAIN " + _PLAIN_OK + b"\r\n"
    b"BDAT 2\r\nxyAUTH LOGIN\r\nBDAT 0 LAST\r\n",
    "auth-before-ehlo": b"AUTH PLAIN "
    + _PLAIN_OK
    + b"\r\nHELO c\r\nAUTH PLAIN "
    + _PLAIN_OK
    + b"\r\nAUTH\r\nAUTH X-UNKNOWN\r\nAUTH PLAIN a b\r\n"
    + _ENVELOPE,
    "auth-failures": b"EHLO c\r\n" + (b"AUTH PLAIN " + _PLAIN_BAD + b"\r\n") * 4 + b"NOOP\r\n",
    "auth-then-starttls": _AUTHED
    + b"STARTTLS\r\nEHLO c\r\n"
    + _ENVELOPE
    + b"AUTH LOGIN "
    + _b64(b"al")
    + b"\r\n"
    + _b64(b"pw")
    + b"\r\n"
    + _ENVELOPE
    + b"DATA\r\n.\r\n",
}

_BDAT = b"EHLO c\r\n" + _ENVELOPE
_BINARY = bytes(range(256)) + b"\r\n.\r\nQUIT\r\nMAIL FROM:<evil@b.c>\r\n"

SERVER_BDAT: dict[str, bytes] = {
    "bdat-one": _BDAT + b"BDAT 12 LAST\r\nSubject: x\r\nRSET\r\n",
    "bdat-several": _BDAT + b"BDAT 5\r\nhello\r\nBDAT 3\r\n wo\r\nbdat 0\r\n"
    b"NOOP\r\nBDAT 4 last\r\nrld\n" + _ENVELOPE + b"BDAT 1\r\nx",
    "bdat-pipelined-binary": _BDAT
    + b"BDAT %d\r\n" % len(_BINARY)
    + _BINARY
    + b"BDAT %d LAST\r\n" % len(_BINARY)
    + _BINARY
    + _ENVELOPE
    + b"MAIL FROM:<a@b.c> BODY=BINARYMIME\r\nRCPT TO:<x@y.z>\r\nBDAT 7 LAST\r\n\x00\r\n.\r\n\n",
    "bdat-zero-last": _BDAT + b"BDAT 0 LAST\r\n" + _ENVELOPE + b"BDAT 000 LAST\r\nQUIT\r\n",
    "bdat-refused": b"EHLO c\r\nBDAT 22\r\nQUIT\r\nMAIL FROM:<a@b.c>\r\n"
    b"MAIL FROM:<a@b.c>\r\nBDAT 14 LAST\r\nRCPT TO:<x@y>\r\n" + b"RCPT TO:<x@y.z>\r\n"
    b"BDAT 6 FIRST\r\nDATA\r\nBDAT 0 X\r\nBDAT 8 LAST\r\nQUIT\r\n\r\n",
    "bdat-unreadable": _BDAT + b"BDAT 3\r\nabcBDAT x LAST\r\nQUIT\r\n",
    "bdat-unreadable-2": b"EHLO c\r\nBDAT\r\n",
    "bdat-huge-size": _BDAT + b"BDAT 99999999999999999999\r\n" + b"z" * 100,
    "binarymime-data": b"EHLO c\r\nMAIL FROM:<a@b.c> BODY=BINARYMIME\r\nRCPT TO:<x@y.z>\r\n"
    b"DATA\r\nhello\r\n.\r\nBDAT 5 LAST\r\nhello",
    "bdat-too-big": _BDAT
    + b"BDAT 2100\r\n"
    + b"a" * 2100
    + b"BDAT 2100 LAST\r\n"
    + b"b" * 2100
    + _ENVELOPE
    + b"BDAT 4200 LAST\r\n"
    + b"\r\n.\r\n" * 840
    + b"NOOP\r\n",
    "data-after-bdat": _BDAT + b"BDAT 3\r\nabcDATA\r\nRCPT TO:<q@y.z>\r\nMAIL FROM:<a@b.c>\r\n"
    b"STARTTLS\r\nBDAT 1 LAST\r\nd" + _ENVELOPE + b"DATA\r\n.\r\n",
    "help-burst": b"HELP\r\n" * 400 + b"EHLO c\r\n" * 100 + _ENVELOPE + b"BDAT 3 LAST\r\nabc",
}

_GREETING = b"220 mx.example ESMTP ready\r\n"
_EHLO_FULL = (
    b"250-mx.example greets client.fuzz\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n"
    b"250-8BITMIME\r\n250-SMTPUTF8\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n"
    b"250 ENHANCEDSTATUSCODES\r\n"
)
_EHLO_PLAIN = b"250-mx.example\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n"
_OK = b"250 2.0.0 ok\r\n"

CLIENT: dict[str, bytes] = {
    # Plain server: one command at a time (MAIL, RCPT, DATA, data, NOOP, MAIL, RCPT x2 ...).
    "plain": _GREETING
    + _EHLO_PLAIN
    + _OK * 2
    + b"354 go ahead\r\n"
    + _OK * 5
    + b"354 go ahead\r\n"
    + _OK * 2
    + b"221 2.0.0 bye\r\n",
    "pipelined": _GREETING
    + _EHLO_FULL
    + b"235 2.7.0 ok\r\n"
    + _OK * 2
    + b"354 go\r\n"
    + _OK * 2
    + b"550 5.1.1 no\r\n"
    + _OK
    + b"354 go\r\n"
    + _OK * 5
    + b"354 go\r\n"
    + _OK
    + b"221 bye\r\n",
    "starttls": _GREETING
    + b"250-mx\r\n250-STARTTLS\r\n250 PIPELINING\r\n220 2.0.0 Ready to start TLS\r\n"
    + _EHLO_FULL
    + b"334 \r\n235 ok\r\n221 bye\r\n",
    "starttls-injection": _GREETING + b"250-mx\r\n250 STARTTLS\r\n220 go\r\n250 injected\r\n",
    "auth-challenges": _GREETING
    + b"250-mx\r\n250 AUTH LOGIN CRAM-MD5\r\n334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n"
    + b"334 not base64!\r\n535 5.7.8 no\r\n221 bye\r\n",
    # Found by fuzzing: a challenge that is not ASCII must be cancelled with "*".
    "auth-non-ascii-challenge": _GREETING + b"250-mx\r\n250 AUTH LOGIN\r\n334 \xff\r\n",
    "helo-fallback": _GREETING + b"502 5.5.1 no EHLO\r\n250 mx\r\n" + _OK * 2 + b"354 go\r\n",
    "rejected": b"554 5.3.2 go away\r\n221 bye\r\n",
    "shutdown-421": _GREETING + _EHLO_PLAIN + _OK + b"421 4.3.2 shutting down\r\n",
    "unsolicited-421": b"421 mx busy\r\n",
    "data-refused": _GREETING
    + _EHLO_FULL
    + b"235 ok\r\n"
    + _OK
    + b"250 ok\r\n503 5.5.1 no\r\n250 reset\r\n",
    "354-without-recipient": _GREETING
    + _EHLO_FULL
    + b"235 ok\r\n250 ok\r\n550 no\r\n354 go\r\n250 ok\r\n",
    "multiline-mixed": _GREETING
    + b"250-mx\r\n250-SIZE\r\n250-SIZE abc\r\n250-AUTH\r\n250-\r\n250\r\n"
    + b"250-2.1.0 a\r\n250-2.1.0 b\r\n250 2.1.0 c\r\n",
    "codes-mismatch": _GREETING + b"250-mx\r\n251 other code\r\n",
    "wrong-class": _GREETING + _EHLO_PLAIN + b"354 not now\r\n",
    "extra-reply": _GREETING + b"250 mx\r\n250 ok\r\n" + _OK * 10,
    "bare-lf": b"220 mx\n250-mx\n250 PIPELINING\n250 ok\n250 ok\n354 go\n250 ok\n",
    "garbage": b"\x00\xff\r\n220\r\n22 x\r\n999 no\r\nHTTP/1.1 400 Bad\r\n",
    "long-line": _GREETING + b"250 " + b"x" * 5000 + b"\r\n",
    "many-lines": _GREETING + b"250-x\r\n" * 300 + b"250 end\r\n",
    "closed-mid-reply": _GREETING + b"250-mx\r\n250-PIPE",
    "utf8-text": "220 mx ünïcode\r\n250-mx ☃\r\n250 SMTPUTF8\r\n".encode() + b"250 \xff\xfe\r\n",
}


_POP3_LOGIN = b"USER ab\r\nPASS secret\r\n"
POP3: dict[str, bytes] = {
    "session": _POP3_LOGIN
    + b"STAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 1\r\nDELE 1\r\nRSET\r\nDELE 2\r\nQUIT\r\n",
    "pipelined": _POP3_LOGIN + b"RETR 1\r\nRETR 2\r\nRETR 3\r\nLIST 9\r\nNOOP\r\nQUIT\r\n",
    "wrong-state": b"STAT\r\nRETR 1\r\n" + _POP3_LOGIN + b"USER x\r\nPASS y\r\nSTLS\r\nQUIT\r\n",
    "failures": b"USER a\r\nPASS x\r\n" * 4 + b"USER ab\r\nPASS x\r\n",
    "errors": b"HELO\r\nRETR\r\nTOP 1\r\nLIST a\r\n\xff\r\n\r\n" * 2,
    "sasl": b"AUTH\r\nAUTH PLAIN\r\n" + _b64(b"\0ab\0pw") + b"\r\nQUIT\r\n",
    "sasl-login": b"AUTH LOGIN\r\n"
    + _b64(b"abc")
    + b"\r\n*\r\nAUTH LOGIN "
    + _b64(b"ab")
    + b"\r\n"
    + _b64(b"pw")
    + b"\r\nSTAT\r\n",
    "sasl-bad": b"AUTH PLAIN !!!\r\nAUTH CRAM-MD5\r\n" + _b64(b"ab " + b"0" * 32) + b"\r\n",
    "apop": b"APOP ab c4c9334bac560ecc979e58001b3e22fb\r\nUIDL 1\r\nQUIT\r\n",
    "stls": b"STLS\r\nUSER injected\r\nPASS x\r\nCAPA\r\n" + _POP3_LOGIN + b"STLS\r\n",
    "long-line": b"USER " + b"x" * 3000 + b"\r\nNOOP\r\nAUTH PLAIN\r\n" + b"A" * 5000 + b"\r\n",
    "bare-lf": b"USER ab\nPASS x\nLIST\nRETR 1\nQUIT\n",
    "closed-mid-session": _POP3_LOGIN + b"DELE 1\r\nDELE 2\r\nRETR 3",
}


def main() -> None:
    folder = CORPUS / "pop3"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in POP3.items():
        (folder / name).write_bytes(data)
    for role, seeds in (("server", SERVER | SERVER_AUTH | SERVER_BDAT), ("client", CLIENT)):
        folder = CORPUS / role
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (folder / name).write_bytes(data)


if __name__ == "__main__":
    main()
