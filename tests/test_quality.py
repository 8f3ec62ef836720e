"""Data inventory and quality checks on hand-made rows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from workbook.analytics import quality

REVENUES = [10, 12, 11, 13, 9, 10, 12, 500, -40]


@pytest.fixture
def con(rw):
    days = [
        "2026-01-01",
        "2026-01-02",
        "2026-01-02",
        "2026-01-03",
        "2026-01-10",
        "2026-01-11",
        "2026-01-12",
        "2026-01-12",
        "2026-01-13",
    ]
    rw.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES (?, ?, ?, ?)",
        [(f"o{i}", None if i < 2 else f"c{i}", d, r) for i, (d, r) in enumerate(zip(days, REVENUES))],
    )
    rw.execute(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES ('o3', 'c3', '2026-01-03', 13)"
    )
    rw.execute(
        "INSERT INTO imports (source, file_name, sha256, rows) VALUES ('square-items', 'items.csv', 'x', 10)"
    )
    return rw


def test_inventory(con):
    inv = quality.inventory(con).set_index("table")
    assert inv.loc["orders", "rows"] == 10
    assert (inv.loc["orders", "first"], inv.loc["orders", "last"]) == (
        dt.date(2026, 1, 1),
        dt.date(2026, 1, 13),
    )
    assert inv.loc["leads", "rows"] == 0
    assert quality.import_history(con)["file_name"].tolist() == ["items.csv"]


def test_missing_values(con):
    miss = quality.missing_values(con).set_index(["table", "column"])
    assert miss.loc[("orders", "customer_id"), "missing"] == 2
    assert miss.loc[("orders", "customer_id"), "share"] == pytest.approx(0.2)
    assert ("orders", "order_id") not in miss.index
    assert "leads" not in miss.index.get_level_values(0)  # empty tables are not "missing"


def test_duplicates(con):
    dup = quality.duplicates(con).set_index("table")
    assert dup.loc["orders", "duplicate_rows"] == 1  # o3 twice
    assert dup.loc["leads", "duplicate_rows"] == 0


def test_duplicates_of_keys_with_several_columns_and_nulls(rw):
    rw.execute(
        "INSERT INTO spend VALUES ('2026-01-06', 'ads', NULL, 100, NULL), ('2026-01-06', 'ads', NULL, 50, NULL), "
        "('2026-01-06', 'ads', 'c1', 20, NULL), ('2026-01-07', 'ads', NULL, 10, NULL)"
    )
    rw.execute(
        "INSERT INTO order_items (order_id, line_no) VALUES ('o1', 1), ('o1', 1), ('o1', 1), ('o1', 2), ('o2', 1)"
    )
    # touches: the same customer, time, channel and (missing) campaign twice is one duplicate
    rw.execute(
        "INSERT INTO touches (customer_id, touched_at, channel, campaign_id) VALUES "
        "('c', '2026-01-06 10:00', 'email', NULL), ('c', '2026-01-06 10:00', 'email', NULL), "
        "('c', '2026-01-06 10:00', 'email', 'k1')"
    )
    dup = quality.duplicates(rw).set_index("table")["duplicate_rows"]
    assert (dup["spend"], dup["order_items"], dup["orders"], dup["touches"]) == (1, 2, 0, 1)


def test_outliers_match_numpy_quartiles(con):
    values = np.array([*REVENUES, 13], dtype=float)
    q1, q3 = np.percentile(values, [25, 75])  # linear interpolation, like DuckDB
    out = quality.outliers(con).set_index("column").loc["revenue"]
    assert (out["low_fence"], out["high_fence"]) == pytest.approx((q1 - 3 * (q3 - q1), q3 + 3 * (q3 - q1)))
    assert (out["below"], out["above"]) == (1, 1)  # -40 and 500


def test_date_gaps(con):
    gaps = quality.date_gaps(con).set_index("table").loc["orders"]
    # 1-13 Jan: 13 calendar days, orders on 1, 2, 3, 10, 11, 12, 13 -> 6 empty days (4-9 Jan)
    assert (gaps["calendar_days"], gaps["days_without_rows"], gaps["longest_gap_days"]) == (13, 6, 6)
    assert gaps["longest_gap_from"] == dt.date(2026, 1, 4)


def test_empty_meaning_none_is_not_missing(rw):
    rw.execute("INSERT INTO leads (lead_id, created_at, converted_at) VALUES ('a', '2026-01-01', NULL)")
    rw.execute("INSERT INTO orders (order_id, ordered_at, revenue) VALUES ('o', '2026-01-01', 5)")
    found = quality.missing_values(rw)
    miss = set(zip(found["table"], found["column"]))
    assert ("leads", "converted_at") not in miss and ("orders", "cancelled") not in miss
    assert ("leads", "source") in miss and ("orders", "channel") in miss
