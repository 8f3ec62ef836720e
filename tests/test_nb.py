"""The notebook context: what every notebook opens first."""

import datetime as dt

import pytest
from page_scan import blocks

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


HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "**bold** [link](javascript:alert(1))",
    "a\n# heading | `code` ~~gone~~ _em_ &amp; 'q' \"qq\"",
]


def markdown_to_html(markdown: str) -> str:
    """The Markdown renderer the report pages use (nbconvert's)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(markdown)


@pytest.mark.parametrize("value", HOSTILE)
def test_client_text_in_markdown_is_shown_literally(value):
    import html
    import re

    rendered = markdown_to_html(f"Service **{nb.text(value)}** asked for.")
    inner = re.fullmatch(r"<p>Service <strong>(.*)</strong> asked for.</p>\s*", rendered, re.S)
    assert inner, rendered
    assert "<" not in inner.group(1)  # no element of the value's own
    assert html.unescape(inner.group(1)) == " ".join(value.split())


@pytest.fixture
def shown(monkeypatch):
    """What say/finding/show hand to IPython's display: (object, metadata) pairs."""
    import IPython.display

    out: list = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, metadata=None: out.append((obj, metadata)))
    return out


def test_say_and_finding_never_let_raw_html_through(shown):
    nb.say("Top service: <img src=x onerror=alert(1)>, p < 0.05.")
    nb.finding(f"**{nb.text('<b>Nextdoor</b> & co')}** rose.", dimension="source")
    said, found = (markdown_to_html(obj.data) for obj, _ in shown)
    assert "<img" not in said and "&lt;img src=x onerror=alert(1)&gt;" in said and "p &lt; 0.05" in said
    assert "<b>" not in found and "&lt;b&gt;Nextdoor&lt;/b&gt; &amp; co" in found
    assert shown[1][1] == {"workbook": {"finding": "<b>Nextdoor</b> & co rose.", "dimension": "source"}}


def test_a_styled_table_escapes_its_labels_and_cells(shown):
    import pandas as pd

    with pd.option_context("styler.format.escape", None):  # setup's option ends with the test
        nb.setup()
        frame = pd.DataFrame({"segment": ["<i>vip</i>"], "lift": [0.5]}, index=["<img src=x>"])
        nb.show(frame.style.format("{:.0%}", subset=["lift"]))
        html = shown[0][0]._repr_html_()
    assert "<i>" not in html and "<img" not in html
    assert "&lt;i&gt;vip&lt;/i&gt;" in html and "&lt;img src=x&gt;" in html


def test_dollar_amounts_in_markdown_are_not_read_as_a_formula(shown):
    # two '$' in one paragraph delimit math for Jupyter's Markdown: the bold around the first
    # amount came out as raw '**' on the cohort pages (issue 15)
    sentence = "A customer has brought **$37.50** (between $31.03 and $43.96), worth **$16,902**."
    assert "**" in markdown_to_html(sentence)  # the fault, as nbconvert renders it unescaped
    nb.say(sentence)
    nb.finding(sentence)
    said, found = (markdown_to_html(obj.data) for obj, _ in shown)
    expected = "<strong>$37.50</strong> (between $31.03 and $43.96), worth <strong>$16,902</strong>."
    assert expected in said and expected in found and "**" not in said + found
    assert shown[1][1]["workbook"]["finding"] == sentence.replace("**", "")  # the index's words


def test_a_table_shows_no_row_numbers_and_each_cell_whole(shown):
    import pandas as pd

    action = "daily regulars: know their order, thank them, ask for a review, and tell a friend"
    nb.show(pd.DataFrame({"segment": ["champions"], "what to do": [action]}).set_index("segment"))
    nb.show(pd.DataFrame({"segment": ["new", "lost"], "customers": [12, 0]}).query("customers > 0"))
    nb.show(pd.DataFrame({"lift": [0.5]}).style.format("{:.0%}"))
    named, numbered = ([b.text for b in blocks(obj.data)] for obj, _ in shown[:2])
    assert named == ["segment", "what to do", "champions", action]
    assert numbered == ["segment", "customers", "new", "12"]  # no 0, 1, 2 ... column
    assert [b.text for b in blocks(shown[2][0].to_html())] == ["lift", "50%"]
