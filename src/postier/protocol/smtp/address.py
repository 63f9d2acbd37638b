"""Mail addresses in SMTP paths: RFC 5321 §4.1.2 grammar, widened to UTF-8 by RFC 6531 §3.3.

The grammar, quoted from RFC 5321 §4.1.2 (RFC 6531 lets every atext, qtext and
sub-domain character also be any UTF-8 non-ASCII character):

    Reverse-path   = Path / "<>"
    Forward-path   = Path
    Path           = "<" [ A-d-l ":" ] Mailbox ">"
    Mailbox        = Local-part "@" ( Domain / address-literal )
    Local-part     = Dot-string / Quoted-string
    Dot-string     = Atom *("."  Atom)
    Quoted-string  = DQUOTE *QcontentSMTP DQUOTE
    Domain         = sub-domain *("." sub-domain)
    sub-domain     = Let-dig [Ldh-str]
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

# RFC 5321 §4.5.3.1.1-§4.5.3.1.3, in octets.
MAX_LOCAL_PART = 64
MAX_DOMAIN = 255
MAX_PATH = 256

_UTF8 = "\u0080-\U0010ffff"
_ATEXT = rf"[A-Za-z0-9!#$%&'*+\-/=?^_`{{|}}~{_UTF8}]"
_DOT_STRING = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_QUOTED = rf'"(?:[\x20\x21\x23-\x5b\x5d-\x7e{_UTF8}]|\\[\x20-\x7e])*"'
_LET_DIG = rf"[A-Za-z0-9{_UTF8}]"
_SUB_DOMAIN = rf"{_LET_DIG}(?:[A-Za-z0-9\-{_UTF8}]*{_LET_DIG})?"
_DOMAIN = rf"{_SUB_DOMAIN}(?:\.{_SUB_DOMAIN})*"
_LITERAL = r"\[[^\[\]\\\s]+\]"

_MAILBOX = re.compile(rf"(?P<local>{_DOT_STRING}|{_QUOTED})@(?P<domain>{_DOMAIN}|{_LITERAL})")
_DOMAIN_RE = re.compile(_DOMAIN)
# A-d-l = At-domain *( "," At-domain ): a source route, accepted and ignored (RFC 5321 appendix C).
_SOURCE_ROUTE = re.compile(rf"@{_DOMAIN}(?:,@{_DOMAIN})*:")


class AddressError(ValueError):
    """The text is not a valid path; the message says why, safe to show the client."""


@dataclass(frozen=True, slots=True)
class ParsedPath:
    """A path taken out of a MAIL or RCPT argument."""

    address: str
    """The mailbox without angle brackets; "" for the null reverse-path."""
    rest: str
    """What followed the path: the ESMTP parameters."""

    @property
    def is_ascii(self) -> bool:
        return self.address.isascii()


def split_path(argument: str) -> ParsedPath:
    """Take the path off the front of a MAIL FROM / RCPT TO argument.

    Lenient where real clients differ and the meaning is clear: spaces after the
    colon, and a bare address without angle brackets when it holds no space.
    """
    text = argument.lstrip(" ")
    if not text.startswith("<"):
        address, _, rest = text.partition(" ")
        if not address or ">" in address:
            raise AddressError("expected <address>")
        return ParsedPath(address, rest.strip(" "))
    end = _closing_bracket(text)
    return ParsedPath(text[1:end], text[end + 1 :].strip(" "))


def _closing_bracket(text: str) -> int:
    """Index of the `>` closing the path, skipping quoted strings in the local part."""
    quoted = False
    escaped = False
    for i in range(1, len(text)):
        ch = text[i]
        if escaped:
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ">" and not quoted:
            return i
        elif ch == " " and not quoted:
            break
    raise AddressError("missing closing '>'")


def validate_mailbox(address: str, *, allow_postmaster: bool = False) -> str:
    """Check a mailbox against the grammar and the length limits; return it without route.

    `allow_postmaster`: RCPT TO:<Postmaster> without a domain (RFC 5321 §4.1.1.3).
    """
    if not _encodable(address):
        # Text that has no UTF-8 form (a lone surrogate: an undecodable byte of a command
        # line's argument, say) is no address, and must not fail as an encoding error.
        raise AddressError("not a valid address")
    route = _SOURCE_ROUTE.match(address)
    if route:
        # RFC 5321 §4.1.1.3 and appendix C: source routes must be accepted and ignored.
        address = address[route.end() :]
    if allow_postmaster and address.lower() == "postmaster":
        return address
    match = _MAILBOX.fullmatch(address)
    if match is None:
        raise AddressError("not a valid address")
    if len(match["local"].encode()) > MAX_LOCAL_PART:
        raise AddressError("local part longer than 64 octets")
    if len(match["domain"].encode()) > MAX_DOMAIN:
        raise AddressError("domain longer than 255 octets")
    if len(address.encode()) + 2 > MAX_PATH:
        raise AddressError("path longer than 256 octets")
    domain = match["domain"]
    if domain.startswith("[") and not _valid_literal(domain[1:-1]):
        raise AddressError("bad address literal")
    return address


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _valid_literal(inner: str) -> bool:
    """IPv4, `IPv6:` or a general address literal (RFC 5321 §4.1.3)."""
    tag, colon, value = inner.partition(":")
    if not colon:
        try:
            ipaddress.IPv4Address(inner)
        except ValueError:
            return False
        return True
    if tag.lower() == "ipv6":
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            return False
        return True
    return bool(re.fullmatch(r"[A-Za-z0-9-]*[A-Za-z0-9]", tag)) and value.isprintable()


def is_domain(text: str) -> bool:
    """True for a syntactically valid domain name (used for HELO/EHLO checks)."""
    return bool(_DOMAIN_RE.fullmatch(text))
