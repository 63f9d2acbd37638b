"""The options of `postier serve` for tags (Mailpit's): where a message's tags come from
besides its `X-Tags:` header and the API."""

from __future__ import annotations

from typing import Final

from postier.cli.serve_option import Option

TAGS_OPTIONS: Final = (
    Option(
        "tags_from_plus",
        "tag each copy with the +TAG of its recipient's address (user+invoice@example.com: "
        "invoice); turned on or off, it needs no reindex",
        switch=True,
    ),
)
