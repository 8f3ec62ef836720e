"""The reference for the analytics figures: what a consultant would write in a notebook with
pandas, straight from the Shopify orders export (read the CSV, groupby, pivot).

Straightforward but not careless: only the needed columns are read, timestamps are parsed with
an explicit format, and everything is vectorised (no row-wise `apply`). The definitions are the
ones `workbook` uses (metrics, cohorts, rfm, clv docstrings), so both sides compute the same
numbers; `bench/run.py` checks that they agree. The CLV step calls the same BG/NBD and
Gamma-Gamma fitters as `workbook.clv` (a consultant would use a library for that), so only the
data preparation differs there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbook.analytics import clv

TZ = "America/Los_Angeles"  # the online store's timezone (timestamps are compared in local time)
COLUMNS = ["Name", "Email", "Created at", "Subtotal", "Refunded Amount", "Financial Status", "Cancelled at"]


def load(path) -> pd.DataFrame:
    """One row per order: email, local timestamp, net revenue (Subtotal - Refunded Amount) and
    whether it is a purchase (not cancelled or voided, not fully refunded, $0 orders included)."""
    lines = pd.read_csv(path, usecols=COLUMNS)
    orders = lines[lines["Subtotal"].notna()].copy()  # order fields are on the first line only
    orders["at"] = (
        pd.to_datetime(orders["Created at"], format="%Y-%m-%d %H:%M:%S %z", utc=True)
        .dt.tz_convert(TZ)
        .dt.tz_localize(None)
    )
    voided = orders["Financial Status"].str.lower() == "voided"
    refunded = orders["Refunded Amount"].fillna(0)
    orders["revenue"] = np.where(voided, 0.0, orders["Subtotal"] - refunded)
    cancelled = voided | orders["Cancelled at"].notna()
    fully_refunded = (refunded > 0) & (orders["revenue"] <= 0)
    orders["purchase"] = ~cancelled & ~fully_refunded & (orders["revenue"] >= 0)
    return orders[["Name", "Email", "at", "revenue", "purchase"]].rename(columns={"Email": "email"})


def kpis(orders: pd.DataFrame) -> pd.DataFrame:
    """Weekly revenue (every order), orders (purchases), AOV, active and new customers, repeat
    purchase rate (customers by their purchases)."""
    o = orders.assign(week=orders["at"].dt.to_period("W-SUN").dt.start_time)
    known = o[o["email"].notna() & o["purchase"]]
    first = known.groupby("email")["at"].min()
    weekly = o.groupby("week").agg(revenue=("revenue", "sum"), orders=("purchase", "sum"))
    weekly["aov"] = weekly["revenue"] / weekly["orders"]
    active = known[["week", "email"]].drop_duplicates()
    active["returning"] = first.reindex(active["email"]).to_numpy() < active["week"].to_numpy()
    per_week = active.groupby("week").agg(active_customers=("email", "size"), returning=("returning", "sum"))
    weekly = weekly.join(per_week)
    weekly["repeat_purchase_rate"] = weekly["returning"] / weekly["active_customers"]
    weekly["new_customers"] = first.dt.to_period("W-SUN").dt.start_time.value_counts()
    weeks = pd.date_range(weekly.index.min(), weekly.index.max(), freq="W-MON")
    return weekly.reindex(weeks).fillna(
        {"revenue": 0, "orders": 0, "active_customers": 0, "new_customers": 0}
    )


def _purchase_days(orders: pd.DataFrame) -> pd.DataFrame:
    """Per customer and day: net revenue and whether there was a purchase."""
    known = orders[orders["email"].notna()]
    days = known.assign(day=known["at"].dt.normalize())
    return days.groupby(["email", "day"], as_index=False).agg(
        revenue=("revenue", "sum"), purchase=("purchase", "any")
    )


def retention(orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Monthly cohort retention: share of each first-purchase month's customers who buy in
    month k after it; months not over by `as_of` are NaN."""
    buys = orders[orders["email"].notna() & orders["purchase"]]
    month = buys["at"].dt.year * 12 + buys["at"].dt.month - 1
    cohort = month.groupby(buys["email"]).transform("min")
    active = pd.DataFrame({"cohort": cohort, "period": month - cohort, "email": buys["email"]})
    counts = active.drop_duplicates().groupby(["cohort", "period"]).size().unstack("period", fill_value=0)
    matrix = counts.div(counts[0], axis=0)
    after = as_of + pd.Timedelta(days=1)  # a month is complete once it ended by as_of
    complete = (
        matrix.index.to_numpy()[:, None] + matrix.columns.to_numpy()[None, :]
        < after.year * 12 + after.month - 1
    )
    matrix = matrix.where(complete)
    matrix.index = pd.to_datetime(
        pd.DataFrame({"year": matrix.index // 12, "month": matrix.index % 12 + 1, "day": 1})
    )
    return matrix


SEGMENT_RULES = [  # the same grid as workbook.rfm.SEGMENT_RULES
    ("champions", lambda r, f: (r == 5) & (f >= 4)),
    ("loyal", lambda r, f: (r >= 3) & (f >= 4)),
    ("potential loyalists", lambda r, f: (r >= 4) & (f >= 2)),
    ("new customers", lambda r, f: (r == 5) & (f == 1)),
    ("promising", lambda r, f: (r == 4) & (f == 1)),
    ("need attention", lambda r, f: (r == 3) & (f == 3)),
    ("about to sleep", lambda r, f: (r == 3) & (f <= 2)),
    ("can't lose them", lambda r, f: (r <= 2) & (f == 5)),
    ("at risk", lambda r, f: (r <= 2) & (f >= 3)),
    ("hibernating", lambda r, f: (r <= 2) & (f <= 2)),
]


def _score(values: pd.Series) -> pd.Series:
    """1 + floor(5 * percent rank), ties sharing the lowest rank (SQL percent_rank)."""
    rank = (values.rank(method="min") - 1) / max(len(values) - 1, 1)
    return 1 + np.minimum(np.floor(5 * rank), 4).astype(int)


def rfm(orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """RFM scores per customer, then customers, revenue and medians per segment."""
    days = _purchase_days(orders)
    bought = days[days["purchase"]]
    per = pd.DataFrame(
        {
            "recency_days": (as_of - bought.groupby("email")["day"].max()).dt.days,
            "frequency": bought.groupby("email").size(),
            "monetary": days.groupby("email")["revenue"].sum(),
        }
    ).dropna(subset=["frequency"])
    r, f = _score(-per["recency_days"]), _score(per["frequency"])
    per["segment"] = np.select(
        [rule(r, f) for _, rule in SEGMENT_RULES], [name for name, _ in SEGMENT_RULES], default=""
    )
    table = per.groupby("segment").agg(
        customers=("frequency", "size"),
        revenue=("monetary", "sum"),
        recency_days=("recency_days", "median"),
        frequency=("frequency", "mean"),
        monetary=("monetary", "mean"),
    )
    table["customer_share"] = table["customers"] / table["customers"].sum()
    table["revenue_share"] = table["revenue"] / table["revenue"].sum()
    return table


def clv_forecast(orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """x, t_x, T (weeks) and spend per customer, then BG/NBD + Gamma-Gamma, 12-month CLV."""
    days = _purchase_days(orders)
    first = days[days["purchase"]].groupby("email")["day"].min()
    days = days[days["email"].isin(first.index)]
    days["first"] = first.reindex(days["email"]).to_numpy()
    later = days[days["day"] > days["first"]]
    repeat = later[later["purchase"]]
    per = pd.DataFrame({"first": first})
    per["x"] = repeat.groupby("email").size().reindex(per.index, fill_value=0)
    last = days[days["purchase"]].groupby("email")["day"].max()
    per["t_x"] = (last - per["first"]).dt.days / 7.0
    per["T"] = (as_of - per["first"]).dt.days / 7.0
    per["monetary"] = later.groupby("email")["revenue"].sum().reindex(per.index) / per["x"].where(
        per["x"] > 0
    )
    bg = clv.fit_bgnbd(per["x"], per["t_x"], per["T"])
    gg = clv.fit_gamma_gamma(per["x"], per["monetary"])
    args = (per["x"], per["t_x"], per["T"])
    return per.assign(
        p_alive=bg.p_alive(*args),
        expected_purchases=bg.expected_purchases(52, *args),
        clv=clv.customer_value(bg, gg, *args, per["monetary"]),
    )
