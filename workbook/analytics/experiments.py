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
comparisons, the power for a lift worth having, and an outcome ("win", "loss",
"inconclusive", "no test", "not trustworthy"). A sample-ratio-mismatch check comes first:
when the split is broken, nothing else is believed. Verdicts in words and charts are in
`workbook.story.impact` and `impact_charts`.

    from workbook.analytics import experiments as ex
    tests = ex.campaign_tests(ctx.con, ctx.as_of)            # [] without A/B campaigns
    pooled = ex.pooled_personalization_test(ctx.con, tests=tests)  # None without such arms
    ex.outcome(pooled, pooled.comparison("conversion"))     # "win", ...
    ex.tests_table(tests, "conversion")                      # one row per comparison, numbers
    ex.plan_sample_size(0.02, 0.25)  # recipients per arm to detect +25% on a 2% rate
    ex.minimum_detectable_effect(1500, 0.02)  # smallest rise of a 2% rate that 1,500 per arm detect
    ex.plan_test(ex.reach(ctx.con, ctx.as_of).size, 0.02)  # what the client's own list can detect

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

import duckdb
import pandas as pd

from workbook.analytics import measures, stats
from workbook.core import dates
from workbook.core.errors import WorkbookError

ALPHA = 0.05
SRM_ALPHA = 0.001  # a split this unlikely by chance means the assignment or tracking is broken
EXPECTED_LIFT = 0.20  # relative lift "worth having" that a test should be able to detect
POWER = 0.80
PRIOR = (1, 1)  # Beta(1, 1): every rate equally likely before the data

RATE_METRICS = {"open": "opens", "click": "clicks", "conversion": "conversions"}
POOLED_ID = "all-personalized-vs-generic"


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

    def proportion(self, metric: str) -> stats.Proportion:
        """A rate metric as recipients who opened, clicked or converted, of all recipients."""
        return stats.Proportion(self.recipients, self.count(metric))

    def rate(self, metric: str) -> float:
        if self.recipients <= 0:
            return math.nan
        if metric == "revenue":
            return self.revenue / self.recipients
        return self.proportion(metric).mean

    def interval(self, metric: str) -> tuple[float, float]:
        """Wilson 95% interval of a rate metric."""
        return self.proportion(metric).interval()

    def revenue_stats(self) -> stats.SampleMean | None:
        """Revenue per recipient; None without per-recipient rows (no sum of squares)."""
        if self.revenue_sq is None:
            return None
        return stats.SampleMean(self.recipients, self.revenue, self.revenue_sq)


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

    `trustworthy` is False when the split is broken. A pooled test names the campaigns it adds
    up (`campaigns`) and those it left out because their split was broken (`broken_splits`) or
    because they split recipients in another ratio (`other_ratios`).
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
    broken_splits: tuple[str, ...] = ()  # names of campaigns a pooled test left out
    other_ratios: tuple[str, ...] = ()  # (likewise)
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


def _cutoff(as_of: dt.date) -> dt.datetime:
    return dates.midnight(as_of + dt.timedelta(days=1))


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


def arm_counts(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> pd.DataFrame:
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
    a, c = arm.proportion(metric), control.proportion(metric)
    n1, n0 = a.n, c.n
    p0 = control.rate(metric)
    target = min(1.0, p0 * (1 + expected_lift))
    return Comparison(
        metric=metric,
        arm=arm.variant,
        control=control.variant,
        value=arm.rate(metric),
        control_value=p0,
        lift=stats.newcombe_difference(a, c),
        relative=stats.katz_relative_lift(a, c),
        p_value=stats.two_proportion_ztest(a, c).p_value,
        p_holm=math.nan,
        prob_beat_control=stats.prob_beat_control(a, c, PRIOR),
        mde=stats.minimum_detectable_rate(n1, n0, p0) - p0,
        power=stats.power(n1, n0, p0, target) if 0 < p0 < target else math.nan,
        expected_lift=expected_lift,
    )


def _revenue_comparison(arm: Arm, control: Arm, expected_lift: float, seed: int) -> Comparison:
    a, c = arm.revenue_stats(), control.revenue_stats()
    comparison = partial(
        Comparison,
        metric="revenue",
        arm=arm.variant,
        control=control.variant,
        value=arm.rate("revenue"),
        control_value=control.rate("revenue"),
        p_holm=math.nan,
        prob_beat_control=math.nan,
        expected_lift=expected_lift,
    )
    # per-recipient rows give an arm both its sum of squares and its non-zero values
    if a is None or c is None or arm.nonzero_revenue is None or control.nonzero_revenue is None:
        # per-variant totals only: no variance, no test
        none = stats.Estimate(arm.rate("revenue") - control.rate("revenue"), math.nan, math.nan)
        return comparison(
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
    return comparison(
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
    broken_splits: tuple[str, ...] = (),
    other_ratios: tuple[str, ...] = (),
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
        broken_splits=broken_splits,
        other_ratios=other_ratios,
        alpha=alpha,
        srm_alpha=srm_alpha,
    )


def campaign_tests(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
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
        tests.append(
            build_test(
                str(campaign_id),
                str(first["name"]),
                str(first.source),
                arms,
                shares=_intended(str(campaign_id), arms, splits),
                started_at=None if pd.isna(first.started_at) else first.started_at.to_pydatetime(),
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
        raise WorkbookError(
            f"client.toml: [ab_splits.{campaign_id}] has no share for variant {missing[0]!r}; "
            f"give every variant of the campaign its planned share ({', '.join(a.variant for a in arms)})."
        )
    return [float(split[a.variant]) for a in arms]


def _sum_arms(variant: str, arms: list[Arm]) -> Arm:
    squares = [a.revenue_sq for a in arms if a.revenue_sq is not None]
    nonzero = [v for a in arms if a.nonzero_revenue is not None for v in a.nonzero_revenue]
    per_recipient = all(a.revenue_sq is not None and a.nonzero_revenue is not None for a in arms)
    return Arm(
        variant=variant,
        recipients=sum(a.recipients for a in arms),
        opens=sum(a.opens for a in arms),
        clicks=sum(a.clicks for a in arms),
        conversions=sum(a.conversions for a in arms),
        revenue=sum(a.revenue for a in arms),
        revenue_sq=sum(squares) if per_recipient else None,
        nonzero_revenue=tuple(nonzero) if per_recipient else None,
    )


def pooled_personalization_test(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
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
    A/B test) and leaves out, and names, those with another ratio or a broken
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
    return build_test(
        POOLED_ID,
        "All personalized vs generic campaigns",
        "pooled",
        arms,
        control="generic",
        shares=expected,
        campaigns=tuple(t.campaign_id for t, _ in used),
        broken_splits=tuple(broken),
        other_ratios=tuple(other),
        expected_lift=expected_lift,
        alpha=alpha,
        srm_alpha=srm_alpha,
    )


# --- power planning -------------------------------------------------------------------------

TYPICAL_CONVERSION = 0.02  # a typical email conversion rate, for planning before any test
MAX_POOLED_SENDS = 12  # a year of monthly campaigns: more sends than this is no plan to follow
REACH_DAYS = 365  # the campaigns whose list sizes count as the client's reachable list


@dataclass(frozen=True)
class Reach:
    """How many people an email test can go to, and where that count comes from.

    `source` is "campaign" (the most recipients one campaign of the last year reached, named
    `campaign`), else "consent" (customers with marketing consent on file), else "none" (no
    list). `customers` counts the identified buying customers, the list the client could grow.
    """

    size: int
    source: str
    customers: int
    campaign: str | None = None


REACH_SQL = """
WITH per_campaign AS (
    SELECT campaign_id, count(*) AS recipients FROM campaign_sends
    WHERE sent_at IS NULL OR (sent_at >= $start AND sent_at < $end) GROUP BY 1
    UNION ALL
    SELECT r.campaign_id, sum(coalesce(r.recipients, r.delivered, 0)) FROM campaign_results r
    WHERE r.campaign_id NOT IN (SELECT campaign_id FROM campaign_sends)
      AND r.campaign_id NOT IN (SELECT campaign_id FROM campaigns
                                WHERE started_at < $start OR started_at >= $end)
    GROUP BY 1
),
largest AS (
    SELECT p.recipients, coalesce(any_value(c.name), p.campaign_id) AS name
    FROM per_campaign p LEFT JOIN campaigns c USING (campaign_id)
    GROUP BY p.campaign_id, p.recipients ORDER BY p.recipients DESC, p.campaign_id LIMIT 1
)
SELECT (SELECT recipients FROM largest) AS campaign_list, (SELECT name FROM largest) AS campaign,
       (SELECT count(DISTINCT customer_id) FILTER (WHERE marketing_consent) FROM customers) AS consenting,
       (SELECT count(DISTINCT customer_id) FROM orders
        WHERE customer_id IS NOT NULL AND ordered_at < $end) AS customers
"""


def reach(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> Reach:
    """The client's reachable list by `as_of`: what its campaigns of the last year were sent to
    (what the client really sends to), else its consenting customers, else none."""
    start = dates.midnight(as_of - dt.timedelta(days=REACH_DAYS - 1))
    row = con.execute(REACH_SQL, {"start": start, "end": _cutoff(as_of)}).fetchone()
    assert row is not None  # an aggregate query returns one row
    campaign_list, campaign, consenting, customers = row
    if campaign_list:
        return Reach(int(campaign_list), "campaign", int(customers), str(campaign))
    if consenting:
        return Reach(int(consenting), "consent", int(customers))
    return Reach(0, "none", int(customers))


@dataclass(frozen=True)
class ABPlan:
    """A 50/50 test of a conversion rate `baseline` on a list of `list_size` people.

    `detectable` is the smallest rate the test detects with 80% power (NaN: none up to 100%);
    `needed_per_arm` is what a relative rise of `lift` needs per version, and `sends` how many
    sends of the same test to the same list add up to it (1: one send is enough).
    """

    list_size: int
    baseline: float
    lift: float
    per_arm: int
    detectable: float
    needed_per_arm: int
    sends: int

    @property
    def one_send_enough(self) -> bool:
        return self.sends <= 1

    @property
    def poolable(self) -> bool:
        """Whether pooling at most `MAX_POOLED_SENDS` sends reaches the lift worth having."""
        return self.per_arm > 0 and self.sends <= MAX_POOLED_SENDS


def plan_test(list_size: int, baseline: float = TYPICAL_CONVERSION, lift: float = EXPECTED_LIFT) -> ABPlan:
    """What a 50/50 test on the client's own list can detect, and how many sends reach `lift`.

    Never more recipients than the list: each version gets half of it.
    """
    if not 0 < baseline < 1:
        raise ValueError(f"a baseline conversion rate must be between 0 and 1, not {baseline}")
    per_arm = max(0, list_size // 2)
    needed = plan_sample_size(baseline, lift)
    return ABPlan(
        list_size=list_size,
        baseline=baseline,
        lift=lift,
        per_arm=per_arm,
        detectable=stats.minimum_detectable_rate(per_arm, per_arm, baseline) if per_arm else math.nan,
        needed_per_arm=needed,
        sends=math.ceil(needed / per_arm) if per_arm else 0,
    )


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


# --- outcomes -------------------------------------------------------------------------------


def outcome(test: ABTest, c: Comparison) -> str:
    """The verdict in one word: "not trustworthy", "no test", "win", "loss" or "inconclusive"."""
    if not test.trustworthy:
        return "not trustworthy"
    if math.isnan(c.p_holm):
        return "no test"
    if c.p_holm < test.alpha:
        return "win" if c.lift.value > 0 else "loss"
    return "inconclusive"


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
]


def tests_table(tests: Iterable[ABTest | None], metric: str | None = None) -> pd.DataFrame:
    """One row per comparison (campaign x arm x metric, or of one `metric`) with rates, lifts,
    intervals, p and outcome."""
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
                }
            )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)
