"""The client's letter (delivery/index.py, story/letter.py, metrics.month_comparisons): its
verdict, its lists, its KPI month, its links to the evidence and to earlier reports, on
hand-made report data; the month's figures against an independent computation."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from html import unescape
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from scipy import stats

from workbook import store
from workbook.analytics import metrics
from workbook.analytics.metrics import MonthComparison, WindowValue
from workbook.delivery import execute, html
from workbook.delivery import index as index_pages
from workbook.delivery.execute import NotebookResult
from workbook.delivery.index import ClientReport
from workbook.story import goal_words, letter

AS_OF = "2026-10-31"
EARLIER = "2026-09-30"


def goal(metric: str, status: str, text: str, action: str = "") -> dict:
    return {"finding": text, "goal": metric, "status": status, "anchor": f"Goal-{metric}", "action": action}


def good(text: str, n: int) -> dict:
    return {"finding": text, "section": f"good {n}", "good": True, "anchor": "Good-news"}


def todo(text: str, n: int) -> dict:
    return {
        "finding": f"Finding behind {text}",
        "section": f"todo {n}",
        "action": text,
        "anchor": "What-next",
    }


def kpi_rows() -> list[dict]:
    revenue = metrics.get("revenue")
    month = dt.date(2026, 10, 1)
    return letter.kpi_rows(
        [
            MonthComparison(
                revenue,
                month,
                WindowValue(6000.0, 5500.0, 6500.0, 31),
                WindowValue(5000.0, 4600.0, 5400.0, 30),  # clearly below October
                WindowValue(5800.0, 5300.0, 6300.0, 31),  # within the ups and downs
            )
        ]
    )


def this_month() -> ClientReport:
    goals = [
        goal("revenue", "on track", "Revenue is on track."),
        goal(
            "aov", "off track", "Average order value is off track.", "Close the gap on average order value."
        ),
        goal("nps", "at risk", "NPS is at risk."),
    ]
    findings = [good(f"Good news {i}", i) for i in range(4)] + [todo(f"Do thing {i}", i) for i in range(4)]
    findings.append({"finding": "Nextdoor leads rose to 25%.", "dimension": "source", "value": "Nextdoor"})
    findings.append({"finding": "Retention is 30% after a month.", "section": "retention"})
    return ClientReport(
        "shop",
        "Shop <b>&amp; Co</b>",
        AS_OF,
        notebooks=[
            NotebookResult("02_improvement_delta", "Improvement delta", True, 1.0, findings=goals),
            NotebookResult("03_impact", "Impact", True, 1.0, findings=findings),
        ],
        month="2026-10-01",
        kpis=kpi_rows(),
    )


def earlier_facts() -> dict:
    """September's report.json: revenue at risk then, AOV the same, NPS not a goal yet, a goal
    since dropped, and the retention finding with other figures."""
    return {
        "client": "shop",
        "name": "Shop",
        "as_of": EARLIER,
        "notebooks": [
            {
                "notebook": "02_improvement_delta",
                "findings": [
                    goal("revenue", "at risk", "Revenue is at risk."),
                    goal("aov", "off track", "Average order value is off track."),
                    goal("leads", "on track", "Leads are on track."),
                ],
            },
            {
                "notebook": "03_impact",
                "findings": [{"finding": "Retention is 28% after a month.", "section": "retention"}],
            },
        ],
    }


@pytest.fixture
def written(tmp_path) -> tuple[Path, str]:
    client = tmp_path / "out" / "shop"
    (client / EARLIER).mkdir(parents=True)
    (client / EARLIER / index_pages.REPORT_JSON).write_text(json.dumps(earlier_facts()))
    folder = client / AS_OF
    folder.mkdir()
    index_pages.write_client_index(this_month(), folder)
    return folder, (folder / "index.html").read_text()


def section(page: str, anchor: str) -> str:
    return re.search(rf'id="{anchor}">(.*?)</(?:section|ul)>', page, re.S).group(1)


def items(block: str) -> list[str]:
    return [unescape(re.sub(r"<[^>]+>", "", li)).strip() for li in re.findall(r"<li>(.*?)</li>", block, re.S)]


def test_the_letter_opens_with_the_months_verdict(written):
    _, page = written
    content = page.split('<div class="wb-index">', 1)[1]
    # after the title and its date line, before the lists and anything else
    first = re.search(
        r"<(?:p|section|table|div)(?! class=\"wb-sub\")[^>]*>(.*?)</p>", content.split("</h1>", 1)[1], re.S
    )
    assert 'class="wb-verdict"' in first.group(0)
    # no clear change against October 2025 (like with like); one goal on track, one off track: mixed
    assert unescape(first.group(1)) == (
        "October 2026 was a mixed month. Revenue was $6,000, 20% more than in September and 3.4% more "
        "than in October 2025 (within the usual ups and downs). Goals on track or met: 1 of 3. "
        "First thing to do: Do thing 0"
    )


def test_each_list_holds_at_most_three_items_linking_to_their_evidence(written):
    _, page = written
    well, to_do = items(section(page, "went-well")), items(section(page, "to-do"))
    assert well == [f"Good news {i} See why →" for i in range(3)]
    assert to_do == [f"Do thing {i} See why →" for i in range(3)]
    for anchor in ("went-well", "to-do"):
        assert (
            re.findall(r'href="([^"]+)"', section(page, anchor)) == ["03_impact.html#Good-news"] * 3
            or anchor == "to-do"
        )
    assert re.findall(r'href="([^"]+)"', section(page, "to-do")) == ["03_impact.html#What-next"] * 3


@pytest.mark.parametrize(
    ("statuses", "mood"),
    [
        (["on track", "met"], "a good month"),
        (["off track", "at risk"], "a difficult month"),
        (["at risk"], "a steady month"),
    ],
)
def test_the_mood_of_the_month_weighs_better_against_worse(statuses, mood):
    goals = [goal(f"kpi{i}", s, "x") for i, s in enumerate(statuses)]
    rows = [{**kpi_rows()[0], "last_year": {**kpi_rows()[0]["last_year"], "tone": ""}}]
    assert letter.verdict(dt.date(2026, 10, 1), rows, goals, []).startswith(f"October 2026 was {mood}.")


def test_a_goal_card_states_its_chance_in_words():
    assert letter.goal_line({"chance": 0.47}) == "A 47% chance of reaching its target."
    assert letter.goal_line({"chance": None}) == letter.goal_line({}) == ""


def test_goals_fill_the_lists_when_findings_do_not():
    goals = [
        goal("nps", "at risk", "NPS is at risk."),
        goal("aov", "off track", "AOV is off track.", "Close the gap on AOV."),
        goal("revenue", "met", "Revenue met its target."),
        goal("leads", "undefined", "Leads is not a SMART goal yet."),
    ]
    for g in goals:
        g["href"] = f"02.html#{g['anchor']}"
    goals[2]["chance"] = 0.995
    assert letter.went_well([], goals) == [
        letter.Item("Revenue: met, over a 99% chance of reaching its target.", "02.html#Goal-revenue")
    ]
    # off track before at risk; a goal's own action before its verdict; an undefined goal is no task
    assert letter.to_do([], goals) == [
        letter.Item("Close the gap on AOV.", "02.html#Goal-aov"),
        letter.Item("Net Promoter Score: at risk.", "02.html#Goal-nps"),
    ]


def test_kpis_this_month_against_last_month_and_last_year(written):
    _, page = written
    table = re.search(r'<table class="wb-kpis">(.*?)</table>', page, re.S).group(1)
    cells = [
        unescape(re.sub(r"<[^>]+>|\s+", " ", c)).split() for c in re.findall(r"<td>(.*?)</td>", table, re.S)
    ]
    assert cells[0] == ["$6,000", "95%", "range", "$5,500", "to", "$6,500"]
    # +20% is beyond both months' ups and downs (z = 1000 / 295 = 3.4); +3% is not (z = 0.6)
    assert cells[1] == ["+20%", "better", "from", "$5,000"]
    assert cells[2] == ["+3.4%", "from", "$5,800"]


def test_what_changed_since_the_last_report_and_links_to_it(written):
    _, page = written
    since = re.search(r'id="since">(.*?)<h2', page, re.S).group(1)
    assert "Compared with the report of 30 September 2026." in since
    changes = items(since)
    assert "Revenue: at risk before, on track now. See →" in changes
    assert "New goal: Net Promoter Score, at risk. See →" in changes
    assert "No longer a goal: Leads." in changes
    assert not any("Average order value" in c for c in changes)  # same status: not a change
    assert "New: Nextdoor leads rose to 25%. See →" in changes
    assert not any("Retention" in c for c in changes)  # the same finding with new figures
    assert '<a href="../2026-09-30/index.html">30 September 2026</a>' in page


def test_the_first_report_says_so(tmp_path):
    folder = tmp_path / "shop" / AS_OF
    folder.mkdir(parents=True)
    index_pages.write_client_index(this_month(), folder)
    page = (folder / "index.html").read_text()
    assert "This is the first report kept for this client" in page and "Earlier letters" not in page


def test_client_strings_in_the_letter_are_escaped(tmp_path):
    report = this_month()
    hostile = '<script>alert("x")</script>'
    report.notebooks[1].findings[0]["finding"] = f"Segment {hostile} converts"
    report.notebooks[1].findings[4]["action"] = 'Consider offering <img src=x onerror="y">'
    folder = tmp_path / "shop" / AS_OF
    folder.mkdir(parents=True)
    index_pages.write_client_index(report, folder)
    page = (folder / "index.html").read_text()
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x" in page


def test_report_json_keeps_the_months_kpis(written):
    folder, _ = written
    facts = json.loads((folder / index_pages.REPORT_JSON).read_text())
    assert facts["month"] == "2026-10-01" and facts["kpis"][0]["now"]["value"] == "$6,000"


@pytest.mark.parametrize(
    ("as_of", "month"),
    [
        ("2026-10-31", "2026-10-01"),
        ("2026-10-30", "2026-09-01"),
        ("2026-01-15", "2025-12-01"),
        ("2024-02-29", "2024-02-01"),
    ],
)
def test_report_month_is_the_last_complete_calendar_month(as_of, month):
    assert metrics.report_month(dt.date.fromisoformat(as_of)) == dt.date.fromisoformat(month)


def test_month_figures_match_sums_by_hand(client, rw):
    """October's revenue total and AOV from daily rows, against pandas-free sums and scipy's t
    interval of the daily totals (times the 31 days); a month the data does not cover has none."""
    days = [dt.date(2026, 9, 1) + dt.timedelta(days=i) for i in range(61)]  # September and October
    rows = [
        (f"o{i}-{k}", f"c{i % 9}", f"{day} 10:00:00", 10.0 + (i * 7 + k * 3) % 13)
        for i, day in enumerate(days)
        for k in range(1 + i % 3)
    ]
    for order_id, customer, at, revenue in rows:
        rw.execute(
            "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES ($id, $c, $at::TIMESTAMP, $r)",
            {"id": order_id, "c": customer, "at": at, "r": revenue},
        )
    rw.close()
    october = [r for r in rows if r[2].startswith("2026-10")]
    daily = [sum(r[3] for r in october if r[2].startswith(f"2026-10-{d:02d}")) for d in range(1, 32)]
    con = store.read(client)
    try:
        total = metrics.month_value(con, metrics.get("revenue"), dt.date(2026, 10, 1))
        aov = metrics.month_value(con, metrics.get("aov"), dt.date(2026, 10, 1))
        august = metrics.month_value(con, metrics.get("revenue"), dt.date(2026, 8, 1))
    finally:
        con.close()
    low, high = stats.t.interval(0.95, 30, loc=sum(daily) / 31, scale=stats.sem(daily))
    assert total.value == pytest.approx(sum(daily), rel=1e-9)
    assert (total.low, total.high) == pytest.approx((low * 31, high * 31), rel=1e-9)
    assert aov.value == pytest.approx(sum(daily) / len(october), rel=1e-9)
    assert math.isnan(august.value)


def test_clear_change_is_a_two_sided_z_test_at_five_percent():
    """`clear` against scipy's normal test of the difference of two independent estimates."""
    kpi = metrics.get("revenue")
    for now, then, half in [(100.0, 90.0, 8.0), (100.0, 80.0, 8.0), (100.0, 85.0, 10.0), (50.0, 70.0, 5.0)]:
        row = MonthComparison(
            kpi,
            dt.date(2026, 10, 1),
            WindowValue(now, now - half, now + half, 31),
            WindowValue(then, then - half, then + half, 30),
            WindowValue(math.nan, None, None, 0),
        )
        se = half / stats.norm.ppf(0.975)
        p = 2 * stats.norm.sf(abs(now - then) / math.hypot(se, se))
        assert row.clear(row.previous) == (p < 0.05), (now, then, half, p)
        assert not row.clear(row.last_year)


def test_findings_carry_the_anchor_of_the_section_holding_their_evidence():
    nb = nbformat.v4.new_notebook()
    finding = nbformat.v4.new_output(
        "display_data",
        {"text/markdown": "> **Finding:** x"},
        metadata={"workbook": {"finding": "x", "good": True}},
    )
    heading = nbformat.v4.new_output("display_data", {"text/markdown": "## Goal: *more* sales"})
    nb.cells = [
        nbformat.v4.new_code_cell(
            "",
            outputs=[
                nbformat.v4.new_output(
                    "display_data", {"text/markdown": "before"}, metadata={"workbook": {"finding": "first"}}
                )
            ],
        ),
        nbformat.v4.new_markdown_cell("Intro\n\n## Where customers come from"),
        nbformat.v4.new_code_cell("", outputs=[finding]),
        nbformat.v4.new_code_cell("", outputs=[heading, finding]),
    ]
    page = html.export_html(nb, {"title": "T", "client": "C", "as_of": "x", "read_at": "y", "error": ""})
    anchors = html.heading_ids(page)
    found = execute._findings(nb, anchors)
    assert [f.get("anchor") for f in found] == ["", "Where-customers-come-from", anchors["Goal: more sales"]]
    assert all(f'id="{a}"' in page for a in anchors.values())


def test_a_failing_kpi_month_is_one_line_in_the_letter(client, home, tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("Binder Error: a query failed\nwith a second line")

    monkeypatch.setattr(metrics, "month_comparisons", broken)
    report = this_month()
    report.client, report.kpis, report.month = client, [], ""
    index_pages.month_kpis(report, home / client / "workbook.duckdb")
    assert report.kpi_error == "RuntimeError: Binder Error: a query failed"
    folder = tmp_path / client / AS_OF
    folder.mkdir(parents=True)
    index_pages.write_client_index(report, folder)
    page = (folder / "index.html").read_text()
    assert "could not be computed (RuntimeError: Binder Error: a query failed)" in page
    assert 'id="went-well"' in page and 'id="goals"' in page


# ----------------------------------------------------------------------------- the sample letters


def links_resolve(folder: Path, page: str) -> list[str]:
    """The links of a letter whose file or section id is missing (ids compared as the browser
    reads the attribute: entities decoded)."""
    broken = []
    for href in re.findall(r'href="([^"]+)"', page.split('<div class="wb-index">', 1)[1]):
        name, _, anchor = unescape(href).partition("#")
        target = (folder / name).resolve()
        if not target.exists() or (
            anchor and anchor not in {unescape(i) for i in re.findall(r'id="([^"]+)"', target.read_text())}
        ):
            broken.append(href)
    return broken


@pytest.mark.slow
def test_sample_letters(sample_reports):
    assert sample_reports.code == 0, sample_reports.log
    for client in ["coffee-shop", "online-store", "home-services"]:
        folder = sample_reports.out / client / sample_reports.as_of
        page = (folder / "index.html").read_text()
        verdict = unescape(re.search(r'<p class="wb-verdict" id="verdict">(.*?)</p>', page, re.S).group(1))
        assert verdict.startswith("October 2026 was a "), client
        assert page.index('class="wb-verdict"') < page.index('id="went-well"') < page.index('id="figures"'), (
            client
        )
        for anchor in ("went-well", "to-do"):
            assert 1 <= len(items(section(page, anchor))) <= letter.LIST_ITEMS or anchor == "went-well", (
                client
            )
            assert all("#" in h for h in re.findall(r'href="([^"]+)"', section(page, anchor))), client
        assert links_resolve(folder, page) == [], client
        assert "This is the first report kept for this client" in page, client
        facts = json.loads((folder / index_pages.REPORT_JSON).read_text())
        assert facts["month"] == "2026-10-01" and facts["kpis"][0]["kpi"] == "revenue", client
        # October's revenue from its days (the letter) against the month bucket of the same KPI
        con = store.read(db_path=sample_reports.home / client / "workbook.duckdb")
        try:
            month = metrics.series(
                con, "revenue", "month", as_of=dt.date(2026, 10, 31), since=dt.date(2026, 10, 1)
            )
        finally:
            con.close()
        october = month[month["period"] == pd.Timestamp("2026-10-01")]["value"].item()
        assert facts["kpis"][0]["now"]["value"] == goal_words.format_value(metrics.get("revenue"), october), (
            client
        )
    online = (sample_reports.out / "online-store" / sample_reports.as_of / "index.html").read_text()
    assert any(
        i.startswith("Keep personalizing emails") for i in items(section(online, "to-do"))
    )  # planted lift
    homes = (sample_reports.out / "home-services" / sample_reports.as_of / "index.html").read_text()
    assert items(section(homes, "to-do"))[0].startswith("Consider offering Heat pump installation")


@pytest.mark.slow
def test_a_sample_letter_says_what_changed_since_an_earlier_report(sample_reports, tmp_path):
    """The online store's report as if September's had had its revenue goal off track and no
    share-shift findings."""
    facts = json.loads(
        (sample_reports.out / "online-store" / sample_reports.as_of / index_pages.REPORT_JSON).read_text()
    )
    earlier = json.loads(json.dumps(facts))
    for n in earlier["notebooks"]:
        n["findings"] = [f for f in n["findings"] if not f.get("dimension")]
        for f in n["findings"]:
            if f.get("goal") == "revenue":
                f["status"] = "off track"
    out = tmp_path / "online-store"
    (out / EARLIER).mkdir(parents=True)
    (out / EARLIER / index_pages.REPORT_JSON).write_text(json.dumps(earlier))
    folder = out / sample_reports.as_of
    folder.mkdir()
    fields = ("notebook", "title", "ok", "seconds", "error", "findings", "charts")
    report = ClientReport(
        facts["client"],
        facts["name"],
        facts["as_of"],
        notebooks=[NotebookResult(*(n[k] for k in fields)) for n in facts["notebooks"]],
        month=facts["month"],
        kpis=facts["kpis"],
    )
    index_pages.write_client_index(report, folder)
    since = re.search(r'id="since">(.*?)<h2', (folder / "index.html").read_text(), re.S).group(1)
    revenue = next(f for n in facts["notebooks"] for f in n["findings"] if f.get("goal") == "revenue")
    shifts = [f for n in facts["notebooks"] for f in n["findings"] if f.get("dimension")]
    changes = items(since)
    assert (
        f"Revenue: off track before, {revenue['status']} now. See →" in changes
        or revenue["status"] == "off track"
    )
    assert shifts and all(f"New: {f['finding']} See →" in changes for f in shifts)
    assert len(changes) == len(shifts) + (revenue["status"] != "off track")
