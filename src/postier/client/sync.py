"""`SyncClient`: the asyncio `Client` for code that does not run an event loop.

Each call runs on one private event loop (`asyncio.Runner`), kept for the whole
connection; calling it from inside a running event loop is an error, as with
`asyncio.run`.
"""

from __future__ import annotations

import asyncio
import inspect
import ssl
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

from postier.client.outcome import SendResult
from postier.client.session import Client
from postier.protocol.smtp import Capabilities, Reply

P = ParamSpec("P")
S = TypeVar("S")


def _parameters_of(
    template: Callable[Concatenate[Any, P], None],
) -> Callable[[Callable[Concatenate[S, ...], None]], Callable[Concatenate[S, P], None]]:
    """Give a method `template`'s parameters, for type checkers and `inspect` alike."""

    def typed(method: Callable[Concatenate[S, ...], None]) -> Callable[Concatenate[S, P], None]:
        method.__signature__ = inspect.signature(template)  # type: ignore[attr-defined]
        return method

    return typed


class SyncClient:
    """The same connection as `Client`, with blocking calls; a context manager too."""

    @_parameters_of(Client.__init__)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Takes exactly `Client`'s arguments, which stay defined in one place."""
        self.client = Client(*args, **kwargs)
        self._runner = asyncio.Runner()

    @property
    def capabilities(self) -> Capabilities:
        return self.client.capabilities

    def connect(self) -> Capabilities:
        return self._runner.run(self.client.connect())

    def starttls(self, context: ssl.SSLContext | None = None) -> Capabilities:
        return self._runner.run(self.client.starttls(context))

    def login(self, username: str, password: str, *, mechanism: str | None = None) -> Reply:
        return self._runner.run(self.client.login(username, password, mechanism=mechanism))

    def send_message(
        self,
        message: EmailMessage | bytes,
        sender: str | None = None,
        recipients: Sequence[str] | None = None,
    ) -> SendResult:
        return self._runner.run(self.client.send_message(message, sender, recipients))

    def noop(self) -> Reply:
        return self._runner.run(self.client.noop())

    def rset(self) -> Reply:
        return self._runner.run(self.client.rset())

    def quit(self) -> None:
        """QUIT, close, and end the private event loop."""
        try:
            self._runner.run(self.client.quit())
        finally:
            self._runner.close()

    def close(self) -> None:
        """Close without QUIT, and end the private event loop."""
        try:
            self._runner.run(self.client.close())
        finally:
            self._runner.close()

    def __enter__(self) -> SyncClient:
        try:
            self.connect()
        except BaseException:
            self._runner.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.quit()
