"""The page's files: served from the package with a strict policy, nothing else; and
the policies of a message's HTML view."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from postier.web.page import FILES
from tests.store_read.helpers import deliver, plain
from tests.web.conftest import ApiFor
from tests.web.messages import rich


def test_the_page_is_served_with_a_strict_policy(store: Path, api_for: ApiFor) -> None:
    reply = api_for(store).get("/")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/assets/app.js">' in reply.text
    policy = reply.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert reply.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_file_of_the_page_comes_with_its_type(store: Path, api_for: ApiFor, name: str) -> None:
    api = api_for(store)
    reply = api.get(f"/assets/{name}")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == FILES[name]
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.body == (Path("src/postier/web/assets") / name).read_bytes()
    again = api.get(f"/assets/{name}", headers={"If-None-Match": reply.headers["Etag"]})
    assert (again.status, again.body) == (304, b"")


@pytest.mark.parametrize(
    "path",
    [
        "/assets/missing.js",
        "/assets/..%2Fapp.py",
        "/assets/%2e%2e/page.py",
        "/assets/../page.py",
        "/assets/",
        "/index.html",
        "/assets/app.js/x",
    ],
)
def test_no_other_file_is_served(store: Path, api_for: ApiFor, path: str) -> None:
    reply = api_for(store).get(path)
    assert reply.status == 404
    assert "Error" in reply.json()


@pytest.mark.parametrize("name", sorted(name for name in FILES if name.endswith(".js")))
def test_the_scripts_never_write_markup(name: str) -> None:
    script = (Path("src/postier/web/assets") / name).read_text()
    for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert risky not in script


def test_a_message_view_loads_nothing_from_elsewhere_until_asked(
    store: Path, api_for: ApiFor
) -> None:
    deliver(store, "mbox", [rich()], ["alice@example.org"])
    api = api_for(store)
    first = api.get("/api/v1/messages").json()["messages"][0]["ID"]
    policy = api.get(f"/view/{first}.html").headers["Content-Security-Policy"]
    assert policy.startswith("sandbox;")
    assert "default-src 'none'" in policy
    assert "img-src 'self' data:;" in policy
    assert "form-action 'none'" in policy
    assert "base-uri 'none'" in policy
    remote = api.get(f"/view/{first}.html?remote=1").headers["Content-Security-Policy"]
    assert remote.startswith("sandbox;")
    assert "img-src * data:" in remote
    assert "script-src" not in remote
    assert "default-src 'none'" in remote


def test_a_view_without_html_is_still_a_404(store: Path, api_for: ApiFor) -> None:
    deliver(store, "mbox", [plain("Only text")], ["alice@example.org"])
    api = api_for(store)
    first = api.get("/api/v1/messages").json()["messages"][0]["ID"]
    assert api.get(f"/view/{first}.html?remote=1").status == 404


def _catalogue(script: str, language: str) -> set[str]:
    """The keys of one language's catalogue in i18n.js (one entry a line, 4 spaces in)."""
    start = script.index(f"\n  {language}: {{\n")
    end = script.index("\n  },\n", start)
    entry = re.compile(r'^ {4}(?:"([^"]+)"|([A-Za-z]\w*)):', re.MULTILINE)
    return {quoted or bare for quoted, bare in entry.findall(script[start:end])}


def test_every_word_of_the_page_is_in_both_languages() -> None:
    assets = Path("src/postier/web/assets")
    script = (assets / "i18n.js").read_text()
    english, french = _catalogue(script, "en"), _catalogue(script, "fr")
    assert len(english) > 80
    assert english == french
    page = (assets / "index.html").read_text()
    fixed = set(re.findall(r'data-i18n(?:-aria|-title|-placeholder)?="([^"]+)"', page))
    said = set(re.findall(r'\bt\("([^"]+)"', (assets / "app.js").read_text()))
    assert fixed and said
    assert fixed | said <= english
