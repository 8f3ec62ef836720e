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
    sign = "+" if x >= 0 else "-"
    return sign + format_value(kpi, abs(x), currency)


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
    """Why a goal has no status ('undefined' or 'not enough data'); empty for a judged goal."""
    kpi = d.goal.kpi
    if d.status == "undefined":
        return not_smart(d.goal)
    if d.reason == goals.UNAVAILABLE:
        return f"{kpi.label} needs data in {', '.join(kpi.tables)}, and there is none yet."
    if d.reason == goals.TOO_FEW_WEEKS:
        return f"{kpi.label} has fewer than {goals.MIN_WEEKS} complete weeks of data, too few for a trend."
    return ""


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
    """The one-sentence verdict of a goal card, with the projection's uncertainty."""
    kpi, goal = d.goal.kpi, d.goal
    fv = partial(format_value, kpi, currency=currency)
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
    seg = f" (segment {nb.text(goal.segment)})" if goal.segment else ""
    now = (
        f"{kpi.label}{per_period(kpi)}{seg} is {fv(current.value)} over the last {goals.CURRENT_WEEKS} weeks"
    )
    if d.weeks_left <= 0:
        met = "met" if d.status == "on track" else "missed"
        return f"{now}; the deadline has passed and the target of {fv(d.target)} was {met}."
    if goal.meets(current.value, d.target):
        need = f"that already meets the target of {fv(d.target)} set for {goal.deadline:%d %b %Y}"
    else:
        need = (
            f"it needs {format_change(kpi, d.required_per_week, currency)} per week for "
            f"{d.weeks_left:.0f} weeks to reach {fv(d.target)} by {goal.deadline:%d %b %Y}"
        )
    slipping = goal.meets(current.value, d.target) and not goal.meets(d.projected, d.target)
    trend = (
        f"{'but ' if slipping else ''}at the current trend it would "
        f"{'slip to' if slipping else 'be'} about {fv(d.projected)} by then "
        f"(95% range {fv(d.projected_low)} to {fv(d.projected_high)})"
    )
    return f"{now}; {need}; {trend}: **{d.status}**."


def needed(d: Delta, currency: str = "USD") -> str:
    """The change per week still needed, in words: '+$120 per week', 'none: already at the target'."""
    if d.current is None:
        return "n/a"
    if d.weeks_left <= 0:
        return "deadline passed"
    if d.goal.meets(d.current.value, d.target):
        return "none: already at the target"
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
                "Status": d.status,
            }
        )
    return pd.DataFrame(rows)
