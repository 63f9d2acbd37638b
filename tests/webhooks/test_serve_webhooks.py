"""`postier serve --webhook`, end to end: a real server in a subprocess, SMTP from
smtplib, and a recording endpoint on loopback (`hooks.HookServer`) that answers 200,
500 or not at all. Each message is POSTed once per URL as its summary, the one
`/api/v1/messages` lists; a hanging or failing endpoint holds up no 250; failures are
logged one line each and retried; `--webhook-limit` bounds the requests in flight;
a bad URL is refused at start."""

from __future__ import annotations

import json
import re
import smtplib
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import ServerProcess
from tests.webhooks.hooks import WAIT, HookServer, until

SUMMARY_FIELDS = {
    "ID", "MessageID", "Read", "From", "To", "Cc", "Bcc", "ReplyTo", "Subject", "Created",
    "Username", "Tags", "Size", "Attachments", "Snippet",
}  # fmt: skip
"""Mailpit's `MessageSummary`, what its webhook posts."""


def send(server: ServerProcess, subject: str, recipients: tuple[str, ...] = ("a@x.test",)) -> str:
    """One message through SMTP; the server's reply to the end of its data."""
    message = (
        f"From: Sender <s@example.com>\r\nTo: {', '.join(recipients)}\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{subject}@example.com>\r\n\r\nBody of {subject}.\r\n"
    )
    with smtplib.SMTP(*server.address, timeout=WAIT) as client:
        client.sendmail("s@example.com", list(recipients), message)
        code, text = client.noop()
    assert code == 250, text
    return subject


def api(server: ServerProcess, path: str) -> Any:
    base = re.findall(r"HTTP API on (http://\S+?)/;", server.wait_for_log(r"HTTP API on"))[-1]
    with urllib.request.urlopen(base + path, timeout=WAIT) as response:
        return json.load(response)


def test_each_message_is_posted_once_as_its_summary(tmp_path: Path) -> None:
    with HookServer() as hook:
        server = ServerProcess(tmp_path / "mail", "--http-port", "0", "--webhook", hook.url("/new"))
        with server:
            send(server, "one")
            send(server, "two", ("b@x.test", "c@y.test"))
            send(server, "three")
            posts = hook.wait_for("/new", 3)
            listed = {item["ID"]: item for item in api(server, "/api/v1/messages")["messages"]}
            for post in posts:
                body = post.json()
                assert set(body) == SUMMARY_FIELDS
                assert body == listed[body["ID"]]  # the summary the API lists
                assert api(server, f"/api/v1/message/{body['ID']}")["Subject"] == body["Subject"]
                assert post.headers["Content-Type"] == "application/json"
                assert post.headers["User-Agent"].startswith("postier/")
        # Stopped: nothing more can come.
        bodies = [post.json() for post in hook.received("/new")]
    assert sorted(body["Subject"] for body in bodies) == ["one", "three", "two"]
    two = next(body for body in bodies if body["Subject"] == "two")
    assert [pair["Address"] for pair in [*two["To"], *two["Bcc"]]] == ["b@x.test", "c@y.test"]
    assert len({body["ID"] for body in bodies}) == 3
    assert len(hook.posts) == 3


def test_two_urls_both_get_each_message(tmp_path: Path) -> None:
    with HookServer() as hook:
        server = ServerProcess(
            tmp_path / "mail", "--webhook", hook.url("/a"), "--webhook", hook.url("/b")
        )
        with server:
            for subject in ("first", "second", "third"):
                send(server, subject)
            hook.wait_for("/a", 3)
            hook.wait_for("/b", 3)
        ids = {path: sorted(p.json()["ID"] for p in hook.received(path)) for path in ("/a", "/b")}
    assert len(set(ids["/a"])) == 3
    assert ids["/a"] == ids["/b"]


def test_a_hanging_endpoint_holds_up_no_delivery(tmp_path: Path) -> None:
    """The endpoint never answers (and the timeout is long): every message still gets its
    250, within smtplib's timeout, while all the requests in flight hang."""
    with HookServer() as hook:
        hook.hang("/hang")
        args = ("--webhook", hook.url("/hang"), "--webhook-timeout", "60", "--webhook-limit", "2")
        with ServerProcess(tmp_path / "mail", *args) as server:
            send(server, "first")
            hook.wait_for("/hang", 1)
            for number in range(5):
                send(server, f"later-{number}")
            server.wait_for_log(r"accepted \S+ from", count=6)
            assert hook.current >= 1  # still hanging while the 250s came
            assert "not posted" not in server.log_text()


def test_a_timeout_is_logged_once_per_attempt_and_retried(tmp_path: Path) -> None:
    with HookServer() as hook:
        hook.hang("/slow")
        args = ("--webhook", hook.url("/slow"), "--webhook-timeout", "0.3")
        with ServerProcess(tmp_path / "mail", *args) as server:
            send(server, "late")
            text = server.wait_for_log(r"\(attempt 2\); again in 2 s")
            hook.wait_for("/slow", 2)
    timed_out = re.findall(r"webhook \S+/slow: message (d\w+) not posted: (.*)", text)
    assert [reason for _, reason in timed_out] == [
        "no answer within 0.3 s (attempt 1); again in 1 s",
        "no answer within 0.3 s (attempt 2); again in 2 s",
    ]
    assert len({id_ for id_, _ in timed_out}) == 1


def test_a_failing_endpoint_is_retried_until_it_answers_200(tmp_path: Path) -> None:
    with HookServer() as hook:
        hook.fail("/flaky", 500, 500)
        with ServerProcess(tmp_path / "mail", "--webhook", hook.url("/flaky")) as server:
            send(server, "retried")
            posts = hook.wait_for("/flaky", 3)
            assert posts[0].body == posts[1].body == posts[2].body
            text = server.log_text()
        assert len(hook.received("/flaky")) == 3  # stopped: the 200 ended it
    failures = re.findall(r"not posted: (.*)", text)
    assert failures == [
        "status 500 (attempt 1); again in 1 s",
        "status 500 (attempt 2); again in 2 s",
    ]


def test_webhook_limit_bounds_the_requests_in_flight(tmp_path: Path) -> None:
    with HookServer() as hook:
        hook.hang("/held")
        args = ("--webhook", hook.url("/held"), "--webhook-limit", "2")
        with ServerProcess(tmp_path / "mail", *args) as server:
            for number in range(6):
                send(server, f"m{number}")
            hook.wait_for("/held", 2)
            server.wait_for_log(r"accepted \S+ from", count=6)
            held = len(hook.received("/held"))
            hook.release()
            hook.wait_for("/held", 6)
        assert held == 2
        assert hook.peak == 2
        assert len(hook.posts) == 6


def test_a_bad_url_is_refused_at_start(tmp_path: Path) -> None:
    """The table of bad URLs is `test_service`'s; here, the server is not started."""
    store = tmp_path / "mail"
    command = [sys.executable, "-m", "postier", "serve", "--port", "0", "--store", str(store)]
    command += ["--webhook", "ftp://hooks.example/"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=WAIT, check=False)
    assert done.returncode == 2
    said = "not an http or https URL: 'ftp://hooks.example/'"
    assert done.stderr == f"postier: serve: argument --webhook: {said} (see --help)\n"
    assert not store.exists()


def test_each_worker_posts_what_it_accepted(tmp_path: Path) -> None:
    with HookServer() as hook:
        args = ("--workers", "2", "--webhook", hook.url("/w"))
        with ServerProcess(tmp_path / "mail", *args) as server:
            subjects = [send(server, f"w{number}") for number in range(12)]
            hook.wait_for("/w", 12)
            text = server.log_text()
        bodies = [post.json() for post in hook.received("/w")]
    assert sorted(body["Subject"] for body in bodies) == sorted(subjects)
    assert len({body["ID"] for body in bodies}) == 12
    assert text.count("webhook: each new message posted to") == 1  # the parent's line


def test_until_fails_when_the_condition_never_holds() -> None:
    with pytest.raises(AssertionError, match="no thing within"):
        until(lambda: False, "thing", timeout=0.05)
