"""Say what the data allows (issue 13, point 4): the report's date when none is given, rows
dated in the future, how much history there is and what it limits, sections that need more
history, a client with nothing imported, and the tiny shop that exercises all of them."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import re

import pandas as pd
import pytest

from workbook import store
from workbook.analytics import goals, quality
from workbook.delivery import batch
from workbook.delivery import index as index_pages
from workbook.sample import tiny_shop
from workbook.sample.demo import build_tiny_shop
from workbook.story import cohort_analysis, nb, onboarding


def _orders(rw, days: list[str]) -> None:
    if not days:
        return
    rw.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES (?, ?, ?, 10)",
        [(f"o{i}", f"c{i % 3}", day) for i, day in enumerate(days)],
    )


# ------------------------------------------------------------------------ the report's date


@pytest.mark.parametrize(
    ("days", "today", "as_of"),
    [
        # today has rows: an unfinished day, so yesterday (a day without rows is still complete)
        (["2026-03-01 10:00", "2026-03-05 09:00"], "2026-03-05", "2026-03-04"),
        # the data stops before yesterday: the newest activity
        (["2026-03-01 10:00", "2026-02-20 10:00"], "2026-03-10", "2026-03-01"),
        # a mistyped year never moves the window
        (["2026-03-01 10:00", "2099-12-31 10:00", "2099-01-01 10:00"], "2026-03-10", "2026-03-01"),
        # only future rows: as if empty
        (["2099-12-31 10:00"], "2026-03-10", "2026-03-09"),
        ([], "2026-03-10", "2026-03-09"),
    ],
)
def test_default_as_of_is_the_last_complete_day_not_after_today(rw, days, today, as_of):
    _orders(rw, days)
    assert store.default_as_of(rw, dt.date.fromisoformat(today)) == dt.date.fromisoformat(as_of)


def test_other_activity_dates_the_report_too_but_not_beyond_today(rw):
    _orders(rw, ["2026-03-01 10:00"])
    rw.execute(
        "INSERT INTO leads (lead_id, created_at) VALUES ('l1', '2026-03-03 16:30'), ('l2', '2207-01-01')"
    )
    assert store.default_as_of(rw, dt.date(2026, 3, 20)) == dt.date(2026, 3, 3)


def test_a_notebook_dates_an_empty_client_yesterday_in_its_time_zone(client):
    from zoneinfo import ZoneInfo

    timezone = store.clients.load_client(client).config.timezone
    yesterday = dt.datetime.now(ZoneInfo(timezone)).date() - dt.timedelta(days=1)
    assert nb.open_context(client).as_of == yesterday


# ------------------------------------------------------------------- history and future rows


def test_history_counts_each_activity_table_up_to_as_of(rw):
    _orders(
        rw, ["2026-01-05 10:00", "2026-02-01 10:00", "2026-04-05 23:59", "2026-04-06 00:00", "2099-01-01"]
    )
    rw.execute("INSERT INTO feedback (feedback_id, submitted_at, rating) VALUES ('f1', '2026-03-01', 5)")
    h = quality.history(rw, dt.date(2026, 4, 5))
    assert list(h.spans) == ["orders", "feedback"]
    orders = h.of("orders")
    assert (orders.rows, orders.first, orders.last) == (3, dt.date(2026, 1, 5), dt.date(2026, 4, 5))
    assert (orders.days, orders.weeks, orders.months) == (91, 13, 2)  # 5 Jan..5 Apr: 91 days
    assert h.weeks == 13 and h.longest is orders
    assert h.of("leads") is None
    assert quality.history(rw, dt.date(2025, 12, 31)).weeks == 0


def test_future_rows_are_counted_per_table(rw):
    _orders(rw, ["2026-03-01 10:00", "2026-03-10 23:59", "2026-03-11 00:00", "2099-12-31 08:00"])
    rw.execute("INSERT INTO leads (lead_id, created_at) VALUES ('l1', '2099-05-01')")
    future = quality.future_rows(rw, dt.date(2026, 3, 10))
    assert future.to_dict("records") == [
        {"table": "orders", "rows": 2, "first": dt.date(2026, 3, 11), "last": dt.date(2099, 12, 31)},
        {"table": "leads", "rows": 1, "first": dt.date(2099, 5, 1), "last": dt.date(2099, 5, 1)},
    ]
    assert quality.future_rows(rw, dt.date(2100, 1, 1)).empty


def test_date_gaps_stop_at_the_report_date(rw):
    _orders(rw, ["2026-03-01", "2026-03-02", "2026-03-04", "2099-12-31"])
    gaps = quality.date_gaps(rw, dt.date(2026, 3, 10)).set_index("table").loc["orders"]
    assert (gaps["calendar_days"], gaps["days_without_rows"], gaps["longest_gap_days"]) == (4, 1, 1)
    whole = quality.date_gaps(rw).set_index("table").loc["orders"]
    assert whole["longest_gap_days"] > 20_000  # what the page said before: decades of "gap"


# ------------------------------------------------------------------------- words on the page


def _history(weeks: int) -> quality.History:
    last = dt.date(2026, 10, 31)
    first = last - dt.timedelta(days=7 * weeks - 1)
    return quality.History(last, {"orders": quality.Span("orders", 150, first, last)})


def test_history_words_say_how_much_there_is_and_what_it_limits():
    short = nb.history_words(_history(13), "tiny")
    assert short.startswith("**History:** 13 weeks of orders (150 of them, 02 Aug 2026 to 31 Oct 2026).")
    assert f"rather than the usual {goals.TREND_WEEKS}" in short and "same season a year before" in short
    assert "too short for trends" in nb.history_words(_history(goals.MIN_WEEKS - 1), "tiny")
    assert "Less than a year" in nb.history_words(_history(40), "tiny")
    assert "Enough for trends" in nb.history_words(_history(104), "tiny")
    empty = nb.history_words(quality.History(dt.date(2026, 10, 31), {}), "tiny")
    assert empty.startswith("**No data yet:**") and "`workbook import tiny FILE --source PRESET`" in empty


@pytest.fixture
def said(monkeypatch):
    out: list[str] = []
    monkeypatch.setattr(nb, "say", out.append)
    monkeypatch.setattr(nb, "show", lambda *objs: out.extend(objs))
    return out


def test_needs_more_is_one_line_with_what_is_needed_and_what_there_is(said):
    nb.needs_more("Revenue retention", 6, 3, "month", "orders")
    nb.needs_more("The curve", 2, 1, "month", "orders")
    assert said == [
        "*Revenue retention needs 6 months of orders; there are 3 so far.*",
        "*The curve needs 2 months of orders; there is 1 so far.*",
    ]


def test_a_kpi_without_a_complete_week_is_a_line_not_an_empty_panel(said):
    weeks = pd.date_range("2026-08-03", periods=4, freq="7D")
    frames = {
        "Revenue per week": pd.DataFrame({"period": weeks, "value": [1.0, 2, 3, 4], "complete": True}),
        "Churn rate (90-day lapse)": pd.DataFrame({"period": weeks, "value": float("nan"), "complete": True}),
    }
    onboarding.sparkline_section(frames)
    assert (
        said[0]
        == "*Churn rate (90-day lapse): no complete week has a value yet in the history there is, so no chart.*"
    )
    assert said[1].startswith("Week by week from the week of 03 Aug 2026: the 4 weeks with complete data")
    chart = said[2].to_dict()
    assert chart["facet"]["sort"] == ["Revenue per week"]  # the churn panel is not drawn


def test_a_value_curve_of_one_month_is_a_line_not_a_dot(rw, client, said, monkeypatch):
    _orders(rw, ["2026-09-02 10:00", "2026-09-03 10:00", "2026-09-20 10:00"])
    rw.close()
    ctx = nb.open_context(client, None, "2026-10-15")  # September complete, October not
    monkeypatch.setattr(nb, "finding", lambda *a, **k: None)
    cohort_analysis.value_section(ctx)
    assert said[-1] == "*The curve of customer value needs 2 months of orders; there is 1 so far.*"
    assert all(isinstance(s, str) for s in said)  # no chart


def test_a_rollout_with_a_short_before_period_says_what_it_needs(rw, client):
    from workbook.store.clients import Rollout, load_client, record_rollout
    from workbook.story import impact

    _orders(rw, ["2026-03-02 10:00", "2026-04-20 10:00", "2026-05-04 10:00"])
    rw.close()
    record_rollout(load_client(client), Rollout("New menu", dt.date(2026, 4, 6), "region", ("CA",)))
    ctx = nb.open_context(client, None, "2026-05-31")
    assert impact.run_rollouts(ctx) == [
        "New menu needs 26 weeks of orders before its start on 06 Apr 2026; there are 5 so far"
    ]


def test_onboarding_reports_future_rows_and_keeps_them_out_of_the_gaps(rw, client, said, monkeypatch):
    _orders(rw, ["2026-03-01 10:00", "2026-03-02 10:00", "2099-10-30 10:00", "2099-10-31 10:00"])
    rw.close()
    ctx = nb.open_context(client)
    assert ctx.as_of == dt.date(2026, 3, 2)
    monkeypatch.setattr(nb, "show_table", lambda frame: None)
    onboarding.inventory(ctx)
    onboarding.data_quality(ctx)
    text = "\n".join(s for s in said if isinstance(s, str))
    assert "(2 of them dated after today: see Data quality)" in text
    assert "**Dated after today:** 2 orders dated 30 Oct 2099 to 31 Oct 2099." in text
    assert "the report covers up to 02 Mar 2026" in text
    assert "Gaps in orders:** 0 of 2 days have no rows" in text


def test_data_quality_names_no_negative_fence_for_amounts_and_counts_in_the_singular(
    rw, client, said, monkeypatch
):
    # 11 ordinary orders and one huge one: Tukey's lower fence falls below zero, where no order is
    days = [f"2026-03-{d:02d} 10:00" for d in range(1, 13)]
    _orders(rw, days)
    rw.execute("UPDATE orders SET revenue = 10 * (1 + CAST(substr(order_id, 2) AS INTEGER))")  # 10 to 120
    rw.execute("UPDATE orders SET revenue = 5000 WHERE order_id = (SELECT max(order_id) FROM orders)")
    rw.execute("UPDATE orders SET channel = if(order_id = 'o0', NULL, 'web')")  # one column 1 in 12 empty
    rw.close()
    monkeypatch.setattr(nb, "show_table", lambda frame: None)
    onboarding.data_quality(nb.open_context(client))
    text = "\n".join(s for s in said if isinstance(s, str))
    assert "1 of 12 rows are far above the usual range (over" in text
    assert "far below" not in text  # "0 far below it (under -28.00)" before
    assert "**Missing values:** 1 column is at least 1% empty." in text


# ------------------------------------------------------------------- nothing imported: no badge


def test_a_client_with_nothing_imported_is_never_called_complete(client, tmp_path):
    out = tmp_path / "reports"
    report = batch.render_notebooks(client, None, out, [])
    assert report.ok and not report.has_data
    page = html.unescape((report.folder / "index.html").read_text())
    assert "No data yet." in page and f"'workbook import {client} FILE --source PRESET'" in page
    index = index_pages.write_batch_index(out, [report]).read_text()
    card = re.search(r'<div class="wb-card wb-client">(.*?)</div>', index, re.S).group(1)
    assert 'wb-badge warn">no data yet' in card and "complete" not in card
    assert json.loads((report.folder / index_pages.REPORT_JSON).read_text())["has_data"] is False
    again = index_pages.write_batch_index(out, []).read_text()  # read back from report.json
    assert "no data yet" in again and "complete" not in again


def test_the_pages_of_a_client_with_nothing_imported_say_so(client, said):
    ctx = nb.open_context(client)
    nb.header(ctx, "Onboarding")
    onboarding.inventory(ctx)
    onboarding.data_quality(ctx)
    cohort_analysis.coverage_section(ctx)
    assert said[1].startswith("**No data yet:** nothing is imported for this client")
    assert said[2:] == [
        "*Not enough data for the inventory: nothing is imported yet (see the first lines of this page).*",
        "*Not enough data for data quality: nothing is imported yet, so there is nothing to check.*",
        "No orders are imported yet, so there is nobody to follow.",
    ]


def test_a_client_with_data_is_complete(rw, client, tmp_path):
    _orders(rw, ["2026-03-01 10:00"])
    rw.close()
    report = batch.render_notebooks(client, None, tmp_path / "reports", [])
    assert report.has_data and report.as_of == "2026-03-01"
    index = index_pages.write_batch_index(tmp_path / "reports", [report]).read_text()
    assert 'wb-badge good">complete' in index and "no data yet" not in index


# ------------------------------------------------------------------------------ the tiny shop


def test_the_tiny_shop_is_deterministic(tmp_path):
    first, second = tiny_shop.write(tmp_path / "a"), tiny_shop.write(tmp_path / "b")
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in first]
    assert digest == [hashlib.sha256(p.read_bytes()).hexdigest() for p in second]


def test_the_tiny_shop_imports_through_the_real_presets(home, tmp_path):
    results = build_tiny_shop(tmp_path / "exports")
    assert any("in the future" in w for r in results for w in r.warnings)  # the importer warns
    con = store.read(tiny_shop.SLUG)
    counts = store.table_counts(con)
    assert (counts["customers"], counts["orders"], counts["feedback"]) == (115, 152, 14)
    assert counts["campaigns"] == counts["campaign_sends"] == 0
    as_of = store.default_as_of(con, dt.date(2026, 12, 6))
    assert as_of == dt.date(2026, 10, 31)  # not 2099
    h = quality.history(con, as_of)
    assert h.weeks == tiny_shop.WEEKS and h.of("orders").rows == tiny_shop.ORDERS
    assert h.of("orders").first == dt.date(2026, 8, 2)
    future = quality.future_rows(con, dt.date(2026, 12, 6))
    assert future["rows"].tolist() == [tiny_shop.FUTURE_ORDERS]
