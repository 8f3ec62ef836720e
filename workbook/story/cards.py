"""What notebooks 01 (onboarding) and 02 (improvement delta) show, section by section.

Each function displays one section's sentences, tables and charts for a notebook `Context`,
so the notebooks stay a list of headings and calls. The numbers come from `quality`,
`metrics`, `goals` and `alignment`; every number shown has a sentence and, where it has one,
its 95% interval. Nothing here writes to the database.
"""

from __future__ import annotations

import html

import pandas as pd

from workbook.analytics import alignment, goals, metrics, quality
from workbook.analytics.goals import Delta, Goal
from workbook.core import fmt
from workbook.story import kpi_charts, widgets
from workbook.story.nb import Context, finding, not_enough_data, say

TABLE_ROWS = 12


def show_table(frame: pd.DataFrame) -> None:
    """A small table of already formatted values (no index, escaped)."""
    from IPython.display import HTML, display

    display(HTML(frame.to_html(index=False, border=0, classes="workbook-table", escape=True)))


def _chart(chart) -> None:
    from IPython.display import display

    display(chart)


def _day(d) -> str:
    return "n/a" if d is None or pd.isna(d) else f"{pd.Timestamp(d):%d %b %Y}"


def _days(n: int) -> str:
    return f"{fmt.num(n)} day{'' if n == 1 else 's'}"


# ---------------------------------------------------------------- notebook 01: onboarding


def inventory(ctx: Context) -> None:
    inv = quality.inventory(ctx.con)
    filled, empty = inv[inv["rows"] > 0], inv[inv["rows"] == 0]
    dated = filled.dropna(subset=["first"])
    say(
        f"The workbook holds **{len(filled)}** kinds of data with **{fmt.num(filled['rows'].sum())}** rows "
        f"in all, from {_day(dated['first'].min())} to {_day(dated['last'].max())}."
        + (f" Nothing yet for: {', '.join(empty['table'])}." if len(empty) else "")
    )
    show_table(
        pd.DataFrame(
            {
                "Data": filled["table"],
                "Rows": filled["rows"].map(fmt.num),
                "From": filled["first"].map(_day),
                "To": filled["last"].map(_day),
            }
        )
    )
    history = quality.import_history(ctx.con)
    if history.empty:
        not_enough_data("the import history", "no file has been imported with `workbook import`.")
        return
    say(
        f"**{len(history)}** files were imported; the latest on {_day(history['imported_at'].iloc[0])}. "
        f"The {min(len(history), TABLE_ROWS)} most recent:"
    )
    show_table(
        pd.DataFrame(
            {
                "Imported": history["imported_at"].map(_day),
                "Source": history["source"],
                "File": history["file_name"],
                "Rows": history["rows"].map(fmt.num),
            }
        ).head(TABLE_ROWS)
    )


def data_quality(ctx: Context) -> None:
    missing = quality.missing_values(ctx.con)
    absent = missing[missing["share"] == 1]
    if len(absent):
        say(
            "**Not in these exports** (every row empty, so the KPIs that need them are left out): "
            + ", ".join(f"{r.table}.{r.column}" for r in absent.itertuples())
            + "."
        )
    missing = missing[(missing["share"] >= 0.01) & (missing["share"] < 1)].sort_values(
        "share", ascending=False
    )
    if missing.empty:
        say("**Missing values:** no other column is more than 1% empty.")
    else:
        say(
            f"**Missing values:** {len(missing)} columns are at least 1% empty. Empty values are left "
            "out of the KPIs that need them (e.g. orders without a customer count for revenue, not for "
            "repeat purchases)."
        )
        show_table(
            pd.DataFrame(
                {
                    "Data": missing["table"],
                    "Column": missing["column"],
                    "Empty": missing["missing"].map(fmt.num),
                    "Share": missing["share"].map(fmt.pct),
                }
            ).head(TABLE_ROWS)
        )
    dup = quality.duplicates(ctx.con)
    dup = dup[dup["duplicate_rows"] > 0]
    say(
        "**Duplicates:** "
        + (
            "none; every order, lead, review and customer appears once."
            if dup.empty
            else "; ".join(
                f"{r.table}: {fmt.num(r.duplicate_rows)} repeated rows by {r.key}" for r in dup.itertuples()
            )
            + ". Re-importing the right export usually fixes this."
        )
    )
    out = quality.outliers(ctx.con)
    for r in out.itertuples():
        say(
            f"**Unusual values in {r.table}.{r.column}:** {fmt.num(r.above)} of {fmt.num(r.rows)} rows are far "
            f"above the usual range (over {fmt.num(r.high_fence, 2)}) and {fmt.num(r.below)} far below it "
            f"(under {fmt.num(r.low_fence, 2)}; Tukey's far-out fences, 3 interquartile ranges). "
            + (
                ""
                if not r.above + r.below
                else "So many that the amounts are simply very spread out (small jobs and big ones), not errors."
                if (r.above + r.below) / r.rows > 0.05
                else "Worth a look: big one-off orders and refunds move weekly averages."
            )
        )
    gaps = quality.date_gaps(ctx.con)
    for r in gaps.itertuples():
        gap = (
            f"; the longest gap is {_days(r.longest_gap_days)} from {_day(r.longest_gap_from)}"
            if r.longest_gap_days
            else ""
        )
        say(
            f"**Gaps in {r.table}:** {fmt.num(r.days_without_rows)} of {fmt.num(r.calendar_days)} days have no "
            f"rows{gap}. "
            + ("A gap of a week or more usually means a missing export." if r.longest_gap_days >= 7 else "")
        )


def baselines(ctx: Context) -> None:
    start, last = ctx.window.baseline
    table, frames = goals.kpi_baselines(ctx.con, ctx.as_of)
    if table.empty:
        not_enough_data("KPI baselines", "no KPI has data yet; import orders, leads or reviews first.")
        return
    say(
        f"A baseline is where each KPI stood over the **{goals.BASELINE_WEEKS} complete weeks** from "
        f"{_day(start)} to {_day(last)}: money and counts per week, rates pooled over those weeks. The range "
        "is a 95% interval from the week-to-week variation: a later value inside it may be ordinary noise."
    )
    rows = []
    for r in table.itertuples():
        kpi = metrics.get(r.kpi)
        fv = lambda x: metrics.format_value(kpi, x, ctx.currency)  # noqa: E731
        rows.append(
            {
                "KPI": kpi.label + kpi.per_period,
                "Baseline": fv(r.value),
                "95% range": f"{fv(r.low)} to {fv(r.high)}" if pd.notna(r.low) else "n/a",
                "Better": "higher" if r.better == "up" else "lower",
                "What it is": r.description,
            }
        )
    show_table(pd.DataFrame(rows))
    say("The last two years week by week (each on its own scale):")
    _chart(kpi_charts.sparklines(frames))
    missing = [k.label for k in metrics.KPIS.values() if k.name not in set(table["kpi"])]
    if missing:
        say(
            f"Not available for this business yet (no data for them): {', '.join(missing)}. They are left "
            "out rather than shown as zero."
        )


def suggested_goals(ctx: Context) -> None:
    suggestions = goals.suggested_goals(ctx.con, ctx.as_of)
    if not suggestions:
        not_enough_data("suggested goals", "no KPI has a complete baseline yet.")
        return
    say(
        "A SMART goal names the KPI, the direction, a number and a date. These are starting points from "
        f"the baselines, a realistic step within {goals.SUGGEST_HORIZON_WEEKS} weeks; agree the real ones with "
        "the owner (in a live session, with the what-if panel of the improvement-delta notebook)."
    )
    show_table(
        pd.DataFrame(
            [
                {
                    "Suggested goal": goals.describe(g, ctx.currency),
                    "Baseline": metrics.format_value(g.kpi, g.baseline_value, ctx.currency),
                }
                for g in suggestions
            ]
        )
    )
    vague = goals.delta(ctx.con, Goal(suggestions[0].metric, suggestions[0].direction), ctx.as_of)
    say(
        f'Why the number and the date matter: "{vague.goal.direction} {vague.goal.kpi.label.lower()}" '
        f"alone is not a goal. {vague.why} A SMART version: *{goals.describe(vague.proposal, ctx.currency)}*."
    )
    finding(
        f"{len(suggestions)} SMART goals suggested from the baselines, starting with: "
        f"{goals.describe(suggestions[0], ctx.currency)}."
    )


# ------------------------------------------------------- notebook 02: improvement delta


def report_goals(ctx: Context) -> tuple[list[Goal], bool]:
    """The client's stored goals, or (when none are stored yet) the suggested ones; and which."""
    stored = goals.load_goals(ctx.con)
    return (stored, True) if stored else (goals.suggested_goals(ctx.con, ctx.as_of), False)


def goals_intro(ctx: Context) -> list[Delta]:
    """Say where the goals come from and how status is judged; return each goal's delta."""
    chosen, stored = report_goals(ctx)
    if not chosen:
        not_enough_data("goals", "no goal is stored and no KPI has a baseline to suggest one from.")
        return []
    if stored:
        say(f"**{len(chosen)}** goals agreed with {html.escape(ctx.name)} are tracked below.")
    else:
        say(
            "No goals have been agreed and saved yet, so this report tracks the **suggested** goals of the "
            "onboarding notebook (the KPI's usual step from its 12-week baseline within 13 weeks). Agree and "
            "save real goals in a live session (`workbook open`) and they replace these."
        )
    say(
        f"How to read a goal: *now* is the last {goals.CURRENT_WEEKS} complete weeks. The trend is a "
        f"Theil-Sen line through the last {goals.TREND_WEEKS} weeks (robust to odd weeks), extended to the "
        "deadline with its 95% range. **On track**: the trend reaches the target by the deadline. "
        "**At risk**: it falls short, but the hopeful end of its range reaches it. **Off track**: even the "
        "hopeful end falls short. After the deadline, the current value decides."
    )
    return [goals.delta(ctx.con, g, ctx.as_of) for g in chosen]


def goal_card(ctx: Context, d: Delta) -> None:
    kpi = d.goal.kpi
    fv = lambda x: metrics.format_value(kpi, x, ctx.currency)  # noqa: E731
    say(f"### {goals.describe(d.goal, ctx.currency, d.baseline.value if d.baseline else None)}")
    if d.status in ("undefined", "not enough data"):
        say(goals.verdict(d, ctx.currency))
        finding(goals.verdict(d, ctx.currency).replace("**", ""), goal=d.goal.metric, status=d.status)
        return
    _chart(kpi_charts.goal_chart(d, ctx.currency))
    rng = lambda v: (
        f" (95% range {fv(v.low)} to {fv(v.high)})"
        if v.low is not None
        else f" (from {v.periods} week{'s' if v.periods != 1 else ''} with data: too few for a range)"
    )
    say(
        "\n".join(
            [
                f"- **Baseline** ({_day(d.goal.baseline_start)} to {_day(d.goal.baseline_end)}): {fv(d.baseline.value)}"
                f"{rng(d.baseline)}.",
                f"- **Now** (last {goals.CURRENT_WEEKS} weeks): {fv(d.current.value)}{rng(d.current)}.",
                f"- **Target**: {fv(d.target)} by {_day(d.goal.deadline)}; the gap is "
                f"{metrics.format_change(kpi, d.gap, ctx.currency)} ({fmt.pct(d.gap_pct, signed=True)} of now).",
                f"- **Progress**: {_progress(d, ctx.currency)}",
                f"- **Needed**: {goals.needed(d, ctx.currency)}"
                + (
                    f" for {d.weeks_left:.0f} weeks."
                    if d.weeks_left > 0 and not d.goal.meets(d.current.value, d.target)
                    else "."
                ),
                f"- **Trend**: {metrics.format_change(kpi, d.slope_per_week, ctx.currency)} per week (95% range "
                f"{metrics.format_change(kpi, d.slope_low, ctx.currency)} to "
                f"{metrics.format_change(kpi, d.slope_high, ctx.currency)}), reaching about {fv(d.projected)} by the "
                f"deadline (between {fv(d.projected_low)} and {fv(d.projected_high)}).",
            ]
        )
    )
    sentence = goals.verdict(d, ctx.currency)
    finding(sentence.replace("**", ""), goal=d.goal.metric, status=d.status)


def _progress(d: Delta, currency: str) -> str:
    moved = metrics.format_change(d.goal.kpi, d.current.value - d.baseline.value, currency)
    if d.progress != d.progress:  # NaN: target equals baseline
        return f"{moved} since the baseline."
    if d.progress < 0:
        return f"none yet: it moved {moved} since the baseline, away from the target."
    if d.progress >= 1:
        return f"past the target already ({moved} since the baseline)."
    return f"{fmt.pct(d.progress, 0)} of the way from the baseline to the target ({moved})."


def goal_summary(ctx: Context, deltas: list[Delta]) -> None:
    if not deltas:
        not_enough_data("the goal summary", "there are no goals to summarise.")
        return
    counts = pd.Series([d.status for d in deltas]).value_counts()
    say("Of " + f"{len(deltas)} goals: " + ", ".join(f"**{n}** {s}" for s, n in counts.items()) + ".")
    show_table(goals.summary_table(deltas, ctx.currency))


def what_if(ctx: Context, deltas: list[Delta]) -> None:
    tunable = [d for d in deltas if d.status not in ("undefined", "not enough data") and d.weeks_left > 0]
    if not tunable:
        not_enough_data("the what-if", "no goal with a trend and a future deadline.")
        return
    say(
        "Move a slider to try another target: the green line is the straight path from today to that target "
        "by the deadline, and the label says how much it has to improve each week. Compare it with the "
        "dotted trend line: a path much steeper than the trend needs a change in what the business does."
    )
    for d in tunable:
        _chart(kpi_charts.what_if_chart(d, ctx.currency))
    widgets.what_if_panel(ctx, tunable[0].goal)


def _shift_section(ctx: Context, by: str, label: str) -> None:
    shifts = alignment.share_shifts(ctx.con, by, ctx.as_of)
    if shifts.empty:
        has_leads = ctx.con.execute("SELECT EXISTS (SELECT 1 FROM leads)").fetchone()[0]
        not_enough_data(
            f"{label} shifts",
            f"leads are needed both in the last {alignment.RECENT_WEEKS} weeks and in the year before."
            if has_leads
            else "no leads have been imported.",
        )
        return
    _chart(kpi_charts.share_chart(alignment.monthly_shares(ctx.con, by, ctx.as_of), label))
    moving = shifts[shifts["trend"] != "steady"]
    say(
        f"Each {label}'s share of leads in the last {alignment.RECENT_WEEKS} weeks against the "
        f"{alignment.EARLIER_WEEKS} weeks before, tested with a two-proportion z-test and adjusted for "
        f"looking at {len(shifts)} {label}s at once (Holm). "
        + ("None moved more than chance would explain." if moving.empty else "")
    )
    for _, row in moving.iterrows():
        sentence = alignment.share_sentence(row, by)
        say(sentence)
        finding(sentence.replace("**", ""), dimension=by, value=row["value"], trend=row["trend"])
    conv = alignment.share_shifts(ctx.con, by, ctx.as_of, converted=True)
    conv = conv[conv["trend"] != "steady"]
    if not conv.empty:
        say(
            "Among leads that became jobs, the same test finds: "
            + "; ".join(
                f"**{r['value']}** {r['trend']} ({fmt.pct(r['earlier_share'])} to {fmt.pct(r['recent_share'])}, "
                f"{fmt.pp(r['change'])})"
                for _, r in conv.iterrows()
            )
            + "."
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
            if not ctx.con.execute("SELECT EXISTS (SELECT 1 FROM services)").fetchone()[0]
            else "every service requested in the leads is in the catalogue."
        )
        not_enough_data("unmet demand", why)
        return
    top = unmet.iloc[0]
    say(
        f"**{fmt.num(unmet['requests'].sum())}** leads ({fmt.pct(unmet['share_of_leads'].sum())} of all) asked "
        f"for {len(unmet)} services that are not in the catalogue. Most requested:"
    )
    show_table(
        pd.DataFrame(
            {
                "Service asked for": unmet["service"],
                "Leads": unmet["requests"].map(fmt.num),
                "Share of leads": unmet["share_of_leads"].map(fmt.pct),
                "Became jobs anyway": unmet["converted"].map(fmt.num),
                "Reviews mentioning it": unmet["mentions"].map(fmt.num),
            }
        ).head(TABLE_ROWS)
    )
    sentence = (
        f"The most requested service you do not offer is {top['service']}: {fmt.num(top['requests'])} "
        f"leads ({fmt.pct(top['share_of_leads'])} of all leads)"
        + (f" and {fmt.num(top['mentions'])} reviews mention it" if top["mentions"] else "")
        + "."
    )
    if len(unmet) > 1:
        sentence += f" Next: {unmet.iloc[1]['service']} ({fmt.num(unmet.iloc[1]['requests'])} leads)."
    say(sentence)
    finding(sentence, unmet_service=top["service"], requests=int(top["requests"]))
