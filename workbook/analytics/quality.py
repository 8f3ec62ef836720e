"""Data inventory and data quality for onboarding: what the client sent and what to trust.

Every check runs in DuckDB and returns small frames of counts. Outliers use Tukey's far-out
fences (Tukey 1977, Exploratory Data Analysis): below Q1 - 3 IQR or above Q3 + 3 IQR, with
quartiles from DuckDB's `quantile_cont` (linear interpolation, as numpy's default).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import duckdb
import pandas as pd

from workbook import store
from workbook.core.dates import midnight
from workbook.store.schema import ACTIVITY_TABLES, DATA_TABLES, NATURAL_KEYS, TABLES

OUTLIER_COLUMNS = (("orders", "revenue"), ("spend", "amount"), ("web_sessions", "sessions"))
GAP_TABLES = (
    "orders",
    "leads",
    "web_sessions",
    "spend",
)  # daily activity (emails go out on campaign days only)
# columns the importer fills for its own bookkeeping (the import's label), not client data
BOOKKEEPING = {"import_id", "customers.source", "orders.source", "campaigns.source"}
# columns where an empty value is a fact, not a gap: no conversion, no open, no refund...
EMPTY_MEANS_NONE = {
    ("leads", "converted_at"),
    ("campaign_sends", "opened_at"),
    ("campaign_sends", "clicked_at"),
    ("campaign_sends", "converted_at"),
    ("campaign_sends", "revenue"),
    ("orders", "refunded"),
    ("orders", "discount"),
    ("orders", "cancelled"),  # the export does not say: not cancelled
    ("campaigns", "ended_at"),
}
TUKEY_K = 3.0


def inventory(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rows and date range of every canonical table (empty tables included, with 0 rows)."""
    rows = []
    for table in DATA_TABLES:
        col = TABLES[table].time
        span = f"min({col})::DATE, max({col})::DATE" if col else "NULL::DATE, NULL::DATE"
        n, first, last = store.one_row(con, f"SELECT count(*), {span} FROM {table}")
        rows.append({"table": table, "rows": n, "first": first, "last": last})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Span:
    """One activity table's history up to the report's date: rows, first and last day."""

    table: str
    rows: int
    first: dt.date
    last: dt.date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def weeks(self) -> int:
        """Whole weeks covered (13 weeks of data is 91 days)."""
        return self.days // 7

    @property
    def months(self) -> int:
        """Whole months covered (average month: 30.44 days)."""
        return int(self.days / 30.44)


@dataclass(frozen=True)
class History:
    """How much history the client's data has up to `as_of`: the one home for "how much data is
    there", which each page's first lines and the thin-data sections read."""

    as_of: dt.date
    spans: dict[str, Span]  # activity tables with rows on or before as_of, in ACTIVITY_TABLES order

    @property
    def longest(self) -> Span | None:
        """The table with the longest history (the first in ACTIVITY_TABLES order on a tie)."""
        return max(self.spans.values(), key=lambda s: s.days, default=None)

    @property
    def weeks(self) -> int:
        """Whole weeks of the longest history; 0 when nothing is imported."""
        return self.longest.weeks if self.longest else 0

    def of(self, table: str) -> Span | None:
        return self.spans.get(table)


def _spans(con: duckdb.DuckDBPyConnection, day: dt.date, after: bool = False) -> list[Span]:
    """Each activity table's rows dated on or before `day` (or, `after`, later than it), with
    their first and last day; tables without such rows left out."""
    comparison = ">=" if after else "<"
    spans = []
    for table in ACTIVITY_TABLES:
        col = TABLES[table].time
        n, first, last = store.one_row(
            con,
            f"SELECT count(*), min({col})::DATE, max({col})::DATE FROM {table} WHERE {col} {comparison} $end",
            {"end": midnight(day + dt.timedelta(days=1))},
        )
        if n:
            spans.append(Span(table, n, first, last))
    return spans


@store.once_per_read_only
def history(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> History:
    """Rows, first and last day of each activity table (`ACTIVITY_TABLES`) up to `as_of`."""
    return History(as_of, {span.table: span for span in _spans(con, as_of)})


def future_rows(con: duckdb.DuckDBPyConnection, today: dt.date) -> pd.DataFrame:
    """Rows dated after `today` (the client's local date) per activity table: a mistyped year or
    a wrong time zone. They never move the report's date (`store.default_as_of`); onboarding
    reports them. Columns: table, rows, first, last."""
    spans = _spans(con, today, after=True)
    return pd.DataFrame([asdict(s) for s in spans], columns=["table", "rows", "first", "last"])


def import_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per imported file, newest first."""
    return con.execute(
        "SELECT imported_at, source, file_name, rows, inserted, updated FROM imports "
        "ORDER BY imported_at DESC, import_id DESC"
    ).df()


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $table "
            "ORDER BY ordinal_position",
            {"table": table},
        ).fetchall()
        if r[0] not in BOOKKEEPING and f"{table}.{r[0]}" not in BOOKKEEPING
    ]


def missing_values(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Columns with empty values in non-empty tables: table, column, missing, rows, share.

    Columns where empty means "did not happen" (`EMPTY_MEANS_NONE`) are not counted.
    """
    rows = []
    for table in DATA_TABLES:
        cols = [c for c in _columns(con, table) if (table, c) not in EMPTY_MEANS_NONE]
        counts = store.one_row(
            con, f"SELECT count(*), {', '.join(f'count(*) - count({c})' for c in cols)} FROM {table}"
        )
        total = counts[0]
        rows += [
            {"table": table, "column": c, "missing": m, "rows": total, "share": m / total}
            for c, m in zip(cols, counts[1:])
            if total and m
        ]
    return pd.DataFrame(rows, columns=["table", "column", "missing", "rows", "share"])


def duplicates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rows beyond the first for each repeated natural key: table, key, duplicate_rows.

    Keys are grouped by their 64-bit hash first (much cheaper than grouping the strings); only
    the rows whose hash repeats are then grouped by the key itself, so a collision counts nothing.
    """
    rows = []
    for table, key in NATURAL_KEYS.items():
        cols = ", ".join(key)
        extra = store.scalar(
            con,
            f"WITH repeated AS (SELECT hash({cols}) AS h FROM {table} GROUP BY 1 HAVING count(*) > 1) "
            f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {table} "
            f"WHERE hash({cols}) IN (SELECT h FROM repeated) GROUP BY {cols} HAVING count(*) > 1)",
        )
        rows.append({"table": table, "key": cols, "duplicate_rows": int(extra)})
    return pd.DataFrame(rows)


def outliers(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Tukey far-out values per numeric column: low/high fence, count below/above, rows."""
    rows = []
    for table, col in OUTLIER_COLUMNS:
        n, quartiles = store.one_row(
            con, f"SELECT count({col}), quantile_cont({col}, [0.25, 0.75]) FROM {table}"
        )
        if not n:
            continue
        q1, q3 = quartiles  # one sort for both
        iqr = float(q3) - float(q1)
        low, high = float(q1) - TUKEY_K * iqr, float(q3) + TUKEY_K * iqr
        below, above = store.one_row(
            con,
            f"SELECT count(*) FILTER (WHERE {col} < $low), count(*) FILTER (WHERE {col} > $high) FROM {table}",
            {"low": low, "high": high},
        )
        rows.append(
            {
                "table": table,
                "column": col,
                "rows": n,
                "low_fence": low,
                "high_fence": high,
                "below": below,
                "above": above,
            }
        )
    return pd.DataFrame(
        rows, columns=["table", "column", "rows", "low_fence", "high_fence", "below", "above"]
    )


def date_gaps(con: duckdb.DuckDBPyConnection, until: dt.date | None = None) -> pd.DataFrame:
    """Per dated activity table: calendar days covered, days without rows, the longest gap;
    over the rows dated on or before `until` when given (so rows dated in the future, reported
    by `future_rows`, do not show as a gap of decades)."""
    rows = []
    for table in GAP_TABLES:
        col = TABLES[table].time
        found = store.one_row(
            con,
            f"""WITH d AS (SELECT DISTINCT {col}::DATE AS day FROM {table}
                           WHERE $until IS NULL OR {col}::DATE <= $until),
                     g AS (SELECT day, lead(day) OVER (ORDER BY day) AS next FROM d)
                SELECT (SELECT count(*) FROM d), (SELECT max(day) - min(day) + 1 FROM d),
                       max(next - day - 1), arg_max(day, next - day) + 1
                FROM g WHERE next IS NOT NULL""",
            {"until": until},
        )
        active, calendar, longest, gap_start = found
        if not active:
            continue
        rows.append(
            {
                "table": table,
                "calendar_days": calendar,
                "days_without_rows": calendar - active,
                "longest_gap_days": longest or 0,
                "longest_gap_from": gap_start if longest else None,
            }
        )
    return pd.DataFrame(
        rows, columns=["table", "calendar_days", "days_without_rows", "longest_gap_days", "longest_gap_from"]
    )
