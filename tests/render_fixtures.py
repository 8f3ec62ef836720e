"""Session renders shared by test_render.py and test_report_browser.py (imported in conftest).

Rendering is the slow part, so each batch runs once per test session:

- `probe_reports`: the small probe notebooks (tests/data/render_probe, plus one that fails on
  purpose for one client) over three hand-made clients, one with a garbage database, through
  `workbook report --all --jobs 2` exactly as a user runs it.
- `sample_reports`: the real notebooks for the three sample clients (skipped while the
  notebooks folder is empty).
- `tiny_reports`: the real notebooks for the tiny shop (`sample/tiny_shop.py`: 13 weeks, 115
  customers, two orders mistyped into 2099), built through the importers in its own home.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from workbook import cli, store
from workbook.core import paths
from workbook.sample import tiny_shop
from workbook.sample.demo import build_tiny_shop
from workbook.store.clients import init_client

PROBE = Path(__file__).parent / "data" / "render_probe"
SAMPLE_CLIENTS = ["coffee-shop", "online-store", "home-services"]


def _failing_notebook() -> nbformat.NotebookNode:
    """A notebook that raises for client 'test-shop' only, after one good section."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Planted failure"),
        nbformat.v4.new_code_cell(
            'client = "test-shop"\ndb_path = None\nas_of = None', metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_markdown_cell("## Before the failure\n\nThis section renders."),
        nbformat.v4.new_code_cell('if client == "test-shop":\n    raise ValueError("planted failure")'),
        nbformat.v4.new_markdown_cell("## After the failure"),
    ]
    return nb


def _shop(slug: str, name: str, orders: int) -> None:
    init_client(slug, name, "online-store", "USD", "UTC")
    with store.write(slug) as con:
        con.executemany(
            "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) "
            "VALUES (?, ?, TIMESTAMP '2026-01-05' + to_days(?), ?)",
            [[f"o{i}", f"c{i % 7}", i * 5, 20 + i] for i in range(orders)],
        )


def _report(argv: list[str]) -> tuple[int, str]:
    log = io.StringIO()
    with contextlib.redirect_stderr(log):
        code = cli.main(["report", *argv])
    return code, log.getvalue()


@pytest.fixture(scope="session")
def probe_reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("render-probe")
    home, out, notebooks = root / "clients", root / "reports", root / "notebooks"
    notebooks.mkdir()
    shutil.copy(PROBE / "01_probe.ipynb", notebooks)
    nbformat.write(_failing_notebook(), notebooks / "02_fails.ipynb")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBOOK_HOME", str(home))
        mp.setattr(paths, "notebooks_dir", lambda: notebooks)
        _shop("good-shop", "Good Shop", 60)
        _shop("test-shop", "Test Shop", 40)
        init_client("broken-shop", "Broken Shop")
        (home / "broken-shop" / "workbook.duckdb").write_bytes(b"this is not a database" * 100)
        code, log = _report(["--all", "--jobs", "2", "--out", str(out)])
    return SimpleNamespace(code=code, log=log, out=out, home=home, as_of="2026-10-27")


@pytest.fixture(scope="session")
def sample_reports(request, tmp_path_factory):
    if not any(paths.notebooks_dir().glob("*.ipynb")):
        pytest.skip("no notebooks in notebooks/ yet")
    sample_home = request.getfixturevalue("sample_home")
    out = tmp_path_factory.mktemp("render-samples") / "reports"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBOOK_HOME", str(sample_home))
        code, log = _report(["--all", "--jobs", "2", "--out", str(out)])
    return SimpleNamespace(code=code, log=log, out=out, home=sample_home, as_of="2026-10-31")


@pytest.fixture(scope="session")
def tiny_reports(tmp_path_factory):
    if not any(paths.notebooks_dir().glob("*.ipynb")):
        pytest.skip("no notebooks in notebooks/ yet")
    root = tmp_path_factory.mktemp("render-tiny")
    home, out = root / "clients", root / "reports"
    home.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBOOK_HOME", str(home))
        build_tiny_shop(root / "exports")
        code, log = _report([tiny_shop.SLUG, "--jobs", "2", "--out", str(out)])
    return SimpleNamespace(code=code, log=log, out=out, home=home, as_of="2026-10-31")


def executed_notebook(reports: SimpleNamespace, client: str, stem: str) -> nbformat.NotebookNode:
    """The executed notebook `stem` (e.g. "03_personalization_impact") of a rendered client."""
    return nbformat.read(reports.out / client / reports.as_of / f"{stem}.ipynb", as_version=4)


def outputs_of(notebook: nbformat.NotebookNode) -> list[dict]:
    return [o for cell in notebook.cells for o in cell.get("outputs", [])]


def markdown_text(notebook: nbformat.NotebookNode) -> str:
    """All Markdown the notebook displayed (its narrative, in one string), with the `\\$` that
    keeps an amount from opening a formula (`nb.say`) read back as the `$` the page shows."""
    text = " ".join(str(o.get("data", {}).get("text/markdown", "")) for o in outputs_of(notebook))
    return text.replace("\\$", "$")


def findings_of(notebook: nbformat.NotebookNode) -> list[dict]:
    return [o["metadata"]["workbook"] for o in outputs_of(notebook) if "workbook" in o.get("metadata", {})]
