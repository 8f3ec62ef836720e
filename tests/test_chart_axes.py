"""Issue 15's formatting of charts, read off the SVG that Vega itself draws (vl_convert): no two
ticks of an axis with the same label, and mini-charts that show a sparse series' values."""

from __future__ import annotations

import re

import altair as alt
import numpy as np
import pandas as pd
import pytest
import vl_convert

from workbook.story import kpi_charts, theme

WEEKS = pd.date_range("2026-08-03", periods=13, freq="W-MON")


@pytest.fixture(autouse=True)
def workbook_theme():
    """Charts drawn as the pages draw them: with the workbook's theme, whichever test ran before."""
    before = alt.theme.active
    theme.enable_theme()
    yield
    alt.theme.enable(before)


def _labels(chart: alt.TopLevelMixin) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", vl_convert.vegalite_to_svg(chart.to_dict()))


def _line(frame: pd.DataFrame, x: alt.Axis, y: alt.Axis) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_line()
        .encode(
            x=alt.X("period:T", title=None, axis=x),
            y=alt.Y("value:Q", title=None, axis=y, scale=alt.Scale(zero=False)),
        )
    )


@pytest.mark.parametrize(
    ("values", "fmt", "first", "last"),
    [
        (7.2 + 0.1 * np.arange(13), "$,.0f", "$7.2", "$8.4"),  # the coffee shop's order value
        (0.02 + 0.002 * np.arange(13), ".0%", "2.0%", "4.0%"),  # an email rate
        (100 + 40 * np.arange(13), "$,.0f", "$100", "$600"),  # a span the format already fits
    ],
)
def test_a_narrow_span_gets_the_decimals_that_keep_its_ticks_apart(values, fmt, first, last):
    frame = pd.DataFrame({"period": WEEKS, "value": values})
    month = alt.Axis(format="%b %Y")
    before = _labels(_line(frame, month, alt.Axis(format=fmt)))
    after = _labels(_line(frame, theme.time_axis(frame["period"]), theme.value_axis(fmt, frame["value"])))
    if fmt == "$,.0f" and values[0] < 10:
        assert before.count("$8") > 1 and before.count("Sep 2026") > 1  # the fault, as Vega draws it
    assert len(after) == len(set(after)), after
    assert after[:2] == ["Sep 2026", "Oct 2026"] and after[2] == first and after[-1] == last


@pytest.mark.parametrize(
    ("start", "weeks", "labels"),
    [
        ("2026-08-03", 6, ["09 Aug", "16 Aug", "23 Aug", "30 Aug", "06 Sep"]),  # weeks (Sundays) under ten
        # two years: three months apart
        ("2024-11-04", 104, [f"{m} {y}" for y in (2025, 2026) for m in ("Jan", "Apr", "Jul", "Oct")]),
    ],
)
def test_date_ticks_fall_on_steps_the_span_allows(start, weeks, labels):
    frame = pd.DataFrame({"period": pd.date_range(start, periods=weeks, freq="W-MON"), "value": 1.0})
    got = _labels(_line(frame, theme.time_axis(frame["period"]), alt.Axis(labels=False)))
    assert got == labels


def test_a_sparse_mini_chart_draws_each_value_as_a_point():
    # an email KPI exists only in the weeks with a campaign: one week in three here
    values = [v if i % 3 == 0 else np.nan for i, v in enumerate(0.2 + 0.01 * np.arange(13))]
    frame = pd.DataFrame({"period": WEEKS, "value": values, "complete": True})
    svg = vl_convert.vegalite_to_svg(kpi_charts.sparklines({"Open rate": frame}).to_dict())
    assert svg.count('aria-roledescription="point"') == 5  # weeks 0, 3, 6, 9, 12
