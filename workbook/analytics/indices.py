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
from dataclasses import dataclass, field

import altair as alt
import duckdb
import pandas as pd

from workbook import store
from workbook.analytics import measures, metrics, stats
from workbook.analytics.segments import ALL, SegmentEconomics, mean_interval, nps_stats
from workbook.core import fmt
from workbook.story import theme as charts

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
MIN_WEIGHT_SHARE = 0.5  # an index needs components carrying at least half of its weight
CES_LOWER_IS_BETTER = metrics.get("ces").better == "down"
UNSUBSCRIBE_ALARM = 0.01
COMPLAINT_LIMIT = 0.003


@dataclass
class Component:
    name: str
    measure: str  # the raw measure in words, e.g. "NPS +32 (n=410)"
    score: float  # 0-100 (PER: money)
    low: float
    high: float
    weight: float


@dataclass
class CompositeIndex:
    name: str
    formula: str
    components: list[Component]
    value: float
    low: float
    high: float
    scale: str = "0-100"
    notes: list[str] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return not math.isnan(self.value)

    def frame(self) -> pd.DataFrame:
        """The components with their scores, intervals, weights and share of the index."""
        df = pd.DataFrame([c.__dict__ for c in self.components])
        if df.empty:
            return df
        used = df["score"].notna() & (df["weight"] > 0)
        df["weight_share"] = (df["weight"] / df.loc[used, "weight"].sum()).where(used)
        if self.scale == "0-100":
            df["contribution"] = df["score"] * df["weight_share"]
        return df

    def sentence(self) -> str:
        if not self.available:
            return f"**{self.name}**: not enough data. " + " ".join(self.notes)
        parts = ", ".join(
            f"{c.name} {_score(c.score, self.scale)} (weight {c.weight:g})"
            for c in self.components
            if not math.isnan(c.score) and c.weight > 0
        )
        divisor = [c for c in self.components if self.scale != "0-100" and c.weight == 0]
        if divisor:
            parts += ", divided by " + ", ".join(f"{c.name} {_score(c.score, self.scale)}" for c in divisor)
        value = (
            f"{self.value:.0f} out of 100"
            if self.scale == "0-100"
            else f"{self.value:.1f} (money back per unit spent)"
        )
        rng = (
            f"{self.low:.0f} to {self.high:.0f}"
            if self.scale == "0-100"
            else f"{self.low:.1f} to {self.high:.1f}"
        )
        return f"**{self.name}: {value}** (95% interval {rng}). Built from {parts}. " + " ".join(self.notes)


def _score(x: float, scale: str) -> str:
    return f"{x:.0f}" if scale == "0-100" else fmt.money(x)


def _combine(name: str, formula: str, components: list[Component], notes: list[str]) -> CompositeIndex:
    """Weighted mean of the available scores, with the independent-errors interval."""
    used = [c for c in components if not math.isnan(c.score) and c.weight > 0]
    missing = [c.name for c in components if math.isnan(c.score)]
    if missing:
        notes = notes + [f"Left out for lack of data (weights rescaled): {', '.join(missing)}."]
    total = sum(c.weight for c in used)
    if total < MIN_WEIGHT_SHARE * sum(c.weight for c in components):
        if used:
            notes = notes + [
                f"Only {', '.join(f'{c.name} ({c.measure})' for c in used)} is known: less than "
                f"{MIN_WEIGHT_SHARE:.0%} of the index's weight, too little to call it the index."
            ]
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


def _share(name: str, k: int, n: int, weight: float, what: str) -> Component:
    """A share of customers as a 0-100 score with its Wilson interval."""
    if n <= 0:
        return Component(name, f"no {what}", math.nan, math.nan, math.nan, weight)
    lo, hi = stats.wilson_interval(k, n)
    return Component(
        name, f"{fmt.pct(k / n)} of {fmt.num(n)} {what}", 100 * k / n, 100 * lo, 100 * hi, weight
    )


def _rate_penalty(name: str, k: int, n: int, limit: float, weight: float, what: str) -> Component:
    """A bad-event rate as 100 (1 - rate / limit), floored at 0, with its Wilson interval."""
    if n <= 0:
        return Component(name, f"no {what}", math.nan, math.nan, math.nan, weight)
    lo, hi = stats.wilson_interval(k, n)
    score = lambda r: max(0.0, 100 * (1 - r / limit))  # noqa: E731
    return Component(
        name, f"{fmt.pct(k / n, 2)} of {fmt.num(n)} {what}", score(k / n), score(hi), score(lo), weight
    )


def _window(con, as_of, since) -> tuple[dt.date, dt.date, dict]:
    end = as_of or store.latest_activity(con) or dt.date.today()
    start = since or end - dt.timedelta(days=364)
    params = {
        "start": dt.datetime.combine(start, dt.time()),
        "end": dt.datetime.combine(end + dt.timedelta(days=1), dt.time()),
    }
    return start, end, params


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
            con.execute(FEEDBACK_SQL, params).fetchone(),
        )
    )


def customer_experience(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date | None = None,
    since: dt.date | None = None,
    weights: dict[str, float] = CXQ_WEIGHTS,
) -> CompositeIndex:
    """Customer Experience Quotient: NPS, CES, CSAT and review ratings over the last year."""
    _, _, params = _window(con, as_of, since)
    f = _feedback(con, params)
    comps = []
    if f["nps_n"]:
        m = nps_stats(f["nps_n"], f["promoters"], f["detractors"])
        lo, hi = mean_interval(m)
        comps.append(
            Component(
                "NPS",
                f"NPS {100 * m.mean:+.0f} from {fmt.num(f['nps_n'])} answers",
                (100 * m.mean + 100) / 2,
                (100 * lo + 100) / 2,
                (100 * hi + 100) / 2,
                weights["NPS"],
            )
        )
    else:
        comps.append(Component("NPS", "no NPS answers", math.nan, math.nan, math.nan, weights["NPS"]))
    m = stats.mean_var_from_sums(f["ces_n"], f["ces_sum"], f["ces_sq"])
    lo, hi = mean_interval(m)
    if CES_LOWER_IS_BETTER:
        ces, ces_lo, ces_hi, scale = (lambda x: 100 * (7 - x) / 6), hi, lo, "1 = easy, 7 = hard"
    else:
        ces, ces_lo, ces_hi, scale = (lambda x: 100 * (x - 1) / 6), lo, hi, "1 = hard, 7 = easy"
    comps.append(
        Component(
            "CES",
            f"average effort score {m.mean:.2f} ({scale}) from {fmt.num(f['ces_n'])} answers"
            if f["ces_n"]
            else "no CES answers",
            ces(m.mean),
            ces(ces_lo),
            ces(ces_hi),
            weights["CES"],
        )
    )
    comps.append(_share("CSAT", f["satisfied"], f["csat_n"], weights["CSAT"], "answers satisfied (4-5 of 5)"))
    m = stats.mean_var_from_sums(f["rating_n"], f["rating_sum"], f["rating_sq"])
    lo, hi = mean_interval(m)
    stars = lambda x: 100 * (x - 1) / 4  # noqa: E731
    comps.append(
        Component(
            "Ratings",
            f"{m.mean:.2f} stars from {fmt.num(f['rating_n'])} reviews" if f["rating_n"] else "no reviews",
            stars(m.mean),
            stars(lo),
            stars(hi),
            weights["Ratings"],
        )
    )
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
    as_of: dt.date | None = None,
    since: dt.date | None = None,
    weights: dict[str, float] = RSI_WEIGHTS,
) -> CompositeIndex:
    """Relationship Strength Index: repeat buying, referrals and promoters (advocacy), engagement."""
    _, _, params = _window(con, as_of, since)
    r = dict(
        zip(
            ["active", "repeat", "new_known", "referred", "sends", "opened", "sessions", "engaged"],
            con.execute(RELATIONSHIP_SQL, params).fetchone(),
        )
    )
    f = _feedback(con, params)
    comps = [
        _share(
            "Repeat buyers",
            r["repeat"],
            r["active"],
            weights["Repeat buyers"],
            "buying customers ordered twice or more",
        ),
        _share(
            "Referred new customers",
            r["referred"],
            r["new_known"],
            weights["Referred new customers"],
            "new customers came by referral",
        ),
        _share("Promoters", f["promoters"], f["nps_n"], weights["Promoters"], "survey answers are 9-10"),
    ]
    if r["sends"]:
        comps.append(
            _share("Engagement", r["opened"], r["sends"], weights["Engagement"], "emails were opened")
        )
    else:
        comps.append(
            _share(
                "Engagement",
                int(r["engaged"]),
                int(r["sessions"]),
                weights["Engagement"],
                "web sessions were engaged",
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
    econ: SegmentEconomics | None = None,
    as_of: dt.date | None = None,
    since: dt.date | None = None,
    opt_out_ease: float | None = None,
    weights: dict[str, float] = EPS_WEIGHTS,
) -> CompositeIndex:
    """Ethical Personalization Score: consent coverage, opt-out ease, opt-out and complaint
    rates, and whether heavier (personalized) emails drive more opt-outs than generic ones.

    `opt_out_ease` (0-100) is the consultant's checklist score: one-click unsubscribe in every
    email, a preference centre, opt-outs honoured within two business days; None = not assessed.
    """
    _, _, params = _window(con, as_of, since)
    e = dict(
        zip(
            ["recipients", "covered", "sends", "unsubscribes", "delivered", "complaints"],
            con.execute(ETHICS_SQL, params).fetchone(),
        )
    )
    comps = [
        _share(
            "Consent coverage",
            e["covered"],
            e["recipients"],
            weights["Consent coverage"],
            "emailed people have marketing consent on file (or opted out later)",
        )
    ]
    comps.append(
        Component(
            "Opt-out ease",
            "consultant's checklist score" if opt_out_ease is not None else "not assessed",
            math.nan if opt_out_ease is None else float(opt_out_ease),
            math.nan,
            math.nan,
            weights["Opt-out ease"],
        )
    )
    comps.append(
        _rate_penalty(
            "Opt-out rate",
            e["unsubscribes"],
            e["sends"],
            UNSUBSCRIBE_ALARM,
            weights["Opt-out rate"],
            "emails led to an unsubscribe",
        )
    )
    comps.append(
        _rate_penalty(
            "Complaint rate",
            int(e["complaints"]),
            int(e["delivered"]),
            COMPLAINT_LIMIT,
            weights["Complaint rate"],
            "delivered emails were marked as spam",
        )
    )
    comps.append(_personalization_optouts(econ, weights["Opt-outs under personalization"]))
    notes = (
        []
        if opt_out_ease is not None
        else [
            "Opt-out ease needs the consultant's checklist (one-click unsubscribe, preference centre, "
            "opt-outs honoured within two business days)."
        ]
    )
    return _combine(
        "Ethical Personalization Score", "weighted mean of consent and opt-out scores (0-100)", comps, notes
    )


def _personalization_optouts(econ: SegmentEconomics | None, weight: float) -> Component:
    name = "Opt-outs under personalization"
    if econ is None or econ.empty:
        return Component(name, "no personalized vs generic tests", math.nan, math.nan, math.nan, weight)
    t = econ.table[econ.table["segment"] == ALL].set_index("arm")
    p, g = t.loc["personalized"], t.loc["generic"]
    rr = stats.katz_relative_lift(
        int(p.unsubscribes), int(p.recipients), int(g.unsubscribes), int(g.recipients)
    )
    if math.isnan(rr.value):
        return Component(name, "too few unsubscribes to compare", math.nan, math.nan, math.nan, weight)
    score = lambda r: 100 * min(1.0, 1 / (1 + r))  # noqa: E731
    return Component(
        name,
        f"personalized emails' unsubscribe rate {fmt.pct(rr.value, signed=True)} vs generic",
        score(rr.value),
        score(rr.high),
        score(rr.low),
        weight,
    )


def personalization_efficiency(
    econ: SegmentEconomics,
    hours_saved_per_month: float = 0.0,
    hourly_rate: float = 40.0,
    tool_cost_per_month: float = 0.0,
    weights: dict[str, float] = PER_WEIGHTS,
    currency: str = "USD",
) -> CompositeIndex:
    """Personalization Efficiency Ratio = (w_r x incremental revenue + w_t x value of time saved)
    / extra cost of personalizing, over the segment-economics window.

    Incremental revenue = (revenue per personalized recipient - per generic recipient) x
    personalized recipients, from the A/B tests, with Welch's interval. Extra cost = what the
    personalized sends cost beyond generic sends to the same number of people, plus
    `tool_cost_per_month`. Time saved (hours a month, e.g. no longer hand-picking products)
    is valued at `hourly_rate`; both are the consultant's inputs (default: none counted).
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
            ["Needs A/B tests of personalized vs generic emails."],
        )
    t = econ.table[econ.table["segment"] == ALL].set_index("arm")
    p, g = t.loc["personalized"], t.loc["generic"]
    welch = stats.welch_test(
        stats.mean_var_from_sums(int(p.recipients), p.revenue, p.revenue_sq),
        stats.mean_var_from_sums(int(g.recipients), g.revenue, g.revenue_sq),
    )
    n = p.recipients
    months = (econ.end - econ.start).days / (365.25 / 12)
    time_value = hours_saved_per_month * hourly_rate * months
    extra = p.cost - n * g.cost / g.recipients + tool_cost_per_month * months
    wr, wt = weights["Incremental revenue"], weights["Time saved"]
    comps = [
        Component(
            "Incremental revenue",
            f"{fmt.money(welch.difference, currency)} more per personalized "
            f"recipient x {fmt.num(n)} recipients",
            welch.difference * n,
            welch.low * n,
            welch.high * n,
            wr,
        ),
        Component(
            "Time saved",
            f"{hours_saved_per_month:g} h a month at {fmt.money(hourly_rate, currency)}",
            time_value,
            time_value,
            time_value,
            wt,
        ),
        Component(
            "Extra cost",
            "personalized sends beyond generic ones"
            + (" (assumed cost per send)" if econ.assumed_cost else "")
            + (f" + tool {fmt.money(tool_cost_per_month, currency)} a month" if tool_cost_per_month else ""),
            extra,
            extra,
            extra,
            0.0,
        ),
    ]
    notes = (
        ["Costs use the assumed cost per send; replace them with the client's figures."]
        if econ.assumed_cost
        else []
    )
    if not extra > 0:
        return CompositeIndex(
            name,
            formula,
            comps,
            math.nan,
            math.nan,
            math.nan,
            "ratio",
            notes + ["Personalization cost nothing extra here, so a ratio is meaningless."],
        )
    ratio = lambda inc: (wr * inc + wt * time_value) / extra  # noqa: E731
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


def chart(index: CompositeIndex) -> alt.LayerChart:
    """The index's components: score (or money) with interval, labelled with their weights."""
    df = index.frame().dropna(subset=["score"])
    money = index.scale != "0-100"
    df["label"] = [
        f"{n} (divides)" if money and w == 0 else f"{n} (weight {w:g})"
        for n, w in zip(df["name"], df["weight"])
    ]
    x = alt.X(
        "score:Q",
        title="Amount" if money else "Score (0-100, higher is better)",
        scale=alt.Scale(domain=[0, 100]) if not money else alt.Undefined,
    )
    y = alt.Y("label:N", sort=None, title=None)
    bars = (
        alt.Chart(df)
        .mark_bar(color=charts.PALETTE[0])
        .encode(x=x, y=y, tooltip=["name:N", "measure:N", alt.Tooltip("score:Q", format=".1f"), "weight:Q"])
    )
    rules = alt.Chart(df).mark_rule(color="#333").encode(x="low:Q", x2="high:Q", y=y)
    layers = [bars, rules]
    if not money and index.available:
        layers.append(
            alt.Chart(pd.DataFrame({"v": [index.value]}))
            .mark_rule(color=charts.TARGET, strokeDash=[4, 3])
            .encode(x="v:Q")
        )
    title = f"{index.name}: " + (
        f"{index.value:.0f} / 100 (dashed line)" if not money else f"{index.value:.1f}"
    )
    return alt.layer(*layers).properties(title=title, height=alt.Step(22))
