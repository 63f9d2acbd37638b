"""One SMTP reply: an immutable value and its wire form (RFC 5321 §4.2), shared by both roles.

It depends on nothing but the codes, so that the errors can carry a reply and the
parser (`replies.py`) can raise them without an import circle.
"""

from __future__ import annotations

from dataclasses import dataclass

from postier.protocol.smtp.codes import Enhanced, ReplyCode


@dataclass(frozen=True, slots=True)
class Reply:
    """One SMTP reply, possibly multi-line (RFC 5321 §4.2.1).

    `enhanced` is the RFC 3463 status code written at the start of every line,
    or None where none is sent (the greeting and the EHLO/HELO answers, RFC 2034 §3).
    """

    code: int
    lines: tuple[str, ...]
    enhanced: str | None = None

    @property
    def text(self) -> str:
        """The reply's text, lines joined by newlines, without code or enhanced code."""
        return "\n".join(self.lines)

    @property
    def is_positive(self) -> bool:
        return 200 <= self.code < 400

    @property
    def is_transient(self) -> bool:
        return 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        return self.code >= 500

    def to_bytes(self) -> bytes:
        """The wire form: `code-text` continuation lines and a final `code text` line."""
        prefix = f"{self.code:03d}"
        status = f"{self.enhanced} " if self.enhanced else ""
        if len(self.lines) == 1:  # the usual case, once per command: no loop
            return f"{prefix} {status}{self.lines[0]}\r\n".encode()
        lines = self.lines or ("",)
        last = len(lines) - 1
        out = [
            f"{prefix}{' ' if i == last else '-'}{status}{line}\r\n" for i, line in enumerate(lines)
        ]
        return "".join(out).encode("utf-8")

    def __str__(self) -> str:
        status = f"{self.enhanced} " if self.enhanced else ""
        return f"{self.code} {status}{' / '.join(self.lines)}".rstrip()


def reply(code: ReplyCode, status: Enhanced | None, *lines: str) -> Reply:
    """Build a reply from the enums (the only way the server builds one)."""
    return Reply(int(code), tuple(lines), status.value if status else None)
