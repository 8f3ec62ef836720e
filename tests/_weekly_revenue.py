"""A hand-made weekly revenue line for the goal tests (test_goals.py, test_goal_words.py), and the
`weekly_revenue` fixture holding it (imported in conftest): one order a week for 40 weeks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from workbook import store

AS_OF = dt.date(2026, 6, 28)  # a Sunday: the week of 22 June is the last complete one
FIRST = dt.date(2025, 12, 29)  # week 0 of the 26-week trend window
DEADLINE = AS_OF + dt.timedelta(weeks=13)
WEEKS = np.arange(26)
# a straight line and fixed noise between -5 and +5
REVENUE = 100 + 5 * WEEKS + ((WEEKS * 7) % 11 - 5)
# the same line in the 14 weeks before: history enough to check forecasts 13 weeks ahead
# against their past errors (goals.forecast), outside the 26 weeks the trend is fitted on
EARLIER = np.arange(-14, 0)
EARLIER_REVENUE = 100 + 5 * EARLIER + ((EARLIER * 7) % 11 - 5)
BASE = REVENUE[14:26].mean()  # 197.9167: the 12 weeks before as_of
NOW = REVENUE[22:26].mean()  # 217.5: the last 4 weeks


@pytest.fixture
def weekly_revenue(client, rw):
    """A read-only connection to a client whose orders are the line above."""
    rows = [
        (f"o{w}", (FIRST + dt.timedelta(weeks=int(w), days=2)).isoformat(), float(r))
        for w, r in zip([*EARLIER, *WEEKS], [*EARLIER_REVENUE, *REVENUE])
    ]
    rw.executemany("INSERT INTO orders (order_id, ordered_at, revenue) VALUES (?, ?, ?)", rows)
    rw.close()
    read = store.read(client)
    yield read
    read.close()
