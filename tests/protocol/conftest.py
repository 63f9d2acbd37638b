"""Shared set-up for the protocol core's tests: the sources on the path, readable asserts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

try:
    import postier.protocol.smtp  # noqa: F401 - installed, or on the path already
except ImportError:  # a plain checkout: use the sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

# The script runner's assertions should explain themselves like the tests' own.
pytest.register_assert_rewrite("tests.protocol.helpers")
