"""KPI values and goals in words: formatting in the KPI's unit, a goal's line, verdict, the
change still needed and the summary table (the goal math is tested in test_goals.py)."""

from __future__ import annotations

import datetime as dt

from _weekly_revenue import AS_OF, BASE, DEADLINE, NOW

from workbook.analytics import goals, metrics
from workbook.analytics.goals import Delta, Goal
from workbook.analytics.metrics import WindowValue
from workbook.story import goal_words


def test_format_value():
    assert goal_words.format_value(metrics.KPIS["revenue"], 1234.5) == "$1,234"
    assert goal_words.format_value(metrics.KPIS["churn_rate"], 0.123) == "12.3%"
    assert goal_words.format_change(metrics.KPIS["churn_rate"], -0.02) == "-2.0 pp"
    assert goal_words.format_change(metrics.KPIS["revenue"], -20) == "-$20.00"


def test_verdict_of_a_goal_on_track(weekly_revenue):
    d = goals.delta(
        weekly_revenue, Goal("revenue", "increase", target_change_pct=10, deadline=DEADLINE), AS_OF
    )
    sentence = goal_words.verdict(d)
    assert d.chance > 0.99 and sentence.endswith("over a 99% chance of reaching it, **on track**.")
    assert f"+${(BASE * 1.1 - NOW) / 13:.2f} per week for 13 weeks" in sentence


def test_a_change_that_rounds_to_nothing_has_no_minus_sign():
    revenue, rate = metrics.get("revenue"), metrics.get("repeat_purchase_rate")
    assert goal_words.format_change(revenue, -0.001) == "+$0.00"  # was "-$0.00"
    assert goal_words.format_change(revenue, -0.02) == "-$0.02"
    assert goal_words.format_change(rate, -0.00001) == "+0.00 pp"
    assert goal_words.format_change(rate, -0.0002) == "-0.02 pp"


def test_a_difference_is_said_as_a_side_never_as_negative_money():
    revenue, rate = metrics.get("revenue"), metrics.get("repeat_purchase_rate")
    assert goal_words.compared(revenue, -284.8) == "$284.80 below"
    assert goal_words.compared(rate, 0.085) == "8.5 pp above"
    assert goal_words.compared(revenue, 0.0) == "level with"


def test_chance_in_words():
    assert [goal_words.chance(x) for x in (0.004, 0.62, 0.81, 0.08, 0.11, 0.996)] == [
        "under a 1% chance",
        "a 62% chance",
        "an 81% chance",
        "an 8% chance",
        "an 11% chance",
        "over a 99% chance",
    ]


def test_undefined_goal_in_words(weekly_revenue):
    d = goals.delta(weekly_revenue, Goal("revenue", "increase"), AS_OF)
    assert "no target and no deadline" in goal_words.why(d)
    assert (
        "A SMART version, with a proposed target and deadline: Increase revenue per week by 10%"
        in goal_words.verdict(d)
    )


def test_a_vague_goal_in_words_keeps_the_given_deadline(weekly_revenue):
    d = goals.delta(weekly_revenue, Goal("revenue", "increase", deadline=dt.date(2027, 3, 31)), AS_OF)
    assert (
        "A SMART version, with a proposed target: Increase revenue per week by 10% (to $217.71) by 31 Mar 2027."
        in (goal_words.verdict(d))
    )


def test_why_there_is_not_enough_data():
    few = Delta(Goal("revenue", "increase"), AS_OF, "not enough data", reason=goals.TOO_FEW_WEEKS)
    assert "fewer than 8" in goal_words.why(few)
    unavailable = Delta(Goal("nps", "increase"), AS_OF, "not enough data", reason=goals.UNAVAILABLE)
    assert "feedback" in goal_words.why(unavailable)


def test_summary_table(weekly_revenue):
    d = goals.delta(
        weekly_revenue, Goal("revenue", "increase", target_change_pct=20, deadline=DEADLINE), AS_OF
    )
    row = goal_words.summary_table([d]).iloc[0]
    assert (row["Status"], row["Target"]) == (d.status, "$237.50")
    assert row["Chance"] == f"{d.chance:.0%}"


def test_verdict_when_the_target_is_already_met(weekly_revenue):
    d = goals.delta(weekly_revenue, Goal("revenue", "increase", target_value=150, deadline=DEADLINE), AS_OF)
    assert d.status == "on track" and "already meets the target of $150.00" in goal_words.verdict(d)


def test_needed_in_words(weekly_revenue):
    ahead = goals.delta(
        weekly_revenue, Goal("revenue", "increase", target_value=150, deadline=DEADLINE), AS_OF
    )
    behind = goals.delta(
        weekly_revenue, Goal("revenue", "increase", target_value=243, deadline=DEADLINE), AS_OF
    )
    assert goal_words.needed(ahead) == "none: already at the target"
    assert goal_words.needed(behind) == "+$1.96 per week"  # (243 - 217.5) / 13
    assert goal_words.summary_table([ahead, behind])["Needed"].tolist() == [
        goal_words.needed(ahead),
        goal_words.needed(behind),
    ]


def test_verdict_of_a_segment_goal():
    goal = Goal("revenue", "increase", target_value=300, deadline=DEADLINE, segment="vip")
    d = Delta(
        goal,
        AS_OF,
        "on track",
        current=WindowValue(200.0, 190.0, 210.0, 4),
        last_year=WindowValue(150.0, 140.0, 160.0, 4),
        target=300.0,
        weeks_left=13,
        season_change=20.0,
        required_per_week=80 / 13,
        slope_per_week=9.0,
        trend_now=205.0,
        projected=320.0,
        projected_low=300.0,
        projected_high=340.0,
        chance=0.97,
        seasonal=True,
        fitted_weeks=26,
    )
    assert goal_words.verdict(d) == (
        "Revenue per week (segment vip) is $200.00 over the last 4 weeks ($150.00 in the same weeks last "
        "year); it needs +$6.15 per week for 13 weeks to reach $300.00 by 27 Sep 2026, beyond the +$20.00 "
        "the season brings by then (same weeks last year); the trend of the last 26 weeks (+$9.00 per "
        "week, allowing for the season) points to about $320.00 for the 4 weeks before the deadline (95% "
        "range $300.00 to $340.00): a 97% chance of reaching it, **on track**."
    )


def test_a_need_too_small_to_show_beyond_the_season_is_none():
    # leads: the gap (+9.20) is the season's change (+9.17) but for 0.03 over 13 weeks
    goal = Goal("leads", "increase", target_value=35.5, deadline=DEADLINE)
    d = Delta(
        goal,
        AS_OF,
        "at risk",
        current=WindowValue(26.3, 16.5, 36.0, 4),
        target=35.5,
        weeks_left=13,
        season_change=9.17,
        required_per_week=0.03 / 13,
        slope_per_week=-0.2,
        trend_now=26.0,
        projected=35.8,
        projected_low=3.4,
        projected_high=68.2,
        chance=0.51,
        seasonal=True,
        fitted_weeks=26,
    )
    assert goal_words.needed(d) == "none beyond the season's usual change"  # was "+0.0 per week"
    assert (
        "+9.2 the season brings by then (same weeks last year) would reach the target"
        in goal_words.verdict(d)
    )


def test_a_season_that_takes_away_is_made_up_for_not_gone_beyond():
    goal = Goal("repeat_purchase_rate", "increase", target_value=0.973, deadline=DEADLINE)
    d = Delta(
        goal,
        AS_OF,
        "at risk",
        current=WindowValue(0.948, 0.876, 1.0, 4),
        target=0.973,
        weeks_left=13,
        season_change=-0.018,
        required_per_week=(0.025 + 0.018) / 13,
        slope_per_week=0.0021,
        trend_now=0.95,
        projected=0.962,
        projected_low=0.886,
        projected_high=1.0,
        chance=0.38,
        seasonal=True,
        fitted_weeks=26,
    )
    verdict = goal_words.verdict(d)
    assert "making up for the season's usual change of -1.8 pp by then (same weeks last year)" in verdict
    assert "beyond the -1.8 pp" not in verdict


def test_verdict_says_when_a_met_target_is_slipping(weekly_revenue):
    # revenue rises in this data set; a "keep revenue below X" goal met today slips by the deadline
    now = goals.delta(weekly_revenue, Goal("revenue", "decrease", target_value=1e9, deadline=DEADLINE), AS_OF)
    target = now.current.value * 1.01
    d = goals.delta(
        weekly_revenue, Goal("revenue", "decrease", target_value=target, deadline=DEADLINE), AS_OF
    )
    assert d.projected > target and d.chance < goals.ON_TRACK_CHANCE and d.status != "on track"
    assert f"already meets the target of ${target:,.2f}" in goal_words.verdict(d)
    assert f"points to about ${d.projected:,.2f}" in goal_words.verdict(d)


def test_a_goal_segment_is_client_text_in_sentences_tables_and_the_live_panel(weekly_revenue):
    import html

    from test_nb import markdown_to_html

    hostile = "**VIP** [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    goal = Goal("revenue", "increase", target_change_pct=20, deadline=DEADLINE, segment=hostile)
    sentence = goal_words.describe(goal)
    page = markdown_to_html(sentence)
    assert "<strong>" not in page and "<a " not in page and "<img" not in page
    assert hostile in html.unescape(page)  # shown literally
    # a table cell (escaped by the table itself) gets the sentence without Markdown or references
    d = goals.delta(weekly_revenue, goal, AS_OF)
    assert hostile in goal_words.summary_table([d])["Goal"].iloc[0]


def test_a_gap_the_season_closes_on_its_own():
    # revenue at $200 with a $240 target; the same weeks last year rose by $50 towards the deadline
    d = Delta(
        Goal("revenue", "increase", target_value=240, deadline=DEADLINE),
        AS_OF,
        "on track",
        current=WindowValue(200.0, 190.0, 210.0, 4),
        target=240.0,
        weeks_left=13,
        season_change=50.0,
        required_per_week=-10 / 13,
        slope_per_week=0.5,
        trend_now=200.0,
        projected=252.0,
        projected_low=230.0,
        projected_high=274.0,
        chance=0.86,
        seasonal=True,
        fitted_weeks=26,
    )
    assert (
        "the +$50.00 the season brings by then (same weeks last year) would reach the target of $240.00 by 27 Sep 2026 on its own"
        in goal_words.verdict(d)
    )
    assert goal_words.needed(d) == "none beyond the season's usual change"
