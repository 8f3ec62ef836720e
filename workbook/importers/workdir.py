"""Private temporary folders of an import or a report, and removal of the ones a killed process
left behind.

An import unpacks, transcodes and spills the client's raw export (e-mails included) into
temporary folders; a report reads a snapshot of the client's database (`delivery.batch`). Each
folder is made by `mkdtemp` (mode 0700: only this user can read it), named
`workbook-<kind>-<pid>-<random>` after the process that owns it, and removed when its work
ends, however it ends short of a kill. A process killed outright (kill -9, a power cut) cannot
clean up, so every import (and every report, in the client's folder) starts with
`remove_stale()`: folders of this user whose owning process is gone are deleted. A folder whose
pid is alive (or reused) is left alone.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_NAME = re.compile(r"workbook-(?:import|stage|snapshot)-(\d+)-[^-]+")


def make(kind: str, root: Path | None = None) -> Path:
    """A new 0700 folder `workbook-<kind>-<pid>-...` in `root` (default: the temp dir); its
    maker removes it."""
    return Path(tempfile.mkdtemp(prefix=f"workbook-{kind}-{os.getpid()}-", dir=root))


@contextmanager
def private_workdir(kind: str) -> Iterator[Path]:
    """`make(kind)`, removed when the block ends (on an error or Ctrl-C too)."""
    folder = make(kind)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def remove_stale(root: Path | None = None) -> list[Path]:
    """Delete this user's work folders whose owning process no longer runs; returns them."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    for folder in root.glob("workbook-*-*-*"):
        match = _NAME.fullmatch(folder.name)
        if match and folder.is_dir() and folder.stat().st_uid == os.getuid() and not _alive(int(match[1])):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    """Whether a process with this id exists (one of another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True
