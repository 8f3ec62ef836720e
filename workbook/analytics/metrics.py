"""The KPI registry: every KPI declared once, computed in DuckDB as a series per day/week/month.

Each KPI's SQL returns one row per period with its numerator and denominator (columns `num`
and `den` unless the KPI names others):

- `flow` KPIs (revenue, orders, leads...) are amounts per period: `den` is 1 and an empty
  period is 0. Over a window their value is the average per period ("per week").
- `ratio` KPIs (AOV, rates, NPS, means of scores) are `num / den`; an empty period has no
  value. Over a window their value is pooled: sum(num) / sum(den), not a mean of ratios.
- `stock` KPIs (historic CLTV) are a state at the end of each period; over a window their
  value is the last period's.

A ratio's 95% interval over a window comes from how its periods vary (`pooled`), unless the
KPI is `overlapping`: churn counts nearly the same customers in every week (a 90-day or 12-month
lapse, chosen per industry by `profiles`),
so its weeks barely vary and their spread would understate the uncertainty several times;
its interval is a Wilson interval on one period's customer base instead.

The SQL sees named parameters: `$start` and `$end` (timestamps; the window is
[start, end)), `$grain` ('day', 'week' or 'month'; weeks start on Monday) and `$segment`
(a `customers.segment`, or NULL for everyone) and the KPI's own `params` (churn's `$lapse`
and `$horizon`, in days), plus the CTE `spine(period)` holding every
period of the window. A KPI whose source rows do not exist for this client is *unavailable*
(`available()` is False), never reported as zero.

KPIs are built on the measures of `measures` (what a purchase, an active or a new customer,
NPS or CES is), so they count what cohorts, RFM and CLV count. KPIs from the same rows share one SQL (the order KPIs one scan of orders, the email rates one of
campaign_sends), and on a read-only connection, whose data cannot change, each result is kept
for the life of the connection: a notebook asking for six order KPIs runs one query.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

import duckdb
import pandas as pd
from scipy import stats

from workbook import store
from workbook.analytics import measures
from workbook.analytics.profiles import Profile
from workbook.analytics.stats import wilson_interval
from workbook.core import dates
from workbook.core.errors import WorkbookError

GRAINS = ("day", "week", "month")


# The values a KPI of each unit can take. Intervals and projections are kept inside them, so a
# report never states an impossible value (a rate over 100%, negative money). A `scale` KPI
# declares its own ends (CES 1-7, stars 1-5).
UNIT_RANGE: dict[str, tuple[float, float]] = {
    "money": (0.0, math.inf),
    "count": (0.0, math.inf),
    "share": (0.0, 1.0),
    "score": (-100.0, 100.0),
    "ratio": (-1.0, math.inf),  # a return on an investment loses at most all of it
}


@dataclass(frozen=True)
class KPI:
    name: str
    label: str
    unit: str  # money | count | share (0..1) | score (NPS, -100..100) | scale (1..5, 1..7) | ratio
    better: str  # "up" or "down": which direction is an improvement
    kind: str  # flow | ratio | stock (see the module docstring)
    sql: str
    needs: dict[str, str]  # table -> condition its rows must meet for the KPI to exist
    clock: tuple[str, str]  # (table, timestamp column) that dates the KPI's history
    description: str
    segmentable: bool = True
    suggest: tuple[str, float] = ("pct", 10.0)  # default SMART step: ("pct", 10) or ("abs", 5)
    num: str = "num"  # the columns of `sql` holding the numerator and the denominator
    den: str = "den"
    overlapping: bool = False  # consecutive periods count mostly the same units (module docstring)
    possible: tuple[float, float] | None = None  # the values it can take; default: its unit's
    params: tuple[tuple[str, int], ...] = ()  # named parameters of `sql` beyond the module's
    tables: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "tables", tuple(self.needs))
        if self.possible is None:
            object.__setattr__(self, "possible", UNIT_RANGE[self.unit])

    @property
    def identified_only(self) -> bool:
        """Computed on the orders that carry a customer id only (`measures.IDENTIFIED_SHARE`)."""
        return self.needs.get("orders") == _CUSTOMER_ORDERS["orders"]

    def within(self, x: float) -> float:
        """`x` moved to the nearest value the KPI can take (NaN stays NaN)."""
        low, high = self.possible or UNIT_RANGE[self.unit]
        return x if math.isnan(x) else min(max(x, low), high)


def _seg(column: str) -> str:
    return f"($segment IS NULL OR {column} IN (SELECT customer_id FROM customers WHERE segment = $segment))"


_PERIOD = "date_trunc($grain, {ts}::TIMESTAMP)"
_WINDOW = "{ts} >= $start AND {ts} < $end"
_SPEND = (
    f"sp AS (SELECT {_PERIOD.format(ts='spent_on')} AS period, sum(amount) AS amount FROM spend "
    "WHERE spent_on >= $start::DATE AND spent_on < $end::DATE GROUP BY 1)"
)
_PURCHASE = measures.PURCHASE.sql
_REVENUE = measures.NET_REVENUE.sql
# The order KPIs (and CAC, historic CLTV) in one statement, one row per spine period. Per known
# customer: the first purchase t (before $end), the first purchase in the window w, and what came
# before the window. A customer who bought in a period had bought before it unless t falls in
# that period, and t falls in a period they bought in exactly when t and w share a period: so a
# period's returning customers are its active ones minus those whose t and w share it (no join
# of customer-periods to first purchases). To-date sums add the window's periods to what came
# before. Orders count as purchases (measures.PURCHASE); revenue sums every order (NET_REVENUE).
_ORDER_STATS = (
    f"WITH known AS (SELECT {measures.FIRST_PURCHASE.sql} AS t, "
    f"min(ordered_at) FILTER (WHERE ordered_at >= $start AND {_PURCHASE}) AS w "
    f"FROM orders WHERE customer_id IS NOT NULL AND ordered_at < $end AND {_seg('customer_id')} "
    "GROUP BY customer_id), "
    f"before AS (SELECT count(*) AS orders_before, coalesce({_REVENUE}, 0) AS revenue_before, "
    "(SELECT count(*) FROM known WHERE t < $start) AS customers_before FROM orders "
    f"WHERE customer_id IS NOT NULL AND ordered_at < $start AND {_seg('customer_id')}), "
    f"sales AS (SELECT {_PERIOD.format(ts='ordered_at')} AS period, {_REVENUE} AS revenue, "
    f"count(*) FILTER (WHERE {_PURCHASE}) AS orders, count(customer_id) AS known_orders, "
    f"{_REVENUE} FILTER (WHERE customer_id IS NOT NULL) AS known_revenue "
    f"FROM orders WHERE {_WINDOW.format(ts='ordered_at')} AND {_seg('customer_id')} GROUP BY 1), "
    # its own scan: beside other aggregates, count(DISTINCT) makes DuckDB buffer the orders
    f"act AS (SELECT period, count(*) AS active FROM (SELECT DISTINCT {_PERIOD.format(ts='ordered_at')} AS period, "
    f"customer_id FROM orders WHERE customer_id IS NOT NULL AND {_PURCHASE} "
    f"AND {_WINDOW.format(ts='ordered_at')} AND {_seg('customer_id')}) GROUP BY 1), "
    f"new AS (SELECT {_PERIOD.format(ts='t')} AS period, count(*) AS new FROM known WHERE t >= $start GROUP BY 1), "
    f"began AS (SELECT {_PERIOD.format(ts='w')} AS period, count(*) AS began FROM known "
    f"WHERE {_PERIOD.format(ts='t')} = {_PERIOD.format(ts='w')} GROUP BY 1), "
    f"{_SPEND} "
    "SELECT s.period, revenue, orders, active, new, active - coalesce(began, 0) AS returning, "
    "coalesce(sp.amount, 0) AS spend, coalesce(new, 0) AS acquired, "
    "CASE WHEN orders_before + sum(coalesce(known_orders, 0)) OVER w > 0 "
    "THEN revenue_before + sum(coalesce(known_revenue, 0)) OVER w END AS revenue_to_date, "
    "nullif(customers_before + sum(coalesce(new, 0)) OVER w, 0) AS customers_to_date "
    "FROM spine s CROSS JOIN before LEFT JOIN sales USING (period) LEFT JOIN act USING (period) "
    "LEFT JOIN new USING (period) "
    "LEFT JOIN began USING (period) LEFT JOIN sp USING (period) WINDOW w AS (ORDER BY s.period)"
)


# Recipients (by send date) for whom each email event happened: the email rates' one statement.
_EMAIL_STATS = (
    f"SELECT {_PERIOD.format(ts='sent_at')} AS period, count(*) AS sends, "
    "count(opened_at) AS opened, count(clicked_at) AS clicked, count(converted_at) AS converted, "
    "count(*) FILTER (WHERE unsubscribed) AS unsubscribed FROM campaign_sends "
    f"WHERE {_WINDOW.format(ts='sent_at')} AND {_seg('customer_id')} GROUP BY 1"
)


def _feedback(measure: measures.Measure) -> str:
    """A feedback ratio measure's numerator and denominator per period."""
    return (
        f"SELECT {_PERIOD.format(ts='submitted_at')} AS period, {measure.num} AS num, "
        f"{measure.den} AS den FROM feedback WHERE {_WINDOW.format(ts='submitted_at')} "
        f"AND {_seg('customer_id')} GROUP BY 1"
    )


_ORDERS = {"orders": "TRUE"}
_CUSTOMER_ORDERS = {"orders": "customer_id IS NOT NULL"}
_SENDS = {"campaign_sends": "TRUE"}
_ORDER_CLOCK = ("orders", "ordered_at")
_SEND_CLOCK = ("campaign_sends", "sent_at")
_FEEDBACK_CLOCK = ("feedback", "submitted_at")

# Churn with a lapse of $lapse days among customers who bought $lapse to $horizon days before a
# period's end (one statement for every lapse window; `_churn`).
_CHURN = (
    "WITH o AS (SELECT customer_id, ordered_at::DATE AS t FROM orders "
    f"WHERE customer_id IS NOT NULL AND {_PURCHASE} AND ordered_at < $end AND {_seg('customer_id')}), "
    "ends AS (SELECT period, least(period + ('1 ' || $grain)::INTERVAL, $end)::DATE AS e FROM spine), "
    # Without a period x purchase join. Period ends are midnights, so only a purchase's day
    # t matters. With prev, next the customer's purchase days around t: t puts its customer
    # in the base for period ends e in (t + lapse, t + horizon], counted once as the part prev's
    # does not cover, and lapsed (base, no purchase since) for e in (t + lapse, min(next, t + horizon)].
    # Customers counted at e = pieces begun before e minus pieces ended before e: a running
    # sum read by an ASOF join. A customer's second purchase on a day adds an empty base piece
    # (prev = t) and no lapse piece (the first has next = t), so purchases need no DISTINCT.
    "seq AS (SELECT t, lag(t) OVER w AS prev, lead(t) OVER w AS next, "
    "CAST($lapse AS INTEGER) AS lapse, CAST($horizon AS INTEGER) AS horizon "
    "FROM o WINDOW w AS (PARTITION BY customer_id ORDER BY t)), "
    "pieces AS (SELECT greatest(t + lapse, coalesce(prev + horizon, t)) AS lo, t + horizon AS hi, 0 AS lapsed "
    "FROM seq UNION ALL "
    "SELECT t + lapse, least(coalesce(next, t + horizon), t + horizon), 1 FROM seq "
    "WHERE coalesce(next, t + horizon) > t + lapse), "
    "changes AS (SELECT ts, sum(d * lapsed) AS d_num, sum(d * (1 - lapsed)) AS d_den FROM "
    "(SELECT lo AS ts, 1 AS d, lapsed FROM pieces UNION ALL SELECT hi, -1, lapsed FROM pieces) "
    "GROUP BY ts), "
    "running AS (SELECT ts, sum(d_num) OVER (ORDER BY ts) AS num, sum(d_den) OVER (ORDER BY ts) AS den "
    "FROM changes) "
    "SELECT ends.period, running.num, running.den FROM ends ASOF JOIN running ON ends.e > running.ts "
    "WHERE running.den > 0"
)


def _churn(name: str, lapse_words: str, lapse: int, horizon: int, base_words: str, since_words: str) -> KPI:
    """A churn KPI whose customers lapse after `lapse` days without a purchase, among those who
    bought `lapse` to `horizon` days before (`profiles` chooses one per industry)."""
    return KPI(
        name,
        f"Churn rate ({lapse_words} lapse)",
        "share",
        "down",
        "ratio",
        _CHURN,
        _CUSTOMER_ORDERS,
        _ORDER_CLOCK,
        f"Of the customers who bought {base_words} before the end of the period, the share with no "
        f"purchase in the last {since_words} (as of the period's end or as_of).",
        suggest=("pct", -10.0),
        overlapping=True,
        params=(("lapse", lapse), ("horizon", horizon)),
    )


_KPI_LIST = [
    KPI(
        "revenue",
        "Revenue",
        "money",
        "up",
        "flow",
        _ORDER_STATS,
        _ORDERS,
        _ORDER_CLOCK,
        "Net sales (after discounts and refunds).",
        num="revenue",
    ),
    KPI(
        "orders",
        "Orders",
        "count",
        "up",
        "flow",
        _ORDER_STATS,
        _ORDERS,
        _ORDER_CLOCK,
        "Number of purchases: orders or sales not cancelled and not fully refunded (refunds are not sales).",
        num="orders",
    ),
    KPI(
        "aov",
        "Average order value",
        "money",
        "up",
        "ratio",
        _ORDER_STATS,
        _ORDERS,
        _ORDER_CLOCK,
        "Revenue divided by purchases.",
        num="revenue",
        den="orders",
    ),
    KPI(
        "active_customers",
        "Active customers",
        "count",
        "up",
        "flow",
        _ORDER_STATS,
        _CUSTOMER_ORDERS,
        _ORDER_CLOCK,
        "Known customers with a purchase in the period.",
        num="active",
    ),
    KPI(
        "new_customers",
        "New customers",
        "count",
        "up",
        "flow",
        _ORDER_STATS,
        _CUSTOMER_ORDERS,
        _ORDER_CLOCK,
        "Customers whose first purchase falls in the period.",
        num="new",
    ),
    KPI(
        "repeat_purchase_rate",
        "Repeat purchase rate",
        "share",
        "up",
        "ratio",
        _ORDER_STATS,
        _CUSTOMER_ORDERS,
        _ORDER_CLOCK,
        "Of the customers who bought in the period, the share who had bought before it.",
        num="returning",
        den="active",
    ),
    _churn("churn_rate", "90-day", 90, 365, "3 to 12 months", "90 days"),
    _churn("churn_rate_annual", "12-month", 365, 730, "1 to 2 years", "12 months"),
    KPI(
        "leads",
        "Leads",
        "count",
        "up",
        "flow",
        f"SELECT {_PERIOD.format(ts='created_at')} AS period, count(*) AS num, NULL AS den FROM leads "
        f"WHERE {_WINDOW.format(ts='created_at')} AND {_seg('customer_id')} GROUP BY 1",
        {"leads": "TRUE"},
        ("leads", "created_at"),
        "New enquiries.",
    ),
    KPI(
        "lead_conversion_rate",
        "Lead conversion rate",
        "share",
        "up",
        "ratio",
        f"SELECT {_PERIOD.format(ts='created_at')} AS period, count(converted_at) AS num, count(*) AS den "
        f"FROM leads WHERE {_WINDOW.format(ts='created_at')} AND {_seg('customer_id')} GROUP BY 1",
        {"leads": "TRUE"},
        ("leads", "created_at"),
        "Share of the period's leads that became paying jobs (recent leads may still convert).",
    ),
    KPI(
        "cac",
        "Customer acquisition cost",
        "money",
        "down",
        "ratio",
        _ORDER_STATS,
        {"spend": "TRUE", **_CUSTOMER_ORDERS},
        ("spend", "spent_on"),
        measures.CAC.definition,
        segmentable=False,
        suggest=("pct", -10.0),
        num="spend",
        den="acquired",
    ),
    KPI(
        "romi",
        "Return on marketing investment",
        "ratio",
        "up",
        "ratio",
        f"WITH {_SPEND}, att AS (SELECT {_PERIOD.format(ts='o.ordered_at')} AS period, {_REVENUE} AS revenue "
        # a semi join, not EXISTS: DuckDB would first group the orders by (customer, time)
        "FROM orders o SEMI JOIN (SELECT customer_id, touched_at FROM touches "
        "WHERE channel IN (SELECT channel FROM spend)) t ON t.customer_id = o.customer_id "
        "AND t.touched_at <= o.ordered_at AND t.touched_at > o.ordered_at - INTERVAL 7 DAY "
        f"WHERE {_WINDOW.format(ts='o.ordered_at')} GROUP BY 1) "
        "SELECT s.period, coalesce(att.revenue, 0) - coalesce(sp.amount, 0) AS num, sp.amount AS den "
        "FROM spine s LEFT JOIN sp USING (period) LEFT JOIN att USING (period)",
        {"spend": "TRUE", "touches": "TRUE", **_CUSTOMER_ORDERS},
        ("spend", "spent_on"),
        measures.ROMI.definition,
        segmentable=False,
    ),
    KPI(
        "historic_cltv",
        "Historic customer lifetime value",
        "money",
        "up",
        "stock",
        _ORDER_STATS,
        _CUSTOMER_ORDERS,
        _ORDER_CLOCK,
        "Revenue per known customer so far: all their revenue to date / customers to date.",
        num="revenue_to_date",
        den="customers_to_date",
    ),
    KPI(
        "email_open_rate",
        "Email open rate",
        "share",
        "up",
        "ratio",
        _EMAIL_STATS,
        _SENDS,
        _SEND_CLOCK,
        "Share of email recipients who opened.",
        num="opened",
        den="sends",
    ),
    KPI(
        "email_click_rate",
        "Email click rate",
        "share",
        "up",
        "ratio",
        _EMAIL_STATS,
        _SENDS,
        _SEND_CLOCK,
        "Share of email recipients who clicked.",
        num="clicked",
        den="sends",
    ),
    KPI(
        "email_conversion_rate",
        "Email conversion rate",
        "share",
        "up",
        "ratio",
        _EMAIL_STATS,
        _SENDS,
        _SEND_CLOCK,
        "Share of email recipients who ordered after the email.",
        num="converted",
        den="sends",
    ),
    KPI(
        "unsubscribe_rate",
        "Unsubscribe rate",
        "share",
        "down",
        "ratio",
        _EMAIL_STATS,
        _SENDS,
        _SEND_CLOCK,
        "Share of email recipients who unsubscribed.",
        suggest=("pct", -10.0),
        num="unsubscribed",
        den="sends",
    ),
    KPI(
        "nps",
        "Net Promoter Score",
        "score",
        "up",
        "ratio",
        _feedback(measures.NPS),
        {"feedback": "nps IS NOT NULL"},
        _FEEDBACK_CLOCK,
        measures.NPS.definition,
        suggest=("abs", 5.0),
    ),
    KPI(
        "ces",
        "Customer effort score",
        "scale",
        "down",
        "ratio",
        _feedback(measures.CES),
        {"feedback": "ces IS NOT NULL"},
        _FEEDBACK_CLOCK,
        measures.CES.definition,
        possible=(1.0, 7.0),
        suggest=("abs", -0.3),
    ),
    KPI(
        "csat",
        "Customer satisfaction (CSAT)",
        "scale",
        "up",
        "ratio",
        _feedback(measures.CSAT_MEAN),
        {"feedback": "csat IS NOT NULL"},
        _FEEDBACK_CLOCK,
        measures.CSAT_MEAN.definition,
        possible=(1.0, 5.0),
        suggest=("abs", 0.2),
    ),
    KPI(
        "avg_rating",
        "Average review rating",
        "scale",
        "up",
        "ratio",
        _feedback(measures.AVERAGE_RATING),
        {"feedback": "rating IS NOT NULL"},
        _FEEDBACK_CLOCK,
        measures.AVERAGE_RATING.definition,
        possible=(1.0, 5.0),
        suggest=("abs", 0.2),
    ),
    # Each period's own busiest two hours: a measure of how concentrated that period's sales
    # are, so a baseline and a later window are always measured the same way.
    KPI(
        "peak_hour_share",
        "Peak-hour share of sales",
        "share",
        "down",
        "ratio",
        f"WITH hourly AS (SELECT {_PERIOD.format(ts='ordered_at')} AS period, hour(ordered_at) AS h, "
        f"sum(revenue) AS r FROM orders WHERE {_WINDOW.format(ts='ordered_at')} "
        f"AND {_seg('customer_id')} GROUP BY 1, 2) "
        "SELECT a.period, max(a.r + coalesce(b.r, 0)) AS num, sum(a.r) AS den "
        "FROM hourly a LEFT JOIN hourly b ON b.period = a.period AND b.h = a.h + 1 GROUP BY 1",
        _ORDERS,
        _ORDER_CLOCK,
        "Share of the period's sales in its busiest two-hour window of the day (lower = sales "
        "spread more evenly over the day).",
        suggest=("abs", -0.03),
    ),
]

KPIS: dict[str, KPI] = {k.name: k for k in _KPI_LIST}


def get(name: str) -> KPI:
    try:
        return KPIS[name]
    except KeyError:
        raise WorkbookError(f"Unknown KPI {name!r}. Known KPIs: {', '.join(KPIS)}.") from None


def available(con: duckdb.DuckDBPyConnection, kpi: KPI | str) -> bool:
    """True when every table the KPI needs has rows meeting its condition."""
    kpi = get(kpi) if isinstance(kpi, str) else kpi
    return all(
        store.scalar(con, f"SELECT EXISTS (SELECT 1 FROM {t} WHERE {cond})") for t, cond in kpi.needs.items()
    )


def available_kpis(con: duckdb.DuckDBPyConnection, profile: Profile | None = None) -> list[KPI]:
    """The KPIs with data, of those the industry `profile` shows (all of them without one)."""
    return [k for k in _KPI_LIST if (profile is None or profile.shows(k.name)) and available(con, k)]


def _params(sql: str, values: dict) -> dict:
    """Only the named parameters the statement uses (DuckDB rejects extra ones)."""
    used = set(re.findall(r"\$(\w+)", sql))
    return {k: v for k, v in values.items() if k in used}


@store.once_per_read_only
def _run(con: duckdb.DuckDBPyConnection, sql: str, params: tuple) -> pd.DataFrame:
    return con.execute(sql, dict(params)).df()


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    """The statement's result, computed once per read-only connection, so KPIs sharing a
    statement and repeated calls do not rerun it."""
    return _run(con, sql, tuple(sorted(params.items()))).copy()


def series(
    con: duckdb.DuckDBPyConnection,
    kpi: KPI | str,
    grain: str = "week",
    *,
    as_of: dt.date,
    segment: str | None = None,
    since: dt.date | None = None,
) -> pd.DataFrame:
    """The KPI per period, from `since` (default: the first dated row) to `as_of` inclusive.

    Columns: period (date the period starts), value, num, den, complete (False for a period
    that `as_of` cuts short, e.g. the current week). Periods before the KPI's first dated row
    have no value (not 0). Raises WorkbookError when the KPI is
    unavailable for this client or cannot be split by segment.
    """
    kpi = get(kpi) if isinstance(kpi, str) else kpi
    if grain not in GRAINS:
        raise WorkbookError(f"grain must be one of {', '.join(GRAINS)}, not {grain!r}.")
    if segment is not None and not kpi.segmentable:
        raise WorkbookError(
            f"{kpi.label} cannot be split by customer segment (its costs are not "
            "per customer); set the goal for the whole business."
        )
    if not available(con, kpi):
        raise WorkbookError(f"{kpi.label} is unavailable: it needs data in {', '.join(kpi.tables)}.")
    table, column = kpi.clock
    first = store.scalar(con, f"SELECT min({column})::DATE FROM {table}") or as_of
    since = since or first
    end = dates.midnight(as_of + dt.timedelta(days=1))
    sql = f"""
        WITH spine AS (
            SELECT unnest(generate_series(date_trunc($grain, $start::TIMESTAMP),
                                          $end::TIMESTAMP - INTERVAL 1 MICROSECOND,
                                          ('1 ' || $grain)::INTERVAL)) AS period),
        k AS ({kpi.sql})
        SELECT s.period::DATE AS period, COLUMNS(k.* EXCLUDE (period))::DOUBLE,
               s.period + ('1 ' || $grain)::INTERVAL <= $end AS complete,
               s.period + ('1 ' || $grain)::INTERVAL > $first AS started
        FROM spine s LEFT JOIN k USING (period) ORDER BY s.period"""
    values = {
        "grain": grain,
        "start": dates.midnight(since),
        "end": end,
        "segment": segment,
        "first": dates.midnight(first),
        **dict(kpi.params),
    }
    frame = _fetch(con, sql, _params(sql, values))
    df = frame[["period", "complete", "started"]].assign(num=frame[kpi.num])
    if kpi.kind == "flow":  # an empty period is 0, but only once the data has started
        df.loc[df["started"], "num"] = df.loc[df["started"], "num"].fillna(0.0)
        df["den"] = df["started"].map({True: 1.0, False: math.nan})
    else:
        df["den"] = frame[kpi.den]
    df["value"] = df["num"] / df["den"].where(df["den"] > 0)
    return df[["period", "value", "num", "den", "complete"]]


@dataclass
class WindowValue:
    """A KPI over a window: the estimate, its 95% interval and how many periods it rests on."""

    value: float
    low: float | None
    high: float | None
    periods: int


def pooled(num, den) -> WindowValue:
    """Ratio estimate sum(num)/sum(den) over periods, with a 95% t interval.

    The standard error is the ratio estimator's (Cochran 1977, Sampling Techniques, eq. 6.9,
    periods as clusters): se^2 = sum((num_i - R den_i)^2) / (n (n-1) mean(den)^2). With
    den = 1 (flow KPIs) this is the usual standard error of the mean of the periods.
    """
    num = pd.Series(num, dtype=float).reset_index(drop=True)
    den = pd.Series(den, dtype=float).reset_index(drop=True)
    keep = den.notna() & (den > 0) & num.notna()
    num, den = num[keep], den[keep]
    n = len(num)
    if n == 0:
        return WindowValue(math.nan, None, None, 0)
    ratio = num.sum() / den.sum()
    if n < 2:
        return WindowValue(ratio, None, None, n)
    se = math.sqrt(((num - ratio * den) ** 2).sum() / (n * (n - 1) * den.mean() ** 2))
    half = stats.t.ppf(0.975, n - 1) * se
    return WindowValue(ratio, ratio - half, ratio + half, n)


def window_value(frame: pd.DataFrame, kpi: KPI, start: dt.date, end: dt.date) -> WindowValue:
    """The KPI over the complete periods of a `series` frame starting in [start, end)."""
    rows = frame[
        frame["complete"] & (frame["period"] >= pd.Timestamp(start)) & (frame["period"] < pd.Timestamp(end))
    ]
    if kpi.kind == "stock":
        rows = rows.dropna(subset=["value"])
        return WindowValue(rows["value"].iloc[-1] if len(rows) else math.nan, None, None, len(rows))
    result = pooled(rows["num"], rows["den"])
    if kpi.overlapping and result.periods:
        base = float(rows["den"][rows["den"] > 0].mean())  # customers in one period's base
        result.low, result.high = wilson_interval(result.value * base, base)
    if result.low is not None and result.high is not None:
        result.low, result.high = kpi.within(result.low), kpi.within(result.high)
    return result


def value(
    con: duckdb.DuckDBPyConnection,
    kpi: KPI | str,
    start: dt.date,
    end: dt.date,
    segment: str | None = None,
    grain: str = "week",
) -> WindowValue:
    """The KPI over the complete `grain` periods starting in [start, end)."""
    kpi = get(kpi) if isinstance(kpi, str) else kpi
    frame = series(con, kpi, grain, as_of=end - dt.timedelta(days=1), segment=segment, since=start)
    return window_value(frame, kpi, start, end)


HEADLINE_KPIS = 4  # KPIs a client's letter compares month on month: the first of its profile's goal KPIs


@dataclass
class MonthComparison:
    """A KPI over a calendar month, against the month before and the same month a year before:
    month totals for flow KPIs, pooled ratios otherwise, each with its 95% interval from how
    the month's days vary (`pooled`; a month the data does not cover whole has NaN)."""

    kpi: KPI
    month: dt.date  # the first day of the month reported
    now: WindowValue
    previous: WindowValue
    last_year: WindowValue

    def clear(self, other: WindowValue) -> bool:
        """Whether the change from `other` is beyond chance at 5%: |d| > 1.96 sqrt(se1^2 + se2^2),
        each se read back from its 95% interval (normal approximation of two independent
        estimates). False without an interval on either side."""
        sides = (self.now, other)
        if any(v.low is None or v.high is None or math.isnan(v.value) for v in sides):
            return False
        z = stats.norm.ppf(0.975)
        se = [(float(v.high) - float(v.low)) / (2 * z) for v in sides]  # type: ignore[arg-type]
        spread = math.hypot(*se)
        return spread > 0 and abs(self.now.value - other.value) > z * spread


def report_month(as_of: dt.date) -> dt.date:
    """The first day of the last calendar month complete on `as_of` (its own month when `as_of`
    is its last day)."""
    first = as_of.replace(day=1)
    if (as_of + dt.timedelta(days=1)).month != as_of.month:
        return first
    return (first - dt.timedelta(days=1)).replace(day=1)


def month_value(con: duckdb.DuckDBPyConnection, kpi: KPI, first: dt.date) -> WindowValue:
    """The KPI over the calendar month starting on `first`, from its days (`value` at grain
    day). A flow KPI's total is its daily mean times the days, interval likewise, and NaN unless
    the data covers every day (a month cut short is no total)."""
    end = (first + dt.timedelta(days=32)).replace(day=1)
    days = (end - first).days
    result = value(con, kpi, first, end, grain="day")
    if kpi.kind != "flow":
        return result
    if result.periods < days:
        return WindowValue(math.nan, None, None, result.periods)
    low, high = (None if x is None else kpi.within(x * days) for x in (result.low, result.high))
    return WindowValue(result.value * days, low, high, days)


def month_comparisons(
    con: duckdb.DuckDBPyConnection, profile: Profile, as_of: dt.date, count: int = HEADLINE_KPIS
) -> list[MonthComparison]:
    """The headline KPIs (the first `count` of the profile's goal KPIs with data) in the month
    `report_month(as_of)`, the month before and the same month a year before."""
    month = report_month(as_of)
    previous = (month - dt.timedelta(days=1)).replace(day=1)
    shown = {k.name for k in available_kpis(con, profile)}
    out = []
    for name in [n for n in profile.goal_kpis if n in shown][:count]:
        kpi = get(name)
        values = [
            month_value(con, kpi, first) for first in (month, previous, month.replace(year=month.year - 1))
        ]
        out.append(MonthComparison(kpi, month, *values))
    return out
