"""One visual theme for every chart, and chart builders shared by several notebooks.

Charts always receive pre-aggregated frames (a few hundred rows at most), never raw rows.
"""

from __future__ import annotations

import altair as alt

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
            "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "bottom"},
            "title": {"fontSize": 15, "anchor": "start", "color": "#222"},
            "line": {"strokeWidth": 2.5},
            "bar": {"color": PALETTE[0]},
        }
    }


def enable_theme() -> None:
    alt.theme.enable("workbook")
