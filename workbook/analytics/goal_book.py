"""The goals agreed with a client, kept in its database: list, save, edit and delete them.

A goal is identified by its KPI and segment: a client has at most one goal per KPI and segment
(the `goals_identity` unique index of schema migration 6). Saving a goal whose KPI and segment
match a stored one updates that goal under its number: the direction, target, deadline and note
become the saved ones, and it keeps the baseline it was agreed against, since that is where the
goal started (moving it would erase the progress made since). A % target saved against a
different baseline is stored as the absolute value it meant then, so the number agreed stays
the number tracked. To start a goal again from a new baseline, delete it and save it anew.

Every write opens a read-write connection only for that write and closes it: a notebook kernel
holding one would block every report render of the client (see `store`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import duckdb

from workbook import store
from workbook.analytics import metrics
from workbook.analytics.goals import Goal
from workbook.core.errors import WorkbookError

_COLUMNS = (
    "metric",
    "direction",
    "baseline_value",
    "baseline_start",
    "baseline_end",
    "target_value",
    "target_change_pct",
    "deadline",
    "segment",
    "note",
)
# What saving over a stored goal, or editing it, may change; the rest is its identity and baseline.
_AGREED = ("direction", "target_value", "target_change_pct", "deadline", "note")
_SELECT = f"SELECT goal_id, {', '.join(_COLUMNS)} FROM goals"
# KPIs whose values are shares or ratios (0.35) and are shown and typed as percentages (35%).
PERCENT_UNITS = ("share", "ratio")


@dataclass(frozen=True)
class Saved:
    goal_id: int
    updated: bool  # True: the client's goal for the same KPI and segment was updated


def _goal(row: tuple) -> Goal:
    return Goal(**dict(zip(("goal_id", *_COLUMNS), row)))


def load_goals(con: duckdb.DuckDBPyConnection) -> list[Goal]:
    """The goals agreed with the client, oldest first."""
    return [_goal(row) for row in con.execute(f"{_SELECT} ORDER BY goal_id").fetchall()]


def find(con: duckdb.DuckDBPyConnection, goal_id: int) -> Goal:
    """The stored goal numbered `goal_id`; a WorkbookError naming the numbers there are if none."""
    rows = con.execute(f"{_SELECT} WHERE goal_id = $goal_id", {"goal_id": goal_id}).fetchall()
    if rows:
        return _goal(rows[0])
    numbers = [str(g.goal_id) for g in load_goals(con)]
    there = f"its goals are numbered {', '.join(numbers)}" if numbers else "it has no goals saved"
    raise WorkbookError(
        f"There is no goal {goal_id} for this client: {there} (`workbook goals <client>` lists them)."
    )


def _agreed_baseline(con: duckdb.DuckDBPyConnection, goal: Goal, as_of: dt.date) -> Goal:
    """The goal with the baseline it is agreed against: its own, or the KPI over the goal's
    baseline window (by default the complete weeks before `as_of`, `Goal.baseline_dates`)."""
    if goal.baseline_value is not None:
        return goal
    start, last = goal.baseline_dates(as_of)
    value = metrics.value(con, goal.kpi, start, last + dt.timedelta(days=1), goal.segment).value
    return replace(goal, baseline_start=start, baseline_end=last, baseline_value=value)


def _onto(stored: Goal, goal: Goal) -> Goal:
    """`goal`'s agreement (direction, target, deadline, note) on the stored goal and its baseline;
    a % target of another baseline becomes the absolute target it meant."""
    if goal.target_change_pct is not None and goal.baseline_value != stored.baseline_value:
        goal = replace(goal, target_value=goal.target(), target_change_pct=None)
    return replace(stored, **{c: getattr(goal, c) for c in _AGREED})


def _write(con: duckdb.DuckDBPyConnection, goal: Goal, goal_id: int | None) -> int:
    """Insert the goal (no `goal_id`) or overwrite the stored one; the goal's number."""
    values = asdict(goal)
    if goal_id is None:
        return store.scalar(
            con,
            f"INSERT INTO goals ({', '.join(_COLUMNS)}) VALUES ({', '.join('$' + c for c in _COLUMNS)}) "
            "RETURNING goal_id",
            {c: values[c] for c in _COLUMNS},
        )
    con.execute(
        f"UPDATE goals SET {', '.join(f'{c} = ${c}' for c in _AGREED)} WHERE goal_id = $goal_id",
        {"goal_id": goal_id, **{c: values[c] for c in _AGREED}},
    )
    return goal_id


def save_goal(db_path: Path, goal: Goal, as_of: dt.date) -> Saved:
    """Store a goal, or update the client's goal for the same KPI and segment (module docstring).

    A new goal gets its baseline as of `as_of` unless it carries one. Refused like `edit_goal`
    when its target is off the KPI's scale or its deadline not after its baseline.
    """
    if not goal.defined:
        raise WorkbookError("Give the goal a target and a deadline before saving it.")
    with store.write(db_path=db_path) as con, store.transaction(con):
        goal = _agreed_baseline(con, goal, as_of)
        rows = con.execute(
            f"{_SELECT} WHERE metric = $metric AND coalesce(segment, '') = coalesce($segment, '')",
            {"metric": goal.metric, "segment": goal.segment},
        ).fetchall()
        if not rows:
            _check(goal)
            return Saved(_write(con, goal, None), updated=False)
        stored = _goal(rows[0])
        goal = _onto(stored, goal)
        _check(goal)
        return Saved(_write(con, goal, stored.goal_id), updated=True)


def edit_goal(
    db_path: Path,
    goal_id: int,
    *,
    target: str | None = None,
    deadline: dt.date | None = None,
    direction: str | None = None,
) -> Goal:
    """Change a stored goal's target (as typed, `parse_target`), deadline or direction, keeping
    its baseline; return the goal as stored.

    Refused (WorkbookError) when the result is not a goal the data could judge: a target the
    KPI cannot reach (a rate above 100%), or a deadline not after its baseline.
    """
    with store.write(db_path=db_path) as con, store.transaction(con):
        goal = find(con, goal_id)
        changes: dict[str, Any] = {}
        if target is not None:  # one kind of target replaces the other
            changes = {"target_value": None, "target_change_pct": None, **parse_target(goal.kpi, target)}
        if deadline is not None:
            changes["deadline"] = deadline
        if direction is not None:
            changes["direction"] = direction
        goal = replace(goal, **changes)
        _check(goal)  # Goal itself checks a % target's sign against the direction
        _write(con, goal, goal_id)
    return goal


def _check(goal: Goal) -> None:
    """Refuse a goal whose target is off the KPI's scale or whose deadline is not after its baseline."""
    kpi, target = goal.kpi, goal.target()
    low, high = kpi.possible or metrics.UNIT_RANGE[kpi.unit]
    if not math.isnan(target) and not low <= target <= high:
        scale = f"{low:g} to {high:g}" if kpi.unit not in PERCENT_UNITS else f"{low:.0%} to {high:.0%}"
        shown = f"{target:g}" if kpi.unit not in PERCENT_UNITS else f"{target:.1%}"
        raise WorkbookError(
            f"A target of {shown} is impossible for {kpi.label.lower()} (it runs from {scale}): "
            "give a target it can reach."
        )
    if goal.deadline is not None and goal.baseline_end is not None and goal.deadline <= goal.baseline_end:
        raise WorkbookError(
            f"The deadline {goal.deadline} is not after the goal's baseline (which ends "
            f"{goal.baseline_end}): give a later deadline."
        )


def delete_goal(db_path: Path, goal_id: int) -> Goal:
    """Delete a stored goal and return it (to say what went)."""
    with store.write(db_path=db_path) as con, store.transaction(con):
        goal = find(con, goal_id)
        con.execute("DELETE FROM goals WHERE goal_id = $goal_id", {"goal_id": goal_id})
    return goal


_NUMBER = r"\d[\d,]*(?:\.\d+)?|\.\d+"
_RELATIVE = re.compile(rf"([+-])\s*({_NUMBER})\s*%")
_PERCENT = re.compile(rf"({_NUMBER})\s*%")
_ABSOLUTE = re.compile(rf"-?(?:{_NUMBER})")


def parse_target(kpi: metrics.KPI, text: str) -> dict[str, float | None]:
    """A target as the consultant types it, as `edit_goal` changes: '+10%' or '-15%' (a signed %)
    is a change from the goal's baseline; '35%' is a rate of 35%; '1200' or '1,200' is a value in
    the KPI's unit (money in the client's currency). A rate must be written with its % sign, so
    that 0.35 is never read as 0.35%."""
    text = text.strip()
    percent_kpi = kpi.unit in PERCENT_UNITS
    if match := _RELATIVE.fullmatch(text):
        sign = -1 if match[1] == "-" else 1
        return {"target_change_pct": sign * float(match[2].replace(",", ""))}
    if match := _PERCENT.fullmatch(text):
        if percent_kpi:
            return {"target_value": float(match[1].replace(",", "")) / 100}
        raise WorkbookError(
            f"{kpi.label} is not a percentage: give its target as a number (e.g. 1200), or "
            f"+{match[1]}% for a change from the goal's baseline."
        )
    if _ABSOLUTE.fullmatch(text):
        if percent_kpi:
            raise WorkbookError(
                f"{kpi.label} is a percentage: write its target with a % sign (e.g. {text}%), "
                f"or +{text.lstrip('-')}% for a change from the goal's baseline."
            )
        return {"target_value": float(text.replace(",", ""))}
    raise WorkbookError(
        f"Target {text!r} is not a number: give a value (e.g. 1200, or 35% for a rate) or a "
        "change from the goal's baseline (e.g. +10% or -15%)."
    )
