"""KPI values and goals in words: the sentences and display strings of notebooks 01 and 02 and
of the live what-if panel.

`metrics` and `goals` return numbers and codes (a KPI's unit and kind, a goal's status and why
it has none); this module turns them into '$1,234', '+1.5 pp', 'Increase revenue per week by
10% by 31 Jan 2027' and a goal card's one-sentence verdict.
"""

from __future__ import annotations

import math
from functools import partial

import pandas as pd

from workbook.analytics import goals
from workbook.analytics.goals import Delta, Goal
from workbook.analytics.metrics import KPI
from workbook.core import fmt
from workbook.story import nb


def format_value(kpi: KPI, x: float | None, currency: str = "USD") -> str:
    """A KPI value in its unit: '$1,234', '12.3%', '32', '4.60'; 'n/a' when missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if kpi.unit == "money":
        return fmt.money(x, currency)
    if kpi.unit == "share":
        return fmt.pct(x)
    if kpi.unit == "ratio":
        return fmt.pct(x, 0)
    if kpi.unit == "count":
        return fmt.num(x, 0 if abs(x) >= 100 else 1)
    if kpi.unit == "score":
        return fmt.num(x, 0)
    return fmt.num(x, 2)


def identified_words(share: float) -> str:
    """What a per-customer figure rests on where sales are partly anonymous: 'computed on the
    34% of sales that carry a customer id' (`measures.IDENTIFIED_SHARE`); '' when every sale
    carries one."""
    if math.isnan(share) or share >= 1:
        return ""
    return f"computed on the {fmt.pct(share, 0)} of sales that carry a customer id"


def identified_note(share: float) -> str:
    """`identified_words` to put beside a figure: ' (computed on ...)', or ''."""
    words = identified_words(share)
    return f" ({words})" if words else ""


def identified(kpi: KPI, share: float) -> str:
    """`identified_note` for a KPI computed on identified customers' orders only; else ''."""
    return identified_note(share) if kpi.identified_only else ""


def format_change(kpi: KPI, x: float | None, currency: str = "USD") -> str:
    """A signed change in the KPI's unit: '+$120', '+1.5 pp', '+0.20'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if kpi.unit == "share":
        return fmt.pp(x, 2 if abs(x) < 0.01 else 1)
    magnitude = format_value(kpi, abs(x), currency)
    sign = "-" if x < 0 and magnitude != format_value(kpi, 0.0, currency) else "+"  # never "-$0.00"
    return sign + magnitude


def compared(kpi: KPI, difference: float, currency: str = "USD") -> str:
    """A difference as a side: '$284.80 below', '8.5 pp above', 'level with' (no signed money)."""
    if not difference:
        return "level with"
    side = "above" if difference > 0 else "below"
    return f"{format_change(kpi, abs(difference), currency).lstrip('+')} {side}"


def per_period(kpi: KPI) -> str:
    """' per week' for flow KPIs, whose value over a window is an average per week; else ''."""
    return " per week" if kpi.kind == "flow" else ""


def not_smart(goal: Goal) -> str:
    """Why a goal without a target or a deadline cannot be judged."""
    return (
        f"It has no {' and no '.join(goal.missing)}: without one, any change counts as "
        "success and none as failure, so the data cannot say whether it is being met."
    )


def why(d: Delta) -> str:
    """Why a goal has no chance ('undefined', 'not enough data', 'too early to tell'); else empty."""
    kpi = d.goal.kpi
    if d.status == "undefined":
        return not_smart(d.goal)
    if d.reason == goals.UNAVAILABLE:
        return f"{kpi.label} needs data in {', '.join(kpi.tables)}, and there is none yet."
    if d.reason == goals.NO_VALUE:
        return (
            f"{kpi.label} has no value in the last {goals.CURRENT_WEEKS} weeks or in the baseline weeks, "
            "so there is nothing to measure progress from."
        )
    if d.reason == goals.TOO_FEW_WEEKS:
        return (
            f"{kpi.label} has fewer than {goals.MIN_WEEKS} complete weeks with data in the last "
            f"{goals.TREND_WEEKS}: too few to say where it is heading."
        )
    if d.reason == goals.TOO_FAR_AHEAD:
        return (
            f"The deadline is {d.weeks_left:.0f} weeks away, further ahead than the {d.fitted_weeks} weeks "
            "of history the trend rests on; the chance is shown once the deadline is closer."
        )
    if d.reason == goals.NO_TRACK_RECORD:
        return (
            f"The history is too short to check how far such a forecast, {d.weeks_left:.0f} weeks ahead, "
            f"missed in the past (that takes about {goals.track_record_weeks(d.weeks_left)} weeks "
            "of data), and unchecked forecasts proved too sure of themselves; the chance is shown once "
            "there is more history."
        )
    return ""


def chance(x: float) -> str:
    """A probability in words: 'a 62% chance', 'an 81% chance', 'under a 1% chance', 'over a 99%
    chance'."""
    if math.isnan(x):
        return "no chance computed"
    if x < 0.01:
        return "under a 1% chance"
    if x > 0.99:
        return "over a 99% chance"
    percent = fmt.pct(x, 0)
    article = "an" if percent.startswith("8") or percent in ("11%", "18%") else "a"  # said "eighty", "eleven"
    return f"{article} {percent} chance"


def describe(goal: Goal, currency: str = "USD", baseline: float | None = None) -> str:
    """The goal in one line: 'Increase revenue per week to $1,200 by 31 Jan 2027'."""
    kpi = goal.kpi
    base = goal.baseline_value if baseline is None else baseline
    if goal.target_value is not None:
        target = f"to {format_value(kpi, goal.target_value, currency)}"
    elif goal.target_change_pct is not None:
        target = f"by {abs(goal.target_change_pct):g}%"
        if base is not None:
            target += f" (to {format_value(kpi, goal.target(base), currency)})"
    else:
        target = "(no target)"
    by = f"by {goal.deadline:%d %b %Y}" if goal.deadline else "(no deadline)"
    seg = f" for segment {nb.text(goal.segment)}" if goal.segment else ""
    return f"{goal.direction.capitalize()} {kpi.label.lower()}{per_period(kpi)}{seg} {target} {by}"


def verdict(d: Delta, currency: str = "USD") -> str:
    """The one-sentence verdict of a goal card: where it stands, what it takes, and the chance of
    reaching the target with the forecast's 95% range."""
    kpi, goal = d.goal.kpi, d.goal
    fv = partial(format_value, kpi, currency=currency)
    fc = partial(format_change, kpi, currency=currency)
    if d.status == "undefined":
        proposed = " and ".join(goal.missing)  # what the proposal adds; it keeps what the goal gives
        smart = (
            f" A SMART version, with a proposed {proposed}: {describe(d.proposal, currency)}."
            if d.proposal
            else ""
        )
        return f"{describe(goal, currency)} is not a SMART goal yet. {why(d)}{smart}"
    current = d.current
    if d.status == "not enough data" or current is None:  # a judged goal always has a current value
        return f"{describe(goal, currency)}: not enough data to judge. {why(d)}"
    if d.status == "too early to tell" and d.reason == goals.TOO_FEW_WEEKS:
        return f"{describe(goal, currency)}: **too early to tell**. {why(d)}"
    seg = f" (segment {nb.text(goal.segment)})" if goal.segment else ""
    now = (
        f"{kpi.label}{per_period(kpi)}{seg} is {fv(current.value)} over the last {goals.CURRENT_WEEKS} weeks"
    )
    if d.last_year is not None:
        now += f" ({fv(d.last_year.value)} in the same weeks last year)"
    if d.status in ("met", "missed"):
        return f"{now}; the weeks that decide the goal are in, and the target of {fv(d.target)} was **{d.status}**."
    season = f"the {fc(d.season_change)} the season brings by then (same weeks last year)"
    if goal.meets(current.value, d.target):
        need = f"that already meets the target of {fv(d.target)} set for {goal.deadline:%d %b %Y}"
    elif d.seasonal and _season_is_enough(d):
        need = f"{season} would reach the target of {fv(d.target)} by {goal.deadline:%d %b %Y} on its own"
    else:
        need = (
            f"it needs {fc(d.required_per_week)} per week for {d.weeks_left:.0f} weeks to reach "
            f"{fv(d.target)} by {goal.deadline:%d %b %Y}"
        )
        if d.seasonal and d.season_change > 0:
            need += f", beyond {season}"
        elif d.seasonal and d.season_change < 0:
            need += f", making up for the season's usual change of {fc(d.season_change)} by then (same weeks last year)"
    allowing = ", allowing for the season" if d.seasonal else ""
    trend = (
        f"the trend of the last {d.fitted_weeks} weeks ({fc(d.slope_per_week)} per week{allowing}) points to "
        f"about {fv(d.projected)} for the {goals.CURRENT_WEEKS} weeks before the deadline "
        f"(95% range {fv(d.projected_low)} to {fv(d.projected_high)})"
    )
    if abs(current.value - d.trend_now) > abs(d.projected - d.trend_now):
        side = "above" if current.value > d.trend_now else "below"
        trend += f"; the last {goals.CURRENT_WEEKS} weeks ran {side} that trend line, which stands at {fv(d.trend_now)}"
    if d.status == "too early to tell":
        return f"{now}; {need}; {trend}. **Too early to tell**: {why(d)}"
    return f"{now}; {need}; {trend}: {chance(d.chance)} of reaching it, **{d.status}**."


def _season_is_enough(d: Delta) -> bool:
    """The season's usual change reaches the target, or leaves a weekly need too small to show
    (a page saying "+0.0 per week" is asking for nothing)."""
    assert d.current is not None
    kpi = d.goal.kpi
    too_small = format_change(kpi, d.required_per_week) == format_change(kpi, 0.0)
    return d.goal.meets(d.current.value + d.season_change, d.target) or too_small


def needed(d: Delta, currency: str = "USD") -> str:
    """The change per week still needed, in words: '+$120 per week', 'none: already at the target'."""
    if d.current is None or math.isnan(d.current.value):
        return "n/a"
    if d.weeks_left <= 0 or d.status in ("met", "missed"):
        return "deadline passed"
    if d.goal.meets(d.current.value, d.target):
        return "none: already at the target"
    if d.seasonal and _season_is_enough(d):
        return "none beyond the season's usual change"
    if math.isnan(d.required_per_week):
        return "n/a"
    return f"{format_change(d.goal.kpi, d.required_per_week, currency)} per week"


def summary_table(deltas: list[Delta], currency: str = "USD") -> pd.DataFrame:
    """One row per goal, formatted for the report's summary table."""
    rows = []
    for d in deltas:
        fv = partial(format_value, d.goal.kpi, currency=currency)
        rows.append(
            {
                "Goal": nb.plain(describe(d.goal, currency, d.baseline.value if d.baseline else None)),
                "Baseline": fv(d.baseline.value) if d.baseline else "n/a",
                "Now": fv(d.current.value) if d.current else "n/a",
                "Target": fv(d.target),
                "Needed": needed(d, currency),
                "Projected": fv(d.projected),
                "Chance": "n/a" if math.isnan(d.chance) else fmt.pct(d.chance, 0),
                "Status": d.status,
            }
        )
    return pd.DataFrame(rows)
