"""The POP3 core's public names: what the session and the fuzz harness use, nothing deeper."""

from __future__ import annotations

import postier.protocol.pop3


def test_exported_names() -> None:
    assert sorted(postier.protocol.pop3.__all__) == [
        "COMMAND_LINE_LIMIT", "Closing", "CommandRefused", "Credentials", "DropEntry",
        "LocalProtocolError", "LoginRequested", "Maildrop", "MessageRequested", "MessageWriter",
        "NEED_DATA", "PAUSED", "Pop3Config", "Pop3Connection", "Pop3Event", "ProtocolError",
        "RemoteProtocolError", "RespCode", "Response", "SEND_FIRST", "State", "TlsRequested",
        "UpdateRequested", "Wait", "WireSize", "catalogue", "wire_size",
    ]  # fmt: skip
    assert all(hasattr(postier.protocol.pop3, name) for name in postier.protocol.pop3.__all__)


def test_the_response_codes_are_the_rfcs() -> None:
    from postier.protocol.pop3 import RespCode

    assert {code.value for code in RespCode} == {
        "IN-USE", "LOGIN-DELAY", "SYS/TEMP", "SYS/PERM", "AUTH",
    }  # fmt: skip


def test_the_core_imports_no_io() -> None:
    import ast
    from pathlib import Path

    folder = Path(postier.protocol.pop3.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                assert top not in {"asyncio", "socket", "ssl", "os", "io", "pathlib"}, path
                assert not name.startswith(("postier.store", "postier.server")), path
