"""BG/NBD and Gamma-Gamma against the published CDNOW fits, and the DuckDB summary against the
published CDNOW summary. Data: tests/data/README.md."""

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from workbook import store
from workbook.analytics import clv

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def cdnow():
    return pd.read_csv(DATA / "cdnow_summary.csv")


@pytest.fixture(scope="module")
def cdnow_con():
    """The raw CDNOW sample as orders in an in-memory client database."""
    con = duckdb.connect()
    store.migrate(con)
    con.execute(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) "
        "SELECT row_number() OVER ()::VARCHAR, customer::VARCHAR, date, amount "
        "FROM read_csv(?)",
        [str(DATA / "cdnow_transactions.csv")],
    )
    yield con
    con.close()


def test_bgnbd_reproduces_published_cdnow_parameters(cdnow):
    # Fader, Hardie & Lee (2005), Marketing Science 24(2), section 4: r = 0.243,
    # alpha = 4.414, a = 0.793, b = 2.426, log-likelihood -9582.4. Tolerance: 1% relative.
    fit = clv.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.01), name
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.1)


def test_bgnbd_conditional_expectation_matches_paper(cdnow):
    # FHL 2005, section 4: a customer with x = 2, t_x = 30.43, T = 38.86 is expected to make
    # 1.226 purchases in the next 39 weeks (published parameters; tolerance 0.5%).
    model = clv.BGNBD(0.243, 4.414, 0.793, 2.426, log_likelihood=0.0, customers=0)
    assert model.expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.226, rel=0.005)
    # P(alive) is 1 for a customer who never repeated, lower the longer the silence since t_x.
    assert model.p_alive(0, 0, 38.86) == 1.0
    assert model.p_alive(2, 38.0, 38.86) > model.p_alive(2, 10.0, 38.86)


def test_gamma_gamma_reproduces_published_cdnow_parameters(cdnow):
    # Fader, Hardie & Lee (2005b) / Hardie (2013) "The Gamma-Gamma Model of Monetary Value":
    # on the 946 CDNOW repeat customers p = 6.25, q = 3.74, gamma = 15.44. Tolerance: 1%.
    repeaters = cdnow[cdnow["x"] > 0]
    fit = clv.fit_gamma_gamma(repeaters["x"], repeaters["zbar"])
    assert fit.customers == 946
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.01), name
    # The conditional mean is between the customer's own mean and the population mean.
    own = 50.0
    expected = fit.expected_spend(3, own)
    assert fit.mean_spend < expected < own


def test_summary_in_duckdb_matches_published_cdnow_summary(cdnow, cdnow_con):
    # Frequency in distinct purchase days, recency and age in weeks from the first purchase,
    # calibration ending 1997-09-30: the published summary to its 2-decimal rounding.
    ours = clv.summary(cdnow_con, "1997-09-30", "1998-06-30")
    ours["ID"] = ours["customer_id"].astype(int)
    both = cdnow.merge(ours, on="ID", suffixes=("_published", ""))
    # Every published customer, also the 8 who only ever bought for $0.00 (a $0 order is a
    # purchase, as in the paper).
    assert len(ours) == len(both) == len(cdnow) == 2357
    assert (both["x_published"] == both["x"]).all()
    assert np.allclose(both["t_x_published"], both["t_x"], atol=0.005)
    assert np.allclose(both["T_published"], both["T"], atol=0.005)
    repeat = both[both["x"] > 0]
    assert np.allclose(repeat["zbar"], repeat["monetary"], atol=0.005)


def test_holdout_check_on_cdnow(cdnow_con):
    check = clv.holdout_check(cdnow_con, "1997-09-30", "1998-06-30")
    assert check.weeks == pytest.approx(39.0)
    # Actual repeat purchase days in weeks 40-78, counted independently in SQL (every CDNOW
    # transaction is a purchase).
    actual = cdnow_con.execute(
        "SELECT count(DISTINCT (customer_id, ordered_at::DATE)) FROM orders WHERE ordered_at > '1997-09-30'"
    ).fetchone()[0]
    assert check.actual == actual
    # A sanity bound, not a published figure: on CDNOW our fit predicts 1,653 repeat purchase
    # days for the 39 holdout weeks against 1,882 actual (-12%). The by-frequency means add
    # back up to the totals.
    assert abs(check.error) < 0.15
    table = check.by_frequency
    assert list(table["label"]) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert (table["customers"] * table["actual"]).sum() == pytest.approx(check.actual)
    assert (table["customers"] * table["predicted"]).sum() == pytest.approx(check.predicted)
    assert table["predicted"].is_monotonic_increasing


def test_holdout_check_refuses_histories_without_a_calibration_period(cdnow_con):
    data = clv.histories(cdnow_con, "1998-06-30")  # no calibration_end given
    with pytest.raises(ValueError, match="no calibration period"):
        clv.holdout_check(cdnow_con, "1997-09-30", "1998-06-30", data=data)


def test_customer_value_is_discounted_spend_times_purchases():
    bg = clv.BGNBD(0.243, 4.414, 0.793, 2.426, log_likelihood=0.0, customers=0)
    gg = clv.GammaGamma(6.25, 3.74, 15.44, customers=0)
    x, t_x, T, m = np.array([2]), np.array([30.43]), np.array([38.86]), np.array([40.0])
    undiscounted = clv.customer_value(bg, gg, x, t_x, T, m, months=12, annual_discount=0.0)
    expected = bg.expected_purchases(52, x, t_x, T) * gg.expected_spend(x, m)
    assert undiscounted == pytest.approx(expected, rel=1e-9)
    discounted = clv.customer_value(bg, gg, x, t_x, T, m, months=12, annual_discount=0.10)
    assert expected / 1.10 < discounted < expected


def test_too_few_repeat_customers_get_a_clear_message():
    x = np.array([0] * 200 + [1] * 5)
    t_x = np.where(x > 0, 3.0, 0.0)
    T = np.full(len(x), 20.0)
    with pytest.raises(clv.NotEnoughRepeatData, match="Only 5 of 205 customers bought again"):
        clv.fit_bgnbd(x, t_x, T)


def test_fit_without_dropout_heterogeneity_stays_finite():
    # Customers who never drop out (pure Poisson buying, gamma-distributed rates): the BG/NBD
    # likelihood keeps rising as a and b grow together (dropout -> a point mass at 0), so an
    # unbounded optimizer runs away. The bounded fit must return finite parameters, P(alive)
    # near 1 and predictions near the truth (each customer's rate x weeks, on average).
    rng = np.random.default_rng(7)
    n, T = 3000, 52.0
    rates = rng.gamma(2.0, 0.05, n)  # purchases per week, mean 0.1
    x, t_x = np.zeros(n), np.zeros(n)
    for i, rate in enumerate(rates):
        times = np.cumsum(rng.exponential(1 / rate, 200))
        times = times[times <= T]
        x[i], t_x[i] = len(times), (times[-1] if len(times) else 0.0)
    fit = clv.fit_bgnbd(x, t_x, np.full(n, T))
    assert all(np.isfinite([fit.r, fit.alpha, fit.a, fit.b]))
    assert fit.a / (fit.a + fit.b) < 0.01  # mean dropout probability per purchase near 0
    assert np.mean(fit.p_alive(x, t_x, np.full(n, T))) > 0.95
    predicted = fit.expected_purchases(26, x, t_x, np.full(n, T)).sum()
    assert predicted == pytest.approx(rates.sum() * 26, rel=0.05)


@pytest.mark.parametrize(
    "params", [(0.243, 4.414, 0.793, 2.426), (2.0, 30.0, 1.5, 0.8), (8.0, 130.0, 500.0, 5000.0)]
)
def test_bgnbd_gradient_matches_finite_differences(cdnow, params):
    # The analytic gradient the optimizer uses, against central differences of the
    # log-likelihood itself (step 1e-5 relative); tolerance 1e-5 relative plus 1e-4 absolute
    # (near the optimum the gradient is close to 0).
    args = (cdnow["x"], cdnow["t_x"], cdnow["T"])
    _, grad = clv.bgnbd_log_likelihood(params, *args, gradient=True)
    numeric = _central_differences(lambda p: clv.bgnbd_log_likelihood(p, *args), params)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-4)


def _central_differences(func, params, step=1e-5):
    """d func / d params[i] by central differences with a relative step."""
    numeric = []
    for i, value in enumerate(params):
        h = value * step
        up, down = list(params), list(params)
        up[i], down[i] = value + h, value - h
        numeric.append((func(up) - func(down)) / (2 * h))
    return numeric


def test_gamma_gamma_likelihood_matches_numerical_integration():
    # Reference: the marginal density of a mean spend m over x purchases, integrated
    # numerically with scipy: m | nu ~ Gamma(shape p x, rate nu x), nu ~ Gamma(q, rate gamma).
    # Tolerance 1e-7 relative on the log-density.
    from scipy import integrate, stats

    p, q, gamma = 6.25, 3.74, 15.44

    def joint(nu, x, m):
        return stats.gamma.pdf(m, p * x, scale=1 / (nu * x)) * stats.gamma.pdf(nu, q, scale=1 / gamma)

    for x, m in [(1, 20.0), (3, 35.5), (12, 8.0)]:
        density, _ = integrate.quad(
            joint,
            0,
            np.inf,
            args=(x, m),
            epsabs=0,
            epsrel=1e-12,
            limit=200,
        )
        ours = clv.gamma_gamma_log_likelihood((p, q, gamma), [x], [m])
        assert ours == pytest.approx(np.log(density), rel=1e-7), (x, m)


def test_gamma_gamma_gradient_matches_finite_differences(cdnow):
    repeaters = cdnow[cdnow["x"] > 0]
    args = (repeaters["x"], repeaters["zbar"])
    params = (6.25, 3.74, 15.44)
    _, grad = clv.gamma_gamma_log_likelihood(params, *args, gradient=True)
    numeric = _central_differences(lambda p: clv.gamma_gamma_log_likelihood(p, *args), params)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-4)


def test_predictions_on_many_customers_match_one_at_a_time(cdnow):
    # The vectorised predictions evaluate the hypergeometric term once per distinct (x, T);
    # each customer's value must equal the prediction made for that customer alone.
    model = clv.BGNBD(0.243, 4.414, 0.793, 2.426, log_likelihood=0.0, customers=0)
    spend = clv.GammaGamma(6.25, 3.74, 15.44, customers=0)
    some = cdnow.iloc[::40]
    args = (some["x"], some["t_x"], some["T"])
    together = model.expected_purchases(39, *args)
    value = clv.customer_value(model, spend, *args, some["zbar"])
    for i, (x, t_x, T, m) in enumerate(zip(*args, some["zbar"])):
        assert together[i] == pytest.approx(float(model.expected_purchases(39, x, t_x, T)), rel=1e-12)
        assert value[i] == pytest.approx(
            float(clv.customer_value(model, spend, [x], [t_x], [T], [m])[0]), rel=1e-12
        )


def test_histories_are_the_summary_grouped(cdnow_con):
    per = clv.summary(cdnow_con, "1997-09-30", "1998-06-30")
    groups = clv.histories(cdnow_con, "1998-06-30", "1997-09-30")
    expected = (
        per.assign(spend=per["monetary"].fillna(0).clip(lower=0))
        .groupby(["x", "t_x", "T"])
        .agg(customers=("x", "size"), x_holdout=("x_holdout", "sum"), monetary=("spend", "mean"))
        .reset_index()
    )
    got = groups.calibration
    assert got["customers"].sum() == len(per)
    np.testing.assert_allclose(
        got[["x", "t_x", "T", "customers", "x_holdout", "monetary"]].to_numpy(float),
        expected[["x", "t_x", "T", "customers", "x_holdout", "monetary"]].to_numpy(float),
        rtol=1e-12,
    )
    # and as of the holdout end: every customer by then, with their spend
    everyone = clv.summary(cdnow_con, "1998-06-30")
    assert groups.purchases["customers"].sum() == len(everyone)
    assert (groups.purchases["x"] * groups.purchases["customers"]).sum() == everyone["x"].sum()
    repeat = everyone[(everyone["x"] > 0) & (everyone["monetary"] > 0)]
    assert groups.spend["customers"].sum() == len(repeat)
    assert (groups.spend["x"] * groups.spend["customers"]).sum() == repeat["x"].sum()
    assert clv.histories(cdnow_con, "1998-06-30").calibration is None


def test_forecast_totals_equal_the_sum_over_customers(cdnow_con):
    # The forecast predicts per group of identical histories; the totals must be what the
    # per-customer arrays of `summary` give with the same fitted models.
    result = clv.forecast(cdnow_con, "1997-09-30")
    per = clv.summary(cdnow_con, "1997-09-30")
    args = (per["x"], per["t_x"], per["T"])
    assert result.groups["customers"].sum() == len(per)
    assert result.groups["alive"].sum() == pytest.approx(result.purchases.p_alive(*args).sum(), rel=1e-10)
    assert result.groups["expected_purchases"].sum() == pytest.approx(
        result.purchases.expected_purchases(52, *args).sum(), rel=1e-10
    )
    assert result.groups["clv"].sum() == pytest.approx(
        clv.customer_value(result.purchases, result.spend, *args, per["monetary"]).sum(), rel=1e-10
    )
    # and the grouped fit is the per-customer fit
    direct = clv.fit_bgnbd(*args)
    assert result.purchases.r == pytest.approx(direct.r, rel=1e-9)
    assert result.purchases.log_likelihood == pytest.approx(direct.log_likelihood, rel=1e-12)


def test_summary_by_hand_with_refunds_and_same_day_orders():
    # Customer a: a refund and a cancelled order before buying (not spend after the first
    # purchase), first purchase day 5 Jan (two orders that day count once), a refund-only day, a
    # fully refunded order, purchases on 19 Jan and 2 Feb. Customer b: a $0 order (a free
    # sample: a purchase) and a refund the next day: a customer without repeat purchases.
    con = duckdb.connect()
    store.migrate(con)
    con.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES (?, ?, ?, ?)",
        [
            ["o1", "a", "2026-01-01 10:00", -15],
            ["o2", "a", "2026-01-05 09:00", 40],
            ["o3", "a", "2026-01-05 17:00", 10],
            ["o4", "a", "2026-01-10 12:00", -5],
            ["o5", "a", "2026-01-19 12:00", 30],
            ["o6", "a", "2026-02-02 12:00", 50],
            ["o7", "b", "2026-01-03 12:00", 0],
            ["o8", "b", "2026-01-04 12:00", -20],
        ],
    )
    con.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue, refunded, cancelled) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [["o9", "a", "2026-01-02 12:00", 0, 25, True], ["o10", "a", "2026-01-26 12:00", 0, 60, False]],
    )
    at_end = clv.summary(con, "2026-02-09")
    assert list(at_end["customer_id"]) == ["b", "a"]  # by first purchase day: 3 Jan, 5 Jan
    b, a = at_end.iloc[0], at_end.iloc[1]
    assert (b["x"], b["t_x"], b["T"]) == (0, 0.0, 37 / 7) and np.isnan(b["monetary"])
    assert (a["x"], a["t_x"], a["T"]) == (2, 4.0, 5.0)  # 19 Jan, 2 Feb; weeks from 5 Jan
    assert a["monetary"] == pytest.approx((-5 + 30 + 50) / 2)  # refund after day 1 counts
    held = clv.summary(con, "2026-01-20", "2026-02-09").iloc[1]
    assert (held["x"], held["t_x"], held["x_holdout"]) == (1, 2.0, 1)
    assert held["monetary"] == pytest.approx(-5 + 30)
    groups = clv.histories(con, "2026-02-09", "2026-01-20")
    assert groups.calibration[["x", "customers", "x_holdout"]].values.tolist() == [[0, 1, 0], [1, 1, 1]]


def _simulate_bgnbd(n, r, alpha, a, b, seed=0):
    """Customers of a BG/NBD process (FHL 2005, section 2) over ages T of 10 to 80 weeks."""
    rng = np.random.default_rng(seed)
    rate, drop = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    T = rng.uniform(10, 80, n)
    x, t_x, t, alive = np.zeros(n), np.zeros(n), np.zeros(n), np.ones(n, bool)
    while alive.any():
        t = t + rng.exponential(1 / rate)
        bought = alive & (t <= T)
        x[bought] += 1
        t_x[bought] = t[bought]
        alive = bought & (rng.random(n) >= drop)
    return x, t_x, T


def test_fit_from_a_sample_start_reaches_the_direct_optimum():
    # Many distinct histories: the fit starts from a fit on a sample; it must end where the
    # optimizer ends from the default start (log-likelihood to 1e-9, r and alpha to 1e-3),
    # and find the simulated parameters (r, alpha to 15%; a and b to 30%).
    x, t_x, T = _simulate_bgnbd(20_000, r=0.8, alpha=6.0, a=0.7, b=2.5)
    assert len(np.unique(np.column_stack([x, t_x, T]), axis=0)) > 2 * clv.WARM_START_ROWS
    fit = clv.fit_bgnbd(x, t_x, T)
    rows = clv._Rows(x, t_x, T)
    direct = clv._fit_rows(rows, np.array([1.0, np.mean(T), 1.0, 1.0]))
    assert fit.log_likelihood == pytest.approx(rows.log_likelihood(direct), rel=1e-9)
    assert [fit.r, fit.alpha] == pytest.approx(direct[:2], rel=1e-3)
    assert [fit.r, fit.alpha] == pytest.approx([0.8, 6.0], rel=0.15)
    assert [fit.a, fit.b] == pytest.approx([0.7, 2.5], rel=0.3)
