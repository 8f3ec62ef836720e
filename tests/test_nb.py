"""The notebook context: what every notebook opens first."""

import datetime as dt

import pytest

from workbook import store
from workbook.core import paths
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


def test_the_context_resolves_the_client_and_the_reporting_window_once(client, rw):
    """No as_of: the newest activity of any kind (here a lead after the last order), not the
    last order; the baseline is the 12 complete ISO weeks before it, counted by hand."""
    rw.execute("INSERT INTO orders (order_id, ordered_at, revenue) VALUES ('o1', '2025-12-20 10:00', 10)")
    rw.execute("INSERT INTO leads (lead_id, created_at) VALUES ('l1', '2026-01-02 16:30')")
    rw.close()
    ctx = nb.open_context(client)
    assert ctx.as_of == dt.date(2026, 1, 2)  # a Friday: its week is not complete
    assert ctx.window.baseline == (dt.date(2025, 10, 6), dt.date(2025, 12, 28))  # Mon 6 Oct .. Sun 28 Dec
    assert (ctx.name, ctx.currency, ctx.db_path) == ("Test Shop", "USD", paths.db_path(client))
    assert nb.open_context(client, None, "2025-12-31").as_of == dt.date(2025, 12, 31)


def test_an_empty_database_is_reported_as_of_today(client):
    assert nb.open_context(client).as_of == dt.date.today()
