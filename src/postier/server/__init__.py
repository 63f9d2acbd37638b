"""The SMTP server: thin asyncio layer around `postier.protocol.smtp.ServerConnection`."""

from postier.server.errors import ServerError
from postier.server.process import serve
from postier.server.run import run

__all__ = ["ServerError", "run", "serve"]
