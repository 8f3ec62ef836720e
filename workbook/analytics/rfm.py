"""RFM segmentation: recency, frequency and monetary scores, and named segments.

Per identified customer with a purchase up to `as_of` (anonymous orders are left out):
recency = days since the last purchase day, frequency = distinct purchase days (both
`measures.PURCHASE_DAY`, from `cohorts.purchase_days_sql`), monetary = net revenue (refunds
included, `measures.NET_REVENUE`). Each becomes a score from 1 to 5 by rank:
score = 1 + floor(5 * percent_rank), so tied customers share a score (when most customers
bought once, they all get frequency score 1). Recency is ranked so that recent is 5, unless
the industry profile gives recency bands (`profiles.Profile.recency_days`): then a customer
seen at most b5, b4, b3, b2 days ago scores 5, 4, 3, 2 (else 1), so a home-services customer
seen 70 days ago is recent whatever the other customers did.

Segments follow the common recency x frequency grid (as in Putler's RFM segments); the
rules are SEGMENT_RULES, checked in order, first match wins:

    R \\ F   1                2                  3               4            5
    5       new customers    potential loyalists                 champions
    4       promising        potential loyalists                 loyal
    3       about to sleep                      need attention   loyal
    1-2     hibernating                         at risk                       can't lose them
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from workbook.analytics.cohorts import purchase_days_sql

# (segment, SQL condition on r and f scores), first match wins; every (r, f) pair is covered.
SEGMENT_RULES: list[tuple[str, str]] = [
    ("champions", "r = 5 AND f >= 4"),
    ("loyal", "r >= 3 AND f >= 4"),
    ("potential loyalists", "r >= 4 AND f >= 2"),
    ("new customers", "r = 5 AND f = 1"),
    ("promising", "r = 4 AND f = 1"),
    ("need attention", "r = 3 AND f = 3"),
    ("about to sleep", "r = 3 AND f <= 2"),
    ("can't lose them", "r <= 2 AND f = 5"),
    ("at risk", "r <= 2 AND f >= 3"),
    ("hibernating", "r <= 2 AND f <= 2"),
]
SEGMENTS = [name for name, _ in SEGMENT_RULES]


def segment_case() -> str:
    """SEGMENT_RULES as an SQL CASE expression over columns r and f."""
    quote = "'"
    return (
        "CASE "
        + " ".join(f"WHEN {cond} THEN '{name.replace(quote, quote * 2)}'" for name, cond in SEGMENT_RULES)
        + " END"
    )


Bands = tuple[int, int, int, int] | None  # recency bands in days (module docstring) or ranks


def _recency_score(bands: Bands) -> str:
    """SQL for the recency score r: by bands ($b5 ... $b2, see `_params`) or by rank."""
    if bands is None:
        return "1 + least(floor(5 * percent_rank() OVER (ORDER BY recency_days DESC)), 4)::INT"
    return (
        "CASE WHEN recency_days <= $b5 THEN 5 WHEN recency_days <= $b4 THEN 4 "
        "WHEN recency_days <= $b3 THEN 3 WHEN recency_days <= $b2 THEN 2 ELSE 1 END"
    )


def _params(as_of: dt.date, bands: Bands) -> dict:
    return {"as_of": as_of, **(dict(zip(("b5", "b4", "b3", "b2"), bands)) if bands else {})}


def _scores_sql(bands: Bands) -> str:
    """Per-customer RFM with scores and segment; bound parameters: as_of, and the bands."""
    return f"""
    WITH {purchase_days_sql("$as_of")},
    raw AS (
        SELECT customer_id,
               date_diff('day', max(day) FILTER (WHERE purchase), CAST($as_of AS DATE)) AS recency_days,
               count(*) FILTER (WHERE purchase) AS frequency,
               sum(revenue) AS monetary
        FROM days GROUP BY customer_id HAVING bool_or(purchase)
    ),
    scored AS (
        SELECT *,
               {_recency_score(bands)} AS r,
               1 + least(floor(5 * percent_rank() OVER (ORDER BY frequency)), 4)::INT AS f,
               1 + least(floor(5 * percent_rank() OVER (ORDER BY monetary)), 4)::INT AS m
        FROM raw
    )
    SELECT *, {segment_case()} AS segment FROM scored"""


def scores(con: duckdb.DuckDBPyConnection, as_of: dt.date, recency_days: Bands = None) -> pd.DataFrame:
    """One row per customer: customer_key, recency_days, frequency, monetary, r, f, m, segment.

    For exports to the consultant's campaign tools (pseudonymous keys only); reports show
    the aggregates of `segments` and `grid`."""
    return con.execute(
        f"""SELECT coalesce(c.customer_key, s.customer_id) AS customer_key, s.recency_days,
                   s.frequency, s.monetary, s.r, s.f, s.m, s.segment
            FROM ({_scores_sql(recency_days)}) s
            LEFT JOIN (SELECT customer_id, min(customer_key) AS customer_key FROM customers
                       GROUP BY 1) c USING (customer_id)
            ORDER BY s.r DESC, s.f DESC, s.m DESC, customer_key""",
        _params(as_of, recency_days),
    ).df()


def segments(con: duckdb.DuckDBPyConnection, as_of: dt.date, recency_days: Bands = None) -> pd.DataFrame:
    """Per segment (in SEGMENTS order, empty segments omitted): customers, customer_share,
    revenue (net, all history to as_of), revenue_share, median recency_days, mean frequency,
    mean monetary. `recency_days`: the industry's recency bands (module docstring)."""
    frame = con.execute(
        f"""SELECT segment, count(*) AS customers,
                   count(*) / sum(count(*)) OVER () AS customer_share,
                   sum(monetary) AS revenue, sum(monetary) / sum(sum(monetary)) OVER () AS revenue_share,
                   median(recency_days) AS recency_days, avg(frequency) AS frequency,
                   avg(monetary) AS monetary
            FROM ({_scores_sql(recency_days)}) GROUP BY segment""",
        _params(as_of, recency_days),
    ).df()
    frame["segment"] = pd.Categorical(frame["segment"], categories=SEGMENTS, ordered=True)
    frame = frame.sort_values("segment").reset_index(drop=True)
    frame["segment"] = frame["segment"].astype(str)
    return frame


def grid(con: duckdb.DuckDBPyConnection, as_of: dt.date, recency_days: Bands = None) -> pd.DataFrame:
    """Customers and revenue per (r, f) score pair with its segment: the RFM heatmap's data."""
    return con.execute(
        f"""SELECT r, f, any_value(segment) AS segment, count(*) AS customers,
                   sum(monetary) AS revenue
            FROM ({_scores_sql(recency_days)}) GROUP BY r, f ORDER BY r, f""",
        _params(as_of, recency_days),
    ).df()
