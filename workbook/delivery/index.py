"""Index pages: each client's headline (`<out>/<client>/<as_of>/index.html`, and the same facts
in `report.json`) and the batch's list of every client's latest report (`<out>/index.html`).
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

from workbook.core import paths
from workbook.delivery.execute import NotebookResult
from workbook.delivery.html import TEMPLATES, css, scrub_paths

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
        by_goal = {f["goal"]: f for n in self.notebooks for f in n.findings if f.get("goal")}
        return list(by_goal.values())


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


# Goal statuses of `goals.status`, and the colour a reader expects for each.
STATUS_TONES = {"on track": "good", "met": "good", "at risk": "warn", "off track": "bad", "missed": "bad"}


def status_tone(status: str) -> str:
    """CSS tone of a goal status: good, warn, bad, or neutral (undefined, not enough data)."""
    return STATUS_TONES.get(str(status).lower().replace("_", " ").strip(), "neutral")


def goal_label(metric: str) -> str:
    """A goal's KPI as the reader knows it ("Average order value" for "aov")."""
    from workbook.analytics import metrics

    kpi = metrics.KPIS.get(str(metric))
    return kpi.label if kpi else str(metric).replace("_", " ").capitalize()


def next_step(report: ClientReport) -> str:
    """What to do for a client with nothing imported (empty otherwise)."""
    if report.has_data:
        return ""
    return (
        f"Nothing is imported for this client yet. Next step: import its exports with "
        f"'workbook import {report.client} FILE --source PRESET' ('workbook import --help' lists "
        "the presets), then run 'workbook report' again."
    )


def write_client_index(report: ClientReport, folder: Path) -> None:
    page = (
        _pages()
        .get_template("client_index.html.j2")
        .render(
            report=report,
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
