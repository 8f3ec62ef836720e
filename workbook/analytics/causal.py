"""The causal effect of a rollout: difference-in-differences with a comparison group.

A rollout (a feature switched on for some customers from a date on, e.g. personalized
recommendations in one region) is recorded by the consultant in the client's client.toml,
because the data cannot say what changed when:

    [[rollouts]]
    name = "Personalized recommendations"
    start = 2026-05-01
    column = "region"          # a customers column: region, segment, persona, acquisition_channel
    treated = ["CA"]           # the values that got it; everyone else is the comparison group

Design: units are customers who had bought before the rollout started; the outcome is repeat
orders (`measures.REPEAT_PURCHASE`: every purchase but the customer's first; refunds and
cancelled orders are no purchases) per customer per week, over `pre_weeks` whole weeks before
the start and up to `post_weeks` whole weeks after it. A first purchase is how a customer
enters, not how the rollout changes behaviour, so it is left out; customers who first bought
during the pre-period count zero repeat orders before then, in both groups alike.
The panel is balanced (every unit has every week), so the two-way OLS
y_it = a + b treated_i + c post_t + delta treated_i x post_t + e_it gives
delta = mean_T(d_i) - mean_C(d_i) with d_i = (unit i's post mean) - (its pre mean), and its
cluster-robust (by customer) CR1 variance is
    G/(G-1) (N-1)/(N-K) [ S_T / n_T^2 + S_C / n_C^2 ],   S = sum of squared deviations of d_i,
G units, N = G x weeks observations, K = 4 (Liang & Zeger 1986; Bertrand, Duflo &
Mullainathan 2004 on serial correlation). The interval uses Student's t with G-1 degrees of
freedom, as statsmodels does for cluster-robust OLS. So DuckDB aggregates per customer and
Python only sees the two groups' sums. The relative effect delta / counterfactual (treated
pre mean + comparison change) gets a delta-method interval from the same covariance.

Assumption (parallel trends): without the rollout, the treated group's repeat orders per customer
would have changed by the same amount as the comparison group's (which includes both groups
gaining new customers at a similar pace before the rollout). It cannot be proven; the
pre-period chart and a placebo rollout placed halfway through the pre-period (which should
show no effect) are the checks.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import duckdb
import pandas as pd
from scipy import stats as sps

from workbook.analytics import measures
from workbook.core import dates
from workbook.core.errors import WorkbookError
from workbook.store.clients import Rollout

K_PARAMS = 4


PRE_WEEKS = 26  # the before-period a rollout is compared with


class NotEnoughData(WorkbookError):
    """The data cannot support the analysis; the message says why."""


@dataclass
class Effect:
    """A difference-in-differences estimate in repeat orders per customer per week."""

    effect: float
    se: float
    low: float
    high: float
    p_value: float
    relative: float  # effect / counterfactual treated mean
    relative_low: float
    relative_high: float
    counterfactual: float  # treated post mean had it moved like the comparison group
    df: int


@dataclass
class DiD:
    rollout: Rollout
    pre_start: dt.date
    post_end: dt.date  # exclusive
    pre_weeks: int
    post_weeks: int
    n_treated: int
    n_control: int
    means: pd.DataFrame  # group x period: repeat orders per customer per week
    estimate: Effect
    placebo: Effect | None  # fake rollout halfway through the pre-period
    weekly: pd.DataFrame  # week, group (treated, comparison, counterfactual), orders_per_customer
    confidence: float = 0.95
    method: str = (
        "OLS difference-in-differences on a balanced customer x week panel; "
        "cluster-robust (CR1) by customer, t with G-1 df"
    )


# One pass over orders per customer: the first purchase ever (a repeat order is any other
# purchase), the purchases in the placebo's before-period [pre_start, fake), in the rest of the
# real before-period [fake, start) and after [start, post_end), and the week of each purchase in
# [pre_start, post_end). Subtracting the first purchase where it falls gives repeat orders
# without ranking every purchase.
# `panel` is one row per unit and design: the real rollout (units who bought before `start`)
# and the placebo at `fake` (units who bought before `fake`). The result holds each design's
# two group sums and, as design 'weekly', the real units' repeat orders per group and week.
DID_SQL = """
WITH per_customer AS (
    SELECT customer_id, min(ordered_at) AS first_at,
           count(*) FILTER (WHERE ordered_at >= $pre_start AND ordered_at < $fake) AS a,
           count(*) FILTER (WHERE ordered_at >= $fake AND ordered_at < $start) AS b,
           count(*) FILTER (WHERE ordered_at >= $start AND ordered_at < $post_end) AS c,
           list(floor(date_diff('day', $start, ordered_at) / 7)::INTEGER)
               FILTER (WHERE ordered_at >= $pre_start AND ordered_at < $post_end) AS weeks
    FROM orders WHERE customer_id IS NOT NULL AND {purchase} GROUP BY 1
),
units AS (
    SELECT p.customer_id, g.treated, p.first_at, p.c, p.weeks,
           p.a - (p.first_at >= $pre_start AND p.first_at < $fake)::INTEGER AS a,
           p.b - (p.first_at >= $fake)::INTEGER AS b
    FROM per_customer p
    JOIN (SELECT customer_id, bool_or(list_contains($treated, {col})) AS treated FROM customers
          WHERE {col} IS NOT NULL GROUP BY 1) g USING (customer_id)
    WHERE p.first_at < $start
),
panel AS (
    SELECT 'estimate' AS design, treated, (a + b) / $pre_weeks AS pre, c / $post_weeks AS post FROM units
    UNION ALL
    SELECT 'placebo', treated, a / $placebo_pre_weeks, b / $placebo_post_weeks FROM units
    WHERE first_at < $fake
),
weekly AS (
    SELECT treated, week, sum(n)::BIGINT AS orders FROM (
        SELECT treated, unnest(weeks) AS week, 1 AS n FROM units
        UNION ALL
        SELECT treated, floor(date_diff('day', $start, first_at) / 7)::INTEGER, -1 FROM units
        WHERE first_at >= $pre_start
    ) GROUP BY treated, week
)
SELECT design, treated, count(*) AS n, avg(pre) AS pre, avg(post) AS post, avg(post - pre) AS d,
       coalesce(var_pop(post - pre), 0) * count(*) AS ss_d,
       coalesce(var_pop(pre), 0) * count(*) AS ss_pre,
       coalesce(covar_pop(post - pre, pre), 0) * count(*) AS sp_d_pre,
       NULL::INTEGER AS week, NULL::BIGINT AS orders
FROM panel GROUP BY design, treated
UNION ALL
SELECT 'weekly', treated, NULL, NULL, NULL, NULL, NULL, NULL, NULL, week, orders FROM weekly
"""


def _effect(groups: pd.DataFrame, weeks: int, confidence: float) -> Effect:
    """Effect, CR1 cluster-robust interval and delta-method relative effect from group sums."""
    t, c = groups.loc[True], groups.loc[False]
    n_units = int(t.n + c.n)
    n_obs = n_units * weeks
    factor = n_units / (n_units - 1) * (n_obs - 1) / (n_obs - K_PARAMS)
    effect = t.d - c.d
    var_effect = factor * (t.ss_d / t.n**2 + c.ss_d / c.n**2)
    counterfactual = t.pre + c.d
    var_cf = factor * (t.ss_pre / t.n**2 + c.ss_d / c.n**2)
    cov = factor * (t.sp_d_pre / t.n**2 - c.ss_d / c.n**2)
    se = math.sqrt(var_effect)
    df = n_units - 1
    q = float(sps.t.ppf(1 - (1 - confidence) / 2, df))
    p_value = float(2 * sps.t.sf(abs(effect / se), df)) if se > 0 else float("nan")
    if counterfactual > 0:
        rel = effect / counterfactual
        g_e, g_cf = 1 / counterfactual, -effect / counterfactual**2
        rel_se = math.sqrt(max(0.0, g_e**2 * var_effect + g_cf**2 * var_cf + 2 * g_e * g_cf * cov))
    else:
        rel = rel_se = float("nan")
    return Effect(
        float(effect),
        se,
        float(effect - q * se),
        float(effect + q * se),
        p_value,
        float(rel),
        float(rel - q * rel_se),
        float(rel + q * rel_se),
        float(counterfactual),
        df,
    )


def _groups(result: pd.DataFrame, design: str) -> pd.DataFrame:
    """One design's two groups (treated True / False) from the `DID_SQL` result."""
    groups = result[result["design"] == design].astype({"n": "int64"}).set_index("treated")
    if set(groups.index) != {True, False} or (groups["n"] < 2).any():
        raise NotEnoughData(
            "the rollout needs at least two existing customers in the treated "
            "group and two in the comparison group"
        )
    return groups


def did(
    con: duckdb.DuckDBPyConnection,
    rollout: Rollout,
    as_of: dt.date,
    pre_weeks: int = PRE_WEEKS,
    post_weeks: int | None = None,
    confidence: float = 0.95,
) -> DiD:
    """Difference-in-differences estimate of a rollout on weekly repeat orders per customer."""
    available = ((as_of + dt.timedelta(days=1)) - rollout.start).days // 7
    post = min(post_weeks or available, available)
    if post < 1:
        raise NotEnoughData(
            f"the data end on {as_of:%d %B %Y}, less than a full week after the "
            f"rollout started on {rollout.start:%d %B %Y}"
        )
    pre_start = rollout.start - dt.timedelta(weeks=pre_weeks)
    post_end = rollout.start + dt.timedelta(weeks=post)
    half = pre_weeks // 2  # the placebo starts halfway through the before-period
    fake = rollout.start - dt.timedelta(weeks=pre_weeks - half)
    result = con.execute(
        DID_SQL.format(col=rollout.column, purchase=measures.PURCHASE.sql),
        {
            "treated": list(rollout.treated),
            "pre_start": dates.midnight(pre_start),
            "fake": dates.midnight(fake),
            "start": dates.midnight(rollout.start),
            "post_end": dates.midnight(post_end),
            "pre_weeks": float(pre_weeks),
            "post_weeks": float(post),
            "placebo_pre_weeks": float(half),
            "placebo_post_weeks": float(pre_weeks - half),
        },
    ).df()
    groups = _groups(result, "estimate")
    estimate = _effect(groups, pre_weeks + post, confidence)
    placebo = _effect(_groups(result, "placebo"), pre_weeks, confidence) if half >= 2 else None
    weekly = result.loc[result["design"] == "weekly", ["treated", "week", "orders"]]
    weekly = weekly.astype({"week": "int64", "orders": "int64"})
    means = pd.DataFrame({"before": groups["pre"], "after": groups["post"]})
    means["change"] = means["after"] - means["before"]
    means.index = means.index.map({True: "treated", False: "comparison"})
    return DiD(
        rollout,
        pre_start,
        post_end,
        pre_weeks,
        post,
        int(groups.loc[True, "n"]),
        int(groups.loc[False, "n"]),
        means,
        estimate,
        placebo,
        _weekly(weekly, groups, pre_weeks, post),
        confidence,
    )


def _weekly(weekly: pd.DataFrame, groups: pd.DataFrame, pre_weeks: int, post_weeks: int) -> pd.DataFrame:
    """Orders per customer per week and group, zero-filled, plus the treated group's counterfactual
    (its before-period mean moved like the comparison group) from the rollout on."""
    full = pd.MultiIndex.from_product(
        [[True, False], range(-pre_weeks, post_weeks)], names=["treated", "week"]
    )
    counts = weekly.set_index(["treated", "week"])["orders"].reindex(full, fill_value=0)
    rate = counts / counts.index.get_level_values("treated").map(groups["n"]).to_numpy()
    wide = rate.unstack("treated")
    control_pre = wide.loc[wide.index < 0, False].mean()
    treated_pre = wide.loc[wide.index < 0, True].mean()
    counterfactual = (treated_pre + wide[False] - control_pre).where(wide.index >= 0)
    out = pd.DataFrame(
        {
            "week": wide.index,
            "treated": wide[True].to_numpy(),
            "comparison": wide[False].to_numpy(),
            "counterfactual": counterfactual.to_numpy(),
        }
    )
    return out.melt("week", var_name="group", value_name="orders_per_customer").dropna()
