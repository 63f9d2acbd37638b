"""The page's Compatibility tab: the HTML check of the open message (a bar per client
family, the features found, worst first), in a real browser; off for a message without
HTML; nothing runs and nothing remote is asked for."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Postier, Watch, open_page, screenshot

expect = pytest.importorskip("playwright.sync_api").expect

HTML = (
    "<html><head><style>@media (prefers-color-scheme: dark) { .a { color: #fff } }</style>"
    "</head><body><div style='display: flex; border-radius: 4px'><svg></svg>"
    "<img src='http://203.0.113.7/logo.webp'><p class=a>Hello</p></div></body></html>"
)


def test_the_compatibility_tab(postier: Postier, context: Any, watch: Watch) -> None:
    postier.send("Styled", html=HTML)
    postier.send("Plain only")
    page = open_page(context, postier)
    page.locator("#messages .row", has_text="Plain only").click()
    expect(page.locator("#subject")).to_have_text("Plain only")
    expect(page.locator("#tab-check")).to_be_disabled()
    page.locator("#messages .row", has_text="Styled").click()
    expect(page.locator("#subject")).to_have_text("Styled")
    page.locator("#tab-check").click()
    expect(page.locator("#tab-check")).to_have_attribute("aria-selected", "true")
    check = page.locator("#view .check")
    expect(check.locator(".check-total")).to_contain_text("% supported")
    messages = postier.api("/api/v1/messages")["messages"]
    (message,) = [m for m in messages if m["Subject"] == "Styled"]
    body = postier.api(f"/api/v1/message/{message['ID']}/html-check")
    expect(check.locator(".check-clients tr")).to_have_count(len(body["Families"]))
    features = check.locator(".check-feature")
    expect(features).to_have_count(len(body["Warnings"]))
    slugs = [w["Slug"] for w in body["Warnings"]]
    assert features.evaluate_all("items => items.map(i => i.dataset.slug)") == slugs
    assert {"css-display-flex", "html-svg", "image-webp"} <= set(slugs)
    width = check.locator(".check-clients .share-bar .yes").first.evaluate("e => e.style.width")
    assert width.endswith("%")
    screenshot(page, "html-check")
    features.last.scroll_into_view_if_needed()
    screenshot(page, "html-check-features")
    watch.assert_harmless()
