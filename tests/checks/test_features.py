"""The HTML check's reading of HTML and CSS: which caniemail feature each snippet uses
and how often, a table checked against the scanner; that every slug the matcher can name
is one of caniemail's; that markup meant to run or fetch is only counted."""

from __future__ import annotations

import pytest

from postier.checks.css import CssScan
from postier.checks.features import (
    AT_RULES,
    ATTRIBUTES,
    DISPLAYS,
    ELEMENTS,
    MEDIA,
    PROPERTY_GROUPS,
    TYPED,
    VALUES,
    used,
)
from postier.checks.html import scan_html
from postier.checks.htmlcheck import caniemail

SLUGS = set(caniemail().features)


def found(html: str) -> dict[str, int]:
    return dict(used(scan_html(html), SLUGS))


CASES: list[tuple[str, dict[str, int]]] = [
    ("<div><div></div></div>", {"html-div": 2}),
    ("<h1>a</h1><h3>b</h3>", {"html-h1-h6": 2}),
    ("<ul><li>a</li></ul><ol></ol>", {"html-lists": 2}),
    ("<article></article><nav></nav>", {"html-semantics": 2}),
    (
        "<table cellpadding=0 cellspacing=0 align=center>",
        {"html-table": 1, "html-cellpadding": 1, "html-cellspacing": 1, "html-align": 1},
    ),
    (
        "<input type=checkbox><input type=RADIO><input type=text>",
        {"html-input-checkbox": 1, "html-input-radio": 1, "html-input-text": 1},
    ),
    ("<button type=submit>", {"html-button-submit": 1}),
    (
        "<a href='#top'>x</a><a href='mailto:a@b'>y</a>",
        {"html-anchor-links": 1, "html-mailto-links": 1},
    ),
    (
        "<img src='a.PNG'><img src='b.jpeg?x=1'><img src='c.webp#f'>",
        {"html-img": 3, "image-png": 1, "image-jpg": 1, "image-webp": 1},
    ),
    (
        "<img src='data:image/gif;base64,R0lGOD'>",
        {"html-img": 1, "image-base64": 1, "image-gif": 1},
    ),
    (
        "<img src='m.png' usemap='#m'><map name=m></map>",
        {"html-img": 1, "image-png": 1, "html-image-maps": 2},
    ),
    ("<!doctype html><!-- hi -->", {"html-doctype": 1, "html-comments": 1}),
    ("<meta name='color-scheme' content='light dark'>", {"html-meta-color-scheme": 1}),
    (
        "<p aria-label=x role=button lang=fr dir=rtl>",
        {"html-p": 1, "html-aria-label": 1, "html-role": 1, "html-lang": 1, "html-dir": 1},
    ),
    (
        "<span style='color: red; border-radius: 4px'>",
        {"html-span": 1, "css-border-radius": 1, "css-unit-px": 1},
    ),
    (
        "<b style='width: 50% !important; margin-inline-start: 1em'>",
        {
            "css-width": 1,
            "css-unit-percent": 1,
            "css-important": 1,
            "css-margin-inline-start-end": 1,
            "css-unit-em": 1,
        },
    ),
    (
        "<b style='display: flex'><i style='display:none'>",
        {"css-display": 2, "css-display-flex": 1, "css-display-none": 1},
    ),
    (
        "<b style='--gap: 2rem; padding: var(--gap)'>",
        {"css-variables": 2, "css-padding": 1, "css-unit-rem": 1},
    ),
    (
        "<b style='background: linear-gradient(red, rgba(0,0,0,.5))'>",
        {"css-background": 1, "css-linear-gradient": 1, "css-rgba": 1},
    ),
    (
        "<b style='width: calc(100% - 2px)'>",
        {"css-width": 1, "css-unit-calc": 1, "css-unit-percent": 1, "css-unit-px": 1},
    ),
    ("<b style='font-family: system-ui'>", {"css-sytem-ui": 1}),
    (
        "<style>@media (prefers-color-scheme: dark) { p { color: #fff } }</style>",
        {
            "html-style": 1,
            "css-at-media": 1,
            "css-at-media-prefers-color-scheme": 1,
            "css-selector-type": 1,
        },
    ),
    (
        "<style>@import url(x.css); @font-face { font-family: x }</style>",
        {"html-style": 1, "css-at-import": 1, "css-at-font-face": 1},
    ),
    (
        "<style>/* a */ .a > .b + .c ~ d, #e *:hover {}</style>",
        {
            "html-style": 1,
            "css-comments": 1,
            "css-selector-class": 3,
            "css-selector-child": 1,
            "css-selector-adjacent-sibling": 1,
            "css-selector-general-sibling": 1,
            "css-selector-type": 1,
            "css-selector-grouping": 1,
            "css-selector-id": 1,
            "css-selector-universal": 1,
            "css-selector-descendant": 1,
            "css-pseudo-class-hover": 1,
        },
    ),
    (
        "<style>p.x a[href] {} p::before {}</style>",
        {
            "html-style": 1,
            "css-selector-chaining": 1,
            "css-selector-class": 1,
            "css-selector-type": 3,
            "css-selector-descendant": 1,
            "css-selector-attribute": 1,
            "css-pseudo-element-before": 1,
        },
    ),
    ("<html amp4email><body></body></html>", {"amp": 1, "html-body": 1}),
]


@pytest.mark.parametrize(("html", "expected"), CASES, ids=[case[0][:40] for case in CASES])
def test_features_found(html: str, expected: dict[str, int]) -> None:
    assert found(html) == expected


def test_every_slug_the_matcher_names_is_caniemails() -> None:
    named = {*ELEMENTS, *ATTRIBUTES, *TYPED, *PROPERTY_GROUPS, *VALUES, *DISPLAYS, *MEDIA}
    named |= set(AT_RULES)
    assert named - SLUGS == set()


def test_scripts_and_remote_references_are_only_counted() -> None:
    html = (
        "<script>document.title='ran'</script><img src='http://127.0.0.1:9/x.png' "
        "onerror='alert(1)'><link rel=stylesheet href='http://127.0.0.1:9/s.css'>"
        "<style>@import 'http://127.0.0.1:9/i.css';</style>"
    )
    # The scan is text in, counts out: no network is touched (port 9 would refuse).
    assert found(html) == {
        "html-img": 1, "image-png": 1, "html-link": 1, "html-style": 1, "css-at-import": 1,
    }  # fmt: skip


def test_nodes_leave_out_html_head_and_meta() -> None:
    scan = scan_html("<html><head><meta charset=utf-8><title>t</title></head><body><p>x</p>")
    assert scan.nodes == 3  # title, body, p


def test_broken_css_is_read_as_far_as_it_goes() -> None:
    css = CssScan()
    css.sheet("p { color: red; ; : ; width 4px; } @media screen { a { top: 0")
    assert dict(css.properties) == {"color": 1, "top": 1}
    assert css.at_rules["media"] == 1
