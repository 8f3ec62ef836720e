"""Dates as the consultant types them: "YYYY-MM-DD", a date, or nothing."""

from __future__ import annotations

import datetime as dt

from workbook.core.errors import WorkbookError


def parse_date(value: str | dt.date | None) -> dt.date | None:
    """None or "" (not given) -> None; a date or datetime -> its date; else "YYYY-MM-DD", or WorkbookError."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as err:
        raise WorkbookError(f"as_of {value!r} is not a date: write it as YYYY-MM-DD.") from err
