"""KPI values and goals in words: formatting in the KPI's unit, a goal's line, verdict, the
change still needed and the summary table (the goal math is tested in test_goals.py)."""

from __future__ import annotations

import datetime as dt

from _weekly_revenue import AS_OF, DEADLINE

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
        weekly_revenue, Goal("revenue", "increase", target_change_pct=20, deadline=DEADLINE), AS_OF
    )
    assert "on track" in goal_words.verdict(d) and "+$1.54 per week" in goal_words.verdict(d)


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
    assert row["Status"] == "on track" and row["Target"] == "$237.50"


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
        target=300.0,
        weeks_left=13,
        required_per_week=100 / 13,
        projected=320.0,
        projected_low=300.0,
        projected_high=340.0,
    )
    assert "(segment vip)" in goal_words.verdict(d)
    assert goal_words.verdict(d) == (
        "Revenue per week (segment vip) is $200.00 over the last 4 weeks; it needs +$7.69 per week for "
        "13 weeks to reach $300.00 by 27 Sep 2026; at the current trend it would be about $320.00 by then "
        "(95% range $300.00 to $340.00): **on track**."
    )


def test_verdict_says_when_a_met_target_is_slipping(weekly_revenue):
    # revenue rises in this data set; a "keep revenue below X" goal met today slips by the deadline
    now = goals.delta(weekly_revenue, Goal("revenue", "decrease", target_value=1e9, deadline=DEADLINE), AS_OF)
    target = now.current.value * 1.01
    d = goals.delta(
        weekly_revenue, Goal("revenue", "decrease", target_value=target, deadline=DEADLINE), AS_OF
    )
    assert d.projected > target and d.status != "on track"
    assert f"already meets the target of ${target:,.2f}" in goal_words.verdict(d)
    assert "but at the current trend it would slip to about" in goal_words.verdict(d)


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
