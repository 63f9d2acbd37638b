"""Each package is used through its `__init__`: its exported names, and no deep import of it."""

from __future__ import annotations

import ast
import importlib

import pytest

from tests.house.test_layout import SRC, modules

EXPORTED = {
    "postier.checks": [
        "ChecksConfig", "LinkPolicy", "SpamdAddress", "caniemail", "check_html", "check_links",
        "links_of", "spam_check", "spamd_address",
    ],
    "postier.client": [
        "Attachment", "AuthenticationError", "Client", "ClientError", "ClientTimeoutError",
        "ConnectError", "ConnectionLostError", "DEFAULT_TIMEOUT", "DataRefusedError", "Draft",
        "IMPLICIT_TLS_PORT", "NotSupportedError", "ProtocolViolationError",
        "RecipientsRefusedError", "RefusedError", "Security", "SendResult",
        "SenderRefusedError", "ServiceRefusedError", "SyncClient", "TlsError", "Transcript",
        "address_of", "client_context", "compose", "header_field", "parse_header",
    ],
    "postier.server": [
        "HttpOptions", "ServerError", "check_username", "configure_logging", "hash_password",
        "run", "serve", "serve_web",
    ],
    "postier.web": ["Gate", "HostRule", "Mail", "WebContext", "build_app"],
}  # fmt: skip
"""The packages whose names no other test lists (the store's, its read side's and the SMTP
core's have tests of their own beside their code)."""

LEFT_DEEP: set[tuple[str, str]] = set()
"""Deep imports still allowed across packages: none."""


@pytest.mark.parametrize("package", sorted(EXPORTED))
def test_exported_names(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == EXPORTED[package]
    for name in module.__all__:
        assert getattr(module, name) is not None


def package_of(name: str, packages: set[str]) -> str:
    return name if name in packages else name.rpartition(".")[0]


def nested(inner: str, outer: str) -> bool:
    """Whether package `inner` is `outer` or inside it (the top package holds everything,
    so its own modules count as outside every subpackage)."""
    return inner == outer or (outer != "postier" and inner.startswith(outer + "."))


def test_no_package_is_imported_past_its_init() -> None:
    known = modules()
    packages = {name for name, path in known.items() if path.name == "__init__.py"}
    deep = []
    for name, path in known.items():
        mine = package_of(name, packages)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom) or node.level or node.module not in known:
                continue
            target = node.module
            theirs = package_of(target, packages)
            related = nested(mine, theirs) or nested(theirs, mine)
            # The top package's own modules (settings, defaults) are public as they are.
            public = target in packages or theirs == "postier"
            if not public and not related and (name, target) not in LEFT_DEEP:
                deep.append(f"{name} imports {target}")
    assert deep == [], f"import these through their package instead (from {SRC})"
