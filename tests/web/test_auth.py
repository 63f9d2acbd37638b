"""`--http-auth`: basic authentication on every route but the health checks, wrong
passwords answered late, verified ones remembered only as a keyed digest."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from postier.server.accounts import hash_password
from postier.server.errors import ServerError
from postier.server.http_auth import HttpGate
from postier.web.gate import credentials
from postier.web.openapi import document
from tests.store_read.helpers import deliver, plain
from tests.web.conftest import Api, ApiFor

ALICE = "alice@example.org"
PASSWORD = "correct horse 🐎"
DELAY = 0.2


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def password_file(directory: Path, *lines: str) -> Path:
    path = directory / "http-users"
    path.write_text("".join(line + "\n" for line in lines))
    return path


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[HttpGate]:
    path = password_file(tmp_path, f"ann:{hash_password(PASSWORD, cost=10)}")
    opened = HttpGate(path, failure_delay=DELAY)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def guarded(store: Path, gate: HttpGate, api_for: ApiFor) -> Api:
    deliver(store, "mbox", [plain("Secret")], [ALICE])
    return api_for(store, gate=gate)


def every_documented_get() -> list[str]:
    """A GET of each documented path (its parameters filled), an unknown one too."""
    paths = [path for path, item in document()["paths"].items() if "get" in item]
    filled = [path.replace("{id}", "latest").replace("{part}", "2") for path in paths]
    return [*filled, "/no/such/path", "/"]


def test_every_route_wants_a_login(guarded: Api) -> None:
    for path in every_documented_get():
        reply = guarded.get(path)
        if path in ("/livez", "/readyz"):
            assert reply.status == 200, path
            continue
        assert reply.status == 401, path
        assert reply.headers["WWW-Authenticate"] == 'Basic realm="postier"'
        assert reply.json() == {"Error": "authentication required"}
    for method in ("PUT", "DELETE"):
        assert guarded.request(method, "/api/v1/messages", json={"IDs": []}).status == 401
    assert guarded.get("/api/v1/messages").status == 401
    assert guarded.reader.messages(limit=0).total == 1  # the DELETE did nothing


def test_the_right_password_lets_in(guarded: Api) -> None:
    reply = guarded.get("/api/v1/messages", headers=basic("ann", PASSWORD))
    assert reply.status == 200
    assert reply.json()["messages"][0]["Subject"] == "Secret"
    assert guarded.get("/no/such/path", headers=basic("ann", PASSWORD)).status == 404


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + base64.b64encode(b"ann:wrong").decode(),
        "Basic " + base64.b64encode(b"bob:" + PASSWORD.encode()).decode(),
        "Basic " + base64.b64encode(b"ANN:" + PASSWORD.encode()).decode(),
        "Basic " + base64.b64encode(b"ann").decode(),
        "Basic !!!",
        "Bearer " + base64.b64encode(b"ann:" + PASSWORD.encode()).decode(),
    ],
)
def test_anything_else_is_refused(header: str, guarded: Api) -> None:
    reply = guarded.get("/api/v1/info", headers={"Authorization": header})
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="postier"'
    assert "Error" in reply.json()


def test_wrong_passwords_are_answered_later_and_later(guarded: Api) -> None:
    took = []
    for _ in range(3):
        started = time.monotonic()
        assert guarded.get("/api/v1/info", headers=basic("ann", "guess")).status == 401
        took.append(time.monotonic() - started)
    assert took[0] >= DELAY
    assert took[1] >= 2 * DELAY
    assert took[2] >= 4 * DELAY
    started = time.monotonic()
    assert guarded.get("/api/v1/info").status == 401  # no credentials: no failure
    assert time.monotonic() - started < DELAY
    # The owner's right password is never slowed, and clears the account's count.
    assert guarded.get("/api/v1/info", headers=basic("ann", PASSWORD)).status == 200
    started = time.monotonic()
    assert guarded.get("/api/v1/info", headers=basic("ann", "typo")).status == 401
    assert DELAY <= time.monotonic() - started < 2 * DELAY


def test_a_verified_password_is_checked_once_and_kept_only_as_a_keyed_digest(
    guarded: Api, gate: HttpGate
) -> None:
    checks = counted(gate)
    for _ in range(5):
        assert guarded.get("/api/v1/info", headers=basic("ann", PASSWORD)).status == 200
    assert checks == ["ann"]
    assert guarded.get("/api/v1/info", headers=basic("ann", "other")).status == 401
    assert checks == ["ann", "ann"]  # another password is checked in full
    assert gate.remembers("ann", PASSWORD)
    assert not gate.remembers("ann", "other")
    kept = repr(vars(gate))
    assert PASSWORD not in kept
    assert repr(PASSWORD.encode())[2:-1] not in kept
    assert [len(digest) for digest in gate._verified.values()] == [32]


def counted(gate: HttpGate) -> list[str]:
    """The users whose password `gate` checks in full from now on."""
    checks: list[str] = []
    real = gate.accounts.check

    def check(user: str, password: str) -> bool:
        checks.append(user)
        return real(user, password)

    gate.accounts = _Counting(check)  # type: ignore[assignment]
    return checks


class _Counting:
    def __init__(self, check: object) -> None:
        self.check = check


def test_requests_that_come_together_share_one_check(gate: HttpGate) -> None:
    checks = counted(gate)

    async def together() -> list[bool]:
        return list(await asyncio.gather(*(gate.admit("ann", PASSWORD, "t") for _ in range(8))))

    assert asyncio.run(together()) == [True] * 8
    assert checks == ["ann"]


def test_reload_forgets_what_was_verified(tmp_path: Path, gate: HttpGate) -> None:
    assert asyncio.run(gate.admit("ann", PASSWORD, "t"))
    password_file(tmp_path, f"ann:{hash_password('new one', cost=10)}")
    gate.reload()
    assert not gate.remembers("ann", PASSWORD)
    assert asyncio.run(gate.admit("ann", "new one", "t"))
    (tmp_path / "http-users").write_text("not a line\n")
    gate.reload()  # a broken file: the accounts in use stay
    assert gate.remembers("ann", "new one")


def test_a_file_that_cannot_be_used_is_an_error_at_start(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match="--http-auth"):
        HttpGate(tmp_path / "missing", failure_delay=1)
    with pytest.raises(ServerError, match="no account"):
        HttpGate(password_file(tmp_path, "# nobody"), failure_delay=1)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("Basic " + base64.b64encode(b"a:b:c").decode(), ("a", "b:c")),
        ("basic  " + base64.b64encode("é:ü".encode()).decode(), ("é", "ü")),
        ("Basic " + base64.b64encode(b":").decode(), ("", "")),
        ("Basic " + base64.b64encode(b"\xff:x").decode(), None),
        ("Digest abc", None),
    ],
)
def test_credentials(header: str | None, expected: tuple[str, str] | None) -> None:
    assert credentials(header) == expected
