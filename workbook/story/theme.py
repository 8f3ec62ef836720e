"""One visual theme for every chart, and chart builders shared by several notebooks.

Charts always receive pre-aggregated frames (a few hundred rows at most), never raw rows.
"""

from __future__ import annotations

import math
import re

import altair as alt
import pandas as pd

PALETTE = ["#2f6f8f", "#e07a5f", "#81b29a", "#f2cc8f", "#6d597a", "#3d405b", "#b5838d", "#90a955"]
GOOD, BAD, NEUTRAL, TARGET = "#2a9d8f", "#d1495b", "#8d99ae", "#3d405b"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


@alt.theme.register("workbook", enable=False)
def theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": FONT,
            "view": {"stroke": None, "continuousWidth": 560, "continuousHeight": 260},
            "range": {"category": PALETTE},
            "axis": {
                "labelColor": "#444",
                "titleColor": "#333",
                "gridColor": "#eee",
                "domainColor": "#999",
                "labelFontSize": 12,
                "titleFontSize": 12,
            },
            # swatches as strong as the marks they stand for (a thin pale stroke did not match)
            "legend": {
                "labelFontSize": 12,
                "titleFontSize": 12,
                "orient": "bottom",
                "symbolStrokeWidth": 3,
                "symbolSize": 160,
                "symbolOpacity": 1,
            },
            "title": {"fontSize": 15, "anchor": "start", "color": "#222"},
            "line": {"strokeWidth": 2.5},
            "bar": {"color": PALETTE[0]},
        }
    }


def enable_theme() -> None:
    alt.theme.enable("workbook")


MAX_TICKS = 8  # date labels along a full-width axis; a mini-chart passes fewer
MONTH_STEPS = (1, 2, 3, 6, 12, 24)
MONTH_DAYS = 30.44
PRECISION = re.compile(r"\.(\d+)")


def time_axis(*dates, ticks: int = MAX_TICKS, **kwargs) -> alt.Axis:
    """A date axis for data spanning `dates` (every date the chart draws: history, projection,
    deadline): ticks on whole weeks ('07 Sep') under ten weeks, else on whole months, two, three
    ... apart ('Sep 2026'), at most `ticks` of them, so no two ticks carry the same label (Vega's
    own weekly ticks under a month format read 'Sep Sep Oct Oct')."""
    stamps = pd.to_datetime(pd.concat([pd.Series(list(d)) for d in dates], ignore_index=True)).dropna()
    days = (stamps.max() - stamps.min()).days if len(stamps) else 0
    if days < 70:
        step = max(1, math.ceil(days / 7 / ticks))
        count = alt.TimeIntervalStep(interval="week", step=step)
        return alt.Axis(format="%d %b", tickCount=count, **kwargs)
    months = days / MONTH_DAYS
    step = next((s for s in MONTH_STEPS if months / s <= ticks), MONTH_STEPS[-1])
    count = alt.TimeIntervalStep(interval="month", step=step)
    return alt.Axis(format="%b %Y" if step < 12 else "%Y", tickCount=count, **kwargs)


def nice_step(raw: float) -> float:
    """The 1-2-5 step (..., 0.1, 0.2, 0.5, 1, 2, 5, 10, ...) at or above `raw` (> 0)."""
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))


def decimals(step: float) -> int:
    """The decimals a multiple of `step` needs to be written exactly (0.05: 2; 5: 0)."""
    return max(0, -math.floor(math.log10(step) + 1e-9))


def value_axis(fmt: str, *values, ticks: int = 10, **kwargs) -> alt.Axis:
    """A number axis formatted by d3 `fmt`, with as many decimals as the span of `values` (every
    value the axis draws) needs so that no two ticks read the same ('$7 $7 $8' for $7.20 to
    $8.40 reads '$7.2 $7.4 ... $8.4'): Vega puts fewer than `ticks` ticks on a 1-2-5 step."""
    shown = 100.0 if "%" in fmt else 1.0  # d3's % multiplies by 100
    found = PRECISION.search(fmt)
    places = int(found.group(1)) if found else 0
    numbers = pd.to_numeric(
        pd.Series([v for vs in values for v in vs], dtype=object), errors="coerce"
    ).dropna()
    if len(numbers) and numbers.max() > numbers.min():
        places = max(places, decimals(nice_step((numbers.max() - numbers.min()) * shown / ticks)))
    if found:
        fmt = PRECISION.sub(f".{places}", fmt, count=1)
    return alt.Axis(format=fmt, **kwargs)
