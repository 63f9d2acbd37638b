"""Makes the sources importable from a plain checkout; fixtures for the store's tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

try:
    import postier.store  # noqa: F401 - installed, or on the path already
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """A store directory that does not exist yet."""
    return tmp_path / "store"
