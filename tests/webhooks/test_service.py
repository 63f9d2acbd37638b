"""The webhook service in this process, its clock a fake one: how long a failing post is
retried (each wait twice the last, at most a minute, none past five minutes), that a
full queue drops a message with one log line instead of waiting, and how the options
(`--webhook`, `POSTIER_WEBHOOK`, `--webhook-limit`, `--webhook-timeout`) reach the
settings, or are refused in one line."""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from postier.cli import build_parser, main
from postier.cli.serve import settings_from
from postier.cli.serve_webhooks import webhook_url
from postier.server.webhooks import Retry, WebhookService
from postier.store import MboxStore, Spool
from postier.store.identity import delivery_id
from postier.store.read import Reader
from tests.store_read.helpers import envelope, plain, wire_bytes
from tests.webhooks.hooks import WAIT, HookServer


class FakeClock:
    """Time that moves only when the service sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.slept.append(delay)
        self.now += delay
        await asyncio.sleep(0)


def stored(store: Path, subject: str, recipients: list[str]) -> str:
    """File a message as the server does; its queue id."""
    backend = MboxStore(store, fsync=False)
    spool = Spool()
    sent = envelope(recipients)
    try:
        spool.write(wire_bytes(plain(subject, to=", ".join(recipients))))
        backend.deliver(sent, spool)
    finally:
        spool.close()
        backend.close()
    return sent.queue_id


@pytest.mark.parametrize(
    ("retry", "first_delays"),
    [
        (Retry(), [1, 2, 4, 8, 16, 32, 60, 60]),
        (Retry(first=0.5, longest=3), [0.5, 1, 2, 3, 3, 3, 3, 3]),
    ],
)
def test_each_wait_is_twice_the_last_up_to_the_longest(
    retry: Retry, first_delays: list[float]
) -> None:
    assert list(itertools.islice(retry.delays(), len(first_delays))) == first_delays


def test_a_post_that_always_fails_is_given_up_after_five_minutes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = tmp_path / "mail"
    queue_id = stored(store, "Doomed", ["alice@example.org"])
    clock = FakeClock()
    with HookServer() as hook, Reader(store, fsync=False) as reader:
        hook.fail("/down", *[503] * 20)

        async def run() -> None:
            service = WebhookService(
                [hook.url("/down")], reader, "mbox", clock=clock, sleep=clock.sleep
            )
            await service.start()
            try:
                service.submit(replace(envelope(["alice@example.org"]), queue_id=queue_id))
                await asyncio.wait_for(_given_up(caplog), WAIT)
            finally:
                await service.stop()

        with caplog.at_level(logging.WARNING, "postier.webhook"):
            asyncio.run(run())
        attempts = len(hook.received("/down"))
    # 1+2+4+8+16+32+60+60+60 = 243 s waited; one more minute would pass 300.
    assert clock.slept == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert attempts == 10
    lines = [r.getMessage() for r in caplog.records if r.name == "postier.webhook"]
    lines = [line for line in lines if not line.startswith("webhook: stopping with")]
    assert len(lines) == 10  # one line per failure
    assert lines[-1].endswith("status 503 (attempt 10); given up")
    assert all(delivery_id(queue_id.encode()) in line for line in lines)


def test_a_full_queue_drops_the_message_with_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Reader(tmp_path / "mail", fsync=False) as reader:
        service = WebhookService(["http://127.0.0.1:9/"], reader, "mbox", queue=2)
        with caplog.at_level(logging.WARNING, "postier.webhook"):
            for _ in range(3):
                service.submit(envelope(["alice@example.org"]))  # never waits
    assert service.dropped == 1
    [line] = [r.getMessage() for r in caplog.records]
    assert line.endswith("not posted: 2 messages are waiting already")


def test_the_options_reach_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = build_parser()
    args = parser.parse_args(
        ["serve", "--webhook", "http://a.test/1", "--webhook", "https://b.test:8443/2",
         "--webhook-limit", "3", "--webhook-timeout", "2.5"]
    )  # fmt: skip
    settings = settings_from(args)
    assert settings.webhook == ("http://a.test/1", "https://b.test:8443/2")
    assert (settings.webhook_limit, settings.webhook_timeout) == (3, 2.5)
    monkeypatch.setenv("POSTIER_WEBHOOK", "http://a.test/1\nhttp://c.test/3\n")
    monkeypatch.setenv("POSTIER_WEBHOOK_LIMIT", "7")
    settings = settings_from(build_parser().parse_args(["serve"]))
    assert settings.webhook == ("http://a.test/1", "http://c.test/3")
    assert settings.webhook_limit == 7
    assert settings_from(parser.parse_args(["serve"])).webhook == settings.webhook


def test_none_given_no_webhook() -> None:
    settings = settings_from(build_parser().parse_args(["serve"]))
    assert (settings.webhook, settings.webhook_limit, settings.webhook_timeout) == ((), 5, 10.0)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("ftp://hooks.example/new", "not an http or https URL: 'ftp://hooks.example/new'"),
        ("hooks.example/new", "not an http or https URL: 'hooks.example/new'"),
        ("mailto:hooks@example.com", "not an http or https URL: 'mailto:hooks@example.com'"),
        ("http:///new", "no host in the URL 'http:///new'"),
        ("http://hooks.example:99999/", "not a port number in the URL 'http://hooks"),
        ("http://hooks.example/a b", "not a URL: 'http://hooks.example/a b' (it holds a space)"),
        ("http://hooks.example/\n", "not a URL: 'http://hooks.example/\\n' (it holds a space)"),
    ],
)
def test_a_bad_url_is_said_in_one_line_with_status_2(
    url: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--webhook", url])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("postier: serve: argument --webhook: " + said)
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "https://hooks.example/x?y=1", "HTTP://[::1]/"]
)
def test_a_good_url_is_taken_as_written(url: str) -> None:
    assert webhook_url(url) == url


def test_a_bad_url_in_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POSTIER_WEBHOOK", "gopher://hooks.example/")
    assert main(["serve"]) == 1
    err = capsys.readouterr().err
    assert err == "postier: POSTIER_WEBHOOK: not an http or https URL: 'gopher://hooks.example/'\n"


async def _given_up(caplog: pytest.LogCaptureFixture) -> None:
    while not any("given up" in r.getMessage() for r in caplog.records):
        await asyncio.sleep(0.01)


def test_a_message_gone_before_its_summary_is_read_is_logged_not_posted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = tmp_path / "mail"
    kept = stored(store, "Kept", ["alice@example.org"])
    with HookServer() as hook, Reader(store, fsync=False) as reader:

        async def run() -> None:
            service = WebhookService([hook.url("/new")], reader, "mbox")
            await service.start()
            try:
                service.submit(envelope(["alice@example.org"]))  # never stored
                service.submit(replace(envelope(["alice@example.org"]), queue_id=kept))
                while not hook.received("/new"):
                    await asyncio.sleep(0.01)
            finally:
                await service.stop()

        with caplog.at_level(logging.WARNING, "postier.webhook"):
            asyncio.run(asyncio.wait_for(run(), WAIT))
        [post] = hook.received("/new")
    assert post.json()["ID"] == delivery_id(kept.encode())
    lines = [r.getMessage() for r in caplog.records if r.name == "postier.webhook"]
    # Besides, the stop may find the post still waiting for its answer, and say so.
    told = [line for line in lines if not line.startswith("webhook: stopping with")]
    assert len(told) == 1
    assert told[0].endswith("not posted: gone from the store")


def test_a_message_stored_after_the_webhooks_stopped_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Reader(tmp_path / "mail", fsync=False) as reader:
        service = WebhookService(["http://127.0.0.1:9/"], reader, "mbox")

        async def run() -> None:
            await service.start()
            await service.stop()
            service.submit(replace(envelope(["alice@example.org"]), queue_id="LATE"))

        with caplog.at_level(logging.WARNING, "postier.webhook"):
            asyncio.run(run())
    assert [r.getMessage() for r in caplog.records] == [
        "webhook: LATE not posted: the server is stopping"
    ]
