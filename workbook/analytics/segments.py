"""Segment economics: personalized vs generic email, segment by segment.

Only campaigns that split their recipients between a personalized and a generic version
(A/B tests) are used: there the version a recipient got was a coin flip, so the two groups
differ only by the personalization. Regular campaigns, personalized or not, also differ in
month and audience, which would be mistaken for an effect. The personalized arm is
`measures.PERSONALIZED_ARM`, as in `experiments`.

Per segment (a customers column: segment, persona, region or acquisition_channel) and arm, over
the window [start, as_of]:

- conversion rate = recipients who ordered from the email / recipients (Wilson 1927 interval);
- unsubscribe rate = recipients who unsubscribed / recipients (Wilson interval);
- cost = recorded campaign cost shared out per recipient; for campaigns without a recorded
  cost, recipients x `cost_per_send[arm]` (client.toml [costs], `store.clients.Settings`; an
  assumption the report states before the figures);
- ROMI (`measures.EMAIL_ROMI`) = (attributed revenue - cost) / cost, attributed revenue = the
  order revenue the email platform credits to the send; interval from the t interval of
  revenue per recipient;
- CAC (`measures.EMAIL_CAC`) = cost / new customers, a new customer = a recipient whose first
  purchase ever is the one the email produced; interval from the exact Poisson (Garwood 1936)
  interval of the count;
- CLTV (observed) = revenue per customer from their first test email in the window to as_of,
  customers grouped by the arm of that first test email (random, so comparable); t interval.
  This is value to date, not a forecast: notebook 04 has the predictive model;
- NPS = 100 x (share of 9-10 answers - share of 0-6 answers) and CES = mean effort score, from
  survey answers the customer gave after that first test email; t intervals on the scores
  coded +1/0/-1 (NPS) and as given (CES).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

import duckdb
import pandas as pd

from workbook.analytics import measures, stats
from workbook.core import dates
from workbook.core.errors import WorkbookError
from workbook.store.clients import Settings
from workbook.store.schema import CUSTOMER_GROUPS

ALL = "All segments"
ARMS = ("personalized", "generic")

ARM_SQL = f"CASE WHEN {measures.PERSONALIZED_ARM.sql} THEN 'personalized' ELSE 'generic' END"

# One query. Sends are first added up per recipient and arm (their segment joined once, on
# that smaller table); the arm of each recipient's first test email and the value and survey
# answers after it come from the same rows. A send's recorded cost is the campaign's cost
# shared out over all its recipients; a converting recipient is new when no order of theirs
# came before the conversion.
ECONOMICS_SQL = """
WITH tests AS (
    SELECT s.campaign_id FROM campaign_sends s
    WHERE s.sent_at >= $start AND s.sent_at < $end
    GROUP BY s.campaign_id
    HAVING count(DISTINCT {arm}) = 2
),
sizes AS (  -- all recipients of a campaign share its cost
    SELECT campaign_id, count(*) AS campaign_recipients FROM campaign_sends GROUP BY 1
),
first_orders AS (
    SELECT customer_id, {first_purchase} AS first_order FROM orders
    WHERE customer_id IN (SELECT customer_id FROM campaign_sends WHERE converted_at < $end)
    GROUP BY 1
),
sends AS (
    SELECT s.customer_id, s.sent_at, {arm} AS arm, s.unsubscribed, s.converted_at,
           s.converted_at IS NOT NULL AND s.converted_at < $end AS converted,
           CASE WHEN s.converted_at IS NOT NULL AND s.converted_at < $end THEN s.revenue ELSE 0 END AS rev,
           m.cost::DOUBLE / t.campaign_recipients AS cost_share, m.cost IS NULL AS no_cost
    FROM campaign_sends s JOIN tests USING (campaign_id) JOIN sizes t USING (campaign_id)
    LEFT JOIN (SELECT campaign_id, sum(cost) AS cost FROM campaigns GROUP BY 1) m USING (campaign_id)
),
recipients AS (
    SELECT a.*, coalesce(c.{by}, '(unknown)') AS seg
    FROM (SELECT s.customer_id, s.arm, min(s.sent_at) AS first_sent, count(*) AS recipients,
                 count(*) FILTER (WHERE s.converted) AS conversions,
                 count(*) FILTER (WHERE s.unsubscribed) AS unsubscribes,
                 sum(s.rev) AS revenue, sum(s.rev ^ 2) AS revenue_sq,
                 count(*) FILTER (WHERE s.converted AND (f.first_order IS NULL OR f.first_order >= s.converted_at))
                     AS new_customers,
                 sum(s.cost_share) AS recorded_cost, count(*) FILTER (WHERE s.no_cost) AS sends_without_cost
          FROM sends s LEFT JOIN first_orders f USING (customer_id)
          GROUP BY s.customer_id, s.arm) a
    LEFT JOIN (SELECT customer_id, any_value({by}) AS {by} FROM customers GROUP BY 1) c USING (customer_id)
),
send_totals AS (
    SELECT coalesce(seg, '{all}') AS seg, arm, sum(recipients)::BIGINT AS recipients,
           sum(conversions)::BIGINT AS conversions, sum(unsubscribes)::BIGINT AS unsubscribes,
           coalesce(sum(revenue), 0)::DOUBLE AS revenue, coalesce(sum(revenue_sq), 0)::DOUBLE AS revenue_sq,
           sum(new_customers)::BIGINT AS new_customers, coalesce(sum(recorded_cost), 0) AS recorded_cost,
           sum(sends_without_cost)::BIGINT AS sends_without_cost
    FROM recipients GROUP BY GROUPING SETS ((seg, arm), (arm))
),
first_test AS (
    SELECT customer_id, any_value(seg) AS seg, arg_min(arm, first_sent) AS arm, min(first_sent) AS first_sent
    FROM recipients GROUP BY customer_id
),
value AS (
    SELECT t.customer_id, any_value(t.seg) AS seg, any_value(t.arm) AS arm,
           coalesce({net_revenue}, 0)::DOUBLE AS v
    FROM first_test t
    LEFT JOIN orders o ON o.customer_id = t.customer_id AND o.ordered_at >= t.first_sent
                      AND o.ordered_at < $end
    GROUP BY t.customer_id
),
answers AS (
    SELECT t.seg, t.arm, f.nps, f.ces
    FROM first_test t JOIN feedback f ON f.customer_id = t.customer_id
     AND f.submitted_at >= t.first_sent AND f.submitted_at < $end
),
vals AS (
    SELECT coalesce(seg, '{all}') AS seg, arm, count(*) AS customers, sum(v) AS value,
           sum(v * v) AS value_sq
    FROM value GROUP BY GROUPING SETS ((seg, arm), (arm))
),
scores AS (
    SELECT coalesce(seg, '{all}') AS seg, arm, count(nps) AS nps_n,
           count(*) FILTER (WHERE {promoter}) AS promoters, count(*) FILTER (WHERE {detractor}) AS detractors,
           {ces_n} AS ces_n, {ces_sum} AS ces_sum, sum(ces * ces) AS ces_sq
    FROM answers GROUP BY GROUPING SETS ((seg, arm), (arm))
)
SELECT * FROM send_totals LEFT JOIN vals USING (seg, arm) LEFT JOIN scores USING (seg, arm)
"""


@dataclass
class SegmentEconomics:
    by: str
    start: dt.date
    end: dt.date
    table: pd.DataFrame  # one row per segment and arm (plus "All segments")
    comparison: pd.DataFrame  # one row per segment: personalized minus generic, with intervals
    assumed_cost: bool  # True when some cost came from `cost_per_send`
    cost_per_send: Mapping[str, float]

    @property
    def empty(self) -> bool:
        return self.table.empty


def economics(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    by: str = "segment",
    since: dt.date | None = None,
    cost_per_send: Mapping[str, float] | None = None,
) -> SegmentEconomics:
    """Personalized vs generic per segment over [since (default: a year before as_of), as_of].

    `cost_per_send` (per arm) prices sends of campaigns without a recorded cost; default the
    documented assumption of `store.clients.Settings`."""
    if by not in CUSTOMER_GROUPS:
        raise WorkbookError(f"Segment by {by!r}? Use one of {', '.join(CUSTOMER_GROUPS)}.")
    start = since or dates.year_start(as_of)
    costs = dict(Settings().cost_per_send if cost_per_send is None else cost_per_send)
    params = {"start": dates.midnight(start), "end": dates.midnight(as_of + dt.timedelta(days=1))}
    sql = ECONOMICS_SQL.format(
        arm=ARM_SQL,
        by=by,
        all=ALL,
        first_purchase=measures.FIRST_PURCHASE.sql,
        net_revenue=measures.NET_REVENUE.sql,
        promoter=measures.PROMOTER.sql,
        detractor=measures.DETRACTOR.sql,
        ces_n=measures.CES.den,
        ces_sum=measures.CES.num,
    )
    sums = con.execute(sql, params).df()
    table = _table(sums, costs)
    return SegmentEconomics(
        by,
        start,
        as_of,
        table,
        _comparison(table),
        bool(len(sums)) and bool(sums["sends_without_cost"].sum()),
        costs,
    )


def _table(sums: pd.DataFrame, costs: Mapping[str, float]) -> pd.DataFrame:
    if sums.empty:
        return pd.DataFrame()
    t = sums.rename(columns={"seg": "segment"})
    t[["customers", "nps_n", "promoters", "detractors", "ces_n"]] = (
        t[["customers", "nps_n", "promoters", "detractors", "ces_n"]].fillna(0).astype(int)
    )
    rows = []
    for r in t.itertuples():
        conversion, unsubscribe = _conversions(r), _unsubscribes(r)
        out = {"conversion": conversion.mean, "unsubscribe": unsubscribe.mean}
        out["conversion_low"], out["conversion_high"] = conversion.interval()
        out["unsubscribe_low"], out["unsubscribe_high"] = unsubscribe.interval()
        cost = r.recorded_cost + r.sends_without_cost * costs.get(r.arm, math.nan)
        out["cost"] = cost
        lo, hi = stats.SampleMean(r.recipients, r.revenue, r.revenue_sq).interval()
        ok = cost > 0
        out["romi"] = (r.revenue - cost) / cost if ok else math.nan
        out["romi_low"] = (lo * r.recipients - cost) / cost if ok else math.nan
        out["romi_high"] = (hi * r.recipients - cost) / cost if ok else math.nan
        plo, phi = stats.poisson_interval(r.new_customers)
        out["cac"] = cost / r.new_customers if r.new_customers else math.nan
        out["cac_low"] = cost / phi if ok else math.nan
        out["cac_high"] = cost / plo if ok and plo > 0 else math.nan
        value = _value(r)
        out["cltv"] = value.mean
        out["cltv_low"], out["cltv_high"] = value.interval()
        nps = _nps(r)
        out["nps"] = 100 * nps.mean
        out["nps_low"], out["nps_high"] = (100 * x for x in nps.interval())
        ces = stats.SampleMean(r.ces_n, r.ces_sum or 0.0, r.ces_sq or 0.0)
        out["ces"] = ces.mean
        out["ces_low"], out["ces_high"] = ces.interval()
        rows.append(out)
    t = pd.concat([t, pd.DataFrame(rows, index=t.index)], axis=1)
    order = {ALL: 0}
    t["_o"] = t["segment"].map(lambda s: order.get(s, 1))
    return (
        t.sort_values(["_o", "segment", "arm"], ascending=[True, True, False])
        .drop(columns="_o")
        .reset_index(drop=True)
    )


def _conversions(r) -> stats.Proportion:
    return stats.Proportion(r.recipients, r.conversions)


def _unsubscribes(r) -> stats.Proportion:
    return stats.Proportion(r.recipients, r.unsubscribes)


def _value(r) -> stats.SampleMean:
    """Revenue per customer from their first test email on (CLTV to date)."""
    return stats.SampleMean(r.customers, r.value or 0.0, r.value_sq or 0.0)


def _nps(r) -> stats.SampleMean:
    """The answers coded +1 (promoters), 0, -1 (detractors): the mean is NPS / 100."""
    return stats.SampleMean.net_score(r.nps_n, r.promoters, r.detractors)


def _comparison(table: pd.DataFrame) -> pd.DataFrame:
    """Per segment, personalized minus generic: conversion (Newcombe interval), unsubscribe
    (Newcombe), CLTV to date (Welch) and NPS points (Welch on the coded answers)."""
    columns = [
        "segment",
        "conversion_lift",
        "conversion_low",
        "conversion_high",
        "unsubscribe_diff",
        "unsubscribe_low",
        "unsubscribe_high",
        "cltv_diff",
        "cltv_low",
        "cltv_high",
        "nps_diff",
        "nps_low",
        "nps_high",
    ]
    if table.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for seg, g in table.groupby("segment", sort=False):
        if set(g["arm"]) != set(ARMS):
            continue
        p, c = (g[g["arm"] == a].iloc[0] for a in ARMS)
        conv = stats.newcombe_difference(_conversions(p), _conversions(c))
        unsub = stats.newcombe_difference(_unsubscribes(p), _unsubscribes(c))
        value = stats.welch_test(_value(p), _value(c))
        nps = stats.welch_test(_nps(p), _nps(c))
        rows.append(
            (
                seg,
                *conv,
                *unsub,
                value.difference,
                value.low,
                value.high,
                100 * nps.difference,
                100 * nps.low,
                100 * nps.high,
            )
        )
    return pd.DataFrame(rows, columns=columns)


def best_segments(econ: SegmentEconomics) -> tuple[list[str], list[str]]:
    """Segments where personalization clearly raised conversion, and where it clearly did not
    help (interval entirely at or below zero); "All segments" excluded."""
    c = econ.comparison[econ.comparison["segment"] != ALL]
    return (
        c.loc[c["conversion_low"] > 0, "segment"].tolist(),
        c.loc[c["conversion_high"] <= 0, "segment"].tolist(),
    )
