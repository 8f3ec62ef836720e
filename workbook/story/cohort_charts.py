"""Charts of notebook 04 (cohorts and customer value), built from the aggregates of `cohorts`,
`rfm` and `clv` only: cohort x period matrices, pooled curves, segment tables."""

from __future__ import annotations

import altair as alt
import pandas as pd

from workbook.story.theme import BAD, GOOD, NEUTRAL, PALETTE, time_axis, value_axis

_LABEL = {"week": "%Y-%m-%d", "month": "%Y-%m", "quarter": None}
_UNIT = {"week": "week", "month": "month", "quarter": "quarter"}


def cohort_label(start, grain: str) -> str:
    """'2025-03' for a month, '2025 Q1' for a quarter, 'wk 2025-03-03' for a week."""
    start = pd.Timestamp(start)
    if grain == "quarter":
        return f"{start.year} Q{start.quarter}"
    return ("wk " if grain == "week" else "") + start.strftime(_LABEL[grain])


def cohort_heatmap(
    matrix: pd.DataFrame, title: str, value_format: str = ".0%", value_title: str = "share"
) -> alt.LayerChart:
    """Heatmap of a `cohorts.retention` matrix (without `by`): one row per cohort, one column
    per period. In-progress periods (attrs["in_progress"]) are grey cells marked '…'."""
    grain = matrix.attrs.get("grain", "month")
    sizes = matrix.attrs.get("cohort_customers")
    running = matrix.attrs.get("in_progress")
    rows = []
    for cohort, values in matrix.iterrows():
        label = cohort_label(cohort, grain)
        size = int(sizes.loc[cohort]) if sizes is not None else None
        for period, value in values.items():
            if pd.notna(value):
                rows.append(
                    {
                        "cohort": label,
                        "period": int(period),
                        "value": float(value),
                        "customers": size,
                        "state": "complete",
                    }
                )
        if running is not None and pd.notna(running.loc[cohort]):
            rows.append(
                {
                    "cohort": label,
                    "period": int(running.loc[cohort]),
                    "value": None,
                    "customers": size,
                    "state": f"{_UNIT[grain]} in progress",
                }
            )
    data = pd.DataFrame(rows)
    order = [cohort_label(c, grain) for c in matrix.index]
    x = alt.X("period:O", title=f"{_UNIT[grain]}s since first purchase")
    y = alt.Y("cohort:N", sort=order, title=f"first-purchase {_UNIT[grain]} (cohort)")
    tooltip = [
        alt.Tooltip("cohort:N"),
        alt.Tooltip("period:O"),
        alt.Tooltip("customers:Q"),
        alt.Tooltip("value:Q", format=value_format, title=value_title),
        alt.Tooltip("state:N"),
    ]
    base = alt.Chart(data).encode(x=x, y=y, tooltip=tooltip)
    done = base.transform_filter("datum.state == 'complete'")
    cells = done.mark_rect().encode(
        color=alt.Color(
            "value:Q",
            title=value_title,
            scale=alt.Scale(scheme="blues"),
            legend=alt.Legend(format=value_format, orient="right"),
        )
    )
    pending = base.transform_filter("datum.state != 'complete'").mark_rect(color="#e6e6e6")
    text = done.mark_text(fontSize=9).encode(
        text=alt.Text("value:Q", format=value_format),
        color=alt.condition(
            f"datum.value > {0.6 * data['value'].max():.6g}", alt.value("white"), alt.value("#333")
        ),
    )
    marks = pending.mark_text(fontSize=9, color="#777").encode(text=alt.value("…"))
    size = max(14, min(28, 640 // max(len(matrix.columns), 1)))
    return (cells + pending + marks + text).properties(
        title=title, width=size * len(matrix.columns), height=size * len(matrix.index)
    )


MIN_COHORTS = 3  # curve points pooled from fewer cohorts are too noisy to draw


def retention_curves(
    frame: pd.DataFrame, group: str | None, title: str, grain: str = "month"
) -> alt.LayerChart:
    """Pooled retention from `cohorts.curves` (periods >= 1 of `grain`, at least MIN_COHORTS
    cohorts) with 95% Wilson bands per group."""
    data = frame[(frame["period"] >= 1) & (frame["cohorts"] >= MIN_COHORTS)]
    color = alt.Color(f"{group}:N", title=group.replace("_", " ")) if group else alt.value(PALETTE[0])
    base = alt.Chart(data).encode(
        x=alt.X("period:Q", title=f"{grain}s since first purchase", axis=alt.Axis(tickMinStep=1))
    )
    band = base.mark_area(opacity=0.12).encode(y="retention_low:Q", y2="retention_high:Q", color=color)
    line = base.mark_line(point=True).encode(
        y=alt.Y(
            "retention:Q",
            title="share of customers buying",
            axis=value_axis(".0%", data["retention_low"], data["retention_high"]),
        ),
        color=color,
        tooltip=[
            *([alt.Tooltip(f"{group}:N")] if group else []),
            alt.Tooltip("period:Q"),
            alt.Tooltip("retention:Q", format=".1%"),
            alt.Tooltip("customers:Q"),
            alt.Tooltip("retention_low:Q", format=".1%", title="95% low"),
            alt.Tooltip("retention_high:Q", format=".1%", title="95% high"),
        ],
    )
    return (band + line).properties(title=title)


def value_curves(
    frame: pd.DataFrame, group: str | None, title: str, currency: str = "USD", grain: str = "month"
) -> alt.LayerChart:
    """Cumulative net revenue per acquired customer (historic CLTV) with 95% bands (periods
    pooled from at least MIN_COHORTS cohorts)."""
    frame = frame[frame["cohorts"] >= MIN_COHORTS]
    color = alt.Color(f"{group}:N", title=group.replace("_", " ")) if group else alt.value(PALETTE[0])
    base = alt.Chart(frame).encode(
        x=alt.X("period:Q", title=f"{grain}s since first purchase", axis=alt.Axis(tickMinStep=1))
    )
    band = base.mark_area(opacity=0.12).encode(y="value_low:Q", y2="value_high:Q", color=color)
    line = base.mark_line(point=True).encode(
        y=alt.Y(
            "value_per_customer:Q",
            title=f"net revenue per customer so far ({currency})",
            axis=value_axis(",.0f"),
        ),
        color=color,
        tooltip=[
            *([alt.Tooltip(f"{group}:N")] if group else []),
            alt.Tooltip("period:Q"),
            alt.Tooltip("value_per_customer:Q", format=",.2f", title=f"per customer ({currency})"),
            alt.Tooltip("customers:Q"),
        ],
    )
    return (band + line).properties(title=title)


def layer_cake(
    frame: pd.DataFrame, measure: str, cohort_grain: str, title: str, currency: str = "USD"
) -> alt.Chart:
    """Stacked areas per acquisition cohort over calendar periods (complete periods only)."""
    data = frame[frame["complete"]].assign(
        cohort_label=[cohort_label(c, cohort_grain) for c in frame.loc[frame["complete"], "cohort"]]
    )
    order = sorted(data["cohort_label"].unique())
    y_title = "active customers" if measure == "active_customers" else f"net revenue ({currency})"
    return (
        alt.Chart(data)
        .mark_area()
        .encode(
            x=alt.X("period:T", title=None, axis=time_axis(data["period"])),
            y=alt.Y(f"{measure}:Q", stack="zero", title=y_title, axis=value_axis(",.0f")),
            color=alt.Color(
                "cohort_label:N",
                sort=order,
                title="acquired in",
                scale=alt.Scale(scheme="viridis"),
                legend=alt.Legend(columns=4),
            ),
            order=alt.Order("cohort_label:N", sort="ascending"),
            tooltip=[
                alt.Tooltip("period:T", format="%b %Y"),
                alt.Tooltip("cohort_label:N", title="cohort"),
                alt.Tooltip(f"{measure}:Q", format=",.0f"),
            ],
        )
        .properties(title=title)
    )


def rfm_segments(frame: pd.DataFrame, title: str) -> alt.Chart:
    """Share of customers vs share of revenue per RFM segment (from `rfm.segments`)."""
    data = frame.melt(
        id_vars=["segment", "customers", "revenue"],
        value_vars=["customer_share", "revenue_share"],
        var_name="share_of",
        value_name="share",
    )
    data["share_of"] = data["share_of"].map({"customer_share": "customers", "revenue_share": "revenue"})
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("segment:N", sort=list(frame["segment"]), title=None),
            yOffset=alt.YOffset("share_of:N"),
            x=alt.X("share:Q", title="share", axis=value_axis(".0%", [0], data["share"])),
            color=alt.Color("share_of:N", title="share of", scale=alt.Scale(range=[PALETTE[0], PALETTE[1]])),
            tooltip=[
                alt.Tooltip("segment:N"),
                alt.Tooltip("share_of:N"),
                alt.Tooltip("share:Q", format=".1%"),
                alt.Tooltip("customers:Q"),
            ],
        )
        .properties(title=title, height=alt.Step(11))
    )


def holdout(by_frequency: pd.DataFrame, title: str) -> alt.Chart:
    """Predicted vs actual repeat purchases per customer in the holdout weeks, by how many
    repeat purchases customers made in calibration (Fader, Hardie & Lee 2005, figure 4)."""
    data = by_frequency.melt(
        id_vars=["label", "frequency", "customers"],
        value_vars=["actual", "predicted"],
        var_name="series",
        value_name="purchases",
    )
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "label:N",
                sort=list(by_frequency["label"]),
                title="repeat purchases in the calibration period",
                axis=alt.Axis(labelAngle=0),
            ),
            y=alt.Y("purchases:Q", title="repeat purchases per customer in the holdout"),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(domain=["actual", "predicted"], range=[NEUTRAL, PALETTE[0]]),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="calibration purchases"),
                alt.Tooltip("series:N"),
                alt.Tooltip("purchases:Q", format=".2f"),
                alt.Tooltip("customers:Q"),
            ],
        )
        .properties(title=title, width=480)
    )


def hazard_ratios(frame: pd.DataFrame, group: str, title: str) -> alt.LayerChart:
    """Repeat-purchase hazard ratios with 95% intervals against the reference group."""
    data = frame.dropna(subset=["hazard_ratio"])
    reference = frame.attrs.get("reference")
    domain = [min(0.9, data["ratio_low"].min() * 0.9), max(1.1, data["ratio_high"].max() * 1.1)]
    base = alt.Chart(data).encode(y=alt.Y(f"{group}:N", sort=list(data[group]), title=None))
    rule = base.mark_rule(strokeWidth=2).encode(
        x=alt.X(
            "ratio_low:Q",
            scale=alt.Scale(type="log", domain=domain, nice=False),
            title=f"how often customers come back, relative to {reference}",
        ),
        x2="ratio_high:Q",
    )
    point = base.mark_point(filled=True, size=70).encode(
        x="hazard_ratio:Q",
        color=alt.condition("datum.hazard_ratio >= 1", alt.value(GOOD), alt.value(BAD)),
        tooltip=[
            alt.Tooltip(f"{group}:N"),
            alt.Tooltip("hazard_ratio:Q", format=".2f"),
            alt.Tooltip("ratio_low:Q", format=".2f", title="95% low"),
            alt.Tooltip("ratio_high:Q", format=".2f", title="95% high"),
            alt.Tooltip("customers:Q"),
        ],
    )
    one = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(color=NEUTRAL, strokeDash=[4, 3]).encode(x="x:Q")
    return (rule + point + one).properties(title=title)
