"""Fixtures of the message checks' tests: the HTTP API's own (tests/web/conftest.py)."""

from __future__ import annotations

from tests.web.conftest import api_for, store

__all__ = ["api_for", "store"]
