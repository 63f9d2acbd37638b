"""How often a message's HTML uses each caniemail feature, by its slug: `html-*` elements
and attributes, `css-*` properties, values, at-rules and selectors, `image-*` formats."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Final

from .html import HtmlScan

ELEMENTS: Final[dict[str, tuple[str, ...]]] = {
    "html-abbr": ("abbr",),
    "html-acronym": ("acronym",),
    "html-address": ("address",),
    "html-audio": ("audio",),
    "html-base": ("base",),
    "html-bdi": ("bdi",),
    "html-blockquote": ("blockquote",),
    "html-body": ("body",),
    "html-code": ("code",),
    "html-del": ("del",),
    "html-dfn": ("dfn",),
    "html-dialog": ("dialog",),
    "html-div": ("div",),
    "html-form": ("form",),
    "html-h1-h6": ("h1", "h2", "h3", "h4", "h5", "h6"),
    "html-hr": ("hr",),
    "html-img": ("img",),
    "html-link": ("link",),
    "html-lists": ("ul", "ol", "dl"),
    "html-marquee": ("marquee",),
    "html-meter": ("meter",),
    "html-object": ("object", "embed"),
    "html-p": ("p",),
    "html-picture": ("picture",),
    "html-pre": ("pre",),
    "html-progress": ("progress",),
    "html-rp": ("rp",),
    "html-rt": ("rt",),
    "html-ruby": ("ruby",),
    "html-select": ("select",),
    "html-semantics": (
        "article",
        "aside",
        "details",
        "figcaption",
        "figure",
        "footer",
        "header",
        "main",
        "mark",
        "nav",
        "section",
        "summary",
        "time",
    ),
    "html-small": ("small",),
    "html-span": ("span",),
    "html-strike": ("strike",),
    "html-strong": ("strong",),
    "html-style": ("style",),
    "html-svg": ("svg",),
    "html-table": ("table",),
    "html-textarea": ("textarea",),
    "html-video": ("video",),
    "html-wbr": ("wbr",),
}
"""Features that are elements."""

ATTRIBUTES: Final[dict[str, tuple[str, ...]]] = {
    "html-align": ("align",),
    "html-background": ("background",),
    "html-cellpadding": ("cellpadding",),
    "html-cellspacing": ("cellspacing",),
    "html-dir": ("dir",),
    "html-height": ("height",),
    "html-hidden": ("hidden",),
    "html-lang": ("lang",),
    "html-loading-attribute": ("loading",),
    "html-popover": ("popover",),
    "html-required": ("required",),
    "html-role": ("role",),
    "html-srcset": ("srcset",),
    "html-target": ("target",),
    "html-valign": ("valign",),
    "html-width": ("width",),
    "html-aria-describedby": ("aria-describedby",),
    "html-aria-hidden": ("aria-hidden",),
    "html-aria-label": ("aria-label",),
    "html-aria-labelledby": ("aria-labelledby",),
    "html-aria-live": ("aria-live",),
    "css-inert-attribute": ("inert",),
}
"""Features that are attributes, on any element."""

TYPED: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "html-input-checkbox": (("input", "checkbox"),),
    "html-input-hidden": (("input", "hidden"),),
    "html-input-radio": (("input", "radio"),),
    "html-input-reset": (("input", "reset"),),
    "html-input-submit": (("input", "submit"),),
    "html-input-text": (("input", "text"),),
    "html-button-reset": (("button", "reset"),),
    "html-button-submit": (("button", "submit"),),
}
"""Features that are an element of a `type`."""

PROPERTY_GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "css-block-inline-size": ("block-size", "inline-size"),
    "css-border-inline-block": ("border-inline", "border-block"),
    "css-border-inline-block-individual": tuple(
        f"border-{axis}-{part}"
        for axis in ("inline", "block")
        for part in ("color", "style", "width", "start", "end")
    ),
    "css-border-inline-block-longhand": tuple(
        f"border-{axis}-{side}-{part}"
        for axis in ("inline", "block")
        for side in ("start", "end")
        for part in ("color", "style", "width")
    ),
    "css-border-radius-logical": tuple(
        f"border-{a}-{b}-radius" for a in ("start", "end") for b in ("start", "end")
    ),
    "css-column-layout-properties": (
        "columns",
        "column-count",
        "column-fill",
        "column-gap",
        "column-rule",
        "column-rule-color",
        "column-rule-style",
        "column-rule-width",
        "column-span",
        "column-width",
    ),
    "css-gap": ("gap", "row-gap", "column-gap"),
    "css-grid-template": (
        "grid-template",
        "grid-template-areas",
        "grid-template-columns",
        "grid-template-rows",
    ),
    "css-inset": (
        "inset",
        "inset-block",
        "inset-inline",
        "inset-inline-start",
        "inset-inline-end",
        "inset-block-start",
        "inset-block-end",
    ),
    "css-left-right-top-bottom": ("left", "right", "top", "bottom"),
    "css-margin-block-start-end": ("margin-block-start", "margin-block-end"),
    "css-margin-inline-block": ("margin-inline", "margin-block"),
    "css-margin-inline-start-end": ("margin-inline-start", "margin-inline-end"),
    "css-padding-block-start-end": ("padding-block-start", "padding-block-end"),
    "css-padding-inline-block": ("padding-inline", "padding-block"),
    "css-padding-inline-start-end": ("padding-inline-start", "padding-inline-end"),
    "css-scroll-snap": ("scroll-snap-type", "scroll-snap-align", "scroll-snap-stop"),
    "css-column-count": ("column-count", "columns"),
}
"""Features that are one of several properties (the rest: `css-<property>` itself)."""

UNITS: Final = ("ch", "cm", "em", "ex", "in", "mm", "pc", "pt", "px", "rem")
UNITS_V: Final = ("vh", "vmax", "vmin", "vw")

VALUES: Final[dict[str, re.Pattern[str]]] = {
    "css-function-clamp": re.compile(r"\bclamp\(", re.I),
    "css-function-max": re.compile(r"\bmax\(", re.I),
    "css-function-min": re.compile(r"\bmin\(", re.I),
    "css-function-light-dark": re.compile(r"\blight-dark\(", re.I),
    "css-linear-gradient": re.compile(r"\b(repeating-)?linear-gradient\(", re.I),
    "css-radial-gradient": re.compile(r"\b(repeating-)?radial-gradient\(", re.I),
    "css-conic-gradient": re.compile(r"\b(repeating-)?conic-gradient\(", re.I),
    "css-rgb": re.compile(r"\brgb\(", re.I),
    "css-rgba": re.compile(r"\brgba\(", re.I),
    "css-modern-color": re.compile(r"\b(ok)?(lch|lab)\(", re.I),
    "css-unit-calc": re.compile(r"\bcalc\(", re.I),
    "css-variables": re.compile(r"\bvar\(\s*--", re.I),
    "css-intrinsic-size": re.compile(r"\b(fit|min|max)-content\b", re.I),
    "css-sytem-ui": re.compile(r"\b(system-ui|ui-serif|ui-sans-serif|ui-rounded|ui-monospace)\b"),
    "css-unit-initial": re.compile(r"^\s*initial\s*$", re.I),
    **{
        f"css-unit-{unit}": re.compile(rf"(?<![\w.-])[+-]?(\d+\.?\d*|\.\d+){unit}\b", re.I)
        for unit in (*UNITS, *UNITS_V)
    },
    "css-unit-percent": re.compile(r"(?<![\w.-])[+-]?(\d+\.?\d*|\.\d+)%"),
}
"""Features that are in a declaration's value."""

DISPLAYS: Final = {
    "css-display-flex": "flex",
    "css-display-grid": "grid",
    "css-display-none": "none",
}

MEDIA: Final[dict[str, str]] = {
    "css-at-media-device-pixel-ratio": "device-pixel-ratio",
    "css-at-media-hover": "hover",
    "css-at-media-orientation": "orientation",
    "css-at-media-prefers-color-scheme": "prefers-color-scheme",
    "css-at-media-prefers-reduced-motion": "prefers-reduced-motion",
}
"""Features that are in a `@media` query."""

AT_RULES: Final = {
    "css-at-font-face": "font-face",
    "css-at-import": "import",
    "css-at-keyframes": "keyframes",
    "css-at-media": "media",
    "css-at-supports": "supports",
}

IMAGES: Final[dict[str, re.Pattern[str]]] = {
    "image-apng": re.compile(r"\.apng$", re.I),
    "image-avif": re.compile(r"\.avif$", re.I),
    "image-bmp": re.compile(r"\.bmp$", re.I),
    "image-gif": re.compile(r"\.gif$", re.I),
    "image-hdr": re.compile(r"\.hdr$", re.I),
    "image-heif": re.compile(r"\.hei[fc]$", re.I),
    "image-ico": re.compile(r"\.ico$", re.I),
    "image-jpg": re.compile(r"\.jpe?g$", re.I),
    "image-mp4": re.compile(r"\.mp4$", re.I),
    "image-png": re.compile(r"\.png$", re.I),
    "image-svg": re.compile(r"\.svg$", re.I),
    "image-tiff": re.compile(r"\.tiff?$", re.I),
    "image-webp": re.compile(r"\.webp$", re.I),
}
"""Image formats, by the file name's ending (without query or fragment)."""

_PSEUDO: Final = re.compile(r"(::?)([a-z-]+)", re.I)
_DATA_IMAGE: Final = re.compile(r"data:image/([a-z0-9.+-]+)[;,]", re.I)


def used(scan: HtmlScan, slugs: Iterable[str]) -> Counter[str]:
    """Each of `slugs` that `scan` uses → how many times (those unused left out)."""
    found: Counter[str] = Counter()
    wanted = set(slugs)
    _html(scan, found)
    _images(scan, found)
    _css(scan, found)
    return Counter({slug: count for slug, count in found.items() if slug in wanted and count})


def _html(scan: HtmlScan, found: Counter[str]) -> None:
    for slug, tags in ELEMENTS.items():
        found[slug] += sum(scan.elements[tag] for tag in tags)
    for slug, names in ATTRIBUTES.items():
        found[slug] += sum(scan.attributes[name] for name in names)
    for slug, pairs in TYPED.items():
        found[slug] += sum(scan.typed[pair] for pair in pairs)
    found["html-anchor-links"] += sum(1 for href in scan.hrefs if href.startswith("#"))
    found["html-mailto-links"] += sum(1 for h in scan.hrefs if h.lower().startswith("mailto:"))
    found["html-image-maps"] += scan.image_maps
    found["html-comments"] += scan.comments
    found["html-doctype"] += scan.doctype
    found["html-meta-color-scheme"] += (
        scan.metas["color-scheme"] + scan.metas["supported-color-schemes"]
    )
    found["amp"] += scan.amp


def _images(scan: HtmlScan, found: Counter[str]) -> None:
    for source in scan.images:
        data = _DATA_IMAGE.match(source)
        if data is not None:
            found["image-base64"] += 1
            kind = data[1].lower()
            kind = {"jpeg": "jpg", "svg+xml": "svg", "heic": "heif"}.get(kind, kind)
            found[f"image-{kind}"] += 1
            continue
        path = source.split("#", 1)[0].split("?", 1)[0]
        for slug, pattern in IMAGES.items():
            if pattern.search(path):
                found[slug] += 1


def _css(scan: HtmlScan, found: Counter[str]) -> None:
    css = scan.css
    grouped = {name for names in PROPERTY_GROUPS.values() for name in names}
    for name, count in css.properties.items():
        if name.startswith("--"):
            found["css-variables"] += count
        elif name not in grouped:
            found[f"css-{name}"] += count
    for slug, names in PROPERTY_GROUPS.items():
        found[slug] += sum(css.properties[name] for name in names)
    for name, value in css.values:
        for slug, pattern in VALUES.items():
            found[slug] += len(pattern.findall(value))
        if name == "display":
            for slug, shown in DISPLAYS.items():
                found[slug] += value.strip().lower() in (shown, "inline-" + shown)
    found["css-important"] += css.important
    found["css-comments"] += css.comments
    for slug, rule in AT_RULES.items():
        found[slug] += css.at_rules[rule]
    for query in css.media_queries:
        for slug, feature in MEDIA.items():
            found[slug] += feature in query
    found["css-selector-grouping"] += css.groupings
    for selector in css.selectors:
        _selector(selector, found)


def _selector(selector: str, found: Counter[str]) -> None:
    bare = re.sub(r"\[[^\]]*\]|\([^)]*\)|\"[^\"]*\"|'[^']*'", "", selector)
    if "&" in bare:
        found["css-nesting"] += 1
    for colons, name in _PSEUDO.findall(bare):
        lowered = name.lower()
        if colons == "::" or lowered in ("before", "after", "first-letter", "first-line"):
            found[f"css-pseudo-element-{lowered}"] += 1
        else:
            found[f"css-pseudo-class-{lowered}"] += 1
    plain = _PSEUDO.sub("", bare)
    found["css-selector-attribute"] += selector.count("[")
    found["css-selector-class"] += len(re.findall(r"\.[A-Za-z_-]", plain))
    found["css-selector-id"] += len(re.findall(r"#[A-Za-z_-]", plain))
    found["css-selector-child"] += plain.count(">")
    found["css-selector-adjacent-sibling"] += plain.count("+")
    found["css-selector-general-sibling"] += plain.count("~")
    found["css-selector-universal"] += plain.count("*")
    compounds = [c for c in re.split(r"\s*[>+~]\s*|\s+", plain.strip()) if c]
    found["css-selector-descendant"] += len(re.findall(r"[^\s>+~]\s+(?=[^\s>+~])", plain.strip()))
    for compound in compounds:
        typed = re.match(r"[A-Za-z][A-Za-z0-9-]*", compound) is not None
        found["css-selector-type"] += typed
        simple = typed + len(re.findall(r"[.#]", compound))
        if simple >= 2:
            found["css-selector-chaining"] += 1
