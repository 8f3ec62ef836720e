"""Notebook 04's narrative: plain-words sentences and findings computed from the aggregates of
`cohorts`, `rfm` and `clv` (never hard-coded), each number with its uncertainty, and the
`*_section(ctx)` functions the notebook calls (compute, say, show)."""

from __future__ import annotations

import math

import pandas as pd

from workbook import store
from workbook.analytics import clv, cohorts, quality
from workbook.analytics import rfm as rfm_
from workbook.core import fmt
from workbook.core.errors import WorkbookError
from workbook.story import cohort_charts as charts
from workbook.story import nb

CHANNEL_NAMES = {
    "paid_social": "paid social",
    "paid_search": "paid search",
    "organic_search": "organic search",
    "email": "email",
    "referral": "referrals",
    "direct": "direct visits",
    "unknown": "an unknown channel",
}


def _day(day) -> str:
    return f"{day.day} {day:%B %Y}"


def channel_name(group: str) -> str:
    return CHANNEL_NAMES.get(group, str(group).replace("_", " "))


def times(ratio: float) -> str:
    """2.03 -> 'about twice as', 3.0 -> 'about three times as', 1.4 -> '1.4 times as'."""
    words = {2: "about twice as", 3: "about three times as", 4: "about four times as"}
    nearest = round(ratio)
    if nearest in words and abs(ratio - nearest) < 0.1:
        return words[nearest]
    return f"{ratio:.1f} times as"


def coverage(share: dict) -> str:
    """What the cohort analysis can and cannot see (anonymous sales)."""
    if not share["orders"]:
        return "No orders are imported yet, so there is nobody to follow."
    if not share["anonymous_orders"]:
        return (
            f"Every one of the {fmt.num(share['orders'])} orders is linked to a customer, so "
            "cohorts below follow all sales."
        )
    return (
        f"{fmt.num(share['anonymous_orders'])} of {fmt.num(share['orders'])} orders "
        f"({fmt.pct(share['order_share'])}, {fmt.pct(share['revenue_share'])} of revenue) have no "
        "customer attached (walk-in or guest sales). They cannot be followed over time, so the "
        "cohorts, retention and customer value below describe identified customers only."
    )


def _at(curve: pd.DataFrame, period: int) -> pd.Series | None:
    rows = curve[curve["period"] == period]
    return rows.iloc[0] if len(rows) else None


def retention(curve: pd.DataFrame) -> str | None:
    """Month-1 and month-6 (or the latest) pooled retention with 95% intervals."""
    first = _at(curve, 1)
    if first is None:
        return None
    text = (
        f"Of {fmt.num(first['customers'])} customers whose first month after acquisition is "
        f"over, **{fmt.pct(first['retention'])}** bought again in that month "
        f"(95% interval {fmt.interval(first['retention_low'], first['retention_high'])})."
    )
    later = _at(curve, 6)
    if later is None:
        later = curve.iloc[-1]
    if later["period"] > 1:
        text += (
            f" In month {int(later['period'])} after their first purchase, "
            f"{fmt.pct(later['retention'])} of customers buy "
            f"({fmt.interval(later['retention_low'], later['retention_high'])}, "
            f"{fmt.num(later['customers'])} customers observed that long)."
        )
    return text


def retention_finding(curve: pd.DataFrame) -> str | None:
    first = _at(curve, 1)
    if first is None:
        return None
    return (
        f"{fmt.pct(first['retention'])} of new customers buy again in the month after their "
        f"first purchase (95% interval {fmt.interval(first['retention_low'], first['retention_high'])})."
    )


def revenue_retention(matrix: pd.DataFrame) -> str | None:
    """Median revenue retention one period after acquisition, over complete cohorts."""
    if 1 not in matrix.columns or matrix[1].notna().sum() == 0:
        return None
    values = matrix[1].dropna()
    return (
        f"In the month after acquisition, a cohort brings {fmt.pct(values.median())} of its "
        f"first month's revenue (median over {len(values)} cohorts; the middle half of cohorts "
        f"{fmt.interval(values.quantile(0.25), values.quantile(0.75))})."
    )


def channels(hazard: pd.DataFrame, group: str = "acquisition_channel") -> tuple[str, str | None]:
    """The channel comparison sentence and, when the difference is clear, the finding."""
    rated = hazard.dropna(subset=["hazard_ratio"])
    reference = hazard.attrs["reference"]
    top = rated.iloc[0]
    if top[group] == reference:
        return "No acquisition channel brings customers who come back more often than the others.", None
    ratio, low, high = top["hazard_ratio"], top["ratio_low"], top["ratio_high"]
    best, worst = nb.text(channel_name(top[group])), nb.text(channel_name(reference))
    worst_rate = hazard.set_index(group).loc[reference, "rate"]
    text = (
        f"Customers won through **{best}** come back **{times(ratio)} often** as customers "
        f"from **{worst}**: {top['rate']:.2f} vs {worst_rate:.2f} repeat purchases per customer "
        f"per month, comparing customers of the same age (hazard ratio {ratio:.2f}, 95% "
        f"interval {low:.2f} to {high:.2f}, {fmt.num(top['customers'])} and "
        f"{fmt.num(hazard.set_index(group).loc[reference, 'customers'])} customers)."
    )
    if low <= 1:
        return text + " The difference could still be chance.", None
    finding = (
        f"Customers from {best} come back {times(ratio)} often as customers from {worst} "
        f"(95% interval {low:.2f} to {high:.2f} times): each customer won through {best} "
        f"is worth more over time."
    )
    return text, finding


def layer_cake(cake: pd.DataFrame, currency: str) -> str | None:
    """How much of the latest complete month's revenue comes from customers won before it."""
    done = cake[cake["complete"]]
    if done.empty:
        return None
    last = done[done["period"] == done["period"].max()]
    month = pd.Timestamp(last["period"].iloc[0])
    quarter = month.to_period("Q").start_time
    earlier = last.loc[pd.to_datetime(last["cohort"]) < quarter, "revenue"].sum()
    total = last["revenue"].sum()
    if total <= 0:
        return None
    return (
        f"In {month:%B %Y}, identified customers brought {fmt.money(total, currency)}; "
        f"{fmt.pct(earlier / total)} of it came from customers won before {quarter:%B %Y}, "
        "the layers under this quarter's new customers."
    )


def value(curve: pd.DataFrame, currency: str, months: int = 12) -> tuple[str, str] | None:
    """Revenue per acquired customer after `months` (or the longest complete horizon), as
    (text, finding); None when no cohort has a complete month."""
    if curve.empty:
        return None
    row = _at(curve, months - 1)
    row = row if row is not None else curve.iloc[-1]
    horizon = int(row["period"]) + 1
    spread = (
        f" (95% interval {fmt.interval(row['value_low'], row['value_high'], lambda v: fmt.money(v, currency))})"
        if not math.isnan(row["value_se"])
        else ""
    )
    text = (
        f"A new customer has brought **{fmt.money(row['value_per_customer'], currency)}** of net "
        f"revenue in their first {horizon} month{'s' if horizon > 1 else ''} on average{spread}, "
        f"over {fmt.num(row['customers'])} customers acquired long enough ago."
    )
    finding = (
        f"A new customer brings {fmt.money(row['value_per_customer'], currency)} in their first "
        f"{horizon} months on average{spread}."
    )
    return text, finding


def rfm(segments: pd.DataFrame, currency: str) -> str:
    """Who carries the revenue, and how much is at risk."""
    by = segments.set_index("segment")
    parts = []
    if "champions" in by.index:
        c = by.loc["champions"]
        parts.append(
            f"**Champions** ({fmt.num(c['customers'])} customers, {fmt.pct(c['customer_share'])} "
            f"of them) brought {fmt.pct(c['revenue_share'])} of all revenue so far."
        )
    risky = by.loc[[s for s in ("at risk", "can't lose them") if s in by.index]]
    if len(risky):
        parts.append(
            f"{fmt.num(risky['customers'].sum())} customers who used to buy often have gone "
            f"quiet (*at risk* and *can't lose them*); they brought "
            f"{fmt.money(risky['revenue'].sum(), currency)} ({fmt.pct(risky['revenue_share'].sum())} "
            "of revenue), the first list for a win-back campaign."
        )
    return " ".join(parts) or "The segments are small; see the table."


def holdout(check, currency: str) -> str:
    """How well the model predicted the weeks held back."""
    return (
        f"To test the model, it was fitted on purchases up to {_day(check.calibration_end)} "
        f"and asked to predict the next {check.weeks:.0f} weeks: it expected "
        f"**{fmt.num(check.predicted)}** repeat purchases from the "
        f"{fmt.num(check.by_frequency['customers'].sum())} customers of that time, and they made "
        f"**{fmt.num(check.actual)}** ({fmt.pct(check.error, signed=True)}). The chart shows the "
        "same comparison for customers with 0, 1, 2, ... earlier repeat purchases."
    )


def forecast(result, check, currency: str) -> tuple[str, str]:
    """Expected purchases and value of today's customers, with the holdout error as the band."""
    data = result.groups
    band = abs(check.error) if check is not None and not math.isnan(check.error) else float("nan")
    purchases, clv = data["expected_purchases"].sum(), data["clv"].sum()
    alive = data["alive"].sum()
    margin = (
        f" On the test period the model was off by {fmt.pct(band)}, so read these as "
        f"{fmt.interval(purchases * (1 - band), purchases * (1 + band), fmt.num)} purchases and "
        f"{fmt.interval(clv * (1 - band), clv * (1 + band), lambda v: fmt.money(v, currency))}."
        if not math.isnan(band)
        else ""
    )
    text = (
        f"Of {fmt.num(data['customers'].sum())} customers so far, the model estimates about **{fmt.num(alive)}** "
        f"are still active (would buy again). Together they are expected to make "
        f"**{fmt.num(purchases)}** repeat purchases in the next {result.weeks:.0f} weeks, worth "
        f"**{fmt.money(clv, currency)}** of revenue over {result.months} months "
        f"(discounted at {fmt.pct(result.annual_discount, 0)} a year; revenue, not profit)."
        f"{margin}"
    )
    finding = (
        f"Today's customers are expected to bring {fmt.money(clv, currency)} of repeat revenue "
        f"in the next {result.months} months"
        + (
            f" (within about {fmt.pct(band, 0)}, the model's error on a test period)."
            if not math.isnan(band)
            else "."
        )
    )
    return text, finding


def segment_table(segments: pd.DataFrame, currency: str) -> pd.DataFrame:
    """The RFM segments as a readable table (formatted strings, for display only)."""
    return pd.DataFrame(
        {
            "segment": segments["segment"],
            "customers": segments["customers"].map(fmt.num),
            "share of customers": segments["customer_share"].map(fmt.pct),
            "share of revenue": segments["revenue_share"].map(fmt.pct),
            "days since last purchase (median)": segments["recency_days"].map(fmt.num),
            "purchase days (mean)": segments["frequency"].map(lambda v: fmt.num(v, 1)),
            "revenue per customer": segments["monetary"].map(lambda v: fmt.money(v, currency)),
            "what to do": segments["action"],
        }
    ).set_index("segment")


# --- the notebook's sections: each computes its aggregates, says them and shows the charts ---


MIN_CURVE_MONTHS = 2  # months since first purchase a value curve needs to be drawn
SPLIT = "acquisition_channel"  # the split the notebook shows; the overall figures are its sums


@store.once_per_read_only
def _cached_activity(con, as_of, by: str) -> pd.DataFrame:
    return cohorts.cohort_activity(con, "month", by=by, as_of=as_of, spread=True)


def _activity(ctx, by: str | None = None) -> pd.DataFrame:
    """The monthly cohort x period aggregate, split `by` or overall, computed once per
    read-only connection and as_of (the overall one is the sum of the split one): the
    matrices, curves and layer cake of several sections are built from it."""
    split = _cached_activity(ctx.con, ctx.as_of, by or SPLIT)
    return split.copy() if by else cohorts.overall(split)


def _curves(ctx, by: str | None = None) -> pd.DataFrame:
    return cohorts.pooled_curves(_activity(ctx, by))


def _months(ctx) -> int:
    """Whole months of order history up to the report's date."""
    span = quality.history(ctx.con, ctx.as_of).of("orders")
    return span.months if span else 0


def coverage_section(ctx) -> None:
    nb.say(coverage(cohorts.anonymous_share(ctx.con, ctx.as_of)))


def retention_section(ctx) -> None:
    matrix = cohorts.retention_matrix(_activity(ctx), "customers")
    if matrix.empty:
        return nb.not_enough_data("cohort retention", "no identified customer has bought yet")
    overall = _curves(ctx)
    nb.say(
        retention(overall)
        or "No cohort has finished its first month yet, so nobody could have come back yet."
    )
    finding = retention_finding(overall)
    if finding:
        nb.finding(finding, section="retention")
    nb.show(
        charts.cohort_heatmap(
            matrix, "Share of each month's new customers who buy, by month since their first purchase"
        )
    )


def revenue_section(ctx) -> None:
    matrix = cohorts.retention_matrix(_activity(ctx), "revenue")
    text = revenue_retention(matrix)
    if text is None:
        return nb.needs_more("Revenue retention", 2, _months(ctx), "month", "orders")
    nb.say(text)
    nb.show(
        charts.cohort_heatmap(
            matrix, "Cohort revenue by month, relative to its first month", value_title="of month 0"
        )
    )


def channel_section(ctx, by: str = SPLIT) -> None:
    curves = _curves(ctx, by)
    if curves.empty or curves[by].nunique() < 2:
        return nb.not_enough_data(
            f"retention by {by.replace('_', ' ')}",
            "the customer records carry no acquisition channel (import a customer export with "
            "channel tags, e.g. Shopify's `channel:email`)",
        )
    hazard = cohorts.repeat_hazard(ctx.con, by=by, as_of=ctx.as_of)
    text, finding = channels(hazard, by)
    nb.say(text)
    if finding:
        nb.finding(finding, section="retention by channel")
    nb.show(
        charts.retention_curves(
            curves, by, "Share of customers buying, by month since their first purchase (95% intervals)"
        ),
        charts.hazard_ratios(
            hazard, by, "How often customers come back, by acquisition channel (95% intervals)"
        ),
    )


def layer_cake_section(ctx) -> None:
    cake = cohorts.layers(_activity(ctx), cohort_grain="quarter")
    text = layer_cake(cake, ctx.currency)
    if text is None:
        return nb.needs_more("The layer cake", 1, 0, "complete month", "identified sales")
    nb.say(text)
    nb.show(
        charts.layer_cake(
            cake, "revenue", "quarter", "Monthly revenue by the quarter customers were won", ctx.currency
        )
    )


def value_section(ctx, by: str = SPLIT) -> None:
    overall = _curves(ctx)
    words = value(overall, ctx.currency)
    if words is None:
        return nb.not_enough_data("customer value so far", "no cohort has a complete month yet")
    text, finding = words
    nb.say(text)
    nb.finding(finding, section="customer value")
    if len(overall) < MIN_CURVE_MONTHS:  # one point is no curve
        return nb.needs_more("The curve of customer value", MIN_CURVE_MONTHS, len(overall), "month", "orders")
    split = _curves(ctx, by)
    split_ok = split[by].nunique() > 1
    nb.show(
        charts.value_curves(
            split if split_ok else overall,
            by if split_ok else None,
            "Net revenue per customer since their first purchase",
            ctx.currency,
        )
    )


def rfm_section(ctx) -> None:
    table = rfm_.segments(ctx.con, ctx.as_of)
    if table.empty:
        return nb.not_enough_data("RFM segments", "no identified customer has bought yet")
    nb.say(rfm(table, ctx.currency))
    weeks = quality.history(ctx.con, ctx.as_of).weeks
    if weeks < nb.YEAR_WEEKS:
        nb.say(
            f"*These segments rest on {nb.weeks_words(weeks)} of purchases: frequency counts only "
            "purchase days within them, and a customer quiet for a while may simply not be due yet.*"
        )
    nb.show(
        charts.rfm_segments(table, "Share of customers and of revenue by segment"),
        segment_table(table, ctx.currency),
    )


def clv_section(ctx) -> None:
    try:
        calibration_end, holdout_end = clv.holdout_window(ctx.con, ctx.as_of)
        data = clv.histories(ctx.con, ctx.as_of, calibration_end)  # one pass for both fits
        check = clv.holdout_check(ctx.con, calibration_end, holdout_end, data=data)
        result = clv.forecast(ctx.con, ctx.as_of, data=data)
    except WorkbookError as why:
        return nb.not_enough_data("predicted customer value", str(why))
    nb.say(holdout(check, ctx.currency))
    nb.show(charts.holdout(check.by_frequency, "Repeat purchases in the test weeks: predicted vs actual"))
    text, finding = forecast(result, check, ctx.currency)
    nb.say(text)
    nb.finding(finding, section="predicted value")
