"""A small CSS scanner: the declarations, at-rules, selectors and comments of a style
sheet or a `style` attribute, as the HTML check counts them. It reads text only: nothing
is fetched (`@import` is counted, never followed) and nothing is evaluated."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

_COMMENT: Final = re.compile(r"/\*.*?(\*/|$)", re.S)
_AT_RULE: Final = re.compile(r"@([a-zA-Z-]+)([^;{]*)")
_IMPORTANT: Final = re.compile(r"!\s*important\s*$", re.I)
MAX_CSS: Final = 1 << 20
"""Characters of CSS scanned per message; the rest is not looked at."""


@dataclass(slots=True)
class CssScan:
    """What the CSS of a message uses, counted."""

    properties: Counter[str] = field(default_factory=Counter)
    """Each declaration's property (lower case) → how many times."""
    values: list[tuple[str, str]] = field(default_factory=list)
    """Each declaration as (property, value), the value without `!important`."""
    important: int = 0
    at_rules: Counter[str] = field(default_factory=Counter)
    """`media`, `font-face`, `import`... → how many times."""
    media_queries: list[str] = field(default_factory=list)
    selectors: list[str] = field(default_factory=list)
    """Each selector of each rule (a group split at its commas)."""
    groupings: int = 0
    """Rules whose selector is a group (`a, b`)."""
    comments: int = 0

    def declarations(self, text: str) -> None:
        """Count the declarations of `text` (a `style` attribute, or a block's body)."""
        for item in _split_top(text, ";"):
            name, colon, value = item.partition(":")
            name = name.strip().lower()
            if not colon or not name or not re.fullmatch(r"-{0,2}[a-z][a-z0-9-]*", name):
                continue
            value = value.strip()
            if _IMPORTANT.search(value):
                self.important += 1
                value = _IMPORTANT.sub("", value).strip()
            self.properties[name] += 1
            self.values.append((name, value))

    def sheet(self, text: str) -> None:
        """Count what a style sheet (a `<style>` block) holds."""
        text = text[:MAX_CSS]
        self.comments += sum(1 for _ in _COMMENT.finditer(text))
        self._rules(_COMMENT.sub(" ", text), depth=0)

    def _rules(self, text: str, depth: int) -> None:
        at = 0
        while at < len(text):
            brace = text.find("{", at)
            semi = text.find(";", at)
            if brace < 0 and semi < 0:
                return
            if semi >= 0 and (brace < 0 or semi < brace):
                self._prelude(text[at:semi].strip(), None)
                at = semi + 1
                continue
            end = _matching(text, brace)
            prelude = text[at:brace].strip()
            body = text[brace + 1 : end]
            self._prelude(prelude, body if depth < 8 else "")
            if prelude.startswith("@") or "{" in body:
                if not prelude.lower().startswith(("@font-face", "@page")):
                    self._rules(body, depth + 1)
                else:
                    self.declarations(body)
            else:
                self.declarations(body)
            at = end + 1

    def _prelude(self, prelude: str, body: str | None) -> None:
        if prelude.startswith("@"):
            match = _AT_RULE.match(prelude)
            if match is None:
                return
            name = match[1].lower()
            self.at_rules[name] += 1
            if name == "media":
                self.media_queries.append(match[2].strip().lower())
            return
        if body is None or not prelude:
            return
        parts = [part.strip() for part in _split_top(prelude, ",") if part.strip()]
        if len(parts) > 1:
            self.groupings += 1
        self.selectors.extend(parts)


def _matching(text: str, brace: int) -> int:
    """The index of the `}` that closes the `{` at `brace` (or the end of the text)."""
    depth = 0
    for index in range(brace, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return len(text)


def _split_top(text: str, separator: str) -> list[str]:
    """`text` split at `separator` outside parentheses and quotes."""
    items: list[str] = []
    depth = 0
    quote = ""
    start = 0
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        elif char == separator and depth == 0:
            items.append(text[start:index])
            start = index + 1
    items.append(text[start:])
    return items
