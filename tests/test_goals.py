"""Goal math on a hand-made weekly revenue line: required rate, forecast, chance, status, storage.
(The goals in words are tested in test_goal_words.py.)"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from _weekly_revenue import AS_OF, BASE, DEADLINE, FIRST, NOW, REVENUE, WEEKS
from scipy import stats

from workbook import store
from workbook.analytics import goals
from workbook.analytics.goals import Goal
from workbook.core.errors import WorkbookError


def _ols_reference(values):
    """statsmodels' OLS of the weekly values on the week number, and its forecast of the mean of
    weeks 35-38, the 4 complete weeks before the deadline: (fit, mean, se of a 4-week mean)."""
    fit = sm.OLS(np.asarray(values, dtype=float), sm.add_constant(np.arange(len(values), dtype=float))).fit()
    last = 39
    x = sm.add_constant(np.arange(last - 4, last), has_constant="add").mean(axis=0, keepdims=True)
    pred = fit.get_prediction(x)
    se = math.sqrt(pred.se_mean[0] ** 2 + fit.scale / 4)  # a mean of 4 new weeks: sigma^2 / 4
    return fit, float(pred.predicted_mean[0]), se


def test_increase_goal_relative_target(weekly_revenue):
    d = goals.delta(
        weekly_revenue, Goal("revenue", "increase", target_change_pct=20, deadline=DEADLINE), AS_OF
    )
    assert d.baseline.value == pytest.approx(BASE)
    assert d.current.value == pytest.approx(NOW)
    assert d.target == pytest.approx(BASE * 1.2)  # 237.5
    assert d.gap == pytest.approx(BASE * 1.2 - NOW)  # 20.0
    assert d.gap_pct == pytest.approx(20 / 217.5)
    assert d.progress == pytest.approx((NOW - BASE) / (BASE * 0.2))
    assert d.weeks_left == 13
    assert (d.seasonal, d.season_change) == (False, 0.0)  # half a year of history: no season
    assert d.required_per_week == pytest.approx(20 / 13)
    # the forecast is statsmodels' OLS on the same 26 weekly values (tolerance 1e-9); its
    # standard error is then widened by the series' own past errors (`spread`, tested below)
    fit, mean, se = _ols_reference(REVENUE)
    assert d.slope_per_week == pytest.approx(fit.params[1], rel=1e-9)
    assert (d.slope_low, d.slope_high) == pytest.approx(tuple(fit.conf_int()[1]), rel=1e-9)
    assert d.projected == pytest.approx(mean, rel=1e-9)
    end = dt.date(2026, 6, 29)
    model = goals.forecast(d.history, goals.metrics.get("revenue"), end, dt.date(2026, 9, 28))
    assert model.checks >= goals.MIN_WEEKS and model.spread >= 1
    se *= model.spread
    half = stats.t.ppf(0.975, fit.df_resid) * se
    assert (d.projected_low, d.projected_high) == pytest.approx((mean - half, mean + half), rel=1e-9)
    assert d.chance == pytest.approx(stats.t.sf((d.target - mean) / se, fit.df_resid), rel=1e-9)
    assert d.chance >= goals.ON_TRACK_CHANCE and d.status == "on track"  # rising $5 a week


def test_one_week_forecast_equals_statsmodels_prediction_interval(weekly_revenue):
    # with the variance of one new week instead of a 4-week mean (and before the check against
    # past errors), the forecast's interval is statsmodels' own obs_ci, tolerance 1e-9
    history = goals.delta(
        weekly_revenue, Goal("revenue", "increase", target_value=1, deadline=DEADLINE), AS_OF
    ).history
    model = goals.forecast(history, goals.metrics.get("revenue"), dt.date(2026, 6, 29), dt.date(2026, 9, 28))
    fit = sm.OLS(REVENUE.astype(float), sm.add_constant(WEEKS.astype(float))).fit()
    row = np.array([[1.0, 38.0]])  # week 38: 13 weeks ahead
    frame = fit.get_prediction(row).summary_frame(alpha=0.05)
    x = model.design(np.array([model.weeks.index(FIRST + dt.timedelta(weeks=38))]))
    se_one = math.sqrt(float(x[0] @ model.fit.cov_params() @ x[0]) + model.fit.scale)
    half = stats.t.ppf(0.975, model.fit.df_resid) * se_one
    mean = float(x[0] @ model.fit.params)
    assert (mean - half, mean + half) == pytest.approx(
        (frame["obs_ci_lower"].iloc[0], frame["obs_ci_upper"].iloc[0]), rel=1e-9
    )


def test_decrease_goal_relative_target(weekly_revenue):
    d = goals.delta(
        weekly_revenue, Goal("revenue", "decrease", target_change_pct=-10, deadline=DEADLINE), AS_OF
    )
    assert d.target == pytest.approx(BASE * 0.9)  # 178.125
    assert d.required_per_week == pytest.approx((BASE * 0.9 - NOW) / 13)
    assert d.chance < 0.25 and d.status == "off track"  # revenue keeps rising by ~5 a week


@pytest.mark.parametrize(
    "chance,expected",
    [(0.9, "on track"), (0.75, "on track"), (0.74, "at risk"), (0.25, "at risk"), (0.24, "off track")],
)
def test_status_from_the_chance(chance, expected):
    assert goals.status(chance) == expected


def test_after_the_deadline_the_current_value_decides(weekly_revenue):
    late = AS_OF - dt.timedelta(days=1)
    met = goals.delta(weekly_revenue, Goal("revenue", "increase", target_value=200, deadline=late), AS_OF)
    missed = goals.delta(weekly_revenue, Goal("revenue", "increase", target_value=250, deadline=late), AS_OF)
    assert (met.status, missed.status) == ("met", "missed")
    assert math.isnan(met.chance) and met.projection.empty


def test_a_deadline_further_ahead_than_the_history_is_too_early_to_tell(weekly_revenue):
    far = AS_OF + dt.timedelta(weeks=40)  # the fit rests on 26 weeks
    d = goals.delta(weekly_revenue, Goal("revenue", "increase", target_value=250, deadline=far), AS_OF)
    assert (d.status, d.reason) == ("too early to tell", goals.TOO_FAR_AHEAD)
    assert math.isnan(d.chance)


def test_a_history_too_short_to_check_the_forecast_is_too_early_to_tell(client, rw):
    # 20 weeks: enough to fit a line, too few to check forecasts 13 weeks ahead against what
    # happened (8 past forecasts needed: 8 + 13 + 8 weeks)
    rows = [(f"o{w}", FIRST + dt.timedelta(weeks=w + 6, days=2), 100.0 + w) for w in range(20)]
    rw.executemany("INSERT INTO orders (order_id, ordered_at, revenue) VALUES (?, ?, ?)", rows)
    d = goals.delta(rw, Goal("revenue", "increase", target_value=150, deadline=DEADLINE), AS_OF)
    assert (d.status, d.reason) == ("too early to tell", goals.NO_TRACK_RECORD)
    assert math.isnan(d.chance) and not d.projection.empty


def test_sign_of_relative_target_must_match_direction():
    with pytest.raises(WorkbookError, match="flip"):
        Goal("revenue", "decrease", target_change_pct=10, deadline=DEADLINE)


def test_target_of_a_relative_goal_defaults_to_its_own_baseline():
    goal = Goal("revenue", "increase", target_change_pct=10, baseline_value=200.0)
    assert goal.target() == pytest.approx(220.0)
    assert goal.target(100.0) == pytest.approx(110.0)
    assert math.isnan(Goal("revenue", "increase").target(100.0))  # no target
    assert math.isnan(Goal("revenue", "increase", target_change_pct=10).target())  # no baseline


def test_undefined_goal_gets_a_smart_proposal(weekly_revenue):
    d = goals.delta(weekly_revenue, Goal("revenue", "increase"), AS_OF)
    assert d.status == "undefined" and d.goal.missing == ("target", "deadline")
    proposal = d.proposal
    assert (proposal.target_change_pct, proposal.deadline) == (10.0, DEADLINE)
    assert proposal.baseline_value == pytest.approx(BASE)
    assert proposal.target(proposal.baseline_value) == pytest.approx(BASE * 1.1)


def test_the_smart_proposal_keeps_the_users_target(weekly_revenue):
    # "increase revenue to $260" with no date: the date is proposed, the $260 stays
    d = goals.delta(weekly_revenue, Goal("revenue", "increase", target_value=260), AS_OF)
    assert d.status == "undefined" and d.goal.missing == ("deadline",)
    assert (d.proposal.target_value, d.proposal.target_change_pct) == (260, None)
    assert d.proposal.deadline == AS_OF + dt.timedelta(weeks=goals.SUGGEST_HORIZON_WEEKS)


def test_the_smart_proposal_keeps_the_users_deadline(weekly_revenue):
    # "increase revenue by 31 March" with no number: the number is proposed, 31 March stays
    march = dt.date(2027, 3, 31)
    d = goals.delta(weekly_revenue, Goal("revenue", "increase", deadline=march), AS_OF)
    assert d.goal.missing == ("target",)
    assert (d.proposal.deadline, d.proposal.target_change_pct) == (march, 10.0)
    assert d.proposal.target(d.proposal.baseline_value) == pytest.approx(BASE * 1.1)


def test_the_smart_proposal_keeps_the_users_direction_and_segment(client, rw):
    rw.execute("INSERT INTO customers (customer_id, customer_key, segment) VALUES ('a', 'C-a', 'vip')")
    rows = [
        (f"o{w}", "a", FIRST + dt.timedelta(weeks=int(w), days=2), float(r)) for w, r in zip(WEEKS, REVENUE)
    ]
    rw.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES (?, ?, ?, ?)", rows
    )
    proposal = goals.propose(rw, Goal("revenue", "decrease", segment="vip"), AS_OF)
    # revenue is better up: a goal to lower it gets the usual step mirrored (-10%), for its segment
    assert (proposal.direction, proposal.target_change_pct, proposal.segment) == ("decrease", -10.0, "vip")
    assert proposal.baseline_value == pytest.approx(BASE)


def test_too_few_weeks_is_too_early_to_tell(client, rw):
    rw.execute(
        "INSERT INTO orders (order_id, ordered_at, revenue) VALUES ('a', '2026-06-10', 5), "
        "('b', '2026-06-17', 6)"
    )
    d = goals.delta(rw, Goal("revenue", "increase", target_value=10, deadline=DEADLINE), AS_OF)
    assert d.status == "too early to tell" and d.reason == goals.TOO_FEW_WEEKS


def test_unavailable_kpi(weekly_revenue):
    d = goals.delta(weekly_revenue, Goal("nps", "increase", target_value=50, deadline=DEADLINE), AS_OF)
    assert d.status == "not enough data" and d.reason == goals.UNAVAILABLE


def test_suggested_goals_skip_unavailable_kpis(weekly_revenue):
    assert [g.metric for g in goals.suggested_goals(weekly_revenue, AS_OF)] == ["revenue", "aov"]


def test_suggested_share_target_stays_below_100_percent(rw):
    # 12 weeks of 10 leads each, 9 converted: baseline 90%; +10% would be 99%, capped half-way to 100%
    rows = [
        (f"l{w}-{i}", dt.date(2026, 4, 6) + dt.timedelta(weeks=w, days=1), "2026-06-01" if i < 9 else None)
        for w in range(12)
        for i in range(10)
    ]
    rw.executemany("INSERT INTO leads (lead_id, created_at, converted_at) VALUES (?, ?, ?)", rows)
    goal = goals.suggest(rw, "lead_conversion_rate", AS_OF)
    assert goal.baseline_value == pytest.approx(0.9)
    assert (goal.target_change_pct, goal.target_value) == (None, pytest.approx(0.95))


def test_segment_goal(client, rw):
    rw.execute(
        "INSERT INTO customers (customer_id, customer_key, segment) VALUES ('a', 'C-a', 'vip'), ('b', 'C-b', 'std')"
    )
    rows = [
        (f"o{w}{c}", c, FIRST + dt.timedelta(weeks=int(w), days=2), float(r if c == "a" else 1000))
        for w, r in zip(WEEKS, REVENUE)
        for c in "ab"
    ]
    rw.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES (?, ?, ?, ?)", rows
    )
    d = goals.delta(
        rw, Goal("revenue", "increase", target_change_pct=20, deadline=DEADLINE, segment="vip"), AS_OF
    )
    assert (d.baseline.value, d.current.value) == (
        pytest.approx(BASE),
        pytest.approx(NOW),
    )  # b's 1000s left out


def test_a_falling_line_is_projected_to_zero_not_below(client, rw):
    # 40 weeks falling by $18 a week from $752: the line reaches about -$150 by the deadline,
    # which weekly revenue cannot be; the projection and its band stop at $0.
    rows = [(f"o{w}", FIRST + dt.timedelta(weeks=w, days=2), 500.0 - 18 * w) for w in range(-14, 26)]
    rw.executemany("INSERT INTO orders (order_id, ordered_at, revenue) VALUES (?, ?, ?)", rows)
    rw.close()
    con = store.read(client)
    try:
        d = goals.delta(con, Goal("revenue", "increase", target_value=600.0, deadline=DEADLINE), AS_OF)
    finally:
        con.close()
    _, unclipped, _ = _ols_reference([500.0 - 18 * w for w in range(26)])
    assert unclipped < 0
    assert (d.projected, d.projected_low) == (0.0, 0.0)
    assert d.projection[["value", "low", "high"]].min().min() == 0.0
    assert d.chance == 0.0 and d.status == "off track"


# Seeded simulations with a known truth: the forecast works on a `metrics.series`-shaped frame.
REVENUE_KPI = goals.metrics.get("revenue")
MONDAY = pd.Timestamp("2024-01-01")


def _frame(values) -> pd.DataFrame:
    periods = pd.date_range(MONDAY, periods=len(values), freq="7D")
    return pd.DataFrame({"period": periods, "value": values, "num": values, "den": 1.0, "complete": True})


def _ahead(n: int, weeks: int) -> tuple[dt.date, dt.date]:
    """(end, deadline end) of a frame of n weeks forecast `weeks` ahead."""
    end = (MONDAY + pd.Timedelta(weeks=n)).date()
    return end, end + dt.timedelta(weeks=weeks)


def test_the_forecast_of_a_line_with_noise_is_calibrated():
    # y = 100 + 2 t + N(0, 10^2), 40 weeks, 13 ahead, 300 seeded histories and futures. The
    # forecast's 95% range holds the 4 weeks before the deadline in 93-99% of them (the check
    # against past errors only ever widens it), and the chance of the value that happened,
    # P(Y >= y), is uniform (Kolmogorov-Smirnov p > 0.01): a 30% chance comes true 30% of the time.
    rng = np.random.default_rng(13)
    covered, pit = 0, []
    end, until = _ahead(40, 13)
    for _ in range(300):
        y = 100 + 2 * np.arange(53) + rng.normal(0, 10, 53)
        model = goals.forecast(_frame(y[:40]), REVENUE_KPI, end, until)
        due = model.weeks.index(until)
        actual = y[-4:].mean()
        _, low, high = model.interval(due)
        covered += low <= actual <= high
        pit.append(model.chance("increase", actual, due))
    assert 0.93 <= covered / 300 <= 0.99
    assert stats.kstest(pit, "uniform").pvalue > 0.01


def test_past_errors_widen_the_forecast_of_a_wandering_series():
    # a random walk (steps N(0, 5^2)) has no trend, but a line fitted to 26 of its weeks finds
    # one and is too sure of it: without the check against its own past errors, the 95% range
    # of the 4 weeks 13 ahead holds what happens far less often than 95%; with it, close to 95%.
    rng = np.random.default_rng(7)
    hits = {"plain": 0, "checked": 0}
    end, until = _ahead(60, 13)
    for _ in range(150):
        walk = 200 + np.cumsum(rng.normal(0, 5, 60 + 13))
        model = goals.forecast(_frame(walk[:60]), REVENUE_KPI, end, until)
        due, actual = model.weeks.index(until), walk[-4:].mean()
        _, low, high = model.interval(due)
        hits["checked"] += low <= actual <= high
        assert model.spread >= 1.0 and model.checks >= goals.MIN_WEEKS
        model.spread = 1.0
        _, low, high = model.interval(due)
        hits["plain"] += low <= actual <= high
    assert hits["plain"] / 150 < 0.8
    assert hits["checked"] / 150 >= 0.85


def test_with_a_year_of_history_the_forecast_expects_the_season():
    # two years of y = 100 + 30 sin(2 pi t / 52) + N(0, 3^2), cut where the season is about to
    # rise (weeks 104-117): over 40 seeded series the seasonal forecast of weeks 113-116 is off
    # by under 4 on average, while a straight line through the last 26 weeks (falling, then
    # rising from the trough) misses the rise by more than 15.
    rng = np.random.default_rng(52)
    t = np.arange(104 + 13)
    truth = (100 + 30 * np.sin(2 * np.pi * t[-4:] / 52)).mean()
    end, until = _ahead(104, 13)
    seasonal, plain = [], []
    for _ in range(40):
        y = 100 + 30 * np.sin(2 * np.pi * t / 52) + rng.normal(0, 3, len(t))
        model = goals.forecast(_frame(y[:104]), REVENUE_KPI, end, until)
        weeks = model.weeks
        assert model.seasonal
        seasonal.append(model.window(weeks.index(until))[0] - truth)
        line = goals._fit(REVENUE_KPI, weeks, weeks.index(end), weeks.index(until), plain=True)
        plain.append(line.window(weeks.index(until))[0] - truth)
    assert abs(np.mean(seasonal)) < 4
    assert np.mean(plain) < -15


def test_baselines_compare_with_the_same_weeks_last_year(client, rw):
    # 70 weeks of one order a week worth $w in week w: the baseline is the last 12 weeks
    # (58-69), the same weeks a year earlier are 6-17; with 40 weeks there is no year before.
    start = dt.date(2025, 1, 6)
    rows = [(f"o{w}", start + dt.timedelta(weeks=w, days=2), float(w)) for w in range(70)]
    rw.executemany("INSERT INTO orders (order_id, ordered_at, revenue) VALUES (?, ?, ?)", rows)
    as_of = start + dt.timedelta(weeks=70, days=-1)
    table, _ = goals.kpi_baselines(rw, as_of)
    revenue = table.set_index("kpi").loc["revenue"]
    assert (revenue["value"], revenue["last_year"]) == (np.mean(range(58, 70)), np.mean(range(6, 18)))
    table, _ = goals.kpi_baselines(rw, start + dt.timedelta(weeks=40, days=-1))
    assert math.isnan(table.set_index("kpi").loc["revenue", "last_year"])
