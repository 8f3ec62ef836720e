"""What notebooks 01 and 02 say for the samples (test_notebooks checks they run for every client)."""

from __future__ import annotations

import datetime as dt

import papermill
import pytest
from render_fixtures import executed_notebook, findings_of

from workbook import store
from workbook.analytics import goal_book, goals
from workbook.analytics.goals import Goal
from workbook.core import paths


def _run(notebook: str, client: str, tmp_path) -> list[dict]:
    """Execute a notebook; return the `nb.finding` facts it emitted."""
    executed = papermill.execute_notebook(
        str(paths.notebooks_dir() / notebook),
        str(tmp_path / notebook),
        parameters={"client": client},
        progress_bar=False,
    )
    outputs = [o for cell in executed.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    return [o["metadata"]["workbook"] for o in outputs if "workbook" in o.get("metadata", {})]


@pytest.mark.slow
def test_improvement_delta_names_the_planted_effects(sample_reports):
    found = findings_of(executed_notebook(sample_reports, "home-services", "02_improvement_delta"))
    rising = {(f["dimension"], f["value"]) for f in found if f.get("trend") == "rising"}
    assert rising == {("lead_source", "Nextdoor"), ("lead_town", "Riverton")}
    (unmet,) = [f for f in found if "unmet_service" in f]
    assert unmet["unmet_service"] == "Heat pump installation"
    assert "Heat pump installation" in unmet["finding"] and "EV charger installation" in unmet["finding"]
    # no stored goals: one card per suggested goal, each with its status for the report index
    cards = [f for f in found if "goal" in f]
    assert [f["goal"] for f in cards] == [
        "revenue",
        "lead_conversion_rate",
        "leads",
        "avg_rating",
    ]  # its profile
    assert all(f["status"] in goals.STATUSES for f in cards)


@pytest.mark.slow
def test_improvement_delta_tracks_stored_goals(samples, tmp_path, monkeypatch):
    # a copy of the sample, so the shared sample stays without goals
    home = tmp_path / "home"
    (home / "coffee-shop").mkdir(parents=True)
    for f in (samples / "coffee-shop").iterdir():
        if f.is_file():
            (home / "coffee-shop" / f.name).write_bytes(f.read_bytes())
    monkeypatch.setenv("WORKBOOK_HOME", str(home))
    goal_book.save_goal(
        paths.db_path("coffee-shop"),
        Goal("avg_rating", "increase", target_value=4.8, deadline=dt.date(2027, 3, 31)),
        dt.date(2026, 10, 31),  # the sample's last day: the baseline the report uses too
    )
    with store.write("coffee-shop") as con:  # a vague goal typed in by hand: no target, no deadline
        con.execute("INSERT INTO goals (metric, direction) VALUES ('orders', 'increase')")
    found = _run("02_improvement_delta.ipynb", "coffee-shop", tmp_path)
    cards = {f["goal"]: f for f in found if "goal" in f}
    assert list(cards) == ["avg_rating", "orders"]
    assert cards["orders"]["status"] == "undefined" and "SMART" in cards["orders"]["finding"]
    con = store.read("coffee-shop")
    assert len(goal_book.load_goals(con)) == 2  # the report run wrote nothing
    con.close()


@pytest.mark.slow
def test_onboarding_suggests_goals(sample_reports):
    found = findings_of(executed_notebook(sample_reports, "online-store", "01_onboarding"))
    assert any("SMART goals suggested" in f["finding"] for f in found)


@pytest.mark.slow
@pytest.mark.parametrize(
    "client, expected",
    [
        # the shop sells whole beans: the page says so rather than calling them missing
        ("coffee-shop", {("asked_for", "beans by the bag"), ("sold_like", "Whole Bean 12oz")}),
        ("online-store", {("web_channel", "Referral", "falling")}),
        ("home-services", {("lead_source", "Nextdoor", "rising"), ("asked_for", "heat pump")}),
    ],
)
def test_every_sample_gets_alignment_findings(sample_reports, client, expected):
    """Issue 13: the online store and the coffee shop got 'no leads imported'; every sample now
    has alignment findings on page 02."""
    found = findings_of(executed_notebook(sample_reports, client, "02_improvement_delta"))
    facts = {(f["dimension"], f["value"], f["trend"]) for f in found if "dimension" in f}
    facts |= {("asked_for", f["asked_for"]) for f in found if "asked_for" in f}
    facts |= {("sold_like", f["sold_like"]) for f in found if f.get("sold_like")}
    assert expected <= facts


@pytest.mark.slow
def test_the_lead_source_chart_draws_the_rising_source(sample_reports):
    """Nextdoor, the page's own finding, was folded into 'other' by the top-6 rule."""
    book = executed_notebook(sample_reports, "home-services", "02_improvement_delta")
    outputs = [o for cell in book.cells for o in cell.get("outputs", [])]
    heading = next(i for i, o in enumerate(outputs) if "### By lead source" in str(o.get("data", {})))
    chart = str(outputs[heading + 1].get("data", {}))
    assert "Nextdoor" in chart and "Google Search" in chart
