"""What a server process counts of its SMTP listener, for whoever reports it (the HTTP
API's `info`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class SmtpCounts:
    accepted: int = 0
    """Messages stored (each told 250), whatever their number of recipients."""
    accepted_size: int = 0
    """Their bytes, as the client sent them."""
    rejected: int = 0
    """Messages the store could not take (each told 451)."""
