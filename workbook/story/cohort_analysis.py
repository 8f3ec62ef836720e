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
from workbook.story import goal_words, nb

CHANNEL_NAMES = {
    "paid_social": "paid social",
    "paid_search": "paid search",
    "organic_search": "organic search",
    "email": "email",
    "referral": "referrals",
    "direct": "direct visits",
    "unknown": "an unknown channel",
}


# What to do with each RFM segment (`rfm.SEGMENTS`), in words for the owner; an industry's own
# wording replaces the generic one where the generic advice does not fit how it sells.
RFM_ACTIONS = {
    "champions": "bought recently and often: reward them, ask for reviews and referrals",
    "loyal": "buy often: offer loyalty perks and new products",
    "potential loyalists": "recent and repeat: a membership or bundle can make them loyal",
    "new customers": "first purchase was recent: a good welcome series brings the second",
    "promising": "recent one-time buyers: a reason to come back soon",
    "need attention": "middling on both: a personal, time-limited offer",
    "about to sleep": "fading: remind them with popular products before they go",
    "can't lose them": "used to buy the most, not lately: win them back personally",
    "at risk": "bought often, long ago: a win-back campaign",
    "hibernating": "few purchases, long ago: low priority, or a cheap reactivation",
}
INDUSTRY_RFM_ACTIONS = {
    "coffee-shop": {
        "champions": "daily regulars: know their order, thank them, ask for a review",
        "loyal": "come most weeks: a loyalty card reward or a new drink to try first",
        "new customers": "first visit was recent: a second-visit stamp or offer",
        "about to sleep": "have not been in for weeks: a free-drink nudge on the loyalty app",
        "at risk": "used to come often, not lately: a personal 'we miss you' offer",
        "hibernating": "came once or twice long ago: low priority",
    },
    "online-store": {
        "about to sleep": "fading: a reminder with what they bought before, or its refill",
    },
    "home-services": {
        "champions": "recent and repeat jobs: ask for a review and a referral to neighbours",
        "loyal": "regular customers: offer a yearly maintenance plan",
        "potential loyalists": "two or more jobs: a service plan keeps them with you",
        "new customers": "first job was recent: a follow-up call and a review request",
        "promising": "one recent job: remind them of seasonal maintenance when it is due",
        "need attention": "due for service: a reminder before the season",
        "about to sleep": "their yearly service is due: send a maintenance reminder",
        "can't lose them": "your best customers, no job in over a year: call them personally",
        "at risk": "several jobs, none lately: a seasonal check-up offer",
        "hibernating": "one job long ago: a seasonal reminder at most",
    },
}


def rfm_actions(industry: str) -> dict[str, str]:
    """What to do with each RFM segment, in the industry's words where it has its own."""
    return {**RFM_ACTIONS, **INDUSTRY_RFM_ACTIONS.get(industry, {})}


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


# Cohort periods (`Profile.cohort_grain`) in half a year and in a year.
HALF_YEAR = {"month": 6, "quarter": 2}
YEAR = {"month": 12, "quarter": 4}


def _at(curve: pd.DataFrame, period: int) -> pd.Series | None:
    rows = curve[curve["period"] == period]
    return rows.iloc[0] if len(rows) else None


def retention(curve: pd.DataFrame, grain: str = "month") -> str | None:
    """Period-1 and half-year (or the latest) pooled retention with 95% intervals; periods of
    `grain` (month, or quarter for a business whose customers come back yearly)."""
    first = _at(curve, 1)
    if first is None:
        return None
    text = (
        f"Of {fmt.num(first['customers'])} customers whose first {grain} after acquisition is "
        f"over, **{fmt.pct(first['retention'])}** bought again in that {grain} "
        f"(95% interval {fmt.interval(first['retention_low'], first['retention_high'])})."
    )
    later = _at(curve, HALF_YEAR[grain])
    if later is None:
        later = curve.iloc[-1]
    if later["period"] > 1:
        text += (
            f" In {grain} {int(later['period'])} after their first purchase, "
            f"{fmt.pct(later['retention'])} of customers buy "
            f"({fmt.interval(later['retention_low'], later['retention_high'])}, "
            f"{fmt.num(later['customers'])} customers observed that long)."
        )
    return text


def retention_finding(curve: pd.DataFrame, grain: str = "month", on: str = "") -> str | None:
    """The period-1 retention headline; `on`: what it rests on (`goal_words.identified_note`)."""
    first = _at(curve, 1)
    if first is None:
        return None
    return (
        f"{fmt.pct(first['retention'])} of new customers buy again in the {grain} after their "
        f"first purchase (95% interval {fmt.interval(first['retention_low'], first['retention_high'])}){on}."
    )


def revenue_retention(matrix: pd.DataFrame) -> str | None:
    """Median revenue retention one period after acquisition, over complete cohorts."""
    if 1 not in matrix.columns or matrix[1].notna().sum() == 0:
        return None
    values = matrix[1].dropna()
    grain = matrix.attrs.get("grain", "month")
    return (
        f"In the {grain} after acquisition, a cohort brings {fmt.pct(values.median())} of its "
        f"first {grain}'s revenue (median over {len(values)} cohorts; the middle half of cohorts "
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


def layer_cake(cake: pd.DataFrame, currency: str, grain: str = "month") -> str | None:
    """How much of the latest complete period's revenue (a month, or a quarter) comes from
    customers won before its quarter."""
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
    when = f"{month:%B %Y}" if grain == "month" else f"the quarter from {month:%B %Y}"
    return (
        f"In {when}, identified customers brought {fmt.money(total, currency)}; "
        f"{fmt.pct(earlier / total)} of it came from customers won before {quarter:%B %Y}, "
        "the layers under this quarter's new customers."
    )


def value(curve: pd.DataFrame, currency: str, grain: str = "month", on: str = "") -> tuple[str, str] | None:
    """Revenue per acquired customer after a year of `grain` periods (or the longest complete
    horizon), as (text, finding); None when no cohort has a complete period. `on`: what the
    finding rests on (`goal_words.identified_note`)."""
    if curve.empty:
        return None
    row = _at(curve, YEAR[grain] - 1)
    row = row if row is not None else curve.iloc[-1]
    horizon = int(row["period"]) + 1
    periods = f"{horizon} {grain}{'s' if horizon > 1 else ''}"
    spread = (
        f" (95% interval {fmt.interval(row['value_low'], row['value_high'], lambda v: fmt.money(v, currency))})"
        if not math.isnan(row["value_se"])
        else ""
    )
    text = (
        f"A new customer has brought **{fmt.money(row['value_per_customer'], currency)}** of net "
        f"revenue in their first {periods} on average{spread}, "
        f"over {fmt.num(row['customers'])} customers acquired long enough ago."
    )
    finding = (
        f"A new customer brings {fmt.money(row['value_per_customer'], currency)} in their first "
        f"{periods} on average{spread}{on}."
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


def forecast(result, check, currency: str, on: str = "") -> tuple[str, str]:
    """Expected purchases and value of today's customers, with the holdout error as the band;
    `on`: what the finding rests on (`goal_words.identified_note`)."""
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
            f" (within about {fmt.pct(band, 0)}, the model's error on a test period)"
            if not math.isnan(band)
            else ""
        )
        + f"{on}."
    )
    return text, finding


def segment_table(segments: pd.DataFrame, currency: str, industry: str = "") -> pd.DataFrame:
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
            "what to do": segments["segment"].map(rfm_actions(industry)),
        }
    ).set_index("segment")


# --- the notebook's sections: each computes its aggregates, says them and shows the charts ---


MIN_CURVE_PERIODS = 2  # periods since first purchase a value curve needs to be drawn
SPLIT = "acquisition_channel"  # the split the notebook shows; the overall figures are its sums


@store.once_per_read_only
def _cached_activity(con, as_of, by: str, grain: str) -> pd.DataFrame:
    return cohorts.cohort_activity(con, grain, by=by, as_of=as_of, spread=True)


def _activity(ctx, by: str | None = None) -> pd.DataFrame:
    """The cohort x period aggregate (monthly, or at the industry profile's `cohort_grain`), split `by` or overall, computed once per
    read-only connection and as_of (the overall one is the sum of the split one): the
    matrices, curves and layer cake of several sections are built from it."""
    split = _cached_activity(ctx.con, ctx.as_of, by or SPLIT, ctx.profile.cohort_grain)
    return split.copy() if by else cohorts.overall(split)


def _curves(ctx, by: str | None = None) -> pd.DataFrame:
    return cohorts.pooled_curves(_activity(ctx, by))


def _periods(ctx, grain: str) -> int:
    """Whole periods (weeks, months or quarters) of order history up to the report's date."""
    span = quality.history(ctx.con, ctx.as_of).of("orders")
    if span is None:
        return 0
    return {"week": span.weeks, "month": span.months, "quarter": span.months // 3}[grain]


def _identified(ctx) -> str:
    """`goal_words.identified_note` of the client's sales, for per-customer findings."""
    return goal_words.identified_note(cohorts.anonymous_share(ctx.con, ctx.as_of)["identified_share"])


def coverage_section(ctx) -> None:
    nb.say(coverage(cohorts.anonymous_share(ctx.con, ctx.as_of)))
    if ctx.profile.cohort_grain != "month":
        nb.say(
            f"Customers of this kind of business come back after a year or two, not within weeks, "
            f"so the cohorts below are grouped and followed by {ctx.profile.cohort_grain}: by month "
            "nearly every cell would be empty."
        )


def retention_section(ctx) -> None:
    matrix = cohorts.retention_matrix(_activity(ctx), "customers")
    if matrix.empty:
        return nb.not_enough_data("cohort retention", "no identified customer has bought yet")
    overall, grain = _curves(ctx), ctx.profile.cohort_grain
    nb.say(
        retention(overall, grain)
        or f"No cohort has finished its first {grain} yet, so nobody could have come back yet."
    )
    finding = retention_finding(overall, grain, _identified(ctx))
    if finding:
        nb.finding(finding, section="retention")
    nb.show(
        charts.cohort_heatmap(
            matrix, f"Share of each {grain}'s new customers who buy, by {grain} since their first purchase"
        )
    )


def revenue_section(ctx) -> None:
    matrix = cohorts.retention_matrix(_activity(ctx), "revenue")
    text, grain = revenue_retention(matrix), ctx.profile.cohort_grain
    if text is None:
        return nb.needs_more("Revenue retention", 2, _periods(ctx, grain), grain, "orders")
    nb.say(text)
    nb.show(
        charts.cohort_heatmap(
            matrix, f"Cohort revenue by {grain}, relative to its first {grain}", value_title=f"of {grain} 0"
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
            curves,
            by,
            f"Share of customers buying, by {ctx.profile.cohort_grain} since their first purchase (95% intervals)",
            ctx.profile.cohort_grain,
        ),
        charts.hazard_ratios(
            hazard, by, "How often customers come back, by acquisition channel (95% intervals)"
        ),
    )


def layer_cake_section(ctx) -> None:
    grain = ctx.profile.cohort_grain
    cake = cohorts.layers(_activity(ctx), cohort_grain="quarter")
    text = layer_cake(cake, ctx.currency, grain)
    if text is None:
        return nb.needs_more("The layer cake", 1, 0, f"complete {grain}", "identified sales")
    nb.say(text)
    nb.show(
        charts.layer_cake(
            cake, "revenue", "quarter", "Monthly revenue by the quarter customers were won", ctx.currency
        )
    )


def value_section(ctx, by: str = SPLIT) -> None:
    overall, grain = _curves(ctx), ctx.profile.cohort_grain
    words = value(overall, ctx.currency, grain, _identified(ctx))
    if words is None:
        return nb.not_enough_data("customer value so far", f"no cohort has a complete {grain} yet")
    text, finding = words
    nb.say(text)
    nb.finding(finding, section="customer value")
    if len(overall) < MIN_CURVE_PERIODS:  # one point is no curve
        return nb.needs_more("The curve of customer value", MIN_CURVE_PERIODS, len(overall), grain, "orders")
    split = _curves(ctx, by)
    split_ok = split[by].nunique() > 1
    nb.show(
        charts.value_curves(
            split if split_ok else overall,
            by if split_ok else None,
            "Net revenue per customer since their first purchase",
            ctx.currency,
            grain,
        )
    )


def rfm_section(ctx) -> None:
    table = rfm_.segments(ctx.con, ctx.as_of, ctx.profile.recency_days)
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
        segment_table(table, ctx.currency, ctx.profile.industry),
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
    text, finding = forecast(result, check, ctx.currency, _identified(ctx))
    nb.say(text)
    nb.finding(finding, section="predicted value")
