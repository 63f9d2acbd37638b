"""The SASL names both sides of SMTP's AUTH share: the mechanisms, and the cancel line.

They are the protocol-neutral ones of `postier.protocol.sasl`, named here for SMTP's code.
"""

from __future__ import annotations

from postier.protocol.sasl import CANCEL, CRAM_MD5, LOGIN, MECHANISMS, PLAIN

__all__ = ["CANCEL", "CRAM_MD5", "LOGIN", "MECHANISMS", "PLAIN"]
