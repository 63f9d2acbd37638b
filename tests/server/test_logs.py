"""The server's log format: the cheap formatter writes what the standard one would."""

from __future__ import annotations

import logging

import pytest

from postier.server.logs import DATE_FORMAT, FORMAT, SecondsFormatter


def record(created: float, message: str = "accepted %s") -> logging.LogRecord:
    made = logging.LogRecord("postier.server", logging.INFO, __file__, 1, message, ("Q1",), None)
    made.created = created
    made.msecs = (created - int(created)) * 1000
    return made


@pytest.mark.parametrize(
    "times",
    [
        [1764210189.0, 1764210189.999, 1764210190.001],  # within a second, then the next
        [1764210190.5, 1764210189.5, 1764210190.5],  # a clock that steps back
        [0.0, 86399.9, 86400.0],
    ],
)
def test_same_lines_as_the_standard_formatter(times: list[float]) -> None:
    ours, standard = SecondsFormatter(), logging.Formatter(FORMAT, DATE_FORMAT)
    for created in times:
        assert ours.format(record(created)) == standard.format(record(created))
