"""A tiny, young shop: the small, noisy data the workbook must handle honestly (issue 13).

A candle shop on Shopify with 13 weeks of history (2 Aug to 31 Oct 2026): 115 customers, 150
orders, 14 Google reviews, no email list and no campaigns. Two orders carry a mistyped year
(2099), as a till or a hand-edited export can: they are reported and must not move the report's
date. Written with the real export formats (Shopify's orders export, Google's reviews JSON), so
it goes through the `shopify-orders` and `google-reviews` presets like a real client's files.

Not one of `SAMPLE_CLIENTS` (the demo's three are full two-year businesses); the tests render it
beside them to scan every page for impossible values and unsaid thin history.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from workbook.sample import common as c

SLUG = "tiny-shop"
NAME = "Wick & Wax Candles"
INDUSTRY = "online-store"
TZ = "America/Chicago"
SEED = 13
WEEKS = 13
CUSTOMERS = 115
ORDERS = 150
REVIEWS = 14
FUTURE_ORDERS = 2  # planted mistyped dates, in year FUTURE_YEAR
FUTURE_YEAR = 2099
START = c.END - pd.Timedelta(weeks=WEEKS)  # 2026-08-02; the last day is 2026-10-31
IMPORTS = (("orders_export_1.csv", "shopify-orders"), ("google_reviews.json", "google-reviews"))

PRODUCTS = [  # (name, price, sku)
    ("Sea Salt Candle", 24.0, "WW-SEA"),
    ("Cedar & Smoke Candle", 28.0, "WW-CED"),
    ("Lavender Tin", 14.0, "WW-LAV"),
    ("Pumpkin Spice Candle", 26.0, "WW-PMK"),
    ("Wick Trimmer", 12.0, "WW-TRM"),
    ("Gift Set of Three", 62.0, "WW-GFT"),
]
COLUMNS = [
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Accepts Marketing",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Amount",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem sku",
    "Billing Name",
    "Billing Province",
    "Billing Country",
    "Cancelled at",
    "Refunded Amount",
    "Id",
    "Source",
    "Lineitem discount",
]
REVIEW_COMMENTS = {
    5: ["Lovely scents and fast shipping.", "The cedar candle fills the whole room."],
    4: ["Nice candles, a little pricey.", "Good burn time, wish you had unscented ones."],
    3: ["Smaller than I expected."],
    2: ["Arrived with a cracked jar."],
    1: ["Never arrived."],
}
REVIEW_REPLIES = {
    5: "Thank you!",
    4: "Thanks, we are working on unscented ones.",
    3: "Thanks for telling us.",
    2: "Sorry, we sent a new one.",
    1: "Sorry, please write to us.",
}


def _orders(rng: np.random.Generator) -> pd.DataFrame:
    """Every customer's first order, then repeat orders after it, up to ORDERS; sorted by time."""
    days = (c.END - START).days
    first = rng.integers(0, days, CUSTOMERS)
    who = np.concatenate([np.arange(CUSTOMERS), rng.integers(0, CUSTOMERS, ORDERS - CUSTOMERS)])
    day = first[who].copy()
    repeat = np.arange(CUSTOMERS, ORDERS)
    day[repeat] = first[who[repeat]] + rng.integers(1, days, len(repeat))
    keep = day < days  # a repeat beyond the last day is moved to a customer with room for one
    day[~keep] = first[who[~keep]] + (days - 1 - first[who[~keep]]) // 2
    hours = np.r_[np.zeros(8), np.ones(14), np.zeros(2)]
    created = c.random_times(rng, START + pd.to_timedelta(day, unit="D"), hours)
    product = rng.choice(len(PRODUCTS), size=ORDERS, p=[0.25, 0.2, 0.2, 0.15, 0.1, 0.1])
    qty = 1 + (rng.random(ORDERS) < 0.2)
    frame = pd.DataFrame({"who": who, "created": created, "product": product, "qty": qty})
    frame = frame.sort_values("created", kind="stable").reset_index(drop=True)
    frame["number"] = 1001 + np.arange(ORDERS)
    refunded = rng.random(ORDERS) < 0.03
    price = np.array([p[1] for p in PRODUCTS])[frame["product"]]
    frame["subtotal"] = price * frame["qty"]
    frame["refunded"] = np.where(refunded, frame["subtotal"], 0.0)
    return frame


def write(out_dir: Path, seed: int = SEED) -> list[Path]:
    """Write the shop's two exports into `out_dir`; the same bytes for the same seed."""
    rng = np.random.default_rng(seed)
    people = c.people(rng, CUSTOMERS, first_number=70001)
    o = _orders(rng)
    future = o.tail(FUTURE_ORDERS).copy()  # the same orders again, numbered on, typed in 2099
    future["number"] = o["number"].max() + 1 + np.arange(FUTURE_ORDERS)
    future["created"] = [t.replace(year=FUTURE_YEAR) for t in future["created"]]
    o = pd.concat([o, future], ignore_index=True)
    who = people.loc[o["who"]].reset_index(drop=True)
    created = c.with_offset(pd.DatetimeIndex(o["created"]), TZ)
    shipping = np.where(o["subtotal"] >= 50, 0.0, 6.0)
    taxes = np.round(o["subtotal"] * 0.07, 2)
    names = np.array([p[0] for p in PRODUCTS])[o["product"]]
    orders = pd.DataFrame(
        {
            "Name": "#" + o["number"].astype(str),
            "Email": who["email"],
            "Financial Status": np.where(o["refunded"] > 0, "refunded", "paid"),
            "Paid at": created,
            "Fulfillment Status": "fulfilled",
            "Accepts Marketing": "no",
            "Currency": "USD",
            "Subtotal": c.decimal(o["subtotal"]),
            "Shipping": c.decimal(shipping),
            "Taxes": c.decimal(taxes),
            "Total": c.decimal(o["subtotal"] + shipping + taxes),
            "Discount Amount": "0.00",
            "Created at": created,
            "Lineitem quantity": o["qty"].astype(str),
            "Lineitem name": names,
            "Lineitem price": c.decimal(np.array([p[1] for p in PRODUCTS])[o["product"]]),
            "Lineitem sku": np.array([p[2] for p in PRODUCTS])[o["product"]],
            "Billing Name": who["first"] + " " + who["last"],
            "Billing Province": "IL",
            "Billing Country": "US",
            "Cancelled at": "",
            "Refunded Amount": c.decimal(o["refunded"]),
            "Id": (5_900_000_000 + o["number"]).astype(str),
            "Source": "web",
            "Lineitem discount": "0.00",
        }
    ).iloc[::-1]  # newest first, as Shopify exports
    review_days = START + pd.to_timedelta(np.sort(rng.integers(7, WEEKS * 7, REVIEWS)), unit="D")
    stars = rng.choice([5, 4, 3, 2, 1], size=REVIEWS, p=[0.55, 0.25, 0.1, 0.05, 0.05])
    hours = np.r_[np.zeros(9), np.ones(13), np.zeros(2)]
    reviews = c.google_reviews(
        rng, stars, c.random_times(rng, review_days, hours), TZ, REVIEW_COMMENTS, 0.5, REVIEW_REPLIES
    )
    out_dir = Path(out_dir)
    return [
        c.write_csv(orders.reindex(columns=COLUMNS), out_dir / IMPORTS[0][0]),
        c.write_json(reviews, out_dir / IMPORTS[1][0]),
    ]
