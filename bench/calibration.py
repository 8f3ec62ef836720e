"""Backtest the goal chances on the sample clients' history and write docs/calibration.md.

    make calibration                                   # builds the samples in a temporary home
    .venv/bin/python bench/calibration.py --home DIR   # sample clients already built in DIR

The method is `workbook.analytics.calibration` (past cut-offs, goals at several distances, the
chance as of the cut-off, the KPI at the deadline). The samples are deterministic, so a rerun
writes the same page. Takes about 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "calibration.md"
CLIENTS = ("coffee-shop", "online-store", "home-services")


def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{x:.0%}"


def _reached(status: pd.DataFrame, name: str) -> float:
    rows = status.loc[status["status"] == name, "reached"]
    return float(rows.iloc[0]) if len(rows) else float("nan")


def _table(frame: pd.DataFrame, first: list[str]) -> list[str]:
    """Markdown rows of a `by_status` / `by_chance` frame, `first` holding each row's label."""
    lines = [
        "| goals judged | goals | mean chance given | reached the target | 95% interval |",
        "|---|---|---|---|---|",
    ]
    for label, row in zip(first, frame.itertuples()):
        lines.append(
            f"| {label} | {row.goals} | {_pct(row.predicted)} | {_pct(row.reached)} | "
            f"{_pct(row.low)} to {_pct(row.high)} |"
        )
    return lines


def page(results: pd.DataFrame) -> str:
    from workbook.analytics import calibration, goals

    status = calibration.by_status(results)
    bins = calibration.by_chance(results)
    score, base = calibration.brier(results)
    per_client = results.groupby("client").agg(goals=("kpi", "size"), kpis=("kpi", "nunique"))
    seasonal = results["seasonal"].mean()
    lines = [
        "# Calibration of goal chances",
        "",
        "<!-- written by bench/calibration.py (make calibration); do not edit by hand -->",
        "",
        "A goal's status comes from its chance of reaching the target by the deadline "
        f"(`workbook/analytics/goals.py`): **on track** from {goals.ON_TRACK_CHANCE:.0%}, **off track** "
        f"under {goals.OFF_TRACK_CHANCE:.0%}, **at risk** in between; **too early to tell** (no chance "
        f"given) with fewer than {goals.MIN_WEEKS} weeks to fit, a deadline further ahead than the "
        "weeks fitted, or too short a history to check the forecast against its own past errors. "
        "This page checks those chances against what happened.",
        "",
        "## Method",
        "",
        f"For each sample client (`workbook demo`: {', '.join(CLIENTS)}), every "
        f"{calibration.EVERY_WEEKS} weeks of its history (cut-offs on Sundays, from {goals.MIN_WEEKS} weeks "
        f"after its first data to {calibration.HORIZON_WEEKS} weeks before its last day) and for every "
        "KPI it has, goals are set as of the cut-off in the KPI's better direction, with targets at "
        f"{', '.join(f'{m:g}' for m in calibration.STEPS)} times the KPI's usual step from its baseline "
        "(e.g. 10% for revenue; -1 is a 'do not fall below' goal, 0 'hold the baseline') and a deadline "
        f"{calibration.HORIZON_WEEKS} weeks later. Each gets the chance and status a report as of the "
        "cut-off would give (no later data is read), and is then checked against the KPI over the "
        f"{goals.CURRENT_WEEKS} weeks before its deadline. Goals of one cut-off share their data, so "
        "the rows are not independent: the intervals (Wilson, 95%) are narrower than the truth.",
        "",
        f"{len(results)} goals in all: "
        + ", ".join(f"{c} {r.goals} ({r.kpis} KPIs)" for c, r in per_client.iterrows())
        + f"; {seasonal:.0%} of them forecast with last year's same weeks (a year or more of history).",
        "",
        "## By status",
        "",
        *_table(status, list(status["status"])),
        "",
        "## By chance given",
        "",
        *_table(bins, [f"{r['from']:.0%} to {r['to']:.0%}" for _, r in bins.iterrows()]),
        "",
        f"Brier score of the chances: {score:.3f}; of always giving the overall hit rate: {base:.3f} "
        "(lower is better; the chances carry information when the first is lower).",
        "",
        "## Reading it",
        "",
        f"Goals judged on track reached their target {_pct(_reached(status, 'on track'))} of the time, "
        f"at risk {_pct(_reached(status, 'at risk'))}, off track {_pct(_reached(status, 'off track'))}. "
        f"At the ends the chances are surer than the outcomes: goals given under 10% got there "
        f"{_pct(bins['reached'].iloc[0])} of the time, goals given 90% or more "
        f"{_pct(bins['reached'].iloc[-1])}.",
        "",
        "A calibrated chance comes true as often as it says: of goals given about 80%, about 80% "
        "reached the target. Where the reached column differs from the chance column by more than its "
        "interval, the chances are over- or under-confident in that range, and the owner should read "
        "the badge with that in mind.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a WORKBOOK_HOME holding the sample clients")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        if args.home is None:
            env = {**os.environ, "WORKBOOK_HOME": str(home)}
            subprocess.run([sys.executable, "-m", "workbook.cli", "demo", "--quiet"], check=True, env=env)
        os.environ["WORKBOOK_HOME"] = str(home)
        from workbook import store
        from workbook.analytics import calibration

        frames = []
        for slug in CLIENTS:
            con = store.read(slug)
            try:
                frames.append(calibration.backtest(con, store.default_as_of(con)).assign(client=slug))
            finally:
                con.close()
        DOC.write_text(page(pd.concat(frames, ignore_index=True)), encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
