"""Index pages: each client's letter (`<out>/<client>/<as_of>/index.html`, and the facts it is
made of in `report.json`) and the batch's list of every client's latest report (`<out>/index.html`).

The letter (`story.letter` words) reads what the notebooks produced (findings with their facts
and the anchor of their evidence, goal statuses), the month's headline KPIs computed from the
report's snapshot (`month_kpis`), and the earlier reports kept beside it
(`<out>/<client>/<earlier as_of>/report.json`): it links to them and says what changed since the
newest one.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workbook import store
from workbook.analytics import metrics
from workbook.analytics.profiles import profile_for
from workbook.core import paths
from workbook.delivery.execute import NotebookResult, one_line
from workbook.delivery.html import TEMPLATES, css, scrub_paths
from workbook.store.clients import client_at
from workbook.story import letter

REPORT_JSON = "report.json"
DATE_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class ClientReport:
    client: str
    name: str
    as_of: str = ""  # folder name; empty when it could not be resolved
    folder: Path | None = None  # final <out>/<client>/<as_of>, once moved in place
    notebooks: list[NotebookResult] = field(default_factory=list)
    error: str = ""  # the client could not be rendered at all
    has_data: bool = True  # False: nothing imported yet, so the pages say so (never "complete")
    month: str = ""  # first day (ISO) of the month the letter's KPIs describe
    kpis: list[dict] = field(default_factory=list)  # story.letter.kpi_rows of that month
    kpi_error: str = ""  # why the month's KPIs could not be computed

    @property
    def ok(self) -> bool:
        return not self.error and all(n.ok for n in self.notebooks)

    @property
    def failures(self) -> list[str]:
        if self.error:
            return [self.error]
        return [f"{n.notebook}: {n.error}" for n in self.notebooks if not n.ok]

    @property
    def goals(self) -> list[dict]:
        """Goal findings (facts goal=..., status=...), the last word per goal."""
        return goals_of([f for n in self.notebooks for f in n.findings])


def long_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _as_of_words(iso: str) -> str:
    return long_date(dt.date.fromisoformat(iso)) if iso else ""


@functools.cache
def _pages():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )


status_tone = letter.status_tone
goal_label = letter.kpi_label


def next_step(report: ClientReport) -> str:
    """What to do for a client with nothing imported (empty otherwise)."""
    if report.has_data:
        return ""
    return (
        f"Nothing is imported for this client yet. Next step: import its exports with "
        f"'workbook import {report.client} FILE --source PRESET' ('workbook import --help' lists "
        "the presets), then run 'workbook report' again."
    )


def month_kpis(report: ClientReport, db_path: Path) -> None:
    """Fill in the report's month and its headline KPIs against last month and last year
    (`metrics.month_comparisons`), from the snapshot its notebooks read. A failure is kept as
    one line for the letter; it never stops the report."""
    if not report.has_data or not report.as_of:
        return
    try:
        handle = client_at(report.client, db_path)
        as_of = dt.date.fromisoformat(report.as_of)
        con = store.read(db_path=db_path)
        try:
            comparisons = metrics.month_comparisons(con, profile_for(handle.config.industry), as_of)
        finally:
            con.close()
    except Exception as err:
        report.kpi_error = one_line(err)
        return
    report.month = metrics.report_month(as_of).isoformat()
    report.kpis = letter.kpi_rows(comparisons, handle.config.currency)


def findings_of(notebooks: list[dict]) -> list[dict]:
    """Every finding of a report (notebooks as report.json keeps them), with its `notebook` and
    `href`: its page, at the section holding its evidence when known."""
    return [
        {
            **f,
            "notebook": n["notebook"],
            "href": f"{n['notebook']}.html" + (f"#{f['anchor']}" if f.get("anchor") else ""),
        }
        for n in notebooks
        for f in n["findings"]
    ]


def goals_of(findings: list[dict]) -> list[dict]:
    """Goal findings (facts goal=..., status=...), the last word per goal."""
    return list({f["goal"]: f for f in findings if f.get("goal")}.values())


def earlier_reports(client_folder: Path, as_of: str) -> list[tuple[str, dict]]:
    """(as_of, report.json facts) of the client's reports kept before `as_of`, newest first."""
    kept = [
        p
        for p in client_folder.iterdir()
        if DATE_FOLDER.match(p.name) and p.name < as_of and (p / REPORT_JSON).exists()
    ]
    return [
        (p.name, json.loads((p / REPORT_JSON).read_text(encoding="utf-8")))
        for p in sorted(kept, reverse=True)
    ]


@dataclass
class Letter:
    """What the client's index page says, in words (`story.letter`)."""

    month: str  # "October 2026"; empty without the month's KPIs
    verdict: str
    went_well: list[letter.Item]
    to_do: list[letter.Item]
    kpis: list[dict]
    kpi_note: str
    goals: list[dict]
    since: str  # the long date of the report compared with; empty for the first report
    changes: list[letter.Item]
    earlier: list[tuple[str, str]]  # (long date, link) of each earlier report, newest first


def letter_of(report: ClientReport, earlier: list[tuple[str, dict]]) -> Letter:
    """The letter of `report`, compared with the newest of the `earlier` reports (newest first)."""
    findings = findings_of([asdict(n) for n in report.notebooks])
    goals = goals_of(findings)
    well, todo = letter.went_well(findings, goals), letter.to_do(findings, goals)
    month = None  # the KPIs' month; without them (an error), the month `as_of` completes
    if report.month:
        month = dt.date.fromisoformat(report.month)
    elif report.as_of and report.has_data:
        month = metrics.report_month(dt.date.fromisoformat(report.as_of))
    changes: list[letter.Item] = []
    if earlier:
        before = findings_of(earlier[0][1].get("notebooks", []))
        changes = letter.changes(goals, findings, goals_of(before), before)
    return Letter(
        month=letter.month_words(month) if month else "",
        verdict=letter.verdict(month, report.kpis, goals, todo) if month else "",
        went_well=well,
        to_do=todo,
        kpis=report.kpis,
        kpi_note=letter.kpi_note(month) if month and report.kpis else "",
        goals=goals,
        since=_as_of_words(earlier[0][0]) if earlier else "",
        changes=changes,
        earlier=[(_as_of_words(day), f"../{day}/index.html") for day, _ in earlier],
    )


def write_client_index(report: ClientReport, folder: Path) -> None:
    """The letter as `folder/index.html`, and its facts as `folder/report.json`; earlier reports
    are read from `folder`'s siblings (`<out>/<client>/<as_of>/`)."""
    page = (
        _pages()
        .get_template("client_index.html.j2")
        .render(
            report=report,
            letter=letter_of(report, earlier_reports(folder.parent, report.as_of) if report.as_of else []),
            goal_line=letter.goal_line,
            next_step=next_step(report),
            css=css(),
            tone=status_tone,
            label=goal_label,
            as_of=_as_of_words(report.as_of),
            generated=long_date(dt.date.today()),
        )
    )
    (folder / "index.html").write_text(scrub_paths(page), encoding="utf-8")
    facts = {
        **asdict(report),
        "folder": None,
        "ok": report.ok,
        "notebooks": [{**asdict(n), "html": n.html, "ipynb": n.ipynb} for n in report.notebooks],
    }
    (folder / REPORT_JSON).write_text(json.dumps(facts, indent=1, default=str), encoding="utf-8")


def write_batch_index(out: Path, reports: list[ClientReport]) -> Path:
    """`<out>/index.html`: this batch's clients, plus the latest report of any other client."""
    rows = {r.client: _row(r) for r in reports}
    if out.exists():
        for folder in sorted(p for p in out.iterdir() if p.is_dir() and paths.SLUG.match(p.name)):
            if folder.name not in rows and (latest := _latest_report(folder)):
                rows[folder.name] = latest
    out.mkdir(parents=True, exist_ok=True)
    page = (
        _pages()
        .get_template("batch_index.html.j2")
        .render(
            rows=sorted(rows.values(), key=lambda r: r["name"].lower()),
            css=css(),
            label=goal_label,
            tone=status_tone,
            generated=long_date(dt.date.today()),
        )
    )
    index = out / "index.html"
    tmp = out / f".index-{uuid.uuid4().hex[:8]}.html"
    tmp.write_text(scrub_paths(page), encoding="utf-8")
    os.replace(tmp, index)
    return index


def _row(report: ClientReport) -> dict:
    return {
        "client": report.client,
        "name": report.name,
        "as_of": _as_of_words(report.as_of),
        "ok": report.ok,
        "failures": report.failures,
        "goals": report.goals,
        "href": f"{report.client}/{report.as_of}/index.html" if report.folder else "",
        "has_data": report.has_data,
        "next_step": next_step(report),
    }


def _latest_report(folder: Path) -> dict | None:
    """The row of a client's newest report on disk, from its report.json."""
    dated = sorted(p for p in folder.iterdir() if DATE_FOLDER.match(p.name) and (p / REPORT_JSON).exists())
    if not dated:
        return None
    facts = json.loads((dated[-1] / REPORT_JSON).read_text(encoding="utf-8"))
    notebooks = [
        NotebookResult(
            n["notebook"], n["title"], n["ok"], n["seconds"], n["error"], n["findings"], n["charts"]
        )
        for n in facts["notebooks"]
    ]
    return _row(
        ClientReport(
            facts["client"],
            facts["name"],
            facts["as_of"],
            dated[-1],
            notebooks,
            facts["error"],
            facts.get("has_data", True),  # reports written before it was recorded had data
        )
    )
