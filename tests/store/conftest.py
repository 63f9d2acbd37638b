"""Makes the sources importable from a plain checkout, for the store's tests."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import postier.store  # noqa: F401 - installed, or on the path already
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
