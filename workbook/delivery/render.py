"""Client reports: run the notebooks with papermill and export self-contained, offline HTML.

    render_client("online-store", None, Path("reports"))   # one client, all its notebooks
    run_batch(["coffee-shop", "online-store"], None, jobs=2, out_dir=Path("reports"))

`render_client` is a plain function of (client, as_of, output folder): it reads the client's
database read-only, runs every notebook in its own kernel, and writes
`<out>/<client>/<as_of>/` (one HTML and one executed .ipynb per notebook, `index.html` with the
client's headline, `report.json` with the same facts) into a temporary folder that is moved
into place only when complete. A notebook that fails is kept, with its error, and marked
failed; the others still run. `run_batch` spreads the (client, notebook) pairs over worker
processes, prints progress lines and a summary, and writes `<out>/index.html` listing every
client's latest report.

Charts draw offline: see `offline_charts` (the kernel gets WORKBOOK_RENDER=offline; the page
loads the Vega bundle once through the `report` nbconvert template in templates/).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workbook import store
from workbook.core import paths
from workbook.core.errors import WorkbookError
from workbook.store.clients import load_client
from workbook.story import offline_charts

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
REPORT_JSON = "report.json"
DATE_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Headings nbconvert writes for `##` Markdown: <h2 id="Some-title">Some title<a ...>¶</a></h2>
H2 = re.compile(r'<h2 id="([^"]+)"[^>]*>(.*?)</h2>', re.S)
TOC_MARK = "<!--WORKBOOK-TOC-->"

Progress = Callable[[str, str, str, str], None]  # (client, notebook, state, detail)


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


@dataclass
class ClientReport:
    client: str
    name: str
    as_of: str = ""  # folder name; empty when it could not be resolved
    folder: Path | None = None  # final <out>/<client>/<as_of>, once moved in place
    notebooks: list[NotebookResult] = field(default_factory=list)
    error: str = ""  # the client could not be rendered at all

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


@dataclass
class Batch:
    reports: list[ClientReport]
    index: Path
    seconds: float

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.reports)


# ---------------------------------------------------------------------------------- one client


def render_client(
    client: str,
    as_of: dt.date | None,
    out_dir: Path,
    *,
    notebooks_dir: Path | None = None,
    progress: Progress | None = None,
) -> ClientReport:
    """Render every notebook of `notebooks_dir` (default notebooks/) for one client.

    Never raises for a failing notebook or an unreadable database: the returned report says
    what failed. The client's folder is replaced as a whole, or not at all.
    """
    return render_notebooks(client, as_of, out_dir, _notebooks(notebooks_dir), progress)


def _notebooks(folder: Path | None) -> list[Path]:
    return sorted(Path(folder or paths.notebooks_dir()).glob("*.ipynb"))


def render_notebooks(
    client: str,
    as_of: dt.date | None,
    out_dir: Path,
    notebooks: list[Path],
    progress: Progress | None = None,
) -> ClientReport:
    """`render_client` for an explicit list of notebooks (a batch lists them once for all)."""
    tell = progress or _silent
    job = _start(client, as_of, out_dir, tell)
    if job.tmp is None:
        return job.report
    try:
        for notebook in notebooks:
            job.report.notebooks.append(
                _notebook_job(client, notebook, job.tmp, job.parameters, job.env, job.page, tell)
            )
        return _finish(job)
    finally:
        shutil.rmtree(job.tmp, ignore_errors=True)


def _silent(*_event: str) -> None:
    pass


@dataclass
class _Job:
    """One client's render in progress: its files go to `tmp` until all are written."""

    report: ClientReport
    tmp: Path | None = None  # None: the client failed before anything ran
    final: Path | None = None
    parameters: dict = field(default_factory=dict)
    env: tuple = ()
    page: dict = field(default_factory=dict)


def _start(client: str, as_of: dt.date | None, out_dir: Path, tell: Progress) -> _Job:
    """Resolve the client (its folder and name) and the report's date (its database read-only),
    once for all its notebooks, and make its temp folder."""
    try:
        handle = load_client(client)
    except WorkbookError as err:
        report = ClientReport(client, client, error=str(err))
        tell(client, "", "failed", report.error)
        return _Job(report)
    report = ClientReport(client, handle.name)
    try:
        day = as_of or _default_as_of(handle.db_path)
    except Exception as err:  # a broken or locked file: say so, render nothing for this client
        report.error = f"the database could not be opened: {_one_line(err)}"
        tell(client, "", "failed", report.error)
        return _Job(report)
    report.as_of = day.isoformat()
    client_out = Path(out_dir) / client
    tmp = client_out / f".tmp-{report.as_of}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    return _Job(
        report,
        tmp,
        client_out / report.as_of,
        parameters={"client": client, "db_path": None, "as_of": report.as_of},
        env=(
            ("WORKBOOK_HOME", str(paths.workbook_home())),
            (offline_charts.RENDER_ENV, offline_charts.OFFLINE),
        ),
        page={"client": report.name, "as_of": _long_date(day)},
    )


def _notebook_job(
    client: str, notebook: Path, tmp: Path, parameters: dict, env: tuple, page: dict, tell: Progress
) -> NotebookResult:
    tell(client, notebook.stem, "running", "")
    result = _run_notebook(notebook, tmp, parameters, env, page)
    tell(
        client,
        notebook.stem,
        "ok" if result.ok else "failed",
        f"{result.seconds:.1f} s" if result.ok else result.error,
    )
    return result


def _finish(job: _Job) -> ClientReport:
    """Write the client's index and move its folder into place."""
    _write_client_index(job.report, job.tmp)
    _move_into_place(job.tmp, job.final)
    job.report.folder = job.final
    return job.report


def _long_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _as_of_words(iso: str) -> str:
    return _long_date(dt.date.fromisoformat(iso)) if iso else ""


def _default_as_of(db: Path) -> dt.date:
    con = store.read(db_path=db)
    try:
        return store.default_as_of(con)
    finally:
        con.close()


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".strip()


def _run_notebook(notebook: Path, folder: Path, parameters: dict, env: tuple, page: dict) -> NotebookResult:
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
    result = NotebookResult(notebook.stem, title, not error, seconds, error, _findings(nb), _charts(nb))
    html = _export_html(nb, {**page, "title": title, "error": error})
    (folder / result.html).write_text(html, encoding="utf-8")
    return result


def _cell_error(err: Exception) -> str:
    """ "ValueError: message" for a cell failure; the exception itself for anything else."""
    ename, evalue = getattr(err, "ename", None), str(getattr(err, "evalue", "")).strip()
    if ename:
        return f"{ename}: {evalue.splitlines()[0] if evalue else ''}".strip()
    return _one_line(err)


@functools.cache
def _kernel_manager_with(env: tuple[tuple[str, str], ...]):
    """A kernel manager class whose kernels get `env` (name, value pairs) on top of ours."""
    from jupyter_client.manager import AsyncKernelManager

    extra = dict(env)

    class RenderKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):
            kw["env"] = {**os.environ, **kw.get("env", {}), **extra}
            # the kernel process's own log lines (transport warnings) would garble progress
            kw.setdefault("stdout", subprocess.DEVNULL)
            kw.setdefault("stderr", subprocess.DEVNULL)
            return await super().start_kernel(**kw)

    return RenderKernelManager


def _scrub_metadata(nb, name: str) -> None:
    """Papermill records absolute input/output paths; keep only the notebook's name."""
    meta = nb.metadata.get("papermill", {})
    meta["input_path"] = name
    meta["output_path"] = name


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


def _findings(nb) -> list[dict]:
    """What `nb.finding` tagged: {"finding": text, **facts} per finding, in notebook order."""
    return [
        dict(out["metadata"]["workbook"])
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if isinstance(out.get("metadata", {}).get("workbook"), dict)
        and "finding" in out["metadata"]["workbook"]
    ]


def _charts(nb) -> int:
    """Altair chart outputs, whichever renderer made them (the browser test compares)."""
    return sum(
        "vegaEmbed(" in str(out.get("data", {}).get("text/html", ""))
        or any(k.startswith("application/vnd.vegalite") for k in out.get("data", {}))
        for cell in nb.cells
        for out in cell.get("outputs", [])
    )


# ---------------------------------------------------------------------------------- HTML pages


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
def _css() -> str:
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


def _export_html(nb, page: dict) -> str:
    resources = {
        "metadata": {"name": f"{page['title']} · {page['client']}"},
        "workbook": {**page, "css": _css(), "vega_bundle": offline_charts.vega_bundle()},
    }
    body, _ = _exporter().from_notebook_node(_for_readers(nb), resources=resources)
    return _scrub_paths(_with_toc(body))


def _with_toc(html: str) -> str:
    """Fill the template's table of contents with the page's `##` headings."""
    items = []
    for anchor, inner in H2.findall(html):
        text = re.sub(r"<[^>]+>", "", inner).replace("¶", "").strip()
        items.append(f'<li><a href="#{anchor}">{text}</a></li>')
    toc = f"<ol>{''.join(items)}</ol>" if items else ""
    return html.replace(TOC_MARK, toc, 1)


def _scrub_paths(text: str) -> str:
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


def _write_client_index(report: ClientReport, folder: Path) -> None:
    page = (
        _pages()
        .get_template("client_index.html.j2")
        .render(
            report=report,
            css=_css(),
            tone=status_tone,
            label=goal_label,
            as_of=_as_of_words(report.as_of),
            generated=_long_date(dt.date.today()),
        )
    )
    (folder / "index.html").write_text(_scrub_paths(page), encoding="utf-8")
    facts = {
        **asdict(report),
        "folder": None,
        "ok": report.ok,
        "notebooks": [{**asdict(n), "html": n.html, "ipynb": n.ipynb} for n in report.notebooks],
    }
    (folder / REPORT_JSON).write_text(json.dumps(facts, indent=1, default=str), encoding="utf-8")


def _move_into_place(tmp: Path, final: Path) -> None:
    """Swap the finished folder in: readers see the old report or the new one, never a mix."""
    old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------------------------- the batch


def run_batch(
    clients: list[str],
    as_of: dt.date | None = None,
    jobs: int | None = None,
    out_dir: Path | None = None,
    *,
    notebooks_dir: Path | None = None,
    echo: Callable[[str], None] | None = None,
) -> Batch:
    """Render `clients` with up to `jobs` worker processes; write the batch index.

    Progress lines and the summary go to `echo` (default: stderr). Workers take notebooks (not
    whole clients) from one queue in client order, so a few clients still keep every worker
    busy; each worker process keeps its loaded libraries, HTML exporter and Vega bundle. A
    client's folder moves into place when its last notebook is done. A client that fails never
    stops the others. `as_of` None: each client's own default (`store.default_as_of`).
    """
    out = Path(out_dir or paths.reports_dir())
    echo = echo or _stderr
    notebooks = _notebooks(notebooks_dir)  # listed once, so every client gets the same set
    count = len(notebooks)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(clients) * max(count, 1)))
    start = time.perf_counter()
    echo(f"Rendering {len(clients)} client(s) x {count} notebook(s), {jobs} in parallel, into {out}")
    lines = _ProgressLines(len(clients), count, echo)
    if jobs == 1:
        reports = [_safe_render(c, as_of, out, notebooks, lines) for c in clients]
    else:
        reports = _render_in_processes(clients, as_of, out, notebooks, jobs, lines)
    index = write_batch_index(out, reports)
    batch = Batch(reports, index, time.perf_counter() - start)
    for line in summary(batch):
        echo(line)
    return batch


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _ProgressLines:
    """Turns (client, notebook, state, detail) events into numbered lines."""

    def __init__(self, clients: int, notebooks: int, echo: Callable[[str], None]):
        self.per_client, self.total, self.done, self.echo = notebooks, clients * notebooks, 0, echo
        self.width = len(str(self.total))

    def __call__(self, client: str, notebook: str, state: str, detail: str) -> None:
        if state == "running":
            self.echo(f"  {' ' * (2 * self.width + 3)}{client:<16} {notebook:<28} running")
            return
        # a client that failed as a whole counts all its notebooks as done
        self.done = min(self.total, self.done + (1 if notebook else self.per_client))
        count = f"[{self.done:>{self.width}}/{self.total}]"
        self.echo(f"  {count} {client:<16} {notebook or '(client)':<28} {state:<6} {detail}")


def _stopped(client: str, err: Exception, progress: Progress) -> ClientReport:
    """The report of a client whose rendering broke off on an unexpected error."""
    progress(client, "", "failed", _one_line(err))
    return ClientReport(client, client, error=f"rendering stopped: {_one_line(err)}")


def _safe_render(client: str, as_of, out: Path, notebooks: list[Path], progress: Progress) -> ClientReport:
    try:
        return render_notebooks(client, as_of, out, notebooks, progress)
    except Exception as err:
        return _stopped(client, err, progress)


def _safe_start(client: str, as_of, out: Path, progress: Progress) -> _Job:
    try:
        return _start(client, as_of, out, progress)
    except Exception as err:
        return _Job(_stopped(client, err, progress))


_worker_queue = None  # set in each worker process by _init_worker; carries progress events


def _init_worker(queue) -> None:
    global _worker_queue
    _worker_queue = queue


def _queue_progress(*event: str) -> None:
    _worker_queue.put(event)


def _worker_notebook(
    client: str, notebook: Path, tmp: Path, parameters: dict, env: tuple, page: dict
) -> NotebookResult:
    return _notebook_job(client, notebook, tmp, parameters, env, page, _queue_progress)


def _render_in_processes(clients, as_of, out, notebooks, jobs, progress) -> list[ClientReport]:
    """Every (client, notebook) pair on a pool of `jobs` processes; finish each client in turn."""
    from workbook.story.nb import THREADS_ENV

    started = {c: _safe_start(c, as_of, out, progress) for c in clients}  # reads, before forking
    running = {c: job for c, job in started.items() if job.tmp is not None}
    results: dict[str, list] = {c: [None] * len(notebooks) for c in running}
    try:
        for client in [c for c in running if not notebooks]:
            _finish(running[client])
        context = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
        queue = context.Queue()
        with concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_init_worker, initargs=(queue,)
        ) as pool:
            # kernels running side by side share the cores instead of each taking them all
            # (DuckDB's threads, and OpenBLAS's, which would otherwise wait on each other)
            share = str(max(1, (os.cpu_count() or 1) // jobs))
            threads = ((THREADS_ENV, share), ("OPENBLAS_NUM_THREADS", share))
            futures = {
                pool.submit(_worker_notebook, c, nb, job.tmp, job.parameters, job.env + threads, job.page): (
                    c,
                    i,
                )
                for c, job in running.items()
                for i, nb in enumerate(notebooks)
            }
            printer = threading.Thread(target=_drain, args=(queue, progress), daemon=True)
            printer.start()
            for future in concurrent.futures.as_completed(futures):
                client, i = futures[future]
                job = running[client]
                try:
                    results[client][i] = future.result()
                except Exception as err:  # the worker process died (e.g. out of memory)
                    job.report.error = f"rendering stopped: {_one_line(err)}"
                if job.report.error or any(r is None for r in results[client]):
                    continue
                job.report.notebooks = results[client]
                try:
                    _finish(job)
                except Exception as err:
                    job.report.error = f"rendering stopped: {_one_line(err)}"
            queue.put(None)
            printer.join()
    finally:
        for job in running.values():
            shutil.rmtree(job.tmp, ignore_errors=True)
    return [started[c].report for c in clients]


def _drain(queue, progress: Progress) -> None:
    while (event := queue.get()) is not None:
        progress(*event)


def summary(batch: Batch) -> list[str]:
    """The closing lines: one per client, failures named, and where the index is."""
    notebooks = sum(len(r.notebooks) for r in batch.reports)
    failed = sum(not n.ok for r in batch.reports for n in r.notebooks) + sum(
        bool(r.error) for r in batch.reports
    )
    lines = [
        f"Done in {batch.seconds:.1f} s: {len(batch.reports)} client(s), {notebooks} "
        f"notebook(s), {failed} failure(s)."
    ]
    for r in batch.reports:
        where = f"{r.folder / 'index.html'}" if r.folder else ""
        lines.append(f"  {r.client:<16} {'ok' if r.ok else 'FAILED':<7} {where}")
        lines += [f"      {problem}" for problem in r.failures]
    lines.append(f"Batch index: {batch.index}")
    return lines


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
            css=_css(),
            label=goal_label,
            tone=status_tone,
            generated=_long_date(dt.date.today()),
        )
    )
    index = out / "index.html"
    tmp = out / f".index-{uuid.uuid4().hex[:8]}.html"
    tmp.write_text(_scrub_paths(page), encoding="utf-8")
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
        ClientReport(facts["client"], facts["name"], facts["as_of"], dated[-1], notebooks, facts["error"])
    )
