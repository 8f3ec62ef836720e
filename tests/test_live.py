"""`workbook open`: the client's notebooks are prepared with its parameters, not executed."""

from __future__ import annotations

import datetime as dt

import nbformat
import pytest

from workbook.cli import main
from workbook.core import paths
from workbook.delivery import live


@pytest.fixture
def templates(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    book = nbformat.v4.new_notebook()
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('client = "online-store"\ndb_path = None\nas_of = None')
    params.metadata["tags"] = ["parameters"]
    book.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        params,
        nbformat.v4.new_code_cell("raise SystemExit('must not run')"),
    ]
    for name in ("01_onboarding.ipynb", "02_improvement_delta.ipynb"):
        nbformat.write(book, folder / name)
    (folder / "scratch.ipynb").write_text("{}")  # not a numbered notebook: ignored
    monkeypatch.setattr(paths, "notebooks_dir", lambda: folder)
    return folder


def _injected(path):
    book = nbformat.read(path, as_version=4)
    (cell,) = [c for c in book.cells if "injected-parameters" in c.metadata.get("tags", [])]
    return book, cell.source


def test_prepare_injects_parameters_without_running(client, templates):
    folder = live.prepare(client, dt.date(2026, 10, 31))
    assert folder == paths.client_dir(client) / "notebooks"
    assert sorted(p.name for p in folder.glob("*.ipynb")) == [
        "01_onboarding.ipynb",
        "02_improvement_delta.ipynb",
    ]
    book, source = _injected(folder / "02_improvement_delta.ipynb")
    assert f'client = "{client}"' in source
    assert f'db_path = "{paths.db_path(client)}"' in source
    assert 'as_of = "2026-10-31"' in source
    assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code")


def test_prepare_keeps_an_edited_copy(client, templates):
    folder = live.prepare(client)
    edited = folder / "01_onboarding.ipynb"
    edited.write_text(edited.read_text().replace("# Title", "# Title with my notes"))
    live.prepare(client)
    (kept,) = (folder / "previous").glob("01_onboarding.*.ipynb")
    assert "my notes" in kept.read_text() and "my notes" not in edited.read_text()
    live.prepare(client)  # unchanged copies are not backed up again
    assert len(list((folder / "previous").iterdir())) == 1


def test_cli_open_without_lab(client, templates, capsys):
    assert main(["open", client, "--no-lab"]) == 0
    out = capsys.readouterr().out
    assert str(paths.client_dir(client) / "notebooks") in out and "jupyter lab" in out


def test_open_unknown_client(home, templates, capsys):
    assert main(["open", "nobody", "--no-lab"]) == 2
    assert "No client 'nobody'" in capsys.readouterr().err


def test_prepares_the_project_notebooks(client):
    folder = live.prepare(client)
    names = {p.name for p in folder.glob("*.ipynb")}
    assert {"01_onboarding.ipynb", "02_improvement_delta.ipynb"} <= names
    _, source = _injected(folder / "01_onboarding.ipynb")
    assert f'client = "{client}"' in source and "as_of = None" in source


def test_lab_failure_is_reported(client, templates, monkeypatch):
    import subprocess

    calls = []
    monkeypatch.setattr(
        subprocess,
        "run",
        lambda cmd, env, check: calls.append((cmd, env)) or subprocess.CompletedProcess(cmd, 1),
    )
    with pytest.raises(live.WorkbookError, match="exit code 1"):
        live.open_client(client)
    ((cmd, env),) = calls
    assert cmd[-2:] == ["lab", f"--ServerApp.root_dir={paths.client_dir(client) / 'notebooks'}"]
    assert env["WORKBOOK_LIVE"] == "1"
