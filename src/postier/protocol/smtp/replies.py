"""Reading SMTP replies for the client role: `ReplyParser`; the value itself is `reply.py`'s."""

from __future__ import annotations

from postier.protocol.smtp.codes import ReplyCode
from postier.protocol.smtp.errors import RemoteProtocolError
from postier.protocol.smtp.reply import Reply, reply

__all__ = ["MAX_REPLY_LINE", "MAX_REPLY_LINES", "Reply", "ReplyParser", "reply"]

# RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including CRLF. A client
# must not buffer without bound either, so lines past this (with slack for lenient
# servers) are refused.
MAX_REPLY_LINE = 4096
MAX_REPLY_LINES = 256


class ReplyParser:
    """Turn the bytes a server sends into `Reply` values, however they are split.

    Feed with `receive_data()`; `next_reply()` gives a whole reply or None when more
    bytes are needed. The enhanced code is split off only when every line carries the
    same one (RFC 2034 §3), so a server that does not send them is read faithfully.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._lines: list[tuple[int, str]] = []
        self._closed = False

    def receive_data(self, data: bytes) -> None:
        if not data:
            self._closed = True
        self._buffer += data

    def next_reply(self) -> Reply | None:
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > MAX_REPLY_LINE:
                    raise RemoteProtocolError(_bad_reply("reply line too long"))
                if self._closed and self._buffer:
                    raise RemoteProtocolError(_bad_reply("connection closed inside a reply"))
                return None
            raw = bytes(self._buffer[:end]).rstrip(b"\r")
            del self._buffer[: end + 1]
            code, final, text = _parse_line(raw)
            if self._lines and self._lines[0][0] != code:
                raise RemoteProtocolError(_bad_reply("reply lines with different codes"))
            self._lines.append((code, text))
            if len(self._lines) > MAX_REPLY_LINES:
                raise RemoteProtocolError(_bad_reply("reply with too many lines"))
            if final:
                lines, self._lines = self._lines, []
                return _build(code, [text for _, text in lines])

    @property
    def pending(self) -> bool:
        """True when part of a reply has been received but not all of it."""
        return bool(self._buffer or self._lines)


def _parse_line(raw: bytes) -> tuple[int, bool, str]:
    if len(raw) < 3 or not raw[:3].isdigit() or (len(raw) > 3 and raw[3:4] not in b" -"):
        raise RemoteProtocolError(_bad_reply("malformed reply line"))
    code = int(raw[:3])
    if not 200 <= code <= 599:
        raise RemoteProtocolError(_bad_reply("reply code out of range"))
    final = len(raw) == 3 or raw[3:4] == b" "
    return code, final, raw[4:].decode("utf-8", errors="replace")


def _split_enhanced(text: str, code: int) -> tuple[str | None, str]:
    head, _, rest = text.partition(" ")
    parts = head.split(".")
    if (
        len(parts) == 3
        and all(p.isdigit() and 0 < len(p) <= 3 for p in parts)
        and head[0] == str(code)[0]
    ):
        return head, rest
    return None, text


def _build(code: int, texts: list[str]) -> Reply:
    split = [_split_enhanced(t, code) for t in texts]
    statuses = {status for status, _ in split}
    if len(statuses) == 1 and None not in statuses:
        return Reply(code, tuple(t for _, t in split), split[0][0])
    return Reply(code, tuple(texts))


def _bad_reply(why: str) -> Reply:
    return Reply(int(ReplyCode.SYNTAX_ERROR), (why,), None)
