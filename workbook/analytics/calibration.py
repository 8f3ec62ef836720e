"""Backtest of goal chances: how often did goals judged "on track" (or given a 70% chance) get there?

For a client's history: every `EVERY_WEEKS` weeks (cut-offs on Sundays, each with at least
`goals.MIN_WEEKS` weeks before it and `HORIZON_WEEKS` after it), for every available KPI, goals
are set as of the cut-off in the KPI's better direction, with targets at several distances from
its baseline (`STEPS` times the KPI's usual step, e.g. 10%: from "hold the baseline" to "twice the
usual step"; a step of -1 is a "do not fall below" goal) and a deadline `HORIZON_WEEKS` later.
Each goal gets its chance and status exactly as a report as of the cut-off would (`goals.delta`
and `goals.forecast`, which see no later data), and is then checked against what happened: the
KPI over the 4 weeks before its deadline. Goals share their cut-off's data, so the rows are not
independent; the tables say how often, not how surely.

`bench/calibration.py` runs it on the sample clients and writes `docs/calibration.md`.
"""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import numpy as np
import pandas as pd

from workbook import store
from workbook.analytics import goals, metrics
from workbook.analytics.stats import wilson_interval
from workbook.core.dates import last_complete_week_end

HORIZON_WEEKS = goals.SUGGEST_HORIZON_WEEKS
EVERY_WEEKS = 4
STEPS = (-1.0, 0.0, 0.5, 1.0, 2.0)
# Chance bins of the calibration table: [0, 10%), [10%, 25%) ... [90%, 100%].
BINS = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


def _target(kpi: metrics.KPI, base: float, multiple: float) -> float:
    """The baseline moved `multiple` usual steps in the KPI's better direction, on its scale."""
    how, step = kpi.suggest
    return kpi.within(base * (1 + multiple * step / 100) if how == "pct" else base + multiple * step)


def cutoffs(first: dt.date, last: dt.date) -> list[dt.date]:
    """Sundays from `last` - `HORIZON_WEEKS` back every `EVERY_WEEKS` weeks, leaving
    `goals.MIN_WEEKS` weeks of history before the earliest; oldest first."""
    day = last_complete_week_end(last) - dt.timedelta(weeks=HORIZON_WEEKS, days=1)
    earliest = first + dt.timedelta(weeks=goals.MIN_WEEKS)
    days = []
    while day >= earliest:
        days.append(day)
        day -= dt.timedelta(weeks=EVERY_WEEKS)
    return days[::-1]


def backtest(con: duckdb.DuckDBPyConnection, last: dt.date) -> pd.DataFrame:
    """One row per backtest goal (module docstring): kpi, cutoff, multiple, target, chance,
    status, actual, reached (NaN when the KPI has no value over the deadline's weeks)."""
    rows = []
    for kpi in metrics.available_kpis(con):
        table, column = kpi.clock
        first = store.scalar(con, f"SELECT min({column})::DATE FROM {table}")
        outcome = metrics.series(con, kpi, "week", as_of=last)
        direction = "increase" if kpi.better == "up" else "decrease"
        for cutoff in cutoffs(first, last):
            deadline = cutoff + dt.timedelta(weeks=HORIZON_WEEKS)
            d = goals.delta(
                con, goals.Goal(kpi.name, direction, target_change_pct=0, deadline=deadline), cutoff
            )
            if d.baseline is None or d.current is None or math.isnan(d.baseline.value):
                continue
            end, deadline_end = last_complete_week_end(cutoff), last_complete_week_end(deadline)
            model = goals.forecast(d.history, kpi, end, deadline_end)
            actual = metrics.window_value(
                outcome, kpi, deadline_end - dt.timedelta(weeks=goals.CURRENT_WEEKS), deadline_end
            ).value
            judged = model is not None and not model.too_early(
                model.weeks.index(end), model.weeks.index(deadline_end)
            )
            for multiple in STEPS:
                target = _target(kpi, d.baseline.value, multiple)
                chance = (
                    model.chance(direction, target, model.weeks.index(deadline_end))
                    if model is not None and judged
                    else math.nan
                )
                rows.append(
                    {
                        "kpi": kpi.name,
                        "cutoff": cutoff,
                        "multiple": multiple,
                        "target": target,
                        "seasonal": model is not None and model.seasonal,
                        "spread": math.nan if model is None else model.spread,
                        "chance": chance,
                        "status": "too early to tell" if math.isnan(chance) else goals.status(chance),
                        "actual": actual,
                        "reached": math.nan if math.isnan(actual) else float(d.goal.meets(actual, target)),
                    }
                )
    return pd.DataFrame(rows)


def _outcomes(group: pd.DataFrame) -> dict:
    reached = group["reached"].dropna()
    low, high = wilson_interval(reached.sum(), len(reached)) if len(reached) else (math.nan, math.nan)
    return {
        "goals": len(reached),
        "predicted": group.loc[reached.index, "chance"].mean(),
        "reached": reached.mean() if len(reached) else math.nan,
        "low": low,
        "high": high,
    }


def by_status(results: pd.DataFrame) -> pd.DataFrame:
    """Per status: goals with an outcome, their mean predicted chance, the share that reached
    the target and its 95% Wilson interval."""
    order = [s for s in (*goals.JUDGED, "too early to tell") if s in set(results["status"])]
    return pd.DataFrame([{"status": s, **_outcomes(results[results["status"] == s])} for s in order])


def by_chance(results: pd.DataFrame) -> pd.DataFrame:
    """Per chance bin (`BINS`): the same columns as `by_status`, with the bin's bounds."""
    judged = results.dropna(subset=["chance"])
    bins = pd.cut(judged["chance"], BINS, right=False, include_lowest=True)
    bins = bins.where(judged["chance"] < 1, pd.Interval(BINS[-2], BINS[-1], closed="left"))
    rows = []
    for interval in pd.IntervalIndex.from_breaks(BINS, closed="left"):
        group = judged[bins == interval]
        if len(group):
            rows.append({"from": interval.left, "to": interval.right, **_outcomes(group)})
    return pd.DataFrame(rows)


def brier(results: pd.DataFrame) -> tuple[float, float]:
    """(Brier score of the chances, Brier score of always saying the overall hit rate): the
    first below the second means the chances know more than the base rate."""
    judged = results.dropna(subset=["chance", "reached"])
    hits = judged["reached"].to_numpy()
    return float(np.mean((judged["chance"].to_numpy() - hits) ** 2)), float(
        np.mean((hits.mean() - hits) ** 2)
    )
