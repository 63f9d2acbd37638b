"""The page's tags in a real browser (Debian's chromium through Playwright): chips on the
list and on the message, a tag added and one removed through `PUT /api/v1/tags` (the
server's answer is what shows), a chip that searches for its tag; a tag's name is text,
never markup."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest

from tests.browser.conftest import Postier, Watch, open_page, screenshot

pytestmark = pytest.mark.slow

expect = pytest.importorskip("playwright.sync_api").expect


def tagged(subject: str, tags: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Shop <orders@shop.example>"
    message["To"] = "alice@example.org"
    message["Subject"] = subject
    message["X-Tags"] = tags
    message.set_content("An order.\n")
    return message


def chip_names(scope: Any) -> list[str]:
    return [str(name) for name in scope.locator(".tag .tag-name").all_inner_texts()]


def test_tags_shown_added_removed_and_searched(
    context: Any, postier: Postier, watch: Watch
) -> None:
    postier.send("Invoice 12", message=tagged("Invoice 12", "Invoice, Urgent"))
    postier.send("Hello", message=tagged("Hello", ""))
    page = open_page(context, postier)
    rows = page.locator("#messages .row")
    expect(rows).to_have_count(2)
    invoice = rows.filter(has_text="Invoice 12")
    expect(invoice.locator(".tag")).to_have_count(2)
    assert chip_names(invoice) == ["Invoice", "Urgent"]
    expect(rows.filter(has_text="Hello").locator(".tag")).to_have_count(0)

    invoice.locator(".subject").click()
    tags = page.locator("#tags")
    expect(tags.locator(".tag")).to_have_count(2)
    tags.locator("#tag-input").fill("<b>Paid</b> ok")  # cleaned by the server: "b Paid b ok"
    tags.locator("#tag-input").press("Enter")
    expect(tags.locator(".tag")).to_have_count(3)
    assert chip_names(tags) == ["Invoice", "Urgent", "b Paid b ok"]
    tags.get_by_role("button", name="Remove the tag Urgent").click()
    expect(tags.locator(".tag")).to_have_count(2)
    assert chip_names(tags) == ["Invoice", "b Paid b ok"]
    expect(invoice.locator(".tag")).to_have_count(2)  # the list follows
    assert page.locator("#tags b").count() == 0  # the name is text, not markup
    found = postier.api(f"/api/v1/message/{postier.ids()[-1]}")
    assert found["Subject"] == "Invoice 12"
    assert found["Tags"] == ["Invoice", "b Paid b ok"]
    assert postier.api("/api/v1/tags") == ["b Paid b ok", "Invoice"]
    screenshot(page, "tags-message")

    tags.get_by_role("button", name="Invoice", exact=True).click()  # search for it
    expect(page.locator("#search")).to_have_value('tag:"Invoice"')
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Invoice 12")
    screenshot(page, "tags-search")
    watch.assert_harmless()


def test_a_tag_added_in_one_tab_shows_in_another_at_once(
    context: Any, postier: Postier, watch: Watch
) -> None:
    """The live `update` of `{"ID", "Tags"}`: the other tab's list and open message follow,
    with no reload of either."""
    postier.send("Invoice 7", message=tagged("Invoice 7", "Invoice"))
    first = open_page(context, postier)
    second = open_page(context, postier)
    for page in (first, second):
        # Opening a message also asks for its SMTP session: wait for that answer too, so
        # that the requests counted below are only those the update could cause.
        with page.expect_response(lambda response: response.url.endswith("/session")):
            page.locator("#messages .row").filter(has_text="Invoice 7").locator(".subject").click()
        expect(page.locator("#tags .tag")).to_have_count(1)
    loads = []
    second.on("request", lambda request: loads.append(request.url))
    first.locator("#tag-input").fill("Paid")
    first.locator("#tag-input").press("Enter")
    expect(second.locator("#tags .tag")).to_have_count(2)
    assert chip_names(second.locator("#tags")) == ["Invoice", "Paid"]
    row = second.locator("#messages .row").filter(has_text="Invoice 7")
    expect(row.locator(".tag")).to_have_count(2)
    assert not [url for url in loads if "/api/v1/message" in url]  # told, not asked again
    watch.assert_harmless()
