"""Shared fixtures: a throwaway $WORKBOOK_HOME and a fresh client to fill with hand-made rows."""

from __future__ import annotations

import subprocess
import sys

import pytest

from workbook import store
from workbook.store.clients import init_client


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty clients folder; nothing a test does touches the checkout's data/clients."""
    folder = tmp_path / "clients"
    folder.mkdir()
    monkeypatch.setenv("WORKBOOK_HOME", str(folder))
    return folder


@pytest.fixture
def client(home):
    """A fresh client 'test-shop' with the current schema; returns its slug."""
    init_client("test-shop", "Test Shop", "online-store", "USD", "UTC")
    return "test-shop"


@pytest.fixture
def rw(client):
    """A read-write connection to the fresh client, for inserting hand-made rows."""
    with store.write(client) as con:
        yield con


@pytest.fixture
def held_by_another_process(client, home):
    """The client's database held open for writing by another process, as a running import does."""
    db = home / client / "workbook.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; con = duckdb.connect({str(db)!r}); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield db
    finally:
        holder.communicate("")


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory):
    """The three sample clients, built once per test session by `workbook demo` in a temp home.

    Use the `samples` fixture in tests: it points WORKBOOK_HOME here for the test.
    """
    folder = tmp_path_factory.mktemp("sample-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBOOK_HOME", str(folder))
        from workbook.sample.demo import build_demo

        build_demo(quiet=True)
    return folder


@pytest.fixture
def samples(sample_home, monkeypatch):
    """WORKBOOK_HOME set to the session's sample clients (coffee-shop, online-store, home-services)."""
    monkeypatch.setenv("WORKBOOK_HOME", str(sample_home))
    return sample_home


from _weekly_revenue import weekly_revenue  # noqa: E402,F401  goal tests' weekly revenue line
from render_fixtures import probe_reports, sample_reports, tiny_reports  # noqa: E402,F401  session renders
