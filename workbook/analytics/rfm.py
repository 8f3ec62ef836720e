"""RFM segmentation: recency, frequency and monetary scores, and named segments.

Per identified customer with a purchase up to `as_of` (anonymous orders are left out):
recency = days since the last purchase day, frequency = distinct purchase days (both
`measures.PURCHASE_DAY`, from `cohorts.purchase_days_sql`), monetary = net revenue (refunds
included, `measures.NET_REVENUE`). Each becomes a score from 1 to 5 by rank:
score = 1 + floor(5 * percent_rank), so tied customers share a score (when most customers
bought once, they all get frequency score 1). Recency is ranked so that recent is 5.

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
ADVICE = {
    "champions": "bought recently and often: reward them, ask for reviews and referrals",
    "loyal": "buy often: offer loyalty perks and new products",
    "potential loyalists": "recent and repeat: a membership or bundle can make them loyal",
    "new customers": "first purchase was recent: a good welcome series brings the second",
    "promising": "recent one-time buyers: a reason to come back soon",
    "need attention": "middling on both: a personal, time-limited offer",
    "about to sleep": "fading: remind them with popular products before they go",
    "can't lose them": "used to buy the most, not lately: win them back personally",
    "at risk": "bought often, long ago: a win-back campaign",
    "hibernating": "few purchases, long ago: low priority, or a cheap reactivation",
}


def segment_case() -> str:
    """SEGMENT_RULES as an SQL CASE expression over columns r and f."""
    quote = "'"
    return (
        "CASE "
        + " ".join(f"WHEN {cond} THEN '{name.replace(quote, quote * 2)}'" for name, cond in SEGMENT_RULES)
        + " END"
    )


def _scores_sql() -> str:
    """Per-customer RFM with scores and segment; one bound parameter: as_of."""
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
               1 + least(floor(5 * percent_rank() OVER (ORDER BY recency_days DESC)), 4)::INT AS r,
               1 + least(floor(5 * percent_rank() OVER (ORDER BY frequency)), 4)::INT AS f,
               1 + least(floor(5 * percent_rank() OVER (ORDER BY monetary)), 4)::INT AS m
        FROM raw
    )
    SELECT *, {segment_case()} AS segment FROM scored"""


def scores(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> pd.DataFrame:
    """One row per customer: customer_key, recency_days, frequency, monetary, r, f, m, segment.

    For exports to the consultant's campaign tools (pseudonymous keys only); reports show
    the aggregates of `segments` and `grid`."""
    return con.execute(
        f"""SELECT coalesce(c.customer_key, s.customer_id) AS customer_key, s.recency_days,
                   s.frequency, s.monetary, s.r, s.f, s.m, s.segment
            FROM ({_scores_sql()}) s
            LEFT JOIN (SELECT customer_id, min(customer_key) AS customer_key FROM customers
                       GROUP BY 1) c USING (customer_id)
            ORDER BY s.r DESC, s.f DESC, s.m DESC, customer_key""",
        {"as_of": as_of},
    ).df()


def segments(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> pd.DataFrame:
    """Per segment (in SEGMENTS order, empty segments omitted): customers, customer_share,
    revenue (net, all history to as_of), revenue_share, median recency_days, mean frequency,
    mean monetary, and the suggested action."""
    frame = con.execute(
        f"""SELECT segment, count(*) AS customers,
                   count(*) / sum(count(*)) OVER () AS customer_share,
                   sum(monetary) AS revenue, sum(monetary) / sum(sum(monetary)) OVER () AS revenue_share,
                   median(recency_days) AS recency_days, avg(frequency) AS frequency,
                   avg(monetary) AS monetary
            FROM ({_scores_sql()}) GROUP BY segment""",
        {"as_of": as_of},
    ).df()
    frame["segment"] = pd.Categorical(frame["segment"], categories=SEGMENTS, ordered=True)
    frame = frame.sort_values("segment").reset_index(drop=True)
    frame["segment"] = frame["segment"].astype(str)
    frame["action"] = frame["segment"].map(ADVICE)
    return frame


def grid(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> pd.DataFrame:
    """Customers and revenue per (r, f) score pair with its segment: the RFM heatmap's data."""
    return con.execute(
        f"""SELECT r, f, any_value(segment) AS segment, count(*) AS customers,
                   sum(monetary) AS revenue
            FROM ({_scores_sql()}) GROUP BY r, f ORDER BY r, f""",
        {"as_of": as_of},
    ).df()
