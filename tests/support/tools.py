"""Outside tools (swaks, smtp-source): skip loudly on a laptop, fail under CI=true."""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_tool(name: str, package: str) -> str:
    """The tool's path; skip (or, under CI=true, fail) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        for directory in ("/usr/sbin", "/usr/local/sbin"):
            candidate = os.path.join(directory, name)
            if os.access(candidate, os.X_OK):
                return candidate
        message = (
            f"{name} is not installed (Debian package {package!r}): this interop test cannot run"
        )
        if in_ci():
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(f"SKIPPED LOUDLY: {message}")
    return path
