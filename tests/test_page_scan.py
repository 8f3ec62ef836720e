"""Issue 13's "must show": every page of the tiny shop and of each sample client, text and chart
specs, scanned for a rate outside 0-100%, negative money, a rating off 1-5, advice beyond the
client's list, an unsaid history, and (issue 15) raw Markdown or a number with more than four
decimals in the text or a slider's read-out (`page_scan`); the scanner itself shown to fail on
a planted bad page."""

from __future__ import annotations

import json

import pytest
from page_scan import chart_specs, repeated_ticks, scan_page
from render_fixtures import SAMPLE_CLIENTS

from workbook import store
from workbook.core import paths
from workbook.sample import tiny_shop

HISTORY = "<p><strong>History:</strong> 13 weeks of orders.</p>"


def _page(body: str, specs: tuple[dict, ...] = ()) -> str:
    charts = "".join(
        f'<div id="c{i}"></div><script>(function () {{ var el = document.getElementById("c{i}");\n'
        f"  vegaEmbed(el, {json.dumps(spec)}, {{}}).then(function () {{}}); }})();</script>"
        for i, spec in enumerate(specs)
    )
    return f"<html><head><style>p {{ width: 120%; }}</style></head><body>{body}{charts}</body></html>"


def _chart(fmt: str, values: list[float], title: str = "Repeat purchase rate") -> dict:
    return {
        "datasets": {"d1": [{"week": i, "value": v} for i, v in enumerate(values)]},
        "data": {"name": "d1"},
        "layer": [
            {
                "mark": "line",
                "encoding": {
                    "y": {"field": "value", "type": "quantitative", "axis": {"format": fmt}, "title": title}
                },
            },
            {"mark": "rule", "encoding": {"y": {"field": "value", "type": "quantitative"}}},
        ],
    }


GOOD = _page(
    HISTORY
    + "<p>Repeat purchase rate is 37.0% (95% range 3.0% to 70.9%); the gap is -15.0 pp (-40.5% of now).</p>"
    + "<p>Trend: -$10.29 per week (95% range -$10.29 to +$32.89), reaching about $16.05.</p>"
    + "<p>Target: $311.12; the gap is -$16.12 (-5.5% of now). Progress: none yet: it moved -$1.50.</p>"
    + "<p>Revenue per customer changed by $5.89 (-$9.68 to $21.45).</p>"
    + "<p>Average review rating is 4.58 (95% range 4.11 to 5.00); 4.64 stars from 14 reviews.</p>"
    + "<table><thead><tr><th>KPI</th><th>Baseline</th></tr></thead>"
    + "<tbody><tr><td>Return on marketing investment</td><td>549%</td></tr></tbody></table>"
    + "<p>Send the next campaign to about 50 recipients per version.</p>",
    (_chart(".0%", [0.2, 0.37, 1.0]), _chart("$,.0f", [0.0, 282.8])),
)

BAD = [
    ("rate outside 0-100% (104.2%)", "<p>Repeat purchase rate would reach about 104.2% by then.</p>"),
    ("rate outside 0-100% (-4.9%)", "<p>Email open rate: between -4.9% and 12.0%.</p>"),
    (
        "negative money (-$3,872)",
        "<p>Revenue would be about $1,200 by then (between -$3,872 and $30,865).</p>",
    ),
    (
        "negative money (-$300)",
        "<p>Trend: +$13.71 per week (95% range -$10.29 to +$32.89), reaching about $728.17 by the "
        "deadline (between -$300 and $1,375).</p>",
    ),
    ("rating off 1-5 (5.40)", "<p>Average review rating would be about 5.40 by the deadline.</p>"),
    ("rating off 1-5 (0.80)", "<p>Only Ratings (0.80 stars from 14 reviews) is known.</p>"),
    (
        "advice beyond the client's list of 115 (21,067)",
        "<p>Send it to about 21,067 recipients per version.</p>",
    ),
    ("raw Markdown (**)", "<p>A new customer has brought **$534.44** of net revenue.</p>"),
    ("a number with more than four decimals (34927.570333)", "<p>Target revenue: 34927.570333</p>"),
]


def test_the_scanner_passes_a_page_an_owner_can_trust():
    assert len(chart_specs(GOOD)) == 2
    assert scan_page(GOOD, list_size=115) == []


@pytest.mark.parametrize(("problem", "body"), BAD)
def test_the_scanner_fails_on_a_planted_bad_sentence(problem, body):
    found = scan_page(_page(HISTORY + body), list_size=115)
    assert len(found) == 1 and found[0].startswith(problem), found


@pytest.mark.parametrize(
    ("chart", "problem"),
    [
        (_chart(".0%", [0.2, 1.3]), "rate outside 0-100% on a % axis (0.2 to 1.3)"),
        (_chart(".0%", [-0.05, 0.3]), "rate outside 0-100% on a % axis (-0.05 to 0.3)"),
        (_chart("$,.0f", [-23.0, 282.8], "Revenue per week"), "negative money on a $ axis (-23)"),
        (_chart(",.1f", [3.9, 5.2], "Average review rating"), "rating off 1-5 on its axis (3.9 to 5.2)"),
    ],
)
def test_the_scanner_fails_on_a_planted_bad_chart(chart, problem):
    found = scan_page(_page(HISTORY, (chart,)))
    assert len(found) == 1 and found[0].startswith(problem), found


def _slider(value: float, low: float, high: float, step: float) -> dict:
    bind = {"input": "range", "min": low, "max": high, "step": step, "name": "Target revenue: "}
    return {
        **_chart("$,.0f", [low, high], "Revenue"),
        "params": [{"name": "target", "value": value, "bind": bind}],
    }


def test_the_scanner_reads_a_sliders_read_out():
    assert scan_page(_page(HISTORY, (_slider(34950.0, 34900.0, 41900.0, 50.0),))) == []
    found = scan_page(_page(HISTORY, (_slider(34927.570333, 34927.570333, 41913.0, 34.927570333),)))
    assert found == [
        "a slider read-out with more than four decimals (34927.570333): Target revenue: ",
        "a slider read-out with more than four decimals (34.927570333): Target revenue: ",
    ]


def test_the_scanner_finds_a_tick_label_repeated_on_an_axis():
    narrow = _chart(".0%", [0.02 + 0.002 * i for i in range(13)], "Email conversion rate")
    assert repeated_ticks(narrow) == [
        "a tick label repeated on an axis (0% 1% 1% 2% 2% 3% 3% 4% 4% 5%): chart '(untitled)'"
    ]
    assert repeated_ticks(_chart(".0%", [0.2, 0.37, 1.0])) == []


def test_the_scanner_fails_on_a_page_without_its_history():
    assert scan_page(_page("<p>Revenue per week is $282.83.</p>")) == [
        "the history is not said (no 'History:' on the page)"
    ]


# ------------------------------------------------------------------------- the rendered pages


def _pages(reports, client: str) -> dict[str, str]:
    folder = reports.out / client / reports.as_of
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("0*.html"))}


def _list_size(reports, client: str) -> int:
    """Everyone the client could send a test to: its customers, or its biggest campaign."""
    con = store.read(db_path=reports.home / client / paths.DB_FILE)
    try:
        customers = store.scalar(con, "SELECT count(*) FROM customers")
        sent = store.scalar(
            con,
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM campaign_sends GROUP BY campaign_id)",
        )
    finally:
        con.close()
    return max(customers, sent)


def _scan(reports, client: str) -> list[str]:
    size = _list_size(reports, client)
    return [f"{stem}: {p}" for stem, page in _pages(reports, client).items() for p in scan_page(page, size)]


@pytest.mark.slow
def test_tiny_shop_renders_dated_by_its_data_not_its_future_rows(tiny_reports):
    assert tiny_reports.code == 0, tiny_reports.log
    pages = _pages(tiny_reports, tiny_shop.SLUG)
    assert len(pages) == 4
    assert "2 orders dated 30 Oct 2099 to 31 Oct 2099" in pages["01_onboarding"]


@pytest.mark.slow
def test_tiny_shop_pages_hold_no_impossible_value_nor_advice_beyond_its_list(tiny_reports):
    assert _scan(tiny_reports, tiny_shop.SLUG) == []


@pytest.mark.slow
def test_tiny_shop_says_its_short_history_on_every_page(tiny_reports):
    for stem, page in _pages(tiny_reports, tiny_shop.SLUG).items():
        assert "13 weeks of orders (150 of them, 02 Aug 2026 to 31 Oct 2026)" in page, stem
        assert "rather than the usual 26" in page, stem


@pytest.mark.slow
@pytest.mark.parametrize("client", SAMPLE_CLIENTS)
def test_sample_charts_show_no_tick_label_twice(sample_reports, client):
    found = [
        f"{stem}: {p}"
        for stem, page in _pages(sample_reports, client).items()
        for spec in chart_specs(page)
        for p in repeated_ticks(spec)
    ]
    assert found == []


@pytest.mark.slow
@pytest.mark.parametrize("client", SAMPLE_CLIENTS)
def test_sample_pages_hold_no_impossible_value_nor_advice_beyond_the_list(sample_reports, client):
    assert _scan(sample_reports, client) == []
    for stem, page in _pages(sample_reports, client).items():
        assert "104 weeks of" in page, stem  # two years: Nov 2024 to Oct 2026
