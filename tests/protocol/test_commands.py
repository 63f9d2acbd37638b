"""Understanding command lines and addresses: bytes in, a command or the exact refusal out."""

from __future__ import annotations

import pytest

from postier.protocol.smtp.address import (
    AddressError,
    ParsedPath,
    is_domain,
    split_path,
    validate_mailbox,
)
from postier.protocol.smtp.commands import (
    Auth,
    Bdat,
    Command,
    Data,
    Ehlo,
    Helo,
    Help,
    Mail,
    Noop,
    Quit,
    Rcpt,
    Rset,
    StartTls,
    Vrfy,
    parse_command,
    verb_of,
)
from postier.protocol.smtp.errors import ProtocolError, RemoteProtocolError
from tests.protocol import wire

PARSED: list[tuple[bytes, Command]] = [
    (b"EHLO client.test", Ehlo("client.test")),
    (b"ehlo client.test", Ehlo("client.test")),
    (b"EHLO  client.test ", Ehlo("client.test")),
    (b"EHLO [IPv6:2001:db8::1]", Ehlo("[IPv6:2001:db8::1]")),
    (b"EHLO my_host", Ehlo("my_host")),
    (b"HELO client.test", Helo("client.test")),
    (b"MAIL FROM:<a@b.test>", Mail("a@b.test")),
    (b"mail from:<a@b.test>", Mail("a@b.test")),
    (b"Mail From:<A@B.Test>", Mail("A@B.Test")),
    (b"MAIL FROM:<>", Mail("")),
    (b"MAIL FROM:<> SIZE=0", Mail("", 0)),
    (
        b"MAIL FROM:<a@b.test> SIZE=1000 BODY=8BITMIME SMTPUTF8",
        Mail("a@b.test", 1000, "8BITMIME", True),
    ),
    (b"MAIL FROM:<a@b.test> body=7bit size=5", Mail("a@b.test", 5, "7BIT")),
    (b"MAIL FROM:<a@b.test>  SIZE=5  ", Mail("a@b.test", 5)),
    ("MAIL FROM:<ü@exämple.test> SMTPUTF8".encode(), Mail("ü@exämple.test", smtputf8=True)),
    (b'MAIL FROM:<"a b>c"@b.test>', Mail('"a b>c"@b.test')),
    (b"MAIL FROM:<@r1.test,@r2.test:a@b.test>", Mail("a@b.test")),
    (b"MAIL FROM: <a@b.test>", Mail("a@b.test")),
    (b"MAIL FROM:a@b.test SIZE=3", Mail("a@b.test", 3)),
    (b"RCPT TO:<c@d.test>", Rcpt("c@d.test")),
    (b"rcpt to:<c@d.test>", Rcpt("c@d.test")),
    (b"RCPT TO:<postmaster>", Rcpt("postmaster")),
    (b"RCPT TO:<PostMaster>", Rcpt("PostMaster")),
    (b"RCPT TO:<postmaster@d.test>", Rcpt("postmaster@d.test")),
    (b"RCPT TO:<c@[192.0.2.1]>", Rcpt("c@[192.0.2.1]")),
    (b"DATA", Data()),
    (b"data", Data()),
    (b"RSET", Rset()),
    (b"NOOP", Noop()),
    (b"NOOP whatever you like", Noop()),
    (b"VRFY someone", Vrfy("someone")),
    (b"HELP", Help("")),
    (b"HELP MAIL", Help("MAIL")),
    (b"QUIT", Quit()),
    (b"STARTTLS", StartTls()),
    (b"StartTLS", StartTls()),
    (b"AUTH PLAIN", Auth("PLAIN")),
    (b"auth plain AGFsaWNlAHNlY3JldA==", Auth("PLAIN", "AGFsaWNlAHNlY3JldA==")),
    (b"AUTH LOGIN =", Auth("LOGIN", "=")),
    (b"AUTH CRAM-MD5", Auth("CRAM-MD5")),
    (b"AUTH X_Y-Z", Auth("X_Y-Z")),
    (b"BDAT 0", Bdat(0)),
    (b"BDAT 100 LAST", Bdat(100, last=True)),
    (b"bdat 7 last", Bdat(7, last=True)),
    (b"BDAT " + b"9" * 20, Bdat(int("9" * 20))),
    (b"MAIL FROM:<a@b.test> BODY=BINARYMIME", Mail("a@b.test", body="BINARYMIME")),
    (b"MAIL FROM:<a@b.test> AUTH=<>", Mail("a@b.test")),
    (b"MAIL FROM:<a@b.test> AUTH=e+2Bf@g.test", Mail("a@b.test")),
]


@pytest.mark.parametrize(("line", "command"), PARSED, ids=[repr(p[0])[2:-1] for p in PARSED])
def test_parse(line: bytes, command: Command) -> None:
    assert parse_command(line) == command


_BODY_VALUES = "BODY takes 7BIT, 8BITMIME or BINARYMIME"

REFUSED: list[tuple[bytes, bytes]] = [
    (b"", wire.UNRECOGNIZED),
    (b"FOO", wire.UNRECOGNIZED),
    (b"NOOP\tx", wire.UNRECOGNIZED),
    (b"MAILFROM:<a@b.test>", wire.UNRECOGNIZED),
    (b"\xc3\xa9HLO x", wire.UNRECOGNIZED),
    (b"NOOP\x00", wire.BAD_CHARACTERS),
    (b"HELO \xff", wire.BAD_CHARACTERS),
    (b"HELO a\x7fb", wire.BAD_CHARACTERS),
    (b"HELO a\rb", wire.BAD_CHARACTERS),
    (b"EXPN list", wire.not_implemented("EXPN")),
    (b"turn", wire.not_implemented("TURN")),
    (b"ATRN", wire.not_implemented("ATRN")),
    (b"SOML FROM:<a@b.test>", wire.not_implemented("SOML")),
    (b"SAML FROM:<a@b.test>", wire.not_implemented("SAML")),
    (b"EHLO", wire.syntax("EHLO hostname")),
    (b"HELO ", wire.syntax("HELO hostname")),
    (b"DATA x", wire.syntax("DATA")),
    (b"RSET x", wire.syntax("RSET")),
    (b"QUIT x", wire.syntax("QUIT")),
    (b"STARTTLS x", wire.syntax("STARTTLS")),
    (b"VRFY", wire.syntax("VRFY address")),
    (b"MAIL TO:<a@b.test>", wire.syntax("MAIL FROM:<address>")),
    (b"MAIL FROM:   ", wire.syntax("MAIL FROM:<address>")),
    (b"RCPT FROM:<a@b.test>", wire.syntax("RCPT TO:<address>")),
    (b"MAIL FROM:<a@b.test", wire.bad_sender("missing closing '>'")),
    (b"MAIL FROM:<a b@c.test>", wire.bad_sender("missing closing '>'")),
    (b"MAIL FROM:a>@b.test", wire.bad_sender("expected <address>")),
    (b"MAIL FROM:<a@>", wire.bad_sender("not a valid address")),
    (b"MAIL FROM:<.a@b.test>", wire.bad_sender("not a valid address")),
    (b"MAIL FROM:<a..b@c.test>", wire.bad_sender("not a valid address")),
    (b"MAIL FROM:<a@-b.test>", wire.bad_sender("not a valid address")),
    (b"MAIL FROM:<a@[300.1.1.1]>", wire.bad_sender("bad address literal")),
    (b"MAIL FROM:<a@[IPv6:zz::1]>", wire.bad_sender("bad address literal")),
    (b"MAIL FROM:<postmaster>", wire.bad_sender("not a valid address")),
    (b"MAIL FROM:<a@b.test> SIZE=-1", wire.bad_parameter("SIZE takes a number of octets")),
    (b"MAIL FROM:<a@b.test> SIZE", wire.bad_parameter("SIZE takes a number of octets")),
    (
        b"MAIL FROM:<a@b.test> SIZE=" + b"9" * 21,
        wire.bad_parameter("SIZE takes a number of octets"),
    ),
    ("MAIL FROM:<a@b.test> SIZE=١٢".encode(), wire.bad_parameter("SIZE takes a number of octets")),
    (b"MAIL FROM:<a@b.test> BODY=8BIT", wire.bad_parameter(_BODY_VALUES)),
    (b"MAIL FROM:<a@b.test> BODY", wire.bad_parameter(_BODY_VALUES)),
    (b"MAIL FROM:<a@b.test> SMTPUTF8=1", wire.bad_parameter("SMTPUTF8 takes no value")),
    (b"MAIL FROM:<a@b.test> SIZE=1 SIZE=1", wire.bad_parameter("duplicate parameter SIZE")),
    (b"MAIL FROM:<a@b.test> X=a=b", wire.bad_parameter("bad parameter syntax 'X=a=b'")),
    (b"MAIL FROM:<a@b.test> -X", wire.bad_parameter("bad parameter syntax '-X'")),
    (b"MAIL FROM:<a@b.test> RET=FULL", wire.unsupported_parameter("RET")),
    (b"MAIL FROM:<a@b.test> envid=x", wire.unsupported_parameter("ENVID")),
    ("MAIL FROM:<ü@b.test>".encode(), wire.NEEDS_SMTPUTF8),
    (b"RCPT TO:<>", wire.bad_recipient("not a valid address")),
    (b"RCPT TO:<c>", wire.bad_recipient("not a valid address")),
    (b"RCPT TO:<c@d.test> ORCPT=rfc822;c@d.test", wire.unsupported_parameter("ORCPT")),
    (b"MAIL FROM:<a@b.test> AUTH", wire.bad_parameter("AUTH takes an xtext mailbox")),
    (b"MAIL FROM:<a@b.test> AUTH=a+zz", wire.bad_parameter("AUTH takes an xtext mailbox")),
    (b"AUTH", wire.syntax("AUTH mechanism [initial-response]")),
    (b"AUTH PLAIN a b", wire.syntax("AUTH mechanism [initial-response]")),
    (b"AUTH " + b"X" * 21, wire.syntax("AUTH mechanism [initial-response]")),
    (b"AUTH PL.AIN", wire.syntax("AUTH mechanism [initial-response]")),
    (b"AUTH PLAIN ab!c", wire.CANNOT_DECODE),
    (b"AUTH PLAIN a===", wire.CANNOT_DECODE),
    (b"BDAT", wire.syntax("BDAT size [LAST]")),
    (b"BDAT x", wire.syntax("BDAT size [LAST]")),
    (b"BDAT -1", wire.syntax("BDAT size [LAST]")),
    (b"BDAT 10 FIRST", wire.syntax("BDAT size [LAST]")),
    (b"BDAT 10 LAST x", wire.syntax("BDAT size [LAST]")),
    (b"BDAT " + b"9" * 21, wire.syntax("BDAT size [LAST]")),
]


@pytest.mark.parametrize(("line", "reply"), REFUSED, ids=[repr(r[0])[2:-1] for r in REFUSED])
def test_refused(line: bytes, reply: bytes) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_command(line)
    assert info.value.reply.to_bytes() == reply
    assert isinstance(info.value, ProtocolError)
    assert str(info.value) == info.value.reply.text


@pytest.mark.parametrize(
    ("line", "verb"),
    [
        (b"EHLO x", "EHLO"),
        (b"ehlo", "EHLO"),
        (b"mAiL FROM:<a@b.test>", "MAIL"),
        (b"", ""),
        (b"NOOP\tx", ""),
        (b"N00P", ""),
        (b"\xc3\xa9", ""),
        (b"A" * 16, "A" * 16),
        (b"A" * 17, ""),
    ],
)
def test_verb_of(line: bytes, verb: str) -> None:
    assert verb_of(line) == verb


# --- addresses (RFC 5321 §4.1.2, RFC 6531 §3.3) -------------------------------------------

PATHS = [
    ("<a@b.test>", ParsedPath("a@b.test", "")),
    ("<a@b.test> SIZE=1 BODY=7BIT", ParsedPath("a@b.test", "SIZE=1 BODY=7BIT")),
    ("  <a@b.test>  ", ParsedPath("a@b.test", "")),
    ("<>", ParsedPath("", "")),
    ('<"x>y"@b.test> P', ParsedPath('"x>y"@b.test', "P")),
    ('<"x\\"> y"@b.test>', ParsedPath('"x\\"> y"@b.test', "")),
    ("a@b.test SIZE=1", ParsedPath("a@b.test", "SIZE=1")),
]


@pytest.mark.parametrize(("argument", "path"), PATHS)
def test_split_path(argument: str, path: ParsedPath) -> None:
    assert split_path(argument) == path


@pytest.mark.parametrize(
    "argument", ["", "   ", "<a@b.test", "<a @b.test>", "a>@b.test", '<"a@b.test>']
)
def test_split_path_refuses(argument: str) -> None:
    with pytest.raises(AddressError):
        split_path(argument)


LOCAL_64 = "l" * 64
DOMAIN_253 = ".".join(["d" * 63] * 3 + ["d" * 61])
VALID = [
    ("a@b.test", "a@b.test"),
    ("first.last+tag@sub.b-c.test", "first.last+tag@sub.b-c.test"),
    ("!#$%&'*+-/=?^_`{|}~@b.test", "!#$%&'*+-/=?^_`{|}~@b.test"),
    ('"quoted local"@b.test', '"quoted local"@b.test'),
    ('"esc\\"aped"@b.test', '"esc\\"aped"@b.test'),
    ("a@[192.0.2.1]", "a@[192.0.2.1]"),
    ("a@[IPv6:2001:db8::1]", "a@[IPv6:2001:db8::1]"),
    ("a@[x-tag:anything]", "a@[x-tag:anything]"),
    ("a@[-tag:x]", "a@[-tag:x]"),  # Standardized-tag = Ldh-str, which may start with "-"
    ("a@localhost", "a@localhost"),
    ("@r.test:a@b.test", "a@b.test"),
    ("@r1.test,@r2.test:a@b.test", "a@b.test"),
    ("ü@exämple.test", "ü@exämple.test"),
    ("用户@例子.广告", "用户@例子.广告"),
    (f"{LOCAL_64}@b.test", f"{LOCAL_64}@b.test"),
    (f"a@{'d' * 63}.test", f"a@{'d' * 63}.test"),
]


@pytest.mark.parametrize(("address", "mailbox"), VALID)
def test_valid_mailbox(address: str, mailbox: str) -> None:
    assert validate_mailbox(address) == mailbox


INVALID = [
    ("", "not a valid address"),
    ("a", "not a valid address"),
    ("postmaster", "not a valid address"),
    ("a@", "not a valid address"),
    ("@b.test", "not a valid address"),
    ("a@b@c.test", "not a valid address"),
    (".a@b.test", "not a valid address"),
    ("a.@b.test", "not a valid address"),
    ("a..b@c.test", "not a valid address"),
    ("a b@c.test", "not a valid address"),
    ("a@b..test", "not a valid address"),
    ("a@-b.test", "not a valid address"),
    ("a@b-.test", "not a valid address"),
    ("a@b_c.test", "not a valid address"),
    ('"unterminated@b.test', "not a valid address"),
    ("a\x00@b.test", "not a valid address"),
    ("a\r\n@b.test", "not a valid address"),
    ("0@\ud800", "not a valid address"),  # no UTF-8 form: an undecodable byte of argv
    ("\udcff@b.test", "not a valid address"),
    ("a@[192.0.2.256]", "bad address literal"),
    ("a@[IPv6:1::2::3]", "bad address literal"),
    ("a@[:x]", "bad address literal"),
    ("a@[ta_g:x]", "bad address literal"),
    (f"l{LOCAL_64}@b.test", "local part longer than 64 octets"),
    ("é" * 33 + "@b.test", "local part longer than 64 octets"),
    (f"a@{DOMAIN_253}.xyz", "domain longer than 255 octets"),
    (f"{LOCAL_64}@{DOMAIN_253}", "path longer than 256 octets"),
]


@pytest.mark.parametrize(("address", "why"), INVALID)
def test_invalid_mailbox(address: str, why: str) -> None:
    with pytest.raises(AddressError, match=f"^{why}$"):
        validate_mailbox(address)


@pytest.mark.parametrize(
    "address", ["postmaster", "Postmaster", "POSTMASTER", "@r.test:postmaster"]
)
def test_postmaster_without_domain_only_where_allowed(address: str) -> None:
    assert validate_mailbox(address, allow_postmaster=True).lower() == "postmaster"
    with pytest.raises(AddressError):
        validate_mailbox(address)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("client.test", True),
        ("localhost", True),
        ("a-b.c", True),
        ("-a", False),
        ("a..b", False),
        ("", False),
    ],
)
def test_is_domain(text: str, expected: bool) -> None:
    assert is_domain(text) is expected
