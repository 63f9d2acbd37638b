"""The server's log: one line per connection and per message, cheap enough to keep on.

A log line per accepted message is part of the job (it is how people watch a mail
catcher), but `logging` by default collects for each record what our format never
prints: the calling frame (a stack walk), the thread, the process and its
multiprocessing name. Switching those off is what the `logging` documentation's
"Optimization" section recommends; with the time stamp formatted once a second, a
record costs about half as much, which shows on the event loop at thousands of
messages a second.
"""

from __future__ import annotations

import logging
import time
from typing import Final

FORMAT: Final = "%(asctime)s %(levelname)s %(message)s"
DATE_FORMAT: Final = "%Y-%m-%d %H:%M:%S"


class SecondsFormatter(logging.Formatter):
    """A formatter whose `asctime` (to the second, no fraction) is made once a second."""

    def __init__(self) -> None:
        super().__init__(FORMAT, DATE_FORMAT)
        self._second = -1
        self._text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        second = int(record.created)
        if second != self._second:
            self._text = time.strftime(datefmt or DATE_FORMAT, self.converter(second))
            self._second = second
        return self._text


def configure_logging(level: str) -> None:
    """Log to stderr at `level` (a name: "info", "debug"...), one line per record."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # documented: skips the caller lookup
    handler = logging.StreamHandler()
    handler.setFormatter(SecondsFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler])
