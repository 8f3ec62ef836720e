"""Report dates: a typed date parsed once, and the windows derived from as_of, counted on a calendar."""

from __future__ import annotations

import datetime as dt

import pytest

from workbook.core import dates
from workbook.core.errors import WorkbookError


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        ("", None),
        ("2026-10-31", dt.date(2026, 10, 31)),
        (dt.date(2026, 10, 31), dt.date(2026, 10, 31)),
        (dt.datetime(2026, 10, 31, 23, 59), dt.date(2026, 10, 31)),
    ],
)
def test_parse_date(value, expected):
    assert dates.parse_date(value) == expected


def test_a_malformed_date_says_how_to_write_one():
    with pytest.raises(WorkbookError, match="write it as YYYY-MM-DD"):
        dates.parse_date("31/10/2026")


@pytest.mark.parametrize(
    "as_of, baseline",
    [
        # Sunday 28 June 2026 ends a complete ISO week: the 12 weeks are 6 April .. 28 June
        (dt.date(2026, 6, 28), (dt.date(2026, 4, 6), dt.date(2026, 6, 28))),
        # Saturday 31 October 2026: its week is not over, so the baseline stops on Sunday 25
        (dt.date(2026, 10, 31), (dt.date(2026, 8, 3), dt.date(2026, 10, 25))),
    ],
)
def test_reporting_window_baseline_is_the_last_12_complete_weeks(as_of, baseline):
    assert dates.ReportingWindow(as_of).baseline == baseline


def test_the_trailing_year_is_the_365_days_ending_on_as_of():
    assert dates.year_start(dt.date(2026, 10, 31)) == dt.date(2025, 11, 1)  # 1 Nov 2025 .. 31 Oct 2026
