"""What a server offers in its EHLO reply: the keywords we send, and how the client reads them.

RFC 5321 §4.1.1.1 and the extensions:

    ehlo-ok-rsp = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
                / ( "250-" Domain [ SP ehlo-greet ] CRLF
                    *( "250-" ehlo-line CRLF ) "250" SP ehlo-line CRLF )
    ehlo-line   = ehlo-keyword *( SP ehlo-param )

Keywords are case-insensitive (RFC 5321 §2.4); the first line is the greeting, not a
keyword.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from postier.protocol.smtp.reply import Reply

PIPELINING = "PIPELINING"  # RFC 2920
SIZE = "SIZE"  # RFC 1870
EIGHT_BIT_MIME = "8BITMIME"  # RFC 6152
SMTPUTF8 = "SMTPUTF8"  # RFC 6531
ENHANCED_STATUS_CODES = "ENHANCEDSTATUSCODES"  # RFC 2034
CHUNKING = "CHUNKING"  # RFC 3030
BINARYMIME = "BINARYMIME"  # RFC 3030
STARTTLS = "STARTTLS"  # RFC 3207
AUTH = "AUTH"  # RFC 4954

_EMPTY: Mapping[str, tuple[str, ...]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Capabilities:
    """The service extensions one server announced; empty after HELO."""

    extended: bool = False
    """The server answered EHLO (False: it only understood HELO)."""
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _EMPTY)
    """Each keyword, upper-cased, with its parameters as sent."""

    def has(self, keyword: str) -> bool:
        return keyword.upper() in self.keywords

    @property
    def pipelining(self) -> bool:
        """RFC 2920: MAIL, RCPTs and DATA may go in one write."""
        return self.has(PIPELINING)

    @property
    def size_limit(self) -> int | None:
        """RFC 1870 §4: the largest message the server takes, None when it states none.

        `SIZE` without a number, or `SIZE 0`, announces the extension but no fixed limit.
        """
        params = self.keywords.get(SIZE)
        if not params or not params[0].isdigit() or not params[0].isascii():
            return None
        limit = int(params[0])
        return limit or None

    @property
    def size(self) -> bool:
        """RFC 1870: MAIL may carry SIZE=<octets>."""
        return self.has(SIZE)

    @property
    def eight_bit_mime(self) -> bool:
        """RFC 6152: MAIL may carry BODY=8BITMIME."""
        return self.has(EIGHT_BIT_MIME)

    @property
    def smtputf8(self) -> bool:
        """RFC 6531: UTF-8 addresses and headers, with the SMTPUTF8 parameter."""
        return self.has(SMTPUTF8)

    @property
    def starttls(self) -> bool:
        """RFC 3207."""
        return self.has(STARTTLS)

    @property
    def enhanced_status_codes(self) -> bool:
        """RFC 2034."""
        return self.has(ENHANCED_STATUS_CODES)

    @property
    def auth_mechanisms(self) -> frozenset[str]:
        """RFC 4954 §3: the SASL mechanisms after `AUTH`, upper-cased.

        Old servers wrote `AUTH=LOGIN PLAIN` instead (before RFC 2554 was final); it
        is read as well, as smtplib and swaks do.
        """
        names = self.keywords.get(AUTH, ()) + self.keywords.get("AUTH=", ())
        return frozenset(name.upper() for name in names)


def ehlo_keywords(*, max_size: int, starttls: bool, auth_mechanisms: tuple[str, ...]) -> list[str]:
    """The lines after the greeting of our own EHLO reply, as `parse_ehlo` reads them back.

    STARTTLS only while the connection is in clear (RFC 3207 §4.2); AUTH only where it
    may be used (RFC 4954 §4), with the mechanisms on offer.
    """
    keywords = [
        PIPELINING,
        f"{SIZE} {max_size}",
        EIGHT_BIT_MIME,
        SMTPUTF8,
        ENHANCED_STATUS_CODES,
        CHUNKING,
        BINARYMIME,
    ]
    if starttls:
        keywords.append(STARTTLS)
    if auth_mechanisms:
        keywords.append(" ".join((AUTH, *auth_mechanisms)))
    return keywords


def parse_ehlo(reply: Reply) -> Capabilities:
    """The capabilities in a positive EHLO reply (its first line is the greeting)."""
    keywords: dict[str, tuple[str, ...]] = {}
    for line in reply.lines[1:]:
        words = line.split()
        if not words:
            continue
        keyword = words[0].upper()
        params = tuple(words[1:])
        if keyword.startswith("AUTH="):
            keyword, params = "AUTH=", (keyword[5:], *params)
        keywords[keyword] = keywords.get(keyword, ()) + params
    return Capabilities(extended=True, keywords=MappingProxyType(keywords))


HELO_ONLY = Capabilities()
"""What a server that only understood HELO offers: nothing beyond RFC 5321's core."""
