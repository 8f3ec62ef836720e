"""Report dates: parsing a typed date, and the reporting window every notebook derives from `as_of`.

`as_of` is resolved once, at a boundary (the CLI, the renderer, a notebook's `open_context`),
and passed down as a plain `dt.date`; the periods below are derived from it, never re-defaulted.
The default `as_of` itself needs the client's data, so it lives in `store.default_as_of`.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from workbook.core.errors import WorkbookError

BASELINE_WEEKS = 12  # a goal's default baseline window: the last 12 complete weeks
YEAR_DAYS = 364  # the trailing year notebook 03 reads starts this many days before as_of
# Report dates a business can have; beyond them the windows derived from as_of overflow (year 1, 9999).
EARLIEST = dt.date(1970, 1, 1)
LATEST = dt.date(2100, 12, 31)


def parse_date(value: str | dt.date | None) -> dt.date | None:
    """A date typed by the consultant ("YYYY-MM-DD") or given as a date; None or "" stays None."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError as err:
        raise WorkbookError(f"as_of {value!r} is not a date: write it as YYYY-MM-DD.") from err
    if not EARLIEST <= day <= LATEST:
        raise WorkbookError(
            f"as_of {value!r} is outside the dates a report can cover ({EARLIEST} to {LATEST}): "
            f"give the report's last day, YYYY-MM-DD, or leave it out for the latest data."
        )
    return day


def check_timezone(name: object, where: str) -> str:
    """`name` if it is an IANA time zone (e.g. Europe/Berlin), else a WorkbookError naming `where`."""
    try:
        zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
        raise WorkbookError(
            f"{where}: time zone {name!r} is unknown; use an IANA name such as America/Chicago, "
            f"Europe/Berlin or UTC."
        ) from err
    return str(name)


def today_in(timezone: str) -> dt.date:
    """Today's date where the business is (its IANA time zone), which is what 'today' means for
    its data: its timestamps are stored in that zone's local time."""
    return dt.datetime.now(zoneinfo.ZoneInfo(timezone)).date()


def midnight(day: dt.date) -> dt.datetime:
    """The first instant of `day`: timestamps compare with it, so `[midnight(a), midnight(b + 1))` is
    days a to b whole."""
    return dt.datetime.combine(day, dt.time())


def year_start(as_of: dt.date) -> dt.date:
    """The first day of the trailing year that ends on `as_of` (both days included: 365 days)."""
    return as_of - dt.timedelta(days=YEAR_DAYS)


def last_complete_week_end(as_of: dt.date) -> dt.date:
    """The Monday after the last complete week (ISO weeks) on or before `as_of`: an exclusive end."""
    monday = as_of - dt.timedelta(days=as_of.weekday())
    return monday + dt.timedelta(days=7) if as_of.weekday() == 6 else monday


def baseline_window(as_of: dt.date, weeks: int = BASELINE_WEEKS) -> tuple[dt.date, dt.date]:
    """(first day, last day) of the `weeks` complete weeks before `as_of`."""
    end = last_complete_week_end(as_of)
    return end - dt.timedelta(weeks=weeks), end - dt.timedelta(days=1)


@dataclass(frozen=True)
class ReportingWindow:
    """The dates one report is about: `as_of` (its last day, included) and what follows from it."""

    as_of: dt.date

    @property
    def baseline(self) -> tuple[dt.date, dt.date]:
        """(first day, last day) of the default goal baseline: the last 12 complete weeks."""
        return baseline_window(self.as_of)
