"""What a notebook needs in its first cells: the client's read-only connection and settings.

    ctx = nb.open_context(client, db_path, as_of)

`as_of` None or "" means the client's last complete day with data (`store.default_as_of`).
Notebooks only ever read (see `store.read`).
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from workbook import store
from workbook.analytics import goals, quality
from workbook.analytics.profiles import Profile, profile_for
from workbook.core.dates import YEAR_DAYS, ReportingWindow, parse_date
from workbook.store.clients import Client, client_at, load_client
from workbook.story import offline_charts


@dataclass
class Context:
    """The client (resolved once, settings and rollouts included), its read-only connection and
    the reporting window: what every section of a notebook reads from."""

    client: Client
    con: duckdb.DuckDBPyConnection
    window: ReportingWindow

    @property
    def as_of(self) -> dt.date:
        return self.window.as_of

    @property
    def db_path(self) -> Path:
        return self.client.db_path

    @property
    def name(self) -> str:
        return self.client.name

    @property
    def currency(self) -> str:
        return self.client.config.currency

    @property
    def profile(self) -> Profile:
        """The industry profile of client.toml's `industry` (generic when unknown)."""
        return profile_for(self.client.config.industry)


THREADS_ENV = "WORKBOOK_DUCKDB_THREADS"  # DuckDB threads per notebook kernel; unset: one per core


def open_context(client: str, db_path: str | None = None, as_of: str | dt.date | None = None) -> Context:
    """The notebook's boundary: the parameters cell's plain values become the client handle and
    the reporting window, once; sections get them from the context."""
    handle = client_at(client, Path(db_path)) if db_path else load_client(client)
    con = store.read(db_path=handle.db_path)
    if offline_charts.rendering_offline():
        # DuckDB shows long queries' progress as an ipywidget, which a static report prints as text
        con.execute("SET enable_progress_bar = false")
    if os.environ.get(THREADS_ENV):
        # set by a batch running several kernels at once: their threads share the cores
        con.execute(f"SET threads = {max(1, int(os.environ[THREADS_ENV]))}")
    day = parse_date(as_of) or store.default_as_of(con, handle.today())
    return Context(handle, con, ReportingWindow(day))


# Characters that mean something to Markdown or HTML anywhere in a line (emphasis, code, links,
# tables, headings, tags, entities); a client's text shows them as numeric character references.
MARKUP = re.compile(r"[\\`*_\[\]<>&#|~\"']")
TAG_START = re.compile(r"<(?=[A-Za-z/!?])")  # what could open an HTML tag, comment or autolink


def text(value) -> str:
    """A client's text (a name, segment, service, campaign, comment...) to put inside Markdown:
    shown literally, never read as markup, on one line. Every story module wraps each client
    string it puts into a sentence with it; the page shows the text exactly as imported."""
    flat = " ".join(str(value).split())
    return MARKUP.sub(lambda m: f"&#{ord(m.group())};", flat)


def names(values) -> str:
    """Client texts as a list in a sentence: 'a, b, c', each through `text`."""
    return ", ".join(text(v) for v in values)


def plain(markdown: str) -> str:
    """A sentence without its Markdown: what the index pages (which escape it) show."""
    return html.unescape(markdown.replace("**", ""))


def _no_raw_html(markdown: str) -> str:
    """The story's Markdown with no HTML tag left to open: the guard behind `text`, for a
    client string a sentence forgot to wrap."""
    return TAG_START.sub("&lt;", markdown)


def say(markdown: str) -> None:
    """Show narrative text (Markdown) in the notebook and the report; raw HTML is shown as text."""
    from IPython.display import Markdown, display

    display(Markdown(_no_raw_html(markdown)))


TABLE_ROWS = 12  # the most rows a table in a report shows


def day(d) -> str:
    """A date for the reader, '05 Mar 2026'; 'n/a' when missing."""
    return "n/a" if d is None or pd.isna(d) else f"{pd.Timestamp(d):%d %b %Y}"


def show(*objs) -> None:
    """Show charts or tables in the notebook and the report, in order. A styled table's labels
    are escaped here (its cells by the `styler.format.escape` option `setup` sets)."""
    from IPython.display import display
    from pandas.io.formats.style import Styler

    for obj in objs:
        if isinstance(obj, Styler):
            obj = obj.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
        display(obj)


def show_table(frame) -> None:
    """A small table of already formatted values (no index, escaped)."""
    from IPython.display import HTML, display

    display(HTML(frame.to_html(index=False, border=0, classes="workbook-table", escape=True)))


def header(ctx: Context, title: str, subtitle: str = "") -> None:
    """The report's title line (what this is, for whom, as of when), then how much history the
    data has and what that limits (`history_words`)."""
    line = f"# {title}\n\n**{text(ctx.name)}** · data as of **{ctx.as_of:%d %B %Y}**"
    say(line + (f"\n\n{subtitle}" if subtitle else ""))
    say(history_words(quality.history(ctx.con, ctx.as_of), ctx.client.slug))


# What each activity table's rows are, for the history line.
ACTIVITY_WORDS = {
    "orders": "orders",
    "leads": "leads",
    "feedback": "reviews and survey answers",
    "campaign_sends": "email sends",
    "web_sessions": "website traffic",
    "spend": "ad spend",
}
YEAR_WEEKS = YEAR_DAYS // 7  # a history this long can compare a week with the same week a year before


def weeks_words(n: int) -> str:
    return f"{n:,} week{'' if n == 1 else 's'}"


def _length(span: quality.Span) -> str:
    """'13 weeks', or '5 days' under a week."""
    return weeks_words(span.weeks) if span.weeks else f"{span.days} day{'' if span.days == 1 else 's'}"


def history_words(history: quality.History, slug: str) -> str:
    """'**History:** 13 weeks of orders (150 of them, 02 Aug 2026 to 31 Oct 2026); ...' and what
    so short a history limits: trends (goals need `MIN_WEEKS` complete weeks and fit the last
    `TREND_WEEKS`) and comparisons with the same season a year before. With nothing imported,
    'No data yet' and the next step."""
    if not history.spans:
        return (
            "**No data yet:** nothing is imported for this client, so every section below is empty. "
            f"Next step: import its exports (`workbook import {slug} FILE --source PRESET`; "
            "`workbook import --help` lists the presets), then run the report again."
        )
    listed = "; ".join(
        f"{_length(s)} of {ACTIVITY_WORDS[s.table]} ({s.rows:,} of them, {day(s.first)} to {day(s.last)})"
        for s in history.spans.values()
    )
    weeks = history.weeks
    if weeks < goals.MIN_WEEKS:
        limit = (
            f"Under {goals.MIN_WEEKS} weeks, too short for trends: no goal can be projected yet, and "
            "every figure below is a first impression with a wide range."
        )
    elif weeks < goals.TREND_WEEKS:
        limit = (
            f"Trends rest on these {weeks_words(weeks)} rather than the usual {goals.TREND_WEEKS}, "
            "and nothing can be compared with the same season a year before: ranges are wide and a "
            "seasonal swing can look like a trend."
        )
    elif weeks < YEAR_WEEKS:
        limit = (
            "Less than a year: nothing can be compared with the same season a year before, so a "
            "seasonal swing can look like a trend."
        )
    else:
        limit = "Enough for trends and for comparing with the same season a year before."
    return f"**History:** {listed}. {limit}"


def needs_more(section: str, need: int, have: int, unit: str, of: str) -> None:
    """The one line a section shows instead of a chart when the history is shorter than it needs:
    'The customer-value curve needs 2 months of orders; there is 1 so far.'"""
    units = unit if need == 1 else f"{unit}s"
    verb = "is" if have == 1 else "are"
    say(f"*{section} needs {need:,} {units} of {of}; there {verb} {have:,} so far.*")


def finding(sentence: str, **facts) -> None:
    """Show a headline finding and tag it so the report index can list it.

    The text is the plain-words sentence (Markdown, client strings wrapped in `text`); it travels
    without its markup, with `facts` (e.g. goal=..., status=...), in the output's metadata under
    "workbook" for the renderer (`delivery.execute`) to collect. Keep facts JSON-friendly. The
    client's letter (`story.letter`) reads `good=True` (good news: "what went well") and
    `action="..."` (Markdown like the sentence: "what to do this month").
    """
    from IPython.display import Markdown, display

    shown = f"> **Finding:** {_no_raw_html(sentence)}"
    if isinstance(facts.get("action"), str):  # what to do, in the letter's list: plain like the sentence
        facts["action"] = plain(facts["action"])
    display(Markdown(shown), metadata={"workbook": {"finding": plain(sentence), **facts}})


def not_enough_data(section: str, why: str) -> None:
    """The clear note a section shows instead of an error or an empty chart."""
    say(f"*Not enough data for {section}: {why}*")


def setup() -> None:
    """Prepare the notebook's display: the chart theme, and offline charts when rendering.

    `workbook report` starts the kernel with WORKBOOK_RENDER=offline; charts then carry only
    their spec and draw with the Vega bundle the report page loads once (`offline_charts`).
    In a live session Altair's own renderer is kept, so JupyterLab shows charts as usual.
    """
    from workbook.story import offline_charts
    from workbook.story import theme as charts

    charts.enable_theme()
    pd.set_option("styler.format.escape", "html")  # a styled table's cells show client text as text
    if offline_charts.rendering_offline():
        offline_charts.enable_offline_renderer()
