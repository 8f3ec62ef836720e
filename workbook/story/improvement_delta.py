"""What notebook 02 (improvement delta) shows, section by section: each goal's gap, trend and
what it takes, the what-if panel, and the alignment feedback (lead sources and towns gaining
or losing share, services asked for that the business does not offer).

Each function displays one section's sentences, tables and charts for a notebook `Context`,
so the notebook stays a list of headings and calls. The numbers come from `metrics`, `goals`
and `alignment`; every number shown has a sentence and, where it has one, its 95% interval.
Nothing here writes to the database.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pandas as pd

from workbook import store
from workbook.analytics import alignment, goal_book, goals, metrics, quality
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
        f"How to read a goal: *now* is the last {goals.CURRENT_WEEKS} complete weeks. The trend is a "
        f"Theil-Sen line through the last {trend_weeks} weeks (robust to odd weeks), extended to the "
        "deadline with its 95% range. **On track**: the trend reaches the target by the deadline. "
        "**At risk**: it falls short, but the hopeful end of its range reaches it. **Off track**: even the "
        "hopeful end falls short. After the deadline, the current value decides."
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
    # a judged goal always has a baseline and a current value
    if d.status in ("undefined", "not enough data") or base is None or now is None:
        nb.say(goal_words.verdict(d, ctx.currency))
        nb.finding(goal_words.verdict(d, ctx.currency), goal=goal.metric, status=d.status)
        return
    nb.show(kpi_charts.goal_chart(d, ctx.currency))
    nb.say(
        "\n".join(
            [
                f"- **Baseline** ({nb.day(goal.baseline_start)} to {nb.day(goal.baseline_end)}): "
                f"{fv(base.value)}{_range(base, fv)}.",
                f"- **Now** (last {goals.CURRENT_WEEKS} weeks): {fv(now.value)}{_range(now, fv)}.",
                f"- **Target**: {fv(d.target)} by {nb.day(goal.deadline)}; the gap is {fc(d.gap)} "
                f"({fmt.pct(d.gap_pct, signed=True)} of now).",
                f"- **Progress**: {_progress(d, now.value - base.value, ctx.currency)}",
                f"- **Needed**: {goal_words.needed(d, ctx.currency)}"
                + (
                    f" for {d.weeks_left:.0f} weeks."
                    if d.weeks_left > 0 and not goal.meets(now.value, d.target)
                    else "."
                ),
                f"- **Trend**: {fc(d.slope_per_week)} per week (95% range {fc(d.slope_low)} to "
                f"{fc(d.slope_high)}), reaching about {fv(d.projected)} by the deadline (between "
                f"{fv(d.projected_low)} and {fv(d.projected_high)}).",
            ]
        )
    )
    sentence = goal_words.verdict(d, ctx.currency)
    nb.finding(sentence, goal=goal.metric, status=d.status)


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
    tunable = [d for d in deltas if d.status not in ("undefined", "not enough data") and d.weeks_left > 0]
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


def _shift_section(ctx: Context, by: str, label: str) -> None:
    shifts = alignment.share_shifts(ctx.con, by, ctx.as_of)
    if shifts.empty:
        has_leads = store.table_counts(ctx.con)["leads"] > 0
        nb.not_enough_data(
            f"{label} shifts",
            f"leads are needed both in the last {alignment.RECENT_WEEKS} weeks and in the year before."
            if has_leads
            else "no leads have been imported.",
        )
        return
    nb.show(kpi_charts.share_chart(alignment.monthly_shares(ctx.con, by, ctx.as_of), label))
    moving = shifts[shifts["trend"] != "steady"]
    nb.say(
        f"Each {label}'s share of leads in the last {alignment.RECENT_WEEKS} weeks against the "
        f"{alignment.EARLIER_WEEKS} weeks before, tested with a two-proportion z-test and adjusted for "
        f"looking at {len(shifts)} {label}s at once (Holm). "
        + ("None moved more than chance would explain." if moving.empty else "")
    )
    for _, row in moving.iterrows():
        sentence = share_sentence(row, by)
        nb.say(sentence)
        nb.finding(sentence, dimension=by, value=row["value"], trend=row["trend"])
    conv = alignment.share_shifts(ctx.con, by, ctx.as_of, converted=True)
    conv = conv[conv["trend"] != "steady"]
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


def share_sentence(row: pd.Series, dimension: str, recent_weeks: int = alignment.RECENT_WEEKS) -> str:
    """'Nextdoor's share of leads rose from 3.1% to 22.4% (+19.3 pp, 95% CI +16 to +22 pp).'"""
    verb = {"rising": "rose", "falling": "fell"}.get(row["trend"], "moved")
    return (
        f"{alignment.DIMENSIONS[dimension].capitalize()} **{nb.text(row['value'])}**: share of leads {verb} from "
        f"{fmt.pct(row['earlier_share'])} in the year before to {fmt.pct(row['recent_share'])} in "
        f"the last {recent_weeks} weeks ({fmt.pp(row['change'])}, 95% interval "
        f"{fmt.pp(row['change_low'])} to {fmt.pp(row['change_high'])}; "
        f"{fmt.p_value(row['p_adjusted'])} after allowing for every "
        f"{alignment.DIMENSIONS[dimension]} compared)."
    )


def lead_sources(ctx: Context) -> None:
    _shift_section(ctx, "source", "lead source")


def lead_towns(ctx: Context) -> None:
    _shift_section(ctx, "location", "town")


def unmet_demand(ctx: Context) -> None:
    unmet = alignment.unmet_demand(ctx.con, ctx.as_of)
    if unmet.empty:
        why = (
            "no services catalogue is imported, so there is nothing to compare requests with."
            if not store.table_counts(ctx.con)["services"]
            else "every service requested in the leads is in the catalogue."
        )
        nb.not_enough_data("unmet demand", why)
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
    nb.finding(sentence, unmet_service=top["service"], requests=int(top["requests"]))
