"""Client data is hostile: a client whose display name, rollout and every text field that reaches a
page hold markup renders four reports that show that text literally and run none of it.

The client is the online-store sample with home-services' leads and services catalogue added, and
every text value a page shows rewritten with HOSTILE appended (the same suffix everywhere, so
values that matched still match and every analysis still has its data).
"""

from __future__ import annotations

import shutil
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest
import tomli_w

from workbook import store
from workbook.delivery import batch, index

pytestmark = pytest.mark.slow

HOSTILE = (
    " <img src=x onerror=alert(1)></script><script>alert(1)</script> **bold** [link](javascript:alert(1))"
)
NAME = "<script>alert(2)</script>Bean & Co"
# text columns whose values the notebooks put into sentences, tables and charts
TEXT_COLUMNS = {
    "customers": ["acquisition_channel", "region", "segment", "persona"],
    "orders": ["channel", "location"],
    "order_items": ["product", "category"],
    "campaigns": ["name"],
    "campaign_results": ["variant"],
    "campaign_sends": ["variant"],
    "touches": ["channel"],
    "spend": ["channel"],
    "web_sessions": ["channel", "source_medium"],
    "leads": ["source", "location", "service_requested"],
    "services": ["service"],
    "feedback": ["text"],
}


class Page(HTMLParser):
    """What a browser would build from a page: its elements, attributes, scripts and text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in.append(tag)

    def handle_endtag(self, tag):
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data):
        where = self._in[-1] if self._in else ""
        if where == "script":
            self.scripts.append(data)
        elif where != "style":
            self.text.append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


@pytest.fixture(scope="module")
def hostile_reports(sample_home, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    home, out = root / "clients", root / "reports"
    shutil.copytree(sample_home / "online-store", home / "hostile-shop")
    toml = home / "hostile-shop" / "client.toml"
    settings = tomllib.loads(toml.read_text(encoding="utf-8"))
    settings["display_name"] = NAME
    for rollout in settings["rollouts"]:
        rollout["name"] += HOSTILE
        rollout["treated"] = [value + HOSTILE for value in rollout["treated"]]
    toml.write_text(tomli_w.dumps(settings), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBOOK_HOME", str(home))
        with store.write("hostile-shop") as con:
            con.execute(f"ATTACH '{sample_home / 'home-services' / 'workbook.duckdb'}' AS other (READ_ONLY)")
            con.execute("INSERT INTO leads SELECT * FROM other.leads")
            con.execute("INSERT INTO services SELECT * FROM other.services")
            con.execute("DETACH other")
            for table, columns in TEXT_COLUMNS.items():
                sets = ", ".join(f"{c} = {c} || $hostile" for c in columns)
                con.execute(f"UPDATE {table} SET {sets}", {"hostile": HOSTILE})
        report = batch.render_client("hostile-shop", None, out)
        index.write_batch_index(out, [report])
    return report


def test_every_page_shows_hostile_text_literally_and_runs_none_of_it(hostile_reports):
    report = hostile_reports
    assert report.ok, report.failures
    pages = [*sorted(report.folder.glob("*.html")), report.folder.parents[1] / "index.html"]
    assert len(pages) == 6  # four reports, the client's index and the batch's
    for path in pages:
        page = parse(path)
        handlers = [(tag, a) for tag, attrs in page.tags for a in attrs if a.startswith("on")]
        assert handlers == [], path.name
        assert [t for t, attrs in page.tags if t == "img" and attrs.get("src") == "x"] == [], path.name
        links = [attrs.get("href") for t, attrs in page.tags if t == "a"]
        assert [h for h in links if h and h.strip().lower().startswith("javascript:")] == [], path.name
        assert [s for s in page.scripts if s.strip().startswith("alert(")] == [], path.name
        text = " ".join(" ".join(page.text).split())
        assert NAME in text, path.name
    shown = {path.stem: " ".join(" ".join(parse(path).text).split()) for path in pages}
    # a client string in a sentence (a service in 02, a rollout in 03) and in a table (a segment)
    assert f"Heat pump installation{HOSTILE}" in shown["02_improvement_delta"]
    assert f"Personalized recommendations{HOSTILE}" in shown["03_personalization_impact"]
    assert HOSTILE.strip() in shown["04_cohort_analysis"]
