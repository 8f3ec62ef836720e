"""KPI values on a tiny hand-made dataset whose answers were worked out by hand (in comments)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from workbook import store
from workbook.analytics import metrics
from workbook.core.errors import WorkbookError

AS_OF = dt.date(2026, 1, 18)  # a Sunday: weeks start Mon 2025-12-29, 2026-01-05, 2026-01-12
WEEKS = [dt.date(2025, 12, 29), dt.date(2026, 1, 5), dt.date(2026, 1, 12)]


@pytest.fixture
def con(client, rw):
    rw.execute(
        "INSERT INTO customers (customer_id, customer_key, segment) VALUES "
        "('a', 'C-a', 'vip'), ('b', 'C-b', 'std'), ('c', 'C-c', 'std')"
    )
    # hour of day:  8        8        12       7 (walk-in)  8        16
    rw.execute("""INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES
        ('o1', 'a', '2025-12-30 08:30', 10), ('o2', 'a', '2026-01-06 08:15', 20),
        ('o3', 'b', '2026-01-07 12:00', 30), ('o4', NULL, '2026-01-08 07:30', 5),
        ('o5', 'b', '2026-01-13 08:45', 40), ('o6', 'c', '2026-01-14 16:00', 50)""")
    rw.execute("""INSERT INTO leads (lead_id, created_at, source, converted_at) VALUES
        ('l1', '2026-01-06', 'A', '2026-01-10'), ('l2', '2026-01-07', 'B', NULL),
        ('l3', '2026-01-13', 'A', '2026-01-15'), ('l4', '2026-01-14', 'A', NULL)""")
    rw.execute(
        "INSERT INTO spend VALUES ('2026-01-06', 'ads', NULL, 100, NULL), "
        "('2026-01-13', 'ads', NULL, 60, NULL), ('2026-01-14', 'ads', NULL, 30, NULL)"
    )
    rw.execute(
        "INSERT INTO touches (customer_id, touched_at, channel) VALUES "
        "('b', '2026-01-10', 'ads'), ('a', '2025-12-20', 'ads'), ('c', '2026-01-12', 'email')"
    )
    rw.execute("""INSERT INTO campaign_sends (campaign_id, customer_id, sent_at, opened_at, clicked_at,
                  converted_at, unsubscribed) VALUES
        ('k', 'a', '2026-01-06', '2026-01-06', '2026-01-06', '2026-01-07', FALSE),
        ('k', 'b', '2026-01-06', '2026-01-06', '2026-01-06', NULL, FALSE),
        ('k', 'c', '2026-01-06', '2026-01-06', NULL, NULL, TRUE),
        ('k', 'd', '2026-01-06', NULL, NULL, NULL, FALSE)""")
    rw.execute("""INSERT INTO feedback (feedback_id, submitted_at, nps, ces, csat, rating) VALUES
        ('f1', '2026-01-06', 10, 2, NULL, 5), ('f2', '2026-01-06', 9, 4, NULL, 4),
        ('f3', '2026-01-07', 7, NULL, NULL, 2), ('f4', '2026-01-07', 3, NULL, NULL, NULL),
        ('f5', '2026-01-08', 0, NULL, NULL, NULL),
        ('f6', '2026-01-13', 10, NULL, 5, NULL), ('f7', '2026-01-13', 10, NULL, 4, NULL),
        ('f8', '2026-01-14', 6, NULL, NULL, NULL)""")
    rw.close()
    read = store.read(client)
    yield read
    read.close()


def values(con, name, **kw):
    frame = metrics.series(con, name, "week", as_of=AS_OF, since=WEEKS[0], **kw)
    assert list(frame["period"].dt.date) == WEEKS
    return [None if math.isnan(v) else round(v, 4) for v in frame["value"]]


# expected weekly values, worked out by hand from the rows above
EXPECTED = {
    "revenue": [10, 55, 90],
    "orders": [1, 3, 2],
    "aov": [10, round(55 / 3, 4), 45],
    "active_customers": [1, 2, 2],  # a | a, b | b, c
    "new_customers": [1, 1, 1],  # a | b | c
    "repeat_purchase_rate": [0, 0.5, 0.5],  # a new | a repeat, b new | b repeat, c new
    "churn_rate": [None, None, None],  # nobody ordered 3-12 months before (see below)
    "churn_rate_annual": [None, None, None],  # nor 1-2 years before
    "leads": [None, 2, 2],  # no leads before 6 Jan: no value, not 0
    "lead_conversion_rate": [None, 0.5, 0.5],
    "cac": [0, 100, 90],  # spend / new customers
    # o5 (40) within 7 days of b's paid touch; o6 follows only a free email touch: not counted
    "romi": [None, -1, round((40 - 90) / 90, 4)],
    "historic_cltv": [10, 30, 50],  # 10/1, 60/2, 150/3
    "email_open_rate": [None, 0.75, None],
    "email_click_rate": [None, 0.5, None],
    "email_conversion_rate": [None, 0.25, None],
    "unsubscribe_rate": [None, 0.25, None],
    "nps": [None, 0, round(100 / 3, 4)],  # 2 promoters - 2 detractors of 5 | 2 - 1 of 3
    "ces": [None, 3, None],
    "csat": [None, None, 4.5],
    "avg_rating": [None, round(11 / 3, 4), None],
    # each week's busiest two hours: wk1 8h 10/10; wk2 (7h 5, 8h 20, 12h 30) 12h 30/55;
    # wk3 (8h 40, 16h 50) 16h 50/90
    "peak_hour_share": [1, round(30 / 55, 4), round(50 / 90, 4)],
}


def test_every_kpi_is_checked_by_hand():
    assert set(EXPECTED) == set(metrics.KPIS)
    assert len(metrics.KPIS) >= 21


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_kpi_weekly_values(con, name):
    assert values(con, name) == pytest.approx(EXPECTED[name], abs=1e-4)


def test_segment_filter(con):
    assert values(con, "revenue", segment="std") == [0, 30, 90]
    assert values(con, "new_customers", segment="vip") == [1, 0, 0]
    with pytest.raises(WorkbookError, match="segment"):
        values(con, "cac", segment="std")


def test_repeat_rate_when_the_window_starts_mid_week(client, rw):
    # window from Wed 14 Jan: x first ordered on Mon 12 Jan (same week, before the window),
    # y in December, z only on 15 Jan; all three order on Thu 15 Jan
    rw.execute("""INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES
        ('x1', 'x', '2026-01-12 10:00', 1), ('x2', 'x', '2026-01-15 10:00', 1), ('y1', 'y', '2025-12-30', 1),
        ('y2', 'y', '2026-01-15 11:00', 1), ('z1', 'z', '2026-01-15 12:00', 1)""")
    since = dt.date(2026, 1, 14)
    rate = metrics.series(rw, "repeat_purchase_rate", "week", as_of=AS_OF, since=since)
    assert (rate["num"].tolist(), rate["den"].tolist()) == ([1], [3])  # only y ordered before the week
    new = metrics.series(rw, "new_customers", "week", as_of=AS_OF, since=since)
    assert new["num"].tolist() == [1]  # z: x's first order is before the window


def test_peak_hour_share_of_a_week_does_not_depend_on_later_weeks(rw):
    # week of 5 Jan: 10 at 8h and 5 at 12h (peak 8-10: 10/15); week of 12 Jan: 100 at 16h.
    # A goal's baseline (series ending with the first week) and a later report (ending with
    # the second) must measure the first week alike.
    rw.execute("""INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES
        ('p1', 'a', '2026-01-06 08:00', 10), ('p2', 'b', '2026-01-07 12:00', 5),
        ('p3', 'c', '2026-01-13 16:00', 100)""")
    first_week = dt.date(2026, 1, 5)
    for as_of in [dt.date(2026, 1, 11), dt.date(2026, 1, 18)]:
        frame = metrics.series(rw, "peak_hour_share", "week", as_of=as_of, since=first_week)
        assert frame["value"].iloc[0] == pytest.approx(10 / 15)


def test_month_grain_and_partial_period(con):
    frame = metrics.series(con, "revenue", "month", as_of=AS_OF, since=dt.date(2025, 12, 1))
    assert list(frame["value"]) == [10, 145]
    assert list(frame["complete"]) == [True, False]  # January is cut short by as_of


def test_unavailable_is_not_zero(client):
    con = store.read(client)
    assert metrics.available_kpis(con) == []
    with pytest.raises(WorkbookError, match="unavailable"):
        metrics.series(con, "revenue", as_of=AS_OF)
    con.close()


def test_feedback_kpi_needs_its_column(client, rw):
    rw.execute("INSERT INTO feedback (feedback_id, submitted_at, rating) VALUES ('r', '2026-01-01', 4)")
    assert metrics.available(rw, "avg_rating") and not metrics.available(rw, "nps")


def test_window_value_flow_matches_t_interval(con):
    got = metrics.value(con, "revenue", WEEKS[1], AS_OF + dt.timedelta(days=1))
    # weeks 55 and 90: mean 72.5, 95% t interval with 1 degree of freedom (scipy reference)
    low, high = stats.t.interval(0.95, 1, loc=72.5, scale=stats.sem([55, 90]))
    assert (got.value, got.periods) == (72.5, 2)
    assert low < 0  # scipy's interval reaches below zero, which revenue cannot: it stops at $0
    assert (got.low, got.high) == pytest.approx((0.0, high), rel=1e-9)


def test_intervals_and_projections_stay_on_the_kpis_own_scale():
    # Issue 13: '108.7% (95% range 54.2% to 158.9%)', '-$1,134 to $1,735', '3.37 to 5.49 stars'.
    assert metrics.KPIS["repeat_purchase_rate"].within(1.087) == 1.0
    assert metrics.KPIS["revenue"].within(-1134.0) == 0.0
    assert metrics.KPIS["avg_rating"].within(5.49) == 5.0 and metrics.KPIS["avg_rating"].within(-3.25) == 1.0
    assert metrics.KPIS["ces"].within(7.4) == 7.0 and metrics.KPIS["nps"].within(-130.0) == -100.0
    assert metrics.KPIS["romi"].within(-2.0) == -1.0 and metrics.KPIS["romi"].within(220.0) == 220.0
    assert math.isnan(metrics.KPIS["revenue"].within(math.nan))
    for kpi in metrics.KPIS.values():  # every KPI declares what it can take
        assert kpi.possible is not None and kpi.possible[0] < kpi.possible[1], kpi.name


def test_pooled_ratio_is_not_a_mean_of_ratios():
    num, den = [1, 2, 9], [2, 4, 10]
    got = metrics.pooled(num, den)
    assert got.value == pytest.approx(12 / 16)
    # reference: linearised residuals d_i = num_i - R den_i; se = sem(d) / mean(den)
    resid = [n - 0.75 * d for n, d in zip(num, den)]
    se = stats.sem(resid) / (16 / 3)
    assert got.high - got.value == pytest.approx(stats.t.ppf(0.975, 2) * se, rel=1e-9)


def test_churn_interval_rests_on_one_weeks_customers_not_on_the_weeks_spread(client, rw):
    # 40 customers who ordered in July 2025, 10 of whom came back in December: in every week of
    # January the base is the same 40 and 30 have lapsed, so the weeks do not vary at all
    rows = [(f"o{i}", f"c{i}", "2025-07-01", 1) for i in range(40)]
    rows += [(f"r{i}", f"c{i}", "2025-12-20", 1) for i in range(10)]
    rw.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES (?, ?, ?, ?)", rows
    )
    got = metrics.value(rw, "churn_rate", WEEKS[1], AS_OF + dt.timedelta(days=1))
    assert (got.value, got.periods) == (0.75, 2)
    # reference: statsmodels' Wilson interval for 30 of 40 (not the zero-width spread of 2 weeks)
    low, high = proportion_confint(30, 40, alpha=0.05, method="wilson")
    assert (got.low, got.high) == pytest.approx((low, high), rel=1e-9)


def test_churn_is_the_90_day_lapse_rate(client, rw):
    # week ends (exclusive) 5, 12 and 19 Jan 2026 (as_of 18 Jan)
    rw.execute("""INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES
        ('a1', 'a', '2025-07-01', 1), ('a2', 'a', '2025-12-30', 1),    -- a: old order, back recently
        ('d1', 'd', '2025-06-01', 1),                                    -- d: lapsed
        ('b1', 'b', '2025-10-10', 1), ('b2', 'b', '2026-01-07', 1),    -- b: 3 months old from 8 Jan
        ('x1', 'x', '2024-06-01', 1)""")  # x: over a year ago, not counted
    frame = metrics.series(rw, "churn_rate", "week", as_of=AS_OF, since=WEEKS[0])
    # week 1 (end 5 Jan): base a, d (b's 10 Oct order is < 90 days old); d has no recent order -> 1/2
    # week 2 (end 12 Jan) and 3 (end 19 Jan): base a, b, d; only d lapsed -> 1/3
    assert frame["value"].tolist() == pytest.approx([1 / 2, 1 / 3, 1 / 3])
    assert frame["den"].tolist() == [2, 3, 3]
    # a second (and third) order on the same day changes nothing
    rw.execute("""INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES
        ('a3', 'a', '2025-07-01 18:00', 1), ('d2', 'd', '2025-06-01 09:00', 1), ('d3', 'd', '2025-06-01 10:00', 1),
        ('b3', 'b', '2026-01-07 12:00', 1)""")
    again = metrics.series(rw, "churn_rate", "week", as_of=AS_OF, since=WEEKS[0])
    assert again[["num", "den"]].equals(frame[["num", "den"]])


def test_annual_churn_lapses_after_a_year_not_90_days(client, rw):
    # a home-services firm's customers: yearly visits (week ends 5, 12 and 19 Jan 2026)
    rw.execute("""INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES
        ('a1', 'a', '2024-09-01', 1), ('a2', 'a', '2025-09-01', 1),    -- a: came back after a year
        ('d1', 'd', '2024-06-01', 1),                                    -- d: 19 months ago, lapsed
        ('b1', 'b', '2025-01-08', 1),                                    -- b: a year old from 9 Jan
        ('y1', 'y', '2025-05-01', 1),                                    -- y: 8 months: not yet in the base
        ('x1', 'x', '2023-06-01', 1)""")  # x: over two years ago, not counted
    frame = metrics.series(rw, "churn_rate_annual", "week", as_of=AS_OF, since=WEEKS[0])
    # week 1 (end 5 Jan): base a (2024-09-01 is 1-2 years old), d -> d lapsed (a bought since) = 1/2
    # weeks 2 and 3: b's 8 Jan 2025 order is over 365 days old -> base a, b, d; b, d lapsed = 2/3
    assert frame["value"].tolist() == pytest.approx([1 / 2, 2 / 3, 2 / 3])
    # the 90-day churn calls every one of them churned: base a, b, y (3-12 months old), none
    # bought in the last 90 days
    quarterly = metrics.series(rw, "churn_rate", "week", as_of=AS_OF, since=WEEKS[0])
    assert quarterly["value"].tolist() == [1.0, 1.0, 1.0]
    assert "12-month" in metrics.get("churn_rate_annual").label
