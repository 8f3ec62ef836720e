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
- **not enough data**: the KPI is unavailable, or fewer than `MIN_WEEKS` complete weeks
  (`Delta.reason` says which).

Everything here is numbers and codes; `workbook.story.goal_words` puts them into words.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace

import duckdb
import pandas as pd
from scipy import stats

from workbook.analytics import metrics
from workbook.analytics.profiles import GENERIC, PROFILES, Profile
from workbook.core.dates import BASELINE_WEEKS, baseline_window, last_complete_week_end
from workbook.core.errors import WorkbookError

CURRENT_WEEKS = 4  # "current value": the last 4 complete weeks
TREND_WEEKS = 26  # the projection is fitted on the last 26 complete weeks
MIN_WEEKS = 8  # fewer complete weeks than this: no projection
SUGGEST_HORIZON_WEEKS = 13
STATUSES = ("on track", "at risk", "off track", "undefined", "not enough data")
# Why a goal has "not enough data" (`Delta.reason`): no rows for its KPI, or too few complete weeks.
UNAVAILABLE, TOO_FEW_WEEKS = "unavailable", "too few weeks"


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
    def missing(self) -> tuple[str, ...]:
        """What keeps the goal from being SMART: "target" and/or "deadline"; empty when it has both."""
        absent = (
            ("target", self.target_value is None and self.target_change_pct is None),
            ("deadline", self.deadline is None),
        )
        return tuple(name for name, is_absent in absent if is_absent)

    @property
    def defined(self) -> bool:
        return not self.missing

    def target(self, baseline: float | None = None) -> float:
        """The absolute target: the stated value, or the baseline (default: the goal's own) moved
        by the % change; NaN without a target, or without a baseline for a % change."""
        if self.target_value is not None:
            return float(self.target_value)
        base = self.baseline_value if baseline is None else baseline
        if self.target_change_pct is None or base is None:
            return math.nan
        return base * (1 + self.target_change_pct / 100)

    def baseline_dates(self, as_of: dt.date) -> tuple[dt.date, dt.date]:
        """The first and last day of the goal's baseline: its own, or the `BASELINE_WEEKS` complete
        weeks before `as_of`."""
        if self.baseline_start is None or self.baseline_end is None:
            return baseline_window(as_of)
        return self.baseline_start, self.baseline_end

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
    reason: str = ""  # for "not enough data": UNAVAILABLE or TOO_FEW_WEEKS
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


def _baseline(
    con: duckdb.DuckDBPyConnection, goal: Goal, as_of: dt.date
) -> tuple[Goal, dt.date, metrics.WindowValue]:
    """The goal with its baseline window filled in, the window's first day, and the KPI over it."""
    start, last = goal.baseline_dates(as_of)
    goal = replace(goal, baseline_start=start, baseline_end=last)
    value = metrics.value(con, goal.kpi, start, last + dt.timedelta(days=1), goal.segment)
    if goal.baseline_value is not None:  # stored when the goal was agreed: keep what was agreed
        value = replace(value, value=goal.baseline_value)
    return goal, start, value


def delta(con: duckdb.DuckDBPyConnection, goal: Goal, as_of: dt.date) -> Delta:
    """The improvement delta of `goal` as of `as_of` (see the module docstring for the rule)."""
    kpi = goal.kpi
    if not metrics.available(con, kpi):
        return Delta(goal, as_of, "not enough data", reason=UNAVAILABLE)
    deadline = goal.deadline
    if deadline is None or not goal.defined:
        return Delta(goal, as_of, "undefined", proposal=propose(con, goal, as_of))
    goal, start, base = _baseline(con, goal, as_of)
    end = last_complete_week_end(as_of)
    since = min(start, end - dt.timedelta(weeks=TREND_WEEKS))
    history = metrics.series(con, kpi, "week", as_of=as_of, segment=goal.segment, since=since)
    current = metrics.window_value(history, kpi, end - dt.timedelta(weeks=CURRENT_WEEKS), end)
    d = Delta(goal, as_of, "not enough data", baseline=base, current=current, history=history)
    fit_rows = history[
        history["complete"] & (history["period"] >= pd.Timestamp(end - dt.timedelta(weeks=TREND_WEEKS)))
    ]
    if fit_rows["value"].notna().sum() < MIN_WEEKS or math.isnan(current.value) or math.isnan(base.value):
        d.reason = TOO_FEW_WEEKS
        return d
    d.target = goal.target(base.value)
    d.gap = d.target - current.value
    d.gap_pct = d.gap / abs(current.value) if current.value else math.nan
    d.progress = (
        (current.value - base.value) / (d.target - base.value) if d.target != base.value else math.nan
    )
    d.weeks_left = (deadline - as_of).days / 7
    if d.weeks_left > 0:
        d.required_per_week = d.gap / d.weeks_left
    d.slope_per_week, d.slope_low, d.slope_high, t_mid, y_mid = theil_sen(fit_rows)
    t_deadline = (pd.Timestamp(deadline) - fit_rows["period"].iloc[0]).days / 7
    t_last = (fit_rows["period"].iloc[-1] - fit_rows["period"].iloc[0]).days / 7
    line = {  # the trend and its band, kept to the values the KPI can take
        t: [kpi.within(y_mid + s * (t - t_mid)) for s in (d.slope_per_week, d.slope_low, d.slope_high)]
        for t in (t_last, t_deadline)
    }
    d.projected, low, high = line[t_deadline]
    d.projected_low, d.projected_high = min(low, high), max(low, high)
    d.projection = pd.DataFrame(
        {
            "period": [fit_rows["period"].iloc[-1], pd.Timestamp(deadline)],
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
    con: duckdb.DuckDBPyConnection,
    metric: str,
    as_of: dt.date,
    segment: str | None = None,
    direction: str | None = None,
) -> Goal | None:
    """A SMART goal from the baseline: the KPI's usual step (e.g. +10%) within 13 weeks, in the
    KPI's better direction unless `direction` says otherwise (then the step is mirrored).

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
    better = "increase" if kpi.better == "up" else "decrease"
    direction = direction or better
    if direction != better:
        step = -step
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


def propose(con: duckdb.DuckDBPyConnection, goal: Goal, as_of: dt.date) -> Goal | None:
    """A SMART version of a goal that lacks a target or a deadline: what the user gave (direction,
    segment, target, deadline) kept as given, only what is missing taken from `suggest`.

    None when the KPI has no baseline to suggest from.
    """
    proposal = suggest(con, goal.metric, as_of, goal.segment, goal.direction)
    if proposal is None:
        return None
    if "target" not in goal.missing:
        proposal = replace(proposal, target_value=goal.target_value, target_change_pct=goal.target_change_pct)
    if goal.deadline is not None:
        proposal.deadline = goal.deadline
    return proposal


def suggested_goals(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, profile: Profile = PROFILES[GENERIC], limit: int = 4
) -> list[Goal]:
    """Up to `limit` suggested goals over the client's available KPIs, in the order of the
    industry profile's `goal_kpis`."""
    goals = []
    for name in profile.goal_kpis:
        goal = suggest(con, name, as_of)
        if goal is not None:
            goals.append(goal)
        if len(goals) == limit:
            break
    return goals


def kpi_baselines(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    weeks: int = BASELINE_WEEKS,
    profile: Profile | None = None,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Every available KPI's baseline over the last `weeks` complete weeks, and its weekly series
    (of the KPIs the industry `profile` shows, when given).

    Returns (table with kpi, label, value, low, high, weeks, better, description;
    {label: weekly series frame} for sparklines).
    """
    start, last = baseline_window(as_of, weeks)
    rows, frames = [], {}
    for kpi in metrics.available_kpis(con, profile):
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
