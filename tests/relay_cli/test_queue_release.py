"""`postier queue`, `postier release` and `POST /api/v1/message/{ID}/release`, with a real
`postier serve --relay` and aiosmtpd as the upstream, all on loopback."""

from __future__ import annotations

import json
import re
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client.servers import LoopbackController, RecordingHandler
from tests.relay.upstream import postier
from tests.support.ports import free_port
from tests.support.server import ServerProcess


@pytest.fixture
def upstream_port() -> int:
    return free_port()


@pytest.fixture
def server(tmp_path: Path, upstream_port: int) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path / "mail",
        "--http-port", "0", "--relay", f"127.0.0.1:{upstream_port}",
        "--relay-match", r".*@out\.test", "--relay-retry", "1",
        "--release-allow", r".*@else\.test",
    )  # fmt: skip
    with process:
        yield process


def _http(server: ServerProcess) -> str:
    found = re.search(r"HTTP API on (http://\S+?)/?;", server.wait_for_log(r"HTTP API on"))
    assert found is not None
    return found.group(1)


def _upstream(port: int) -> tuple[LoopbackController, RecordingHandler]:
    handler = RecordingHandler()
    controller = LoopbackController(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, handler


def _wait(condition: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_the_queue_lists_what_waits_and_empties_once_the_upstream_has_it(
    server: ServerProcess, upstream_port: int
) -> None:
    with smtplib.SMTP(*server.address) as client:
        client.sendmail("me@here.test", ["a@out.test", "b@local.test"], b"Subject: q\r\n\r\nq\r\n")
    store = str(server.store)
    server.wait_for_log(r"relay of .* deferred")
    listed = postier("queue", "--store", store)
    assert listed.returncode == 0
    assert "to <a@out.test>" in listed.stdout and "b@local.test" not in listed.stdout
    assert "Connection refused" in listed.stdout and "1 message queued." in listed.stdout
    [entry] = json.loads(postier("queue", "--store", store, "--json").stdout)
    assert entry["recipients"] == ["a@out.test"] and entry["attempts"] >= 1
    controller, handler = _upstream(upstream_port)
    try:
        assert postier("queue", "--store", store, "--flush").returncode == 0
        _wait(lambda: handler.messages)
        _wait(lambda: "queue is empty" in postier("queue", "--store", store).stdout)
    finally:
        controller.stop()
    [message] = handler.messages
    assert message.recipients == ["a@out.test"]


def test_a_queued_message_can_be_deleted_and_never_leaves(
    server: ServerProcess, upstream_port: int
) -> None:
    with smtplib.SMTP(*server.address) as client:
        client.sendmail("me@here.test", ["a@out.test"], b"Subject: d\r\n\r\nd\r\n")
    store = str(server.store)
    server.wait_for_log(r"relay of .* deferred")
    [entry] = json.loads(postier("queue", "--store", store, "--json").stdout)
    unknown = postier("queue", "--store", store, "--delete", "nosuchentry")
    assert unknown.returncode == 1 and "not in the outbound queue" in unknown.stderr
    for _ in range(50):  # the deliverer may hold it for a moment
        deleted = postier("queue", "--store", store, "--delete", entry["id"])
        if deleted.returncode == 0:
            break
        time.sleep(0.1)
    assert "Deleted 1 queued message." in deleted.stdout
    controller, handler = _upstream(upstream_port)
    try:
        time.sleep(2.5)
    finally:
        controller.stop()
    assert handler.messages == []


def test_release_through_the_api_and_the_cli(server: ServerProcess, upstream_port: int) -> None:
    with smtplib.SMTP(*server.address) as client:
        client.sendmail(
            "me@here.test", ["b@local.test"], b"Subject: r\r\nBcc: hidden@x.test\r\n\r\nbody\r\n"
        )
    api = _http(server) + "/api/v1"
    with urllib.request.urlopen(f"{api}/webui") as reply:
        assert json.load(reply)["MessageRelay"]["Enabled"] is True
    with urllib.request.urlopen(f"{api}/messages") as reply:
        ref = json.load(reply)["messages"][0]["ID"]

    def post(to: list[str]) -> tuple[int, bytes]:
        body = json.dumps({"To": to}).encode()
        request = urllib.request.Request(f"{api}/message/{ref}/release", body, method="POST")
        try:
            with urllib.request.urlopen(request) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read()

    status, said = post(["z@else.test"])
    assert status == 502 and b"cannot connect" in said  # the upstream is down
    status, said = post(["z@other.test"])
    assert status == 400 and b"--release-allow" in said
    controller, handler = _upstream(upstream_port)
    try:
        assert post(["z@else.test"]) == (200, b"ok")
        cli = postier(
            "release", ref, "--to", "w@else.test", "--store", str(server.store),
            "--relay", f"127.0.0.1:{upstream_port}",
        )  # fmt: skip
        assert cli.returncode == 0, cli.stderr
        assert "Released" in cli.stdout and "250" in cli.stdout
    finally:
        controller.stop()
    assert [m.recipients for m in handler.messages] == [["z@else.test"], ["w@else.test"]]
    for message in handler.messages:
        assert message.sender == "me@here.test"
        assert message.content.endswith(b"Subject: r\r\n\r\nbody\r\n")  # no Bcc left
        assert b"Return-Path" not in message.content and b"Delivered-To" not in message.content


def test_release_without_an_upstream_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mail").mkdir()
    refused = postier("release", "x", "--to", "a@b.test", "--store", str(tmp_path / "mail"))
    assert refused.returncode == 2 and "needs an upstream" in refused.stderr
