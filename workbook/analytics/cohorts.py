"""Acquisition cohorts: retention, revenue retention, cumulative value and the layer cake.

Everything per customer is computed in DuckDB SQL (`cohort_activity`, one query); pandas only
pivots, pools and regroups the small cohort x period aggregate it returns.

Definitions (the same in every function here):

- Only orders with a customer count: anonymous sales (`orders.customer_id` NULL) cannot be
  followed over time and are left out (`anonymous_share` says how much that is).
- A **purchase** is `measures.PURCHASE`: an order not cancelled and not fully refunded, $0
  orders included. A customer's **cohort** is the `grain` period (ISO week starting Monday,
  calendar month or quarter) of their first purchase. Customers who only have refunds or
  cancelled orders belong to no cohort.
- A customer is **active** in period k (k = 0 is the cohort period) when they make at least
  one purchase in it; two orders on one day count once. Refunds and cancelled orders never
  make a customer active, but they do count in **revenue**, which is net
  (`measures.NET_REVENUE`). Orders dated before the customer's first purchase are ignored.
- Period k of a cohort is **complete** when it ended on or before `as_of`. Periods that have
  started but not ended are in progress: the matrices show them as NaN (so the last diagonal
  is not mistaken for a drop), `cohort_activity` keeps their values so far with
  `complete = False`. Periods that have not started yet are absent.
- Orders after `as_of` are ignored.
"""

from __future__ import annotations

import datetime as dt
import warnings

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.stats.proportion import proportion_confint

from workbook import store
from workbook.analytics import measures
from workbook.core.errors import WorkbookError
from workbook.store.schema import CUSTOMER_GROUPS

GRAINS = ("week", "month", "quarter")
# SQL for "n periods of this grain" (an INTERVAL); n is an SQL expression.
_STEP = {
    "week": "to_weeks(CAST({n} AS INTEGER))",
    "month": "to_months(CAST({n} AS INTEGER))",
    "quarter": "to_months(CAST(3 * ({n}) AS INTEGER))",
}
# Customer attributes a cohort can be split by (columns of `customers`).
MEASURES = ("customers", "revenue", "cumulative_revenue")
UNKNOWN = "unknown"


def _check(grain: str, by: str | None) -> None:
    if grain not in GRAINS:
        raise WorkbookError(f"grain must be one of {', '.join(GRAINS)}, not {grain!r}.")
    if by is not None and by not in CUSTOMER_GROUPS:
        raise WorkbookError(f"by must be one of {', '.join(CUSTOMER_GROUPS)} or None, not {by!r}.")


def purchase_days_sql(until: str) -> str:
    """CTE `days`: one row per identified customer and order day up to and including the date
    `until` (an SQL expression, e.g. a bound parameter): net revenue of the day, and whether
    it is a purchase day (`measures.PURCHASE_DAY`). Shared by `rfm` and `clv`."""
    return f"""days AS (
        SELECT customer_id, ordered_at::DATE AS day, {measures.NET_REVENUE.sql}::DOUBLE AS revenue,
               {measures.PURCHASE_DAY.sql} AS purchase
        FROM orders
        WHERE customer_id IS NOT NULL AND ordered_at < CAST({until} AS DATE) + 1
        GROUP BY ALL
    )"""


def members_sql(grain: str, by: str | None) -> str:
    """CTEs `purchases` (identified orders up to as_of) and `members` (one row per customer
    with a first purchase: customer_id, first_day, cohort, grp). Bound parameter: `$as_of`."""
    grp = f"coalesce(c.grp, '{UNKNOWN}')" if by else "'all'"
    join = (
        (f"LEFT JOIN (SELECT customer_id, max({by}) AS grp FROM customers GROUP BY 1) c USING (customer_id)")
        if by
        else ""
    )
    return f"""
    purchases AS NOT MATERIALIZED (  -- read twice: scanning orders again is cheaper than storing it
        SELECT customer_id, ordered_at::DATE AS day, revenue::DOUBLE AS revenue,
               {measures.PURCHASE.sql} AS is_purchase
        FROM orders
        WHERE customer_id IS NOT NULL AND ordered_at < CAST($as_of AS DATE) + 1
    ),
    members AS (
        SELECT f.customer_id, f.first_day, date_trunc('{grain}', f.first_day)::DATE AS cohort,
               {grp} AS grp
        FROM (SELECT customer_id, min(day) AS first_day FROM purchases
              WHERE is_purchase GROUP BY customer_id) f
        {join}
    )"""


def _activity_sql(grain: str, by: str | None, spread: bool) -> str:
    """CTE `activity`: one row per (grp, cohort, period) from 0 to the period containing as_of;
    with `spread`, also the sum over customers of their squared cumulative revenue (for value
    intervals), which needs a window over every customer's periods and so is left out when
    not asked for.

    Sparse: only customer-periods with orders are materialised. A customer's cumulative
    revenue c changes only in those periods, so its square enters the cohort's running sum as
    +c^2 at that period and -c^2 at the customer's next active period. Bound parameter:
    `$as_of`."""
    step = _STEP[grain]
    period_of = f"date_diff('{grain}', m.cohort, date_trunc('{grain}', p.day)::DATE)"
    customer_periods = f"""SELECT m.grp, m.cohort, m.customer_id, {period_of} AS period,
                     bool_or(p.is_purchase) AS active, sum(p.revenue) AS revenue
              FROM purchases p JOIN members m USING (customer_id)
              WHERE p.day >= m.first_day
              GROUP BY ALL"""
    squares = (
        """,
    square_steps AS (
        SELECT grp, cohort, period, sum(d) AS d FROM (
            SELECT grp, cohort, period, cumulative * cumulative AS d FROM steps
            UNION ALL
            SELECT grp, cohort, next_period, -cumulative * cumulative FROM steps
            WHERE next_period IS NOT NULL)
        GROUP BY ALL
    )"""
        if spread
        else ""
    )
    steps = (
        f"""SELECT *, sum(revenue) OVER w AS cumulative, lead(period) OVER w AS next_period
        FROM ({customer_periods})
        WINDOW w AS (PARTITION BY customer_id ORDER BY period)"""
        if spread
        else customer_periods
    )
    return f"""WITH {members_sql(grain, by)},
    steps AS (
        {steps}
    ),
    per_period AS (
        SELECT grp, cohort, period, count(*) FILTER (WHERE active) AS active_customers,
               sum(revenue) AS revenue
        FROM steps GROUP BY ALL
    ){squares},
    grid AS (
        SELECT grp, cohort, cohort_customers,
               unnest(generate_series(0, date_diff('{grain}', cohort,
                      date_trunc('{grain}', CAST($as_of AS DATE))::DATE))) AS period
        FROM (SELECT grp, cohort, count(*) AS cohort_customers FROM members GROUP BY ALL)
    ),
    activity AS (
        SELECT g.grp, g.cohort, g.period, g.cohort_customers,
               coalesce(a.active_customers, 0) AS active_customers,
               coalesce(a.revenue, 0) AS revenue,
               sum(coalesce(a.revenue, 0)) OVER c AS cumulative_revenue,
               {"sum(coalesce(q.d, 0)) OVER c" if spread else "NULL"} AS cumulative_revenue_sq,
               g.cohort + {step.format(n="g.period + 1")} <= CAST($as_of AS DATE) + 1 AS complete
        FROM grid g
        LEFT JOIN per_period a USING (grp, cohort, period)
        {"LEFT JOIN square_steps q USING (grp, cohort, period)" if spread else ""}
        WINDOW c AS (PARTITION BY g.grp, g.cohort ORDER BY g.period)
    )"""


def cohort_activity(
    con: duckdb.DuckDBPyConnection,
    grain: str = "month",
    by: str | None = None,
    *,
    as_of: dt.date,
    spread: bool = False,
) -> pd.DataFrame:
    """The cohort x period aggregate every matrix and curve here is built from.

    Columns: [by,] cohort (date of the period start), period (0 = acquisition period),
    cohort_customers, active_customers, revenue (net), cumulative_revenue, complete (bool),
    and with `spread` cumulative_revenue_sq (the sum over the cohort's customers of their
    squared cumulative revenue, which `pooled_curves` needs for value intervals).
    One row per cohort and period from 0 to the period containing `as_of`, zeros included.
    `attrs` records grain, by and as_of.
    """
    _check(grain, by)
    group = f', grp AS "{by}"' if by else ""
    spread_column = ", cumulative_revenue_sq" if spread else ""
    frame = con.execute(
        f"{_activity_sql(grain, by, spread)} SELECT cohort, period, cohort_customers, active_customers, "
        f"revenue, cumulative_revenue{spread_column}, complete{group} FROM activity "
        "ORDER BY grp, cohort, period",
        {"as_of": as_of},
    ).df()
    if by:
        frame = frame[[by] + [c for c in frame.columns if c != by]]
    frame.attrs.update(grain=grain, by=by, as_of=str(as_of))
    return frame


def overall(activity: pd.DataFrame) -> pd.DataFrame:
    """A split `cohort_activity` frame summed over its groups: the unsplit frame. Every
    customer is in exactly one group, so counts, revenue and squared-revenue sums add up."""
    by = activity.attrs["by"]
    if by is None:
        return activity.copy()
    sums = [
        c
        for c in (
            "cohort_customers",
            "active_customers",
            "revenue",
            "cumulative_revenue",
            "cumulative_revenue_sq",
        )
        if c in activity.columns
    ]
    frame = activity.groupby(["cohort", "period"], as_index=False).agg(
        **{c: (c, "sum") for c in sums}, complete=("complete", "all")
    )
    frame.attrs = {**activity.attrs, "by": None}
    return frame


def retention(
    con: duckdb.DuckDBPyConnection,
    grain: str = "month",
    measure: str = "customers",
    by: str | None = None,
    *,
    as_of: dt.date,
) -> pd.DataFrame:
    """Cohort matrix: rows are cohorts (period start dates), columns are period offsets 0, 1, ...
    (`retention_matrix` of `cohort_activity`; see there)."""
    return retention_matrix(cohort_activity(con, grain, by, as_of=as_of), measure)


def retention_matrix(activity: pd.DataFrame, measure: str = "customers") -> pd.DataFrame:
    """Cohort matrix from a `cohort_activity` frame: rows are cohorts (period start dates),
    columns are period offsets 0, 1, ...

    measure:
      "customers"          share of the cohort's customers active in period k (period 0 is 1.0);
      "revenue"            cohort net revenue in period k over its revenue in period 0;
      "cumulative_revenue" net revenue per acquired customer up to and including period k
                           (the historic CLTV curve of the cohort).
    With a `by` split the index is (by, cohort); customers without the attribute are grouped
    as "unknown".

    Cells of periods not complete by `as_of` are NaN: in-progress periods are not drops. Their
    values so far are in `cohort_activity` (complete = False). Revenue retention of a cohort
    whose period-0 net revenue is not positive is NaN too. `attrs["in_progress"]` gives each
    cohort's in-progress period (NaN when none), `attrs["cohort_customers"]` the cohort sizes
    (Series on the matrix index); `attrs` also records grain, measure and as_of.
    """
    if measure not in MEASURES:
        raise WorkbookError(f"measure must be one of {', '.join(MEASURES)}, not {measure!r}.")
    by = activity.attrs["by"]
    long = activity.copy()
    index = [by, "cohort"] if by else ["cohort"]
    if measure == "customers":
        long["value"] = long["active_customers"] / long["cohort_customers"]
    elif measure == "revenue":
        base = long.groupby(index)["revenue"].transform("first")  # rows come period 0 first
        long["value"] = long["revenue"] / base.where(base > 0)
    else:
        long["value"] = long["cumulative_revenue"] / long["cohort_customers"]
    long.loc[~long["complete"], "value"] = float("nan")
    matrix = long.pivot(index=index, columns="period", values="value")
    matrix.columns.name = "period"
    sizes = long[long["period"] == 0].set_index(index)["cohort_customers"].reindex(matrix.index)
    running = long[~long["complete"]].set_index(index)["period"].reindex(matrix.index)
    matrix.attrs = {
        "grain": activity.attrs["grain"],
        "measure": measure,
        "as_of": activity.attrs["as_of"],
        "cohort_customers": sizes,
        "in_progress": running,
    }
    return matrix


def curves(
    con: duckdb.DuckDBPyConnection,
    grain: str = "month",
    by: str | None = None,
    *,
    as_of: dt.date,
    z: float = 1.96,
) -> pd.DataFrame:
    """Retention and value curves pooled over cohorts (`pooled_curves` of `cohort_activity`)."""
    return pooled_curves(cohort_activity(con, grain, by, as_of=as_of, spread=True), z)


def pooled_curves(activity: pd.DataFrame, z: float = 1.96) -> pd.DataFrame:
    """Retention and value curves pooled over cohorts, per group, from a `cohort_activity`
    frame with `spread`: what a typical new customer does in the k-th period after acquisition.

    For each period k only cohorts whose period k is complete are pooled, so the curve never
    dips because of the current period. Columns: [by,] period, cohorts, customers (acquired
    customers observed through period k), active, retention (= active / customers) with its
    Wilson score interval (retention_low, retention_high; `z` = 1.96 for 95%), and
    value_per_customer (cumulative net revenue per acquired customer up to period k) with its
    standard error over customers (value_se) and normal interval (value_low, value_high).
    """
    by = activity.attrs["by"]
    keys = [by, "period"] if by else ["period"]
    frame = (
        activity[activity["complete"]]
        .groupby(keys)
        .agg(
            cohorts=("cohort", "size"),
            customers=("cohort_customers", "sum"),
            active=("active_customers", "sum"),
            cumulative=("cumulative_revenue", "sum"),
            cumulative_sq=("cumulative_revenue_sq", "sum"),
        )
        .reset_index()
    )
    n = frame["customers"].astype(float)
    frame["retention"] = frame["active"] / n
    frame["value_per_customer"] = frame["cumulative"] / n
    spread = (frame["cumulative_sq"] - frame["cumulative"] ** 2 / n).clip(lower=0)
    frame["value_se"] = np.sqrt(spread / (n - 1) / n).where(n > 1)
    frame = frame.drop(columns=["cumulative", "cumulative_sq"])
    frame["retention_low"], frame["retention_high"] = proportion_confint(
        frame["active"], frame["customers"], alpha=2 * norm.sf(z), method="wilson"
    )
    frame["value_low"] = frame["value_per_customer"] - z * frame["value_se"]
    frame["value_high"] = frame["value_per_customer"] + z * frame["value_se"]
    return frame


# layer-cake cohorts per activity grain: made of whole periods of it
_LAYERS = {"week": ("week",), "month": ("month", "quarter"), "quarter": ("quarter",)}


def layer_cake(
    con: duckdb.DuckDBPyConnection,
    grain: str = "month",
    cohort_grain: str = "quarter",
    *,
    as_of: dt.date,
) -> pd.DataFrame:
    """The layer cake (`layers` of `cohort_activity`; see there)."""
    return layers(cohort_activity(con, grain, None, as_of=as_of), cohort_grain)


def layers(activity: pd.DataFrame, cohort_grain: str = "quarter") -> pd.DataFrame:
    """The layer cake from an overall `cohort_activity` frame: per calendar period, active
    customers and net revenue split by the cohort (at `cohort_grain`, the activity's grain or
    quarters of months) the customers were acquired in. A customer belongs to one cohort, so
    the finer cohorts' counts add up.

    Columns: period (start date), cohort (start date), active_customers, revenue, complete
    (False for the period containing `as_of` when it has not ended). Only identified
    customers; periods in which a cohort had no sales are left out.
    """
    grain = activity.attrs["grain"]
    if cohort_grain not in _LAYERS[grain]:
        raise WorkbookError(
            f"A layer cake of {grain}s can split customers by the {grain} they were "
            f"won{' or its quarter' if grain == 'month' else ''}, not by {cohort_grain}."
        )
    cohort = pd.to_datetime(activity["cohort"])
    if grain == "week":
        period = cohort + pd.to_timedelta(7 * activity["period"], unit="D")
    else:
        months = activity["period"] * (3 if grain == "quarter" else 1)
        period = pd.to_datetime(
            {
                "year": cohort.dt.year + (cohort.dt.month - 1 + months) // 12,
                "month": (cohort.dt.month - 1 + months) % 12 + 1,
                "day": 1,
            }
        )
    if cohort_grain != grain:  # quarters of monthly cohorts
        cohort = cohort.dt.to_period("Q").dt.start_time
    frame = pd.DataFrame(
        {
            "period": period,
            "cohort": cohort,
            "active_customers": activity["active_customers"],
            "revenue": activity["revenue"],
            "complete": activity["complete"],
        }
    )
    frame = frame[(frame["active_customers"] > 0) | (frame["revenue"] != 0)]
    return frame.groupby(["period", "cohort"], as_index=False).agg(
        active_customers=("active_customers", "sum"), revenue=("revenue", "sum"), complete=("complete", "all")
    )


@store.once_per_read_only  # read beside every per-customer figure of a page: one query
def anonymous_share(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> dict:
    """How much of the sales up to `as_of` has no customer attached (left out of cohorts):
    {"orders", "anonymous_orders", "order_share", "revenue_share", "identified_share"}, the
    last one `measures.IDENTIFIED_SHARE` (1 - order_share)."""
    share = measures.IDENTIFIED_SHARE
    orders, identified, revenue, anon_revenue = store.one_row(
        con,
        f"""SELECT {share.den}, {share.num},
                  sum(revenue)::DOUBLE, coalesce(sum(revenue) FILTER (WHERE customer_id IS NULL), 0)::DOUBLE
           FROM orders WHERE ordered_at < CAST($as_of AS DATE) + 1""",
        {"as_of": as_of},
    )
    return {
        "orders": orders,
        "anonymous_orders": orders - identified,
        "order_share": (orders - identified) / orders if orders else float("nan"),
        "revenue_share": anon_revenue / revenue if revenue else float("nan"),
        "identified_share": identified / orders if orders else float("nan"),
    }


DAYS_PER_MONTH = 30.4375


def repeat_hazard(
    con: duckdb.DuckDBPyConnection,
    by: str = "acquisition_channel",
    reference: str | None = None,
    *,
    as_of: dt.date,
    max_age_months: int = 24,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """How often customers come back, per group, as hazard ratios against `reference`.

    A piecewise-exponential proportional-hazards model (Holford 1980; Laird & Olivier 1981):
    repeat purchase days (distinct days after the first purchase) are Poisson with mean
    exposure x baseline(age month) x exp(beta_group), fitted as a Poisson GLM with a log
    exposure offset on the group x customer-age-month table built in SQL (age months of
    30.44 days, exposure counted from the first purchase to `as_of`, ages beyond
    `max_age_months` pooled into the last). So a group acquired more recently, whose
    customers are younger, is compared at equal ages.

    Returns one row per group: customers, repeat_purchases, exposure_months, rate (crude
    repeat purchases per customer-month), hazard_ratio with ratio_low / ratio_high
    (Wald interval at `confidence`) and p_value against `reference` (default: the group with
    the lowest crude rate among those with repeat purchases; its own ratio is 1; NaN for a group with no repeat purchase, and for all groups
    when the reference has none). Sorted by hazard_ratio, highest first.
    """
    from statsmodels.genmod.families import Poisson
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    _check("month", by)
    table = con.execute(
        f"""WITH {members_sql("month", by)},
        ages AS (SELECT grp, date_diff('day', first_day, CAST($as_of AS DATE)) / {DAYS_PER_MONTH} AS age
                 FROM members WHERE first_day < CAST($as_of AS DATE)),
        -- customers by completed age month k (ages beyond the cap pooled); a customer of age a
        -- spends 1 month in each stratum below floor(a) and a - floor(a) in stratum floor(a)
        by_age AS (SELECT grp, least(floor(age), $max_age)::INT AS k, count(*) AS n, sum(age) AS age_sum
                   FROM ages GROUP BY ALL),
        exposure AS (
            SELECT grp, stratum, sum(n) FILTER (WHERE stratum = 0) AS customers,
                   sum(CASE WHEN k > stratum THEN n WHEN k = stratum THEN age_sum - stratum * n
                            ELSE 0 END) AS exposure_months
            FROM (SELECT grp, unnest(generate_series(0, $max_age)) AS stratum FROM (SELECT DISTINCT grp FROM by_age))
            JOIN by_age USING (grp)
            GROUP BY ALL
        ),
        events AS (  -- each purchase day is in one (group, stratum): count the distinct days
            SELECT m.grp, least(floor(date_diff('day', m.first_day, p.day) / {DAYS_PER_MONTH})::INT, $max_age)
                       AS stratum, count(*) AS repeat_purchases
            FROM (SELECT DISTINCT customer_id, day FROM purchases WHERE is_purchase) p
            JOIN members m USING (customer_id)
            WHERE p.day > m.first_day
            GROUP BY ALL
        )
        SELECT grp AS "group", stratum, customers, exposure_months,
               coalesce(repeat_purchases, 0) AS repeat_purchases
        FROM exposure LEFT JOIN events USING (grp, stratum)
        WHERE exposure_months > 0 ORDER BY grp, stratum""",
        {"as_of": as_of, "max_age": max_age_months},
    ).df()
    if table.empty:
        raise WorkbookError("No identified customer has bought yet: no repeat purchases to compare.")
    totals = table.groupby("group").agg(
        customers=("customers", "sum"),
        repeat_purchases=("repeat_purchases", "sum"),
        exposure_months=("exposure_months", "sum"),
    )
    totals["rate"] = totals["repeat_purchases"] / totals["exposure_months"]
    if reference is None:
        repeating = totals[totals["repeat_purchases"] > 0]
        reference = repeating["rate"].idxmin() if len(repeating) else totals["customers"].idxmax()
    if reference not in totals.index:
        raise WorkbookError(f"No customers in group {reference!r}; groups are {', '.join(totals.index)}.")
    # A group without any repeat purchase has no finite ratio: left out of the fit, NaN below.
    totals["hazard_ratio"] = totals["ratio_low"] = totals["ratio_high"] = float("nan")
    totals["p_value"] = float("nan")
    totals.loc[reference, ["hazard_ratio", "ratio_low", "ratio_high"]] = 1.0
    groups = [g for g in totals.index if g != reference and totals.loc[g, "repeat_purchases"] > 0]
    if groups and totals.loc[reference, "repeat_purchases"] > 0:
        table = table[table["group"].isin([reference, *groups])]
        design = pd.concat(
            [
                pd.get_dummies(table["stratum"], prefix="age", dtype=float),
                pd.DataFrame({g: (table["group"] == g).astype(float) for g in groups}),
            ],
            axis=1,
        )
        with warnings.catch_warnings():  # tiny tables are saturated: IRLS warns, estimates exact
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", PerfectSeparationWarning)
            fit = GLM(
                table["repeat_purchases"].astype(float),
                design,
                family=Poisson(),
                offset=np.log(table["exposure_months"].astype(float)),
            ).fit()
        ci = fit.conf_int(alpha=1 - confidence)
        for g in groups:
            totals.loc[g, ["hazard_ratio", "ratio_low", "ratio_high", "p_value"]] = [
                np.exp(fit.params[g]),
                np.exp(ci.loc[g, 0]),
                np.exp(ci.loc[g, 1]),
                fit.pvalues[g],
            ]
    totals.attrs["reference"] = reference
    return totals.sort_values("hazard_ratio", ascending=False).rename_axis(by).reset_index()
