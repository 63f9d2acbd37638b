"""`POST /api/v1/send` against a real `postier serve`: the message is composed, goes in
through the server's own SMTP port (recipient policy, chaos, store, relay), and can be
read back by the ID answered; aiosmtpd stands for the relay's upstream; npm's
`mailpit-api` client sends through it unchanged."""

from __future__ import annotations

import base64
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.client.servers import LoopbackController, RecordingHandler
from tests.support.server import ServerProcess
from tests.web.npm_call import npm_call

TIMEOUT = 15.0
SENDER = {"Email": "app@example.com", "Name": "The App"}


class Http:
    """The HTTP API of one server, JSON in and out, each call bounded."""

    def __init__(self, url: str) -> None:
        self.url = url

    def call(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, bytes]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return response.status, _json(response.read()), b""
        except urllib.error.HTTPError as error:
            with error:
                raw = error.read()
            return error.code, _json(raw), raw

    def send(self, body: object, **headers: str) -> tuple[int, Any]:
        status, answer, _ = self.call("POST", "api/v1/send", body, headers)
        return status, answer

    def get(self, path: str) -> Any:
        status, answer, _ = self.call("GET", path)
        assert status == 200, (path, status, answer)
        return answer

    def raw(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=TIMEOUT) as response:
            data: bytes = response.read()
            return data


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def http_url(server: ServerProcess) -> str:
    found = re.search(r"HTTP API on (http://\S+?/);", server.wait_for_log(r"HTTP API on"))
    assert found is not None
    return found[1]


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[LoopbackController, RecordingHandler]]:
    handler = RecordingHandler()
    controller = LoopbackController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, upstream: tuple[LoopbackController, Any]
) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path_factory.mktemp("send") / "mail",
        "--http-port", "0", "--reject", r"nobody@.*",
        "--relay", f"127.0.0.1:{upstream[0].port}", "--relay-match", r".*@out\.test",
        "--relay-retry", "1",
    )  # fmt: skip
    with process:
        yield process


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Http:
    return Http(http_url(server))


def message(to: str, **fields: Any) -> dict[str, Any]:
    return {"From": SENDER, "To": [{"Email": to}], "Subject": "hello", "Text": "hi", **fields}


def header_block(raw: bytes) -> bytes:
    """The header block, trace fields included (stored lines may end in LF alone)."""
    return re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]


def mailbox(api: Http, address: str) -> list[dict[str, Any]]:
    status, answer, _ = api.call("GET", f"api/v1/messages?mailbox={address}")
    if status == 404:  # no mailbox: nothing was ever stored for it
        return []
    assert status == 200, answer
    listed: list[dict[str, Any]] = answer["messages"]
    return listed


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.05)


def test_text_html_and_attachments_round_trip(api: Http) -> None:
    data = os.urandom(3000)
    status, answer = api.send(
        message(
            "round@example.org",
            Text="the text",
            HTML='<p>the <b>HTML</b> <img src="cid:dot"></p>',
            Attachments=[
                {"Content": base64.b64encode(data).decode(), "Filename": "noise.bin"},
                {
                    "Content": base64.b64encode(b"GIF89a").decode(),
                    "Filename": "dot.gif",
                    "ContentType": "image/gif",
                    "ContentID": "dot",
                },
            ],
            Headers={"X-Order": "42"},
        )
    )
    assert status == 200, answer
    ref = answer["ID"]
    assert set(answer) == {"ID"}
    shown = api.get(f"api/v1/message/{ref}")
    assert shown["ID"] == ref
    assert shown["Subject"] == "hello"
    assert shown["Text"].strip() == "the text"
    assert "<b>HTML</b>" in shown["HTML"]
    [attached] = shown["Attachments"]
    assert (attached["FileName"], attached["Size"]) == ("noise.bin", len(data))
    [inline] = shown["Inline"]
    assert (inline["FileName"], inline["ContentID"]) == ("dot.gif", "dot")
    assert api.raw(f"api/v1/message/{ref}/part/{attached['PartID']}") == data
    assert api.get(f"api/v1/message/{ref}/headers")["X-Order"] == ["42"]
    # It came in over SMTP: the server's own trace, with its queue id.
    raw = api.raw(f"api/v1/message/{ref}/raw")
    assert re.search(rb"Received: from .*\r?\n\s+by mx\.test \(postier\) with E?SMTP id", raw)
    assert ref in [item["ID"] for item in api.get("api/v1/messages?limit=0")["messages"]]


def test_bcc_is_delivered_but_in_no_header(api: Http) -> None:
    status, answer = api.send(
        message("seen@example.org", Bcc=["unseen@example.net"], Subject="blind")
    )
    assert status == 200, answer
    [hidden] = mailbox(api, "unseen@example.net")
    assert hidden["Subject"] == "blind"
    for copy in (mailbox(api, "seen@example.org")[0], hidden):
        head = header_block(api.raw(f"api/v1/message/{copy['ID']}/raw"))
        # The trace of the hidden copy names its own recipient; the message never does.
        message_head = head[head.index(b"\nFrom: ") :]
        assert b"unseen@example.net" not in message_head
        assert b"\nBcc:" not in head
    delivery = header_block(api.raw(f"api/v1/message/{answer['ID']}/raw"))
    assert b"unseen" not in delivery[delivery.index(b"\nFrom: ") :]


def test_unicode_subject_and_names_are_encoded_words(api: Http) -> None:
    status, answer = api.send(
        {
            "From": {"Email": "app@example.com", "Name": "Zoë Ünïcode"},
            "To": [{"Email": "uni@example.org", "Name": "Jürgen, the “reader”"}],
            "Subject": "Grüße ✓ — 日本語",
            "Text": "ça marche",
        }
    )
    assert status == 200, answer
    raw = api.raw(f"api/v1/message/{answer['ID']}/raw")
    head = header_block(raw)
    assert head.isascii(), "RFC 2047: no raw UTF-8 in the headers"
    assert re.search(rb"\nSubject: =\?utf-8\?[bq]\?", head, re.IGNORECASE)
    shown = api.get(f"api/v1/message/{answer['ID']}")
    assert shown["Subject"] == "Grüße ✓ — 日本語"
    assert shown["From"] == {"Name": "Zoë Ünïcode", "Address": "app@example.com"}
    assert shown["To"] == [{"Name": "Jürgen, the “reader”", "Address": "uni@example.org"}]
    assert shown["Text"].strip() == "ça marche"


INJECTED = [
    ("Subject", {"Subject": "hi\r\nBcc: victim@example.net"}),
    ("a name", {"From": {"Email": "app@example.com", "Name": "x\nBcc: victim@example.net"}}),
    ("a header", {"Headers": {"X-A": "1\r\nBcc: victim@example.net"}}),
    ("a reserved header", {"Headers": {"Bcc": "victim@example.net"}}),
]


@pytest.mark.parametrize(("where", "fields"), INJECTED, ids=[w for w, _ in INJECTED])
def test_header_injection_is_refused_and_nothing_is_sent(
    api: Http, server: ServerProcess, where: str, fields: dict[str, Any]
) -> None:
    status, answer = api.send(message("target@example.org", **fields))
    assert status == 400
    assert set(answer) == {"Error"}
    assert "target@example.org" not in server.log_text()
    assert mailbox(api, "victim@example.net") == []


def test_another_origin_is_refused(api: Http, server: ServerProcess) -> None:
    status, answer = api.send(message("origin@example.org"), Origin="http://evil.example")
    assert status == 403
    assert "another origin" in answer["Error"]
    assert "origin@example.org" not in server.log_text()
    own = api.url.rstrip("/")
    status, answer = api.send(message("origin@example.org"), Origin=own)
    assert status == 200, answer


def test_a_rejected_recipient_is_the_smtp_servers_refusal(api: Http) -> None:
    status, answer = api.send(message("nobody@example.org"))
    assert status == 400
    assert answer["Reply"].startswith("550 5.1.1")
    assert answer["Refused"]["nobody@example.org"].startswith("550 5.1.1")
    assert "ID" not in answer


def test_some_rejected_recipients_are_told_beside_what_was_stored(api: Http) -> None:
    body = message("taken@example.org", Cc=[{"Email": "nobody@example.com"}], Subject="half")
    status, answer = api.send(body)
    assert status == 400
    assert list(answer["Refused"]) == ["nobody@example.com"]
    shown = api.get(f"api/v1/message/{answer['ID']}")
    assert shown["Subject"] == "half"
    assert [copy["Subject"] for copy in mailbox(api, "taken@example.org")] == ["half"]
    assert mailbox(api, "nobody@example.com") == []


def test_a_relayed_recipient_reaches_the_upstream(
    api: Http, upstream: tuple[LoopbackController, RecordingHandler]
) -> None:
    status, answer = api.send(message("far@out.test", Subject="relayed"))
    assert status == 200, answer
    handler = upstream[1]
    wait_until(lambda: any(b"Subject: relayed" in m.content for m in handler.messages))
    [relayed] = [m for m in handler.messages if b"Subject: relayed" in m.content]
    assert relayed.recipients == ["far@out.test"]
    assert api.get(f"api/v1/message/{answer['ID']}")["Subject"] == "relayed"


def test_a_temporary_refusal_is_a_503_with_the_reply(tmp_path: Path) -> None:
    with ServerProcess(
        tmp_path / "mail", "--http-port", "0", "--chaos", "recipient=451:100"
    ) as chaotic:
        status, answer = Http(http_url(chaotic)).send(message("later@example.org"))
    assert status == 503
    assert answer["Refused"]["later@example.org"].startswith("451")


def test_postier_web_alone_cannot_send(tmp_path: Path) -> None:
    from tests.web.process import WebProcess

    (tmp_path / "mail").mkdir()
    web = WebProcess(tmp_path / "mail").start()
    try:
        status, answer = Http(web.url + "/").send(message("x@example.org"))
    finally:
        web.stop()
    assert status == 400
    assert "no SMTP listener" in answer["Error"]


def test_npm_mailpit_api_sends_through_postier(api: Http) -> None:
    request = {
        "From": {"Email": "npm@example.com", "Name": "Node"},
        "To": [{"Email": "npm@example.org"}],
        "Bcc": ["npm-hidden@example.org"],
        "Subject": "from mailpit-api",
        "Text": "sent by sendMessage",
        "Attachments": [{"Content": base64.b64encode(b"npm").decode(), "Filename": "n.txt"}],
        "Tags": ["npm"],
    }
    result = npm_call(api.url, "sendMessage", request)
    assert result["ok"], result
    shown = api.get(f"api/v1/message/{result['value']['ID']}")
    assert shown["Subject"] == "from mailpit-api"
    assert [a["FileName"] for a in shown["Attachments"]] == ["n.txt"]
    assert api.get(f"api/v1/message/{shown['ID']}/headers")["X-Tags"] == ["npm"]
    assert len(mailbox(api, "npm-hidden@example.org")) == 1


def test_recipients_split_over_transactions_answer_the_first_ones_delivery(
    tmp_path: Path,
) -> None:
    with ServerProcess(tmp_path / "mail", "--http-port", "0", "--max-recipients", "1") as small:
        api = Http(http_url(small))
        body = message("first@example.org", Cc=[{"Email": "second@example.org"}])
        status, answer = api.send(body)
        assert status == 200, answer
        head = header_block(api.raw(f"api/v1/message/{answer['ID']}/raw"))
        assert b"Delivered-To: first@example.org" in head
        assert len(mailbox(api, "second@example.org")) == 1
        accepted = re.findall(r"accepted (\S+) from <app@example.com>", small.log_text())
    assert len(accepted) == 2, "one transaction for each recipient"


def test_with_auth_required_the_submission_is_refused(tmp_path: Path) -> None:
    """The API does not log in to SMTP: a server that wants a login refuses its mail."""
    with ServerProcess(
        tmp_path / "mail", "--http-port", "0", "--auth", "any", "--auth-insecure",
        "--auth-required",
    ) as guarded:  # fmt: skip
        status, answer = Http(http_url(guarded)).send(message("locked@example.org"))
    assert status == 400
    assert answer["Reply"].startswith("530")
