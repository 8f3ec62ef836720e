"""The backtest of goal chances (analytics/calibration.py) and its page, docs/calibration.md."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from workbook.analytics import calibration, goals
from workbook.core import paths

FIRST = dt.date(2025, 1, 6)  # a Monday
WEEKS = 60
LAST = FIRST + dt.timedelta(weeks=WEEKS, days=-1)  # a Sunday


def _orders(rw, factor_after: int | None = None) -> None:
    rng = np.random.default_rng(3)
    revenue = 100 + rng.normal(0, 10, WEEKS)
    if factor_after is not None:
        revenue[factor_after:] *= 3
    rw.execute("DELETE FROM orders")
    rw.executemany(
        "INSERT INTO orders (order_id, ordered_at, revenue) VALUES (?, ?, ?)",
        [(f"o{w}", FIRST + dt.timedelta(weeks=w, days=2), float(r)) for w, r in enumerate(revenue)],
    )


def test_the_backtest_reads_nothing_after_its_cutoffs(client, rw):
    # the same client before and after its last 10 weeks triple: chances given at cut-offs
    # before the change are the same; what happened at their deadlines is not.
    _orders(rw)
    before = calibration.backtest(rw, LAST)
    _orders(rw, factor_after=WEEKS - 10)
    after = calibration.backtest(rw, LAST)
    change = FIRST + dt.timedelta(weeks=WEEKS - 10)
    assert set(before["kpi"]) == {"revenue", "orders", "aov", "peak_hour_share"}
    early = before["cutoff"] < change
    assert early.any() and len(before) == len(after)
    pd.testing.assert_series_equal(before.loc[early, "chance"], after.loc[early, "chance"])
    late = before["cutoff"] + dt.timedelta(weeks=calibration.HORIZON_WEEKS) >= change
    revenue = (before["kpi"] == "revenue") & early & late
    assert revenue.any() and (after.loc[revenue, "actual"] > 1.5 * before.loc[revenue, "actual"]).all()
    # cut-offs are Sundays, every 4 weeks, the last 13 weeks before the last day
    cutoffs = sorted(set(before["cutoff"]))
    assert all(c.weekday() == 6 for c in cutoffs) and cutoffs[-1] == LAST - dt.timedelta(weeks=13)
    assert {(b - a).days for a, b in itertools.pairwise(cutoffs)} == {28}
    given = before["chance"].dropna()
    assert len(given) and given.between(0, 1).all() and set(before["reached"].dropna()) <= {0.0, 1.0}
    assert before.loc[early, "chance"].notna().any()  # the comparison above compared chances


def test_tables_count_what_happened():
    results = pd.DataFrame(
        {
            "chance": [0.9, 0.8, 0.95, 0.5, 0.3, 0.1, math.nan],
            "status": ["on track"] * 3 + ["at risk"] * 2 + ["off track", "too early to tell"],
            "reached": [1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0],
        }
    )
    table = calibration.by_status(results).set_index("status")
    assert list(table.index) == ["on track", "at risk", "off track", "too early to tell"]
    assert table.loc["on track", "goals"] == 3
    assert table.loc["on track", "reached"] == pytest.approx(2 / 3)
    assert table.loc["on track", "predicted"] == pytest.approx((0.9 + 0.8 + 0.95) / 3)
    low, high = proportion_confint(2, 3, method="wilson")
    assert (table.loc["on track", "low"], table.loc["on track", "high"]) == pytest.approx(
        (low, high), abs=1e-9
    )
    bins = calibration.by_chance(results)
    assert list(zip(bins["from"], bins["goals"])) == [(0.1, 1), (0.25, 1), (0.5, 1), (0.75, 1), (0.9, 2)]
    score, base = calibration.brier(results)
    hits = np.array([1, 1, 0, 1, 0, 0])
    assert score == pytest.approx(np.mean((np.array([0.9, 0.8, 0.95, 0.5, 0.3, 0.1]) - hits) ** 2))
    assert base == pytest.approx(np.mean((hits.mean() - hits) ** 2))


def test_the_calibration_page_states_the_thresholds_and_the_tables():
    page = (paths.project_root() / "docs" / "calibration.md").read_text(encoding="utf-8")
    assert f"**on track** from {goals.ON_TRACK_CHANCE:.0%}" in page
    assert f"**off track** under {goals.OFF_TRACK_CHANCE:.0%}" in page
    for status in ("on track", "at risk", "off track"):
        assert re.search(rf"^\| {status} \| \d+ \| \d+% \| \d+% \|", page, re.M), status
    assert "Brier score" in page
