"""The SMTP server: thin asyncio layer around `postier.protocol.smtp.ServerConnection`."""

from postier.server.accounts import check_username, hash_password
from postier.server.errors import ServerError
from postier.server.logs import configure_logging
from postier.server.process import serve
from postier.server.run import run

__all__ = [
    "ServerError",
    "check_username",
    "configure_logging",
    "hash_password",
    "run",
    "serve",
]
