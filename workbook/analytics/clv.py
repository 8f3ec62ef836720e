"""Predictive customer lifetime value: BG/NBD for repeat purchases, Gamma-Gamma for spend.

- BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative
  to the Pareto/NBD Model", Marketing Science 24(2). While alive, a customer buys at rate
  lambda ~ Gamma(r, alpha); after each purchase they drop out with probability p ~ Beta(a, b).
- Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer
  Base Analysis", Journal of Marketing Research 42(4), and Hardie's note "The Gamma-Gamma
  Model of Monetary Value" (2013). Spend per transaction ~ Gamma(p, nu), nu ~ Gamma(q, gamma),
  independent of the purchase process.

Both are fitted by maximum likelihood (scipy.optimize on log-parameters). The per-customer
summary is computed in DuckDB, as in the papers: frequency x = repeat purchases counted in
distinct purchase days after the first one, recency t_x = weeks from the first to the last
purchase day, age T = weeks from the first purchase day to the end of calibration. Identical
(x, t_x, T) rows are grouped with counts before fitting, so the likelihood is evaluated once
per distinct row, not once per customer.

A purchase day is a day with at least one purchase (`measures.PURCHASE_DAY`: $0 orders count,
cancelled and fully refunded ones do not; anonymous orders are left out); spend `monetary` is
the customer's net revenue (refunds included) after the first purchase day in calibration, per
repeat purchase day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import betaln, digamma, gammaln, hyp2f1
from threadpoolctl import threadpool_limits

from workbook import store
from workbook.analytics import measures
from workbook.analytics.cohorts import purchase_days_sql
from workbook.core.errors import WorkbookError

MIN_REPEAT_CUSTOMERS = 30  # below this the four BG/NBD parameters are not identified in practice
WEEKS_PER_MONTH = 52 / 12
WARM_START_ROWS = 3_000  # BG/NBD on over twice this many distinct histories: start from a sample


class NotEnoughRepeatData(WorkbookError):
    """Too few customers bought more than once to fit a repeat-purchase model."""


def _history_sql(cutoff: str, suffix: str = "") -> str:
    """Per-customer aggregates of `days` up to the date `cutoff` (an SQL parameter), names
    ending in `suffix`: x (purchase days after the first), last (last purchase day) and
    total (net revenue of every day)."""
    return f"""count(*) FILTER (WHERE purchase AND day <= {cutoff}) - 1 AS x{suffix},
           max(day) FILTER (WHERE purchase AND day <= {cutoff}) AS last{suffix},
           sum(revenue) FILTER (WHERE day <= {cutoff}) AS total{suffix}"""


def _per_customer_sql() -> str:
    """CTEs ending in `per`: one row per customer with a first purchase on or before $end:
    customer_id, first_day, x, t_x, T (weeks), monetary (NaN when x = 0) as of $end; the same
    as of $cal with names ending in _cal (for customers with first_day <= $cal); x_holdout
    (purchase days in ($cal, $end]). Orders after $end are ignored. Bound: $cal, $end.

    One pass over the customer-days: spend after the first purchase day is the net revenue of
    all days less that of the first purchase day, less that of the orders dated before it
    (refunds, cancelled orders: a second, small join, for the rare customers with such orders)."""
    return f"""{purchase_days_sql("$end")},
        agg AS (
            SELECT customer_id, min(day) FILTER (WHERE purchase) AS first_day,
                   arg_min(revenue, day) FILTER (WHERE purchase) AS first_revenue,
                   min(day) AS first_order_day,
                   {_history_sql("$end")}, {_history_sql("$cal", "_cal")},
                   count(*) FILTER (WHERE purchase AND day > $cal) AS x_holdout
            FROM days GROUP BY customer_id HAVING bool_or(purchase)),
        before AS (
            SELECT customer_id, {measures.NET_REVENUE.sql}::DOUBLE AS revenue
            FROM agg JOIN orders o USING (customer_id)
            WHERE agg.first_order_day < agg.first_day AND o.ordered_at < agg.first_day
            GROUP BY 1),
        per AS (
            SELECT customer_id, first_day,
                   x, date_diff('day', first_day, last) / 7.0 AS t_x,
                   date_diff('day', first_day, CAST($end AS DATE)) / 7.0 AS "T",
                   (total - first_revenue - coalesce(b.revenue, 0)) / nullif(x, 0) AS monetary,
                   x_cal, date_diff('day', first_day, last_cal) / 7.0 AS t_x_cal,
                   date_diff('day', first_day, CAST($cal AS DATE)) / 7.0 AS "T_cal",
                   (total_cal - first_revenue - coalesce(b.revenue, 0)) / nullif(x_cal, 0) AS monetary_cal,
                   x_holdout
            FROM agg LEFT JOIN before b USING (customer_id))"""


def summary(
    con: duckdb.DuckDBPyConnection, calibration_end: dt.date | str, holdout_end: dt.date | str | None = None
) -> pd.DataFrame:
    """Per customer with a first purchase on or before `calibration_end`: x, t_x, T (weeks),
    monetary (NaN when x = 0) and, when `holdout_end` is given, x_holdout = purchase days in
    (calibration_end, holdout_end]. Columns: customer_id, first_day, x, t_x, T, monetary,
    x_holdout. Orders after `holdout_end` (or `calibration_end`) are ignored. (The models are
    fitted on `histories`, the same numbers grouped.)"""
    return con.execute(
        f"""WITH {_per_customer_sql()}
        SELECT customer_id, first_day, x_cal AS x, t_x_cal AS t_x, "T_cal" AS "T",
               monetary_cal AS monetary, x_holdout
        FROM per WHERE first_day <= $cal ORDER BY first_day, customer_id""",
        {"end": holdout_end or calibration_end, "cal": calibration_end},
    ).df()


@dataclass
class Histories:
    """The customers of `summary`, grouped in DuckDB so that no frame has a row per customer.

    purchases: customers up to as_of, one row per distinct (x, t_x, T) with its number of
      customers and their mean monetary (negative means and x = 0 counted as 0, as
      `GammaGamma.expected_spend` takes them): what BG/NBD fits and predicts on.
    spend: repeat customers up to as_of with a positive mean spend, one row per distinct
      (x, monetary) with its number of customers: what Gamma-Gamma fits on.
    calibration: like purchases, for the customers and purchases up to the calibration end,
      with their total x_holdout (purchase days after it, up to as_of); None without one.
    """

    purchases: pd.DataFrame
    spend: pd.DataFrame
    calibration: pd.DataFrame | None


def histories(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, calibration_end: dt.date | str | None = None
) -> Histories:
    """The customers grouped for the models (see `Histories`), in one pass over the orders."""
    frame = con.execute(
        f"""WITH {_per_customer_sql()}
        SELECT 0 AS part, x, t_x, "T", count(*) AS customers, NULL AS x_holdout,
               avg(greatest(coalesce(monetary, 0), 0)) AS monetary
        FROM per GROUP BY x, t_x, "T"
        UNION ALL
        SELECT 1, x, NULL, NULL, count(*), NULL, monetary
        FROM per WHERE x > 0 AND monetary > 0 GROUP BY x, monetary
        UNION ALL
        SELECT 2, x_cal, t_x_cal, "T_cal", count(*), sum(x_holdout),
               avg(greatest(coalesce(monetary_cal, 0), 0))
        FROM per WHERE $calibrate AND first_day <= $cal GROUP BY x_cal, t_x_cal, "T_cal"
        ORDER BY part, x, t_x, "T", monetary""",
        {"end": as_of, "cal": calibration_end or as_of, "calibrate": calibration_end is not None},
    ).df()
    purchases, spend, calibration = (
        frame[frame["part"] == i].drop(columns="part").reset_index(drop=True) for i in range(3)
    )  # part: 0, 1, 2 as in the query
    return Histories(
        purchases.drop(columns="x_holdout"),
        spend[["x", "monetary", "customers"]],
        calibration if calibration_end is not None else None,
    )


def _distinct(*columns, sort: bool = False) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the given columns (in order of appearance, or sorted) and, for each
    input row, the position of its distinct row: costly functions of few distinct values run
    once each. A hash groupby, several times faster than np.unique's row sort."""
    frame = pd.DataFrame({i: np.ravel(np.asarray(c, dtype=float)) for i, c in enumerate(columns)})
    index = frame.groupby(list(frame.columns), sort=sort).ngroup().to_numpy()
    first = np.unique(index, return_index=True)[1]
    return [frame[i].to_numpy()[first] for i in frame.columns], index


def _group(*columns) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the given columns, sorted, and how often each occurs."""
    rows, index = _distinct(*columns, sort=True)
    return rows, np.bincount(index).astype(float)


LOG_BOUND = 12.0  # parameters kept within exp(-12)..exp(12)


def _fit(negative_ll, start: np.ndarray, what: str, jac: bool = False) -> list[float]:
    """Minimise a negative log-likelihood over log-parameters; returns the parameters.
    With `jac`, `negative_ll` returns (value, gradient in the log-parameters).

    The log-parameters are bounded by +-LOG_BOUND: when the data show no heterogeneity in a
    rate or a dropout probability, the likelihood keeps rising as both shape parameters of
    its mixing distribution grow together (it tends to a point mass). The bounded optimum is
    then a near-point-mass with the right mean, which predicts the same, instead of a
    runaway optimizer. L-BFGS-B stops when an iteration improves the log-likelihood by less
    than 1e-10 of it: a sum over 10^5 or more customers carries rounding noise near 1e-11 of
    its value, so a tighter tolerance only makes the line search thrash at the same optimum
    (30 more evaluations and an "ABNORMAL" stop on 1M orders, identical parameters).
    """
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    # one BLAS thread: the likelihoods' long dot products and the optimizer's tiny vector
    # operations are several times slower when OpenBLAS wakes its threads, worst when other
    # processes share the cores (a batch of reports)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), threadpool_limits(1, user_api="blas"):
        result = optimize.minimize(
            negative_ll,
            np.log(start),
            method="L-BFGS-B",
            bounds=bounds,
            jac=jac,
            options={"ftol": 1e-10, "gtol": 1e-8},
        )
    params = [float(v) for v in np.exp(result.x)]
    if not (np.all(np.isfinite(params)) and np.isfinite(result.fun)):
        raise WorkbookError(
            f"The {what} fit did not converge on this data. The purchase history "
            "may be too short or too uniform; try an earlier as_of or more history."
        )
    return params


def _require_repeaters(x: np.ndarray, weights: np.ndarray, what: str) -> None:
    repeaters = int(np.sum(weights[np.asarray(x) > 0]))
    if repeaters < MIN_REPEAT_CUSTOMERS:
        raise NotEnoughRepeatData(
            f"Only {repeaters} of {int(np.sum(weights))} customers bought again, so {what} cannot be estimated "
            f"reliably (it needs at least {MIN_REPEAT_CUSTOMERS} repeat customers). Import a longer "
            "order history, or use the historic cohort value curves instead."
        )


@dataclass(frozen=True)
class BGNBD:
    """A fitted BG/NBD model (Fader, Hardie & Lee 2005); time unit: weeks."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int

    def _odds_dead(self, x, t_x, T):
        """a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x) for x > 0, else 0 (FHL 2005 eq. 11)."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = (self.a / (self.b + x - 1)) * np.exp(
                (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x))
            )
        return np.where(x > 0, odds, 0.0)

    def p_alive(self, x, t_x, T) -> np.ndarray:
        """P(still a customer | x, t_x, T) = 1 / (1 + delta_{x>0} a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))."""
        return 1.0 / (1.0 + self._odds_dead(x, t_x, T))

    def _purchases_if_alive(self, t: float, x, T) -> np.ndarray:
        """The numerator of FHL 2005 eq. 10, a function of (x, T) only:
        (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))]."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        head = (a + b + x - 1) / (a - 1)
        return head * (
            1
            - ((alpha + T) / (alpha + T + t)) ** (r + x)
            * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        )

    def expected_purchases(self, t: float, x, t_x, T) -> np.ndarray:
        """E[Y(t) | x, t_x, T], expected repeat purchases in the next t weeks (FHL 2005 eq. 10):
        `_purchases_if_alive` / (1 + delta_{x>0} a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)).
        The hypergeometric function is evaluated once per distinct (x, T)."""
        x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T)))
        (ux, uT), index = _distinct(x, T)
        alive = self._purchases_if_alive(t, ux, uT)[index].reshape(x.shape)
        return alive / (1.0 + self._odds_dead(x, t_x, T))


class _Rows:
    """Per-customer (x, t_x, T) rows, grouped and prepared once for the many likelihood
    evaluations of a fit: customers with x = 0 have no dropout term, and every term that
    depends on x alone is summed per distinct x (few values) instead of per row."""

    def __init__(self, x, t_x, T, weights=None):
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
        self.xs, at = np.unique(x, return_inverse=True)
        self.weight_per_x = np.bincount(at, weights=w, minlength=len(self.xs))
        repeat = x > 0
        self.T0, self.w0 = T[~repeat], w[~repeat]
        self.x, self.t_x, self.T, self.w = x[repeat], t_x[repeat], T[repeat], w[repeat]
        self.at = at[repeat]

    def log_likelihood(self, params, gradient: bool = False):
        """FHL 2005 eq. 6 summed over rows (see `bgnbd_log_likelihood`); with `gradient`,
        (value, gradient in (r, alpha, a, b))."""
        r, alpha, a, b = params
        xs, n_x = self.xs, self.weight_per_x
        # terms of x alone: lnG(r+x) - lnG(r) + r ln(alpha) + lnB(a, b+x) - lnB(a, b)
        common = gammaln(r + xs) - gammaln(r) + r * np.log(alpha) + betaln(a, b + xs) - betaln(a, b)
        log_alive0 = np.log(alpha + self.T0)  # x = 0: only the "still alive" term
        log_T, log_tx = np.log(alpha + self.T), np.log(alpha + self.t_x)
        rx = r + self.x
        log_odds_x = np.log(a) - np.log(np.maximum(b + xs - 1, 1e-300))  # unused for x = 0
        # ln L = common - (r+x) ln(alpha+T) + ln(1 + e^z), z = ln(dead term / alive term)
        z = log_odds_x[self.at] + rx * (log_T - log_tx)
        small = np.exp(-np.abs(z))  # ln(1 + e^z), stably and without
        softplus = np.maximum(z, 0.0) + np.log1p(small)  # np.logaddexp (several times slower)
        value = float(n_x @ common - r * (self.w0 @ log_alive0) + self.w @ (softplus - rx * log_T))
        if not gradient:
            return value
        ws = (
            self.w * np.where(z >= 0, 1.0, small) / (1.0 + small)
        )  # weight x s = sigmoid(z), the dropout term's share
        ws_per_x = np.bincount(self.at, weights=ws, minlength=len(xs))
        psi_abx = digamma(a + b + xs)
        d_r = (
            n_x @ (digamma(r + xs) - digamma(r) + np.log(alpha))
            - self.w0 @ log_alive0
            - self.w @ log_T
            + ws @ (log_T - log_tx)
        )
        inv_T, inv_tx = 1.0 / (alpha + self.T), 1.0 / (alpha + self.t_x)
        d_alpha = (
            n_x.sum() * r / alpha
            - r * (self.w0 @ (1.0 / (alpha + self.T0)))
            - (self.w - ws) @ (rx * inv_T)
            - ws @ (rx * inv_tx)
        )
        d_a = n_x @ (digamma(a + b) - psi_abx) + ws.sum() / a
        with np.errstate(divide="ignore", invalid="ignore"):
            inv_b = np.where(xs > 0, 1.0 / (b + xs - 1), 0.0)
        d_b = n_x @ (digamma(b + xs) - psi_abx - digamma(b) + digamma(a + b)) - ws_per_x @ inv_b
        return value, np.array([d_r, d_alpha, d_a, d_b])


def bgnbd_log_likelihood(params, x, t_x, T, weights=None, gradient: bool = False):
    """Sum of weighted BG/NBD log-likelihoods (FHL 2005 eq. 6):

    L(r, alpha, a, b | x, t_x, T) = B(a, b+x)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
        + delta_{x>0} B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x)).

    With `gradient`, returns (value, d value / d(r, alpha, a, b)): with s the share of the
    second ("dropped out after t_x") term in L and psi the digamma function,
      d/dr     = psi(r+x) - psi(r) + ln alpha - (1-s) ln(alpha+T) - s ln(alpha+t_x)
      d/dalpha = r/alpha - (r+x) ((1-s)/(alpha+T) + s/(alpha+t_x))
      d/da     = psi(a+b) - psi(a+b+x) + s/a
      d/db     = psi(b+x) - psi(a+b+x) - psi(b) + psi(a+b) - s/(b+x-1).
    """
    return _Rows(x, t_x, T, weights).log_likelihood(params, gradient)


def fit_bgnbd(x, t_x, T, weights=None) -> BGNBD:
    """Maximum-likelihood BG/NBD fit on per-customer arrays (weeks), or on grouped rows when
    `weights` gives each row's number of customers (identical rows are grouped here
    otherwise). The optimizer gets the analytic gradient and, with many distinct rows, starts
    from the fit on an evenly spread sample of them (weighted up), so that the full data only
    polishes it (20 instead of 45 evaluations on 1M orders). Raises NotEnoughRepeatData when
    fewer than MIN_REPEAT_CUSTOMERS bought again."""
    if weights is None:
        (gx, gt, gT), counts = _group(x, t_x, T)
    else:
        gx, gt, gT, counts = (np.asarray(v, dtype=float) for v in (x, t_x, T, weights))
    _require_repeaters(gx, counts, "the repeat-purchase model (BG/NBD)")
    mean_age = float(np.average(gT, weights=counts))
    start = [1.0, max(mean_age, 1.0), 1.0, 1.0]
    step = len(gx) // WARM_START_ROWS
    if step > 1:  # the fit on every step-th row lands near the optimum in a fraction of the time
        start = _fit_rows(_Rows(gx[::step], gt[::step], gT[::step], counts[::step] * step), start)
    rows = _Rows(gx, gt, gT, counts)
    params = _fit_rows(rows, start)
    r, alpha, a, b = params
    return BGNBD(r, alpha, a, b, log_likelihood=rows.log_likelihood(params), customers=int(counts.sum()))


def _fit_rows(rows: _Rows, start: Sequence[float]) -> list[float]:
    """BG/NBD parameters maximising the likelihood of `rows`, from `start` (parameters)."""

    def negative(log_params):
        params = np.exp(log_params)
        value, grad = rows.log_likelihood(params, gradient=True)
        return -value, -grad * params  # chain rule: d/d(log p) = p d/dp

    return _fit(negative, np.asarray(start, dtype=float), "BG/NBD", jac=True)


@dataclass(frozen=True)
class GammaGamma:
    """A fitted Gamma-Gamma spend model (Fader, Hardie & Lee 2005b)."""

    p: float
    q: float
    gamma: float
    customers: int

    @property
    def mean_spend(self) -> float:
        """Population mean spend per transaction, p gamma / (q - 1) (infinite when q <= 1)."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("inf")

    def expected_spend(self, x, monetary) -> np.ndarray:
        """E[Z | x, m_x] = p (gamma + x m_x) / (p x + q - 1): a weighted mean of the population
        mean and the customer's own mean; customers with x = 0 get the population mean."""
        x = np.asarray(x, dtype=float)
        m = np.nan_to_num(np.asarray(monetary, dtype=float), nan=0.0).clip(min=0.0)
        return self.p * (self.gamma + x * m) / (self.p * x + self.q - 1)


class _SpendRows:
    """Repeat customers' (x, m_x) rows prepared once for the likelihood evaluations of a
    Gamma-Gamma fit: the terms without parameters inside a logarithm are summed up front."""

    def __init__(self, x, monetary, weights=None):
        x, m = np.asarray(x, dtype=float), np.asarray(monetary, dtype=float)
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
        self.xs, at = np.unique(x, return_inverse=True)
        self.weight_per_x = np.bincount(at, weights=w, minlength=len(self.xs))
        self.w, self.wx, self.xm = w, w * x, x * m
        self.sum_w_log_m, self.sum_wx_log_xm = w @ np.log(m), self.wx @ np.log(x * m)

    def log_likelihood(self, params, gradient: bool = False):
        """Sum of weighted Gamma-Gamma log-likelihoods of mean spend m_x over x transactions:

        ln L = lnG(px+q) - lnG(px) - lnG(q) + q ln(gamma) + (px-1) ln(m_x) + px ln(x)
               - (px+q) ln(gamma + x m_x)      (Hardie 2013, eq. 5)

        With `gradient`, (value, gradient in (p, q, gamma)): with psi the digamma function,
          d/dp     = x (psi(px+q) - psi(px) + ln(x m_x) - ln(gamma + x m_x))
          d/dq     = psi(px+q) - psi(q) + ln(gamma) - ln(gamma + x m_x)
          d/dgamma = q/gamma - (px+q)/(gamma + x m_x).
        """
        p, q, gamma = params
        xs, n_x = self.xs, self.weight_per_x
        log_total = np.log(gamma + self.xm)
        w_log, wx_log = self.w @ log_total, self.wx @ log_total
        value = (
            n_x @ (gammaln(p * xs + q) - gammaln(p * xs))
            + n_x.sum() * (q * np.log(gamma) - gammaln(q))
            + p * self.sum_wx_log_xm
            - self.sum_w_log_m
            - p * wx_log
            - q * w_log
        )
        if not gradient:
            return float(value)
        psi_pq = digamma(p * xs + q)
        inv = 1.0 / (gamma + self.xm)
        d_p = (n_x * xs) @ (psi_pq - digamma(p * xs)) + self.sum_wx_log_xm - wx_log
        d_q = n_x @ psi_pq + n_x.sum() * (np.log(gamma) - digamma(q)) - w_log
        d_gamma = n_x.sum() * q / gamma - p * (self.wx @ inv) - q * (self.w @ inv)
        return float(value), np.array([d_p, d_q, d_gamma])


def gamma_gamma_log_likelihood(params, x, monetary, weights=None, gradient: bool = False):
    """Sum of weighted Gamma-Gamma log-likelihoods (see `_SpendRows.log_likelihood`)."""
    return _SpendRows(x, monetary, weights).log_likelihood(params, gradient)


def fit_gamma_gamma(x, monetary, weights=None) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma fit on repeat customers (x > 0, monetary > 0), with the
    analytic gradient; `weights` as in `fit_bgnbd`."""
    x, m = np.asarray(x, dtype=float), np.asarray(monetary, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    keep = (x > 0) & np.isfinite(m) & (m > 0)
    _require_repeaters(x[keep], w[keep], "the spend model (Gamma-Gamma)")
    if weights is None:
        (gx, gm), counts = _group(x[keep], m[keep])
    else:
        gx, gm, counts = x[keep], m[keep], w[keep]
    rows = _SpendRows(gx, gm, counts)

    def negative(log_params):
        params = np.exp(log_params)
        value, grad = rows.log_likelihood(params, gradient=True)
        return -value, -grad * params

    mean_spend = float(np.average(gm, weights=counts))
    p, q, gamma = _fit(negative, np.array([1.0, 1.0, max(mean_spend, 1.0)]), "Gamma-Gamma", jac=True)
    return GammaGamma(p, q, gamma, customers=int(counts.sum()))


def customer_value(
    bg: BGNBD, gg: GammaGamma, x, t_x, T, monetary, months: int = 12, annual_discount: float = 0.10
) -> np.ndarray:
    """Discounted expected revenue over the next `months`: sum over months i of
    (E[Y(i m)] - E[Y((i-1) m)]) * E[Z | x, m_x] / (1 + d)^i, with m = 52/12 weeks and
    d the monthly rate equivalent to `annual_discount` (BG/NBD eq. 10 times Gamma-Gamma)."""
    monthly = (1 + annual_discount) ** (1 / 12) - 1
    (ux, uT), index = _distinct(x, T)
    discounted = sum(
        (
            bg._purchases_if_alive(i * WEEKS_PER_MONTH, ux, uT)
            - bg._purchases_if_alive((i - 1) * WEEKS_PER_MONTH, ux, uT)
        )
        / (1 + monthly) ** i
        for i in range(1, months + 1)
    )  # per distinct (x, T): one 2F1 call per month
    return discounted[index] * gg.expected_spend(x, monetary) / (1.0 + bg._odds_dead(x, t_x, T))


@dataclass
class HoldoutCheck:
    """Predicted vs actual repeat purchase days in the holdout weeks."""

    model: BGNBD
    calibration_end: dt.date
    holdout_end: dt.date
    weeks: float
    predicted: float
    actual: int
    by_frequency: pd.DataFrame  # frequency bucket, customers, predicted, actual (means per customer)

    @property
    def error(self) -> float:
        """Relative error of the aggregate prediction, (predicted - actual) / actual."""
        return (self.predicted - self.actual) / self.actual if self.actual else float("nan")


def holdout_window(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, weeks: int = 26
) -> tuple[dt.date, dt.date]:
    """(calibration_end, holdout_end): the last `weeks` before `as_of` held out, or the last
    third of the identified purchase history when it is shorter than 3 x `weeks`."""
    end = pd.Timestamp(as_of).date()
    first = store.scalar(
        con,
        f"SELECT ({measures.FIRST_PURCHASE.sql})::DATE FROM orders WHERE customer_id IS NOT NULL "
        "AND ordered_at < CAST($as_of AS DATE) + 1",
        {"as_of": end},
    )
    if first is None:
        raise NotEnoughRepeatData("No identified customer has bought yet.")
    held = min(weeks * 7, (end - first).days // 3)
    if held < 28:
        raise NotEnoughRepeatData(
            f"The order history ({(end - first).days} days) is too short to hold out a test period; "
            "the holdout check needs at least 12 weeks of history."
        )
    return end - dt.timedelta(days=held), end


def holdout_check(
    con: duckdb.DuckDBPyConnection,
    calibration_end: dt.date | str,
    holdout_end: dt.date | str,
    top_bucket: int = 7,
    data: Histories | None = None,
) -> HoldoutCheck:
    """Fit BG/NBD on purchases up to `calibration_end` and compare its predictions for the
    customers acquired by then with what they actually did up to `holdout_end`, in total and
    by calibration frequency (0, 1, ..., top_bucket+), as in FHL 2005 figure 4. `data`:
    `histories(con, holdout_end, calibration_end)` when the caller already has it."""
    cal = pd.Timestamp(calibration_end).date()
    end = pd.Timestamp(holdout_end).date()
    calibration = (data or histories(con, end, cal)).calibration
    if calibration is None:
        raise ValueError(
            "`data` has no calibration period: pass histories(con, holdout_end, calibration_end)"
        )
    if calibration.empty:
        raise NotEnoughRepeatData(f"No customer bought on or before {cal}: nothing to calibrate on.")
    args = (calibration["x"], calibration["t_x"], calibration["T"])
    model = fit_bgnbd(*args, weights=calibration["customers"])
    weeks = (end - cal).days / 7
    predicted = model.expected_purchases(weeks, *args) * calibration["customers"]
    table = (
        pd.DataFrame(
            {
                "frequency": calibration["x"].clip(upper=top_bucket),
                "customers": calibration["customers"],
                "predicted": predicted,
                "actual": calibration["x_holdout"],
            }
        )
        .groupby("frequency")
        .sum()
        .reset_index()
    )
    table["predicted"] /= table["customers"]  # means per customer of the bucket
    table["actual"] /= table["customers"]
    table["label"] = table["frequency"].astype(str).where(table["frequency"] < top_bucket, f"{top_bucket}+")
    return HoldoutCheck(
        model, cal, end, weeks, float(predicted.sum()), int(calibration["x_holdout"].sum()), table
    )


@dataclass
class Forecast:
    """Fitted models on all purchases up to as_of, and their predictions per group of
    customers with the same history."""

    purchases: BGNBD
    spend: GammaGamma
    weeks: float
    months: int
    annual_discount: float
    groups: pd.DataFrame  # x, t_x, T, customers, then totals over them: alive, expected_purchases, clv


def forecast(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    weeks: float = 52,
    months: int = 12,
    annual_discount: float = 0.10,
    data: Histories | None = None,
) -> Forecast:
    """Fit both models on everything up to `as_of`; per group of customers with the same
    (x, t_x, T): how many are expected to be alive (sum of P(alive)), their expected purchase
    days in the next `weeks`, and their discounted CLV over `months` (revenue, not margin).
    `data`: `histories(con, as_of, ...)` when the caller already has it."""
    data = data or histories(con, pd.Timestamp(as_of).date())
    groups = data.purchases
    if groups.empty:
        raise NotEnoughRepeatData("No identified customer has bought yet.")
    args = (groups["x"], groups["t_x"], groups["T"])
    bg = fit_bgnbd(*args, weights=groups["customers"])
    gg = fit_gamma_gamma(data.spend["x"], data.spend["monetary"], weights=data.spend["customers"])
    n = groups["customers"]
    # CLV is linear in a customer's mean spend, so the group's mean spend gives its total
    groups = groups[["x", "t_x", "T", "customers"]].assign(
        alive=bg.p_alive(*args) * n,
        expected_purchases=bg.expected_purchases(weeks, *args) * n,
        clv=customer_value(bg, gg, *args, groups["monetary"], months, annual_discount) * n,
    )
    return Forecast(bg, gg, weeks, months, annual_discount, groups)
