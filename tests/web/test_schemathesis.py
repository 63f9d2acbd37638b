"""schemathesis against a running `postier web`: requests generated from the OpenAPI
document (fitting it, and not), each answer held to it: a documented status, its
content type and schema, never a 500, and a request that does not fit refused.

Bounded and repeatable: a fixed number of examples per operation, derandomized.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from postier.server.accounts import hash_password
from postier.web.openapi import document
from tests.store_read.helpers import deliver, plain
from tests.web.messages import rich
from tests.web.process import WebProcess

ALICE = "alice@example.org"
BOB = "bob@example.org"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXAMPLES = int(os.environ.get("POSTIER_SCHEMATHESIS_EXAMPLES", "25"))
"""Per operation (and per mode: fitting, not fitting); more for a longer run by hand."""
LONGEST_WAIT = 0.3
"""Seconds a generated `/wait` may wait (the API takes up to 300)."""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebProcess]:
    store = tmp_path_factory.mktemp("schemathesis") / "mail"
    deliver(store, "mbox", [plain("First"), rich("Second")], [ALICE, BOB])
    process = WebProcess(store).start()
    try:
        yield process
    finally:
        assert process.stop() == 0, process.log_text()


@pytest.fixture
def url(served: WebProcess) -> str:
    """The server's, with mail in its store (a DELETE of an earlier operation emptied it)."""
    if _empty(served.store):
        deliver(served.store, "mbox", [plain("Again"), rich("Rich again")], [ALICE])
    return served.url


def _empty(store: Path) -> bool:
    return all(path.stat().st_size == 0 for path in store.glob("*.mbox"))


schema = schemathesis.openapi.from_dict(
    document(),
    config=SchemathesisConfig.from_dict(
        # Parameters the API does not name are ignored, as Mailpit ignores them.
        {"generation": {"allow-extra-parameters": False, "deterministic": True}}
    ),
)
"""The document the server serves (`test_openapi` checks that it serves this one)."""


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_server_does_what_its_document_says(case: Case, url: str) -> None:
    if case.path == "/api/v1/wait":
        given = case.query or {}
        case.query = {**given, "timeout": _bounded(given.get("timeout"))}
    case.call_and_validate(base_url=url, checks=CHECKS, timeout=30)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with `--http-auth`, whose password the generated requests do not know
    (they send none, or made-up credentials: answered late, so barely late here)."""
    directory = tmp_path_factory.mktemp("guarded")
    deliver(directory / "mail", "mbox", [plain("Locked")], [ALICE])
    users = directory / "users"
    users.write_text(f"ann:{hash_password('unsaid', cost=10)}\n")
    process = WebProcess(
        directory / "mail", "--http-auth", str(users), "--auth-failure-delay", "0.001"
    ).start()
    try:
        yield process.url
    finally:
        assert process.stop() == 0, process.log_text()


@schema.parametrize()
@settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_without_a_login_every_answer_is_a_documented_401(case: Case, guarded: str) -> None:
    """Every operation documents the 401, in the shape it has; the health checks answer."""
    response = case.call_and_validate(base_url=guarded, checks=CHECKS[:4], timeout=30)
    if case.path not in ("/livez", "/readyz"):
        assert response.status_code == 401, case.path
    elif case.method.lower() == case.operation.method.lower():
        assert response.status_code == 200, case.path
    else:  # a method the path does not take, sent to see it refused
        assert response.status_code == 405, (case.method, case.path)


def _bounded(timeout: object) -> object:
    """A generated timeout, at most `LONGEST_WAIT` (none given: that long, not 30 s)."""
    if timeout is None:
        return LONGEST_WAIT
    try:
        value = float(str(timeout))
    except ValueError:
        return timeout  # not a number: the server refuses it at once
    return LONGEST_WAIT if value > LONGEST_WAIT else timeout
