"""The live what-if panel (ipywidgets): pick a KPI, a target and a deadline, see at once the
improvement needed per week and the trend projection, and save the agreed goal.

ipywidgets only work with a running kernel; exported HTML shows nothing for them. So the panel
is shown only in live sessions (`workbook open` sets WORKBOOK_LIVE=1 for its JupyterLab), and
reports carry the static Altair slider of `kpi_charts.what_if_chart` instead.

Saving: DuckDB refuses a read-write connection in a process that holds a read-only one to the
same file, and a kernel keeping a read-write one open would block every report render. So
`save` closes the notebook's read-only connection, writes through `goals.save_goal` (which
opens and closes its own), and reopens the read-only one.
"""

from __future__ import annotations

import datetime as dt
import html
import os

from workbook import store
from workbook.analytics import goals, metrics
from workbook.analytics.goals import Goal
from workbook.story import goal_words, kpi_charts, nb
from workbook.story.nb import Context

LIVE_ENV = "WORKBOOK_LIVE"


def is_live() -> bool:
    """True in a JupyterLab started by `workbook open` (not in papermill or report runs)."""
    return os.environ.get(LIVE_ENV) == "1"


def save(ctx: Context, goal: Goal) -> int:
    """Save `goal` for the context's client and return its id (see the module docstring)."""
    ctx.con.close()
    try:
        return goals.save_goal(ctx.db_path, goal, ctx.as_of)
    finally:
        ctx.con = store.read(db_path=ctx.db_path)


class WhatIfPanel:
    """The panel's widgets and behaviour; `.widget` is what a notebook displays."""

    def __init__(self, ctx: Context, goal: Goal | None = None):
        import ipywidgets as w

        self.ctx = ctx
        names = [k.name for k in metrics.available_kpis(ctx.con)]
        if goal is None and names:
            goal = goals.suggest(ctx.con, names[0], ctx.as_of)
        self.metric = w.Dropdown(
            options=[(metrics.get(n).label, n) for n in names],
            value=goal.metric if goal else None,
            description="KPI",
        )
        self.target = w.FloatText(value=goal.target() if goal else 0.0, description="Target")
        self.deadline = w.DatePicker(
            value=goal.deadline if goal else ctx.as_of + dt.timedelta(weeks=13), description="Deadline"
        )
        self.summary = w.HTML()
        self.chart = w.Output()
        self.save_button = w.Button(description="Save this goal", button_style="success", icon="check")
        self.message = w.HTML()
        self.delta: goals.Delta | None = None
        self.metric.observe(self._metric_changed, names="value")
        for control in (self.target, self.deadline):
            control.observe(lambda _: self.redraw(), names="value")
        self.save_button.on_click(lambda _: self.save())
        self.widget = w.VBox(
            [
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
        return Goal(
            kpi.name,
            "increase" if kpi.better == "up" else "decrease",
            target_value=self.target.value,
            deadline=self.deadline.value,
            baseline_start=start,
            baseline_end=last,
            note="Agreed in a live session",
        )

    def _metric_changed(self, _change) -> None:
        suggestion = goals.suggest(self.ctx.con, self.metric.value, self.ctx.as_of)
        if suggestion is not None:
            self.target.value = suggestion.target()  # triggers redraw
        else:
            self.redraw()

    def redraw(self) -> None:
        """Recompute the delta for the chosen goal and redraw the sentence and the chart."""
        from IPython.display import display

        self.delta = goals.delta(self.ctx.con, self.goal(), self.ctx.as_of)
        self.summary.value = (
            f"<p>{html.escape(nb.plain(goal_words.verdict(self.delta, self.ctx.currency)))}</p>"
        )
        self.chart.clear_output(wait=True)
        if self.delta.current is not None and self.delta.status != "not enough data":
            with self.chart:
                display(kpi_charts.goal_chart(self.delta, self.ctx.currency))

    def save(self) -> int:
        goal = self.goal()
        goal_id = save(self.ctx, goal)
        saved = nb.plain(goal_words.describe(goal, self.ctx.currency))
        self.message.value = f"Saved as goal {goal_id}: {html.escape(saved)}."
        return goal_id


def what_if_panel(ctx: Context, goal: Goal | None = None) -> None:
    """Show the live panel in a live session; in a report run show nothing (see module docstring)."""
    if is_live():
        from IPython.display import display

        display(WhatIfPanel(ctx, goal).widget)
