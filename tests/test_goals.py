"""Goal math on a hand-made weekly revenue line: required rate, projection, status, storage.
(The goals in words are tested in test_goal_words.py.)"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from _weekly_revenue import AS_OF, BASE, DEADLINE, FIRST, NOW, REVENUE, WEEKS
from scipy import stats

from workbook import store
from workbook.analytics import goals
from workbook.analytics.goals import Goal
from workbook.core.errors import WorkbookError


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
    assert d.required_per_week == pytest.approx(20 / 13)
    # the projection is scipy's Theil-Sen line on the same weekly values (tolerance 1e-9)
    ref = stats.theilslopes(REVENUE, WEEKS, 0.95)
    t_deadline = (DEADLINE - FIRST).days / 7
    assert d.slope_per_week == pytest.approx(ref.slope, rel=1e-9)
    assert d.slope_per_week == pytest.approx(5.0, abs=0.3)  # the freak week does not bend it
    assert (d.slope_low, d.slope_high) == pytest.approx((ref.low_slope, ref.high_slope), rel=1e-9)
    assert d.projected == pytest.approx(ref.intercept + ref.slope * t_deadline, rel=1e-9)
    assert d.projected_low <= d.projected <= d.projected_high
    assert d.status == "on track"


def test_decrease_goal_relative_target(weekly_revenue):
    d = goals.delta(
        weekly_revenue, Goal("revenue", "decrease", target_change_pct=-10, deadline=DEADLINE), AS_OF
    )
    assert d.target == pytest.approx(BASE * 0.9)  # 178.125
    assert d.required_per_week == pytest.approx((BASE * 0.9 - NOW) / 13)
    assert d.status == "off track"  # revenue keeps rising by ~5 a week


def test_absolute_target_at_risk_when_only_the_band_reaches_it(weekly_revenue):
    ref = stats.theilslopes(REVENUE, WEEKS, 0.95)
    t_d, t_mid, y_mid = (DEADLINE - FIRST).days / 7, np.median(WEEKS), np.median(REVENUE)
    between = y_mid + (ref.slope + ref.high_slope) / 2 * (t_d - t_mid)  # above the line, inside the band
    d = goals.delta(
        weekly_revenue, Goal("revenue", "increase", target_value=between, deadline=DEADLINE), AS_OF
    )
    assert d.projected < between <= d.projected_high
    assert d.status == "at risk"


@pytest.mark.parametrize(
    "direction,projected,low,high,expected",
    [
        ("increase", 110, 100, 120, "on track"),
        ("increase", 90, 80, 105, "at risk"),
        ("increase", 90, 80, 95, "off track"),
        ("decrease", 90, 80, 110, "on track"),
        ("decrease", 110, 95, 120, "at risk"),
        ("decrease", 110, 105, 120, "off track"),
    ],
)
def test_status_rule(direction, projected, low, high, expected):
    goal = Goal("revenue", direction, target_value=100, deadline=DEADLINE)
    assert goals.status(goal, 100, 100, projected, low, high, deadline_passed=False) == expected


def test_status_after_the_deadline_uses_the_current_value():
    goal = Goal("churn_rate", "decrease", target_value=0.2, deadline=DEADLINE)
    assert goals.status(goal, 0.2, 0.19, 0.5, 0.4, 0.6, deadline_passed=True) == "on track"
    assert goals.status(goal, 0.2, 0.21, 0.1, 0.0, 0.2, deadline_passed=True) == "off track"


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


def test_not_enough_weeks(client, rw):
    rw.execute(
        "INSERT INTO orders (order_id, ordered_at, revenue) VALUES ('a', '2026-06-10', 5), "
        "('b', '2026-06-17', 6)"
    )
    d = goals.delta(rw, Goal("revenue", "increase", target_value=10, deadline=DEADLINE), AS_OF)
    assert d.status == "not enough data" and d.reason == goals.TOO_FEW_WEEKS


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
    # 26 weeks falling by $18 a week from $500: Theil-Sen reaches about -$200 by the deadline,
    # which weekly revenue cannot be; the projection and its band stop at $0.
    rows = [(f"o{w}", FIRST + dt.timedelta(weeks=w, days=2), 500.0 - 18 * w) for w in range(26)]
    rw.executemany("INSERT INTO orders (order_id, ordered_at, revenue) VALUES (?, ?, ?)", rows)
    rw.close()
    con = store.read(client)
    try:
        d = goals.delta(con, Goal("revenue", "increase", target_value=600.0, deadline=DEADLINE), AS_OF)
    finally:
        con.close()
    unclipped = stats.theilslopes([500.0 - 18 * w for w in range(26)], np.arange(26), 0.95)
    assert unclipped.intercept + unclipped.slope * (DEADLINE - FIRST).days / 7 < 0
    assert (d.projected, d.projected_low) == (0.0, 0.0)
    assert d.projection[["value", "low", "high"]].min().min() == 0.0
    assert d.status == "off track"
