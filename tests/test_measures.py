"""One definition of a purchase everywhere: a hand-made client whose purchases are worked out in
the comments, read by every module that counts purchases or customers (docs/definitions.md).

A purchase is an order that is not cancelled and not fully refunded, whatever its amount: A's
$0 order is one; B's fully refunded order, C's cancelled order and D's refund-only row are not.
Net revenue still sums every order."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from workbook.analytics import attribution, causal, clv, cohorts, indices, measures, metrics, rfm, segments

AS_OF = dt.date(2026, 2, 28)
ORDERS = [  # order_id, customer, ordered_at, revenue, refunded, cancelled
    ("a1", "A", "2026-01-05 10:00", 0, None, None),  # a free sample: A's first purchase
    ("a2", "A", "2026-02-10 12:00", 30, None, None),
    ("b1", "B", "2026-01-08 12:00", 0, 40, None),  # fully refunded: no purchase
    ("b2", "B", "2026-02-12 12:00", 25, None, None),  # B's first purchase
    ("c1", "C", "2026-01-10 12:00", 50, None, True),  # cancelled: C never bought
    ("d1", "D", "2026-01-12 12:00", -15, 15, None),  # a refund-only row: no purchase
    ("d2", "D", "2026-01-20 12:00", 45, 15, False),  # partly refunded: a purchase
    ("e1", "E", "2026-02-03 09:00", 20, None, None),  # E buys twice on one day
    ("e2", "E", "2026-02-03 18:00", 5, None, None),
    ("x1", None, "2026-01-15 12:00", 100, None, None),  # anonymous
]


@pytest.fixture
def con(rw):
    rw.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue, refunded, cancelled) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        ORDERS,
    )
    return rw


def test_the_purchase_predicate(con):
    got = con.execute(
        f"SELECT order_id FROM orders WHERE {measures.PURCHASE.sql} ORDER BY order_id"
    ).fetchall()
    assert [r[0] for r in got] == ["a1", "a2", "b2", "d2", "e1", "e2", "x1"]


def test_kpis_count_purchases_and_sum_all_revenue(con):
    def monthly(kpi):
        return metrics.series(con, kpi, "month", as_of=AS_OF)["value"].tolist()

    # revenue, every order: Jan 0 + 0 + 50 - 15 + 45 + 100 = 180; Feb 30 + 25 + 20 + 5 = 80
    assert monthly("revenue") == [180.0, 80.0]
    # purchases: Jan a1, d2, x1; Feb a2, b2, e1, e2
    assert monthly("orders") == [3.0, 4.0]
    assert monthly("aov") == [60.0, 20.0]
    # active: Jan A, D (not B, C); Feb A, B, E. New: Jan A, D; Feb B, E. Returning in Feb: A.
    assert monthly("active_customers") == [2.0, 3.0]
    assert monthly("new_customers") == [2.0, 2.0]
    assert monthly("repeat_purchase_rate") == [0.0, pytest.approx(1 / 3)]
    # known customers' revenue to date (C's cancelled 50 included) / customers to date:
    # Jan (0 + 0 + 50 - 15 + 45) / 2; Feb (80 + 80) / 4
    assert monthly("historic_cltv") == [40.0, 40.0]


def test_cohorts_rfm_and_clv_find_the_same_customers(con):
    activity = cohorts.cohort_activity(con, "month", as_of=AS_OF)
    got = [
        (pd.Timestamp(r.cohort).date().month, r.period, r.cohort_customers, r.active_customers, r.revenue)
        for r in activity.itertuples()
    ]
    # January: A (5 Jan) and D (20 Jan; its refund before is ignored): 0 + 45; A again in
    # February (30). February: B (its refunded January order ignored) and E: 25 + 25.
    assert got == [(1, 0, 2, 2, 45.0), (1, 1, 2, 1, 30.0), (2, 0, 2, 2, 50.0)]
    scores = rfm.scores(con, AS_OF).set_index("customer_key")
    # frequency in purchase days; monetary all net revenue: A 0 + 30, B 0 + 25, D -15 + 45, E 25
    assert scores["frequency"].to_dict() == {"A": 2, "B": 1, "D": 1, "E": 1}
    assert scores["monetary"].to_dict() == {"A": 30.0, "B": 25.0, "D": 30.0, "E": 25.0}
    assert scores["recency_days"].to_dict() == {"A": 18, "B": 16, "D": 39, "E": 25}
    summary = clv.summary(con, AS_OF)
    assert list(summary["customer_id"]) == ["A", "D", "E", "B"]  # by first purchase day
    assert list(summary["x"]) == [1, 0, 0, 0]
    a = summary.iloc[0]
    assert (a["t_x"], a["T"], a["monetary"]) == (36 / 7, 54 / 7, 30.0)
    # the history starts with A's $0 purchase on 5 January: 176 days to 30 June, a third held out
    june = dt.date(2026, 6, 30)
    assert clv.holdout_window(con, june) == (june - dt.timedelta(days=176 // 3), june)


def test_indices_and_attribution_count_purchases(con):
    rsi = indices.relationship_strength(con, AS_OF, since=dt.date(2026, 1, 1))
    repeat = next(c for c in rsi.components if c.name == "Repeat buyers")
    assert repeat.score == 50.0  # A and E bought twice, of A, B, D, E
    # no touches: every purchase by a known customer in the window is an untouched conversion
    att = attribution.attribute(con, AS_OF, since=dt.date(2026, 1, 1), n_boot=10)
    assert (att.conversions, att.untouched_orders) == (0, 6)


def test_rollout_counts_repeat_purchases_only(rw):
    # As tests/test_causal.py: rollout on 1 May 2026 for CA, 6 weeks before, 4 after.
    start, pre, post = dt.date(2026, 5, 1), 6, 4
    pre_start = dt.datetime.combine(start, dt.time()) - dt.timedelta(weeks=pre)
    long_ago = pre_start - dt.timedelta(days=30)
    rw.executemany(
        "INSERT INTO customers (customer_id, customer_key, region) VALUES (?, ?, ?)",
        [("t1", "T1", "CA"), ("t2", "T2", "CA"), ("c1", "C1", "NY"), ("c2", "C2", "NY")],
    )
    week0 = pre_start + dt.timedelta(weeks=pre, days=1)
    rw.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue, refunded, cancelled) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            ("t1-0", "t1", long_ago - dt.timedelta(days=5), -8, 8, None),  # a refund: not t1's first
            ("t1-1", "t1", long_ago, 10, None, None),
            ("t1-2", "t1", week0, -10, 10, None),  # refund-only row: no repeat order
            ("t1-3", "t1", week0, 30, None, True),  # cancelled: no repeat order
            ("t2-0", "t2", long_ago, 10, None, None),
            ("t2-1", "t2", week0, 10, None, None),  # a repeat order in week 0
            ("c1-0", "c1", long_ago, 10, None, None),
            ("c1-1", "c1", week0 - dt.timedelta(weeks=1), 0, None, None),  # $0: a repeat order, week -1
            ("c2-0", "c2", long_ago, 10, None, None),
        ],
    )
    rollout = causal.Rollout("Recommendations", start, "region", ("CA",))
    result = causal.did(rw, rollout, as_of=dt.date(2026, 6, 30), pre_weeks=pre, post_weeks=post)
    weekly = result.weekly.pivot(index="week", columns="group", values="orders_per_customer")
    assert weekly["treated"].to_dict() == {w: 0.5 if w == 0 else 0.0 for w in range(-pre, post)}
    assert weekly["comparison"].to_dict() == {w: 0.5 if w == -1 else 0.0 for w in range(-pre, post)}


def test_email_new_customers_are_first_purchases(rw):
    # a1 had only a fully refunded order before the email: its converting order is its first
    # purchase, so it is a new customer. a2 had a $0 purchase before: not new.
    sent = dt.datetime(2026, 2, 1, 9)
    rw.executemany(
        "INSERT INTO campaign_sends (campaign_id, customer_id, variant, sent_at, converted_at, revenue) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            ("k1", "a1", "Personalized picks", sent, sent + dt.timedelta(days=1), 20),
            ("k1", "a2", "Generic bestsellers", sent, sent + dt.timedelta(days=1), 20),
        ],
    )
    rw.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue, refunded) VALUES (?, ?, ?, ?, ?)",
        [
            ("o1", "a1", sent - dt.timedelta(days=30), 0, 12),
            ("o2", "a2", sent - dt.timedelta(days=30), 0, None),
            ("o3", "a1", sent + dt.timedelta(days=1), 20, None),
            ("o4", "a2", sent + dt.timedelta(days=1), 20, None),
        ],
    )
    econ = segments.economics(rw, dt.date(2026, 2, 28), by="segment", since=dt.date(2026, 1, 1))
    table = econ.table[econ.table["segment"] == segments.ALL].set_index("arm")
    assert table["new_customers"].to_dict() == {"personalized": 1, "generic": 0}


def test_personalized_arm_is_one_rule_in_sql_and_python():
    names = ["Personalized picks", "PERSONALISED", "Generic bestsellers", "Control", "personal touch"]
    expected = [True, True, False, False, False]
    con = duckdb.connect()
    sql = con.execute(
        f"SELECT {measures.PERSONALIZED_ARM.sql} FROM unnest($names::VARCHAR[]) t(variant)", {"names": names}
    ).fetchall()
    assert [r[0] for r in sql] == expected
    assert [measures.is_personalized_arm(n) for n in names] == expected
    assert con.execute(
        f"SELECT {measures.PERSONALIZED_ARM.sql} FROM (SELECT NULL AS variant)"
    ).fetchone() == (False,)
