"""Fader and Hardie's CDNOW data through the import path: each transaction written as a row of a
Shopify orders export, imported with the shopify-orders preset into a fresh client, then read by
analytics/cohorts and analytics/clv as a consultant's client would be. Data: tests/data/README.md.

Every CDNOW transaction is a purchase, $0 ones included (80 in the master file, 8 in the sample):
counting them is what makes the cohorts and the published fits come out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _importer_files import SHOPIFY_ORDER_HEADERS

from workbook import store
from workbook.analytics import clv, cohorts
from workbook.importers import import_files
from workbook.store.clients import init_client

LAST_ORDER = dt.date(1998, 6, 30)  # the data's last order: the cohorts' as_of
CALIBRATION_END = dt.date(1997, 9, 30)  # FHL 2005's 39-week calibration period ends here

DATA = Path(__file__).parent / "data"


def _shopify_export(raw: pd.DataFrame, path: Path) -> Path:
    """One order per transaction in Shopify's layout: an email per customer, the amount as
    Subtotal, status paid, the number of CDs as the line's quantity; other columns blank."""
    rows = pd.DataFrame("", index=raw.index, columns=SHOPIFY_ORDER_HEADERS)
    rows["Name"] = "#" + (raw.index + 1).astype(str)
    rows["Email"] = "customer" + raw["customer"].astype(str) + "@cdnow.example"
    rows["Financial Status"] = "paid"
    rows["Created at"] = raw["date"]
    rows["Subtotal"] = raw["amount"]
    rows["Currency"] = "USD"
    rows["Lineitem name"] = "CDs"
    rows["Lineitem quantity"] = raw["quantity"].astype(str)
    rows.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The master file and the 2,357-customer sample, each imported into its own fresh client
    once for the module; yields {name: raw transactions} with WORKBOOK_HOME set."""
    folder = tmp_path_factory.mktemp("cdnow")
    raws = {
        "cdnow-master": pd.read_csv(DATA / "cdnow_master.csv.gz", dtype={"amount": str}),
        "cdnow-sample": pd.read_csv(DATA / "cdnow_transactions.csv", dtype={"amount": str}),
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBOOK_HOME", str(folder / "clients"))
        for slug, raw in raws.items():
            init_client(slug, slug, "online-store", "USD", "UTC")
            [result] = import_files(slug, [_shopify_export(raw, folder / f"{slug}.csv")], "shopify-orders")
            assert result.inserted["orders"] == len(raw)
        yield raws


def _monthly_by_hand(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly cohorts from the raw file in pandas: cohort = month of the first transaction;
    (share of the cohort's customers buying, revenue) in each month k after it, zeros filled
    up to June 1998 (the file's last month)."""
    month = pd.to_datetime(raw["date"]).dt.to_period("M")
    first = month.groupby(raw["customer"]).transform("min")
    frame = pd.DataFrame(
        {
            "cohort": first.dt.start_time,
            "period": (month - first).map(lambda d: d.n),
            "customer": raw["customer"],
            "amount": raw["amount"].astype(float),
        }
    )
    size = frame.groupby("cohort")["customer"].nunique()
    active = frame.groupby(["cohort", "period"])["customer"].nunique().unstack("period")
    revenue = frame.groupby(["cohort", "period"])["amount"].sum().unstack("period")
    last = pd.Period("1998-06", "M")
    months = [last.ordinal - pd.Period(c, "M").ordinal for c in size.index]  # each cohort's last period
    observed = np.arange(active.shape[1])[None, :] <= np.array(months)[:, None]
    share = active.fillna(0).div(size, axis=0).where(observed)
    return share, revenue.fillna(0).where(observed)


def test_monthly_cohorts_of_the_master_file(imported):
    raw = imported["cdnow-master"]
    assert (len(raw), raw["customer"].nunique()) == (69_659, 23_570)
    con = store.read("cdnow-master")
    try:
        activity = cohorts.cohort_activity(con, "month", as_of=LAST_ORDER)
    finally:
        con.close()
    share, revenue = _monthly_by_hand(raw)
    # Every customer is in a cohort (also the 68 whose only purchases were $0), and only the
    # three acquisition months of the file have cohorts: 7,846 / 8,476 / 7,248.
    sizes = activity[activity["period"] == 0].set_index("cohort")["cohort_customers"]
    assert [str(c)[:7] for c in sizes.index] == ["1997-01", "1997-02", "1997-03"]
    assert list(sizes) == [7_846, 8_476, 7_248]
    matrix = cohorts.retention_matrix(activity, "customers")
    matrix.index = pd.to_datetime(matrix.index)
    pd.testing.assert_frame_equal(matrix, share, check_names=False, check_freq=False, rtol=1e-12)
    money = activity.pivot(index="cohort", columns="period", values="revenue")
    money.index = pd.to_datetime(money.index)
    pd.testing.assert_frame_equal(money, revenue, check_names=False, check_freq=False, rtol=1e-9)


def test_bgnbd_and_gamma_gamma_of_the_sample_reproduce_the_published_fits(imported):
    con = store.read("cdnow-sample")
    try:
        fit = clv.forecast(con, CALIBRATION_END)  # both models on the 39-week calibration period
        spend = clv.histories(con, CALIBRATION_END).spend
    finally:
        con.close()
    bg, gg = fit.purchases, fit.spend
    # Fader, Hardie & Lee (2005), Marketing Science 24(2), section 4, on all 2,357 customers:
    # r = 0.2426, alpha = 4.414, a = 0.793, b = 2.426, log-likelihood -9582.43. Ours are
    # 0.242595, 4.413602, 0.792922, 2.425907 and -9582.4292: within 0.01% and 0.001.
    assert bg.customers == 2_357
    for name, value in {"r": 0.2426, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert getattr(bg, name) == pytest.approx(value, rel=0.001), name
    assert bg.log_likelihood == pytest.approx(-9582.43, abs=0.01)
    # Gamma-Gamma on the 946 repeat customers (Fader & Hardie 2013, "The Gamma-Gamma Model of
    # Monetary Value"): p = 6.25, q = 3.74, gamma = 15.44, published to two decimals. Ours are
    # 6.249048, 3.744254, 15.445220. Tolerance 0.007: the publication's rounding (0.005) plus
    # where the fitter stops on this likelihood's flat ridge (it stops when an iteration gains
    # less than 1e-10 of the log-likelihood, 4e-7 here; along the ridge gamma moves by 0.002 for
    # 1e-7, and a tighter optimizer ends at 6.2496, 3.7442, 15.4435 with the same -4055.9177).
    # Relative: p and gamma within 0.04% of the published values, q 0.11%. The log-likelihood
    # is the note's -4055.9177 (as CLVTools tests/testthat/test_correctness_gg.R quotes it).
    assert gg.customers == 946
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert getattr(gg, name) == pytest.approx(value, abs=0.007), name
    ll = clv.gamma_gamma_log_likelihood(
        [gg.p, gg.q, gg.gamma], spend["x"], spend["monetary"], spend["customers"]
    )
    assert ll == pytest.approx(-4055.9177, abs=1e-3)
