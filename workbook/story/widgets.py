"""The live what-if panel (ipywidgets): pick a KPI, a target and a deadline, see at once the
improvement needed per week and the trend projection, and save the agreed goal. The client's
saved goals are listed in the panel: picking one loads it to edit (saving a goal of the same
KPI updates it, see `goal_book`), and it can be deleted there.

ipywidgets only work with a running kernel; exported HTML shows nothing for them. So the panel
is shown only in live sessions (`workbook open` sets WORKBOOK_LIVE=1 for its JupyterLab), and
reports carry the static Altair slider of `kpi_charts.what_if_chart` instead.

Saving and deleting: DuckDB refuses a read-write connection in a process that holds a read-only
one to the same file, and a kernel keeping a read-write one open would block every report
render. So `save` and `delete` close the notebook's read-only connection, write through
`goal_book` (which opens and closes its own), and reopen the read-only one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import os
from collections.abc import Iterator

from workbook import store
from workbook.analytics import goal_book, goals, metrics
from workbook.analytics.goals import Goal
from workbook.core.errors import WorkbookError
from workbook.story import goal_words, kpi_charts, nb
from workbook.story.nb import Context

LIVE_ENV = "WORKBOOK_LIVE"


def is_live() -> bool:
    """True in a JupyterLab started by `workbook open` (not in papermill or report runs)."""
    return os.environ.get(LIVE_ENV) == "1"


@contextlib.contextmanager
def _read_only_closed(ctx: Context) -> Iterator[None]:
    """The notebook's read-only connection closed for a write, and reopened after it."""
    ctx.con.close()
    try:
        yield
    finally:
        ctx.con = store.read(db_path=ctx.db_path)


def save(ctx: Context, goal: Goal) -> goal_book.Saved:
    """Save `goal` for the context's client (or update its goal of the same KPI and segment)."""
    with _read_only_closed(ctx):
        return goal_book.save_goal(ctx.db_path, goal, ctx.as_of)


def delete(ctx: Context, goal_id: int) -> Goal:
    """Delete the client's goal `goal_id` and return it."""
    with _read_only_closed(ctx):
        return goal_book.delete_goal(ctx.db_path, goal_id)


def shown_target(goal: Goal) -> float:
    """A goal's target as the panel's box shows it: four decimals for a share (84.69%), two for
    anything else (34927.57), not the raw float of a suggested target (34927.570333)."""
    return round(goal.target(), 4 if goal.kpi.unit == "share" else 2)


class WhatIfPanel:
    """The panel's widgets and behaviour; `.widget` is what a notebook displays."""

    def __init__(self, ctx: Context, goal: Goal | None = None):
        import ipywidgets as w

        self.ctx = ctx
        names = [k.name for k in metrics.available_kpis(ctx.con, ctx.profile)]
        if goal is None and names:
            goal = goals.suggest(ctx.con, names[0], ctx.as_of)
        # the goal being edited: its direction and segment are kept while its KPI is chosen
        self.loaded: Goal | None = goal
        self._loading = False
        self.saved = w.Dropdown(description="Saved goals")
        self.delete_button = w.Button(description="Delete this goal", icon="trash")
        self.metric = w.Dropdown(
            options=[(metrics.get(n).label, n) for n in names],
            value=goal.metric if goal else None,
            description="KPI",
        )
        self.target = w.FloatText(value=shown_target(goal) if goal else 0.0, description="Target")
        self.deadline = w.DatePicker(
            value=goal.deadline if goal else ctx.as_of + dt.timedelta(weeks=13), description="Deadline"
        )
        self.summary = w.HTML()
        self.chart = w.Output()
        self.save_button = w.Button(description="Save this goal", button_style="success", icon="check")
        self.message = w.HTML()
        self.delta: goals.Delta | None = None
        self.list_saved(goal.goal_id if goal else None)
        self.saved.observe(self._saved_picked, names="value")
        self.metric.observe(self._metric_changed, names="value")
        for control in (self.target, self.deadline):
            control.observe(lambda _: self.redraw(), names="value")
        self.save_button.on_click(lambda _: self.save())
        self.delete_button.on_click(lambda _: self.delete())
        self.widget = w.VBox(
            [
                w.HBox([self.saved, self.delete_button]),
                w.HBox([self.metric, self.target, self.deadline]),
                self.summary,
                self.chart,
                w.HBox([self.save_button, self.message]),
            ]
        )
        self.redraw()

    def goal(self) -> Goal:
        kpi = metrics.get(self.metric.value)
        start, last = self.ctx.window.baseline
        editing = self.loaded if self.loaded and self.loaded.metric == kpi.name else None
        return Goal(
            kpi.name,
            editing.direction if editing else "increase" if kpi.better == "up" else "decrease",
            target_value=self.target.value,
            deadline=self.deadline.value,
            segment=editing.segment if editing else None,
            baseline_start=start,
            baseline_end=last,
            note="Agreed in a live session",
        )

    def list_saved(self, selected: int | None = None) -> None:
        """Fill the saved-goals list from the client's database; select goal `selected`."""
        stored = goal_book.load_goals(self.ctx.con)
        self._loading = True  # a new list is not a pick
        try:
            self.saved.options = [("(a new goal)", None)] + [
                (f"{g.goal_id}: {nb.plain(goal_words.describe(g, self.ctx.currency))}", g.goal_id)
                for g in stored
            ]
            self.saved.value = selected
        finally:
            self._loading = False
        self.delete_button.disabled = selected is None

    def _saved_picked(self, change) -> None:
        """Load the picked saved goal into the controls, to edit it."""
        self.delete_button.disabled = change["new"] is None
        if self._loading:
            return
        if change["new"] is None:
            self.loaded = None
            return
        goal = goal_book.find(self.ctx.con, change["new"])
        self.loaded = goal
        self._loading = True  # one redraw for the three controls
        try:
            self.metric.value = goal.metric
            self.target.value = shown_target(goal)
            self.deadline.value = goal.deadline
        finally:
            self._loading = False
        self.redraw()

    def _metric_changed(self, _change) -> None:
        if self._loading:
            return
        suggestion = goals.suggest(self.ctx.con, self.metric.value, self.ctx.as_of)
        if suggestion is not None:
            self.target.value = shown_target(suggestion)  # triggers redraw
        else:
            self.redraw()

    def redraw(self) -> None:
        """Recompute the delta for the chosen goal and redraw the sentence and the chart."""
        from IPython.display import display

        if self._loading:
            return
        self.delta = goals.delta(self.ctx.con, self.goal(), self.ctx.as_of)
        self.summary.value = (
            f"<p>{html.escape(nb.plain(goal_words.verdict(self.delta, self.ctx.currency)))}</p>"
        )
        self.chart.clear_output(wait=True)
        if self.delta.current is not None and self.delta.status != "not enough data":
            with self.chart:
                display(kpi_charts.goal_chart(self.delta, self.ctx.currency))

    def save(self) -> goal_book.Saved | None:
        """Save the goal shown (updating the client's goal of the same KPI); None if refused."""
        goal = self.goal()
        try:
            saved = save(self.ctx, goal)
        except WorkbookError as err:
            self.message.value = f"Not saved: {html.escape(str(err))}"
            return None
        self.loaded = goal_book.find(self.ctx.con, saved.goal_id)
        self.list_saved(saved.goal_id)
        said = nb.plain(goal_words.describe(self.loaded, self.ctx.currency))
        how = "Updated goal" if saved.updated else "Saved as goal"
        self.message.value = f"{how} {saved.goal_id}: {html.escape(said)}."
        return saved

    def delete(self) -> Goal | None:
        """Delete the saved goal picked in the list; None if none is picked or it was refused."""
        goal_id = self.saved.value
        if goal_id is None:
            return None
        try:
            gone = delete(self.ctx, goal_id)
        except WorkbookError as err:
            self.message.value = f"Not deleted: {html.escape(str(err))}"
            return None
        self.loaded = None
        self.list_saved()
        said = nb.plain(goal_words.describe(gone, self.ctx.currency))
        self.message.value = f"Deleted goal {goal_id}: {html.escape(said)}."
        return gone


def what_if_panel(ctx: Context, goal: Goal | None = None) -> None:
    """Show the live panel in a live session; in a report run show nothing (see module docstring)."""
    if is_live():
        from IPython.display import display

        display(WhatIfPanel(ctx, goal).widget)
