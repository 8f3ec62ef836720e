"""Composite indices of the personalization framework, always shown with their parts.

Each index is a weighted mean of component scores on a 0-100 scale (100 = best), except the
Personalization Efficiency Ratio, which is money returned per unit of money spent. Weights are
parameters with the documented defaults below; a component without data is left out and the
remaining weights are rescaled (the index says which); with less than half of the weight left,
there is no index, only the known components. Component intervals come from the
component's own estimate (Wilson for shares, t for means); the index interval combines them
as independent normal errors, se = sqrt(sum w_i^2 se_i^2) / sum w_i (an approximation: the
components share customers, so the true interval may be somewhat wider or narrower).

Scores:
- NPS -> (NPS + 100) / 2; CES (1-7) -> 100 (7 - CES) / 6 when lower is better, the project's
  convention in `metrics` ("1 (easy) to 7 (hard)"), else 100 (CES - 1) / 6;
  CSAT -> % of answers 4-5 on the 1-5 scale; star rating -> 100 (stars - 1) / 4;
- shares of customers (repeat buyers, referred new customers, promoters, email openers, consent
  on file) -> the share in %;
- unsubscribe rate -> 100 (1 - rate / 1%), floored at 0: 1% per send is widely treated as a
  list-health alarm;
- spam complaint rate -> 100 (1 - rate / 0.3%), floored at 0: 0.3% is the limit in Gmail's
  and Yahoo's 2024 bulk-sender rules (they ask for under 0.1%);
- unsubscribes under heavier personalization -> 100 x min(1, generic rate / personalized rate)
  from the A/B tests: 100 when personalized emails drive no more opt-outs than generic ones.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from workbook import store
from workbook.analytics import measures, metrics, stats
from workbook.analytics.segments import ALL, SegmentEconomics
from workbook.core import dates
from workbook.core.errors import WorkbookError

Z95 = stats.z_value(0.95)

CXQ_WEIGHTS = {"NPS": 0.35, "CES": 0.20, "CSAT": 0.25, "Ratings": 0.20}
RSI_WEIGHTS = {"Repeat buyers": 0.40, "Referred new customers": 0.15, "Promoters": 0.15, "Engagement": 0.30}
EPS_WEIGHTS = {
    "Consent coverage": 0.30,
    "Opt-out ease": 0.15,
    "Opt-out rate": 0.20,
    "Complaint rate": 0.20,
    "Opt-outs under personalization": 0.15,
}
PER_WEIGHTS = {"Incremental revenue": 1.0, "Time saved": 1.0}
# client.toml [index_weights.<key>] sets some of an index's weights over these defaults
WEIGHTS = {
    "customer_experience": CXQ_WEIGHTS,
    "relationship_strength": RSI_WEIGHTS,
    "ethical_personalization": EPS_WEIGHTS,
    "personalization_efficiency": PER_WEIGHTS,
}
MIN_WEIGHT_SHARE = 0.5  # an index needs components carrying at least half of its weight
CES_LOWER_IS_BETTER = metrics.get("ces").better == "down"
UNSUBSCRIBE_ALARM = 0.01
COMPLAINT_LIMIT = 0.003


# What an index's `notes` can say (codes; the story puts them in words):
MISSING = "missing"  # components without data were left out and the weights rescaled
TOO_LITTLE = "too little"  # the known components carry less than MIN_WEIGHT_SHARE of the weight
NOT_ASSESSED = "opt-out ease not assessed"  # the consultant's checklist score is missing
NO_TESTS = "no A/B tests"  # the efficiency ratio needs personalized vs generic A/B tests
ASSUMED_COST = "assumed cost"  # costs use the assumed cost per send
NO_EXTRA_COST = "no extra cost"  # personalizing cost nothing extra, so there is no ratio
NO_TIME = "time saved not given"  # the consultant gave no hours saved: time is not counted
ASSUMED_TIME = "assumed time saved"  # time saved is the consultant's estimate, not measured


def weights(given: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Each index's weights (keys of `WEIGHTS`): the defaults, with the parts that client.toml's
    [index_weights.<index>] tables set (`store.clients.Settings.index_weights`)."""
    out = {key: dict(default) for key, default in WEIGHTS.items()}
    for key, parts in given.items():
        if key not in out:
            raise WorkbookError(
                f"client.toml: [index_weights.{key}] is not an index; use {', '.join(WEIGHTS)}."
            )
        unknown = [part for part in parts if part not in out[key]]
        if unknown:
            raise WorkbookError(
                f"client.toml: [index_weights.{key}] has no part {unknown[0]!r}; "
                f"use {', '.join(repr(p) for p in out[key])}."
            )
        out[key].update(parts)
        if not sum(out[key].values()) > 0:
            raise WorkbookError(
                f"client.toml: [index_weights.{key}] leaves every weight at 0; give one above 0."
            )
    return out


@dataclass
class Component:
    """One part of an index: its score with interval and weight, and what the score is built from.

    `measure` names what is measured (e.g. "promoters", "opened emails", "stars"); `basis` holds
    its raw figures: a `stats.Proportion` (k of n), a `stats.SampleMean` (answers or ratings), a
    `stats.Estimate` (relative unsubscribe lift), the efficiency ratio's inputs as a dict, or None
    (nothing measured).
    """

    name: str
    measure: str
    score: float  # 0-100 (PER: money)
    low: float
    high: float
    weight: float
    basis: Any = None


@dataclass
class CompositeIndex:
    name: str
    formula: str
    components: list[Component]
    value: float
    low: float
    high: float
    scale: str = "0-100"
    notes: list[str] = field(default_factory=list)  # codes: MISSING, TOO_LITTLE, ...

    @property
    def available(self) -> bool:
        return not math.isnan(self.value)

    def frame(self) -> pd.DataFrame:
        """The components with their scores, intervals, weights and share of the index."""
        df = pd.DataFrame(
            [(c.name, c.measure, c.score, c.low, c.high, c.weight) for c in self.components],
            columns=["name", "measure", "score", "low", "high", "weight"],
        )
        if df.empty:
            return df
        used = df["score"].notna() & (df["weight"] > 0)
        df["weight_share"] = (df["weight"] / df.loc[used, "weight"].sum()).where(used)
        if self.scale == "0-100":
            df["contribution"] = df["score"] * df["weight_share"]
        return df


def _combine(name: str, formula: str, components: list[Component], notes: list[str]) -> CompositeIndex:
    """Weighted mean of the available scores, with the independent-errors interval."""
    used = [c for c in components if not math.isnan(c.score) and c.weight > 0]
    if any(math.isnan(c.score) for c in components):
        notes = [*notes, MISSING]
    total = sum(c.weight for c in used)
    if total < MIN_WEIGHT_SHARE * sum(c.weight for c in components):
        if used:
            notes = [*notes, TOO_LITTLE]
        return CompositeIndex(name, formula, components, math.nan, math.nan, math.nan, notes=notes)
    value = sum(c.weight * c.score for c in used) / total
    se = math.sqrt(sum((c.weight * _se(c)) ** 2 for c in used)) / total
    return CompositeIndex(
        name,
        formula,
        components,
        value,
        max(0.0, value - Z95 * se),
        min(100.0, value + Z95 * se),
        notes=notes,
    )


def _se(c: Component) -> float:
    if math.isnan(c.low) or math.isnan(c.high):
        return 0.0
    return (c.high - c.low) / (2 * Z95)


def _share(name: str, measure: str, k: int, n: int, weight: float) -> Component:
    """A share (k of n) as a 0-100 score with its Wilson interval."""
    share = stats.Proportion(n, k)
    if n <= 0:
        return Component(name, measure, math.nan, math.nan, math.nan, weight, share)
    lo, hi = share.interval()
    return Component(name, measure, 100 * share.mean, 100 * lo, 100 * hi, weight, share)


def _rate_penalty(name: str, measure: str, k: int, n: int, limit: float, weight: float) -> Component:
    """A bad-event rate (k of n) as 100 (1 - rate / limit), floored at 0, with its Wilson interval."""
    rate = stats.Proportion(n, k)
    if n <= 0:
        return Component(name, measure, math.nan, math.nan, math.nan, weight, rate)
    lo, hi = rate.interval()

    def score(r: float) -> float:
        return max(0.0, 100 * (1 - r / limit))

    return Component(name, measure, score(rate.mean), score(hi), score(lo), weight, rate)


def _window(as_of: dt.date, since: dt.date | None) -> tuple[dt.date, dt.date, dict]:
    start = since or dates.year_start(as_of)
    params = {
        "start": dates.midnight(start),
        "end": dates.midnight(as_of + dt.timedelta(days=1)),
    }
    return start, as_of, params


FEEDBACK_SQL = f"""
SELECT count(nps) AS nps_n, count(*) FILTER (WHERE {measures.PROMOTER.sql}) AS promoters,
       count(*) FILTER (WHERE {measures.DETRACTOR.sql}) AS detractors,
       {measures.CES.den} AS ces_n, coalesce({measures.CES.num}, 0) AS ces_sum,
       coalesce(sum(ces * ces), 0) AS ces_sq,
       {measures.CSAT_SATISFIED_SHARE.den} AS csat_n, {measures.CSAT_SATISFIED_SHARE.num} AS satisfied,
       {measures.AVERAGE_RATING.den} AS rating_n, coalesce({measures.AVERAGE_RATING.num}, 0) AS rating_sum,
       coalesce(sum(rating * rating), 0) AS rating_sq
FROM feedback WHERE submitted_at >= $start AND submitted_at < $end
"""


def _feedback(con, params) -> dict:
    return dict(
        zip(
            [
                "nps_n",
                "promoters",
                "detractors",
                "ces_n",
                "ces_sum",
                "ces_sq",
                "csat_n",
                "satisfied",
                "rating_n",
                "rating_sum",
                "rating_sq",
            ],
            store.one_row(con, FEEDBACK_SQL, params),
        )
    )


def customer_experience(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    since: dt.date | None = None,
    weights: dict[str, float] = CXQ_WEIGHTS,
) -> CompositeIndex:
    """Customer Experience Quotient: NPS, CES, CSAT and review ratings over the last year."""
    _, _, params = _window(as_of, since)
    f = _feedback(con, params)
    m = stats.SampleMean.net_score(f["nps_n"], f["promoters"], f["detractors"])
    lo, hi = m.interval()

    def nps(x: float) -> float:  # -1..1 -> 0..100
        return (100 * x + 100) / 2

    comps = [Component("NPS", "nps", nps(m.mean), nps(lo), nps(hi), weights["NPS"], m)]
    m = stats.SampleMean(f["ces_n"], f["ces_sum"], f["ces_sq"])
    lo, hi = m.interval()

    def ces(x: float) -> float:  # 1..7 -> 0..100, the better end at 100
        return 100 * (7 - x) / 6 if CES_LOWER_IS_BETTER else 100 * (x - 1) / 6

    ces_lo, ces_hi = (hi, lo) if CES_LOWER_IS_BETTER else (lo, hi)
    comps.append(Component("CES", "ces", ces(m.mean), ces(ces_lo), ces(ces_hi), weights["CES"], m))
    comps.append(_share("CSAT", "satisfied answers", f["satisfied"], f["csat_n"], weights["CSAT"]))
    m = stats.SampleMean(f["rating_n"], f["rating_sum"], f["rating_sq"])
    lo, hi = m.interval()

    def stars(x: float) -> float:  # 1..5 -> 0..100
        return 100 * (x - 1) / 4

    comps.append(Component("Ratings", "stars", stars(m.mean), stars(lo), stars(hi), weights["Ratings"], m))
    return _combine(
        "Customer Experience Quotient", "weighted mean of NPS, CES, CSAT and rating scores (0-100)", comps, []
    )


RELATIONSHIP_SQL = f"""
WITH buyers AS (  -- one pass over orders: each customer's first purchase ever, their purchases in the window
    SELECT customer_id, {measures.FIRST_PURCHASE.sql} AS first_at,
           count(*) FILTER (WHERE ordered_at >= $start AND ordered_at < $end AND {measures.PURCHASE.sql}) AS n
    FROM orders WHERE customer_id IS NOT NULL GROUP BY 1
),
newcomers AS (
    SELECT b.customer_id, any_value(c.acquisition_channel) AS channel
    FROM buyers b LEFT JOIN customers c USING (customer_id)
    WHERE b.first_at >= $start AND b.first_at < $end
    GROUP BY b.customer_id
)
SELECT (SELECT count(*) FROM buyers WHERE n >= 1) AS active, (SELECT count(*) FROM buyers WHERE n >= 2) AS repeat,
       (SELECT count(*) FROM newcomers WHERE channel IS NOT NULL) AS new_known,
       (SELECT count(*) FROM newcomers WHERE lower(channel) LIKE '%referr%') AS referred,
       (SELECT count(*) FROM campaign_sends WHERE sent_at >= $start AND sent_at < $end) AS sends,
       (SELECT count(*) FROM campaign_sends WHERE sent_at >= $start AND sent_at < $end
                                              AND opened_at IS NOT NULL) AS opened,
       (SELECT coalesce(sum(sessions), 0) FROM web_sessions WHERE day >= $start AND day < $end) AS sessions,
       (SELECT coalesce(sum(engaged_sessions), 0) FROM web_sessions WHERE day >= $start AND day < $end) AS engaged
"""


def relationship_strength(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    since: dt.date | None = None,
    weights: dict[str, float] = RSI_WEIGHTS,
) -> CompositeIndex:
    """Relationship Strength Index: repeat buying, referrals and promoters (advocacy), engagement."""
    _, _, params = _window(as_of, since)
    r = dict(
        zip(
            ["active", "repeat", "new_known", "referred", "sends", "opened", "sessions", "engaged"],
            store.one_row(con, RELATIONSHIP_SQL, params),
        )
    )
    f = _feedback(con, params)
    comps = [
        _share("Repeat buyers", "repeat buyers", r["repeat"], r["active"], weights["Repeat buyers"]),
        _share(
            "Referred new customers",
            "referred newcomers",
            r["referred"],
            r["new_known"],
            weights["Referred new customers"],
        ),
        _share("Promoters", "promoters", f["promoters"], f["nps_n"], weights["Promoters"]),
    ]
    if r["sends"]:
        comps.append(_share("Engagement", "opened emails", r["opened"], r["sends"], weights["Engagement"]))
    else:
        comps.append(
            _share(
                "Engagement", "engaged sessions", int(r["engaged"]), int(r["sessions"]), weights["Engagement"]
            )
        )
    return _combine("Relationship Strength Index", "weighted mean of customer shares (0-100)", comps, [])


ETHICS_SQL = """
WITH recipients AS (
    SELECT customer_id, bool_or(coalesce(unsubscribed, false)) AS unsubscribed_here
    FROM campaign_sends WHERE sent_at >= $start AND sent_at < $end GROUP BY 1
)
SELECT (SELECT count(*) FROM recipients) AS recipients,
       (SELECT count(*) FROM recipients r
        WHERE r.unsubscribed_here OR EXISTS (SELECT 1 FROM customers c
                                             WHERE c.customer_id = r.customer_id AND c.marketing_consent)) AS covered,
       (SELECT count(*) FROM campaign_sends WHERE sent_at >= $start AND sent_at < $end) AS sends,
       (SELECT count(*) FROM campaign_sends WHERE sent_at >= $start AND sent_at < $end AND unsubscribed) AS unsubscribes,
       (SELECT coalesce(sum(coalesce(r.delivered, r.recipients)), 0) FROM campaign_results r
        JOIN campaigns c USING (campaign_id) WHERE c.started_at >= $start AND c.started_at < $end
          AND r.spam_complaints IS NOT NULL) AS delivered,
       (SELECT coalesce(sum(r.spam_complaints), 0) FROM campaign_results r
        JOIN campaigns c USING (campaign_id) WHERE c.started_at >= $start AND c.started_at < $end) AS complaints
"""


def ethical_personalization(
    con: duckdb.DuckDBPyConnection,
    econ: SegmentEconomics | None,
    as_of: dt.date,
    since: dt.date | None = None,
    opt_out_ease: float | None = None,
    weights: dict[str, float] = EPS_WEIGHTS,
) -> CompositeIndex:
    """Ethical Personalization Score: consent coverage, opt-out ease, opt-out and complaint
    rates, and whether heavier (personalized) emails drive more opt-outs than generic ones.

    `opt_out_ease` (0-100) is the consultant's checklist score: one-click unsubscribe in every
    email, a preference centre, opt-outs honoured within two business days; None = not assessed.
    """
    _, _, params = _window(as_of, since)
    e = dict(
        zip(
            ["recipients", "covered", "sends", "unsubscribes", "delivered", "complaints"],
            store.one_row(con, ETHICS_SQL, params),
        )
    )
    comps = [
        _share("Consent coverage", "consent", e["covered"], e["recipients"], weights["Consent coverage"]),
        Component(
            "Opt-out ease",
            "checklist",
            math.nan if opt_out_ease is None else float(opt_out_ease),
            math.nan,
            math.nan,
            weights["Opt-out ease"],
        ),
        _rate_penalty(
            "Opt-out rate",
            "unsubscribes",
            e["unsubscribes"],
            e["sends"],
            UNSUBSCRIBE_ALARM,
            weights["Opt-out rate"],
        ),
        _rate_penalty(
            "Complaint rate",
            "spam complaints",
            int(e["complaints"]),
            int(e["delivered"]),
            COMPLAINT_LIMIT,
            weights["Complaint rate"],
        ),
        _personalization_optouts(econ, weights["Opt-outs under personalization"]),
    ]
    notes = [] if opt_out_ease is not None else [NOT_ASSESSED]
    return _combine(
        "Ethical Personalization Score", "weighted mean of consent and opt-out scores (0-100)", comps, notes
    )


def _personalization_optouts(econ: SegmentEconomics | None, weight: float) -> Component:
    """Scored from personalized emails' unsubscribe rate relative to generic ones (Katz interval);
    the basis is that relative lift, None without A/B tests."""
    name, measure = "Opt-outs under personalization", "unsubscribe lift"
    if econ is None or econ.empty:
        return Component(name, measure, math.nan, math.nan, math.nan, weight)
    t = econ.table[econ.table["segment"] == ALL].set_index("arm")
    p, g = t.loc["personalized"], t.loc["generic"]
    rr = stats.katz_relative_lift(
        stats.Proportion(int(p.recipients), int(p.unsubscribes)),
        stats.Proportion(int(g.recipients), int(g.unsubscribes)),
    )
    if math.isnan(rr.value):
        return Component(name, measure, math.nan, math.nan, math.nan, weight, rr)

    def score(r: float) -> float:
        return 100 * min(1.0, 1 / (1 + r))

    return Component(name, measure, score(rr.value), score(rr.high), score(rr.low), weight, rr)


def personalization_efficiency(
    econ: SegmentEconomics,
    hours_saved_per_month: float | None = None,
    hourly_rate: float = 40.0,
    tool_cost_per_month: float = 0.0,
    weights: dict[str, float] = PER_WEIGHTS,
) -> CompositeIndex:
    """Personalization Efficiency Ratio = (w_r x incremental revenue + w_t x value of time saved)
    / extra cost of personalizing, over the segment-economics window.

    Incremental revenue = (revenue per personalized recipient - per generic recipient) x
    personalized recipients, from the A/B tests, with Welch's interval. Extra cost = what the
    personalized sends cost beyond generic sends to the same number of people, plus
    `tool_cost_per_month`. Time saved (hours a month, e.g. no longer hand-picking products)
    is valued at `hourly_rate`; both are the consultant's inputs (client.toml [time_saved]).
    Without hours saved (None) time is not counted, and the index says so (`NO_TIME`) rather
    than showing a time saving of zero.
    """
    name, formula = "Personalization Efficiency Ratio", "(incremental revenue + time saved) / extra cost"
    if econ.empty:
        return CompositeIndex(
            name,
            formula,
            [],
            math.nan,
            math.nan,
            math.nan,
            "ratio",
            [NO_TESTS],
        )
    t = econ.table[econ.table["segment"] == ALL].set_index("arm")
    p, g = t.loc["personalized"], t.loc["generic"]
    welch = stats.welch_test(
        stats.SampleMean(int(p.recipients), p.revenue, p.revenue_sq),
        stats.SampleMean(int(g.recipients), g.revenue, g.revenue_sq),
    )
    n = p.recipients
    months = (econ.end - econ.start).days / (365.25 / 12)
    time_value = math.nan if hours_saved_per_month is None else hours_saved_per_month * hourly_rate * months
    extra = p.cost - n * g.cost / g.recipients + tool_cost_per_month * months
    wr, wt = weights["Incremental revenue"], weights["Time saved"]
    comps = [
        Component(
            "Incremental revenue",
            "incremental revenue",
            welch.difference * n,
            welch.low * n,
            welch.high * n,
            wr,
            {"per_recipient": welch.difference, "recipients": n},
        ),
        Component(
            "Time saved",
            "time saved",
            time_value,
            time_value,
            time_value,
            wt,
            {"hours_per_month": hours_saved_per_month, "hourly_rate": hourly_rate},
        ),
        Component(
            "Extra cost",
            "extra cost",
            extra,
            extra,
            extra,
            0.0,
            {"assumed_cost": econ.assumed_cost, "tool_per_month": tool_cost_per_month},
        ),
    ]
    notes = [ASSUMED_COST] if econ.assumed_cost else []
    notes.append(NO_TIME if hours_saved_per_month is None else ASSUMED_TIME)
    if not extra > 0:
        return CompositeIndex(
            name,
            formula,
            comps,
            math.nan,
            math.nan,
            math.nan,
            "ratio",
            [*notes, NO_EXTRA_COST],
        )

    def ratio(increment: float) -> float:
        return (wr * increment + (0.0 if math.isnan(time_value) else wt * time_value)) / extra

    return CompositeIndex(
        name,
        formula,
        comps,
        ratio(welch.difference * n),
        ratio(welch.low * n),
        ratio(welch.high * n),
        "ratio",
        notes,
    )
