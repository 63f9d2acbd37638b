"""The HTML check: which caniemail features a message's HTML uses, how well each mail
client supports each, and a score overall and per client family, in Mailpit's
`HTMLCheckResponse` shape (plus `Families`, the score of each family).

The data is caniemail's (caniemail.json beside this module, CANIEMAIL-LICENSE for its
licence and source; scripts/refresh-caniemail replaces it). A result of unknown support
(`u`) is left out; `y` is "yes", `n` "no" (with a note or not), anything else (`a`, or
`y` with a note) "partial"; a result's note is given by its number.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from .features import used
from .html import scan_html

Json = dict[str, Any]

_NOTE: Final = re.compile(r"#(\d+)")
SUPPORT: Final = {"y": "yes", "n": "no"}


@dataclass(frozen=True, slots=True)
class Caniemail:
    """caniemail's data as read: its features by slug and its names for clients."""

    features: dict[str, Json]
    families: dict[str, str]
    platforms: dict[str, str]
    platform_families: dict[str, list[str]]
    """Each platform → the names of the families tested on it (Mailpit's `Platforms`)."""
    version: str


@functools.cache
def caniemail() -> Caniemail:
    """The vendored data, read once."""
    folder = resources.files(__package__)
    doc = json.loads(folder.joinpath("caniemail.json").read_text(encoding="utf-8"))
    nice = doc["nicenames"]
    families: dict[str, str] = nice["family"]
    on: dict[str, set[str]] = {}
    for feature in doc["data"]:
        for family, stats in feature["stats"].items():
            for platform in stats:
                on.setdefault(platform, set()).add(families.get(family, family))
    return Caniemail(
        features={feature["slug"]: feature for feature in doc["data"]},
        families=families,
        platforms=nice["platform"],
        platform_families={platform: sorted(names) for platform, names in sorted(on.items())},
        version=str(doc.get("last_update_date", "")),
    )


def check_html(html: str) -> Json:
    """The check of `html`, as `GET /api/v1/message/{ID}/html-check` answers it."""
    data = caniemail()
    scan = scan_html(html)
    found = used(scan, data.features)
    nodes = scan.nodes
    warnings = [_warning(data, data.features[slug], count) for slug, count in found.items()]

    def weight(warning: Json) -> float:
        return min(1.0, warning["Score"]["Found"] / nodes) if nodes else 0.0

    warnings.sort(
        key=lambda w: (-(w["Score"]["Unsupported"] + w["Score"]["Partial"]) * weight(w), w["Slug"])
    )
    partial = max((w["Score"]["Partial"] * weight(w) for w in warnings), default=0.0)
    unsupported = max((w["Score"]["Unsupported"] * weight(w) for w in warnings), default=0.0)
    return {
        "Warnings": warnings,
        "Platforms": data.platform_families,
        "Total": {
            "Nodes": nodes,
            "Tests": len(data.features),
            **_split(partial, unsupported),
        },
        "Families": _families(data, warnings, weight),
    }


def _warning(data: Caniemail, feature: Json, count: int) -> Json:
    results: list[Json] = []
    for family, stats in sorted(feature["stats"].items()):
        for platform, versions in sorted(stats.items()):
            for version, value in versions.items():
                result = _result(data, family, platform, version, str(value))
                if result is not None:
                    results.append(result)
    return {
        "Slug": feature["slug"],
        "Title": feature["title"],
        "Description": feature.get("description") or "",
        "URL": feature.get("url") or "",
        "Category": feature.get("category") or "",
        "Tags": list(feature.get("tags") or []),
        "Keywords": feature.get("keywords") or "",
        "Results": results,
        "NotesByNumber": dict(feature.get("notes_by_num") or {}),
        "Score": {"Found": count, **_shares(results)},
    }


def _result(data: Caniemail, family: str, platform: str, version: str, value: str) -> Json | None:
    head = value.split(maxsplit=1)[0] if value.split() else "u"
    if head == "u":
        return None
    note = _NOTE.search(value)
    support = SUPPORT.get(head, "partial") if note is None else "partial"
    if head == "n":
        support = "no"
    name = data.families.get(family, family)
    shown = data.platforms.get(platform, platform)
    return {
        "Name": f"{name} {shown} ({version})",
        "Platform": platform,
        "Family": family,
        "Version": version,
        "Support": support,
        "NoteNumber": note[1] if note is not None else "",
    }


def _shares(results: list[Json]) -> dict[str, float]:
    total = len(results)
    if total == 0:
        return {"Supported": 100.0, "Partial": 0.0, "Unsupported": 0.0}
    count = {kind: sum(1 for r in results if r["Support"] == kind) for kind in SUPPORT_KINDS}
    return {
        "Supported": _pct(100 * count["yes"] / total),
        "Partial": _pct(100 * count["partial"] / total),
        "Unsupported": _pct(100 * count["no"] / total),
    }


SUPPORT_KINDS: Final = ("yes", "partial", "no")


def _families(data: Caniemail, warnings: list[Json], weight: Any) -> Json:
    """Each client family's score: its worst partial and unsupported share over the
    features found, each weighted by how much of the message uses it (as `Total`)."""
    families: Json = {}
    for family, name in data.families.items():
        partial = unsupported = 0.0
        tested = False
        for warning in warnings:
            mine = [r for r in warning["Results"] if r["Family"] == family]
            if not mine:
                continue
            tested = True
            shares = _shares(mine)
            partial = max(partial, shares["Partial"] * weight(warning))
            unsupported = max(unsupported, shares["Unsupported"] * weight(warning))
        if not tested and warnings:
            continue
        families[family] = {"Name": name, **_split(partial, unsupported)}
    return families


def _split(partial: float, unsupported: float) -> dict[str, float]:
    """The three shares of a score, rounded so that they still add up to 100."""
    partial, unsupported = _pct(min(100.0, partial)), _pct(min(100.0, unsupported))
    unsupported = min(unsupported, _pct(100 - partial))
    return {
        "Supported": _pct(100 - partial - unsupported),
        "Partial": partial,
        "Unsupported": unsupported,
    }


def _pct(value: float) -> float:
    return round(value, 2)
