"""Which language the narration speaks: `--lang`, else the locale of the environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, get_args

Language = Literal["fr", "en"]
LANGUAGES: Final[tuple[Language, ...]] = get_args(Language)


def language_from_environment(environ: Mapping[str, str]) -> Language:
    """French for a `fr*` locale, English otherwise. POSIX's order decides which variable
    names the locale of messages: `LC_ALL`, then `LC_MESSAGES`, then `LANG`."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"
