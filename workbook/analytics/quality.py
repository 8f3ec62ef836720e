"""Data inventory and data quality for onboarding: what the client sent and what to trust.

Every check runs in DuckDB and returns small frames of counts. Outliers use Tukey's far-out
fences (Tukey 1977, Exploratory Data Analysis): below Q1 - 3 IQR or above Q3 + 3 IQR, with
quartiles from DuckDB's `quantile_cont` (linear interpolation, as numpy's default).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from workbook import store
from workbook.store.schema import DATA_TABLES, NATURAL_KEYS, TABLES

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


def date_gaps(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per dated activity table: calendar days covered, days without rows, the longest gap."""
    rows = []
    for table in GAP_TABLES:
        col = TABLES[table].time
        found = store.one_row(
            con,
            f"""WITH d AS (SELECT DISTINCT {col}::DATE AS day FROM {table}),
                     g AS (SELECT day, lead(day) OVER (ORDER BY day) AS next FROM d)
                SELECT (SELECT count(*) FROM d), (SELECT max(day) - min(day) + 1 FROM d),
                       max(next - day - 1), arg_max(day, next - day) + 1
                FROM g WHERE next IS NOT NULL""",
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
