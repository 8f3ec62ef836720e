"""The what-if: the static Altair slider (works without a kernel) and the live ipywidgets panel."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from workbook.analytics import goal_book, goals
from workbook.analytics.goals import Goal
from workbook.story import kpi_charts, nb, widgets

AS_OF = dt.date(2026, 6, 28)
DEADLINE = AS_OF + dt.timedelta(weeks=10)


@pytest.fixture
def ctx(client, rw):
    first = dt.date(2025, 12, 29)
    rw.executemany(
        "INSERT INTO orders (order_id, ordered_at, revenue) VALUES (?, ?, ?)",
        [(f"o{w}", first + dt.timedelta(weeks=w, days=2), 100 + 5 * w + (w * 7) % 11) for w in range(26)],
    )
    rw.close()
    context = nb.open_context(client, None, AS_OF)
    yield context
    context.con.close()


def test_what_if_chart_has_a_target_slider(ctx):
    d = goals.delta(ctx.con, Goal("revenue", "increase", target_value=260, deadline=DEADLINE), AS_OF)
    spec = kpi_charts.what_if_chart(d).to_dict()
    (param,) = spec["params"]
    lo, hi, _ = kpi_charts.slider_range(d)
    assert param["name"] == "target" and param["value"] == 260
    assert param["bind"]["input"] == "range" and (param["bind"]["min"], param["bind"]["max"]) == (lo, hi)
    assert lo <= d.current.value and hi >= 260
    text = json.dumps(spec)
    # the needed-per-week label is a Vega expression of the slider: (target - current - what the
    # season brings) / weeks left; no season in a few months of history
    assert d.season_change == 0.0
    assert f"(target - {d.current.value} - 0.0) / {d.weeks_left}" in text


def test_what_if_chart_renders_to_svg(ctx):
    import vl_convert

    d = goals.delta(ctx.con, Goal("revenue", "increase", target_value=260, deadline=DEADLINE), AS_OF)
    svg = vl_convert.vegalite_to_svg(kpi_charts.what_if_chart(d).to_dict())
    # the label shows the initial target's required change: (260 - current) / 10 weeks
    expected = f"+${(260 - d.current.value) / 10:,.2f}"
    assert expected in svg
    assert "<svg" in vl_convert.vegalite_to_svg(kpi_charts.goal_chart(d).to_dict())


def test_slider_range_for_shares_stays_within_0_and_1(ctx):
    d = goals.delta(ctx.con, Goal("revenue", "increase", target_value=260, deadline=DEADLINE), AS_OF)
    d.goal = Goal("churn_rate", "decrease", target_value=0.1, deadline=DEADLINE)
    d.current.value, d.target = 0.2, 0.1
    lo, hi, step = kpi_charts.slider_range(d)
    assert (lo, hi, step) == (0.0, 20.0, 0.1)  # in percent, on round steps


def test_slider_read_outs_are_round_numbers_within_what_the_kpi_can_take(ctx):
    # issue 15: read-outs showed '34927.570333' and '0.846865', a rating slider went to 5.33
    d = goals.delta(ctx.con, Goal("revenue", "increase", target_value=260.123456, deadline=DEADLINE), AS_OF)
    (param,) = kpi_charts.what_if_chart(d).to_dict()["params"]
    bind = param["bind"]
    assert bind["step"] in (0.5, 1, 2, 5) and param["value"] == 260  # 260.12 on the nearest step
    assert all(v % bind["step"] == 0 for v in (bind["min"], bind["max"]))
    d.goal = Goal("avg_rating", "increase", target_value=4.52, deadline=DEADLINE)
    d.current.value, d.target = 4.521429, 4.6
    assert kpi_charts.slider_range(d) == (4.52, 5.0, 0.005)  # 4.52 + 2 * 0.2 * 4.52 would pass 5
    d.goal = Goal("repeat_purchase_rate", "increase", target_value=0.9, deadline=DEADLINE)
    d.current.value, d.target = 0.846865, 0.9
    (param,) = kpi_charts.what_if_chart(d).to_dict()["params"]
    assert (param["value"], param["bind"]["step"], param["bind"]["max"]) == (90.0, 0.1, 100.0)
    assert param["bind"]["name"] == "Target repeat purchase rate (%): "
    d.current.value, d.target = 1.0, 1.0  # everyone came back: nowhere to move
    assert kpi_charts.slider_range(d) == (100.0, 100.0, 0.0001)


def test_what_if_needs_a_judged_goal():
    undefined = goals.Delta(Goal("revenue", "increase"), AS_OF, "undefined")
    with pytest.raises(ValueError, match="no current value"):
        kpi_charts.slider_range(undefined)


def test_the_panel_shows_a_suggested_target_in_cents_not_a_raw_float(ctx):
    suggested = goals.suggest(ctx.con, "revenue", AS_OF).target()
    assert suggested != round(suggested, 2)  # the fixture's +10% suggestion is a raw float
    panel = widgets.WhatIfPanel(ctx)
    assert panel.target.value == round(suggested, 2)


def test_panel_redraws_and_saves(ctx, client):
    panel = widgets.WhatIfPanel(ctx)
    assert panel.metric.value == "revenue"
    panel.target.value = 300.0
    assert panel.delta.target == 300.0
    assert "to reach $300.00" in panel.summary.value
    panel.deadline.value = DEADLINE
    assert panel.delta.weeks_left == 10
    goal_id = panel.save().goal_id
    # saved through a short write; the notebook's read-only connection is open again
    stored = goal_book.load_goals(ctx.con)
    assert [(g.goal_id, g.metric, g.target_value, g.deadline) for g in stored] == [
        (goal_id, "revenue", 300.0, DEADLINE)
    ]
    # the baseline is the 12 weeks before the session's as_of, as shown in the panel
    assert (stored[0].baseline_start, stored[0].baseline_end) == goals.baseline_window(AS_OF)
    assert stored[0].baseline_value == pytest.approx(panel.delta.baseline.value)
    assert "Saved as goal" in panel.message.value


def test_panel_saving_again_updates_and_lists_the_goal(ctx):
    panel = widgets.WhatIfPanel(ctx)
    panel.target.value, panel.deadline.value = 300.0, DEADLINE
    first = panel.save()
    assert not first.updated and panel.saved.value == first.goal_id
    panel.target.value = 320.0
    again = panel.save()
    assert again == goal_book.Saved(first.goal_id, updated=True)
    assert f"Updated goal {first.goal_id}" in panel.message.value
    assert [(g.goal_id, g.target_value) for g in goal_book.load_goals(ctx.con)] == [(first.goal_id, 320.0)]
    assert [label for label, _ in panel.saved.options][1:] == [
        f"{first.goal_id}: Increase revenue per week to $320.00 by {DEADLINE:%d %b %Y}"
    ]


def test_panel_loads_a_saved_goal_to_edit_and_deletes_it(ctx):
    panel = widgets.WhatIfPanel(ctx)
    panel.target.value, panel.deadline.value = 300.0, DEADLINE
    goal_id = panel.save().goal_id
    fresh = widgets.WhatIfPanel(ctx)  # a new session: the panel starts from a suggestion
    assert fresh.target.value != 300.0 and fresh.delete_button.disabled
    fresh.saved.value = goal_id
    assert (fresh.metric.value, fresh.target.value, fresh.deadline.value) == ("revenue", 300.0, DEADLINE)
    assert fresh.delta.target == 300.0 and not fresh.delete_button.disabled
    gone = fresh.delete()
    assert gone.goal_id == goal_id and goal_book.load_goals(ctx.con) == []
    assert f"Deleted goal {goal_id}" in fresh.message.value
    assert fresh.saved.options == (("(a new goal)", None),) and fresh.delete_button.disabled


def test_panel_says_why_a_goal_was_not_saved(ctx):
    panel = widgets.WhatIfPanel(ctx)
    panel.target.value, panel.deadline.value = -50.0, DEADLINE
    assert panel.save() is None
    assert "Not saved: A target of -50 is impossible" in panel.message.value
    assert goal_book.load_goals(ctx.con) == []


def test_panel_only_in_live_sessions(ctx, monkeypatch, capsys):
    monkeypatch.delenv(widgets.LIVE_ENV, raising=False)
    assert not widgets.is_live()
    widgets.what_if_panel(ctx)
    assert capsys.readouterr().out == ""
    monkeypatch.setenv(widgets.LIVE_ENV, "1")
    assert widgets.is_live()


def test_panel_shows_in_a_live_session(ctx, monkeypatch, capsys):
    monkeypatch.setenv(widgets.LIVE_ENV, "1")
    widgets.what_if_panel(ctx)
    assert "VBox" in capsys.readouterr().out  # outside a kernel, display() prints the widget's repr
