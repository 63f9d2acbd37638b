"""The HTTP API over the store's read side: Mailpit's API v1 (its paths, fields and
semantics, so that the test helpers written for Mailpit work unchanged) and postier's
additions (`/api/v1/mailboxes`, `/api/v1/wait`), served by aiohttp on the event loop
the SMTP listener runs on, or alone (`postier web`, in `alone`)."""

from postier.server.counts import SmtpCounts

from .app import build_app
from .context import WebContext
from .mail import Mail
from .server import HttpServer
from .service import HttpService

__all__ = [
    "HttpServer",
    "HttpService",
    "Mail",
    "SmtpCounts",
    "WebContext",
    "build_app",
]
