"""Client reports: every notebook of a client run with papermill into offline HTML, for many
clients at once.

    render_client("online-store", None, Path("reports"))   # one client, all its notebooks
    run_batch(["coffee-shop", "online-store"], None, jobs=2, out_dir=Path("reports"))

`render_client` is a plain function of (client, as_of, output folder): it resolves the client
once, takes a snapshot of its database and settings (`store.clients.snapshot`, in a private
folder in the client's folder, removed when the render ends) so that an import committing
meanwhile cannot make one page describe other data than the next, resolves the report's date
from that snapshot, runs every notebook in its own kernel on it (`execute`), and writes
`<out>/<client>/<as_of>/` (one HTML and one executed .ipynb per notebook, `index.html` with the
client's headline, `report.json` with the same facts: `index`) into a temporary folder that is
moved into place only when complete. A notebook that fails is kept, with its error, and
marked failed; the others still run. `run_batch` spreads the (client, notebook) pairs over
worker processes, prints progress lines and a summary, and writes `<out>/index.html` listing
every client's latest report.

Charts draw offline: see `offline_charts` (the kernel gets WORKBOOK_RENDER=offline; the page
loads the Vega bundle once through the `report` nbconvert template in templates/).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import multiprocessing
import multiprocessing.queues
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from workbook import store
from workbook.core import paths
from workbook.core.errors import WorkbookError
from workbook.delivery import execute, index
from workbook.delivery.execute import NotebookResult, one_line
from workbook.delivery.index import ClientReport
from workbook.importers import workdir
from workbook.store.clients import Client, load_client, snapshot
from workbook.story import offline_charts

Progress = Callable[[str, str, str, str], None]  # (client, notebook, state, detail)


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
    if isinstance(job, ClientReport):  # failed before anything ran
        return job
    try:
        for notebook in notebooks:
            job.report.notebooks.append(
                _notebook_job(client, notebook, job.tmp, job.parameters, job.env, job.page, tell)
            )
        return _finish(job)
    finally:
        job.clean_up()


def _silent(*_event: str) -> None:
    pass


@dataclass
class _Job:
    """One client's render in progress: its files go to `tmp` until all are written; every
    notebook reads the database in `snapshot`."""

    report: ClientReport
    tmp: Path
    snapshot: Path
    final: Path
    parameters: dict
    env: tuple
    page: dict

    def clean_up(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
        shutil.rmtree(self.snapshot, ignore_errors=True)


def _start(client: str, as_of: dt.date | None, out_dir: Path, tell: Progress) -> _Job | ClientReport:
    """Resolve the client, take the snapshot all its notebooks read, and resolve the report's
    date from it, once; make its temp folder; or the failed client's report."""
    try:
        handle = load_client(client)
    except WorkbookError as err:
        report = ClientReport(client, client, error=str(err))
        tell(client, "", "failed", report.error)
        return report
    report = ClientReport(client, handle.name)
    workdir.remove_stale(handle.folder)  # a killed render's snapshot
    folder = workdir.make("snapshot", handle.folder)
    job = None
    try:
        read_at = dt.datetime.now()
        try:
            handle = snapshot(handle, folder)
            day, report.has_data = _as_of(handle, as_of)
        except Exception as err:  # a broken or locked file: say so, render nothing for this client
            report.error = f"the database could not be opened: {one_line(err)}"
            tell(client, "", "failed", report.error)
            return report
        report.name, report.as_of = handle.name, day.isoformat()
        client_out = Path(out_dir) / client
        tmp = client_out / f".tmp-{report.as_of}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        job = _Job(
            report,
            tmp,
            folder,
            client_out / report.as_of,
            parameters={"client": client, "db_path": str(handle.db_path), "as_of": report.as_of},
            env=(
                ("WORKBOOK_HOME", str(paths.workbook_home())),
                (offline_charts.RENDER_ENV, offline_charts.OFFLINE),
            ),
            page={
                "client": report.name,
                "as_of": index.long_date(day),
                "read_at": f"{index.long_date(read_at.date())} at {read_at:%H:%M}",
            },
        )
        return job
    finally:
        if job is None:  # failed or interrupted before its notebooks: nothing will read the copy
            shutil.rmtree(folder, ignore_errors=True)


def _notebook_job(
    client: str, notebook: Path, tmp: Path, parameters: dict, env: tuple, page: dict, tell: Progress
) -> NotebookResult:
    tell(client, notebook.stem, "running", "")
    result = execute.run_notebook(notebook, tmp, parameters, env, page)
    tell(
        client,
        notebook.stem,
        "ok" if result.ok else "failed",
        f"{result.seconds:.1f} s" if result.ok else result.error,
    )
    return result


def _finish(job: _Job) -> ClientReport:
    """Write the client's letter (its month's KPIs read from the snapshot) and move its folder
    into place."""
    index.month_kpis(job.report, Path(job.parameters["db_path"]))
    index.write_client_index(job.report, job.tmp)
    _move_into_place(job.tmp, job.final)
    job.report.folder = job.final
    return job.report


def _as_of(handle: Client, as_of: dt.date | None) -> tuple[dt.date, bool]:
    """`as_of`, else the client's default, from the snapshot every notebook reads; and whether
    anything is imported yet."""
    con = store.read(db_path=handle.db_path)
    try:
        day = as_of or store.default_as_of(con, handle.today())
        return day, any(store.table_counts(con).values())
    finally:
        con.close()


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
    batch = Batch(reports, index.write_batch_index(out, reports), time.perf_counter() - start)
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
    progress(client, "", "failed", one_line(err))
    return ClientReport(client, client, error=f"rendering stopped: {one_line(err)}")


def _safe_render(client: str, as_of, out: Path, notebooks: list[Path], progress: Progress) -> ClientReport:
    try:
        return render_notebooks(client, as_of, out, notebooks, progress)
    except Exception as err:
        return _stopped(client, err, progress)


def _safe_start(client: str, as_of, out: Path, progress: Progress) -> _Job | ClientReport:
    try:
        return _start(client, as_of, out, progress)
    except Exception as err:
        return _stopped(client, err, progress)


_worker_queue: multiprocessing.queues.Queue | None = None  # set in each worker by _init_worker


def _init_worker(queue: multiprocessing.queues.Queue) -> None:
    global _worker_queue
    _worker_queue = queue


def _queue_progress(*event: str) -> None:
    """Send a progress event to the parent process (only from a worker process)."""
    if _worker_queue is None:
        raise RuntimeError("progress events are queued only in a batch's worker processes")
    _worker_queue.put(event)


def _worker_notebook(
    client: str, notebook: Path, tmp: Path, parameters: dict, env: tuple, page: dict
) -> NotebookResult:
    return _notebook_job(client, notebook, tmp, parameters, env, page, _queue_progress)


def _render_in_processes(clients, as_of, out, notebooks, jobs, progress) -> list[ClientReport]:
    """Every (client, notebook) pair on a pool of `jobs` processes; finish each client in turn."""
    from workbook.story.nb import THREADS_ENV

    started: dict[str, _Job | ClientReport] = {}
    running: dict[str, _Job] = {}
    try:
        for c in clients:  # snapshots and dates, before forking
            begun = started[c] = _safe_start(c, as_of, out, progress)
            if isinstance(begun, _Job):
                running[c] = begun
        results: dict[str, list] = {c: [None] * len(notebooks) for c in running}
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
                    job.report.error = f"rendering stopped: {one_line(err)}"
                if job.report.error or any(r is None for r in results[client]):
                    continue
                job.report.notebooks = results[client]
                try:
                    _finish(job)
                except Exception as err:
                    job.report.error = f"rendering stopped: {one_line(err)}"
            queue.put(None)
            printer.join()
    finally:
        for job in running.values():
            job.clean_up()
    return [job.report if isinstance(job, _Job) else job for job in (started[c] for c in clients)]


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
