"""A message's HTML read for the HTML check: its elements, attributes, links and CSS,
counted by the standard library's `html.parser`, which only tokenises. No script runs, no
URL is fetched, no entity or file outside the text is read."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Final

from .css import CssScan

MAX_HTML: Final = 4 << 20
"""Characters of a message's HTML scanned; the rest is not looked at."""
UNCOUNTED: Final = frozenset({"html", "head", "meta"})
"""Elements left out of the count of nodes (Mailpit's count leaves them out too)."""


@dataclass(slots=True)
class HtmlScan:
    """What a message's HTML uses, counted."""

    nodes: int = 0
    elements: Counter[str] = field(default_factory=Counter)
    attributes: Counter[str] = field(default_factory=Counter)
    """Each attribute's name (lower case) → how many elements carry it."""
    typed: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(element, its `type` in lower case) → how many: `("input", "checkbox")`."""
    hrefs: list[str] = field(default_factory=list)
    """The `href` of each `<a>` and `<area>`, in order."""
    images: list[str] = field(default_factory=list)
    """The `src` of each `<img>` (and each `srcset` candidate), in order."""
    metas: Counter[str] = field(default_factory=Counter)
    """Each `<meta name>` (lower case) → how many."""
    image_maps: int = 0
    comments: int = 0
    doctype: int = 0
    amp: int = 0
    css: CssScan = field(default_factory=CssScan)


class _Scanner(HTMLParser):
    def __init__(self, scan: HtmlScan) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = scan
        self._in_style = False
        self._style: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        scan = self.scan
        scan.elements[tag] += 1
        if tag not in UNCOUNTED:
            scan.nodes += 1
        values = {name: value or "" for name, value in attrs}
        for name in values:
            scan.attributes[name] += 1
        if "type" in values:
            scan.typed[(tag, values["type"].strip().lower())] += 1
        if "style" in values:
            scan.css.declarations(values["style"])
        if tag in ("a", "area") and "href" in values:
            scan.hrefs.append(values["href"].strip())
        if tag == "img":
            if values.get("src"):
                scan.images.append(values["src"].strip())
            if "usemap" in values:
                scan.image_maps += 1
        if "srcset" in values:
            scan.images.extend(c.split()[0] for c in values["srcset"].split(",") if c.split())
        if tag == "map":
            scan.image_maps += 1
        if tag == "meta" and "name" in values:
            scan.metas[values["name"].strip().lower()] += 1
        if tag == "html" and ("amp4email" in values or "\u26a14email" in values):
            scan.amp += 1
        if tag == "style":
            self._in_style = True

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "style":
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style" and self._in_style:
            self._in_style = False
            self.scan.css.sheet("".join(self._style))
            self._style.clear()

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._style.append(data)

    def handle_comment(self, data: str) -> None:
        self.scan.comments += 1

    def handle_decl(self, decl: str) -> None:
        if decl.lower().startswith("doctype"):
            self.scan.doctype += 1


def scan_html(html: str) -> HtmlScan:
    """What `html` uses; never fails on broken HTML (the parser is lenient)."""
    scan = HtmlScan()
    scanner = _Scanner(scan)
    scanner.feed(html[:MAX_HTML])
    scanner.close()
    scanner.handle_endtag("style")  # a <style> left open still counts
    return scan
