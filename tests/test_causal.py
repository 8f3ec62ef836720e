"""Difference-in-differences vs statsmodels OLS with an interaction term on the same panel."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from workbook.analytics import causal
from workbook.store.clients import Rollout, load_client
from workbook.story import impact, impact_charts

START = dt.date(2026, 5, 1)
PRE, POST = 6, 4
ROLLOUT = Rollout("Recommendations", START, "region", ("CA",))
TOL = 1e-9  # same estimator computed two ways: only float rounding may differ


def _panel(rw, seed=7, n_treated=15, n_control=25, lift=1.3):
    """Random weekly orders; returns the unit x week counts built independently of the SQL."""
    rng = np.random.default_rng(seed)
    pre_start = dt.datetime.combine(START, dt.time()) - dt.timedelta(weeks=PRE)
    customers, orders, panel = [], [], []
    for i in range(n_treated + n_control):
        cid, treated = f"c{i}", i < n_treated
        customers.append((cid, f"K{i}", "CA" if treated else "NY"))
        orders.append((f"{cid}-first", cid, pre_start - dt.timedelta(days=30), 10))
        base = rng.uniform(0.2, 1.5)
        for week in range(-PRE, POST):
            rate = base * (1 + 0.3 * np.sin(week)) * (lift if treated and week >= 0 else 1)
            n = rng.poisson(rate)
            for k in range(n):
                at = pre_start + dt.timedelta(weeks=week + PRE, hours=int(rng.integers(0, 167)))
                orders.append((f"{cid}-{week}-{k}", cid, at, 20))
            panel.append({"unit": cid, "treated": int(treated), "post": int(week >= 0), "y": n, "week": week})
    # first bought inside the pre-period: a unit, whose first order is not a repeat order
    customers.append(("late", "KL", "CA"))
    orders.append(("late-1", "late", pre_start + dt.timedelta(days=3), 10))
    orders.append(("late-2", "late", pre_start + dt.timedelta(weeks=PRE, days=2), 10))
    panel += [
        {"unit": "late", "treated": 1, "post": int(week >= 0), "y": int(week == 0), "week": week}
        for week in range(-PRE, POST)
    ]
    rw.register("new_customers", pd.DataFrame(customers, columns=["customer_id", "customer_key", "region"]))
    rw.register(
        "new_orders", pd.DataFrame(orders, columns=["order_id", "customer_id", "ordered_at", "revenue"])
    )
    rw.execute("INSERT INTO customers BY NAME SELECT * FROM new_customers")
    rw.execute("INSERT INTO orders BY NAME SELECT * FROM new_orders")
    return pd.DataFrame(panel)


def test_did_matches_statsmodels_ols_with_interaction_and_clustered_errors(rw):
    panel = _panel(rw)
    as_of = START + dt.timedelta(weeks=POST) - dt.timedelta(days=1)
    result = causal.did(rw, ROLLOUT, as_of=as_of, pre_weeks=PRE)
    assert (result.n_treated, result.n_control, result.post_weeks) == (16, 25, POST)

    fit = smf.ols("y ~ treated * post", data=panel).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(panel["unit"])[0]}, use_t=True
    )
    est = result.estimate
    assert est.effect == pytest.approx(fit.params["treated:post"], abs=TOL)
    assert est.se == pytest.approx(fit.bse["treated:post"], abs=TOL)
    low, high = fit.conf_int().loc["treated:post"]
    assert (est.low, est.high) == pytest.approx((low, high), abs=TOL)
    assert est.p_value == pytest.approx(fit.pvalues["treated:post"], abs=TOL)

    # relative effect: delta / (a + b + c) with the delta method on statsmodels' covariance
    names = ["Intercept", "treated", "post", "treated:post"]
    a, b, c, d = (fit.params[n] for n in names)
    cf = a + b + c
    grad = np.array([-d / cf**2] * 3 + [1 / cf])
    se_rel = float(np.sqrt(grad @ fit.cov_params().loc[names, names].to_numpy() @ grad))
    assert est.counterfactual == pytest.approx(cf, abs=TOL)
    assert est.relative == pytest.approx(d / cf, abs=TOL)
    q = (high - d) / fit.bse["treated:post"]
    assert est.relative_high - est.relative == pytest.approx(q * se_rel, abs=1e-9)

    # the placebo uses the pre-period only: OLS on those weeks with post = second half
    pre = panel[panel["week"] < 0].assign(post=lambda p: (p["week"] >= -PRE + PRE // 2).astype(int))
    fit_p = smf.ols("y ~ treated * post", data=pre).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(pre["unit"])[0]}, use_t=True
    )
    assert result.placebo.effect == pytest.approx(fit_p.params["treated:post"], abs=TOL)
    assert result.placebo.se == pytest.approx(fit_p.bse["treated:post"], abs=TOL)


def test_weekly_series_and_means_are_per_customer(rw):
    panel = _panel(rw, seed=3)
    result = causal.did(rw, ROLLOUT, as_of=dt.date(2026, 6, 30), pre_weeks=PRE, post_weeks=POST)
    weekly = result.weekly.pivot(index="week", columns="group", values="orders_per_customer")
    expected = panel.groupby(["week", "treated"])["y"].mean().unstack()
    assert weekly["treated"].to_numpy() == pytest.approx(expected[1].to_numpy(), abs=TOL)
    assert weekly["comparison"].to_numpy() == pytest.approx(expected[0].to_numpy(), abs=TOL)
    assert result.means.loc["treated", "after"] == pytest.approx(
        panel.query("treated == 1 and post == 1")["y"].mean(), abs=TOL
    )
    cf = weekly["counterfactual"].dropna()
    assert list(cf.index) == list(range(POST))
    assert cf.mean() == pytest.approx(result.estimate.counterfactual, abs=TOL)
    spec = impact_charts.rollout_chart(result).to_dict()
    assert len(spec["layer"]) == 3
    drawn = {row["group"] for rows in spec["datasets"].values() for row in rows if "group" in row}
    assert drawn == {"treated", "comparison", "treated without the rollout (estimate)"}
    assert any("zero" in s for s in impact.rollout_sentences(result))


def test_only_a_customers_very_first_order_is_not_a_repeat_order(rw):
    """t1's first two orders share a timestamp: one of them is its first order, the other a
    repeat order (in the first week, and in the placebo's before-period)."""
    pre_start = dt.datetime.combine(START, dt.time()) - dt.timedelta(weeks=PRE)
    long_ago = pre_start - dt.timedelta(days=30)
    rw.executemany(
        "INSERT INTO customers (customer_id, customer_key, region) VALUES (?, ?, ?)",
        [("t1", "T1", "CA"), ("t2", "T2", "CA"), ("c1", "C1", "NY"), ("c2", "C2", "NY")],
    )
    rw.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES (?, ?, ?, 10)",
        [
            ("a", "t1", pre_start + dt.timedelta(days=1)),
            ("b", "t1", pre_start + dt.timedelta(days=1)),
            ("t2-0", "t2", long_ago),
            ("t2-1", "t2", pre_start + dt.timedelta(weeks=PRE, days=2)),
            ("c1-0", "c1", long_ago),
            ("c1-1", "c1", pre_start + dt.timedelta(weeks=PRE - 1)),
            ("c2-0", "c2", long_ago),
        ],
    )
    result = causal.did(rw, ROLLOUT, as_of=dt.date(2026, 6, 30), pre_weeks=PRE, post_weeks=POST)
    weekly = result.weekly.pivot(index="week", columns="group", values="orders_per_customer")
    assert weekly["treated"].to_dict() == {w: 0.5 if w in (-PRE, 0) else 0.0 for w in range(-PRE, POST)}
    assert weekly["comparison"].to_dict() == {w: 0.5 if w == -1 else 0.0 for w in range(-PRE, POST)}
    assert result.means.loc["treated", "before"] == pytest.approx(1 / PRE / 2, abs=TOL)
    assert result.means.loc["treated", "after"] == pytest.approx(1 / POST / 2, abs=TOL)
    assert (result.n_treated, result.n_control) == (2, 2)


def test_planted_lift_is_recovered_on_a_large_panel(rw):
    """1,500 customers, +30% planted: the relative interval covers it and excludes zero."""
    _panel(rw, seed=11, n_treated=600, n_control=900, lift=1.3)
    result = causal.did(rw, ROLLOUT, as_of=dt.date(2026, 5, 28), pre_weeks=PRE)
    est = result.estimate
    assert est.relative_low < 0.3 < est.relative_high
    assert est.low > 0


def test_not_enough_data_is_explained(rw):
    _panel(rw, n_treated=0, n_control=5)  # only 'late' is treated
    with pytest.raises(causal.NotEnoughData, match="two existing customers"):
        causal.did(rw, ROLLOUT, as_of=dt.date(2026, 6, 30), pre_weeks=PRE)
    with pytest.raises(causal.NotEnoughData, match="full week"):
        causal.did(rw, ROLLOUT, as_of=dt.date(2026, 5, 3), pre_weeks=PRE)


def test_online_store_sample_recovers_the_planted_rollout_lift(samples):
    """Planted: from 2026-05-01 customers in CA repeat-order 20% more (data/sample/README.md)."""
    from workbook import store
    from workbook.sample import online_store

    con = store.read("online-store")
    rollout = Rollout(
        "Recommendations", online_store.ROLLOUT_DAY.date(), "region", (online_store.ROLLOUT_REGION,)
    )
    assert load_client("online-store").rollouts == (
        Rollout("Personalized recommendations", rollout.start, "region", rollout.treated),
    )
    result = causal.did(con, rollout, dt.date(2026, 10, 31))  # the sample's last day
    est = result.estimate
    assert est.low > 0  # right sign, clear
    assert est.relative_low <= online_store.ROLLOUT_LIFT - 1 <= est.relative_high  # covers +20%
    assert result.placebo.low <= 0 <= result.placebo.high  # no pre-period gap
