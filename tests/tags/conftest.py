"""The browser fixtures of tests/browser (chromium through Playwright, a real server),
for the page's tags."""

from tests.browser.conftest import context, locale, postier, watch  # noqa: F401
