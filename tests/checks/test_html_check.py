"""`GET /api/v1/message/{ID}/html-check`: Mailpit's `HTMLCheckResponse` shape, its scores
worked out from caniemail's data, the score per client family, a message without HTML;
and the vendored data with its licence and the script that refreshes it."""

from __future__ import annotations

import json
import os
from email.message import EmailMessage
from pathlib import Path

import pytest

from postier.checks.htmlcheck import caniemail
from tests.store_read.helpers import deliver, plain
from tests.web.conftest import Api, ApiFor

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ROOT / "src" / "postier" / "checks"

TOTAL_KEYS = {"Nodes", "Partial", "Supported", "Tests", "Unsupported"}
WARNING_KEYS = {
    "Slug", "Title", "Description", "URL", "Category", "Tags", "Keywords", "NotesByNumber",
    "Results", "Score",
}  # fmt: skip
RESULT_KEYS = {"Family", "Name", "Platform", "Version", "Support", "NoteNumber"}
SCORE_KEYS = {"Found", "Supported", "Partial", "Unsupported"}

HTML = (
    "<!doctype html><html><head><style>@media (prefers-color-scheme: dark) "
    "{ .a { color: #fff } }</style></head><body><div style='display: flex'>"
    "<svg></svg><img src='a.webp'><p>Hello</p></div></body></html>"
)


def html_message(html: str = HTML) -> EmailMessage:
    message = plain("Newsletter")
    message.set_content("Hello")
    message.add_alternative(html, subtype="html")
    return message


def opened(store: Path, api_for: ApiFor, message: EmailMessage) -> tuple[Api, str]:
    deliver(store, "mbox", [message])
    api = api_for(store)
    return api, api.get("/api/v1/messages").json()["messages"][0]["ID"]


def test_the_check_in_mailpits_shape(store: Path, api_for: ApiFor) -> None:
    api, id_ = opened(store, api_for, html_message())
    reply = api.get(f"/api/v1/message/{id_}/html-check")
    assert reply.status == 200, reply.text
    body = reply.json()
    assert {"Warnings", "Platforms", "Total"} <= set(body)
    assert set(body["Total"]) == TOTAL_KEYS
    assert body["Total"]["Nodes"] == 6  # style, body, div, svg, img, p
    assert body["Total"]["Tests"] == len(caniemail().features)
    slugs = {warning["Slug"] for warning in body["Warnings"]}
    assert {"css-display-flex", "html-svg", "image-webp", "css-at-media"} <= slugs
    for warning in body["Warnings"]:
        assert set(warning) == WARNING_KEYS
        assert set(warning["Score"]) == SCORE_KEYS
        assert warning["Score"]["Found"] >= 1
        assert all(set(result) == RESULT_KEYS for result in warning["Results"])
        shares = warning["Score"]
        assert shares["Supported"] + shares["Partial"] + shares["Unsupported"] == pytest.approx(
            100, abs=0.05
        )
    assert body["Platforms"]["ios"] and all(isinstance(n, str) for n in body["Platforms"]["ios"])
    total = body["Total"]
    assert total["Supported"] + total["Partial"] + total["Unsupported"] == pytest.approx(100)


def test_a_warnings_results_are_caniemails(store: Path, api_for: ApiFor) -> None:
    api, id_ = opened(store, api_for, html_message("<html><body><svg></svg></body></html>"))
    body = api.get(f"/api/v1/message/{id_}/html-check").json()
    warnings = body["Warnings"]
    (svg,) = [w for w in body["Warnings"] if w["Slug"] == "html-svg"]
    stats = caniemail().features["html-svg"]["stats"]
    expected = {
        (family, platform, version): value
        for family, platforms in stats.items()
        for platform, versions in platforms.items()
        for version, value in versions.items()
        if not value.startswith("u")
    }
    got = {(r["Family"], r["Platform"], r["Version"]): r for r in svg["Results"]}
    assert set(got) == set(expected)
    for key, value in expected.items():
        support = "no" if value.startswith("n") else "yes" if value == "y" else "partial"
        assert got[key]["Support"] == support, (key, value)
        if "#" in value:
            assert got[key]["NoteNumber"] == value.split("#")[1].split()[0]
    yes = sum(1 for r in svg["Results"] if r["Support"] == "yes")
    assert svg["Score"]["Supported"] == pytest.approx(100 * yes / len(svg["Results"]), abs=0.01)
    # One node, used by one feature: the message's unsupported share is the feature's.
    assert body["Total"]["Nodes"] == 2
    worst = max(w["Score"]["Unsupported"] * min(1, w["Score"]["Found"] / 2) for w in warnings)
    assert body["Total"]["Unsupported"] == pytest.approx(worst, abs=0.01)


def test_a_score_per_client_family(store: Path, api_for: ApiFor) -> None:
    api, id_ = opened(store, api_for, html_message())
    families = api.get(f"/api/v1/message/{id_}/html-check").json()["Families"]
    names = caniemail().families
    assert set(families) <= set(names) and "gmail" in families and "outlook" in families
    for family, score in families.items():
        assert score["Name"] == names[family]
        assert score["Supported"] + score["Partial"] + score["Unsupported"] == pytest.approx(100)
    # Apple Mail renders flexbox and SVG that Outlook for Windows does not.
    assert families["apple-mail"]["Supported"] > families["outlook"]["Supported"]


def test_a_message_without_html(store: Path, api_for: ApiFor) -> None:
    api, id_ = opened(store, api_for, plain())
    reply = api.get(f"/api/v1/message/{id_}/html-check")
    assert reply.status == 400
    assert reply.json() == {"Error": "message does not contain HTML"}


def test_no_such_message(store: Path, api_for: ApiFor) -> None:
    api, _ = opened(store, api_for, html_message())
    assert api.get("/api/v1/message/nosuch/html-check").status == 404


def test_the_check_does_not_mark_the_message_read(store: Path, api_for: ApiFor) -> None:
    api, id_ = opened(store, api_for, html_message())
    api.get(f"/api/v1/message/{id_}/html-check")
    assert api.get("/api/v1/messages").json()["messages"][0]["Read"] is False


def test_the_vendored_data_its_licence_and_its_refresh_script() -> None:
    doc = json.loads((CHECKS / "caniemail.json").read_text(encoding="utf-8"))
    assert len(doc["data"]) > 250 and doc["nicenames"]["family"]["gmail"] == "Gmail"
    licence = (CHECKS / "CANIEMAIL-LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in licence and "caniemail.com" in licence
    assert (CHECKS / "CANIEMAIL-VERSION").read_text().startswith("caniemail ")
    script = ROOT / "scripts" / "refresh-caniemail"
    assert os.access(script, os.X_OK)
    assert "npm pack" in script.read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"checks/caniemail.json"' in pyproject and '"checks/CANIEMAIL-*"' in pyproject
