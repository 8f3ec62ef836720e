"""workbook.analytics.stats against independent references (scipy, statsmodels, numerical integration).

Tolerances: closed-form equivalents of a reference (same formula, different code) agree to
1e-9 relative; Monte Carlo references within 4 standard errors of the simulation; power
formulas within 1e-4 relative (statsmodels adds the wrong-direction rejection tail, ~1e-6).
"""

import math

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportion_effectsize,
    proportions_ztest,
)

from workbook.analytics import stats
from workbook.analytics.stats import Proportion as P

REL = 1e-9
CASES = [(30, 1000, 20, 1000), (7, 250, 3, 240), (412, 5000, 388, 5100), (1, 60, 9, 55), (45, 900, 45, 900)]


@pytest.mark.parametrize("x,n", [(0, 10), (1, 10), (20, 1000), (999, 1000), (50, 50), (137, 4211)])
def test_wilson_matches_statsmodels(x, n):
    low, high = stats.wilson_interval(x, n)
    ref = proportion_confint(x, n, alpha=0.05, method="wilson")
    assert low == pytest.approx(ref[0], rel=REL, abs=1e-12)
    assert high == pytest.approx(ref[1], rel=REL, abs=1e-12)


def test_wilson_published_value():
    # Newcombe (1998), Table I example: 81/263 -> 0.2553 to 0.3662 (95%).
    low, high = stats.wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


def _coin_flips(rng, n, rate):
    return (rng.random(n) < rate).astype(float)


def _sums(values):
    return stats.SampleMean(len(values), float(values.sum()), float((values**2).sum()))


def test_proportion_matches_numpy_and_statsmodels_on_the_raw_trials():
    x = _coin_flips(np.random.default_rng(4), 1234, 0.07)
    p = P(len(x), int(x.sum()))
    assert p.mean == pytest.approx(x.mean(), rel=1e-12)
    assert p.variance == pytest.approx(x.var(ddof=0), rel=1e-12)  # Bernoulli variance p (1 - p)
    assert p.stddev == pytest.approx(x.std(ddof=0), rel=1e-12)
    ref = proportion_confint(int(x.sum()), len(x), alpha=0.05, method="wilson")
    assert p.interval() == pytest.approx(ref, rel=REL)


def test_sample_mean_matches_numpy_and_scipy_on_the_raw_values():
    x = _revenue(np.random.default_rng(5), 800, 0.3, 40)
    m = _sums(x)
    assert m.mean == pytest.approx(x.mean(), rel=1e-12)
    assert m.variance == pytest.approx(x.var(ddof=1), rel=1e-12)
    assert m.stddev == pytest.approx(x.std(ddof=1), rel=1e-12)
    ref = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    assert m.interval() == pytest.approx(ref, rel=1e-9)
    assert m.interval(0.8) == pytest.approx(sps.t.interval(0.8, len(x) - 1, x.mean(), sps.sem(x)), rel=1e-9)


def test_net_score_is_the_mean_of_the_coded_answers():
    answers = np.random.default_rng(6).integers(0, 11, 517)  # NPS answers 0-10
    coded = np.select([answers >= 9, answers <= 6], [1.0, -1.0], 0.0)
    m = stats.SampleMean.net_score(len(answers), int((answers >= 9).sum()), int((answers <= 6).sum()))
    assert m.mean == pytest.approx(coded.mean(), rel=1e-12)
    assert m.variance == pytest.approx(coded.var(ddof=1), rel=1e-12)


def test_pooling_equals_the_statistic_of_the_concatenated_data():
    rng = np.random.default_rng(8)
    a, b = _coin_flips(rng, 700, 0.03), _coin_flips(rng, 1100, 0.05)
    pooled, both = P(len(a), int(a.sum())) + P(len(b), int(b.sum())), np.concatenate([a, b])
    assert pooled == P(len(both), int(both.sum()))
    assert pooled.mean == pytest.approx(both.mean(), rel=1e-12)
    assert pooled.variance == pytest.approx(both.var(ddof=0), rel=1e-12)
    a, b = _revenue(rng, 500, 0.2, 60), _revenue(rng, 900, 0.1, 90)
    pooled, both = _sums(a) + _sums(b), np.concatenate([a, b])
    assert pooled.n == len(both)
    assert pooled.mean == pytest.approx(both.mean(), rel=1e-12)
    assert pooled.variance == pytest.approx(both.var(ddof=1), rel=1e-12)


def test_statistics_without_enough_values_are_nan():
    assert math.isnan(P(0, 0).mean) and all(math.isnan(v) for v in P(0, 0).interval())
    assert math.isnan(stats.SampleMean(0, 0.0, 0.0).mean)
    one = stats.SampleMean(1, 5.0, 25.0)
    assert one.mean == 5.0 and math.isnan(one.variance) and all(math.isnan(v) for v in one.interval())


def test_poisson_interval_is_the_exact_garwood_interval():
    for k in (0, 1, 3, 20):
        lo, hi = stats.poisson_interval(k)
        # Garwood: P(X >= k | lo) = 2.5% and P(X <= k | hi) = 2.5%
        if k:
            assert sps.poisson.sf(k - 1, lo) == pytest.approx(0.025, abs=1e-9)
        assert sps.poisson.cdf(k, hi) == pytest.approx(0.025, abs=1e-9)


@pytest.mark.parametrize("x1,n1,x0,n0", CASES)
def test_ztest_matches_statsmodels(x1, n1, x0, n0):
    z, p = stats.two_proportion_ztest(P(n1, x1), P(n0, x0))
    z_ref, p_ref = proportions_ztest([x1, x0], [n1, n0])
    assert z == pytest.approx(z_ref, rel=REL, abs=1e-12)
    assert p == pytest.approx(p_ref, rel=REL)


def test_ztest_without_any_event_is_no_evidence():
    assert stats.two_proportion_ztest(P(100, 0), P(120, 0)) == (0.0, 1.0)


@pytest.mark.parametrize("x1,n1,x0,n0", CASES)
def test_newcombe_difference_matches_statsmodels(x1, n1, x0, n0):
    est = stats.newcombe_difference(P(n1, x1), P(n0, x0))
    low, high = confint_proportions_2indep(x1, n1, x0, n0, method="newcomb", compare="diff")
    assert est.value == pytest.approx(x1 / n1 - x0 / n0, rel=REL)
    assert (est.low, est.high) == (pytest.approx(low, rel=REL), pytest.approx(high, rel=REL))


def test_newcombe_published_value():
    # Newcombe (1998), Table II example (a): 56/70 vs 48/80 -> 0.0524 to 0.3339.
    est = stats.newcombe_difference(P(70, 56), P(80, 48))
    assert (round(est.low, 4), round(est.high, 4)) == (0.0524, 0.3339)


@pytest.mark.parametrize("x1,n1,x0,n0", CASES)
def test_katz_relative_lift_matches_statsmodels(x1, n1, x0, n0):
    est = stats.katz_relative_lift(P(n1, x1), P(n0, x0))
    low, high = confint_proportions_2indep(x1, n1, x0, n0, method="log", compare="ratio")
    assert est.value == pytest.approx((x1 / n1) / (x0 / n0) - 1, rel=REL)
    assert est.low == pytest.approx(low - 1, rel=1e-7)
    assert est.high == pytest.approx(high - 1, rel=1e-7)


def test_katz_is_undefined_without_events():
    assert all(math.isnan(v) for v in stats.katz_relative_lift(P(100, 0), P(100, 3)))


def _revenue(rng, n, rate, scale):
    """Per-recipient revenue: mostly zeros, lognormal order values for the converters."""
    values = np.zeros(n)
    hits = rng.random(n) < rate
    values[hits] = rng.lognormal(np.log(scale), 0.8, hits.sum())
    return values


def test_welch_from_sums_matches_scipy():
    rng = np.random.default_rng(7)
    a, b = _revenue(rng, 3000, 0.03, 60), _revenue(rng, 2800, 0.02, 60)
    res = stats.welch_test(
        stats.SampleMean(len(a), a.sum(), (a**2).sum()),
        stats.SampleMean(len(b), b.sum(), (b**2).sum()),
    )
    ref = sps.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert res.t == pytest.approx(ref.statistic, rel=1e-8)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-8)
    assert res.df == pytest.approx(ref.df, rel=1e-8)
    assert (res.low, res.high) == (pytest.approx(ci.low, rel=1e-8), pytest.approx(ci.high, rel=1e-8))
    assert res.difference == pytest.approx(a.mean() - b.mean(), rel=1e-9)


@pytest.mark.parametrize("method", ["percentile", "BCa"])
def test_bootstrap_matches_a_plain_bootstrap_of_all_rows(method):
    """The zeros-free resampling equals scipy's bootstrap of the full vectors, same method.

    Both are Monte Carlo: the interval ends must agree within 10% of the interval's
    half-width (about 4 Monte Carlo standard errors of a 2.5% quantile at n_boot=10,000).
    """
    rng = np.random.default_rng(11)
    a, b = _revenue(rng, 4000, 0.03, 80), _revenue(rng, 4000, 0.02, 80)
    ours = method.lower()
    low, high = _matches_scipy_bootstrap(a, b, method)
    assert stats.bootstrap_mean_difference(a[a > 0], len(a), b[b > 0], len(b), seed=3, method=ours) == (
        low,
        high,
    )


@pytest.mark.parametrize("method", ["percentile", "BCa"])
def test_bootstrap_of_repeated_amounts_matches_a_plain_bootstrap(method):
    """A few prices repeated (the multinomial-counts path): same check and tolerance as above."""
    rng = np.random.default_rng(12)
    prices = np.array([24.0, 39.0, 55.0, 79.0, 135.0, 229.0])
    a, b = (
        np.where(rng.random(n) < rate, rng.choice(prices, n), 0.0) for n, rate in ((4000, 0.03), (3500, 0.02))
    )
    _matches_scipy_bootstrap(a, b, method)


def _matches_scipy_bootstrap(a, b, method):
    """Our interval of mean(a) - mean(b) vs scipy.stats.bootstrap's on the full vectors: ends
    within 10% of the interval's half-width. Returns ours."""
    low, high = stats.bootstrap_mean_difference(
        a[a > 0], len(a), b[b > 0], len(b), n_boot=10_000, seed=3, method=method.lower()
    )
    ref = sps.bootstrap(
        (a, b),
        lambda x, y, axis=-1: x.mean(axis=axis) - y.mean(axis=axis),
        method=method,
        n_resamples=10_000,
        rng=np.random.default_rng(5),
        vectorized=True,
    ).confidence_interval
    half = (ref.high - ref.low) / 2
    assert low == pytest.approx(ref.low, abs=0.1 * half)
    assert high == pytest.approx(ref.high, abs=0.1 * half)
    return low, high


def test_bca_acceleration_matches_a_brute_force_jackknife():
    """Efron & Tibshirani eq. 15.36 over every leave-one-out mean difference of the full rows."""
    rng = np.random.default_rng(2)
    a, b = _revenue(rng, 300, 0.1, 50), _revenue(rng, 250, 0.08, 50)
    thetas = [
        np.array([np.delete(a, i).mean() - b.mean() for i in range(len(a))]),
        np.array([a.mean() - np.delete(b, i).mean() for i in range(len(b))]),
    ]
    u = [(len(t) - 1) * (t.mean() - t) for t in thetas]
    ref = (
        sum((ui**3).sum() / len(ui) ** 3 for ui in u)
        / 6
        / sum((ui**2).sum() / len(ui) ** 2 for ui in u) ** 1.5
    )
    assert stats.bca_acceleration(a[a > 0], len(a), b[b > 0], len(b)) == pytest.approx(ref, rel=1e-9)
    assert ref != 0


@pytest.mark.parametrize(
    "counts,shares",
    [([5000, 5000], None), ([5210, 4790], None), ([1000, 980, 1090], None), ([900, 2100], [0.3, 0.7])],
)
def test_srm_matches_scipy_chisquare(counts, shares):
    chi2, p = stats.sample_ratio_mismatch(counts, shares)
    total = sum(counts)
    expected = None if shares is None else [total * s / sum(shares) for s in shares]
    ref = sps.chisquare(counts, expected)
    assert chi2 == pytest.approx(ref.statistic, rel=REL, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)


def _quad_prob(x1, n1, x0, n0, a=1, b=1):
    """Independent reference: P(p1 > p0) = integral of f1(t) F0(t) dt, by adaptive quadrature."""
    f1 = sps.beta(a + x1, b + n1 - x1)
    f0 = sps.beta(a + x0, b + n0 - x0)
    lo, hi = min(f1.ppf(1e-12), f0.ppf(1e-12)), max(f1.ppf(1 - 1e-12), f0.ppf(1 - 1e-12))
    value, _ = integrate.quad(lambda t: f1.pdf(t) * f0.cdf(t), lo, hi, limit=500, epsabs=1e-12)
    return value


@pytest.mark.parametrize("x1,n1,x0,n0", [*CASES, (0, 40, 2, 40), (3000, 10000, 2900, 10000)])
def test_prob_beat_control_matches_numerical_integration(x1, n1, x0, n0):
    assert stats.prob_beat_control(P(n1, x1), P(n0, x0)) == pytest.approx(
        _quad_prob(x1, n1, x0, n0), abs=1e-7
    )


def test_prob_beat_control_with_other_prior_and_monte_carlo():
    x1, n1, x0, n0, prior = 12, 300, 7, 310, (2, 20)
    exact = stats.prob_beat_control(P(n1, x1), P(n0, x0), prior)
    assert exact == pytest.approx(_quad_prob(x1, n1, x0, n0, *prior), abs=1e-7)
    rng = np.random.default_rng(1)
    draws = 400_000
    mc = np.mean(rng.beta(2 + x1, 20 + n1 - x1, draws) > rng.beta(2 + x0, 20 + n0 - x0, draws))
    assert abs(exact - mc) < 4 * math.sqrt(exact * (1 - exact) / draws)  # 4 Monte Carlo SEs


def test_prob_beat_control_is_symmetric_and_refuses_fractional_priors():
    assert stats.prob_beat_control(P(1000, 30), P(1000, 20)) + stats.prob_beat_control(
        P(1000, 20), P(1000, 30)
    ) == pytest.approx(1, abs=1e-12)
    assert stats.prob_beat_control(P(1000, 25), P(1000, 25)) == pytest.approx(0.5, abs=1e-12)
    with pytest.raises(ValueError, match="whole-number"):
        stats.prob_beat_control(P(10, 3), P(10, 2), prior=(0.5, 0.5))


@pytest.mark.parametrize("p", [[0.01, 0.04, 0.03, 0.2], [0.001, 0.5, 0.04, 0.04, 0.9], [0.3], [0.02, 0.02]])
def test_holm_matches_statsmodels(p):
    ref = multipletests(p, alpha=0.05, method="holm")[1]
    np.testing.assert_allclose(stats.holm(p), ref, rtol=REL)


def test_holm_leaves_missing_p_values_out_of_the_family():
    adjusted = stats.holm([0.01, float("nan"), 0.04])
    np.testing.assert_allclose(adjusted[[0, 2]], multipletests([0.01, 0.04], method="holm")[1], rtol=REL)
    assert math.isnan(adjusted[1])


@pytest.mark.parametrize(
    "n1,n0,p0,p1", [(2000, 2000, 0.02, 0.03), (500, 800, 0.10, 0.13), (10000, 9000, 0.3, 0.29)]
)
def test_power_matches_statsmodels(n1, n0, p0, p1):
    ref = NormalIndPower().power(proportion_effectsize(p1, p0), nobs1=n1, alpha=0.05, ratio=n0 / n1)
    assert stats.power(n1, n0, p0, p1) == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize(
    "p0,p1,alpha,pw", [(0.02, 0.03, 0.05, 0.8), (0.2, 0.22, 0.05, 0.9), (0.05, 0.04, 0.01, 0.8)]
)
def test_sample_size_matches_statsmodels(p0, p1, alpha, pw):
    ref = NormalIndPower().solve_power(proportion_effectsize(p1, p0), alpha=alpha, power=pw, ratio=1)
    n = stats.sample_size_per_arm(p0, p1, alpha, pw)
    assert n == math.ceil(ref) or n == pytest.approx(ref, rel=1e-4)
    assert stats.power(n, n, p0, p1, alpha) >= pw  # the planned sample reaches the power


@pytest.mark.parametrize("n1,n0,p0", [(3000, 3000, 0.02), (400, 600, 0.25), (50000, 50000, 0.003)])
def test_minimum_detectable_rate_matches_statsmodels(n1, n0, p0):
    h_ref = NormalIndPower().solve_power(effect_size=None, nobs1=n1, alpha=0.05, power=0.8, ratio=n0 / n1)
    p1 = stats.minimum_detectable_rate(n1, n0, p0)
    assert stats.cohens_h(p1, p0) == pytest.approx(h_ref, rel=1e-4)
    assert stats.power(n1, n0, p0, p1) == pytest.approx(0.8, abs=1e-5)


def test_minimum_detectable_rate_is_undefined_for_tiny_samples():
    assert math.isnan(stats.minimum_detectable_rate(2, 2, 0.9))


def test_relative_mean_lift_reduces_to_katz_on_binary_data():
    # 0/1 data: mean p and variance p(1-p) n/(n-1), so the delta method gives Katz's se up to n/(n-1).
    x1, n1, x0, n0 = 300, 10000, 200, 10000
    est = stats.relative_mean_lift(stats.SampleMean(n1, x1, x1), stats.SampleMean(n0, x0, x0))
    katz = stats.katz_relative_lift(P(n1, x1), P(n0, x0))
    assert est.value == pytest.approx(katz.value, rel=REL)
    assert (est.low, est.high) == (pytest.approx(katz.low, rel=1e-4), pytest.approx(katz.high, rel=1e-4))


@pytest.mark.parametrize("n,sd", [(2000, 40.0), (150, 3.5)])
def test_difference_power_and_mde_match_statsmodels(n, sd):
    """Equal arms with standard deviation sd: se = sd sqrt(2/n), Cohen's d = effect / sd."""
    se = sd * math.sqrt(2 / n)
    d_ref = NormalIndPower().solve_power(effect_size=None, nobs1=n, alpha=0.05, power=0.8, ratio=1)
    assert stats.minimum_detectable_difference(se) == pytest.approx(d_ref * sd, rel=1e-4)
    assert stats.power_for_difference(0.1 * sd, se) == pytest.approx(
        NormalIndPower().power(0.1, nobs1=n, alpha=0.05, ratio=1), rel=1e-9
    )
