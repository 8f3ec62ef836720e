"""A report page from an executed notebook: nbconvert's export with our `report` template (code
and prompts hidden, the Vega bundle loaded once in the head), then what only a reader needs:
developer noise dropped, a table of contents from the `##` headings, this machine's folders hidden.
"""

from __future__ import annotations

import functools
import html as html_text
import re
from pathlib import Path

from workbook.core import paths
from workbook.story import offline_charts

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
# Headings nbconvert writes for `##` Markdown: <h2 id="Some-title">Some title<a ...>¶</a></h2>
H2 = re.compile(r'<h2 id="([^"]+)"[^>]*>(.*?)</h2>', re.S)
TOC_MARK = "<!--WORKBOOK-TOC-->"


@functools.cache
def _exporter():
    """One HTMLExporter per process: code and prompts hidden, our `report` template."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="report",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


@functools.cache
def css() -> str:
    return (TEMPLATES / "report.css").read_text(encoding="utf-8")


PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"  # papermill's "An Exception was encountered"


def _for_readers(nb):
    """A copy without what only a developer needs: library warnings on stderr, papermill's
    error note (the page has its own banner), and the title cell's `# ` line when `nb.header`
    prints the title again with the client and date. Errors stay, where they happened."""
    import copy

    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if PAPERMILL_ERROR_TAG not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        if "outputs" in cell:
            cell.outputs = [
                o for o in cell.outputs if not (o.output_type == "stream" and o.get("name") == "stderr")
            ]
    header = next(
        (
            i
            for i, c in enumerate(nb.cells)
            for o in c.get("outputs", [])
            if str(o.get("data", {}).get("text/markdown", "")).startswith("# ")
        ),
        None,
    )
    title = next(
        (
            i
            for i, c in enumerate(nb.cells[: header or 0])
            if c.cell_type == "markdown" and any(ln.startswith("# ") for ln in c.source.splitlines())
        ),
        None,
    )
    if title is not None:  # the header says it with the client and date: keep the rest after it
        cell = nb.cells.pop(title)
        cell.source = "\n".join(ln for ln in cell.source.splitlines() if not ln.startswith("# "))
        if cell.source.strip():
            nb.cells.insert(header, cell)
    return nb


def export_html(nb, page: dict) -> str:
    resources = {
        "metadata": {"name": f"{page['title']} · {page['client']}"},
        "workbook": {**page, "css": css(), "vega_bundle": offline_charts.vega_bundle()},
    }
    body, _ = _exporter().from_notebook_node(_for_readers(nb), resources=resources)
    return scrub_paths(_with_toc(body))


def heading_ids(page: str) -> dict[str, str]:
    """The page's `##` headings as text -> id (the anchors a link to a section needs)."""
    return {_heading_text(inner): anchor for anchor, inner in H2.findall(page)}


def _heading_text(inner: str) -> str:
    return html_text.unescape(re.sub(r"<[^>]+>", "", inner).replace("¶", "")).strip()


def _with_toc(html: str) -> str:
    """Fill the template's table of contents with the page's `##` headings."""
    items = []
    for anchor, inner in H2.findall(html):
        text = re.sub(r"<[^>]+>", "", inner).replace("¶", "").strip()
        items.append(f'<li><a href="#{anchor}">{text}</a></li>')
    toc = f"<ol>{''.join(items)}</ol>" if items else ""
    return html.replace(TOC_MARK, toc, 1)


def scrub_paths(text: str) -> str:
    """Hide this machine's folders (they name the user) in tracebacks and messages."""
    for folder, label in sorted(
        [
            (str(paths.workbook_home()), "$WORKBOOK_HOME"),
            (str(paths.project_root()), "…"),
            (str(Path.home()), "~"),
        ],
        key=lambda p: -len(p[0]),
    ):
        if len(folder) > 1:
            text = re.sub(re.escape(folder) + r"(?=[/\\]|\b)", label, text)
    return text
