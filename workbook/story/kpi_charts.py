"""Charts for KPIs, goals and alignment: sparklines, the goal card, the static what-if slider,
and the monthly share of leads, orders, new customers or sessions by source, channel or place.

All take small aggregate frames (weekly or monthly values) from `metrics`, `goals` and `alignment`. The what-if chart
uses a Vega-Lite parameter bound to a slider, so it keeps working in the exported HTML with no
kernel: moving the target redraws the path to it and the improvement needed per week.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from workbook.analytics import metrics
from workbook.analytics.goals import Delta
from workbook.core import fmt
from workbook.story import goal_words
from workbook.story import theme as charts


def axis_format(kpi: metrics.KPI, currency: str = "USD") -> str:
    """d3-format for the KPI's axis; money shows the symbol only for dollars (d3's default)."""
    if kpi.unit == "share" or kpi.unit == "ratio":
        return ".0%"
    if kpi.unit == "money":
        return "$,.0f" if fmt.SYMBOLS.get(currency) == "$" else ",.0f"
    return ",.1f" if kpi.unit == "scale" else ",.0f"


def _title(kpi: metrics.KPI, currency: str) -> str:
    unit = f" ({currency})" if kpi.unit == "money" and fmt.SYMBOLS.get(currency) != "$" else ""
    return f"{kpi.label}{goal_words.per_period(kpi)}{unit}"


def sparklines(frames: dict[str, pd.DataFrame], columns: int = 3) -> alt.FacetChart:
    """Small multiples, one per KPI (label -> `metrics.series` frame), each on its own scale."""
    data = pd.concat(
        [f.loc[f["complete"], ["period", "value"]].assign(kpi=label) for label, f in frames.items()],
        ignore_index=True,
    )
    return (
        alt.Chart(data)
        # points as well as the line: a sparse series (an email KPI of the weeks with a campaign)
        # is a few dots, which a line alone draws as short dashes or not at all
        .mark_line(strokeWidth=1.5, color=charts.PALETTE[0], point=alt.OverlayMarkDef(size=14, filled=True))
        .encode(
            x=alt.X("period:T", title=None, axis=charts.time_axis(data["period"], ticks=3, labelFontSize=9)),
            y=alt.Y(
                "value:Q",
                title=None,
                scale=alt.Scale(zero=False),
                axis=alt.Axis(labelFontSize=9, tickCount=3),
            ),
            tooltip=[alt.Tooltip("period:T", title="week of"), alt.Tooltip("value:Q", format=",.3~f")],
        )
        .properties(width=170, height=55)
        .facet(facet=alt.Facet("kpi:N", title=None, sort=list(frames)), columns=columns)
        .resolve_scale(y="independent")
    )


def _history(d: Delta) -> pd.DataFrame:
    h = d.history
    return h.loc[h["complete"], ["period", "value"]].dropna()


def _time_axis(d: Delta) -> alt.Axis:
    """The date axis of a goal's charts: from its history to its deadline."""
    projected = d.projection["period"] if not d.projection.empty else []
    return charts.time_axis(_history(d)["period"], projected, [d.as_of, d.goal.deadline])


def _value_axis(d: Delta, fmt: str, drawn: tuple[str, ...] = ("value", "low", "high")) -> alt.Axis:
    """The value axis of a goal's charts, from what they draw at first: its history, the `drawn`
    columns of its forecast and its target (a what-if slider moved further widens the span)."""
    forecast = [d.projection[c] for c in drawn if c in d.projection]
    return charts.value_axis(fmt, _history(d)["value"], *forecast, [d.target])


def goal_chart(d: Delta, currency: str = "USD") -> alt.LayerChart:
    """A goal card's chart: weekly history, the target line, the deadline, and the forecast of the
    4-week value with its 95% band (when there is one)."""
    kpi = d.goal.kpi
    y_title, y_fmt = _title(kpi, currency), axis_format(kpi, currency)
    history = _history(d)
    x = alt.X("period:T", title=None, axis=_time_axis(d))
    line = (
        alt.Chart(history)
        .mark_line(color=charts.PALETTE[0])
        .encode(
            x=x,
            y=alt.Y("value:Q", title=y_title, axis=_value_axis(d, y_fmt), scale=alt.Scale(zero=False)),
            tooltip=[
                alt.Tooltip("period:T", title="week of"),
                alt.Tooltip("value:Q", format=y_fmt, title=kpi.label),
            ],
        )
    )
    layers = []
    if not d.projection.empty:  # no forecast once the deadline's weeks are in, or too few weeks
        band = (
            alt.Chart(d.projection)
            .mark_area(opacity=0.18, color=charts.NEUTRAL)
            .encode(x=x, y="low:Q", y2="high:Q")
        )
        trend = (
            alt.Chart(d.projection)
            .mark_line(strokeDash=[4, 3], color=charts.NEUTRAL)
            .encode(x=x, y="value:Q")
        )
        layers = [band, trend]
    marks = pd.DataFrame(
        {"period": [history["period"].iloc[0], pd.Timestamp(d.goal.deadline)], "target": [d.target, d.target]}
    )
    target = (
        alt.Chart(marks)
        .mark_line(color=charts.TARGET, strokeDash=[8, 4], strokeWidth=1.5)
        .encode(x=x, y="target:Q")
    )
    deadline = alt.Chart(marks.tail(1)).mark_rule(color=charts.TARGET, strokeWidth=1).encode(x=x)
    label = (
        alt.Chart(marks.tail(1).assign(text="target by deadline"))
        .mark_text(align="right", dx=-4, dy=-8, fontSize=11, color=charts.TARGET)
        .encode(x=x, y="target:Q", text="text:N")
    )
    return alt.LayerChart(layer=[*layers, line, target, deadline, label]).properties(height=220)


def _vega_number(kpi: metrics.KPI, expr: str, signed: bool = False) -> str:
    """A Vega expression formatting `expr` in the KPI's unit ('+$12', '+0.4 pp', '+0.02')."""
    sign = "+" if signed else ""
    if kpi.unit == "share":
        return f"format(({expr}) * 100, '{sign}.2f') + ' pp'" if signed else f"format({expr}, '.1%')"
    if kpi.unit == "money":
        return f"format({expr}, '{sign}$,.2f')"
    return f"format({expr}, '{sign},.2f')"


def _current(d: Delta) -> float:
    """The current value of a judged goal (the what-if is drawn only for those)."""
    if d.current is None:
        raise ValueError(
            f"a {d.goal.metric} goal with status {d.status!r} has no current value for a what-if"
        )
    return d.current.value


MIN_STEP = 1e-4  # the finest slider step (in shown units): four decimals at most


def slider_scale(kpi: metrics.KPI) -> float:
    """What the slider shows per unit of the KPI: shares in percent (84.7, not 0.847)."""
    return 100.0 if kpi.unit == "share" else 1.0


def slider_range(d: Delta) -> tuple[float, float, float]:
    """(min, max, step) for the target slider, in the units it shows (`slider_scale`): from the
    current value to well past the target, within the values the KPI can take, on a 1-2-5 step
    of about a 200th of the span so the slider's read-out is a round number ('34950', '84.7')."""
    scale = slider_scale(d.goal.kpi)
    current, target = _current(d), d.target
    span = max(abs(target - current), abs(current) * 0.2, 1e-6) * 2
    lo, hi = (current, current + span) if d.goal.direction == "increase" else (current - span, current)
    low, high = (d.goal.kpi.within(v) * scale for v in (lo, hi))
    step = charts.nice_step(max((high - low) / 200, MIN_STEP))  # a KPI at its end: one position
    floor, ceiling = (v * scale for v in d.goal.kpi.possible or (-math.inf, math.inf))
    low, high = math.floor(low / step) * step, math.ceil(high / step) * step  # outward to whole steps
    low, high = (
        low + step if low < floor else low,
        high - step if high > ceiling else high,
    )  # not past the ends
    places = charts.decimals(step)
    return round(low, places), round(high, places), round(step, places)


def what_if_chart(d: Delta, currency: str = "USD") -> alt.LayerChart:
    """The goal with a target slider: the straight path from today to the chosen target and the
    improvement needed per week, beside the history and the trend projection.

    The slider is a Vega-Lite parameter (`alt.binding_range`), so it works in static HTML; it
    shows the target in `slider_scale` units on round steps (`slider_range`).
    """
    kpi = d.goal.kpi
    lo, hi, step = slider_range(d)
    scale = slider_scale(kpi)
    unit = (
        "%"
        if kpi.unit == "share"
        else fmt.SYMBOLS.get(currency, currency).strip()
        if kpi.unit == "money"
        else ""
    )
    shown = min(max(round(d.target * scale / step) * step, lo), hi)
    target = alt.param(
        name="target",
        value=round(shown, charts.decimals(step)),
        bind=alt.binding_range(
            min=lo, max=hi, step=step, name=f"Target {kpi.label.lower()}{f' ({unit})' if unit else ''}: "
        ),
    )
    goal = "target" if scale == 1 else f"(target / {scale:g})"  # the slider's value in the KPI's units
    y_fmt = axis_format(kpi, currency)
    x = alt.X("period:T", title=None, axis=_time_axis(d))
    y = alt.Y(
        "value:Q",
        title=_title(kpi, currency),
        axis=_value_axis(d, y_fmt, drawn=("value",)),  # the trend, no band
        scale=alt.Scale(zero=False),
    )
    history = alt.Chart(_history(d)).mark_line(color=charts.PALETTE[0]).encode(x=x, y=y)
    trend = (
        alt.Chart(d.projection).mark_line(strokeDash=[4, 3], color=charts.NEUTRAL).encode(x=x, y="value:Q")
    )
    now = pd.Timestamp(d.as_of)
    path_data = pd.DataFrame({"period": [now, pd.Timestamp(d.goal.deadline)], "frac": [0.0, 1.0]})
    current = _current(d)
    season = d.season_change if d.season_change == d.season_change else 0.0  # the season's own part
    path = (
        alt.Chart(path_data)
        .transform_calculate(value=f"{current} + datum.frac * ({goal} - {current})")
        .mark_line(color=charts.GOOD, strokeWidth=3, point=True)
        .encode(x=x, y="value:Q")
    )
    needed = (
        f"'Needed: ' + {_vega_number(kpi, f'({goal} - {current} - {season}) / {d.weeks_left}', signed=True)}"
        f" + ' per week\\nto reach ' + {_vega_number(kpi, goal)}"
        f" + ' by {d.goal.deadline:%d %b %Y}'"
    )
    text = (
        alt.Chart(path_data.head(1))
        .transform_calculate(label=needed)
        .mark_text(
            align="left",
            baseline="top",
            fontSize=13,
            fontWeight="bold",
            color=charts.TARGET,
            lineBreak="\n",  # two lines: one does not fit a phone
        )
        .encode(x=alt.value(4), y=alt.value(4), text="label:N")
    )
    return alt.LayerChart(layer=[history, trend, path, text]).add_params(target).properties(height=240)


def share_chart(frame: pd.DataFrame, title: str, unit: str) -> alt.Chart:
    """Monthly share of `unit` (leads, orders ...) per category (`alignment.monthly_shares`), one
    line each; the frame already holds every category a finding names as its own line."""
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:T", title=None, axis=charts.time_axis(frame["month"])),
            y=alt.Y(
                "share:Q",
                title=f"share of the month's {unit}",
                axis=charts.value_axis(".0%"),
                scale=alt.Scale(domain=[0, 1], clamp=True, zero=True, nice=False),
            ),
            color=alt.Color("value:N", title=title),
            tooltip=[
                alt.Tooltip("month:T", format="%B %Y"),
                alt.Tooltip("value:N", title=title),
                alt.Tooltip("count:Q", title=unit),
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
        .properties(height=240)
    )
