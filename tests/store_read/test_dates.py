"""One reading of dates for both readers: mbox `From ` lines and `Date:` fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from postier.store.read.scan import calendar_date, envelope_time
from postier.store.read.summary import parse_date


def test_the_month_is_read_in_any_case_from_bytes_or_text() -> None:
    expected = datetime(2024, 3, 5, 7, 8, 9, tzinfo=UTC)
    assert calendar_date((b"2024", b"Mar", b"5"), (b"7", b"8", b"9"), UTC) == expected
    assert calendar_date(("2024", "mAR", "05"), ("07", "08", "09"), UTC) == expected
    assert calendar_date(("2024", "Mar", "5"), ("7", "8", None), UTC) == expected.replace(second=0)


def test_no_such_month_or_day_is_none() -> None:
    assert calendar_date(("2024", "Mai", "5"), ("7", "8", None), UTC) is None
    assert calendar_date(("2023", "Feb", "29"), ("7", "8", None), UTC) is None


def test_both_readers_agree_on_the_same_moment() -> None:
    from_line = envelope_time(b"From a@x Tue Mar  5 07:08:09 2024")
    date_field = parse_date("Tue, 5 Mar 2024 08:08:09 +0100")
    assert from_line == date_field
    assert date_field is not None and date_field.utcoffset() == timedelta(hours=1)


def test_a_zone_a_day_off_is_left_to_the_general_parser() -> None:
    date = parse_date("5 Mar 2024 07:08:09 +9999")
    assert date is None or date.tzinfo is not None
    assert parse_date("5 Mar 2024 07:08:09 -0000") == datetime(2024, 3, 5, 7, 8, 9, tzinfo=UTC)
