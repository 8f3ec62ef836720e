"""Running one notebook for a report, as papermill's own execute reads: load, parameterize,
execute, keep the error, write. The kernel gets the renderer's environment on top of ours;
the executed notebook is kept (error included), the facts a report needs (title, findings,
charts) are read back from it, and its HTML page is written beside it (`html`).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from workbook.delivery import html


@dataclass
class NotebookResult:
    notebook: str  # file stem, e.g. "02_improvement_delta"
    title: str
    ok: bool
    seconds: float
    error: str = ""  # "ErrorName: message" of the first failing cell
    findings: list[dict] = field(default_factory=list)
    charts: int = 0  # chart outputs in the executed notebook

    @property
    def html(self) -> str:
        return f"{self.notebook}.html"

    @property
    def ipynb(self) -> str:
        return f"{self.notebook}.ipynb"


def one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".strip()


def run_notebook(notebook: Path, folder: Path, parameters: dict, env: tuple, page: dict) -> NotebookResult:
    """Execute one notebook into `folder` and export its HTML beside it."""
    import nbformat
    import papermill

    out = folder / f"{notebook.stem}.ipynb"
    start = time.perf_counter()
    error = ""
    try:
        papermill.execute_notebook(
            str(notebook),
            str(out),
            parameters=parameters,
            progress_bar=False,
            request_save_on_cell_execute=False,
            cwd=str(notebook.parent),
            kernel_manager_class=_kernel_manager_with(env),
        )
    except Exception as err:  # the executed notebook, error included, is kept when it exists
        error = _cell_error(err)
    seconds = time.perf_counter() - start
    if not out.exists():  # papermill failed before running anything: keep the source as is
        shutil.copyfile(notebook, out)
    nb = nbformat.read(out, as_version=4)
    _scrub_metadata(nb, notebook.name)
    nbformat.write(nb, out)
    title = _title(nb) or notebook.stem.split("_", 1)[-1].replace("_", " ").capitalize()
    page_html = html.export_html(nb, {**page, "title": title, "error": error})
    findings = _findings(nb, html.heading_ids(page_html))
    result = NotebookResult(notebook.stem, title, not error, seconds, error, findings, _charts(nb))
    (folder / result.html).write_text(page_html, encoding="utf-8")
    return result


def _cell_error(err: Exception) -> str:
    """ "ValueError: message" for a cell failure; the exception itself for anything else."""
    ename, evalue = getattr(err, "ename", None), str(getattr(err, "evalue", "")).strip()
    if ename:
        return f"{ename}: {evalue.splitlines()[0] if evalue else ''}".strip()
    return one_line(err)


@functools.cache
def _kernel_manager_with(env: tuple[tuple[str, str], ...]):
    """A kernel manager class whose kernels get `env` (name, value pairs) on top of ours."""
    from jupyter_client.manager import AsyncKernelManager

    extra = dict(env)

    class RenderKernelManager(AsyncKernelManager):
        # jupyter_client assigns the coroutine over KernelManager's synchronous start_kernel (with
        # its own type: ignore), so mypy checks this override against the synchronous signature
        async def start_kernel(self, **kw):  # type: ignore[override]
            kw["env"] = {**os.environ, **kw.get("env", {}), **extra}
            # the kernel process's own log lines (transport warnings) would garble progress
            kw.setdefault("stdout", subprocess.DEVNULL)
            kw.setdefault("stderr", subprocess.DEVNULL)
            return await super().start_kernel(**kw)

    return RenderKernelManager


def _scrub_metadata(nb, name: str) -> None:
    """Papermill records absolute input/output paths; keep only the notebook's name. The
    parameters it records and injects (a report's `db_path` names its snapshot's folder) keep
    this machine's folders hidden (`html.scrub_paths`)."""
    meta = nb.metadata.get("papermill", {})
    meta["input_path"] = name
    meta["output_path"] = name
    for key, value in meta.get("parameters", {}).items():
        if isinstance(value, str):
            meta["parameters"][key] = html.scrub_paths(value)
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.source = html.scrub_paths(cell.source)


def _title(nb) -> str:
    """The notebook's first `# ` heading, in a Markdown cell or a Markdown output."""
    texts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            texts.append(cell.source)
        for out in cell.get("outputs", []):
            texts.append(str(out.get("data", {}).get("text/markdown", "")))
    for text in texts:
        for line in text.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return ""


def _findings(nb, anchors: dict[str, str]) -> list[dict]:
    """What `nb.finding` tagged: {"finding": text, **facts} per finding, in notebook order, with
    `anchor`: the page id of the `##` section it sits in (`anchors`: heading text -> id), so the
    index links to its evidence ("" before the first section)."""
    found, heading = [], ""

    def last_heading(markdown: str, current: str) -> str:
        return next(
            (_plain(ln[3:]) for ln in reversed(markdown.splitlines()) if ln.startswith("## ")), current
        )

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heading = last_heading(cell.source, heading)
        for out in cell.get("outputs", []):
            facts = out.get("metadata", {}).get("workbook")
            if isinstance(facts, dict) and "finding" in facts:
                found.append({**facts, "anchor": anchors.get(heading, "")})
            heading = last_heading(str(out.get("data", {}).get("text/markdown", "")), heading)
    return found


def _plain(markdown: str) -> str:
    """A Markdown heading's text as the page shows it (emphasis and code marks dropped)."""
    import html as html_text

    return html_text.unescape(markdown.replace("*", "").replace("`", "")).strip()


def _charts(nb) -> int:
    """Altair chart outputs, whichever renderer made them (the browser test compares)."""
    return sum(
        "vegaEmbed(" in str(out.get("data", {}).get("text/html", ""))
        or any(k.startswith("application/vnd.vegalite") for k in out.get("data", {}))
        for cell in nb.cells
        for out in cell.get("outputs", [])
    )
