"""What notebook 02 (improvement delta) shows, section by section: each goal's gap, trend and
what it takes, the what-if panel, and the alignment feedback (where customers come from: lead
sources and towns, sales channels, acquisition channels, regions or website channels gaining or
losing share; and what people ask for that the business does not offer, in leads and reviews).

Each function displays one section's sentences, tables and charts for a notebook `Context`,
so the notebook stays a list of headings and calls. The numbers come from `metrics`, `goals`
and `alignment`; every number shown has a sentence and, where it has one, its 95% interval.
Nothing here writes to the database.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import pandas as pd

from workbook import store
from workbook.analytics import alignment, cohorts, goal_book, goals, metrics, quality
from workbook.analytics.goals import Delta, Goal
from workbook.core import fmt
from workbook.story import goal_words, kpi_charts, nb, widgets
from workbook.story.nb import Context


def report_goals(ctx: Context) -> tuple[list[Goal], bool]:
    """The client's stored goals, or (when none are stored yet) the suggested ones; and which."""
    stored = goal_book.load_goals(ctx.con)
    return (stored, True) if stored else (goals.suggested_goals(ctx.con, ctx.as_of, ctx.profile), False)


def goals_intro(ctx: Context) -> list[Delta]:
    """Say where the goals come from and how status is judged; return each goal's delta."""
    chosen, stored = report_goals(ctx)
    if not chosen:
        nb.not_enough_data("goals", "no goal is stored and no KPI has a baseline to suggest one from.")
        return []
    if stored:
        nb.say(f"**{len(chosen)}** goals agreed with {nb.text(ctx.name)} are tracked below.")
    else:
        nb.say(
            "No goals have been agreed and saved yet, so this report tracks the **suggested** goals of the "
            "onboarding notebook (the KPI's usual step from its 12-week baseline within 13 weeks). Agree and "
            "save real goals in a live session (`workbook open`) and they replace these."
        )
    trend_weeks = min(goals.TREND_WEEKS, quality.history(ctx.con, ctx.as_of).weeks)
    nb.say(
        f"How to read a goal: *now* is the last {goals.CURRENT_WEEKS} complete weeks, and the goal is met "
        f"when the {goals.CURRENT_WEEKS} weeks before its deadline reach the target. A straight line is "
        f"fitted through the last {trend_weeks} weeks (with a year of history or more, beside the same "
        "weeks last year, so the season is not mistaken for a trend), and how much single weeks scatter "
        "around it gives the **chance** of reaching the target. "
        f"**On track**: a chance of {fmt.pct(goals.ON_TRACK_CHANCE, 0)} or more. **Off track**: under "
        f"{fmt.pct(goals.OFF_TRACK_CHANCE, 0)}. **At risk**: in between, so it could go either way. "
        f"**Too early to tell**: fewer than {goals.MIN_WEEKS} weeks of data, a deadline further ahead "
        "than the history, or too little history to check how far such forecasts missed before. After "
        "the deadline the target was **met** or **missed**. How often such chances came true in past "
        "data is in the workbook's docs/calibration.md."
    )
    return [goals.delta(ctx.con, g, ctx.as_of) for g in chosen]


def _range(v: metrics.WindowValue, fv: Callable[[float | None], str]) -> str:
    """' (95% range $1 to $2)' of a window value, or why it has none."""
    if v.low is not None:
        return f" (95% range {fv(v.low)} to {fv(v.high)})"
    return f" (from {v.periods} week{'s' if v.periods != 1 else ''} with data: too few for a range)"


def goal_card(ctx: Context, d: Delta) -> None:
    kpi, goal, base, now = d.goal.kpi, d.goal, d.baseline, d.current
    fv = partial(goal_words.format_value, kpi, currency=ctx.currency)
    fc = partial(goal_words.format_change, kpi, currency=ctx.currency)
    nb.say(f"### {goal_words.describe(goal, ctx.currency, base.value if base else None)}")
    # a goal with a value now has a baseline and a current value
    if d.status in ("undefined", "not enough data") or base is None or now is None:
        nb.say(goal_words.verdict(d, ctx.currency))
        nb.finding(goal_words.verdict(d, ctx.currency), goal=goal.metric, status=d.status)
        return
    nb.show(kpi_charts.goal_chart(d, ctx.currency))
    needed = goal_words.needed(d, ctx.currency)
    identified = goal_words.identified(kpi, cohorts.anonymous_share(ctx.con, ctx.as_of)["identified_share"])
    lines = [
        f"- **Baseline** ({nb.day(goal.baseline_start)} to {nb.day(goal.baseline_end)}): "
        f"{fv(base.value)}{_range(base, fv)}{identified}.",
        f"- **Now** (last {goals.CURRENT_WEEKS} weeks): {fv(now.value)}{_range(now, fv)}.",
    ]
    if d.last_year is not None:
        lines.append(
            f"- **Same weeks last year**: {fv(d.last_year.value)}{_range(d.last_year, fv)}; now is "
            f"{goal_words.compared(kpi, now.value - d.last_year.value, ctx.currency)} them (like with like)."
        )
    lines += [
        f"- **Target**: {fv(d.target)} by {nb.day(goal.deadline)}; the gap is {fc(d.gap)} "
        f"({fmt.pct(d.gap_pct, signed=True)} of now).",
        f"- **Progress**: {_progress(d, now.value - base.value, ctx.currency)}",
        f"- **Needed**: {needed}"
        + (f" for {d.weeks_left:.0f} weeks." if needed.endswith("per week") else "."),
    ]
    if not d.projection.empty:
        lines.append(
            f"- **Trend**: {fc(d.slope_per_week)} per week (95% range {fc(d.slope_low)} to "
            f"{fc(d.slope_high)}); the {goals.CURRENT_WEEKS} weeks before the deadline are forecast at about "
            f"{fv(d.projected)} (95% range {fv(d.projected_low)} to {fv(d.projected_high)})"
            + ("." if math.isnan(d.chance) else f": {goal_words.chance(d.chance)} of reaching the target.")
        )
    nb.say("\n".join(lines))
    sentence = goal_words.verdict(d, ctx.currency)
    action = (
        f"Close the gap on {kpi.label.lower()}: {needed} for {d.weeks_left:.0f} weeks reaches "
        f"{fv(d.target)} by {nb.day(goal.deadline)}."
        if needed.endswith("per week")
        else ""
    )
    chance = None if math.isnan(d.chance) else d.chance
    nb.finding(sentence, goal=goal.metric, status=d.status, chance=chance, action=action)


def _progress(d: Delta, change: float, currency: str) -> str:
    """How far the KPI has come from the baseline (`change`) towards the target."""
    moved = goal_words.format_change(d.goal.kpi, change, currency)
    if d.progress != d.progress:  # NaN: target equals baseline
        return f"{moved} since the baseline."
    if d.progress < 0:
        return f"none yet: it moved {moved} since the baseline, away from the target."
    if d.progress >= 1:
        return f"past the target already ({moved} since the baseline)."
    return f"{fmt.pct(d.progress, 0)} of the way from the baseline to the target ({moved})."


def goal_summary(ctx: Context, deltas: list[Delta]) -> None:
    if not deltas:
        nb.not_enough_data("the goal summary", "there are no goals to summarise.")
        return
    counts = pd.Series([d.status for d in deltas]).value_counts()
    nb.say("Of " + f"{len(deltas)} goals: " + ", ".join(f"**{n}** {s}" for s, n in counts.items()) + ".")
    nb.show_table(goal_words.summary_table(deltas, ctx.currency))


def what_if(ctx: Context, deltas: list[Delta]) -> None:
    tunable = [d for d in deltas if not d.projection.empty]
    if not tunable:
        nb.not_enough_data("the what-if", "no goal with a trend and a future deadline.")
        return
    nb.say(
        "Move a slider to try another target: the green line is the straight path from today to that target "
        "by the deadline, and the label says how much it has to improve each week. Compare it with the "
        "dotted trend line: a path much steeper than the trend needs a change in what the business does."
    )
    for d in tunable:
        nb.show(kpi_charts.what_if_chart(d, ctx.currency))
    widgets.what_if_panel(ctx, tunable[0].goal)


def where_customers_come_from(ctx: Context) -> None:
    """Alignment feedback for every business: each way of splitting customers that the client's
    data records with two or more values (lead source and town; sales channel and location; new
    customers' acquisition channel and region; website traffic channel), its mix now against before."""
    keys = alignment.available(ctx.con, ctx.as_of)
    if not keys:
        nb.not_enough_data(
            "where customers come from",
            "none of lead source, town, sales channel, location, acquisition channel, region or website "
            "channel is recorded with two or more values. Import leads, customers with tags, or GA4 traffic.",
        )
        return
    for key in keys:
        _shift_section(ctx, alignment.share_shifts(ctx.con, key, ctx.as_of))


def _weeks(weeks: int) -> str:
    return "year" if weeks == 52 else f"{weeks} week{'s' if weeks != 1 else ''}"


def _shift_section(ctx: Context, shift: alignment.ShareShift) -> None:
    dim = shift.dimension
    nb.say(f"### By {dim.label}")
    if shift.table.empty or shift.earlier_start is None or shift.recent_start is None:
        nb.not_enough_data(
            f"{dim.label} shifts",
            f"comparing two periods needs {2 * alignment.MIN_WINDOW_WEEKS} weeks of {dim.unit} with a "
            f"{dim.label} recorded; there are {shift.history_weeks} so far.",
        )
        return
    moving = shift.moving
    shares = alignment.monthly_shares(ctx.con, dim.key, ctx.as_of, keep=tuple(moving["value"]))
    nb.show(kpi_charts.share_chart(shares, dim.label, dim.unit))
    earlier = _weeks(shift.earlier_weeks)
    nb.say(
        f"Each {dim.label}'s share of {dim.unit} in the last {shift.recent_weeks} weeks "
        f"({nb.day(shift.recent_start)} to {nb.day(ctx.as_of)}) against the {earlier} before (from "
        f"{nb.day(shift.earlier_start)}). Did the mix move at all? A chi-square test of the whole table says "
        f"{fmt.p_value(shift.p_value)}. Each {dim.label} on its own: a two-proportion z-test, adjusted for "
        f"looking at {len(shift.table)} {dim.label}s at once (Holm), and allowing for busy and quiet days "
        "(Rao-Scott). " + ("None moved more than chance would explain." if moving.empty else "")
    )
    for _, row in moving.iterrows():
        sentence = share_sentence(row, shift)
        nb.say(sentence)
        nb.finding(sentence, dimension=dim.key, value=row["value"], trend=row["trend"])
    if dim.unit != "leads":
        return
    conv = alignment.share_shifts(ctx.con, dim.key, ctx.as_of, converted=True).moving
    if not conv.empty:
        nb.say(
            "Among leads that became jobs, the same test finds: "
            + "; ".join(
                f"**{nb.text(r['value'])}** {r['trend']} ({fmt.pct(r['earlier_share'])} to {fmt.pct(r['recent_share'])}, "
                f"{fmt.pp(r['change'])})"
                for _, r in conv.iterrows()
            )
            + "."
        )


def share_sentence(row: pd.Series, shift: alignment.ShareShift) -> str:
    """'Lead source **Nextdoor**: share of leads rose from 2.8% in the year before to 20.4% in the
    last 13 weeks (+17.6 pp, 95% interval ...; p < 0.001 after allowing for every lead source compared).'"""
    dim = shift.dimension
    verb = {"rising": "rose", "falling": "fell"}.get(row["trend"], "moved")
    earlier = _weeks(shift.earlier_weeks)
    return (
        f"{dim.label.capitalize()} **{nb.text(row['value'])}**: share of {dim.unit} {verb} from "
        f"{fmt.pct(row['earlier_share'])} in the {earlier} before to {fmt.pct(row['recent_share'])} in "
        f"the last {shift.recent_weeks} weeks ({fmt.pp(row['change'])}, 95% interval "
        f"{fmt.pp(row['change_low'])} to {fmt.pp(row['change_high'])}; "
        f"{fmt.p_value(row['p_adjusted'])} after allowing for every {dim.label} compared)."
    )


def unmet_demand(ctx: Context) -> None:
    """Services asked for in leads that the catalogue lacks (when there are leads), and things asked
    for in review and survey text (every business with feedback text)."""
    has_leads = store.table_counts(ctx.con)["leads"] > 0
    if has_leads:
        _unmet_services(ctx)
    _text_requests(ctx, has_leads)


def _unmet_services(ctx: Context) -> None:
    unmet = alignment.unmet_demand(ctx.con, ctx.as_of)
    if unmet.empty:
        why = (
            "no services catalogue is imported, so there is nothing to compare requests with."
            if not store.table_counts(ctx.con)["services"]
            else "every service requested in the leads is in the catalogue."
        )
        nb.not_enough_data("unmet demand in leads", why)
        return
    top = unmet.iloc[0]
    nb.say(
        f"**{fmt.num(unmet['requests'].sum())}** leads ({fmt.pct(unmet['share_of_leads'].sum())} of all) asked "
        f"for {len(unmet)} services that are not in the catalogue. Most requested:"
    )
    nb.show_table(
        pd.DataFrame(
            {
                "Service asked for": unmet["service"],
                "Leads": unmet["requests"].map(fmt.num),
                "Share of leads": unmet["share_of_leads"].map(fmt.pct),
                "Became jobs anyway": unmet["converted"].map(fmt.num),
                "Reviews mentioning it": unmet["mentions"].map(fmt.num),
            }
        ).head(nb.TABLE_ROWS)
    )
    sentence = (
        f"The most requested service you do not offer is {nb.text(top['service'])}: {fmt.num(top['requests'])} "
        f"leads ({fmt.pct(top['share_of_leads'])} of all leads)"
        + (f" and {fmt.num(top['mentions'])} reviews mention it" if top["mentions"] else "")
        + "."
    )
    if len(unmet) > 1:
        sentence += (
            f" Next: {nb.text(unmet.iloc[1]['service'])} ({fmt.num(unmet.iloc[1]['requests'])} leads)."
        )
    nb.say(sentence)
    nb.finding(
        sentence,
        unmet_service=top["service"],
        requests=int(top["requests"]),
        action=f"Consider offering {nb.text(top['service'])}: {fmt.num(top['requests'])} leads asked for it.",
    )


def _text_requests(ctx: Context, has_leads: bool) -> None:
    asked, texts = alignment.text_requests(ctx.con, ctx.as_of)
    if not texts:
        if not has_leads:
            nb.not_enough_data(
                "unmet demand", "there are no leads and no review or survey text to read requests from."
            )
        return
    phrases = "'wish you had ...', 'do you have ...', 'please add ...', 'would love ...'"
    if asked.empty:
        nb.say(f"None of the {fmt.num(texts)} review and survey texts asks for something ({phrases}).")
        return
    requests = int(asked["requests"].sum())
    nb.say(
        f"Of {fmt.num(texts)} review and survey texts, **{fmt.num(requests)}** "
        f"{'asks' if requests == 1 else 'ask'} for something "
        f"({phrases}). Each thing asked for, with the newest request as it was written (names, e-mail "
        "addresses and phone numbers masked):"
    )
    nb.show_table(
        pd.DataFrame(
            {
                "Asked for": asked["thing"],
                "Texts": asked["requests"].map(fmt.num),
                "Share of texts": asked["share_of_texts"].map(fmt.pct),
                "Latest": asked["last_at"].map(nb.day),
                "In their words": asked["quote"],
                "You sell something like it": asked["sold_like"].replace("", "no"),
            }
        ).head(nb.TABLE_ROWS)
    )
    top = asked.iloc[0]
    sentence = (
        f"In reviews and surveys, the thing most asked for is **{nb.text(top['thing'])}**: "
        f"{fmt.num(top['requests'])} of {fmt.num(texts)} texts ({fmt.pct(top['share_of_texts'])}), "
        f"e.g. \u201c{nb.text(top['quote'])}\u201d"
        + (
            f" You sell {nb.text(top['sold_like'])}: if that is it, the ask is to make it easier to find."
            if top["sold_like"]
            else ""
        )
    )
    if len(asked) > 1:
        sentence += (
            " Next: "
            + "; ".join(
                f"{nb.text(r['thing'])} ({fmt.num(r['requests'])})" for _, r in asked.iloc[1:3].iterrows()
            )
            + "."
        )
    nb.say(sentence)
    thing, asks = nb.text(top["thing"]), f"{fmt.num(top['requests'])} reviews or surveys ask for it"
    action = (
        f"Make {nb.text(top['sold_like'])} easier to find: {asks} ({thing})."
        if top["sold_like"]
        else f"Consider adding {thing}: {asks}."
    )
    nb.finding(
        sentence,
        asked_for=top["thing"],
        requests=int(top["requests"]),
        sold_like=top["sold_like"],
        action=action,
    )
