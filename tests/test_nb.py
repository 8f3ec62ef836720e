"""The notebook context: what every notebook opens first."""

import pytest

from workbook import store
from workbook.story import nb, offline_charts


@pytest.fixture
def kernel_like(monkeypatch):
    """Connections with DuckDB's progress bar on, as in a Jupyter kernel (pytest has it off)."""
    real = store.read

    def read(*args, **kwargs):
        con = real(*args, **kwargs)
        con.execute("SET enable_progress_bar = true")
        return con

    monkeypatch.setattr(store, "read", read)


def progress_bar(ctx) -> bool:
    return ctx.con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]


def test_report_kernels_get_no_duckdb_progress_widget(client, kernel_like, monkeypatch):
    monkeypatch.setenv(offline_charts.RENDER_ENV, offline_charts.OFFLINE)
    assert progress_bar(nb.open_context(client)) is False


def test_live_sessions_keep_the_progress_bar(client, kernel_like, monkeypatch):
    monkeypatch.delenv(offline_charts.RENDER_ENV, raising=False)
    assert progress_bar(nb.open_context(client)) is True


def test_batch_kernels_share_the_cores(client, monkeypatch):
    def threads(ctx):
        return ctx.con.execute("SELECT current_setting('threads')").fetchone()[0]

    default = threads(nb.open_context(client))
    monkeypatch.setenv(nb.THREADS_ENV, str(default + 1))  # any count other than the default
    assert threads(nb.open_context(client)) == default + 1
