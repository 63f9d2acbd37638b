"""Checks of a stored message for the HTTP API: its HTML against the mail clients
(`htmlcheck`, caniemail's data), its spam score (`spamd`, a SpamAssassin daemon), its
links (`links`, HEAD requests). This package's own names are the checks' configuration
alone, so that the server imports it without aiohttp; the web layer imports the checks
from their modules."""

from .config import ChecksConfig, LinkPolicy, SpamdAddress, spamd_address

__all__ = ["ChecksConfig", "LinkPolicy", "SpamdAddress", "spamd_address"]
