"""Campaign A/B tests, read from the client file and judged the way a careful analyst would.

Every campaign with two or more variants is a test. Per arm, DuckDB counts recipients,
opens, clicks, conversions and sums revenue and revenue squared: from `campaign_sends` (one
row per recipient) when the campaign is there, else from `campaign_results` (per-variant
totals, e.g. a Klaviyo export), where revenue per recipient has no variance and so no test.
Only those aggregates, plus each arm's non-zero revenue values (a few per cent of
recipients, for the bootstrap), leave the database.

Each test then gets, per arm against the control: open, click and conversion rates with
Wilson intervals, absolute lift (Newcombe) and relative lift (Katz) with 95% intervals, the
two-proportion z-test, revenue per recipient with Welch's t-test and a BCa bootstrap interval,
the Bayesian chance to beat the control, Holm-adjusted p-values over all of the test's
comparisons, the power for a lift worth having, and a verdict in plain words. A
sample-ratio-mismatch check comes first: when the split is broken, nothing else is believed.

    from workbook.analytics import experiments as ex
    tests = ex.campaign_tests(ctx.con, ctx.as_of)            # [] without A/B campaigns
    pooled = ex.pooled_personalization_test(ctx.con, tests=tests)  # None without such arms
    if pooled:
        nb.say(ex.verdict(pooled, "conversion", currency=ctx.currency))
        ex.arms_chart(pooled)
    ex.lift_chart(tests + [pooled])                          # forest plot of every test
    ex.report_table(tests, "conversion", ctx.currency)       # in words; tests_table: numbers
    ex.plan_sample_size(0.02, 0.25)  # recipients per arm to detect +25% on a 2% rate
    ex.minimum_detectable_effect(1500, 0.02)  # smallest rise of a 2% rate that 1,500 per arm detect

Conventions (docs/architecture.md): the control is the variant whose name contains
"generic" or "control", else the first alphabetically; a personalized arm is
`measures.PERSONALIZED_ARM`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property, partial

import altair as alt
import duckdb
import pandas as pd

from workbook.analytics import measures, stats
from workbook.core import fmt
from workbook.story import theme as charts
from workbook.story.nb import parse_date

ALPHA = 0.05
SRM_ALPHA = 0.001  # a split this unlikely by chance means the assignment or tracking is broken
EXPECTED_LIFT = 0.20  # relative lift "worth having" that a test should be able to detect
POWER = 0.80
PRIOR = (1, 1)  # Beta(1, 1): every rate equally likely before the data

RATE_METRICS = {"open": "opens", "click": "clicks", "conversion": "conversions"}
METRIC_NAMES = {
    "open": "open rate",
    "click": "click rate",
    "conversion": "conversion rate",
    "revenue": "revenue per recipient",
}
POOLED_ID = "all-personalized-vs-generic"
FOREST_OUTCOMES = {"win": "clear gain", "loss": "clear loss", "inconclusive": "inconclusive"}


@dataclass(frozen=True)
class Arm:
    """One variant's aggregates. `revenue_sq` and `nonzero_revenue` are None without per-recipient data."""

    variant: str
    recipients: int
    opens: int
    clicks: int
    conversions: int
    revenue: float
    revenue_sq: float | None = None
    nonzero_revenue: tuple[float, ...] | None = field(default=None, repr=False)

    @property
    def is_personalized(self) -> bool:
        return measures.is_personalized_arm(self.variant)

    def count(self, metric: str) -> int:
        return getattr(self, RATE_METRICS[metric])

    def rate(self, metric: str) -> float:
        if self.recipients <= 0:
            return math.nan
        if metric == "revenue":
            return self.revenue / self.recipients
        return self.count(metric) / self.recipients

    def interval(self, metric: str) -> tuple[float, float]:
        """Wilson 95% interval of a rate metric."""
        return stats.wilson_interval(self.count(metric), self.recipients)

    def revenue_stats(self) -> stats.MeanVar | None:
        if self.revenue_sq is None:
            return None
        return stats.mean_var_from_sums(self.recipients, self.revenue, self.revenue_sq)


@dataclass(frozen=True)
class Comparison:
    """One arm against the control on one metric ("open", "click", "conversion", "revenue").

    `lift` is absolute (rate points, or money per recipient) and `relative` is arm/control - 1,
    both with 95% intervals. `p_holm` is adjusted over all comparisons of the same test.
    `power` is the chance to detect a true relative lift of `expected_lift`; `mde` is the
    smallest absolute lift detected with 80% power. `bootstrap` (revenue only) is the BCa
    95% interval of the difference; verdicts quote it, since revenue is skewed. Its 10,000
    seeded resamples are most of a test's cost and reports quote few of them, so `resample`
    runs on first use (same seed, same interval).
    """

    metric: str
    arm: str
    control: str
    value: float
    control_value: float
    lift: stats.Estimate
    relative: stats.Estimate
    p_value: float
    p_holm: float
    prob_beat_control: float
    mde: float
    power: float
    expected_lift: float
    resample: Callable[[], tuple[float, float]] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def bootstrap(self) -> tuple[float, float] | None:
        return None if self.resample is None else self.resample()


@dataclass(frozen=True)
class ABTest:
    """One test (a campaign, or the pooled personalization test): arms, SRM check, comparisons.

    `trustworthy` is False when the split is broken; `notes` say what could not be done.
    """

    campaign_id: str
    name: str
    source: str  # "campaign_sends", "campaign_results" or "pooled"
    arms: tuple[Arm, ...]
    control: str
    srm: stats.ChiSquare
    shares: tuple[float, ...]  # intended split, aligned with arms
    comparisons: tuple[Comparison, ...]
    started_at: dt.datetime | None = None
    campaigns: tuple[str, ...] = ()  # the campaigns a pooled test adds up
    notes: tuple[str, ...] = ()
    alpha: float = ALPHA
    srm_alpha: float = SRM_ALPHA

    @property
    def trustworthy(self) -> bool:
        """False when the split is broken (sample-ratio mismatch): then no result counts."""
        return not self.srm.p_value < self.srm_alpha

    @property
    def has_revenue_test(self) -> bool:
        return all(a.revenue_sq is not None for a in self.arms)

    def arm(self, variant: str) -> Arm:
        return next(a for a in self.arms if a.variant == variant)

    def comparison(self, metric: str, arm: str | None = None) -> Comparison:
        """The comparison of `arm` (default: the first non-control arm) on `metric`."""
        return next(c for c in self.comparisons if c.metric == metric and (arm is None or c.arm == arm))


def _cutoff(as_of) -> dt.datetime | None:
    day = parse_date(as_of)
    return None if day is None else dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


ARMS_SQL = """
WITH cut AS (SELECT coalesce($cutoff::TIMESTAMP, 'infinity'::TIMESTAMP) AS t),
sends AS (
    SELECT s.campaign_id, coalesce(s.variant, '(no variant)') AS variant,
           s.opened_at < cut.t AS opened, s.clicked_at < cut.t AS clicked,
           s.converted_at < cut.t AS converted,
           CASE WHEN s.converted_at IS NULL OR s.converted_at < cut.t
                THEN coalesce(s.revenue, 0) ELSE 0 END::DOUBLE AS rev
    FROM campaign_sends s, cut
    WHERE s.sent_at IS NULL OR s.sent_at < cut.t
),
send_arms AS (
    SELECT campaign_id, variant, count(*) AS recipients,
           count(*) FILTER (WHERE opened) AS opens, count(*) FILTER (WHERE clicked) AS clicks,
           count(*) FILTER (WHERE converted) AS conversions,
           sum(rev) AS revenue, sum(rev * rev) AS revenue_sq,
           coalesce(list(rev ORDER BY rev) FILTER (WHERE rev <> 0), []) AS nonzero_revenue
    FROM sends GROUP BY campaign_id, variant
    QUALIFY count(*) OVER (PARTITION BY campaign_id) >= 2
),
meta AS (
    SELECT campaign_id, any_value(name) AS name, min(started_at) AS started_at
    FROM campaigns GROUP BY campaign_id
),
result_arms AS (
    SELECT r.campaign_id, r.variant, sum(coalesce(r.recipients, r.delivered, 0)) AS recipients,
           sum(coalesce(r.opens, 0)) AS opens, sum(coalesce(r.clicks, 0)) AS clicks,
           sum(coalesce(r.orders, 0)) AS conversions, sum(coalesce(r.revenue, 0))::DOUBLE AS revenue
    FROM campaign_results r LEFT JOIN meta m USING (campaign_id), cut
    WHERE (m.started_at IS NULL OR m.started_at < cut.t)
      AND r.campaign_id NOT IN (SELECT campaign_id FROM send_arms)
    GROUP BY r.campaign_id, r.variant
    HAVING sum(coalesce(r.recipients, r.delivered, 0)) > 0
    QUALIFY count(*) OVER (PARTITION BY r.campaign_id) >= 2
),
arms AS (
    SELECT 'campaign_sends' AS source, * FROM send_arms
    UNION ALL BY NAME
    SELECT 'campaign_results' AS source, * FROM result_arms
)
SELECT a.*, coalesce(m.name, a.campaign_id) AS name, m.started_at
FROM arms a LEFT JOIN meta m USING (campaign_id)
ORDER BY m.started_at NULLS LAST, a.campaign_id, a.variant
"""


def arm_counts(con: duckdb.DuckDBPyConnection, as_of=None) -> pd.DataFrame:
    """Per-arm aggregates of every campaign with 2+ variants, sent up to `as_of` (inclusive).

    Events (opens, clicks, conversions and their revenue) count when they happened by
    `as_of`. `revenue_sq` and `nonzero_revenue` are empty for `campaign_results` arms.
    """
    return con.execute(ARMS_SQL, {"cutoff": _cutoff(as_of)}).df()


def control_variant(variants: Iterable[str]) -> str:
    """The convention's control: a name with "generic" or "control", else the first alphabetically."""
    names = sorted(variants)
    marked = [v for v in names if "generic" in v.lower() or "control" in v.lower()]
    return (marked or names)[0]


def _arm_from_row(row) -> Arm:
    per_recipient = row.source == "campaign_sends"
    return Arm(
        variant=str(row.variant),
        recipients=int(row.recipients),
        opens=int(row.opens),
        clicks=int(row.clicks),
        conversions=int(row.conversions),
        revenue=float(row.revenue),
        revenue_sq=float(row.revenue_sq) if per_recipient else None,
        nonzero_revenue=tuple(float(v) for v in row.nonzero_revenue) if per_recipient else None,
    )


def _rate_comparison(arm: Arm, control: Arm, metric: str, expected_lift: float) -> Comparison:
    x1, n1, x0, n0 = arm.count(metric), arm.recipients, control.count(metric), control.recipients
    p0 = control.rate(metric)
    target = min(1.0, p0 * (1 + expected_lift))
    return Comparison(
        metric=metric,
        arm=arm.variant,
        control=control.variant,
        value=arm.rate(metric),
        control_value=p0,
        lift=stats.newcombe_difference(x1, n1, x0, n0),
        relative=stats.katz_relative_lift(x1, n1, x0, n0),
        p_value=stats.two_proportion_ztest(x1, n1, x0, n0).p_value,
        p_holm=math.nan,
        prob_beat_control=stats.prob_beat_control(x1, n1, x0, n0, PRIOR),
        mde=stats.minimum_detectable_rate(n1, n0, p0) - p0,
        power=stats.power(n1, n0, p0, target) if 0 < p0 < target else math.nan,
        expected_lift=expected_lift,
    )


def _revenue_comparison(arm: Arm, control: Arm, expected_lift: float, seed: int) -> Comparison:
    a, c = arm.revenue_stats(), control.revenue_stats()
    base = dict(
        metric="revenue",
        arm=arm.variant,
        control=control.variant,
        value=arm.rate("revenue"),
        control_value=control.rate("revenue"),
        p_holm=math.nan,
        prob_beat_control=math.nan,
        expected_lift=expected_lift,
    )
    if a is None or c is None:  # per-variant totals only: no variance, no test
        none = stats.Estimate(arm.rate("revenue") - control.rate("revenue"), math.nan, math.nan)
        return Comparison(
            **base,
            lift=none,
            relative=stats.Estimate(math.nan, math.nan, math.nan),
            p_value=math.nan,
            mde=math.nan,
            power=math.nan,
        )
    welch = stats.welch_test(a, c)
    se = stats.welch_se(a, c)
    boot = partial(
        stats.bootstrap_mean_difference,
        arm.nonzero_revenue,
        arm.recipients,
        control.nonzero_revenue,
        control.recipients,
        seed=seed,
    )
    return Comparison(
        **base,
        lift=stats.Estimate(welch.difference, welch.low, welch.high),
        relative=stats.relative_mean_lift(a, c),
        p_value=welch.p_value,
        mde=stats.minimum_detectable_difference(se),
        power=stats.power_for_difference(expected_lift * c.mean, se),
        resample=boot,
    )


def build_test(
    campaign_id: str,
    name: str,
    source: str,
    arms: list[Arm],
    *,
    control: str | None = None,
    shares: list[float] | None = None,
    started_at=None,
    campaigns: tuple[str, ...] = (),
    notes: tuple[str, ...] = (),
    expected_lift: float = EXPECTED_LIFT,
    alpha: float = ALPHA,
    srm_alpha: float = SRM_ALPHA,
    seed: int = 20261031,
) -> ABTest:
    """Judge one test from its arms: SRM check, every metric for every arm vs control, Holm.

    `shares` is the intended split (default equal). The Holm family is all of the test's
    comparisons (3 rates + revenue, per non-control arm).
    """
    control = control or control_variant(a.variant for a in arms)
    shares = list(shares) if shares is not None else [1.0] * len(arms)
    ctrl = next(a for a in arms if a.variant == control)
    comps = []
    for arm in arms:
        if arm.variant == control:
            continue
        comps += [_rate_comparison(arm, ctrl, m, expected_lift) for m in RATE_METRICS]
        comps.append(_revenue_comparison(arm, ctrl, expected_lift, seed))
    adjusted = stats.holm([c.p_value for c in comps])
    comps = [replace(c, p_holm=float(p)) for c, p in zip(comps, adjusted)]
    return ABTest(
        campaign_id=campaign_id,
        name=name,
        source=source,
        arms=tuple(arms),
        control=control,
        srm=stats.sample_ratio_mismatch([a.recipients for a in arms], shares),
        shares=tuple(shares),
        comparisons=tuple(comps),
        started_at=started_at,
        campaigns=campaigns,
        notes=notes,
        alpha=alpha,
        srm_alpha=srm_alpha,
    )


def campaign_tests(
    con: duckdb.DuckDBPyConnection,
    as_of=None,
    *,
    splits: dict[str, dict[str, float]] | None = None,
    expected_lift: float = EXPECTED_LIFT,
    alpha: float = ALPHA,
    srm_alpha: float = SRM_ALPHA,
) -> list[ABTest]:
    """Every campaign with 2+ variants sent by `as_of`, judged (oldest first); [] when none.

    The intended split is equal (the usual A/B setting) unless `splits` gives it for a
    campaign, e.g. {"C1": {"Generic": 0.8, "Personalized": 0.2}}. A test whose arm sizes are
    too uneven for chance (p < srm_alpha) is marked not trustworthy.
    """
    rows = arm_counts(con, as_of)
    tests = []
    for campaign_id, group in rows.groupby("campaign_id", sort=False):
        first = group.iloc[0]
        arms = [_arm_from_row(r) for r in group.itertuples(index=False)]
        notes = (
            ()
            if first.source == "campaign_sends"
            else (
                "Only per-variant totals were imported for this campaign, so revenue per recipient "
                "cannot be tested (no per-recipient spread); import per-recipient activity for that.",
            )
        )
        tests.append(
            build_test(
                str(campaign_id),
                str(first["name"]),
                str(first.source),
                arms,
                shares=_intended(str(campaign_id), arms, splits),
                started_at=None if pd.isna(first.started_at) else first.started_at.to_pydatetime(),
                notes=notes,
                expected_lift=expected_lift,
                alpha=alpha,
                srm_alpha=srm_alpha,
            )
        )
    return tests


def _intended(
    campaign_id: str, arms: list[Arm], splits: dict[str, dict[str, float]] | None
) -> list[float] | None:
    split = (splits or {}).get(campaign_id)
    if split is None:
        return None
    missing = [a.variant for a in arms if a.variant not in split]
    if missing:
        raise ValueError(
            f"the intended split of campaign {campaign_id} has no share for {', '.join(missing)}"
        )
    return [float(split[a.variant]) for a in arms]


def _sum_arms(variant: str, arms: list[Arm]) -> Arm:
    per_recipient = all(a.revenue_sq is not None for a in arms)
    return Arm(
        variant=variant,
        recipients=sum(a.recipients for a in arms),
        opens=sum(a.opens for a in arms),
        clicks=sum(a.clicks for a in arms),
        conversions=sum(a.conversions for a in arms),
        revenue=sum(a.revenue for a in arms),
        revenue_sq=sum(a.revenue_sq for a in arms) if per_recipient else None,
        nonzero_revenue=tuple(v for a in arms for v in a.nonzero_revenue) if per_recipient else None,
    )


def pooled_personalization_test(
    con: duckdb.DuckDBPyConnection,
    as_of=None,
    *,
    tests: list[ABTest] | None = None,
    splits: dict[str, dict[str, float]] | None = None,
    expected_lift: float = EXPECTED_LIFT,
    alpha: float = ALPHA,
    srm_alpha: float = SRM_ALPHA,
) -> ABTest | None:
    """All A/B campaigns with a personalized arm and a generic control, added up into one test.

    Single campaigns are often too small to see a realistic lift; summed, they are not.
    Adding arms up is fair only when every campaign gives the personalized side the same
    share of its recipients; otherwise campaigns with different baselines would weigh
    differently on each side and bias the sum (Simpson's paradox). So the pooled test keeps
    the campaigns with the most common intended personalized:generic ratio (1:1 in a plain
    A/B test) and leaves out, and names in `notes`, those with another ratio or a broken
    split. The pooled SRM check compares against each campaign's intended split. A
    subscriber who got several campaigns counts once per campaign, and the interval treats
    those sends as independent. Returns None when no campaign qualifies.
    """
    if tests is None:
        tests = campaign_tests(
            con, as_of, splits=splits, expected_lift=expected_lift, alpha=alpha, srm_alpha=srm_alpha
        )
    candidates, broken = [], []
    for t in tests:
        treated = [a for a in t.arms if a.is_personalized and a.variant != t.control]
        if t.arm(t.control).is_personalized or not treated:
            continue
        if not t.trustworthy:
            broken.append(t.name)
            continue
        share = dict(zip((a.variant for a in t.arms), t.shares))
        ratio = round(sum(share[a.variant] for a in treated) / share[t.control], 6)
        candidates.append((t, treated, ratio))
    if not candidates:
        return None
    ratios = [r for _, _, r in candidates]
    usual = max(dict.fromkeys(ratios), key=ratios.count)
    used = [(t, treated) for t, treated, r in candidates if r == usual]
    other = [t.name for t, _, r in candidates if r != usual]
    notes = [
        f"Adds up {len(used)} A/B campaign{'s' if len(used) > 1 else ''} with a personalized "
        f"and a generic version."
    ]
    if broken:
        notes.append(f"Left out because their split was broken: {', '.join(broken)}.")
    if other:
        notes.append(f"Left out because they split recipients in another ratio: {', '.join(other)}.")
    expected = [0.0, 0.0]
    for t, treated in used:
        total, weight = sum(a.recipients for a in t.arms), sum(t.shares)
        share = dict(zip((a.variant for a in t.arms), t.shares))
        expected[0] += total * share[t.control] / weight
        expected[1] += total * sum(share[a.variant] for a in treated) / weight
    arms = [
        _sum_arms("generic", [t.arm(t.control) for t, _ in used]),
        _sum_arms("personalized", [a for _, treated in used for a in treated]),
    ]
    if not all(a.revenue_sq is not None for a in arms):
        notes.append("Some campaigns have only per-variant totals, so revenue per recipient is not tested.")
    return build_test(
        POOLED_ID,
        "All personalized vs generic campaigns",
        "pooled",
        arms,
        control="generic",
        shares=expected,
        campaigns=tuple(t.campaign_id for t, _ in used),
        notes=tuple(notes),
        expected_lift=expected_lift,
        alpha=alpha,
        srm_alpha=srm_alpha,
    )


# --- power planning -------------------------------------------------------------------------


def plan_sample_size(baseline: float, lift: float, alpha: float = ALPHA, power: float = POWER) -> int:
    """Recipients per arm (equal split) to detect a relative `lift` (0.25 = +25%) on a `baseline` rate."""
    return stats.sample_size_per_arm(baseline, baseline * (1 + lift), alpha, power)


def minimum_detectable_effect(
    n_per_arm: int, baseline: float, alpha: float = ALPHA, power: float = POWER
) -> float:
    """Smallest absolute rise of the `baseline` rate that `n_per_arm` recipients per arm detect.

    Divide by `baseline` for the relative lift. NaN when no rise up to 100% is detectable.
    """
    return stats.minimum_detectable_rate(n_per_arm, n_per_arm, baseline, alpha, power) - baseline


# --- words ----------------------------------------------------------------------------------


def _formatters(metric: str, currency: str):
    if metric == "revenue":
        return (lambda x: fmt.money(x, currency)), (
            lambda x: ("+" if x >= 0 else "") + fmt.money(x, currency)
        )
    return fmt.pct, fmt.pp


def _srm_words(test: ABTest) -> str:
    total = sum(a.recipients for a in test.arms)
    got = " / ".join(f"{a.variant} {fmt.pct(a.recipients / total, 1)}" for a in test.arms)
    want = " / ".join(fmt.pct(s / sum(test.shares), 0) for s in test.shares)
    return (
        f"Not trustworthy: the recipients were not split as intended ({got}, where {want} was "
        f"planned). An imbalance this large happens by chance less than 1 time in "
        f"{fmt.num(1 / test.srm_alpha)} (p = {test.srm.p_value:.1g}), so the sending or tracking "
        f"is broken and none of this test's results can be believed. Fix the split and test again."
    )


def _chance_words(prob: float) -> str:
    """A probability that is never rounded to a certainty: '>99%', '<1%'."""
    return ">99%" if prob > 0.99 else "<1%" if prob < 0.01 else fmt.pct(prob, 0)


def outcome(test: ABTest, c: Comparison) -> str:
    """The verdict in one word: "not trustworthy", "no test", "win", "loss" or "inconclusive"."""
    if not test.trustworthy:
        return "not trustworthy"
    if math.isnan(c.p_holm):
        return "no test"
    if c.p_holm < test.alpha:
        return "win" if c.lift.value > 0 else "loss"
    return "inconclusive"


def comparison_verdict(test: ABTest, c: Comparison, currency: str = "USD") -> str:
    """The plain-words verdict on one comparison (see `verdict` for the rules)."""
    word = outcome(test, c)
    if word == "not trustworthy":
        return _srm_words(test)
    level, diff = _formatters(c.metric, currency)
    facts = (
        f"{METRIC_NAMES[c.metric]} {level(c.value)} for {c.arm} vs {level(c.control_value)} for {c.control}"
    )
    if word == "no test":
        why = (
            "only per-variant totals were imported"
            if c.metric == "revenue" and not test.has_revenue_test
            else "an arm has too few recipients"
        )
        return (
            f"No test possible: {facts}, but {why}, so there is no way to tell this difference from chance."
        )
    family = sum(not math.isnan(x.p_holm) for x in test.comparisons)
    p = fmt.p_value(c.p_holm) + (
        f" after correcting for {family} comparisons tested together" if family > 1 else ""
    )
    low, high = c.bootstrap if c.bootstrap is not None else (c.lift.low, c.lift.high)
    span = fmt.interval(low, high, diff)
    size = diff(c.lift.value) + (
        f", {fmt.pct(c.relative.value, 0, signed=True)} relative" if not math.isnan(c.relative.value) else ""
    )
    chance = (
        f" Chance that {c.arm} truly beats {c.control}: {_chance_words(c.prob_beat_control)} "
        f"(Bayesian, uniform prior)."
        if not math.isnan(c.prob_beat_control)
        else ""
    )
    worth = f"a lift of {fmt.pct(c.expected_lift, 0)}"
    if word in ("win", "loss"):
        text = (
            f"{word.capitalize()}: {facts} ({size}), clearly more than chance "
            f"({p}). The true difference is plausibly {span}.{chance}"
        )
        if c.power < POWER:
            text += (
                f" The test was small (its chance to detect {worth} was {fmt.pct(c.power, 0)}), so "
                f"the true effect may well be smaller than measured."
            )
        return text
    text = f"Inconclusive: {facts} ({size}), a difference chance alone could produce ({p}). "
    if low > 0 or high < 0:
        text += (
            f"The interval {span} leaves out zero only when this comparison is looked at "
            f"alone; with {family} tested at once that is not enough. "
        )
    else:
        text += f"The true difference could be anywhere {span}. "
    text += f"This is not a win.{chance}"
    if c.power < POWER:
        reach = (
            f"it reliably (80%) detects only differences of {diff(c.mde)} or more"
            if c.mde == c.mde
            else "it is too small to reliably detect any difference"
        )
        text += f" The test was underpowered: its chance to detect {worth} was only {fmt.pct(c.power, 0)}; {reach}."
    return text


def verdict(test: ABTest, metric: str = "conversion", currency: str = "USD") -> str:
    """Plain-words verdict for `metric` (all non-control arms), or the SRM warning if the split is broken.

    Rules: a broken split (SRM) overrides everything; "Win"/"Loss" only when the Holm-adjusted
    p-value is below alpha; otherwise "Inconclusive ... not a win", and "underpowered" when the
    test had less than 80% power for a lift of `expected_lift`. Post-hoc power at the observed
    effect is deliberately not used: it only restates the p-value (Hoenig & Heisey 2001).
    """
    if metric not in METRIC_NAMES:
        raise ValueError(f"unknown metric {metric!r}: use one of {', '.join(METRIC_NAMES)}")
    if not test.trustworthy:
        return _srm_words(test)
    return " ".join(comparison_verdict(test, c, currency) for c in test.comparisons if c.metric == metric)


TABLE_COLUMNS = [
    "campaign",
    "campaign_id",
    "source",
    "metric",
    "arm",
    "control",
    "recipients",
    "control_recipients",
    "value",
    "control_value",
    "lift",
    "lift_low",
    "lift_high",
    "bootstrap_low",
    "bootstrap_high",
    "relative_lift",
    "relative_low",
    "relative_high",
    "p_value",
    "p_holm",
    "prob_beat_control",
    "mde",
    "power",
    "srm_p",
    "trustworthy",
    "outcome",
    "verdict",
]


def tests_table(
    tests: Iterable[ABTest | None], currency: str = "USD", metric: str | None = None
) -> pd.DataFrame:
    """One row per comparison (campaign x arm x metric, or of one `metric`) with rates, lifts,
    intervals, p, verdict."""
    rows = []
    for t in tests:
        if t is None:
            continue
        for c in t.comparisons:
            if metric is not None and c.metric != metric:
                continue
            arm, ctrl = t.arm(c.arm), t.arm(c.control)
            rows.append(
                {
                    "campaign": t.name,
                    "campaign_id": t.campaign_id,
                    "source": t.source,
                    "metric": c.metric,
                    "arm": c.arm,
                    "control": c.control,
                    "recipients": arm.recipients,
                    "control_recipients": ctrl.recipients,
                    "value": c.value,
                    "control_value": c.control_value,
                    "lift": c.lift.value,
                    "lift_low": c.lift.low,
                    "lift_high": c.lift.high,
                    "bootstrap_low": c.bootstrap[0] if c.bootstrap else math.nan,
                    "bootstrap_high": c.bootstrap[1] if c.bootstrap else math.nan,
                    "relative_lift": c.relative.value,
                    "relative_low": c.relative.low,
                    "relative_high": c.relative.high,
                    "p_value": c.p_value,
                    "p_holm": c.p_holm,
                    "prob_beat_control": c.prob_beat_control,
                    "mde": c.mde,
                    "power": c.power,
                    "srm_p": t.srm.p_value,
                    "trustworthy": t.trustworthy,
                    "outcome": outcome(t, c),
                    "verdict": comparison_verdict(t, c, currency),
                }
            )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def report_table(
    tests: Iterable[ABTest | None], metric: str | None = None, currency: str = "USD"
) -> pd.DataFrame:
    """`tests_table` in words for a report: formatted values, interval, chance, result (one metric or all)."""
    table = tests_table(tests, currency, metric)
    rows = []
    for r in table.itertuples(index=False):
        level, diff = _formatters(r.metric, currency)
        low, high = (
            (r.bootstrap_low, r.bootstrap_high)
            if not math.isnan(r.bootstrap_low)
            else (r.lift_low, r.lift_high)
        )
        rows.append(
            {
                "Campaign": r.campaign,
                "Measure": METRIC_NAMES[r.metric],
                "Version": r.arm,
                "Version result": level(r.value),
                "Control": r.control,
                "Control result": level(r.control_value),
                "Difference": diff(r.lift),
                "95% interval": "n/a" if math.isnan(low) else f"{diff(low)} to {diff(high)}",
                "Chance to beat control": "n/a"
                if math.isnan(r.prob_beat_control)
                else _chance_words(r.prob_beat_control),
                "p (Holm)": "n/a"
                if math.isnan(r.p_holm)
                else fmt.p_value(r.p_holm).removeprefix("p = ").replace("p < ", "<"),
                "Result": r.outcome,
            }
        )
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


REPORT_COLUMNS = [
    "Campaign",
    "Measure",
    "Version",
    "Version result",
    "Control",
    "Control result",
    "Difference",
    "95% interval",
    "Chance to beat control",
    "p (Holm)",
    "Result",
]


# --- charts ---------------------------------------------------------------------------------


def arms_frame(test: ABTest) -> pd.DataFrame:
    """Per arm and rate metric: the rate and its Wilson 95% interval (what `arms_chart` draws)."""
    rows = []
    for metric in RATE_METRICS:
        for a in test.arms:
            low, high = a.interval(metric)
            rows.append(
                {
                    "metric": METRIC_NAMES[metric],
                    "arm": a.variant,
                    "rate": a.rate(metric),
                    "low": low,
                    "high": high,
                    "recipients": a.recipients,
                    "role": "control" if a.variant == test.control else "variant",
                }
            )
    return pd.DataFrame(rows)


def arms_chart(test: ABTest) -> alt.FacetChart:
    """Open, click and conversion rate per arm with Wilson 95% error bars, one panel per metric."""
    data = arms_frame(test)
    base = alt.Chart().encode(y=alt.Y("arm:N", title=None))
    color = alt.Color(
        "role:N",
        scale=alt.Scale(domain=["control", "variant"], range=[charts.NEUTRAL, charts.PALETTE[0]]),
        title=None,
    )
    bars = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("low:Q", title="rate, with its 95% interval", axis=alt.Axis(format=".1%", tickCount=5)),
        x2="high:Q",
        color=color,
    )
    points = base.mark_point(filled=True, size=90, opacity=1).encode(
        x="rate:Q",
        color=color,
        tooltip=[
            alt.Tooltip("arm:N"),
            alt.Tooltip("metric:N"),
            alt.Tooltip("rate:Q", format=".2%"),
            alt.Tooltip("low:Q", format=".2%", title="95% interval from"),
            alt.Tooltip("high:Q", format=".2%", title="95% interval to"),
            alt.Tooltip("recipients:Q", format=","),
        ],
    )
    return (
        alt.layer(bars, points, data=data)
        .properties(width=420, height=alt.Step(28))
        .facet(
            row=alt.Row(
                "metric:N",
                title=None,
                sort=list(METRIC_NAMES.values()),
                header=alt.Header(labelAngle=0, labelAlign="left", labelFontWeight="bold"),
            ),
            title=f"{test.name}: rates per version"
            + ("" if test.trustworthy else " (split broken: not trustworthy)"),
        )
        .resolve_scale(x="independent")
    )


def lift_frame(tests: Iterable[ABTest | None], metric: str = "conversion") -> pd.DataFrame:
    """Per trustworthy test and arm: absolute lift on `metric` with its 95% interval."""
    rows = []
    for t in tests:
        if t is None or not t.trustworthy:
            continue
        several = sum(c.metric == metric for c in t.comparisons) > 1
        for c in t.comparisons:
            if c.metric != metric or math.isnan(c.lift.low):
                continue
            rows.append(
                {
                    "test": f"{t.name}: {c.arm}" if several else t.name,
                    "arm": c.arm,
                    "lift": c.lift.value,
                    "low": c.lift.low,
                    "high": c.lift.high,
                    "outcome": FOREST_OUTCOMES[outcome(t, c)],
                    "pooled": t.source == "pooled",
                }
            )
    return pd.DataFrame(rows, columns=["test", "arm", "lift", "low", "high", "outcome", "pooled"])


def lift_chart(tests: Iterable[ABTest | None], metric: str = "conversion") -> alt.LayerChart:
    """Forest plot: each trustworthy test's lift on `metric` with its 95% interval, and zero."""
    data = lift_frame(tests, metric)
    unit = ".1%" if metric in RATE_METRICS else ",.2f"
    base = alt.Chart(data).encode(y=alt.Y("test:N", sort=None, title=None, axis=alt.Axis(labelLimit=260)))
    rules = base.mark_rule(strokeWidth=2, color=charts.NEUTRAL).encode(
        x=alt.X(
            "low:Q",
            title=f"difference in {METRIC_NAMES[metric]} vs control, with its 95% interval",
            axis=alt.Axis(format=unit),
        ),
        x2="high:Q",
    )
    points = base.mark_point(filled=True, size=90, opacity=1).encode(
        x="lift:Q",
        color=alt.Color(
            "outcome:N",
            title=None,
            scale=alt.Scale(
                domain=["clear gain", "inconclusive", "clear loss"],
                range=[charts.GOOD, charts.NEUTRAL, charts.BAD],
            ),
        ),
        shape=alt.Shape("pooled:N", legend=None),
        tooltip=[
            "test:N",
            alt.Tooltip("lift:Q", format=unit),
            alt.Tooltip("low:Q", format=unit),
            alt.Tooltip("high:Q", format=unit),
            "outcome:N",
        ],
    )
    zero = (
        alt.Chart(pd.DataFrame({"x": [0.0]}))
        .mark_rule(color=charts.TARGET, strokeDash=[4, 3])
        .encode(x="x:Q")
    )
    return alt.layer(rules, points, zero).properties(width=480, height=alt.Step(24))
