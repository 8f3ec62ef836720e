"""The sample generator: deterministic, real export formats, and the planted effects present.

Effects are measured from the written files with pandas (not with the generator's own values);
tolerances are about three binomial/Poisson standard errors at scale 1 unless stated.
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportions_ztest

from workbook.sample import SAMPLE_CLIENTS, write_samples

END = pd.Timestamp("2026-11-01")


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample")
    write_samples(folder)
    return folder


def read(out, slug, name, **kw):
    return pd.read_csv(out / slug / name, dtype=str, keep_default_na=False, **kw)


def digests(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_bytes_every_run(out, tmp_path):
    write_samples(tmp_path)
    assert digests(tmp_path) == digests(out)
    assert len(digests(out)) == 19


def test_import_plan_names_written_files(out):
    for client in SAMPLE_CLIENTS.values():
        for name, source in client.imports:
            assert (out / client.slug / name).is_file()
            if source.endswith(".yaml"):
                assert (out / client.slug / source).is_file()


def test_shopify_quirks(out):
    orders = read(out, "online-store", "orders_export_1.csv.gz")
    stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d -0[78]00$")
    assert orders["Created at"].str.match(stamp).all()
    first = orders["Financial Status"] != ""
    assert orders.loc[first, "Name"].is_unique  # order fields once per order
    assert (orders.loc[~first, "Subtotal"] == "").all()
    assert (orders.loc[~first, "Created at"] != "").all()  # Created at repeats
    customers = read(out, "online-store", "customers_export.csv.gz")
    assert customers["Customer ID"].str.match(r"^'\d+$").all()
    phones = customers["Phone"][customers["Phone"] != ""]
    assert len(phones) > 100 and phones.str.match(r"^'\+1\d{3}55501\d\d$").all()
    assert customers["Email"].str.endswith("@example.com").all()
    assert customers["Email"].is_unique


def test_square_money_and_refunds(out):
    items = read(out, "coffee-shop", "items-2024-11-01-2026-10-31.csv.gz")
    payments = items[items["Event Type"] == "Payment"]
    refunds = items[items["Event Type"] == "Refund"]
    assert payments["Net Sales"].str.match(r"^\$\d+\.\d\d$").all()
    assert len(refunds) > 10 and refunds["Net Sales"].str.match(r"^\(\$\d+\.\d\d\)$").all()
    assert set(refunds["Transaction ID"]) <= set(payments["Transaction ID"])
    assert (items["Customer ID"] != "").mean() == pytest.approx(0.33, abs=0.03)


def test_ga4_comments_and_reviews_enum(out):
    lines = (out / "online-store" / "ga4_traffic_acquisition.csv").read_text().splitlines()
    assert lines[0].startswith("#") and "# Start date: 20241101" in lines
    assert "# End date: 20261031" in lines
    for slug in ("coffee-shop", "home-services"):
        data = json.loads((out / slug / "google_reviews.json").read_text())
        assert {r["starRating"] for r in data["reviews"]} == {"ONE", "TWO", "THREE", "FOUR", "FIVE"}


def test_ga4_sources_split_their_channel_groups_and_the_trail_blog_fades(out):
    """Each source / medium lies in one channel group; within Referral the hiking forum's share of
    sessions goes from 5% to 55% over the two years (planted, `GA4_SOURCES`)."""
    ga4 = pd.read_csv(out / "online-store" / "ga4_traffic_acquisition.csv", comment="#")
    group = "Session primary channel group (Default Channel Group)"
    assert ga4.groupby("Session source / medium")[group].nunique().max() == 1
    assert not ga4.duplicated(["Date", group, "Session source / medium"]).any()
    assert (ga4["Sessions"] >= ga4[["Engaged sessions", "Key events"]].max(axis=1)).all()
    referral = ga4[ga4[group] == "Referral"].assign(month=lambda f: f["Date"].astype(str).str[:6])
    by_month = referral.pivot_table(
        index="month", columns="Session source / medium", values="Sessions", aggfunc="sum"
    )
    forum = by_month["hikingforum.example.com / referral"] / by_month.sum(axis=1)
    for month, planted in (("202411", 0.05 + 0.5 * 14.5 / 729), ("202610", 0.55 - 0.5 * 15 / 729)):
        n = by_month.loc[month].sum()
        assert forum[month] == pytest.approx(planted, abs=3 * np.sqrt(planted * (1 - planted) / n)), month


def test_everything_ends_2026_10_31(out):
    later = re.compile(r"2026-1[12]-\d\d|2027-|1[12]/\d\d/2026")
    for path in out.rglob("*.csv"):
        if path.name != "unified_payments.csv":  # Stripe writes UTC: checked below
            assert not later.search(path.read_text()), path.name
    stripe = read(out, "home-services", "unified_payments.csv")
    for column in ("Created date (UTC)", "Refunded date (UTC)"):
        utc = pd.to_datetime(stripe[column].replace("", None)).dropna()
        local = utc.dt.tz_localize("UTC").dt.tz_convert("America/New_York").dt.tz_localize(None)
        assert local.max() < END
    orders = read(out, "online-store", "orders_export_1.csv.gz")
    assert pd.to_datetime(orders["Created at"].str[:19]).max() < END
    items = read(out, "coffee-shop", "items-2024-11-01-2026-10-31.csv.gz")
    assert items["Date"].max() == "2026-10-31" and items["Date"].min() == "2024-11-01"
    leads = read(out, "home-services", "leads.csv")
    assert pd.to_datetime(leads["Created"], format="%m/%d/%Y %H:%M").max() < END


def test_ab_personalization_lift(out):
    """Planted 3.0% vs 2.0% orders, 4.5% vs 3.0% clicks; ~8,600 recipients per arm (SE ~0.2 pp)."""
    sends = read(out, "online-store", "klaviyo_recipient_activity.csv.gz")
    ab = sends[sends["Variant"].isin(["Personalized picks", "Generic bestsellers"])]
    arms = ab.groupby("Variant").agg(
        n=("Email", "size"),
        orders=("Ordered At", lambda s: (s != "").sum()),
        clicks=("Clicked At", lambda s: (s != "").sum()),
    )
    rate = arms["orders"] / arms["n"]
    clicks = arms["clicks"] / arms["n"]
    assert rate["Personalized picks"] == pytest.approx(0.030, abs=0.006)
    assert rate["Generic bestsellers"] == pytest.approx(0.020, abs=0.005)
    assert clicks["Personalized picks"] == pytest.approx(0.045, abs=0.007)
    assert clicks["Generic bestsellers"] == pytest.approx(0.030, abs=0.006)
    _z, p = proportions_ztest(arms["orders"].to_numpy(), arms["n"].to_numpy())
    assert p < 0.001  # detectable, as the brief asks


def test_klaviyo_aggregates_match_recipients_and_orders(out):
    sends = read(out, "online-store", "klaviyo_recipient_activity.csv.gz")
    campaigns = read(out, "online-store", "klaviyo_campaigns.csv")
    per = sends.groupby(["Campaign ID", "Variant"]).agg(
        n=("Email", "size"),
        orders=("Ordered At", lambda s: (s != "").sum()),
        opens=("Opened At", lambda s: (s != "").sum()),
        revenue=("Order Revenue", lambda s: pd.to_numeric(s).sum()),
    )
    merged = campaigns.join(per, on=["Campaign ID", "Variant Name"])
    assert (merged["Total Recipients"].astype(int) == merged["n"]).all()
    assert (merged["Unique Placed Order"].astype(int) == merged["orders"]).all()
    assert (merged["Unique Opens"].astype(int) == merged["opens"]).all()
    assert np.allclose(merged["Revenue"].astype(float), merged["revenue"], atol=0.01)
    assert campaigns.groupby("Campaign ID").size().max() == 2  # A/B tests have two variants
    # every attributed order is a Shopify order of that person at that time
    orders = read(out, "online-store", "orders_export_1.csv.gz")
    placed = set(zip(orders["Email"], orders["Created at"].str[:19]))
    won = sends[sends["Ordered At"] != ""]
    assert all(key in placed for key in zip(won["Email"], won["Ordered At"]))


def _orders_with_customers(out):
    orders = read(out, "online-store", "orders_export_1.csv.gz")
    orders = orders[orders["Financial Status"] != ""].copy()
    orders["at"] = pd.to_datetime(orders["Created at"].str[:19])
    customers = read(out, "online-store", "customers_export.csv.gz")
    customers["channel"] = customers["Tags"].str.extract(r"channel:(\w+)", expand=False)
    customers["region"] = customers["Default Address Province Code"]
    return orders.merge(customers[["Email", "channel", "region"]], on="Email"), customers


def test_touches_precede_orders(out):
    orders, _ = _orders_with_customers(out)
    touches = read(out, "online-store", "utm_touches.csv.gz")
    touches["at"] = pd.to_datetime(touches["Timestamp"])
    first_touch = touches.groupby("Email")["at"].min()
    first_order = orders.groupby("Email")["at"].min()
    # non-converting journeys exist (subscribers who never bought) for the Markov model
    assert 0 < len(first_touch.index.difference(first_order.index)) < len(first_touch)
    touched = first_order.index.intersection(first_touch.index)
    assert len(touched) / len(first_order) > 0.9
    assert (first_touch[touched] < first_order[touched]).all()


def test_retention_email_twice_paid_social(out):
    """Repeat orders per customer-month after the first order: planted ratio 2 (measured ~1.96)."""
    orders, _ = _orders_with_customers(out)
    first = orders.groupby("Email")["at"].transform("min")
    orders["repeat"] = orders["at"] > first
    per = orders.groupby("Email").agg(
        channel=("channel", "first"), first=("at", "min"), repeats=("repeat", "sum")
    )
    per["months"] = (END - per["first"]) / pd.Timedelta(days=30.4375)
    by = per.groupby("channel")[["repeats", "months"]].sum()
    rate = by["repeats"] / by["months"]
    # ~2,100 and ~1,500 repeat orders: Poisson SE of the ratio ~4%; 15% tolerance
    assert rate["email"] / rate["paid_social"] == pytest.approx(2.0, rel=0.15)
    others = rate.drop(["email", "paid_social"])
    assert (others > rate["paid_social"]).all() and (others < rate["email"]).all()


def test_rollout_lifts_ca_by_20_percent(out):
    """Ratio of ratios (CA post/pre over others post/pre) of weekly orders per customer."""
    orders, _customers = _orders_with_customers(out)
    first = orders.groupby("Email")["at"].min()
    panel = first[first < "2026-01-01"].index
    x = orders[orders["Email"].isin(panel) & (orders["at"] >= "2026-01-01")]
    rollout = pd.Timestamp("2026-05-01")
    counts = x.groupby([x["region"] == "CA", x["at"] >= rollout]).size()
    lift = (counts[(True, True)] / counts[(True, False)]) / (counts[(False, True)] / counts[(False, False)])
    # ~1,000 CA orders in the window: SE of the log ratio ~0.07; the planted 1.20 is diluted
    # slightly by campaign orders; tolerance +-0.15
    assert lift == pytest.approx(1.20, abs=0.15)
    # same seasonality before: CA's share of orders is stable across 2025's halves
    y = orders[orders["Email"].isin(panel)]
    share = y.groupby(y["at"] < "2025-07-01")["region"].apply(lambda r: (r == "CA").mean())
    assert abs(share[True] - share[False]) < 0.04


def test_nextdoor_and_riverton_rise(out):
    leads = read(out, "home-services", "leads.csv")
    month = pd.to_datetime(leads["Created"], format="%m/%d/%Y %H:%M").dt.to_period("M")
    nextdoor = (leads["Source"] == "Nextdoor").groupby(month).mean()
    riverton = (leads["Town"] == "Riverton").groupby(month).mean()
    assert nextdoor[:"2026-04"].max() == 0
    assert nextdoor["2026-10"] == pytest.approx(0.25, abs=0.01)  # exact quota up to rounding
    assert nextdoor["2026-05"] == pytest.approx(0.05, abs=0.01)
    assert riverton[:"2025-10"].between(0.04, 0.06).all()
    assert riverton["2026-10"] == pytest.approx(0.25, abs=0.01)


def test_unmet_demand_ranking(out):
    leads = read(out, "home-services", "leads.csv")
    services = read(out, "home-services", "services.csv")
    offered = set(services.loc[services["Active"] == "yes", "Service"])
    listed = set(services["Service"])
    unmet = leads.loc[~leads["Service Requested"].isin(listed), "Service Requested"].value_counts()
    assert list(unmet.index[:2]) == ["Heat pump installation", "EV charger installation"]
    assert unmet.iloc[0] > 1.5 * unmet.iloc[1]
    inactive = leads["Service Requested"].isin(listed - offered).sum()
    assert inactive < unmet.iloc[1]  # the inactive catalogue entry does not outrank them


def test_stripe_jobs_are_won_leads(out):
    payments = read(out, "home-services", "unified_payments.csv")
    leads = read(out, "home-services", "leads.csv")
    assert set(payments["Description"]) <= set(leads.loc[leads["Status"] == "Won", "Service Requested"])
    assert set(payments["Status"]) == {"Paid", "Refunded", "Failed"}


def test_coffee_morning_peak(out):
    items = read(out, "coffee-shop", "items-2024-11-01-2026-10-31.csv.gz")
    sales = items[items["Event Type"] == "Payment"]
    net = sales["Net Sales"].str.replace(r"[$,]", "", regex=True).astype(float)
    hour = sales["Time"].str[:2].astype(int)
    assert net[hour.between(7, 8)].sum() / net.sum() == pytest.approx(0.40, abs=0.02)


def test_scale_multiplies_the_store(out, tmp_path):
    write_samples(tmp_path, scale=2)
    for name in ("orders_export_1.csv.gz", "customers_export.csv.gz", "klaviyo_recipient_activity.csv.gz"):
        one = len(read(out, "online-store", name))
        two = len(read(tmp_path, "online-store", name))
        assert two / one == pytest.approx(2.0, rel=0.08), name
    items = "items-2024-11-01-2026-10-31.csv.gz"
    assert len(read(tmp_path, "coffee-shop", items)) == len(read(out, "coffee-shop", items))


def test_committed_sample_stays_small(out):
    """The sample committed in data/sample/ must stay a few MB (large exports are gzipped)."""
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert total < 5_000_000, f"sample is {total / 1e6:.1f} MB"
