"""One definition each: `SyncClient` takes `Client.__init__`'s arguments; each exit status."""

from __future__ import annotations

import inspect
import io
import ssl

from postier import Client, SyncClient
from postier.cli.send import EPILOG, ExitStatus
from postier.client import Security, Transcript
from postier.client.session import IMPLICIT_TLS_PORT
from postier.defaults import DEFAULT_PORT


def test_sync_client_shows_the_parameters_of_client() -> None:
    assert inspect.signature(SyncClient) == inspect.signature(Client)


def test_every_argument_reaches_the_client() -> None:
    transcript = Transcript(io.StringIO())
    context = ssl.create_default_context()
    sync = SyncClient(
        "mx.test",
        2526,
        timeout=5.0,
        transcript=transcript,
        security="starttls",
        ssl_context=context,
        local_hostname="me.test",
    )
    try:
        client = sync.client
        assert (client.host, client.port, client.timeout) == ("mx.test", 2526, 5.0)
        assert client.transcript is transcript
        assert client.security is Security.STARTTLS
        assert client.local_hostname == "me.test"
    finally:
        sync.close()


def test_the_defaults_are_the_clients() -> None:
    sync = SyncClient()
    try:
        assert (sync.client.host, sync.client.port) == ("localhost", DEFAULT_PORT)
    finally:
        sync.close()
    implicit = SyncClient(security=Security.TLS)
    try:
        assert implicit.client.port == IMPLICIT_TLS_PORT
    finally:
        implicit.close()


def test_each_exit_status_is_described_once_for_help() -> None:
    lines = EPILOG.split("\n\n")[0].splitlines()
    assert lines == ["exit status:", *(f"  {s:d}  {s.meaning}" for s in ExitStatus)]
    assert [int(s) for s in ExitStatus] == list(range(len(ExitStatus)))
