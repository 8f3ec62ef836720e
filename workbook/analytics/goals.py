"""SMART goals and their improvement delta: how far a KPI is from its target, and what it takes.

A goal is a KPI (see `metrics`), a direction, a target (an absolute value, or a signed % change
from a baseline window: 10 means 10% above the baseline, -15 means 15% below), a deadline and
an optional customer segment. Values are weekly: flow KPIs (revenue, orders, leads...) are per
week, ratios are pooled over the weeks of a window.

Projection: a Theil-Sen line (Theil 1950, Sen 1968; `scipy.stats.theilslopes`) through the
last `TREND_WEEKS` complete weeks, extended to the deadline. Theil-Sen is the median of all
pairwise slopes, so one odd week (a holiday, a big order) does not bend it. Its band comes
from Sen's 95% confidence interval of the slope, pivoting on the median point; it shows how
uncertain the trend is, not how much single weeks scatter around it.

Status rule (for a decrease goal read "meets" as "at or below"):

- **on track**: the projected value at the deadline meets the target;
- **at risk**: the projection misses, but the favourable end of its 95% band meets it;
- **off track**: even the favourable end of the band misses;
- once the deadline has passed: on track if the current value meets the target, else off track;
- **undefined**: no target or no deadline, so no data can show it met or missed;
- **not enough data**: the KPI is unavailable, or fewer than `MIN_WEEKS` complete weeks.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import duckdb
import pandas as pd
from scipy import stats

from workbook import store
from workbook.analytics import metrics
from workbook.core.dates import BASELINE_WEEKS, baseline_window, last_complete_week_end
from workbook.core.errors import WorkbookError

CURRENT_WEEKS = 4  # "current value": the last 4 complete weeks
TREND_WEEKS = 26  # the projection is fitted on the last 26 complete weeks
MIN_WEEKS = 8  # fewer complete weeks than this: no projection
SUGGEST_HORIZON_WEEKS = 13
STATUSES = ("on track", "at risk", "off track", "undefined", "not enough data")


@dataclass
class Goal:
    metric: str
    direction: str  # "increase" | "decrease"
    target_value: float | None = None  # absolute target in the KPI's unit
    target_change_pct: float | None = None  # or a signed % change from the baseline
    deadline: dt.date | None = None
    segment: str | None = None
    baseline_start: dt.date | None = None
    baseline_end: dt.date | None = None  # last day of the baseline window (inclusive)
    baseline_value: float | None = None
    note: str = ""
    goal_id: int | None = None

    def __post_init__(self):
        metrics.get(self.metric)
        if self.direction not in ("increase", "decrease"):
            raise WorkbookError(f"A goal's direction is 'increase' or 'decrease', not {self.direction!r}.")
        pct = self.target_change_pct
        if pct is not None and pct != 0 and (pct > 0) != (self.direction == "increase"):
            raise WorkbookError(
                f"A goal to {self.direction} {self.metric} cannot have a "
                f"{pct:+g}% target: flip the sign or the direction."
            )

    @property
    def kpi(self) -> metrics.KPI:
        return metrics.get(self.metric)

    @property
    def defined(self) -> bool:
        return self.deadline is not None and (
            self.target_value is not None or self.target_change_pct is not None
        )

    def target(self, baseline: float) -> float:
        """The absolute target: the stated value, or the baseline moved by the % change."""
        if self.target_value is not None:
            return float(self.target_value)
        return baseline * (1 + self.target_change_pct / 100)

    def meets(self, x: float, target: float) -> bool:
        return x >= target if self.direction == "increase" else x <= target


@dataclass
class Delta:
    """The improvement delta of a goal as of a date. Numbers are NaN where undefined."""

    goal: Goal
    as_of: dt.date
    status: str
    baseline: metrics.WindowValue | None = None
    current: metrics.WindowValue | None = None
    target: float = math.nan
    gap: float = math.nan  # target - current, in the KPI's unit
    gap_pct: float = math.nan  # gap / |current|
    progress: float = math.nan  # share of the baseline-to-target way covered so far
    weeks_left: float = math.nan
    required_per_week: float = math.nan  # change per week needed from now to the deadline
    slope_per_week: float = math.nan  # Theil-Sen trend
    slope_low: float = math.nan
    slope_high: float = math.nan
    projected: float = math.nan  # trend value at the deadline, with its 95% band
    projected_low: float = math.nan
    projected_high: float = math.nan
    history: pd.DataFrame = field(default_factory=pd.DataFrame)  # weekly series (aggregates)
    projection: pd.DataFrame = field(
        default_factory=pd.DataFrame
    )  # trend line and band, last week -> deadline
    why: str = ""  # for undefined / not enough data
    proposal: Goal | None = None  # a SMART version of an undefined goal


def theil_sen(frame: pd.DataFrame) -> tuple[float, float, float, float, float]:
    """(slope, low, high, median t, median value) per week of a series frame's complete weeks."""
    rows = frame[frame["complete"]].dropna(subset=["value"])
    t = (rows["period"] - rows["period"].iloc[0]).dt.days.to_numpy() / 7
    res = stats.theilslopes(rows["value"].to_numpy(), t, 0.95)
    return (
        res.slope,
        res.low_slope,
        res.high_slope,
        float(pd.Series(t).median()),
        float(rows["value"].median()),
    )


def _baseline(con, goal: Goal, as_of: dt.date) -> tuple[Goal, metrics.WindowValue]:
    if goal.baseline_start is None or goal.baseline_end is None:
        start, end = baseline_window(as_of)
        goal = replace(goal, baseline_start=start, baseline_end=end)
    value = metrics.value(
        con, goal.kpi, goal.baseline_start, goal.baseline_end + dt.timedelta(days=1), goal.segment
    )
    if goal.baseline_value is not None:  # stored when the goal was agreed: keep what was agreed
        value = replace(value, value=goal.baseline_value)
    return goal, value


def delta(con: duckdb.DuckDBPyConnection, goal: Goal, as_of: dt.date) -> Delta:
    """The improvement delta of `goal` as of `as_of` (see the module docstring for the rule)."""
    kpi = goal.kpi
    if not metrics.available(con, kpi):
        return Delta(
            goal,
            as_of,
            "not enough data",
            why=f"{kpi.label} needs data in {', '.join(kpi.tables)}, and there is none yet.",
        )
    if not goal.defined:
        missing = [
            w
            for w, ok in (
                ("target", goal.target_value is not None or goal.target_change_pct is not None),
                ("deadline", goal.deadline is not None),
            )
            if not ok
        ]
        return Delta(
            goal,
            as_of,
            "undefined",
            proposal=suggest(con, goal.metric, as_of, goal.segment),
            why=f"It has no {' and no '.join(missing)}: without one, any change counts as "
            "success and none as failure, so the data cannot say whether it is being met.",
        )
    goal, base = _baseline(con, goal, as_of)
    end = last_complete_week_end(as_of)
    since = min(goal.baseline_start, end - dt.timedelta(weeks=TREND_WEEKS))
    history = metrics.series(con, kpi, "week", as_of=as_of, segment=goal.segment, since=since)
    current = metrics.window_value(history, kpi, end - dt.timedelta(weeks=CURRENT_WEEKS), end)
    d = Delta(goal, as_of, "not enough data", baseline=base, current=current, history=history)
    fit_rows = history[
        history["complete"] & (history["period"] >= pd.Timestamp(end - dt.timedelta(weeks=TREND_WEEKS)))
    ]
    if fit_rows["value"].notna().sum() < MIN_WEEKS or math.isnan(current.value) or math.isnan(base.value):
        d.why = f"{kpi.label} has fewer than {MIN_WEEKS} complete weeks of data, too few for a trend."
        return d
    d.target = goal.target(base.value)
    d.gap = d.target - current.value
    d.gap_pct = d.gap / abs(current.value) if current.value else math.nan
    d.progress = (
        (current.value - base.value) / (d.target - base.value) if d.target != base.value else math.nan
    )
    d.weeks_left = (goal.deadline - as_of).days / 7
    if d.weeks_left > 0:
        d.required_per_week = d.gap / d.weeks_left
    d.slope_per_week, d.slope_low, d.slope_high, t_mid, y_mid = theil_sen(fit_rows)
    t_deadline = (pd.Timestamp(goal.deadline) - fit_rows["period"].iloc[0]).days / 7
    t_last = (fit_rows["period"].iloc[-1] - fit_rows["period"].iloc[0]).days / 7
    line = {
        t: [y_mid + s * (t - t_mid) for s in (d.slope_per_week, d.slope_low, d.slope_high)]
        for t in (t_last, t_deadline)
    }
    d.projected, low, high = line[t_deadline]
    d.projected_low, d.projected_high = min(low, high), max(low, high)
    d.projection = pd.DataFrame(
        {
            "period": [fit_rows["period"].iloc[-1], pd.Timestamp(goal.deadline)],
            "value": [line[t][0] for t in (t_last, t_deadline)],
            "low": [min(line[t][1:]) for t in (t_last, t_deadline)],
            "high": [max(line[t][1:]) for t in (t_last, t_deadline)],
        }
    )
    d.status = status(
        goal,
        d.target,
        current.value,
        d.projected,
        d.projected_low,
        d.projected_high,
        deadline_passed=d.weeks_left <= 0,
    )
    return d


def status(
    goal: Goal,
    target: float,
    current: float,
    projected: float,
    low: float,
    high: float,
    deadline_passed: bool,
) -> str:
    """The status rule of the module docstring."""
    if deadline_passed:
        return "on track" if goal.meets(current, target) else "off track"
    if goal.meets(projected, target):
        return "on track"
    favourable = high if goal.direction == "increase" else low
    return "at risk" if goal.meets(favourable, target) else "off track"


def suggest(
    con: duckdb.DuckDBPyConnection, metric: str, as_of: dt.date, segment: str | None = None
) -> Goal | None:
    """A SMART goal from the baseline: the KPI's usual step (e.g. +10%) within 13 weeks.

    None when the KPI has no baseline (unavailable or no complete weeks).
    """
    kpi = metrics.get(metric)
    if not metrics.available(con, kpi):
        return None
    start, last = baseline_window(as_of)
    base = metrics.value(con, kpi, start, last + dt.timedelta(days=1), segment)
    if math.isnan(base.value):
        return None
    how, step = kpi.suggest
    direction = "increase" if kpi.better == "up" else "decrease"
    goal = Goal(
        metric,
        direction,
        deadline=as_of + dt.timedelta(weeks=SUGGEST_HORIZON_WEEKS),
        segment=segment,
        baseline_start=start,
        baseline_end=last,
        baseline_value=base.value,
        note=f"Suggested from the {BASELINE_WEEKS}-week baseline",
    )
    target = base.value * (1 + step / 100) if how == "pct" else base.value + step
    if kpi.unit == "share":  # a share cannot pass 100% (or 0%): go at most half-way there
        target = min(target, (1 + base.value) / 2) if direction == "increase" else max(target, base.value / 2)
    if how == "pct" and target == base.value * (1 + step / 100):
        goal.target_change_pct = step
    else:
        goal.target_value = target
    return goal


# The KPIs suggested first, in this order, when a client has no goals yet.
SUGGESTED = (
    "revenue",
    "repeat_purchase_rate",
    "lead_conversion_rate",
    "leads",
    "aov",
    "email_conversion_rate",
    "nps",
    "avg_rating",
    "cac",
)


def suggested_goals(con: duckdb.DuckDBPyConnection, as_of: dt.date, limit: int = 4) -> list[Goal]:
    """Up to `limit` suggested goals over the client's available KPIs, in `SUGGESTED` order."""
    goals = []
    for name in SUGGESTED:
        goal = suggest(con, name, as_of)
        if goal is not None:
            goals.append(goal)
        if len(goals) == limit:
            break
    return goals


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


def load_goals(con: duckdb.DuckDBPyConnection) -> list[Goal]:
    """The goals agreed with the client, oldest first."""
    rows = con.execute(f"SELECT goal_id, {', '.join(_COLUMNS)} FROM goals ORDER BY goal_id").fetchall()
    return [Goal(**dict(zip(("goal_id",) + _COLUMNS, row))) for row in rows]


def save_goal(db_path: Path, goal: Goal, as_of: dt.date) -> int:
    """Store a goal (with its baseline, as of `as_of` unless the goal has one) and return its id.

    Opens a read-write connection only for this write and closes it: a notebook kernel holding
    one would block every report render of the client (see `store`).
    """
    if not goal.defined:
        raise WorkbookError("Give the goal a target and a deadline before saving it.")
    with store.write(db_path=db_path) as con:
        if goal.baseline_value is None:
            goal, base = _baseline(con, goal, goal.baseline_end or as_of)
            goal.baseline_value = base.value
        values = asdict(goal)
        return con.execute(
            f"INSERT INTO goals ({', '.join(_COLUMNS)}) VALUES ({', '.join('$' + c for c in _COLUMNS)}) "
            "RETURNING goal_id",
            {c: values[c] for c in _COLUMNS},
        ).fetchone()[0]


def describe(goal: Goal, currency: str = "USD", baseline: float | None = None) -> str:
    """The goal in one line: 'Increase revenue per week to $1,200 by 31 Jan 2027'."""
    kpi = goal.kpi
    base = goal.baseline_value if baseline is None else baseline
    if goal.target_value is not None:
        target = f"to {metrics.format_value(kpi, goal.target_value, currency)}"
    elif goal.target_change_pct is not None:
        target = f"by {abs(goal.target_change_pct):g}%"
        if base is not None:
            target += f" (to {metrics.format_value(kpi, goal.target(base), currency)})"
    else:
        target = "(no target)"
    by = f"by {goal.deadline:%d %b %Y}" if goal.deadline else "(no deadline)"
    seg = f" for segment {goal.segment}" if goal.segment else ""
    return f"{goal.direction.capitalize()} {kpi.label.lower()}{kpi.per_period}{seg} {target} {by}"


def verdict(d: Delta, currency: str = "USD") -> str:
    """The one-sentence verdict of a goal card, with the projection's uncertainty."""
    kpi, goal = d.goal.kpi, d.goal
    fv = lambda x: metrics.format_value(kpi, x, currency)  # noqa: E731
    if d.status == "undefined":
        smart = f" A SMART version from the baseline: {describe(d.proposal, currency)}." if d.proposal else ""
        return f"{describe(goal, currency)} is not a SMART goal yet. {d.why}{smart}"
    if d.status == "not enough data":
        return f"{describe(goal, currency)}: not enough data to judge. {d.why}"
    seg = f" (segment {goal.segment})" if goal.segment else ""
    now = f"{kpi.label}{kpi.per_period}{seg} is {fv(d.current.value)} over the last {CURRENT_WEEKS} weeks"
    if d.weeks_left <= 0:
        met = "met" if d.status == "on track" else "missed"
        return f"{now}; the deadline has passed and the target of {fv(d.target)} was {met}."
    if goal.meets(d.current.value, d.target):
        need = f"that already meets the target of {fv(d.target)} set for {goal.deadline:%d %b %Y}"
    else:
        need = (
            f"it needs {metrics.format_change(kpi, d.required_per_week, currency)} per week for "
            f"{d.weeks_left:.0f} weeks to reach {fv(d.target)} by {goal.deadline:%d %b %Y}"
        )
    slipping = goal.meets(d.current.value, d.target) and not goal.meets(d.projected, d.target)
    trend = (
        f"{'but ' if slipping else ''}at the current trend it would "
        f"{'slip to' if slipping else 'be'} about {fv(d.projected)} by then "
        f"(95% range {fv(d.projected_low)} to {fv(d.projected_high)})"
    )
    return f"{now}; {need}; {trend}: **{d.status}**."


def needed(d: Delta, currency: str = "USD") -> str:
    """The change per week still needed, in words: '+$120 per week', 'none: already met'."""
    if d.weeks_left <= 0:
        return "deadline passed"
    if d.goal.meets(d.current.value, d.target):
        return "none: already at the target"
    return f"{metrics.format_change(d.goal.kpi, d.required_per_week, currency)} per week"


def summary_table(deltas: list[Delta], currency: str = "USD") -> pd.DataFrame:
    """One row per goal, formatted for the report's summary table."""
    rows = []
    for d in deltas:
        kpi = d.goal.kpi
        fv = lambda x: metrics.format_value(kpi, x, currency)  # noqa: E731
        rows.append(
            {
                "Goal": describe(d.goal, currency, d.baseline.value if d.baseline else None),
                "Baseline": fv(d.baseline.value) if d.baseline else "n/a",
                "Now": fv(d.current.value) if d.current else "n/a",
                "Target": fv(d.target),
                "Needed": needed(d, currency) if d.current else "n/a",
                "Projected": fv(d.projected),
                "Status": d.status,
            }
        )
    return pd.DataFrame(rows)


def kpi_baselines(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, weeks: int = BASELINE_WEEKS
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Every available KPI's baseline over the last `weeks` complete weeks, and its weekly series.

    Returns (table with kpi, label, value, low, high, weeks, better, description;
    {label: weekly series frame} for sparklines).
    """
    start, last = baseline_window(as_of, weeks)
    rows, frames = [], {}
    for kpi in metrics.available_kpis(con):
        frame = metrics.series(con, kpi, "week", as_of=as_of)
        base = metrics.window_value(frame, kpi, start, last + dt.timedelta(days=1))
        frames[kpi.label] = frame
        rows.append(
            {
                "kpi": kpi.name,
                "label": kpi.label,
                "value": base.value,
                "low": base.low,
                "high": base.high,
                "weeks": base.periods,
                "better": kpi.better,
                "description": kpi.description,
            }
        )
    return pd.DataFrame(rows), frames
