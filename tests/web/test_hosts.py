"""The `Host` check against DNS rebinding: a server bound to loopback answers only
requests addressed to a loopback name, its own address or a name allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from postier.web.hosts import HostRule, host_name, is_loopback
from tests.store_read.helpers import deliver, plain
from tests.web.conftest import ApiFor

ALICE = "alice@example.org"


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:8025",
        "LocalHost.:80",
        "127.0.0.1",
        "127.0.0.1:8025",
        "127.1.2.3:1",
        "[::1]",
        "[::1]:8025",
        "app.localhost:3000",
        "mail.test",  # allowed below
        "mail.test:8025",
    ],
)
def test_loopback_names_are_answered(host: str, store: Path, api_for: ApiFor) -> None:
    deliver(store, "mbox", [plain()], [ALICE])
    api = api_for(store, hosts=HostRule.for_server("127.0.0.1", ["mail.test"]))
    reply = api.get("/api/v1/messages", headers={"Host": host})
    assert reply.status == 200, host


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example",
        "attacker.example:8025",
        "localhost.attacker.example",
        "127.0.0.1.nip.io",
        "192.168.1.10",
        "[::2]:8025",
        "[::1",
        "mail.test.evil",
    ],
)
def test_other_names_are_refused(host: str, store: Path, api_for: ApiFor) -> None:
    deliver(store, "mbox", [plain()], [ALICE])
    api = api_for(store, hosts=HostRule.for_server("127.0.0.1", ["mail.test"]))
    for method, path in [("GET", "/api/v1/messages"), ("DELETE", "/api/v1/messages"),
                         ("GET", "/livez"), ("GET", "/no/such/path")]:  # fmt: skip
        reply = api.request(method, path, headers={"Host": host})
        assert reply.status == 403, (host, path)
        assert "loopback" in reply.json()["Error"]
    assert api.reader.messages(limit=0).total == 1


def test_a_server_bound_elsewhere_checks_nothing() -> None:
    assert HostRule.for_server("0.0.0.0") is None
    assert HostRule.for_server("::") is None
    assert HostRule.for_server("192.0.2.7") is None
    rule = HostRule.for_server("::1")
    assert rule is not None and not rule.permits("example.org")
    named = HostRule.for_server("localhost", ["Dev.Example"])
    assert named is not None and named.permits("dev.example:80")


def test_names() -> None:
    assert host_name("[::1]:8025") == "::1"
    assert host_name("Example.ORG.:443") == "example.org"
    assert host_name("::1") == "::1"
    assert is_loopback("127.200.0.1")
    assert not is_loopback("128.0.0.1")
    assert not is_loopback("localhostx")
