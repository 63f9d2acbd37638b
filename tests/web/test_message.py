"""`/api/v1/message/{ID}`, its headers, raw bytes and parts, and `/view/{ID}.html|txt`."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from pathlib import Path

import pytest

from postier.store.read import Reader
from tests.store_read.helpers import PDF, deliver, html_only, plain
from tests.web.conftest import Api, ApiFor
from tests.web.messages import PNG, deliver_after_login, rich

ALICE = "alice@example.org"


def only_id(store: Path) -> str:
    with Reader(store) as reader:
        (item,) = reader.messages(limit=None).messages
        return item.id


def opened(store: Path, fmt: str, api_for: ApiFor, *messages: object) -> tuple[Api, str]:
    deliver(store, fmt, list(messages) or [rich()], [ALICE])  # type: ignore[arg-type]
    api = api_for(store)
    return api, api.get("/api/v1/messages").json()["messages"][0]["ID"]


def test_a_message_in_mailpits_shape(store: Path, fmt: str, api_for: ApiFor) -> None:
    api, id_ = opened(store, fmt, api_for)
    reply = api.get(f"/api/v1/message/{id_}")
    assert reply.status == 200
    body = reply.json()
    assert body["ID"] == id_
    assert body["MessageID"] == "m1@example.com"
    assert body["From"] == {"Name": "Sender", "Address": "sender@example.com"}
    assert body["To"] == [
        {"Name": "Alice A.", "Address": ALICE},
        {"Name": "", "Address": "bob@example.org"},
    ]
    assert body["Cc"] == [{"Name": "Carol", "Address": "carol@example.org"}]
    assert body["Bcc"] == [{"Name": "", "Address": "dave@example.org"}]
    assert body["ReplyTo"] == [{"Name": "Replies", "Address": "replies@example.com"}]
    assert body["ReturnPath"] == "sender@example.com"
    assert body["Subject"] == "Rich"
    assert body["Date"] == "2026-11-27T03:23:09+01:00"
    assert body["Text"] == "Plain words.\n"
    assert body["HTML"].startswith('<p>Hello <img src="cid:logo@x"')
    assert body["Size"] == len(api.get(f"/api/v1/message/{id_}/raw").body)
    assert body["Tags"] == [] and body["Username"] == ""
    assert body["Read"] is True
    assert body["ListUnsubscribe"] == {
        "Header": "<mailto:off@example.com>, <https://example.com/off>",
        "Links": ["mailto:off@example.com", "https://example.com/off"],
        "Errors": "",
        "HeaderPost": "List-Unsubscribe=One-Click",
    }
    (inline,) = body["Inline"]
    assert inline["PartID"] == "1.2.2"
    assert (inline["FileName"], inline["ContentID"], inline["ContentType"]) == (
        "logo@x",
        "logo@x",
        "image/png",
    )
    assert inline["Size"] == len(PNG)
    (pdf,) = body["Attachments"]
    assert (pdf["PartID"], pdf["FileName"]) == ("2", "invoice.pdf")
    assert pdf["ContentType"] == "application/pdf"
    assert pdf["Checksums"]["SHA256"] == hashlib.sha256(PDF).hexdigest()
    assert pdf["Checksums"]["MD5"] == hashlib.md5(PDF).hexdigest()


def test_opening_marks_it_read(store: Path, api_for: ApiFor) -> None:
    api, id_ = opened(store, "mbox", api_for)
    assert api.get("/api/v1/messages").json()["messages"][0]["Read"] is False
    assert api.get(f"/api/v1/message/{id_}/headers").status == 200  # does not mark
    assert api.get("/api/v1/messages").json()["unread"] == 1
    api.get(f"/api/v1/message/{id_}")
    assert api.get("/api/v1/messages").json()["messages"][0]["Read"] is True
    with Reader(store) as reader:
        assert reader.locate(id_).summary.read


def test_latest_is_the_newest(store: Path, api_for: ApiFor) -> None:
    api, _ = opened(store, "mbox", api_for, plain("Older"), plain("Newer"))
    assert api.get("/api/v1/message/latest").json()["Subject"] == "Newer"
    assert api.get("/api/v1/message/latest?query=older").json()["Subject"] == "Older"
    assert api.get("/api/v1/message/latest?query=nothing").status == 404


def test_no_message_is_a_404(store: Path, api_for: ApiFor) -> None:
    api, _ = opened(store, "mbox", api_for)
    for path in ("", "/headers", "/raw", "/part/1"):
        reply = api.get(f"/api/v1/message/qnosuchmessage2{path}")
        assert reply.status == 404, path
        assert "qnosuchmessage2" in reply.json()["Error"]
    empty = store.parent / "empty"
    empty.mkdir()
    assert api_for(empty).get("/api/v1/message/latest").status == 404


def test_headers_as_go_has_them(store: Path, api_for: ApiFor) -> None:
    folded = (
        b"From: Sender <sender@example.com>\r\nTo: alice@example.org\r\n"
        b"Subject: A subject\r\n  that is folded\r\nMessage-ID: <m1@example.com>\r\n"
        b"x-custom: one\r\nX-CUSTOM: two\r\n\r\nBody.\r\n"
    )
    api, id_ = opened(store, "mbox", api_for, folded)
    body = api.get(f"/api/v1/message/{id_}/headers").json()
    assert list(body) == sorted(body)
    assert body["Message-Id"] == ["<m1@example.com>"]
    assert body["Subject"] == ["A subject that is folded"]
    assert body["X-Custom"] == ["one", "two"]
    assert body["Delivered-To"] == [ALICE]
    assert body["Return-Path"] == ["<sender@example.com>"]
    assert all(isinstance(values, list) for values in body.values())


def test_raw_is_the_stored_bytes(store: Path, fmt: str, api_for: ApiFor) -> None:
    api, id_ = opened(store, fmt, api_for)
    with Reader(store) as reader:
        expected = reader.read_bytes(id_)
    reply = api.get(f"/api/v1/message/{id_}/raw")
    assert (reply.status, reply.body) == (200, expected)
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "Content-Disposition" not in reply.headers
    download = api.get(f"/api/v1/message/{id_}/raw?dl=1")
    assert download.headers["Content-Disposition"] == f'attachment; filename="{id_}.eml"'


def test_a_large_message_is_streamed_whole(store: Path, api_for: ApiFor) -> None:
    big = plain("Big", "line of text\n" * 400_000)  # ~5 MB, many chunks
    api, id_ = opened(store, "maildir", api_for, big)
    with Reader(store) as reader:
        expected = reader.read_bytes(id_)
    reply = api.get(f"/api/v1/message/{id_}/raw")
    assert reply.body == expected
    assert reply.headers["Content-Length"] == str(len(expected))


def test_parts_decoded_with_their_type(store: Path, fmt: str, api_for: ApiFor) -> None:
    api, id_ = opened(store, fmt, api_for)
    pdf = api.get(f"/api/v1/message/{id_}/part/2")
    assert (pdf.status, pdf.body, pdf.headers["Content-Type"]) == (200, PDF, "application/pdf")
    assert pdf.headers["Content-Disposition"] == 'inline; filename="invoice.pdf"'
    assert "sandbox" in pdf.headers["Content-Security-Policy"]
    image = api.get(f"/api/v1/message/{id_}/part/1.2.2")
    assert (image.body, image.headers["Content-Type"]) == (PNG, "image/png")


@pytest.mark.parametrize("part", ["1.1", "1.2.1", "9", "0", "..", "2.", "%2e%2e%2fetc"])
def test_a_part_that_is_not_there_is_a_404(part: str, store: Path, api_for: ApiFor) -> None:
    api, id_ = opened(store, "mbox", api_for)
    reply = api.get(f"/api/v1/message/{id_}/part/{part}")
    assert reply.status == 404
    assert "Error" in reply.json()


def test_username_of_a_login(store: Path, api_for: ApiFor) -> None:
    deliver_after_login(store, "mbox", plain("After login"), "tester")
    api = api_for(store)
    summary = api.get("/api/v1/messages").json()["messages"][0]
    assert summary["Username"] == "tester"
    assert api.get(f"/api/v1/message/{summary['ID']}").json()["Username"] == "tester"


def test_view_html_links_inline_images_and_is_sandboxed(store: Path, api_for: ApiFor) -> None:
    api, id_ = opened(store, "mbox", api_for)
    reply = api.get(f"/view/{id_}.html")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = reply.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox;") and "default-src 'none'" in policy
    part = f"/api/v1/message/{id_}/part/1.2.2"
    assert reply.text == f'<p>Hello <img src="{part}" alt="logo"></p><p><img src=\'{part}\'></p>\n'
    assert api.get(f"/api/v1/message/{id_}/part/1.2.2").body == PNG
    assert api.get("/api/v1/messages").json()["unread"] == 0


def test_view_text(store: Path, api_for: ApiFor) -> None:
    api, id_ = opened(store, "mbox", api_for, html_only())
    reply = api.get(f"/view/{id_}.txt")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "News" in reply.text and "<h1>" not in reply.text
    assert api.get("/view/latest.txt").text == reply.text


def test_views_that_are_not_there(store: Path, api_for: ApiFor) -> None:
    api, id_ = opened(store, "mbox", api_for, plain("Text only"))
    assert "no HTML part" in api.get(f"/view/{id_}.html").json()["Error"]
    for path in (f"/view/{id_}.pdf", f"/view/{id_}", "/view/qnosuchmessage2.txt", "/view/..html"):
        assert api.get(path).status == 404, path


def test_a_client_that_leaves_mid_raw_leaves_the_server_well(
    store: Path, api_for: ApiFor, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that leaves in the middle of `/raw` leaves the server serving, its log
    clean, and the file closed."""
    big = plain("Big", "line of text\n" * 400_000)
    api, id_ = opened(store, "mbox", api_for, big)

    async def leave_early(port: int, id_: str) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET /api/v1/message/{id_}/raw HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        start = await reader.read(1024)
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.2)  # the server meets the closed connection
        return start

    started = api.runner.run(asyncio.wait_for(leave_early(api.client.port, id_), 10))
    assert started.startswith(b"HTTP/1.1 200")
    for _ in range(3):
        assert api.get("/livez").status == 200
    assert api.get(f"/api/v1/message/{id_}/raw").body.endswith(b"line of text\n")
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert not left_open(store, api)  # only this store's files count: not another test's


def left_open(store: Path, api: Api, wait: float = 5.0) -> list[str]:
    """The store's mbox files this process still has open after `wait` seconds at most.

    The server runs on `api`'s event loop, which runs only while a call of the test's
    runs it: the waiting runs it too, or a handler that the departed client left half
    way (its next write fails, then it closes its file) would wait for the next request
    and its file look leaked."""
    deadline = time.monotonic() + wait
    while ours := [fd for fd in open_files() if fd.startswith(str(store))]:
        if time.monotonic() > deadline:
            break
        api.runner.run(asyncio.sleep(0.05))
    return [fd for fd in ours if fd.endswith(".mbox")]


def open_files() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
    return found
