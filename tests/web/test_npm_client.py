"""The `mailpit-api` npm client, unchanged, against a running `postier web`: a Node
script (tests/web/npm/client.mjs) lists, opens, searches, marks and deletes through it,
and prints what each call gave.

The client is installed with `npm ci` from tests/web/npm's lock file, once, into a
cache directory named after the lock file's digest (or used from tests/web/npm's own
node_modules when someone ran `npm ci` there); node and npm are found by require_tool.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from postier.server.accounts import hash_password
from tests.store_read.helpers import PDF, deliver, plain
from tests.support.tools import require_tool
from tests.web.messages import rich
from tests.web.process import WebProcess

HERE = Path(__file__).parent / "npm"
FILES = ("package.json", "package-lock.json", ".npmrc", "client.mjs")
INSTALL_TIMEOUT = 300
ALICE = "alice@example.org"
PASSWORD = "npm's own"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "postier-tests"


def installed(npm: str) -> Path:
    """A directory with client.mjs beside a node_modules that holds the locked client."""
    if (HERE / "node_modules" / "mailpit-api").is_dir():
        return HERE
    digest = hashlib.sha256(b"".join((HERE / name).read_bytes() for name in FILES)).hexdigest()[:16]
    target = cache_root() / f"npm-{digest}"
    if (target / "node_modules" / "mailpit-api").is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="npm-", dir=target.parent))
    try:
        for name in FILES:
            shutil.copyfile(HERE / name, staging / name)
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=staging,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci failed:\n{done.stdout}\n{done.stderr}", pytrace=False)
        try:
            staging.rename(target)
        except OSError:  # another run installed it meanwhile
            if not (target / "node_modules" / "mailpit-api").is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


@pytest.fixture(scope="module")
def client_dir() -> Path:
    require_tool("node", "nodejs")
    return installed(require_tool("npm", "npm"))


def run_client(directory: Path, url: str, *login: str) -> dict[str, Any]:
    node = require_tool("node", "nodejs")
    done = subprocess.run(
        [node, str(directory / "client.mjs"), url, *login],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results: dict[str, Any] = json.loads(done.stdout)
    return results


def value(results: dict[str, Any], name: str) -> Any:
    outcome = results[name]
    assert outcome["ok"], (name, outcome)
    return outcome["value"]


def subjects(listing: dict[str, Any]) -> list[str]:
    return [message["Subject"] for message in listing["messages"]]


def unread(listing: dict[str, Any]) -> dict[str, bool]:
    return {message["Subject"]: not message["Read"] for message in listing["messages"]}


@pytest.mark.interop
def test_the_npm_client_against_postier(client_dir: Path, tmp_path: Path) -> None:
    store = tmp_path / "mail"
    deliver(store, "mbox", [plain("Plain"), rich("Rich")], [ALICE])
    users = tmp_path / "users"
    users.write_text(f"ann:{hash_password(PASSWORD, cost=10)}\n")
    process = WebProcess(store, "--http-auth", str(users), "--auth-failure-delay", "0.05")
    process.start()
    try:
        results = run_client(client_dir, process.url, "ann", PASSWORD)
    finally:
        assert process.stop() == 0, process.log_text()

    info = value(results, "info")
    assert (info["Messages"], info["Unread"]) == (2, 2)
    assert subjects(value(results, "list")) == ["Rich", "Plain"]
    assert subjects(value(results, "page")) == ["Plain"]
    message = value(results, "message")
    assert (message["Subject"], message["Text"]) == ("Rich", "Plain words.\n")
    assert [part["FileName"] for part in message["Attachments"]] == ["invoice.pdf"]
    assert value(results, "latest")["ID"] == message["ID"]
    assert value(results, "headers")["Subject"] == ["Rich"]
    assert "Subject: Rich" in value(results, "raw")
    assert value(results, "text") == "Plain words.\n"
    assert '<img src="/api/v1/message/' in value(results, "html")
    assert value(results, "part") == {"size": len(PDF), "type": "application/pdf"}
    assert subjects(value(results, "search")) == ["Plain"]
    assert value(results, "searchNone")["messages_count"] == 0
    assert "400" in results["badSearch"]["error"]
    assert value(results, "wait")["Subject"] == "Plain"
    # Opening marked both read; then one unread, all read, those that match unread.
    assert value(results, "markUnread") == "ok"
    assert unread(value(results, "afterUnread")) == {"Rich": True, "Plain": False}
    assert unread(value(results, "afterAllRead")) == {"Rich": False, "Plain": False}
    assert unread(value(results, "afterSearch")) == {"Rich": False, "Plain": True}
    assert "404" in results["missing"]["error"]
    assert subjects(value(results, "afterDeleteOne")) == ["Rich"]
    assert subjects(value(results, "afterDeleteSearch")) == []
    assert value(results, "deleteAll") == "ok"
    assert value(results, "afterDeleteAll")["total"] == 0
    assert "401" in results["stranger"]["error"]
