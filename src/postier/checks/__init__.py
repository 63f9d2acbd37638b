"""Checks of a stored message for the HTTP API: its HTML against the mail clients
(caniemail's data), its spam score (a SpamAssassin daemon), its links (HEAD requests).
It imports aiohttp: the server imports it only when it serves HTTP."""

from .config import ChecksConfig, LinkPolicy, SpamdAddress, spamd_address
from .htmlcheck import caniemail, check_html
from .links import check_links, links_of
from .spamd import spam_check

__all__ = [
    "ChecksConfig",
    "LinkPolicy",
    "SpamdAddress",
    "caniemail",
    "check_html",
    "check_links",
    "links_of",
    "spam_check",
    "spamd_address",
]
