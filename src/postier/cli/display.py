"""Text for a terminal: the inbox and mailbox tables, a message to read, the watch line.

Everything shown comes from the mail, so control characters (an escape sequence in a
subject could rewrite the terminal) are replaced before anything is printed.
"""

from __future__ import annotations

import functools
import shutil
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Final

from postier.store.read import MailboxSummary, MessageSummary, MessageView

_ELLIPSIS: Final = "…"
_LABEL: Final = 9
_UNITS: Final = ("B", "K", "M", "G", "T")
_DEFAULT_WIDTH: Final = 100


def terminal_width() -> int:
    return max(60, shutil.get_terminal_size((_DEFAULT_WIDTH, 24)).columns)


def _visible(char: str) -> bool:
    # Cc: C0/C1 controls; Cf: format characters such as the bidirectional overrides;
    # Zl, Zp: the Unicode line and paragraph separators, which would break a line.
    return unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def clean_line(text: str) -> str:
    """One line of text that is safe to print: no control or format characters."""
    if text.isprintable():
        return text
    return "".join(
        char if _visible(char) else " " if char in "\t\n\r" else "\ufffd" for char in text
    )


def clean_text(text: str) -> str:
    """Text of several lines that is safe to print: tabs and line breaks kept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(clean_line(line.replace("\t", "    ")) for line in text.split("\n"))


def width(text: str) -> int:
    """Columns `text` takes: wide (East Asian) characters count two, combining marks none."""
    if text.isascii():
        return len(text)
    return sum(_char_width(char) for char in text)


@functools.lru_cache(maxsize=4096)
def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


@functools.lru_cache(maxsize=8192)
def fit(text: str, columns: int, *, right: bool = False) -> str:
    """`text` cut (with an ellipsis) or padded to exactly `columns` columns. Senders and
    subjects repeat down a table, hence the cache."""
    if text.isascii() and text.isprintable():
        if len(text) > columns:
            text = text[: columns - 1] + _ELLIPSIS
        return text.rjust(columns) if right else text.ljust(columns)
    text = clean_line(text)
    if width(text) > columns:
        kept, used = [], 0
        for char in text:
            used += _char_width(char)
            if used > columns - 1:
                break
            kept.append(char)
        text = "".join(kept) + _ELLIPSIS
    padding = " " * max(0, columns - width(text))
    return padding + text if right else text + padding


def human_size(size: int) -> str:
    """A size in bytes, short: 812B, 1.2K, 34M (powers of 1024)."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            if unit == "B":
                return f"{size}B"
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")


def short_date(date: datetime | None) -> str:
    """A date in local time, to the minute; `-` when unknown."""
    return date.astimezone().strftime("%Y-%m-%d %H:%M") if date is not None else "-"


# -- inbox -----------------------------------------------------------------------------


def inbox_table(rows: list[MailboxSummary]) -> Iterable[str]:
    """The lines of `inbox`: one per mailbox, newest first."""
    total = terminal_width()
    count_width = max(len("Messages"), *(len(str(row.count)) for row in rows))
    unread_width = max(len("Unread"), *(len(str(row.unread)) for row in rows))
    fixed = 2 + count_width + 2 + unread_width + 2 + 6 + 2 + 16
    address_width = max(16, min(max(width(row.address) for row in rows), total - fixed))
    yield (
        f"{fit('Mailbox', address_width)}  {fit('Messages', count_width, right=True)}"
        f"  {fit('Unread', unread_width, right=True)}  {fit('Size', 6, right=True)}  Newest"
    )
    for row in rows:
        yield (
            f"{fit(row.address, address_width)}  {fit(str(row.count), count_width, right=True)}"
            f"  {fit(str(row.unread), unread_width, right=True)}"
            f"  {fit(human_size(row.size), 6, right=True)}  {short_date(row.newest)}"
        )


# -- one mailbox -----------------------------------------------------------------------


def message_table(heading: str, rows: list[MessageSummary], *, numbered: bool) -> Iterable[str]:
    """The lines of `read`: a heading, then one line per message, as given: its number
    in its mailbox (or, across mailboxes, the mailbox), its ID, `N` when it is unread,
    date, sender, subject, size and attachment count."""
    yield clean_line(heading)
    total = terminal_width()
    if numbered:
        lead_width = max(1, *(len(str(row.number)) for row in rows))
        lead = ("#", [str(row.number).rjust(lead_width) for row in rows])
    else:
        lead_width = max(7, min(24, max(width(row.mailbox) for row in rows)))
        lead = ("Mailbox", [fit(row.mailbox, lead_width) for row in rows])
    fixed = lead_width + 2 + 17 + 2 + 1 + 2 + 16 + 2 + 2 + 6 + 2 + 3
    sender_width = max(12, min(30, (total - fixed) * 2 // 5))
    subject_width = max(12, total - fixed - sender_width - 2)
    yield (
        f"{fit(lead[0], lead_width, right=numbered)}  {fit('ID', 17)}  N  {fit('Date', 16)}"
        f"  {fit('From', sender_width)}  {fit('Subject', subject_width)}"
        f"  {fit('Size', 6, right=True)}  Att"
    )
    for first, row in zip(lead[1], rows, strict=True):
        yield (
            f"{first}  {row.id:<17}  {' ' if row.read else 'N'}"
            f"  {short_date(row.date or row.received):<16}"
            f"  {fit(row.sender or '-', sender_width)}"
            f"  {fit(row.subject or '(no subject)', subject_width)}"
            f"  {human_size(row.size):>6}  {row.attachments:>3}"
        )


def message_text(summary: MessageSummary, view: MessageView) -> Iterable[str]:
    """The lines of `read ADDRESS N`: the headers that matter, the text, the attachments."""
    yield f"Message {view.index} in {clean_line(summary.mailbox)} (ID {summary.id})"
    yield from _field("From", view.sender)
    yield from _field("To", ", ".join(view.to))
    yield from _field("Cc", ", ".join(view.cc))
    date = view.date.strftime("%a, %d %b %Y %H:%M:%S %z") if view.date is not None else ""
    yield from _field("Date", date)
    yield from _field("Subject", view.subject or "(no subject)")
    yield ""
    if view.plain is None and view.html is not None:
        yield "[the HTML part, rendered as text]"
        yield ""
    text = view.text
    yield clean_text(text.rstrip("\n")) if text else "(no text)"
    if view.attachments:
        yield ""
        yield "Attachments:"
        for number, item in enumerate(view.attachments, start=1):
            name = item.name or "(no name)"
            yield f"  {number}. {clean_line(name)}  ({item.type}, {human_size(item.size)})"


def _field(label: str, value: str) -> Iterable[str]:
    if value:
        yield f"{label + ':':<{_LABEL}} {clean_line(value)}"


# -- watch -----------------------------------------------------------------------------


def arrival_line(summary: MessageSummary) -> str:
    """One line of `watch`: when, which mailbox and number, from whom, about what."""
    when = summary.received.astimezone()
    mailbox = f"{summary.mailbox} #{summary.number}"
    return (
        f"{when:%Y-%m-%d %H:%M:%S}  {fit(mailbox, 30)}  {fit(summary.sender or '-', 30)}"
        f"  {clean_line(summary.subject) or '(no subject)'}"
    )
