"""The HTTP API over the store's read side: Mailpit's API v1 (its paths, fields and
semantics, so that the test helpers written for Mailpit work unchanged) and postier's
additions (`/api/v1/mailboxes`, `/api/v1/wait`). An aiohttp application; the server's
HTTP listener (`postier.server.http`) runs it on the event loop SMTP runs on, or alone
(`postier web`)."""

from .app import build_app
from .context import WebContext
from .gate import Gate
from .hosts import HostRule
from .mail import Mail

__all__ = ["Gate", "HostRule", "Mail", "WebContext", "build_app"]
