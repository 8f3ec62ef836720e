"""Charts of notebook 03 (personalization impact), from the results of `experiments`,
`segments`, `attribution`, `causal` and `indices`; and the names charts and sentences share.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import altair as alt
import pandas as pd

from workbook.analytics import attribution as at
from workbook.analytics import causal
from workbook.analytics import experiments as ex
from workbook.analytics import indices as ix
from workbook.analytics import segments as sg
from workbook.story import theme

METRIC_NAMES = {
    "open": "open rate",
    "click": "click rate",
    "conversion": "conversion rate",
    "revenue": "revenue per recipient",
}
FOREST_OUTCOMES = {"win": "clear gain", "loss": "clear loss", "inconclusive": "inconclusive"}
MODEL_LABELS = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "time_decay": "Time decay",
    "position_based": "Position based (40/20/40)",
    "markov": "Markov removal effect",
}
ROLLOUT_GROUPS = {
    "treated": "treated",
    "comparison": "comparison",
    "counterfactual": "treated without the rollout (estimate)",
}


def arms_frame(test: ex.ABTest) -> pd.DataFrame:
    """Per arm and rate metric: the rate and its Wilson 95% interval (what `arms_chart` draws)."""
    rows = []
    for metric in ex.RATE_METRICS:
        for a in test.arms:
            low, high = a.interval(metric)
            rows.append(
                {
                    "metric": METRIC_NAMES[metric],
                    "arm": a.variant,
                    "rate": a.rate(metric),
                    "low": low,
                    "high": high,
                    "recipients": a.recipients,
                    "role": "control" if a.variant == test.control else "variant",
                }
            )
    return pd.DataFrame(rows)


def arms_chart(test: ex.ABTest) -> alt.FacetChart:
    """Open, click and conversion rate per arm with Wilson 95% error bars, one panel per metric."""
    data = arms_frame(test)
    base = alt.Chart().encode(y=alt.Y("arm:N", title=None))
    color = alt.Color(
        "role:N",
        scale=alt.Scale(domain=["control", "variant"], range=[theme.NEUTRAL, theme.PALETTE[0]]),
        title=None,
    )
    bars = base.mark_rule(strokeWidth=2).encode(
        x=alt.X(
            "low:Q",
            title="rate, with its 95% interval",
            axis=theme.value_axis(".1%", data["low"], data["high"], tickCount=5),
        ),
        x2="high:Q",
        color=color,
    )
    points = base.mark_point(filled=True, size=90, opacity=1).encode(
        x="rate:Q",
        color=color,
        tooltip=[
            alt.Tooltip("arm:N"),
            alt.Tooltip("metric:N"),
            alt.Tooltip("rate:Q", format=".2%"),
            alt.Tooltip("low:Q", format=".2%", title="95% interval from"),
            alt.Tooltip("high:Q", format=".2%", title="95% interval to"),
            alt.Tooltip("recipients:Q", format=","),
        ],
    )
    return (
        alt.layer(bars, points, data=data)
        .properties(width=420, height=alt.Step(28))
        .facet(
            row=alt.Row(
                "metric:N",
                title=None,
                sort=list(METRIC_NAMES.values()),
                header=alt.Header(labelAngle=0, labelAlign="left", labelFontWeight="bold"),
            ),
            title=f"{test.name}: rates per version"
            + ("" if test.trustworthy else " (split broken: not trustworthy)"),
        )
        .resolve_scale(x="independent")
    )


def lift_frame(tests: Iterable[ex.ABTest | None], metric: str = "conversion") -> pd.DataFrame:
    """Per trustworthy test and arm: absolute lift on `metric` with its 95% interval."""
    rows = []
    for t in tests:
        if t is None or not t.trustworthy:
            continue
        several = sum(c.metric == metric for c in t.comparisons) > 1
        for c in t.comparisons:
            if c.metric != metric or math.isnan(c.lift.low):
                continue
            rows.append(
                {
                    "test": f"{t.name}: {c.arm}" if several else t.name,
                    "arm": c.arm,
                    "lift": c.lift.value,
                    "low": c.lift.low,
                    "high": c.lift.high,
                    "outcome": FOREST_OUTCOMES[ex.outcome(t, c)],
                    "pooled": t.source == "pooled",
                }
            )
    return pd.DataFrame(rows, columns=["test", "arm", "lift", "low", "high", "outcome", "pooled"])


def lift_chart(tests: Iterable[ex.ABTest | None], metric: str = "conversion") -> alt.LayerChart:
    """Forest plot: each trustworthy test's lift on `metric` with its 95% interval, and zero."""
    data = lift_frame(tests, metric)
    unit = ".1%" if metric in ex.RATE_METRICS else ",.2f"
    base = alt.Chart(data).encode(y=alt.Y("test:N", sort=None, title=None, axis=alt.Axis(labelLimit=260)))
    rules = base.mark_rule(strokeWidth=2, color=theme.NEUTRAL).encode(
        x=alt.X(
            "low:Q",
            title=f"difference in {METRIC_NAMES[metric]} vs control, with its 95% interval",
            axis=theme.value_axis(unit, data["low"], data["high"], [0]),
        ),
        x2="high:Q",
    )
    points = base.mark_point(filled=True, size=90, opacity=1).encode(
        x="lift:Q",
        color=alt.Color(
            "outcome:N",
            title=None,
            scale=alt.Scale(
                domain=["clear gain", "inconclusive", "clear loss"],
                range=[theme.GOOD, theme.NEUTRAL, theme.BAD],
            ),
        ),
        shape=alt.Shape("pooled:N", legend=None),
        tooltip=[
            "test:N",
            alt.Tooltip("lift:Q", format=unit),
            alt.Tooltip("low:Q", format=unit),
            alt.Tooltip("high:Q", format=unit),
            "outcome:N",
        ],
    )
    zero = (
        alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color=theme.TARGET, strokeDash=[4, 3]).encode(x="x:Q")
    )
    return alt.LayerChart(layer=[rules, points, zero]).properties(width=480, height=alt.Step(24))


def segments_chart(econ: sg.SegmentEconomics) -> alt.LayerChart:
    """Conversion rate per segment, personalized next to generic, with Wilson intervals."""
    data = econ.table[["segment", "arm", "conversion", "conversion_low", "conversion_high", "recipients"]]
    order = data["segment"].drop_duplicates().tolist()
    y = alt.Y("segment:N", sort=order, title=None)
    offset = alt.YOffset("arm:N", sort=list(sg.ARMS))
    color = alt.Color("arm:N", sort=list(sg.ARMS), title=None)
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "conversion:Q",
                axis=theme.value_axis(".1%", [0], data["conversion"]),
                title="Recipients who ordered from the email",
            ),
            y=y,
            yOffset=offset,
            color=color,
            tooltip=[
                "segment:N",
                "arm:N",
                alt.Tooltip("conversion:Q", format=".2%"),
                alt.Tooltip("conversion_low:Q", format=".2%"),
                alt.Tooltip("conversion_high:Q", format=".2%"),
                alt.Tooltip("recipients:Q", format=","),
            ],
        )
    )
    rules = (
        alt.Chart(data)
        .mark_rule(color="#333")
        .encode(x="conversion_low:Q", x2="conversion_high:Q", y=y, yOffset=offset)
    )
    return (bars + rules).properties(
        height=alt.Step(14), title="Conversion from A/B-test emails, personalized vs generic, by segment"
    )


def attribution_chart(att: at.Attribution) -> alt.Chart:
    """One chart, every model side by side: share of credit per channel, with intervals."""
    data = att.table.assign(model_label=att.table["model"].map(MODEL_LABELS))
    order = att.wide().index.tolist()
    y = alt.Y("channel:N", sort=order, title=None)
    color = alt.Color("model_label:N", sort=[MODEL_LABELS[m] for m in at.MODELS], title="Model")
    offset = alt.YOffset("model_label:N", sort=[MODEL_LABELS[m] for m in at.MODELS])
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "share:Q", axis=theme.value_axis(".0%", [0], data["share"]), title="Share of credited orders"
            ),
            y=y,
            yOffset=offset,
            color=color,
            tooltip=[
                alt.Tooltip("channel:N"),
                alt.Tooltip("model_label:N", title="Model"),
                alt.Tooltip("share:Q", format=".1%"),
                alt.Tooltip("share_low:Q", format=".1%"),
                alt.Tooltip("share_high:Q", format=".1%"),
                alt.Tooltip("conversions:Q", format=",.1f", title="orders credited"),
            ],
        )
    )
    rules = (
        alt.Chart(data)
        .mark_rule(color="#333", opacity=0.6)
        .encode(x="share_low:Q", x2="share_high:Q", y=y, yOffset=offset)
    )
    return (bars + rules).properties(
        height=alt.Step(9), title="Which channels get the credit, under six attribution models"
    )


def rollout_chart(result: causal.DiD) -> alt.LayerChart:
    """Weekly repeat orders per customer, treated vs comparison, with the rollout marked."""
    data = result.weekly.assign(group=result.weekly["group"].map(ROLLOUT_GROUPS)).assign(
        week_start=lambda d: [
            pd.Timestamp(result.rollout.start) + pd.Timedelta(weeks=int(w)) for w in d["week"]
        ]
    )
    groups = list(ROLLOUT_GROUPS.values())
    lines = (
        alt.Chart(data)
        .transform_window(
            average="mean(orders_per_customer)",
            frame=[-3, 0],
            groupby=["group"],
            sort=[{"field": "week"}],
        )
        .mark_line()
        .encode(
            x=alt.X("week_start:T", title="Week starting", axis=theme.time_axis(data["week_start"])),
            y=alt.Y("average:Q", title="Repeat orders per customer per week (4-week average)"),
            color=alt.Color(
                "group:N",
                sort=groups,
                title=None,
                legend=alt.Legend(labelLimit=320),
                scale=alt.Scale(domain=groups, range=[theme.PALETTE[1], theme.PALETTE[0], theme.NEUTRAL]),
            ),
            strokeDash=alt.StrokeDash(
                "group:N",
                sort=groups,
                title=None,
                scale=alt.Scale(domain=groups, range=[[1, 0], [1, 0], [5, 4]]),
            ),
            tooltip=[
                "group:N",
                alt.Tooltip("week_start:T", title="week of"),
                alt.Tooltip("orders_per_customer:Q", format=".4f", title="this week"),
                alt.Tooltip("average:Q", format=".4f", title="4-week average"),
            ],
        )
    )
    start = alt.Chart(pd.DataFrame({"x": [pd.Timestamp(result.rollout.start)], "label": ["rollout"]}))
    rule = start.mark_rule(color=theme.TARGET, strokeDash=[2, 2]).encode(x="x:T")
    text = start.mark_text(align="left", dx=4, dy=-110, color=theme.TARGET).encode(x="x:T", text="label:N")
    return (lines + rule + text).properties(
        title=f"{result.rollout.name}: before the rollout the two groups should move in step"
    )


def index_chart(index: ix.CompositeIndex, measures: list[str]) -> alt.LayerChart:
    """The index's components: score (or money) with interval, labelled with their weights;
    `measures` are the components' measures in words (`impact.component_measure`)."""
    df = index.frame().assign(measure=measures).dropna(subset=["score"])
    money = index.scale != "0-100"
    df["label"] = [
        f"{n} (divides)" if money and w == 0 else f"{n} (weight {w:g})"
        for n, w in zip(df["name"], df["weight"], strict=True)
    ]
    x = alt.X(
        "score:Q",
        title="Amount" if money else "Score (0-100, higher is better)",
        scale=alt.Scale(domain=[0, 100]) if not money else alt.Undefined,
    )
    y = alt.Y("label:N", sort=None, title=None)
    bars = (
        alt.Chart(df)
        .mark_bar(color=theme.PALETTE[0])
        .encode(x=x, y=y, tooltip=["name:N", "measure:N", alt.Tooltip("score:Q", format=".1f"), "weight:Q"])
    )
    rules = alt.Chart(df).mark_rule(color="#333").encode(x="low:Q", x2="high:Q", y=y)
    layers = [bars, rules]
    if not money and index.available:
        layers.append(
            alt.Chart(pd.DataFrame({"v": [index.value]}))
            .mark_rule(color=theme.TARGET, strokeDash=[4, 3])
            .encode(x="v:Q")
        )
    title = f"{index.name}: " + (
        f"{index.value:.0f} / 100 (dashed line)" if not money else f"{index.value:.1f}"
    )
    return alt.LayerChart(layer=layers).properties(title=title, height=alt.Step(22))
