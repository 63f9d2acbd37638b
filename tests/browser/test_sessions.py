"""The page's sessions view in a real browser: the recent SMTP sessions, each one's
dialogue told by the parts of the brief, live while it goes on; a message's link to the
session that delivered it; the page in French or English, as the browser asks or the
switch says; and a client's lines of markup shown as text."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import Postier, Watch, open_page, screenshot
from tests.support.smtp import RawClient

pytestmark = pytest.mark.slow

expect = pytest.importorskip("playwright.sync_api").expect

FRENCH_DAYS = re.compile(r"\b(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\b")


def sessions(page: Any) -> Any:
    page.locator("#sessions-entry").click()
    return page.locator("#sessions .row")


def parts(page: Any) -> list[str]:
    return page.locator("#dialogue .line .part").all_inner_texts()  # type: ignore[no-any-return]


def wires(page: Any) -> list[str]:
    return page.locator("#dialogue .wire").all_inner_texts()  # type: ignore[no-any-return]


def style(locator: Any, name: str) -> str:
    return locator.evaluate(f"node => getComputedStyle(node).{name}")  # type: ignore[no-any-return]


def test_the_sessions_view_tells_a_session_sent_over_smtp(
    postier: Postier, context: Any, watch: Watch
) -> None:
    postier.send("Told by its parts")
    page = open_page(context, postier)
    expect(page.locator("#sessions-entry")).to_contain_text("Sessions")
    rows = sessions(page)
    expect(rows).to_have_count(1)
    expect(page.locator("#list-title")).to_have_text("SMTP sessions")
    expect(page.locator("#messages")).to_be_hidden()
    expect(rows.first).to_contain_text("127.0.0.1")
    expect(rows.first).to_contain_text("1 accepted")
    expect(rows.first).to_contain_text("0 refused")
    expect(rows.first).not_to_contain_text("live")
    rows.first.click()
    (summary,) = postier.api("/api/v1/sessions")["Sessions"]
    expect(page.locator("#session-title")).to_have_text(f"Session {summary['ID']}")
    told = parts(page)
    assert told[0] == "[listener]" and told[-1] == "[terminus]"
    for part in ("[understand]", "[process]", "[send]", "[brain]", "[intermediary]"):
        assert part in told
    assert told.index("[intermediary]") < told.index("[terminus]")
    said = wires(page)
    assert said[0].startswith("S: 220 ")
    assert said[1].lower().startswith("c: ehlo ")
    assert "C: Subject: Told by its parts" in said
    assert any(re.fullmatch(r"S: 250 2\.0\.0 Ok: stored as \w+", line) for line in said)
    assert said[-1].startswith("S: 221 ")
    expect(page.locator("#dialogue")).to_contain_text(".mbox")  # where the intermediary keeps it
    # Each part its colour; the client's lines unlike the server's, both monospace.
    client = page.locator("#dialogue .wire.client").first
    server = page.locator("#dialogue .wire.server").first
    assert style(client, "backgroundColor") != style(server, "backgroundColor")
    assert "mono" in style(client, "fontFamily").lower()
    listener = page.locator("#dialogue .part-listener").first
    send = page.locator("#dialogue .part-send").first
    assert style(listener, "borderLeftColor") != style(send, "borderLeftColor")
    assert style(listener.locator(".part"), "color") != style(send.locator(".part"), "color")
    screenshot(page, "sessions-en")
    # A new session appears in the list while it is shown, newest first.
    postier.send("Another one")
    expect(rows).to_have_count(2, timeout=4000)
    newest = postier.api("/api/v1/sessions")["Sessions"][0]
    expect(rows.first.locator(".session-id")).to_have_text(newest["ID"])
    expect(page.locator("#session-title")).to_have_text(f"Session {summary['ID']}")
    watch.assert_harmless()


def test_a_session_in_progress_shows_live_then_its_end(
    postier: Postier, context: Any, watch: Watch
) -> None:
    with RawClient(postier.process.address) as client:
        assert client.reply().code == 220
        assert client.command("EHLO learner").code == 250
        assert client.command("MAIL FROM:<teacher@example.org>").code == 250
        page = open_page(context, postier)
        rows = sessions(page)
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_class(re.compile(r"\bgoing\b"))
        expect(rows.first).to_contain_text("live")
        expect(page.locator("#sessions-count")).to_have_class(re.compile(r"\bgoing\b"))
        rows.first.click()
        dialogue = page.locator("#dialogue")
        expect(dialogue).to_contain_text("C: MAIL FROM:<teacher@example.org>")
        expect(dialogue).to_have_class(re.compile(r"\bgoing\b"))
        expect(page.locator("#session-fields")).to_contain_text("still going on")
        screenshot(page, "session-live")
        # Open, it follows the conversation without a click.
        assert client.command("RCPT TO:<pupil@example.org>").code == 250
        expect(dialogue).to_contain_text("C: RCPT TO:<pupil@example.org>", timeout=4000)
        assert parts(page)[-1] != "[terminus]"
        assert client.command("QUIT").code == 221
        assert client.closed_by_server(5)
    expect(dialogue).not_to_have_class(re.compile(r"\bgoing\b"), timeout=4000)
    expect(page.locator("#session-fields")).not_to_contain_text("still going on")
    assert parts(page)[-1] == "[terminus]"
    assert wires(page)[-1].startswith("S: 221 ")
    expect(rows.first).not_to_have_class(re.compile(r"\bgoing\b"), timeout=4000)
    expect(rows.first).not_to_contain_text("live")
    watch.assert_harmless()


def test_a_message_links_to_the_session_that_delivered_it(
    postier: Postier, context: Any, watch: Watch
) -> None:
    postier.send("Came first")
    postier.send("Came second", to="bob@example.org")
    postier.send("Came third")
    by_count = postier.api("/api/v1/sessions")["Sessions"]
    assert len(by_count) == 3
    second = by_count[1]["ID"]  # newest first
    page = open_page(context, postier)
    page.locator("#messages .row", has_text="Came second").click()
    link = page.locator("#message-session")
    expect(link).to_have_text(f"Session {second}")
    link.click()
    expect(page.locator("#session-title")).to_have_text(f"Session {second}")
    expect(page.locator("#list-title")).to_have_text("SMTP sessions")
    expect(page.locator("#sessions .row[aria-selected='true']")).to_contain_text(second)
    assert "C: Subject: Came second" in wires(page)
    assert "C: Subject: Came first" not in wires(page)
    # Back to a mailbox: the messages again.
    page.locator("#mailboxes button", has_text="bob@example.org").click()
    expect(page.locator("#messages .row")).to_have_count(1)
    expect(page.locator("#session")).to_be_hidden()
    watch.assert_harmless()


@pytest.mark.parametrize("locale", ["fr-FR"])
def test_a_french_browser_gets_french_and_the_switch_keeps_english(
    postier: Postier, context: Any, watch: Watch
) -> None:
    postier.send("Un message")
    page = open_page(context, postier)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("#live")).to_have_text("en direct")
    expect(page.locator("#mailboxes button").first).to_contain_text("Tout le courrier")
    expect(page.locator("#mark-all-read")).to_have_text("Tout marquer lu")
    expect(page.locator("#search")).to_have_attribute("placeholder", re.compile("^Chercher"))
    expect(page.locator(".lang [data-lang='fr']")).to_have_attribute("aria-pressed", "true")
    page.locator("#messages .row").first.click()
    expect(page.locator("#fields dt").first).to_have_text("De")
    expect(page.locator("#toggle-read")).to_have_text("Marquer comme non lu")
    rows = sessions(page)
    expect(page.locator("#sessions-entry")).to_contain_text("Sessions SMTP")
    expect(rows.first).to_contain_text("1 accepté")
    rows.first.click()
    expect(page.locator("#dialogue .line").first).to_contain_text("[écouteur]")
    told = parts(page)
    assert told[0] == "[écouteur]" and told[-1] == "[terminus]"
    assert "[intermédiaire]" in told and "[comprendre]" in told
    expect(page.locator("#dialogue")).to_contain_text("connecté")
    expect(page.locator("#session-fields")).to_contain_text("Début")
    assert FRENCH_DAYS.search(page.locator("#session-fields dd").nth(1).inner_text())
    screenshot(page, "sessions-fr")
    page.locator(".lang [data-lang='en']").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#dialogue .line").first).to_contain_text("[listener]")
    assert parts(page)[-1] == "[terminus]"
    expect(page.locator("#list-title")).to_have_text("SMTP sessions")
    expect(page.locator("#session-fields")).to_contain_text("Started")
    assert not FRENCH_DAYS.search(page.locator("#session-fields dd").nth(1).inner_text())
    expect(page.locator("#live")).to_have_text("live")
    page.reload()
    expect(page.locator("#live")).to_have_text("live")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#mailboxes button").first).to_contain_text("All mail")
    expect(page.locator(".lang [data-lang='en']")).to_have_attribute("aria-pressed", "true")
    sessions(page).first.click()
    expect(page.locator("#dialogue .line").first).to_contain_text("[listener]")
    watch.assert_harmless()


def test_a_clients_markup_shows_as_text(postier: Postier, context: Any, watch: Watch) -> None:
    hostile = [
        "EHLO <img src=x onerror=alert(1)>",
        'MAIL FROM:<"<script>alert(2)</script>"@evil.example>',
        "RCPT TO:<<b onmouseover=alert(3)>bold</b>@evil.example>",
        "NOOP <svg onload=alert(4)>",
    ]
    with RawClient(postier.process.address) as client:
        assert client.reply().code == 220
        for line in hostile:
            client.command(line)
        assert client.command("QUIT").code == 221
    page = open_page(context, postier)
    sessions(page).first.click()
    dialogue = page.locator("#dialogue")
    for line in hostile:
        expect(dialogue).to_contain_text(f"C: {line}")
    assert page.locator("#dialogue img, #dialogue script, #dialogue svg, #dialogue b").count() == 0
    page.locator("#dialogue .wire.client").first.hover()
    page.emulate_media(color_scheme="dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(246, 247, 249)"  # the dark colours, not the light ones
    screenshot(page, "session-hostile-dark")
    page.set_viewport_size({"width": 390, "height": 820})
    expect(page.locator("#sessions")).to_be_hidden()  # one pane: the dialogue
    screenshot(page, "session-phone")
    page.locator("#back").click()
    expect(page.locator("#sessions")).to_be_visible()
    expect(page.locator("#session")).to_be_hidden()
    page.wait_for_timeout(300)
    watch.assert_harmless()
