"""Multi-touch attribution: which marketing channels get the credit for orders.

A conversion is a purchase (`measures.PURCHASE`) by a known customer. Its path is that
customer's touches after their previous purchase and at most `lookback_days` before this one,
so a touch is credited to one purchase at most. Touches after a customer's last purchase (the
last `lookback_days` of them, counted back from the newest) form a non-converting journey,
which only the Markov model uses. Orders that are not purchases (refunds, cancelled orders)
neither convert nor end a journey.
Paths are built in DuckDB; Python only sees distinct channel sequences with their counts.

Models (each conversion hands out a credit of 1):

- first touch / last touch: all credit to the first / the last touch;
- linear: 1/n to each of the n touches;
- time decay: touch weight 2^(-age / half_life), age = days from the touch to the order,
  normalised per conversion (half-life `half_life_days`, default 7 days, the default of
  Google Analytics' time-decay model);
- position based (U-shaped, 40/20/40): 40% to the first touch, 40% to the last, 20% shared by
  the touches in between; a single touch gets 100%, two touches 50% each;
- Markov chain, removal effect (Anderl, Becker, von Wangenheim & Schumann 2016, "Mapping the
  customer journey", IJRM 33(3), first order): journeys are walks start -> channels ->
  conversion | null; the removal effect of channel c is 1 - P(conversion without c) / P(conversion),
  where removing c sends every transition into c to null; credits are removal effects
  normalised to sum to the observed conversions.

Uncertainty: 95% percentile intervals of each channel's share of credit from a bootstrap over
journeys (multinomial resampling of the distinct (path, outcome) counts).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from workbook import store
from workbook.analytics import measures
from workbook.core import dates

MODELS = ["first_touch", "last_touch", "linear", "time_decay", "position_based", "markov"]

# One sort of each customer's purchases and touches (newest first) gives every touch the next
# purchase at or after it: the first by (time, order_id), so a purchase's journey is the touches
# after the previous purchase, and a touch with no next purchase is in the customer's lost
# journey. A journey is (customer, time of its purchase): purchases at the same time get one
# journey, the first one's. Its touches are listed unordered and sorted per journey (cheaper than an
# ordered aggregate), then unnested by position for the time-decay sums per path.
PATHS_SQL = (
    """
WITH events AS (
    SELECT customer_id, ordered_at AS event_at, true AS is_order, order_id, revenue::DOUBLE AS revenue,
           NULL::VARCHAR AS channel
    FROM orders
    WHERE customer_id IS NOT NULL AND """
    + measures.PURCHASE.sql
    + """ AND ordered_at < $end
      AND ordered_at >= $start - to_days($lookback)  -- older orders cannot bound a journey
    UNION ALL
    SELECT customer_id, touched_at, false, NULL, NULL, channel FROM touches
    WHERE touched_at < $end AND touched_at >= $start - to_days($lookback)
),
linked AS (
    SELECT customer_id, event_at AS touched_at, channel, is_order,
           last_value(CASE WHEN is_order THEN {'at': event_at, 'revenue': revenue} END IGNORE NULLS)
               OVER newest_first AS next_order,
           first_value(event_at) OVER newest_first AS last_touch  -- (for touches after the last order)
    FROM events
    WINDOW newest_first AS (PARTITION BY customer_id ORDER BY event_at DESC, is_order DESC, order_id DESC
                            ROWS UNBOUNDED PRECEDING)
),
steps AS (
    SELECT customer_id, next_order.at AS journey_end, (next_order IS NOT NULL)::INTEGER AS converted,
           coalesce(next_order.revenue, 0.0) AS revenue, channel, touched_at,
           pow(2.0, -(date_diff('second', touched_at, coalesce(next_order.at, last_touch)) / 86400.0)
                    / $half_life) AS w
    FROM linked
    WHERE NOT is_order AND CASE WHEN next_order IS NULL  -- lost: the last `lookback` days of touches
        THEN touched_at >= last_touch - to_days($lookback) AND last_touch >= $start
        ELSE next_order.at >= $start AND touched_at >= next_order.at - to_days($lookback) END
),
journeys AS (
    SELECT any_value(converted) AS converted, any_value(revenue) AS revenue,
           list_sort(list({'at': touched_at, 'channel': channel, 'w': w})) AS touches, sum(w) AS total_w
    FROM steps GROUP BY customer_id, journey_end
),
positions AS (
    SELECT path, pos, sum(share * converted) AS weight, sum(share * revenue * converted) AS weight_rev,
           count(*) FILTER (WHERE pos = 1 AND converted = 1) AS conversions,
           sum(revenue * converted) FILTER (WHERE pos = 1) AS revenue,
           count(*) FILTER (WHERE pos = 1 AND converted = 0) AS nulls
    FROM (SELECT list_transform(touches, lambda t: t.channel) AS path, converted, revenue,
                 unnest(list_transform(touches, lambda t: t.w / total_w)) AS share,
                 generate_subscripts(touches, 1) AS pos
          FROM journeys)
    GROUP BY path, pos
)
SELECT path, sum(conversions)::BIGINT AS conversions, sum(revenue) AS revenue, sum(nulls)::BIGINT AS nulls,
       list(weight ORDER BY pos) AS decay, list(weight_rev ORDER BY pos) AS decay_revenue
FROM positions GROUP BY path
ORDER BY conversions DESC, nulls DESC, path  -- a fixed order: the seeded bootstrap repeats
"""
)

# Purchases in the window that a journey could end in. Each becomes one conversion when a touch
# precedes it (order_id is the orders' natural key), so the rest had no touch at all.
ELIGIBLE_SQL = f"""
SELECT count(*) FROM orders
WHERE customer_id IS NOT NULL AND ordered_at >= $start AND ordered_at < $end AND {measures.PURCHASE.sql}
"""


@dataclass
class Attribution:
    """Credits per channel and model, the paths they came from, and the settings used."""

    table: pd.DataFrame  # channel, model, conversions, share, share_low, share_high, revenue
    paths: pd.DataFrame  # distinct paths: path, conversions, revenue, nulls, decay, ...
    conversions: int  # conversions with at least one tracked touch
    untouched_orders: int  # orders in the window without any tracked touch (not credited)
    start: dt.date
    end: dt.date
    lookback_days: int
    half_life_days: float

    @property
    def empty(self) -> bool:
        return self.conversions == 0

    def wide(self, value: str = "share") -> pd.DataFrame:
        """Channels as rows (largest Markov credit first), models as columns (the side-by-side table)."""
        out = self.table.pivot(index="channel", columns="model", values=value)[MODELS]
        return out.sort_values("markov", ascending=False)


def paths(
    con: duckdb.DuckDBPyConnection,
    start: dt.date,
    end: dt.date,
    lookback_days: int = 30,
    half_life_days: float = 7.0,
) -> pd.DataFrame:
    """Distinct journeys (channel tuples) with conversions, revenue, non-conversions and the
    time-decay weights per position summed over the path's conversions (and revenue)."""
    params = {
        "start": dates.midnight(start),
        "end": dates.midnight(end + dt.timedelta(days=1)),
        "lookback": int(lookback_days),
        "half_life": float(half_life_days),
    }
    df = con.execute(PATHS_SQL, params).df()
    for col in ("path", "decay", "decay_revenue"):
        df[col] = df[col].map(lambda v: tuple(v.tolist() if hasattr(v, "tolist") else v))
    return df


def attribute(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    since: dt.date | None = None,
    lookback_days: int = 30,
    half_life_days: float = 7.0,
    n_boot: int = 300,
    seed: int = 0,
) -> Attribution:
    """Credit per channel under every model, for orders from `since` (default: one year
    before `as_of`) to `as_of`."""
    start = since or dates.year_start(as_of)
    df = paths(con, start, as_of, lookback_days, half_life_days)
    conversions = int(df["conversions"].sum()) if len(df) else 0
    eligible = store.scalar(
        con,
        ELIGIBLE_SQL,
        {"start": dates.midnight(start), "end": dates.midnight(as_of + dt.timedelta(days=1))},
    )
    table = credit_table(df, n_boot=n_boot, seed=seed)
    return Attribution(
        table, df, conversions, eligible - conversions, start, as_of, lookback_days, half_life_days
    )


# ---------------------------------------------------------------- the models, on distinct paths


def _rule_credits(paths_df: pd.DataFrame, channels: list[str]) -> dict[str, np.ndarray]:
    """Per model, a (paths x channels) matrix of credit per single conversion of that path."""
    index = {c: i for i, c in enumerate(channels)}
    out = {m: np.zeros((len(paths_df), len(channels))) for m in MODELS if m != "markov"}
    for row, (path, conv, decay) in enumerate(
        zip(paths_df["path"], paths_df["conversions"], paths_df["decay"])
    ):
        n = len(path)
        cols = [index[c] for c in path]
        out["first_touch"][row, cols[0]] += 1
        out["last_touch"][row, cols[-1]] += 1
        np.add.at(out["linear"][row], cols, 1 / n)
        if conv:
            np.add.at(out["time_decay"][row], cols, np.asarray(decay) / conv)
        weights = [1.0] if n == 1 else [0.5, 0.5] if n == 2 else [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]
        np.add.at(out["position_based"][row], cols, weights)
    return out


def _transitions(paths_df: pd.DataFrame, channels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per path, the flattened transition counts of one converting and one lost journey.

    States: 0 = start, 1..K = channels; targets add K+1 = conversion, K+2 = null.
    """
    k = len(channels)
    index = {c: i + 1 for i, c in enumerate(channels)}
    shape = (k + 1, k + 3)
    conv = np.zeros((len(paths_df), shape[0] * shape[1]))
    lost = np.zeros_like(conv)
    for row, path in enumerate(paths_df["path"]):
        seq = [0] + [index[c] for c in path]
        moves = np.zeros(shape)
        for a, b in itertools.pairwise(seq):
            moves[a, b] += 1
        end = np.zeros(shape)
        end[seq[-1], k + 1] = 1
        conv[row] = (moves + end).ravel()
        end[seq[-1], k + 1], end[seq[-1], k + 2] = 0, 1
        lost[row] = (moves + end).ravel()
    return conv, lost


def _conversion_probability(counts: np.ndarray, removed: int | None = None) -> float:
    """P(absorbed in conversion | start) of the chain with these transition counts."""
    k1 = counts.shape[0]
    totals = counts.sum(axis=1, keepdims=True)
    probs = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    probs[totals[:, 0] == 0, k1 + 1] = 1.0  # a state never left: lost
    if removed is not None:
        probs[removed] = 0.0
        probs[removed, k1 + 1] = 1.0  # removing a channel: every visit is lost
    q, r = probs[:, :k1], probs[:, k1:]
    absorbed = np.linalg.solve(np.eye(k1) - q, r)
    return float(absorbed[0, 0])


def markov_removal_effects(counts: np.ndarray) -> np.ndarray:
    """Removal effect of each channel (1..K) from a (K+1) x (K+3) transition-count matrix."""
    base = _conversion_probability(counts)
    if base <= 0:
        return np.zeros(counts.shape[0] - 1)
    return np.array([1 - _conversion_probability(counts, c) / base for c in range(1, counts.shape[0])])


def credit_table(paths_df: pd.DataFrame, n_boot: int = 300, seed: int = 0) -> pd.DataFrame:
    """Credits (conversions, share of all credit, revenue) per channel and model, with 95%
    bootstrap intervals of the share."""
    columns = ["channel", "model", "conversions", "share", "share_low", "share_high", "revenue"]
    if paths_df.empty or paths_df["conversions"].sum() == 0:
        return pd.DataFrame(columns=columns)
    channels = sorted({c for p in paths_df["path"] for c in p})
    k = len(channels)
    rules = _rule_credits(paths_df, channels)
    conv_moves, lost_moves = _transitions(paths_df, channels)
    conv = paths_df["conversions"].to_numpy(float)
    lost = paths_df["nulls"].to_numpy(float)
    revenue = paths_df["revenue"].to_numpy(float)

    def shares(c: np.ndarray, n: np.ndarray) -> dict[str, np.ndarray]:
        out = {m: c @ matrix for m, matrix in rules.items()}
        moves = (c @ conv_moves + n @ lost_moves).reshape(k + 1, k + 3)
        out["markov"] = markov_removal_effects(moves)
        return {m: v / v.sum() if v.sum() > 0 else v for m, v in out.items()}

    point = shares(conv, lost)
    rng = np.random.default_rng(seed)
    weights = np.concatenate([conv, lost])
    draws = rng.multinomial(int(weights.sum()), weights / weights.sum(), size=n_boot)
    boot = {m: np.empty((n_boot, k)) for m in MODELS}
    for i, draw in enumerate(draws):
        for m, v in shares(draw[: len(conv)], draw[len(conv) :]).items():
            boot[m][i] = v

    # Revenue credit: the path's revenue split like its conversions (time decay: by revenue-
    # weighted decay); Markov: removal-effect shares of the total revenue.
    decay_rev = np.zeros((len(paths_df), k))
    index = {c: i for i, c in enumerate(channels)}
    for row, (path, dr) in enumerate(zip(paths_df["path"], paths_df["decay_revenue"])):
        np.add.at(decay_rev[row], [index[c] for c in path], dr)
    rev = {m: revenue @ matrix for m, matrix in rules.items()}
    rev["time_decay"] = decay_rev.sum(axis=0)
    rev["markov"] = point["markov"] * revenue.sum()

    total = conv.sum()
    rows = []
    for m in MODELS:
        low, high = np.nanpercentile(boot[m], [2.5, 97.5], axis=0)
        for j, channel in enumerate(channels):
            rows.append((channel, m, point[m][j] * total, point[m][j], low[j], high[j], rev[m][j]))
    return pd.DataFrame(rows, columns=columns)
