"""`workbook open <client>`: the client's own copies of the notebooks, ready for a live call.

The copies live in $WORKBOOK_HOME/<client>/notebooks/ (outside the checkout, beside the
client's data), with the parameters cell filled in by papermill without running anything
(`prepare_only=True`), so the consultant never edits a parameters cell before a call.
Copies are refreshed from the project's notebooks each time; a copy that differs from the
fresh one (the consultant's notes, say) is first moved to notebooks/previous/.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

from workbook import store
from workbook.core import paths
from workbook.core.errors import WorkbookError
from workbook.store.clients import load_client
from workbook.story.widgets import LIVE_ENV


def notebook_templates() -> list[Path]:
    """The project's numbered notebooks (01_onboarding.ipynb, 02_..., ...)."""
    return sorted(paths.notebooks_dir().glob("[0-9][0-9]_*.ipynb"))


def _same(a: Path, b: Path) -> bool:
    """Same notebook content, ignoring the random cell ids papermill gives its injected cell."""
    import json

    def content(path: Path) -> list:
        return [
            {k: v for k, v in cell.items() if k != "id"} for cell in json.loads(path.read_text())["cells"]
        ]

    return content(a) == content(b)


def prepare(client: str, as_of: dt.date | None = None) -> Path:
    """Write the client's parameterised copies of the notebooks; return their folder.

    `as_of` None stays None: the notebook resolves the client's default when it runs, so a
    copy opened next month describes next month's data."""
    import papermill

    handle = load_client(client)
    store.read(db_path=handle.db_path).close()  # a damaged, locked or newer file stops here
    folder = handle.folder / "notebooks"
    folder.mkdir(exist_ok=True)
    parameters = {
        "client": client,
        "db_path": str(handle.db_path),
        "as_of": as_of.isoformat() if as_of else None,
    }
    for template in notebook_templates():
        target = folder / template.name
        fresh = folder / f".{template.stem}.new.ipynb"
        papermill.execute_notebook(
            str(template), str(fresh), parameters=parameters, prepare_only=True, progress_bar=False
        )
        if target.exists() and not _same(target, fresh):
            previous = folder / "previous"
            previous.mkdir(exist_ok=True)
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            shutil.move(target, previous / f"{template.stem}.{stamp}.ipynb")
        fresh.replace(target)
    return folder


def open_client(slug: str, as_of: dt.date | None = None, start_lab: bool = True) -> Path:
    """Prepare the client's notebooks, then (unless start_lab is False) run JupyterLab on them.

    JupyterLab runs with WORKBOOK_LIVE=1, which turns on the live what-if panels, and with
    this process's WORKBOOK_HOME. Its kernels only read the database; saving a goal opens a
    write connection just for that moment.
    """
    folder = prepare(slug, as_of)
    print(f"Notebooks for {slug} ready in {folder}")
    if start_lab:
        env = {**os.environ, LIVE_ENV: "1", "WORKBOOK_HOME": str(paths.workbook_home())}
        code = subprocess.run(
            [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={folder}"], env=env, check=False
        ).returncode
        if code not in (0, 130, -2):  # -2/130: stopped with Ctrl-C, the normal way out
            raise WorkbookError(
                f"JupyterLab stopped with exit code {code} (its messages are above). The "
                f"notebooks are ready in {folder}; open them in any Jupyter."
            )
    else:
        print(f"Start JupyterLab there yourself with: {LIVE_ENV}=1 jupyter lab --ServerApp.root_dir={folder}")
    return folder
