"""The SMTP server: thin asyncio layer around `postier.protocol.ServerConnection`."""

from postier.server.listener import ServerError, run, serve

__all__ = ["ServerError", "run", "serve"]
