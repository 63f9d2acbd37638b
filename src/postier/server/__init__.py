"""The server: thin asyncio layers around the SMTP core (`postier.protocol.smtp`) and the
HTTP API (`postier.web`), sharing one event loop."""

from postier.server.accounts import check_username, hash_password
from postier.server.errors import ServerError
from postier.server.http import HttpOptions
from postier.server.logs import configure_logging
from postier.server.process import serve
from postier.server.run import run, serve_web

__all__ = [
    "HttpOptions",
    "ServerError",
    "check_username",
    "configure_logging",
    "hash_password",
    "run",
    "serve",
    "serve_web",
]
