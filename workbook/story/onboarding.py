"""What notebook 01 (onboarding) shows, section by section: the data inventory and its quality,
where each KPI stands today, and suggested SMART goals.

Each function displays one section's sentences, tables and charts for a notebook `Context`,
so the notebook stays a list of headings and calls. The numbers come from `quality`,
`metrics` and `goals`; every number shown has a sentence and, where it has one, its 95%
interval. Nothing here writes to the database.
"""

from __future__ import annotations

from functools import partial

import pandas as pd

from workbook import store
from workbook.analytics import cohorts, goals, metrics, profiles, quality
from workbook.analytics.goals import Goal
from workbook.core import fmt
from workbook.story import goal_words, kpi_charts, nb
from workbook.story.nb import Context


def _days(n: int) -> str:
    return f"{fmt.num(n)} day{'' if n == 1 else 's'}"


def inventory(ctx: Context) -> None:
    inv = quality.inventory(ctx.con)
    filled, empty = inv[inv["rows"] > 0], inv[inv["rows"] == 0]
    dated = filled.dropna(subset=["first"])
    if filled.empty:
        nb.not_enough_data("the inventory", "nothing is imported yet (see the first lines of this page).")
        return
    future = quality.future_rows(ctx.con, ctx.client.today())
    nb.say(
        f"The workbook holds **{len(filled)}** kinds of data with **{fmt.num(filled['rows'].sum())}** rows "
        f"in all, from {nb.day(dated['first'].min())} to {nb.day(dated['last'].max())}"
        + (
            f" ({fmt.num(future['rows'].sum())} of them dated after today: see Data quality)."
            if len(future)
            else "."
        )
        + (f" Nothing yet for: {', '.join(empty['table'])}." if len(empty) else "")
    )
    nb.show_table(
        pd.DataFrame(
            {
                "Data": filled["table"],
                "Rows": filled["rows"].map(fmt.num),
                "From": filled["first"].map(nb.day),
                "To": filled["last"].map(nb.day),
            }
        )
    )
    history = quality.import_history(ctx.con)
    if history.empty:
        nb.not_enough_data("the import history", "no file has been imported with `workbook import`.")
        return
    nb.say(
        f"**{len(history)}** files were imported; the latest on {nb.day(history['imported_at'].iloc[0])}. "
        f"The {min(len(history), nb.TABLE_ROWS)} most recent:"
    )
    nb.show_table(
        pd.DataFrame(
            {
                "Imported": history["imported_at"].map(nb.day),
                "Source": history["source"],
                "File": history["file_name"],
                "Rows": history["rows"].map(fmt.num),
            }
        ).head(nb.TABLE_ROWS)
    )


def data_quality(ctx: Context) -> None:
    if not any(store.table_counts(ctx.con).values()):
        nb.not_enough_data("data quality", "nothing is imported yet, so there is nothing to check.")
        return
    future_dated(ctx)
    missing = quality.missing_values(ctx.con)
    absent = missing[missing["share"] == 1]
    if len(absent):
        nb.say(
            "**Not in these exports** (every row empty, so the KPIs that need them are left out): "
            + ", ".join(f"{r.table}.{r.column}" for r in absent.itertuples())
            + "."
        )
    missing = missing[(missing["share"] >= 0.01) & (missing["share"] < 1)].sort_values(
        "share", ascending=False
    )
    if missing.empty:
        nb.say("**Missing values:** no other column is more than 1% empty.")
    else:
        nb.say(
            f"**Missing values:** {len(missing)} {'column is' if len(missing) == 1 else 'columns are'} at "
            "least 1% empty. Empty values are left "
            "out of the KPIs that need them (e.g. orders without a customer count for revenue, not for "
            "repeat purchases)."
        )
        nb.show_table(
            pd.DataFrame(
                {
                    "Data": missing["table"],
                    "Column": missing["column"],
                    "Empty": missing["missing"].map(fmt.num),
                    "Share": missing["share"].map(fmt.pct),
                }
            ).head(nb.TABLE_ROWS)
        )
    dup = quality.duplicates(ctx.con)
    dup = dup[dup["duplicate_rows"] > 0]
    nb.say(
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
        # a fence below zero finds nothing in amounts that are never negative: not worth a clause
        below = (
            f" and {fmt.num(r.below)} far below it (under {fmt.num(r.low_fence, 2)})"
            if r.below or r.low_fence > 0
            else ""
        )
        nb.say(
            f"**Unusual values in {r.table}.{r.column}:** {fmt.num(r.above)} of {fmt.num(r.rows)} rows are far "
            f"above the usual range (over {fmt.num(r.high_fence, 2)}){below} (Tukey's far-out fences, "
            "3 interquartile ranges). "
            + (
                ""
                if not r.above + r.below
                else "So many that the amounts are simply very spread out (small jobs and big ones), not errors."
                if (r.above + r.below) / r.rows > 0.05
                else "Worth a look: big one-off orders and refunds move weekly averages."
            )
        )
    gaps = quality.date_gaps(ctx.con, ctx.as_of)
    for r in gaps.itertuples():
        gap = (
            f"; the longest gap is {_days(r.longest_gap_days)} from {nb.day(r.longest_gap_from)}"
            if r.longest_gap_days
            else ""
        )
        nb.say(
            f"**Gaps in {r.table}:** {fmt.num(r.days_without_rows)} of {fmt.num(r.calendar_days)} days have no "
            f"rows{gap}. "
            + ("A gap of a week or more usually means a missing export." if r.longest_gap_days >= 7 else "")
        )


def future_dated(ctx: Context) -> None:
    """Rows dated after today: said, with what they do (nothing) and how to fix them."""
    future = quality.future_rows(ctx.con, ctx.client.today())
    if future.empty:
        return
    listed = "; ".join(
        f"{fmt.num(r.rows)} {nb.ACTIVITY_WORDS[r.table]} dated {nb.day(r.first)}"
        + (f" to {nb.day(r.last)}" if r.last != r.first else "")
        for r in future.itertuples()
    )
    nb.say(
        f"**Dated after today:** {listed}. A mistyped year or a wrong time zone: these rows are left "
        f"out of every figure (the report covers up to {nb.day(ctx.as_of)}). Correct the dates in the "
        "export and import it again with `--replace`."
    )


def baselines(ctx: Context) -> None:
    start, last = ctx.window.baseline
    profile = ctx.profile
    if profile.fallback:
        nb.say(
            f"client.toml names the industry {nb.text(profile.industry)}, which the workbook has no "
            f"profile for, so the KPIs below are the generic ones (profiles: "
            f"{', '.join(profiles.PROFILES)}; set `industry` in client.toml to one of them)."
        )
    table, frames = goals.kpi_baselines(ctx.con, ctx.as_of, profile=profile)
    if table.empty:
        nb.not_enough_data("KPI baselines", "no KPI has data yet; import orders, leads or reviews first.")
        return
    nb.say(
        f"A baseline is where each KPI stood over the **{goals.BASELINE_WEEKS} complete weeks** from "
        f"{nb.day(start)} to {nb.day(last)}: money and counts per week, rates pooled over those weeks. "
        "The range "
        "is a 95% interval from the week-to-week variation: a later value inside it may be ordinary noise."
    )
    identified = cohorts.anonymous_share(ctx.con, ctx.as_of)["identified_share"]
    rows = []
    for r in table.itertuples():
        kpi = metrics.get(r.kpi)
        fv = partial(goal_words.format_value, kpi, currency=ctx.currency)
        rows.append(
            {
                "KPI": kpi.label + goal_words.per_period(kpi),
                "Baseline": fv(r.value) + goal_words.identified(kpi, identified),
                "95% range": f"{fv(r.low)} to {fv(r.high)}" if pd.notna(r.low) else "n/a",
                "Same weeks last year": fv(r.last_year),
                "Better": "higher" if r.better == "up" else "lower",
                "What it is": r.description,
            }
        )
    table_rows = pd.DataFrame(rows)
    if table["last_year"].isna().all():  # under a year of history: nothing to compare with
        table_rows = table_rows.drop(columns="Same weeks last year")
    else:
        nb.say(
            "*Same weeks last year* is the KPI over the same 12 weeks a year earlier: a comparison of like "
            "with like, which a business with busy and quiet seasons needs before reading a change as a trend."
        )
    nb.show_table(table_rows)
    sparkline_section(frames)
    missing = [
        k.label for k in metrics.KPIS.values() if profile.shows(k.name) and k.name not in set(table["kpi"])
    ]
    if missing:
        nb.say(
            f"Not available for this business yet (no data for them): {', '.join(missing)}. They are left "
            "out rather than shown as zero."
        )


def sparkline_section(frames: dict[str, pd.DataFrame]) -> None:
    """Each KPI's complete weeks as a small chart, over the weeks there are; a KPI without a
    complete week yet (a 90-day lapse in a younger business) is one line, not an empty panel."""
    shown = {label: f for label, f in frames.items() if f.loc[f["complete"], "value"].notna().any()}
    for label in [label for label in frames if label not in shown]:
        nb.say(f"*{label}: no complete week has a value yet in the history there is, so no chart.*")
    if not shown:
        return
    weeks = max(int(f.loc[f["complete"], "value"].notna().sum()) for f in shown.values())
    first = min(f.loc[f["complete"] & f["value"].notna(), "period"].min() for f in shown.values())
    nb.say(
        f"Week by week from the week of {nb.day(first)}: the {nb.weeks_words(weeks)} with complete data "
        "(each KPI on its own scale):"
    )
    nb.show(kpi_charts.sparklines(shown))


def suggested_goals(ctx: Context) -> None:
    suggestions = goals.suggested_goals(ctx.con, ctx.as_of, ctx.profile)
    identified = cohorts.anonymous_share(ctx.con, ctx.as_of)["identified_share"]
    if not suggestions:
        nb.not_enough_data("suggested goals", "no KPI has a complete baseline yet.")
        return
    nb.say(
        "A SMART goal names the KPI, the direction, a number and a date. These are starting points from "
        f"the baselines, a realistic step within {goals.SUGGEST_HORIZON_WEEKS} weeks; agree the real ones with "
        "the owner (in a live session, with the what-if panel of the improvement-delta notebook)."
    )
    nb.show_table(
        pd.DataFrame(
            [
                {
                    "Suggested goal": nb.plain(goal_words.describe(g, ctx.currency)),
                    "Baseline": goal_words.format_value(g.kpi, g.baseline_value, ctx.currency)
                    + goal_words.identified(g.kpi, identified),
                }
                for g in suggestions
            ]
        )
    )
    first = suggestions[0]
    vague = Goal(first.metric, first.direction)
    nb.say(
        f'Why the number and the date matter: "{vague.direction} {vague.kpi.label.lower()}" '
        f"alone is not a goal. {goal_words.not_smart(vague)} A SMART version: "
        f"*{goal_words.describe(first, ctx.currency)}*."
    )
    nb.finding(
        f"{len(suggestions)} SMART goals suggested from the baselines, starting with: "
        f"{goal_words.describe(first, ctx.currency)}{goal_words.identified(first.kpi, identified)}."
    )
