"""SMART goals and their improvement delta: how far a KPI is from its target, and what it takes.

A goal is a KPI (see `metrics`), a direction, a target (an absolute value, or a signed % change
from a baseline window: 10 means 10% above the baseline, -15 means 15% below), a deadline and
an optional customer segment. Values are weekly: flow KPIs (revenue, orders, leads...) are per
week, ratios are pooled over the weeks of a window.

A goal is met when the KPI over the `CURRENT_WEEKS` complete weeks before its deadline meets the
target. Its status is the chance of that, from a forecast (`forecast`):

- the last `TREND_WEEKS` complete weeks are fitted by least squares, value = a + b * week
  (statsmodels OLS; for ratio KPIs WLS weighted by each week's denominator, so a week of one
  review counts less than a week of twenty);
- with a year of history or more the fit compares like with like: it adds last year's value of
  the same weeks (a centred 3-week mean, `Weeks.last_year`) as a regressor, value = a + b * week + c *
  last year's value, so a December peak is expected again and not read as a trend;
- the forecast of the deadline's 4-week value is the fitted line's mean over those weeks, and its
  spread the OLS prediction variance of an average of 4 new weeks, x'Cov(beta)x + scale / 4
  (weights scaled to average 1; t with n - p degrees of freedom), widened when the series' own
  past forecasts missed by more than that (`forecast`);
- the chance is P(value meets the target) under that t distribution, on the KPI's own scale: a
  value the KPI cannot take (a share over 100%) never counts as reached.

Status from the chance (thresholds `ON_TRACK_CHANCE`, `OFF_TRACK_CHANCE`, their one home):

- **on track**: chance at least 75%; **off track**: under 25%; **at risk**: in between;
- **met** / **missed** once the deadline has passed or its 4 weeks are all in (the current value
  decides);
- **too early to tell**: fewer than `MIN_WEEKS` weeks to fit (`Delta.reason` TOO_FEW_WEEKS); the
  deadline further ahead than the weeks the fit rests on (TOO_FAR_AHEAD); or too short a
  history to check the forecast against its own past, fewer than `MIN_WEEKS` past forecasts as
  far ahead (NO_TRACK_RECORD, see `forecast`: about 2 x `MIN_WEEKS` weeks plus the distance to
  the deadline). Without that check the backtest found the chances far too sure of themselves;
- **undefined**: no target or no deadline, so no data can show it met or missed;
- **not enough data**: the KPI is unavailable (UNAVAILABLE), or it has no value now or at the
  baseline (NO_VALUE).

Seasonality also shapes what is asked: `Delta.season_change` is the change the season alone
brings between now and the deadline (c times last year's change over the same weeks), and the
improvement needed per week is what remains of the gap beyond it. `Delta.last_year` is the
current weeks' value a year earlier, to compare like with like.

`docs/calibration.md` checks the chances against what happened later in the sample clients'
history (`analytics.calibration`). Everything here is numbers and codes;
`workbook.story.goal_words` puts them into words.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from workbook.analytics import metrics
from workbook.analytics.profiles import GENERIC, PROFILES, Profile
from workbook.core.dates import BASELINE_WEEKS, baseline_window, last_complete_week_end
from workbook.core.errors import WorkbookError

CURRENT_WEEKS = 4  # "current value": the last 4 complete weeks; a goal is met over its last 4
TREND_WEEKS = 26  # the forecast is fitted on the last 26 complete weeks
MIN_WEEKS = 8  # fewer weeks with a value than this: too early to tell
SEASON_WEEKS = 52  # "the same weeks last year"
SUGGEST_HORIZON_WEEKS = 13
# The status thresholds on the chance of reaching the target (module docstring).
ON_TRACK_CHANCE, OFF_TRACK_CHANCE = 0.75, 0.25
JUDGED = ("on track", "at risk", "off track", "met", "missed")
STATUSES = (*JUDGED, "too early to tell", "undefined", "not enough data")
# Why a goal has no chance (`Delta.reason`): no rows for its KPI, no value now or at the baseline
# ("not enough data"); too few weeks to fit, a deadline further ahead than the fit, too short a
# history to check the forecast against its past errors ("too early to tell").
UNAVAILABLE, NO_VALUE = "unavailable", "no value"
TOO_FEW_WEEKS, TOO_FAR_AHEAD, NO_TRACK_RECORD = "too few weeks", "too far ahead", "no track record"


def track_record_weeks(weeks_ahead: float) -> int:
    """About how many weeks of history `forecast` needs before it can check `MIN_WEEKS` past
    forecasts made `weeks_ahead` weeks ahead (NO_TRACK_RECORD below that): `MIN_WEEKS` to fit
    the first, `MIN_WEEKS` checked origins, and the distance itself."""
    return 2 * MIN_WEEKS + math.ceil(weeks_ahead)


@dataclass
class Goal:
    metric: str
    direction: str  # "increase" | "decrease"
    target_value: float | None = None  # absolute target in the KPI's unit
    target_change_pct: float | None = None  # or a signed % change from the baseline
    deadline: dt.date | None = None
    segment: str | None = None
    baseline_start: dt.date | None = None
    baseline_end: dt.date | None = None  # last day of the baseline window (inclusive)
    baseline_value: float | None = None
    note: str = ""
    goal_id: int | None = None

    def __post_init__(self):
        metrics.get(self.metric)
        if self.direction not in ("increase", "decrease"):
            raise WorkbookError(f"A goal's direction is 'increase' or 'decrease', not {self.direction!r}.")
        pct = self.target_change_pct
        if pct is not None and pct != 0 and (pct > 0) != (self.direction == "increase"):
            raise WorkbookError(
                f"A goal to {self.direction} {self.metric} cannot have a "
                f"{pct:+g}% target: flip the sign or the direction."
            )

    @property
    def kpi(self) -> metrics.KPI:
        return metrics.get(self.metric)

    @property
    def missing(self) -> tuple[str, ...]:
        """What keeps the goal from being SMART: "target" and/or "deadline"; empty when it has both."""
        absent = (
            ("target", self.target_value is None and self.target_change_pct is None),
            ("deadline", self.deadline is None),
        )
        return tuple(name for name, is_absent in absent if is_absent)

    @property
    def defined(self) -> bool:
        return not self.missing

    def target(self, baseline: float | None = None) -> float:
        """The absolute target: the stated value, or the baseline (default: the goal's own) moved
        by the % change; NaN without a target, or without a baseline for a % change."""
        if self.target_value is not None:
            return float(self.target_value)
        base = self.baseline_value if baseline is None else baseline
        if self.target_change_pct is None or base is None:
            return math.nan
        return base * (1 + self.target_change_pct / 100)

    def baseline_dates(self, as_of: dt.date) -> tuple[dt.date, dt.date]:
        """The first and last day of the goal's baseline: its own, or the `BASELINE_WEEKS` complete
        weeks before `as_of`."""
        if self.baseline_start is None or self.baseline_end is None:
            return baseline_window(as_of)
        return self.baseline_start, self.baseline_end

    def meets(self, x: float, target: float) -> bool:
        return x >= target if self.direction == "increase" else x <= target


@dataclass
class Delta:
    """The improvement delta of a goal as of a date. Numbers are NaN where undefined."""

    goal: Goal
    as_of: dt.date
    status: str
    baseline: metrics.WindowValue | None = None
    current: metrics.WindowValue | None = None
    last_year: metrics.WindowValue | None = None  # the current weeks a year earlier (like with like)
    target: float = math.nan
    gap: float = math.nan  # target - current, in the KPI's unit
    gap_pct: float = math.nan  # gap / |current|
    progress: float = math.nan  # share of the baseline-to-target way covered so far
    weeks_left: float = math.nan
    season_change: float = math.nan  # change the season alone brings by the deadline (0: no season)
    required_per_week: float = math.nan  # change per week needed beyond the season's
    slope_per_week: float = math.nan  # the fitted trend, with its 95% interval
    slope_low: float = math.nan
    slope_high: float = math.nan
    trend_now: float = math.nan  # the fitted line over the current weeks
    projected: float = math.nan  # forecast of the deadline's 4 weeks, with its 95% range
    projected_low: float = math.nan
    projected_high: float = math.nan
    chance: float = math.nan  # probability of meeting the target by the deadline
    seasonal: bool = False  # the forecast compares with the same weeks last year
    fitted_weeks: int = 0
    history: pd.DataFrame = field(default_factory=pd.DataFrame)  # weekly series (aggregates)
    projection: pd.DataFrame = field(
        default_factory=pd.DataFrame
    )  # forecast of the 4 weeks ending each week, last complete week -> deadline: value, low, high
    reason: str = ""  # for "not enough data" / "too early to tell": UNAVAILABLE, NO_VALUE ...
    proposal: Goal | None = None  # a SMART version of an undefined goal


@dataclass
class Weeks:
    """A `metrics.series` frame's complete weeks on a gap-free weekly grid from its first week
    to `until` (exclusive; weeks ahead have no value), as arrays: what the forecasts read."""

    start: pd.Timestamp  # the grid's week 0
    value: np.ndarray
    num: np.ndarray
    den: np.ndarray
    usable: np.ndarray  # a week with a value (and, for a ratio, a denominator)
    last_year: np.ndarray  # the centred 3-week mean around the same week a year earlier; NaN without

    @classmethod
    def of(cls, history: pd.DataFrame, kpi: metrics.KPI, until: pd.Timestamp) -> Weeks:
        frame = history[history["complete"]].set_index("period")
        grid = pd.date_range(frame.index[0], max(until - pd.Timedelta(weeks=1), frame.index[-1]), freq="7D")
        frame = frame.reindex(grid)
        value = frame["value"].to_numpy(dtype=float)
        den = frame["den"].to_numpy(dtype=float)
        usable = ~np.isnan(value) & ((den > 0) if kpi.kind == "ratio" else True)
        smooth = frame["value"].rolling(3, center=True, min_periods=2).mean()
        return cls(
            grid[0],
            value,
            frame["num"].to_numpy(dtype=float),
            den,
            usable,
            smooth.shift(SEASON_WEEKS).to_numpy(),
        )

    def index(self, day: dt.date | pd.Timestamp) -> int:
        """The grid position of the week starting on `day` (a Monday)."""
        return (pd.Timestamp(day) - self.start).days // 7

    def actual(self, kpi: metrics.KPI, end: int) -> float:
        """The KPI over the `CURRENT_WEEKS` weeks before position `end`, as `metrics.window_value`
        pools it (a stock KPI: its last week's value)."""
        weeks = slice(max(end - CURRENT_WEEKS, 0), end)
        ok = self.usable[weeks]
        if kpi.kind == "stock":
            return float(self.value[weeks][ok][-1]) if ok.any() else math.nan
        den = self.den[weeks][ok].sum()
        return float(self.num[weeks][ok].sum() / den) if den > 0 else math.nan  # metrics.pooled's value


@dataclass
class Forecast:
    """A KPI's weekly model (module docstring) and what it says about 4-week windows ahead."""

    kpi: metrics.KPI
    fit: sm.regression.linear_model.RegressionResults
    weeks: Weeks
    first: int  # grid position of the first fitted week (the model's week 0)
    seasonal: bool  # last year's value is a regressor
    fitted: int  # weeks fitted
    span: float  # weeks from the first fitted week to the end of the last
    spread: float = 1.0  # the se's factor from the series' past errors (`forecast`)
    checks: int = 0  # past forecasts that spread rests on

    def design(self, positions: np.ndarray) -> np.ndarray:
        return _design(self.weeks, self.first, self.seasonal, positions)

    def window(self, end: int) -> tuple[float, float]:
        """(mean, standard error) of the KPI over the `CURRENT_WEEKS` weeks before grid position
        `end`: the mean of the fitted rows, and the root of the prediction variance of a
        4-week mean, x'Cov(beta)x + scale / 4 (weights average 1), times `spread`."""
        x = self.design(np.arange(end - CURRENT_WEEKS, end)).mean(axis=0)
        var = float(x @ np.asarray(self.fit.cov_params()) @ x) + self.fit.scale / CURRENT_WEEKS
        return float(x @ np.asarray(self.fit.params)), self.spread * math.sqrt(max(var, 0.0))

    def interval(self, end: int, level: float = 0.95) -> tuple[float, float, float]:
        """(forecast, low, high) of the 4 weeks before `end`, kept to the values the KPI can take."""
        mean, se = self.window(end)
        half = stats.t.ppf(0.5 + level / 2, self.fit.df_resid) * se
        return self.kpi.within(mean), self.kpi.within(mean - half), self.kpi.within(mean + half)

    def too_early(self, end: int, until: int) -> str:
        """Why the chance of the 4 weeks before `until`, forecast at `end`, cannot be trusted yet
        (TOO_FAR_AHEAD, NO_TRACK_RECORD; module docstring), or "" when it can."""
        if until - end > self.span:
            return TOO_FAR_AHEAD
        return NO_TRACK_RECORD if self.checks < MIN_WEEKS else ""

    def chance(self, direction: str, target: float, end: int) -> float:
        """P(the KPI over the 4 weeks before `end` meets `target`): the t forecast on the KPI's
        scale, so a target past the scale's end is never reached and one at its other end always is."""
        low, high = self.kpi.possible or metrics.UNIT_RANGE[self.kpi.unit]
        mean, se = self.window(end)
        if direction == "decrease":  # mirror: P(Y <= target) = P(-Y >= -target)
            mean, target, low, high = -mean, -target, -high, -low
        if target <= low:
            return 1.0
        if target > high:
            return 0.0
        if se == 0:
            return float(mean >= target)
        return float(stats.t.sf((target - mean) / se, self.fit.df_resid))


def _design(weeks: Weeks, first: int, seasonal: bool, positions: np.ndarray) -> np.ndarray:
    """The model's rows (1, week, [last year's value]) for the weeks at grid `positions`."""
    columns = [np.ones(len(positions)), (positions - first).astype(float)]
    if seasonal:
        columns.append(weeks.last_year[positions])
    return np.column_stack(columns)


def _fit(kpi: metrics.KPI, weeks: Weeks, end: int, until: int, plain: bool = False) -> Forecast | None:
    """The model on the `TREND_WEEKS` weeks before grid position `end`, for weeks up to `until`;
    None with fewer than `MIN_WEEKS` usable weeks. Seasonal (unless `plain`) when at least half
    the fitted weeks and every week ahead have last year's value."""
    rows = np.arange(max(end - TREND_WEEKS, 0), end)
    rows = rows[weeks.usable[rows]]
    known = ~np.isnan(weeks.last_year[rows])
    seasonal = bool(
        not plain
        and known.sum() >= max(MIN_WEEKS, TREND_WEEKS // 2)
        and not np.isnan(weeks.last_year[end:until]).any()
    )
    if seasonal:
        rows = rows[known]
    if len(rows) < MIN_WEEKS:
        return None
    den = weeks.den[rows]
    weights = den / den.mean() if kpi.kind == "ratio" else np.ones(len(rows))
    fit = sm.WLS(weeks.value[rows], _design(weeks, int(rows[0]), seasonal, rows), weights=weights).fit()
    return Forecast(kpi, fit, weeks, int(rows[0]), seasonal, len(rows), float(end - rows[0]))


def forecast(history: pd.DataFrame, kpi: metrics.KPI, end: dt.date, until: dt.date) -> Forecast | None:
    """The model fitted on the complete weeks of a `metrics.series` frame before `end` (a
    Monday), able to forecast the weeks up to `until`; None with fewer than `MIN_WEEKS` weeks.

    Its spread is then checked against the series' own past: the model fitted at every earlier
    week, forecasting the same distance ahead, gives standardized errors z = (what happened -
    forecast) / se. With at least `MIN_WEEKS` of them the forecast's se is widened so that it
    would have held 90% of them: times the 90th percentile of |z| over 1.645 (its value for
    normal errors), when above 1 (an empirical prediction interval, Williams & Goodman 1971; a
    percentile, not the root mean square, so one freak week does not swamp the rest):
    a straight line fitted to a series whose level wanders is surer of itself than its past
    errors allow. With fewer checks than that the chance is not given (`Forecast.too_early`).
    """
    weeks = Weeks.of(history, kpi, pd.Timestamp(until))
    e, u = weeks.index(end), weeks.index(until)
    model = _fit(kpi, weeks, e, u)
    if model is None:
        return None
    errors = []
    for origin in range(MIN_WEEKS, e - (u - e) + 1):
        past = _fit(kpi, weeks, origin, origin + u - e)
        actual = weeks.actual(kpi, origin + u - e)
        if past is not None and not math.isnan(actual):
            mean, se = past.window(origin + u - e)
            if se > 0:
                errors.append((actual - mean) / se)
    if len(errors) >= MIN_WEEKS:
        model.spread = max(1.0, float(np.quantile(np.abs(errors), 0.9)) / stats.norm.ppf(0.95))
    model.checks = len(errors)
    return model


def _baseline(
    con: duckdb.DuckDBPyConnection, goal: Goal, as_of: dt.date
) -> tuple[Goal, dt.date, metrics.WindowValue]:
    """The goal with its baseline window filled in, the window's first day, and the KPI over it."""
    start, last = goal.baseline_dates(as_of)
    goal = replace(goal, baseline_start=start, baseline_end=last)
    value = metrics.value(con, goal.kpi, start, last + dt.timedelta(days=1), goal.segment)
    if goal.baseline_value is not None:  # stored when the goal was agreed: keep what was agreed
        value = replace(value, value=goal.baseline_value)
    return goal, start, value


def delta(con: duckdb.DuckDBPyConnection, goal: Goal, as_of: dt.date) -> Delta:
    """The improvement delta of `goal` as of `as_of` (see the module docstring for the rule)."""
    kpi = goal.kpi
    if not metrics.available(con, kpi):
        return Delta(goal, as_of, "not enough data", reason=UNAVAILABLE)
    deadline = goal.deadline
    if deadline is None or not goal.defined:
        return Delta(goal, as_of, "undefined", proposal=propose(con, goal, as_of))
    goal, start, base = _baseline(con, goal, as_of)
    end = last_complete_week_end(as_of)
    since = min(start, end - dt.timedelta(weeks=TREND_WEEKS + SEASON_WEEKS + 2))
    history = metrics.series(con, kpi, "week", as_of=as_of, segment=goal.segment, since=since)
    week = dt.timedelta(weeks=1)
    current = metrics.window_value(history, kpi, end - CURRENT_WEEKS * week, end)
    d = Delta(goal, as_of, "not enough data", baseline=base, current=current, history=history)
    if math.isnan(current.value) or math.isnan(base.value):
        d.reason = NO_VALUE
        return d
    year_ago = end - SEASON_WEEKS * week
    last_year = metrics.window_value(history, kpi, year_ago - CURRENT_WEEKS * week, year_ago)
    d.last_year = None if math.isnan(last_year.value) else last_year
    d.target = goal.target(base.value)
    d.gap = d.target - current.value
    d.gap_pct = d.gap / abs(current.value) if current.value else math.nan
    d.progress = (
        (current.value - base.value) / (d.target - base.value) if d.target != base.value else math.nan
    )
    d.weeks_left = (deadline - as_of).days / 7
    deadline_end = last_complete_week_end(deadline)  # the deadline's 4 weeks end here
    if d.weeks_left <= 0 or deadline_end <= end:  # the weeks that decide are in
        d.status = "met" if goal.meets(current.value, d.target) else "missed"
        return d
    d.required_per_week = d.gap / d.weeks_left  # beyond the season's change, once there is one
    model = forecast(history, kpi, end, deadline_end)
    if model is None:
        d.status, d.reason = "too early to tell", TOO_FEW_WEEKS
        return d
    d.seasonal, d.fitted_weeks = model.seasonal, model.fitted
    slope = model.fit.params[1], *model.fit.conf_int(0.05)[1]
    d.slope_per_week, d.slope_low, d.slope_high = (float(s) for s in slope)
    now, due = model.weeks.index(end), model.weeks.index(deadline_end)
    d.trend_now = model.window(now)[0]
    d.projected, d.projected_low, d.projected_high = model.interval(due)
    if d.seasonal:  # the season's part of the change: c times last year's change over the same weeks
        ahead = model.design(np.arange(due - CURRENT_WEEKS, due))[:, 2].mean()
        d.season_change = float(model.fit.params[2]) * (
            ahead - model.design(np.arange(now - CURRENT_WEEKS, now))[:, 2].mean()
        )
    else:
        d.season_change = 0.0
    d.required_per_week = (d.gap - d.season_change) / d.weeks_left
    d.projection = pd.DataFrame(
        [(model.weeks.start + pd.Timedelta(weeks=w - 1), *model.interval(w)) for w in range(now, due + 1)],
        columns=["period", "value", "low", "high"],
    )
    d.reason = model.too_early(now, due)
    if d.reason:
        d.status = "too early to tell"
        return d
    d.chance = model.chance(goal.direction, d.target, due)
    d.status = status(d.chance)
    return d


def status(chance: float) -> str:
    """The badge of a chance of reaching the target (thresholds in the module docstring)."""
    if chance >= ON_TRACK_CHANCE:
        return "on track"
    return "off track" if chance < OFF_TRACK_CHANCE else "at risk"


def suggest(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    as_of: dt.date,
    segment: str | None = None,
    direction: str | None = None,
) -> Goal | None:
    """A SMART goal from the baseline: the KPI's usual step (e.g. +10%) within 13 weeks, in the
    KPI's better direction unless `direction` says otherwise (then the step is mirrored); from the
    last 4 weeks instead when they already meet that step, so no suggestion is met on day one.

    None when the KPI has no baseline (unavailable or no complete weeks).
    """
    kpi = metrics.get(metric)
    if not metrics.available(con, kpi):
        return None
    start, last = baseline_window(as_of)
    base = metrics.value(con, kpi, start, last + dt.timedelta(days=1), segment)
    if math.isnan(base.value):
        return None
    how, step = kpi.suggest
    better = "increase" if kpi.better == "up" else "decrease"
    direction = direction or better
    if direction != better:
        step = -step
    goal = Goal(
        metric,
        direction,
        deadline=as_of + dt.timedelta(weeks=SUGGEST_HORIZON_WEEKS),
        segment=segment,
        baseline_start=start,
        baseline_end=last,
        baseline_value=base.value,
        note=f"Suggested from the {BASELINE_WEEKS}-week baseline",
    )

    def step_from(x: float) -> float:
        target = x * (1 + step / 100) if how == "pct" else x + step
        if kpi.unit == "share":  # a share cannot pass 100% (or 0%): go at most half-way there
            target = min(target, (1 + x) / 2) if direction == "increase" else max(target, x / 2)
        return target

    target = step_from(base.value)
    end = last + dt.timedelta(days=1)
    now = metrics.value(con, kpi, end - dt.timedelta(weeks=CURRENT_WEEKS), end, segment).value
    if not math.isnan(now) and goal.meets(now, target):  # met on day one: a step from where it is now
        target = step_from(now)
        goal.note = f"Suggested from the last {CURRENT_WEEKS} weeks, already past the baseline's step"
    if how == "pct" and target == base.value * (1 + step / 100):
        goal.target_change_pct = step
    else:
        goal.target_value = target
    return goal


def propose(con: duckdb.DuckDBPyConnection, goal: Goal, as_of: dt.date) -> Goal | None:
    """A SMART version of a goal that lacks a target or a deadline: what the user gave (direction,
    segment, target, deadline) kept as given, only what is missing taken from `suggest`.

    None when the KPI has no baseline to suggest from.
    """
    proposal = suggest(con, goal.metric, as_of, goal.segment, goal.direction)
    if proposal is None:
        return None
    if "target" not in goal.missing:
        proposal = replace(proposal, target_value=goal.target_value, target_change_pct=goal.target_change_pct)
    if goal.deadline is not None:
        proposal.deadline = goal.deadline
    return proposal


def suggested_goals(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, profile: Profile = PROFILES[GENERIC], limit: int = 4
) -> list[Goal]:
    """Up to `limit` suggested goals over the client's available KPIs, in the order of the
    industry profile's `goal_kpis`."""
    goals = []
    for name in profile.goal_kpis:
        goal = suggest(con, name, as_of)
        if goal is not None:
            goals.append(goal)
        if len(goals) == limit:
            break
    return goals


def kpi_baselines(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    weeks: int = BASELINE_WEEKS,
    profile: Profile | None = None,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Every available KPI's baseline over the last `weeks` complete weeks, the same weeks a year
    earlier (like with like: NaN without data then), and its weekly series (of the KPIs the
    industry `profile` shows, when given).

    Returns (table with kpi, label, value, low, high, weeks, last_year, better, description;
    {label: weekly series frame} for sparklines).
    """
    start, last = baseline_window(as_of, weeks)
    year = dt.timedelta(weeks=SEASON_WEEKS)
    rows, frames = [], {}
    for kpi in metrics.available_kpis(con, profile):
        frame = metrics.series(con, kpi, "week", as_of=as_of)
        base = metrics.window_value(frame, kpi, start, last + dt.timedelta(days=1))
        before = metrics.window_value(frame, kpi, start - year, last + dt.timedelta(days=1) - year)
        frames[kpi.label] = frame
        rows.append(
            {
                "kpi": kpi.name,
                "label": kpi.label,
                "value": base.value,
                "low": base.low,
                "high": base.high,
                "weeks": base.periods,
                "last_year": before.value if before.periods == base.periods else math.nan,
                "better": kpi.better,
                "description": kpi.description,
            }
        )
    return pd.DataFrame(rows), frames
