"""The SASL names both sides of AUTH share: the mechanisms postier speaks, and the cancel line."""

from __future__ import annotations

from typing import Final

PLAIN: Final = "PLAIN"
"""RFC 4616."""
LOGIN: Final = "LOGIN"
"""draft-murchison-sasl-login, still offered by many servers."""
CRAM_MD5: Final = "CRAM-MD5"
"""RFC 2195."""
MECHANISMS: Final = (PLAIN, LOGIN, CRAM_MD5)

CANCEL: Final = "*"
"""RFC 4954 §4: a client cancels the exchange with a line holding a single "*"."""
