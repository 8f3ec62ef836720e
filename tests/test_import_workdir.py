"""An import's temporary folders are private, removed when it ends, and removed by the next
import when a killed one left them (they hold the unpacked export, e-mails included)."""

from __future__ import annotations

import gzip
import os
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from test_importers_input import orders

from workbook.importers import import_files, staging, workdir

# The child imports a .gz export and blocks while pseudonymizing: its unpacked export and the
# staging spill folder are then on disk, as they are at any moment of a long import.
CHILD = """
import sys, time
from pathlib import Path
from workbook.importers import import_files, staging
def block(stage):
    print("staging", flush=True)
    time.sleep(600)
staging.Stage._pseudonymize = block
import_files("test-shop", [Path(sys.argv[1])], "shopify-orders")
"""


@pytest.fixture
def tmpdir_(tmp_path, monkeypatch):
    """A private temp dir for this test, for this process and its children."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


def test_a_killed_import_leaves_private_folders_the_next_import_removes(client, tmp_path, tmpdir_):
    gz = tmp_path / "orders_export_1.csv.gz"
    gz.write_bytes(gzip.compress(orders(tmp_path).read_bytes()))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(gz)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert child.stdout is not None and child.stdout.readline() == b"staging\n"
    left = sorted(p.name for p in tmpdir_.iterdir())
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert [name.split("-")[:3] for name in left] == [
        ["workbook", "import", str(child.pid)],
        ["workbook", "stage", str(child.pid)],
    ]
    assert all(stat.S_IMODE((tmpdir_ / name).stat().st_mode) == 0o700 for name in left)
    assert (tmpdir_ / left[0] / "orders_export_1.csv").exists()  # the unpacked export, e-mails in it

    (result,) = import_files(client, [gz], "shopify-orders")
    assert result.inserted["orders"] == 1  # the killed import wrote nothing
    assert list(tmpdir_.iterdir()) == []


def test_folders_of_a_running_process_are_kept(tmpdir_):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        mine = tmpdir_ / f"workbook-import-{sleeper.pid}-abcd1234"
        mine.mkdir()
        other = tmpdir_ / "workbook-report-files"  # not an import's folder
        other.mkdir()
        assert workdir.remove_stale() == []
        assert sorted(tmpdir_.iterdir()) == [mine, other]
    finally:
        sleeper.kill()
        sleeper.wait()
    assert workdir.remove_stale() == [mine]


def test_the_work_folder_goes_on_an_error_and_on_ctrl_c(client, tmp_path, tmpdir_, monkeypatch):
    gz = tmp_path / "orders_export_1.csv.gz"
    gz.write_bytes(gzip.compress(orders(tmp_path).read_bytes()))

    def interrupt(stage):
        raise KeyboardInterrupt

    monkeypatch.setattr(staging.Stage, "_pseudonymize", interrupt)
    with pytest.raises(KeyboardInterrupt):
        import_files(client, [gz], "shopify-orders")
    assert list(tmpdir_.iterdir()) == []
