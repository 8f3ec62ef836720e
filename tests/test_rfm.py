"""RFM scores and segments on a hand-made order set (answers worked out in the comments)."""

import duckdb
import pytest

from workbook.analytics import rfm

AS_OF = "2026-03-31"
ORDERS = [  # order_id, customer_id, ordered_at, revenue
    # P: 5 purchase days of 100, last 30 Mar -> recency 1, frequency 5, monetary 500
    *[
        (f"p{i}", "P", d, 100)
        for i, d in enumerate(["2026-01-05", "2026-02-01", "2026-03-10", "2026-03-20", "2026-03-30"])
    ],
    # Q: 3 days of 50, last 25 Mar -> recency 6, frequency 3, monetary 150
    *[(f"q{i}", "Q", d, 50) for i, d in enumerate(["2026-01-10", "2026-02-10", "2026-03-25"])],
    # R: one purchase on 28 Mar -> recency 3, frequency 1, monetary 40
    ("r0", "R", "2026-03-28", 40),
    # S: 4 days of 80, last 1 Jan -> recency 89, frequency 4, monetary 320
    *[(f"s{i}", "S", d, 80) for i, d in enumerate(["2025-10-01", "2025-11-01", "2025-12-01", "2026-01-01"])],
    # U: bought 20 then refunded it -> recency 303, frequency 1, monetary 0
    ("u0", "U", "2025-06-01", 20),
    ("u1", "U", "2025-06-05", -20),
    # V: 1 Sep, then twice on 15 Sep (one purchase day) -> recency 197, frequency 2, monetary 70
    ("v0", "V", "2025-09-01", 30),
    ("v1", "V", "2025-09-15 10:00", 30),
    ("v2", "V", "2025-09-15 18:00", 10),
    ("w0", "W", "2026-01-01", -15),  # only a refund: not a customer for RFM
    ("x0", None, "2026-03-01", 999),  # anonymous: left out
    ("p9", "P", "2026-04-02", 100),  # after as_of: ignored
]
# Six customers; score = 1 + min(floor(5 * (rank - 1) / 5), 4) = min(rank, 5), ties share the
# lowest rank.
#   recency (oldest first): U 303 -> 1, V 197 -> 2, S 89 -> 3, Q 6 -> 4, R 3 -> 5, P 1 -> 5
#   frequency: R 1, U 1 -> 1 (tied), V 2 -> 3, Q 3 -> 4, S 4 -> 5, P 5 -> 5
#   monetary:  U 0 -> 1, R 40 -> 2, V 70 -> 3, Q 150 -> 4, S 320 -> 5, P 500 -> 5
EXPECTED = {  # customer: (recency_days, frequency, monetary, r, f, m, segment)
    "P": (1, 5, 500.0, 5, 5, 5, "champions"),  # r 5, f >= 4
    "Q": (6, 3, 150.0, 4, 4, 4, "loyal"),  # r >= 3, f >= 4
    "R": (3, 1, 40.0, 5, 1, 2, "new customers"),  # r 5, f 1
    "S": (89, 4, 320.0, 3, 5, 5, "loyal"),
    "U": (303, 1, 0.0, 1, 1, 1, "hibernating"),  # r <= 2, f <= 2
    "V": (197, 2, 70.0, 2, 3, 3, "at risk"),  # r <= 2, f 3-4
}


@pytest.fixture
def con(rw):
    rw.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES (?, ?, ?, ?)", ORDERS
    )
    rw.executemany(
        "INSERT INTO customers (customer_id, customer_key) VALUES (?, ?)", [(c, f"K-{c}") for c in "PQRSUVW"]
    )
    return rw


def test_scores_by_hand(con):
    frame = rfm.scores(con, AS_OF).set_index("customer_key")
    got = {
        key[2:]: (row.recency_days, row.frequency, row.monetary, row.r, row.f, row.m, row.segment)
        for key, row in frame.iterrows()
    }
    assert got == EXPECTED


def test_segments_counts_and_revenue_share(con):
    frame = rfm.segments(con, AS_OF).set_index("segment")
    # in SEGMENTS order, empty segments left out
    assert list(frame.index) == ["champions", "loyal", "new customers", "at risk", "hibernating"]
    assert list(frame["customers"]) == [1, 2, 1, 1, 1]
    total = 500 + 150 + 40 + 320 + 0 + 70
    assert frame.loc["loyal", "revenue"] == 470.0
    assert frame.loc["loyal", "revenue_share"] == pytest.approx(470 / total)
    assert frame.loc["champions", "customer_share"] == pytest.approx(1 / 6)
    assert frame["revenue_share"].sum() == pytest.approx(1.0)


def test_grid_covers_every_customer(con):
    grid = rfm.grid(con, AS_OF)
    assert grid["customers"].sum() == 6
    assert grid.set_index(["r", "f"]).loc[(5, 5), "segment"] == "champions"


def test_every_score_pair_has_a_segment():
    pairs = duckdb.sql(f"SELECT {rfm.segment_case()} FROM range(1, 6) a(r), range(1, 6) b(f)")
    segments = [row[0] for row in pairs.fetchall()]
    assert len(segments) == 25 and set(segments) <= set(rfm.SEGMENTS)
