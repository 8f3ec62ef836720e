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

A purchase day is a day with at least one order of positive revenue (anonymous orders are
left out); spend `monetary` is the customer's net revenue (refunds included) after the first
purchase day in calibration, per repeat purchase day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import betaln, digamma, gammaln, hyp2f1

from .cohorts import purchase_days_sql
from .errors import WorkbookError

MIN_REPEAT_CUSTOMERS = 30  # below this the four BG/NBD parameters are not identified in practice
WEEKS_PER_MONTH = 52 / 12


class NotEnoughRepeatData(WorkbookError):
    """Too few customers bought more than once to fit a repeat-purchase model."""


def summary(con: duckdb.DuckDBPyConnection, calibration_end: dt.date | str,
            holdout_end: dt.date | str | None = None) -> pd.DataFrame:
    """Per customer with a first purchase on or before `calibration_end`: x, t_x, T (weeks),
    monetary (NaN when x = 0) and, when `holdout_end` is given, x_holdout = purchase days in
    (calibration_end, holdout_end]. Columns: customer_id, first_day, x, t_x, T, monetary,
    x_holdout. Orders after `holdout_end` (or `calibration_end`) are ignored."""
    end = holdout_end or calibration_end
    return con.execute(
        f"""
        WITH {purchase_days_sql("$end")},
        firsts AS (SELECT customer_id, min(day) AS first_day FROM days WHERE purchase GROUP BY 1)
        SELECT customer_id, first_day,
               count(*) FILTER (WHERE purchase AND day > first_day AND day <= $cal) AS x,
               date_diff('day', first_day,
                         max(day) FILTER (WHERE purchase AND day <= $cal)) / 7.0 AS t_x,
               date_diff('day', first_day, CAST($cal AS DATE)) / 7.0 AS "T",
               sum(revenue) FILTER (WHERE day > first_day AND day <= $cal)
                   / nullif(count(*) FILTER (WHERE purchase AND day > first_day AND day <= $cal), 0)
                   AS monetary,
               count(*) FILTER (WHERE purchase AND day > $cal) AS x_holdout
        FROM firsts JOIN days USING (customer_id)
        WHERE first_day <= $cal
        GROUP BY customer_id, first_day
        ORDER BY first_day, customer_id
        """,
        {"end": end, "cal": calibration_end},
    ).df()


def _group(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the given columns (sorted, as np.unique(axis=0) gives them) and how
    often each occurs; a hash groupby, several times faster than np.unique's row sort."""
    frame = pd.DataFrame({i: np.asarray(c, dtype=float) for i, c in enumerate(columns)})
    sizes = frame.groupby(list(frame.columns), sort=True).size()
    return [sizes.index.get_level_values(i).to_numpy() for i in range(len(columns))], \
        sizes.to_numpy(dtype=float)


LOG_BOUND = 12.0  # parameters kept within exp(-12)..exp(12)


def _fit(negative_ll, start: np.ndarray, what: str, jac: bool = False) -> list[float]:
    """Minimise a negative log-likelihood over log-parameters; returns the parameters.
    With `jac`, `negative_ll` returns (value, gradient in the log-parameters).

    The log-parameters are bounded by +-LOG_BOUND: when the data show no heterogeneity in a
    rate or a dropout probability, the likelihood keeps rising as both shape parameters of
    its mixing distribution grow together (it tends to a point mass). The bounded optimum is
    then a near-point-mass with the right mean, which predicts the same, instead of a
    runaway optimizer. L-BFGS-B with tight tolerances.
    """
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = optimize.minimize(negative_ll, np.log(start), method="L-BFGS-B", bounds=bounds,
                                   jac=jac, options={"ftol": 1e-12, "gtol": 1e-8})
    params = [float(v) for v in np.exp(result.x)]
    if not (np.all(np.isfinite(params)) and np.isfinite(result.fun)):
        raise WorkbookError(f"The {what} fit did not converge on this data. The purchase history "
                            "may be too short or too uniform; try an earlier as_of or more history.")
    return params


def _require_repeaters(x: np.ndarray, what: str) -> None:
    repeaters = int(np.sum(np.asarray(x) > 0))
    if repeaters < MIN_REPEAT_CUSTOMERS:
        raise NotEnoughRepeatData(
            f"Only {repeaters} of {len(x)} customers bought again, so {what} cannot be estimated "
            f"reliably (it needs at least {MIN_REPEAT_CUSTOMERS} repeat customers). Import a longer "
            "order history, or use the historic cohort value curves instead.")


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
                (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x)))
        return np.where(x > 0, odds, 0.0)

    def p_alive(self, x, t_x, T) -> np.ndarray:
        """P(still a customer | x, t_x, T) = 1 / (1 + delta_{x>0} a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))."""
        return 1.0 / (1.0 + self._odds_dead(x, t_x, T))

    def expected_purchases(self, t: float, x, t_x, T) -> np.ndarray:
        """E[Y(t) | x, t_x, T], expected repeat purchases in the next t weeks (FHL 2005 eq. 10):

        (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))]
        / (1 + delta_{x>0} a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)).
        """
        x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        head = (a + b + x - 1) / (a - 1)
        tail = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        return head * tail / (1.0 + self._odds_dead(x, t_x, T))


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
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    weights = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    xs, at = np.unique(x, return_inverse=True)  # few distinct x: special functions once per value
    common = (gammaln(r + xs) + betaln(a, b + xs))[at] - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    alive = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        dead = np.where(repeat, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                        - (r + x) * np.log(alpha + t_x), -np.inf)
    total = np.logaddexp(alive, dead)
    value = float(np.sum(weights * (common + total)))
    if not gradient:
        return value
    s = np.exp(dead - total)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_dead_b = np.where(repeat, s / (b + x - 1), 0.0)
    psi_rx, psi_abx, psi_bx = (digamma(v + xs)[at] for v in (r, a + b, b))
    d_r = psi_rx - digamma(r) + np.log(alpha) - (1 - s) * np.log(alpha + T) \
        - s * np.log(alpha + t_x)
    d_alpha = r / alpha - (r + x) * ((1 - s) / (alpha + T) + s / (alpha + t_x))
    d_a = digamma(a + b) - psi_abx + s / a
    d_b = psi_bx - psi_abx - digamma(b) + digamma(a + b) - inv_dead_b
    return value, np.array([np.sum(weights * d) for d in (d_r, d_alpha, d_a, d_b)])


def fit_bgnbd(x, t_x, T) -> BGNBD:
    """Maximum-likelihood BG/NBD fit on per-customer arrays (weeks). Identical rows are
    grouped first, and the optimizer gets the analytic gradient. Raises NotEnoughRepeatData
    when fewer than MIN_REPEAT_CUSTOMERS bought again."""
    _require_repeaters(x, "the repeat-purchase model (BG/NBD)")
    (gx, gt, gT), counts = _group(x, t_x, T)

    def negative(log_params):
        params = np.exp(log_params)
        value, grad = bgnbd_log_likelihood(params, gx, gt, gT, counts, gradient=True)
        return -value, -grad * params  # chain rule: d/d(log p) = p d/dp

    params = _fit(negative, np.array([1.0, max(float(np.mean(T)), 1.0), 1.0, 1.0]), "BG/NBD",
                  jac=True)
    return BGNBD(*params, log_likelihood=bgnbd_log_likelihood(params, gx, gt, gT, counts),
                 customers=len(x))


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


def gamma_gamma_log_likelihood(params, x, monetary, weights=None) -> float:
    """Sum of weighted Gamma-Gamma log-likelihoods of mean spend m_x over x transactions:

    ln L = lnG(px+q) - lnG(px) - lnG(q) + q ln(gamma) + (px-1) ln(m_x) + px ln(x)
           - (px+q) ln(gamma + x m_x)      (Hardie 2013, eq. 5)
    """
    p, q, gamma = params
    x, m = np.asarray(x, dtype=float), np.asarray(monetary, dtype=float)
    weights = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    ll = (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(gamma)
          + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(gamma + x * m))
    return float(np.sum(weights * ll))


def fit_gamma_gamma(x, monetary) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma fit on repeat customers (x > 0, monetary > 0)."""
    x, m = np.asarray(x, dtype=float), np.asarray(monetary, dtype=float)
    keep = (x > 0) & np.isfinite(m) & (m > 0)
    _require_repeaters(np.where(keep, x, 0), "the spend model (Gamma-Gamma)")
    (gx, gm), counts = _group(x[keep], m[keep])
    params = _fit(lambda p: -gamma_gamma_log_likelihood(np.exp(p), gx, gm, counts),
                  np.array([1.0, 1.0, max(float(np.mean(gm)), 1.0)]), "Gamma-Gamma")
    return GammaGamma(*params, customers=int(keep.sum()))


def customer_value(bg: BGNBD, gg: GammaGamma, x, t_x, T, monetary, months: int = 12,
                   annual_discount: float = 0.10) -> np.ndarray:
    """Discounted expected revenue over the next `months`: sum over months i of
    (E[Y(i m)] - E[Y((i-1) m)]) * E[Z | x, m_x] / (1 + d)^i, with m = 52/12 weeks and
    d the monthly rate equivalent to `annual_discount` (BG/NBD eq. 10 times Gamma-Gamma)."""
    monthly = (1 + annual_discount) ** (1 / 12) - 1
    spend = gg.expected_spend(x, monetary)
    value = np.zeros(len(np.asarray(x)))
    previous = 0.0
    for i in range(1, months + 1):
        cumulative = bg.expected_purchases(i * WEEKS_PER_MONTH, x, t_x, T)
        value += (cumulative - previous) * spend / (1 + monthly) ** i
        previous = cumulative
    return value


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


def holdout_window(con: duckdb.DuckDBPyConnection, as_of: dt.date | str,
                   weeks: int = 26) -> tuple[dt.date, dt.date]:
    """(calibration_end, holdout_end): the last `weeks` before `as_of` held out, or the last
    third of the identified purchase history when it is shorter than 3 x `weeks`."""
    end = pd.Timestamp(as_of).date()
    first = con.execute("SELECT min(ordered_at)::DATE FROM orders WHERE customer_id IS NOT NULL "
                        "AND revenue > 0 AND ordered_at < CAST(? AS DATE) + 1", [end]).fetchone()[0]
    if first is None:
        raise NotEnoughRepeatData("No identified customer has bought yet.")
    held = min(weeks * 7, (end - first).days // 3)
    if held < 28:
        raise NotEnoughRepeatData(
            f"The order history ({(end - first).days} days) is too short to hold out a test period; "
            "the holdout check needs at least 12 weeks of history.")
    return end - dt.timedelta(days=held), end


def holdout_check(con: duckdb.DuckDBPyConnection, calibration_end: dt.date | str,
                  holdout_end: dt.date | str, top_bucket: int = 7) -> HoldoutCheck:
    """Fit BG/NBD on purchases up to `calibration_end` and compare its predictions for the
    customers acquired by then with what they actually did up to `holdout_end`, in total and
    by calibration frequency (0, 1, ..., top_bucket+), as in FHL 2005 figure 4."""
    cal = pd.Timestamp(calibration_end).date()
    end = pd.Timestamp(holdout_end).date()
    data = summary(con, cal, end)
    if data.empty:
        raise NotEnoughRepeatData(f"No customer bought on or before {cal}: nothing to calibrate on.")
    model = fit_bgnbd(data["x"], data["t_x"], data["T"])
    weeks = (end - cal).days / 7
    predicted = model.expected_purchases(weeks, data["x"], data["t_x"], data["T"])
    buckets = data["x"].clip(upper=top_bucket)
    table = (pd.DataFrame({"frequency": buckets, "predicted": predicted, "actual": data["x_holdout"]})
             .groupby("frequency").agg(customers=("actual", "size"), predicted=("predicted", "mean"),
                                       actual=("actual", "mean")).reset_index())
    table["label"] = table["frequency"].astype(str).where(table["frequency"] < top_bucket,
                                                          f"{top_bucket}+")
    return HoldoutCheck(model, cal, end, weeks, float(predicted.sum()), int(data["x_holdout"].sum()),
                        table)


@dataclass
class Forecast:
    """Fitted models on all purchases up to as_of, and per-customer predictions."""

    purchases: BGNBD
    spend: GammaGamma
    weeks: float
    months: int
    annual_discount: float
    customers: pd.DataFrame  # customer_id, first_day, x, t_x, T, monetary, p_alive, expected_purchases, clv


def forecast(con: duckdb.DuckDBPyConnection, as_of: dt.date | str, weeks: float = 52,
             months: int = 12, annual_discount: float = 0.10) -> Forecast:
    """Fit both models on everything up to `as_of`; per customer P(alive), expected purchase
    days in the next `weeks`, and discounted CLV over `months` (revenue, not margin)."""
    data = summary(con, pd.Timestamp(as_of).date())
    if data.empty:
        raise NotEnoughRepeatData("No identified customer has bought yet.")
    bg = fit_bgnbd(data["x"], data["t_x"], data["T"])
    gg = fit_gamma_gamma(data["x"], data["monetary"])
    args = (data["x"], data["t_x"], data["T"])
    data = data.drop(columns="x_holdout").assign(
        p_alive=bg.p_alive(*args), expected_purchases=bg.expected_purchases(weeks, *args),
        clv=customer_value(bg, gg, *args, data["monetary"], months, annual_discount))
    return Forecast(bg, gg, weeks, months, annual_discount, data)
