"""Pure statistics for A/B tests: proportions, revenue per recipient, split checks, power.

Samples arrive as typed statistics built from SQL sums, the way GrowthBook's gbstats models
them (`gbstats/models/statistics.py`): a `Proportion` from n and the count of successes, a
`SampleMean` from n, the sum and the sum of squares; `a + b` pools two samples. Comparisons
take two of them: arm 1 is the variant being judged, arm 0 the control, and a difference or
lift is always "arm minus control". Results are floats or small named tuples; an undefined
value (empty arm, zero events where a log is needed) is NaN, not an exception, so a report
can say "not enough data" instead of failing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import special
from scipy import stats as sps

NAN = float("nan")


def z_value(confidence: float) -> float:
    """The two-sided normal quantile: 1.96 for 95%."""
    return float(sps.norm.ppf(1 - (1 - confidence) / 2))


def wilson_interval(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson (1927) score interval for a proportion.

    Unlike the textbook Wald interval it stays inside [0, 1] and keeps its coverage for the
    small rates of email marketing (a 2% conversion rate on a few hundred recipients).
    """
    if n <= 0:
        return NAN, NAN
    z = z_value(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Proportion:
    """`sum` successes out of `n` trials (gbstats' ProportionStatistic), e.g. conversions of recipients."""

    n: int
    sum: int

    @property
    def mean(self) -> float:
        """The share of successes; NaN without trials."""
        return self.sum / self.n if self.n > 0 else NAN

    @property
    def variance(self) -> float:
        """The Bernoulli variance of one trial, p (1 - p)."""
        return self.mean * (1 - self.mean)

    @property
    def stddev(self) -> float:
        return math.sqrt(self.variance)

    def __add__(self, other: Proportion) -> Proportion:
        return Proportion(self.n + other.n, self.sum + other.sum)

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """The Wilson interval of the share (`wilson_interval`)."""
        return wilson_interval(self.sum, self.n, confidence)


@dataclass(frozen=True)
class SampleMean:
    """n values given by their sum and sum of squares (gbstats' SampleMeanStatistic), so SQL can aggregate."""

    n: int
    sum: float
    sum_squares: float

    @classmethod
    def net_score(cls, n: int, plus: int, minus: int) -> SampleMean:
        """n answers coded +1 (`plus` of them), -1 (`minus`) and 0 (the rest): NPS on the -1..1 scale."""
        return cls(n, plus - minus, plus + minus)

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n > 0 else NAN

    @property
    def variance(self) -> float:
        """The sample variance (n - 1 denominator); NaN for fewer than two values."""
        if self.n < 2:
            return NAN
        return max(0.0, (self.sum_squares - self.n * self.mean * self.mean) / (self.n - 1))

    @property
    def stddev(self) -> float:
        return math.sqrt(self.variance)

    def __add__(self, other: SampleMean) -> SampleMean:
        return SampleMean(self.n + other.n, self.sum + other.sum, self.sum_squares + other.sum_squares)

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Student's t interval of the mean: mean +- t(n - 1) sqrt(variance / n)."""
        if self.n < 2 or math.isnan(self.variance):
            return NAN, NAN
        half = float(sps.t.ppf(1 - (1 - confidence) / 2, self.n - 1)) * math.sqrt(self.variance / self.n)
        return self.mean - half, self.mean + half


def poisson_interval(k: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood 1936) interval for a Poisson count k, via chi-square quantiles."""
    a = 1 - confidence
    low = 0.0 if k == 0 else float(sps.chi2.ppf(a / 2, 2 * k)) / 2
    return low, float(sps.chi2.ppf(1 - a / 2, 2 * k + 2)) / 2


class ZTest(NamedTuple):
    z: float
    p_value: float


def two_proportion_ztest(arm: Proportion, control: Proportion) -> ZTest:
    """Two-sided two-proportion z-test with the pooled variance under H0: p1 = p0.

    z = (p1 - p0) / sqrt(p(1-p)(1/n1 + 1/n0)), p = (x1 + x0) / (n1 + n0); the same test as
    statsmodels' `proportions_ztest` (and as Pearson's chi-square on the 2x2 table). When
    neither arm has any event (or every recipient has one) there is no evidence: z=0, p=1.
    """
    (x1, n1), (x0, n0) = (arm.sum, arm.n), (control.sum, control.n)
    if n1 <= 0 or n0 <= 0:
        return ZTest(NAN, NAN)
    p1, p0 = x1 / n1, x0 / n0
    pooled = (x1 + x0) / (n1 + n0)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    if se == 0:
        return ZTest(0.0, 1.0)
    z = (p1 - p0) / se
    return ZTest(z, float(2 * sps.norm.sf(abs(z))))


class Estimate(NamedTuple):
    """A point estimate with its confidence interval."""

    value: float
    low: float
    high: float


def newcombe_difference(arm: Proportion, control: Proportion, confidence: float = 0.95) -> Estimate:
    """Absolute lift p1 - p0 with Newcombe's (1998) hybrid score interval (his method 10).

    Combines the two arms' Wilson intervals; well-behaved for small rates and counts, where
    the Wald interval undercovers. Same as statsmodels' `confint_proportions_2indep(...,
    method="newcomb", compare="diff")`.
    """
    if arm.n <= 0 or control.n <= 0:
        return Estimate(NAN, NAN, NAN)
    p1, p0 = arm.mean, control.mean
    l1, u1 = arm.interval(confidence)
    l0, u0 = control.interval(confidence)
    d = p1 - p0
    return Estimate(d, d - math.hypot(p1 - l1, u0 - p0), d + math.hypot(u1 - p1, p0 - l0))


def katz_relative_lift(arm: Proportion, control: Proportion, confidence: float = 0.95) -> Estimate:
    """Relative lift p1/p0 - 1 with the Katz et al. (1978) log risk-ratio interval.

    Delta method on log(p1/p0): se = sqrt(1/x1 - 1/n1 + 1/x0 - 1/n0), interval
    exp(log RR +- z se) - 1. Undefined (NaN) when either arm has no events.
    """
    (x1, n1), (x0, n0) = (arm.sum, arm.n), (control.sum, control.n)
    if min(x1, x0, n1, n0) <= 0:
        return Estimate(NAN, NAN, NAN)
    log_rr = math.log((x1 / n1) / (x0 / n0))
    se = math.sqrt(1 / x1 - 1 / n1 + 1 / x0 - 1 / n0)
    z = z_value(confidence)
    return Estimate(math.exp(log_rr) - 1, math.exp(log_rr - z * se) - 1, math.exp(log_rr + z * se) - 1)


class WelchTest(NamedTuple):
    difference: float
    low: float
    high: float
    t: float
    df: float
    p_value: float


def welch_test(arm: SampleMean, control: SampleMean, confidence: float = 0.95) -> WelchTest:
    """Welch's (1947) unequal-variance t-test and interval for a difference in means.

    t = (m1 - m0) / sqrt(v1/n1 + v0/n0) with Welch-Satterthwaite degrees of freedom; the same
    test as scipy's `ttest_ind(equal_var=False)`, computed from summary statistics.
    """
    if arm.n < 2 or control.n < 2:
        return WelchTest(NAN, NAN, NAN, NAN, NAN, NAN)
    a, b = arm.variance / arm.n, control.variance / control.n
    diff = arm.mean - control.mean
    se = math.sqrt(a + b)
    if se == 0:
        return WelchTest(diff, diff, diff, NAN, NAN, 1.0 if diff == 0 else 0.0)
    df = (a + b) ** 2 / (a * a / (arm.n - 1) + b * b / (control.n - 1))
    t = diff / se
    q = float(sps.t.ppf(1 - (1 - confidence) / 2, df))
    return WelchTest(diff, diff - q * se, diff + q * se, t, df, float(2 * sps.t.sf(abs(t), df)))


def _bootstrap_means(rng: np.random.Generator, nonzero: np.ndarray, n: int, n_boot: int) -> np.ndarray:
    k = len(nonzero)
    if k == 0:
        return np.zeros(n_boot)
    hits = rng.binomial(n, k / n, size=n_boot)  # how many non-zero values each resample draws
    sums = np.empty(n_boot)
    values, counts = np.unique(nonzero, return_counts=True)
    if 8 * len(values) <= k:  # where counting per amount is the cheaper of the two (measured)
        # Repeated amounts (prices): the draws as multinomial counts per distinct amount, the
        # same distribution for O(n_boot x amounts) work instead of O(n_boot x non-zero values),
        # which grows with the data. About 2M counts at a time.
        chunk = max(1, 2_000_000 // len(values))
        for start in range(0, n_boot, chunk):
            sums[start : start + chunk] = rng.multinomial(hits[start : start + chunk], counts / k) @ values
        return sums / n
    chunk = max(1, 2_000_000 // max(1, k))  # bound memory: about 2M draws at a time
    for start in range(0, n_boot, chunk):
        h = hits[start : start + chunk]
        picks = nonzero[rng.integers(0, k, size=int(h.sum()))]
        owner = np.repeat(np.arange(len(h)), h)
        sums[start : start + chunk] = np.bincount(owner, weights=picks, minlength=len(h))
    return sums / n


def _central_moment_sum(nonzero: np.ndarray, n: int, power_: int) -> float:
    """sum over all n values of (x - mean)^power_, the n - k zeros included without listing them."""
    mean = nonzero.sum() / n
    return float((n - len(nonzero)) * (-mean) ** power_ + ((nonzero - mean) ** power_).sum())


def bca_acceleration(nonzero1: Sequence[float], n1: int, nonzero0: Sequence[float], n0: int) -> float:
    """Jackknife acceleration of mean1 - mean0 for the BCa interval (Efron & Tibshirani 1993, eq. 15.36).

    For a difference of means the jackknife influence values are x - mean1 in arm 1 and
    -(y - mean0) in arm 0, so a = (S3_1/n1^3 - S3_0/n0^3) / (6 (S2_1/n1^2 + S2_0/n0^2)^1.5)
    with S_k the sums of k-th powers of deviations: no need to list the zeros.
    """
    a1, a0 = np.asarray(nonzero1, dtype=float), np.asarray(nonzero0, dtype=float)
    num = _central_moment_sum(a1, n1, 3) / n1**3 - _central_moment_sum(a0, n0, 3) / n0**3
    den = _central_moment_sum(a1, n1, 2) / n1**2 + _central_moment_sum(a0, n0, 2) / n0**2
    return num / (6 * den**1.5) if den > 0 else 0.0


def bootstrap_mean_difference(
    nonzero1: Sequence[float],
    n1: int,
    nonzero0: Sequence[float],
    n0: int,
    confidence: float = 0.95,
    n_boot: int = 10_000,
    seed: int = 20261031,
    method: str = "bca",
) -> tuple[float, float]:
    """Bootstrap interval for mean1 - mean0: BCa (default) or percentile (Efron & Tibshirani 1993).

    Revenue per recipient is mostly zeros plus a few skewed order values, so each arm is
    given as its non-zero values and its size n. Resampling n recipients with replacement is
    then done exactly, without the zeros: the number of non-zero draws is Binomial(n, k/n)
    and those draws are uniform over the k non-zero values. BCa (ch. 14) corrects the
    percentile interval (ch. 13) for the bias and skew that few large orders cause; it follows
    scipy's `bootstrap(method="BCa")`. Seeded, so reports repeat.
    """
    if n1 <= 0 or n0 <= 0:
        return NAN, NAN
    a1, a0 = np.asarray(nonzero1, dtype=float), np.asarray(nonzero0, dtype=float)
    rng = np.random.default_rng(seed)
    diffs = _bootstrap_means(rng, a1, n1, n_boot) - _bootstrap_means(rng, a0, n0, n_boot)
    tail = (1 - confidence) / 2
    levels = np.array([tail, 1 - tail])
    if method == "bca":
        observed = a1.sum() / n1 - a0.sum() / n0
        below = ((diffs < observed).sum() + (diffs <= observed).sum()) / (2 * n_boot)
        z0 = float(sps.norm.ppf(below))
        if math.isfinite(z0):
            accel = bca_acceleration(nonzero1, n1, nonzero0, n0)
            z = sps.norm.ppf(levels)
            levels = sps.norm.cdf(z0 + (z0 + z) / (1 - accel * (z0 + z)))
    elif method != "percentile":
        raise ValueError("method must be 'bca' or 'percentile'")
    low, high = np.quantile(diffs, levels)
    return float(low), float(high)


class ChiSquare(NamedTuple):
    chi2: float
    p_value: float


def sample_ratio_mismatch(counts: Sequence[int], shares: Sequence[float] | None = None) -> ChiSquare:
    """Pearson's chi-square goodness-of-fit of arm sizes against the intended split.

    `shares` are the intended proportions (any positive weights; default an equal split).
    A tiny p-value means the randomisation or the tracking is broken (Fabijan et al. 2019,
    "Diagnosing Sample Ratio Mismatch in Online Controlled Experiments"), so the test's
    results cannot be trusted whatever they say. Same as scipy's `chisquare`.
    """
    observed = np.asarray(counts, dtype=float)
    weights = np.ones_like(observed) if shares is None else np.asarray(shares, dtype=float)
    total = observed.sum()
    if len(observed) < 2 or total <= 0:
        return ChiSquare(NAN, NAN)
    expected = total * weights / weights.sum()
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    return ChiSquare(chi2, float(sps.chi2.sf(chi2, len(observed) - 1)))


def prob_beat_control(arm: Proportion, control: Proportion, prior: tuple[float, float] = (1, 1)) -> float:
    """P(p1 > p0) with independent Beta-Binomial posteriors, exactly (Evan Miller 2014 closed form).

    Posterior Beta(a + x, b + n - x) per arm from the prior Beta(a, b) (default Beta(1, 1),
    uniform: every rate equally likely before the data). With A the control and B the arm,
    P(pB > pA) = sum_{i=0}^{aB-1} B(aA+i, bA+bB) / ((bB+i) B(1+i, bB) B(aA, bA)), summed in
    log space; needs whole-number prior parameters. Sums over the smaller of the two alphas
    (by symmetry P(B > A) = 1 - P(A > B)), so large open counts stay cheap.
    """
    if arm.n <= 0 or control.n <= 0:
        return NAN
    a, b = prior
    if a != int(a) or b != int(b) or a <= 0 or b <= 0:
        raise ValueError("prob_beat_control needs a Beta prior with positive whole-number parameters")
    posterior_arm = (a + arm.sum, b + arm.n - arm.sum)
    posterior_control = (a + control.sum, b + control.n - control.sum)
    if posterior_arm[0] <= posterior_control[0]:
        return _miller(posterior_control, posterior_arm)
    return 1.0 - _miller(posterior_arm, posterior_control)


def _miller(a: tuple[float, float], b: tuple[float, float]) -> float:
    """P(X_b > X_a) for X_a ~ Beta(*a), X_b ~ Beta(*b); b's alpha must be a whole number."""
    (alpha_a, beta_a), (alpha_b, beta_b) = a, b
    i = np.arange(int(alpha_b), dtype=float)
    log_terms = (
        special.betaln(alpha_a + i, beta_a + beta_b)
        - np.log(beta_b + i)
        - special.betaln(1 + i, beta_b)
        - special.betaln(alpha_a, beta_a)
    )
    return float(min(1.0, max(0.0, math.exp(special.logsumexp(log_terms)))))


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values (family-wise error control).

    Sort the m p-values ascending; the j-th smallest (j from 0) becomes
    max over i <= j of min(1, (m - i) p_(i)). Reject where the adjusted p < alpha. NaN
    p-values (tests that could not run) are left out of the family and stay NaN.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = len(valid)
    if m == 0:
        return out
    order = valid[np.argsort(p[valid], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


def cohens_h(p1: float, p0: float) -> float:
    """Cohen's (1988) effect size for proportions: h = 2 asin(sqrt p1) - 2 asin(sqrt p0)."""
    return 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p0))


def power(n1: int, n0: int, p0: float, p1: float, alpha: float = 0.05) -> float:
    """Power of the two-sided test of p1 vs p0 with n1 and n0 recipients (arcsine approximation).

    The arcsine transform makes the variance 1/n per arm, so with h = cohens_h(p1, p0) and
    s = sqrt(1/n1 + 1/n0): power = Phi(|h|/s - z) + Phi(-|h|/s - z), z the 1-alpha/2
    quantile. Same as statsmodels' `NormalIndPower` with `proportion_effectsize`.
    """
    if n1 <= 0 or n0 <= 0:
        return NAN
    shift = abs(cohens_h(p1, p0)) / math.sqrt(1 / n1 + 1 / n0)
    z = z_value(1 - alpha)
    return float(sps.norm.cdf(shift - z) + sps.norm.cdf(-shift - z))


def _z_sum(alpha: float, power_: float) -> float:
    return z_value(1 - alpha) + float(sps.norm.ppf(power_))


def sample_size_per_arm(p0: float, p1: float, alpha: float = 0.05, power_: float = 0.8) -> int:
    """Recipients per arm (equal split) to detect p0 -> p1: n = 2 ((z_a/2 + z_b) / h)^2.

    Cohen's (1988) arcsine formula. It leaves out the negligible chance of rejecting in the
    wrong direction, so it can differ from statsmodels' numerical solution by a fraction of a
    recipient before rounding up.
    """
    h = cohens_h(p1, p0)
    if h == 0:
        raise ValueError("the two rates are equal: no sample size detects a zero effect")
    return math.ceil(2 * (_z_sum(alpha, power_) / h) ** 2)


def minimum_detectable_rate(n1: int, n0: int, p0: float, alpha: float = 0.05, power_: float = 0.8) -> float:
    """The smallest rate p1 > p0 this sample detects with the given power (arcsine formula).

    Inverts the power formula: h = (z_a/2 + z_b) sqrt(1/n1 + 1/n0), then
    p1 = sin(asin(sqrt p0) + h/2)^2. NaN when even p1 = 100% would not be detectable.
    """
    if n1 <= 0 or n0 <= 0:
        return NAN
    h = _z_sum(alpha, power_) * math.sqrt(1 / n1 + 1 / n0)
    angle = math.asin(math.sqrt(p0)) + h / 2
    return math.sin(angle) ** 2 if angle <= math.pi / 2 else NAN


def relative_mean_lift(arm: SampleMean, control: SampleMean, confidence: float = 0.95) -> Estimate:
    """Relative difference of two means, m1/m0 - 1, with a delta-method interval on log(m1/m0).

    se^2 = v1/(n1 m1^2) + v0/(n0 m0^2) (the Katz construction applied to means; for 0/1
    data it reduces to the Katz risk-ratio interval). NaN unless both means are positive.
    """
    if arm.n < 2 or control.n < 2 or not (arm.mean > 0 and control.mean > 0):
        return Estimate(NAN, NAN, NAN)
    log_ratio = math.log(arm.mean / control.mean)
    se = math.sqrt(arm.variance / (arm.n * arm.mean**2) + control.variance / (control.n * control.mean**2))
    z = z_value(confidence)
    return Estimate(
        math.exp(log_ratio) - 1, math.exp(log_ratio - z * se) - 1, math.exp(log_ratio + z * se) - 1
    )


def welch_se(arm: SampleMean, control: SampleMean) -> float:
    """Standard error of a difference in means without assuming equal variances."""
    if arm.n < 2 or control.n < 2:
        return NAN
    return math.sqrt(arm.variance / arm.n + control.variance / control.n)


def power_for_difference(effect: float, se: float, alpha: float = 0.05) -> float:
    """Power of a two-sided z-test to detect a true difference `effect` with standard error se.

    Phi(|d|/se - z) + Phi(-|d|/se - z): the large-sample approximation used for revenue per
    recipient (its t-test has thousands of degrees of freedom).
    """
    if not se > 0:
        return NAN
    z = z_value(1 - alpha)
    return float(sps.norm.cdf(abs(effect) / se - z) + sps.norm.cdf(-abs(effect) / se - z))


def minimum_detectable_difference(se: float, alpha: float = 0.05, power_: float = 0.8) -> float:
    """Smallest true difference detected with the given power: (z_a/2 + z_b) * se."""
    return _z_sum(alpha, power_) * se if se > 0 else NAN
