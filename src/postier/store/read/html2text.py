"""Renders an HTML body as plain text for a terminal, with the standard `html.parser`.

Good enough to read a message: paragraphs and line breaks, lists, quotes, preformatted
text, link targets shown after their text, image alt text; scripts, styles, the head and
elements hidden with `display:none` (the "preheader" of marketing mail) are left out.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Final

_BLOCKS: Final = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tr",
        "ul",
    ]
)
_PARAGRAPHS: Final = frozenset(
    ["blockquote", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "ol", "p", "pre", "table", "ul"]
)
_SKIPPED: Final = frozenset(["head", "script", "style", "template", "title", "noscript"])
_VOID: Final = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
_SPACES: Final = re.compile(r"[ \t\n\r\f\v]+")
_HIDDEN: Final = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_RULE: Final = "-" * 40


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line = ""
        self._breaks = 0
        """Line breaks owed before the next text: 1 a new line, 2 an empty line between."""
        self._quote = 0
        self._lists: list[list[int]] = []  # [counter], counter < 0 for a bullet list
        self._pre = 0
        self._skip: list[str] = []  # the skipped element's tag, repeated for each nesting
        self._links: list[tuple[str | None, list[str]]] = []

    # -- output --------------------------------------------------------------------

    def _prefix(self) -> str:
        return "> " * self._quote + "   " * max(0, len(self._lists) - 1)

    def _break(self, count: int) -> None:
        self._breaks = max(self._breaks, count)

    def _flush_line(self) -> None:
        self.lines.append(self._line.rstrip())
        self._line = ""

    def _settle(self) -> None:
        """Pay the line breaks owed, before new text (none at the very start)."""
        if self._breaks and (self.lines or self._line.strip()):
            self._flush_line()
            # An empty line inside a quote keeps its `>`; the one that opens it does not.
            mark = self._prefix().rstrip()
            filler = mark if mark and self.lines[-1].startswith(mark) else ""
            self.lines.extend([filler] * (self._breaks - 1))
            self._line = self._prefix()
        elif not self.lines and not self._line:
            self._line = self._prefix()
        self._breaks = 0

    def _newline(self) -> None:
        """End the current line even when it is empty (`<br>`, a line of `<pre>`)."""
        self._settle()
        self._flush_line()
        self._line = self._prefix()

    def _write(self, text: str) -> None:
        if not text:
            return
        self._settle()
        if not self._pre and (self._line == self._prefix() or self._line.endswith(" ")):
            text = text.lstrip(" ")
        self._line += text
        for _, words in self._links:
            words.append(text)

    def _text(self, data: str) -> None:
        if not self._pre:
            self._write(_SPACES.sub(" ", data))
            return
        for index, piece in enumerate(data.split("\n")):
            if index:
                self._newline()
            self._write(piece)

    # -- parser events ---------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip:
            if tag == self._skip[0] and tag not in _VOID:
                self._skip.append(tag)
            return
        style = dict(attrs).get("style") or ""
        if tag in _SKIPPED or (tag not in _VOID and _HIDDEN.search(style)):
            self._skip.append(tag)
            return
        self._open(tag, dict(attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._skip:
            self._open(tag, dict(attrs))
            if tag not in _VOID:
                self.handle_endtag(tag)

    def _open(self, tag: str, attrs: dict[str, str | None]) -> None:
        if tag in _BLOCKS:
            self._break(self._gap(tag))
        if tag == "br":
            if self._line.strip() or self.lines:
                self._newline()
        elif tag == "hr":
            self._write(_RULE)
            self._break(1)
        elif tag == "blockquote":
            self._quote += 1
        elif tag in ("ul", "ol"):
            self._lists.append([0 if tag == "ol" else -1])
        elif tag == "li":
            self._li()
        elif tag == "pre":
            self._pre += 1
        elif tag in ("td", "th") and self._line.strip():
            self._write("  ")
        elif tag == "img" and attrs.get("alt"):
            self._write(f"[{attrs['alt']}]")
        elif tag == "a":
            self._links.append((attrs.get("href"), []))

    def _gap(self, tag: str) -> int:
        """Line breaks around a block: an empty line around paragraphs, except for a
        list inside a list, which follows its item's line."""
        if tag in ("ul", "ol") and self._lists:
            return 1
        return 2 if tag in _PARAGRAPHS else 1

    def _li(self) -> None:
        if not self._lists:
            self._lists.append([-1])
        counter = self._lists[-1]
        if counter[0] >= 0:
            counter[0] += 1
            self._write(f"{counter[0]}. ")
        else:
            self._write("- ")

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag == self._skip[-1]:
                self._skip.pop()
            return
        if tag in _BLOCKS:
            self._break(self._gap(tag))
        if tag == "blockquote":
            self._quote = max(0, self._quote - 1)
        elif tag in ("ul", "ol") and self._lists:
            self._lists.pop()
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
        elif tag == "a" and self._links:
            self._close_link()

    def _close_link(self) -> None:
        href, words = self._links.pop()
        text = "".join(words).strip()
        if not href or href.startswith(("#", "javascript:")):
            return
        target = href.removeprefix("mailto:")
        if target != text:
            self._write(f" ({href})" if text else href)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._text(data)

    def text(self) -> str:
        if self._line.strip():
            self._flush_line()
        return "\n".join(self.lines).strip("\n")


def html_to_text(html: str) -> str:
    """The text of an HTML document or fragment, laid out for reading."""
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    return writer.text()
