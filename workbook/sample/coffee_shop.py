"""Bean Counter Coffee: a one-location coffee shop on Square, with Google reviews.

Transactions per day follow growth, month and weekday factors; each transaction's hour comes
from `HOURS`, whose 7:00-9:00 share is the planted morning peak. About a third of transactions
belong to loyalty customers (Square Customer ID and name on the rows), whose visit frequencies
are heavy-tailed, so repeat visits and regulars exist; the rest are anonymous walk-ins.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from workbook.sample import common as c

SLUG = "coffee-shop"
TZ = "America/Chicago"
TZ_LABEL = "Central Time (US & Canada)"

# Share of transactions (and, with the same basket everywhere, of sales) by opening hour.
HOURS = {
    6: 0.07,
    7: 0.20,
    8: 0.20,
    9: 0.10,
    10: 0.08,
    11: 0.07,
    12: 0.08,
    13: 0.06,
    14: 0.05,
    15: 0.04,
    16: 0.03,
    17: 0.02,
}
MORNING_PEAK = HOURS[7] + HOURS[8]  # planted: 0.40 of transactions 7:00-8:59

TRANSACTIONS_PER_DAY = 20  # on an average day (growth, month and weekday average to 1)
MONTH_FACTOR = np.array([1.10, 1.05, 1.00, 0.95, 0.95, 0.90, 0.85, 0.90, 1.00, 1.05, 1.10, 1.15])
DOW_FACTOR = np.array([0.95, 0.95, 0.95, 1.00, 1.05, 1.15, 0.95])  # Monday..Sunday
LOYALTY_MEMBERS = 900
KNOWN_SHARE = 0.33
REFUND_RATE = 0.004
TAX_RATE = 0.1025
ITEMS = [  # (category, item, price point, price, weight)
    ("Coffee", "Drip Coffee", "Regular", 3.25, 14),
    ("Coffee", "Latte", "Regular", 5.25, 16),
    ("Coffee", "Latte", "Large", 5.95, 7),
    ("Coffee", "Cappuccino", "Regular", 4.75, 8),
    ("Coffee", "Americano", "Regular", 3.75, 7),
    ("Coffee", "Cold Brew", "Regular", 4.95, 8),
    ("Coffee", "Mocha", "Regular", 5.50, 5),
    ("Coffee", "Espresso", "Double", 3.00, 3),
    ("Tea", "Chai Latte", "Regular", 5.00, 5),
    ("Tea", "Matcha Latte", "Regular", 5.75, 4),
    ("Bakery", "Butter Croissant", "", 3.95, 8),
    ("Bakery", "Blueberry Muffin", "", 3.75, 5),
    ("Bakery", "Banana Bread", "", 4.25, 4),
    ("Food", "Breakfast Sandwich", "", 7.50, 5),
    ("Retail", "Whole Bean 12oz", "", 16.00, 1),
]
MODIFIERS = [
    ("", 0.0, 0.70),
    ("Oat Milk", 0.75, 0.15),
    ("Extra Shot", 0.90, 0.10),
    ("Oat Milk, Extra Shot", 1.65, 0.05),
]
EMPLOYEES = ["Jess", "Marco", "Priya", "Dan"]
COLUMNS = [
    "Date",
    "Time",
    "Time Zone",
    "Category",
    "Item",
    "Qty",
    "Price Point Name",
    "SKU",
    "Modifiers Applied",
    "Gross Sales",
    "Discounts",
    "Net Sales",
    "Tax",
    "Transaction ID",
    "Payment ID",
    "Device Name",
    "Notes",
    "Details",
    "Event Type",
    "Location",
    "Dining Option",
    "Customer ID",
    "Customer Name",
    "Customer Reference ID",
    "Unit",
    "Count",
    "GTIN",
    "Itemization Type",
    "Commission",
    "Employee",
    "Fulfillment Note",
    "Channel",
    "Token",
    "Card Brand",
    "PAN Suffix",
]
REVIEW_COMMENTS = {
    5: [
        "Best latte in the neighborhood, and the staff know my order.",
        "Great coffee, cozy spot, fast even during the morning rush.",
        "The croissants are amazing. My daily stop before work.",
        "Love this place. Do you sell your beans by the bag?",
    ],
    4: [
        "Good coffee, a bit of a line at 8am.",
        "Nice place, wish they opened earlier.",
        "Solid cold brew, friendly baristas.",
        "Great espresso, wish you had oat milk for the cold brew too.",
        "Friendly staff. Please add gluten-free pastries!",
    ],
    3: [
        "Coffee is fine, seating is limited.",
        "Okay, but the morning wait is long.",
        "Decent latte. Do you have oat milk? It would make my day.",
    ],
    2: ["Waited 15 minutes for a drip coffee.", "Latte was lukewarm."],
    1: ["Wrong order twice and no apology."],
}
REVIEW_REPLIES = {
    5: "Thank you so much! See you tomorrow.",
    4: "Thanks for the kind words!",
    3: "Thanks for the feedback, we are working on it.",
    2: "Sorry about that, please let us make it right next time.",
    1: "We are sorry. Please ask for the manager on your next visit.",
}


def _transactions(rng: np.random.Generator) -> pd.DataFrame:
    days = c.DAYS
    growth = 0.85 + 0.3 * np.arange(len(days)) / (len(days) - 1)
    weight = growth * MONTH_FACTOR[days.month - 1] * DOW_FACTOR[days.day_of_week]
    counts = rng.poisson(weight / weight.mean() * TRANSACTIONS_PER_DAY)
    day = days.repeat(counts)
    hours = np.zeros(24)
    for hour, share in HOURS.items():
        hours[hour] = share
    at = c.random_times(rng, day, hours)
    n = len(at)
    members = c.people(rng, LOYALTY_MEMBERS, first_number=501)
    loyalty = rng.pareto(1.2, LOYALTY_MEMBERS) + 0.1  # a few regulars, many occasional visitors
    known = rng.random(n) < KNOWN_SHARE
    member = np.where(known, rng.choice(LOYALTY_MEMBERS, size=n, p=loyalty / loyalty.sum()), -1)
    square_ids = c.unique_tokens(rng, LOYALTY_MEMBERS, 26)
    frame = pd.DataFrame({"at": at, "member": member})
    frame = frame.sort_values("at", kind="stable").reset_index(drop=True)
    frame["transaction_id"] = c.unique_tokens(rng, n, 22)
    frame["payment_id"] = c.unique_tokens(rng, n, 22)
    idx = frame["member"].to_numpy()
    has = idx >= 0
    frame["customer_id"] = np.where(has, square_ids[np.maximum(idx, 0)], "")
    full = (members["first"] + " " + members["last"]).to_numpy()
    frame["customer_name"] = np.where(has, full[np.maximum(idx, 0)], "")
    return frame


def _lines(rng: np.random.Generator, tx: pd.DataFrame) -> pd.DataFrame:
    n = len(tx)
    n_lines = rng.choice([1, 2, 3], size=n, p=[0.68, 0.27, 0.05])
    order = np.repeat(np.arange(n), n_lines)
    items = pd.DataFrame(ITEMS, columns=["category", "item", "point", "price", "weight"])
    w = items["weight"].to_numpy(float)
    pick = rng.choice(len(items), size=len(order), p=w / w.sum())
    mods = rng.choice(len(MODIFIERS), size=len(order), p=[m[2] for m in MODIFIERS])
    drinks = items["category"].isin(["Coffee", "Tea"]).to_numpy()[pick]
    mods = np.where(drinks, mods, 0)
    qty = np.where(rng.random(len(order)) < 0.06, 2, 1)
    unit = items["price"].to_numpy()[pick] + np.array([m[1] for m in MODIFIERS])[mods]
    gross = np.round(unit * qty, 2)
    discount = np.where(rng.random(len(order)) < 0.04, -np.round(gross * 0.1, 2), 0.0)
    return pd.DataFrame(
        {"tx": order, "item": pick, "mod": mods, "qty": qty, "gross": gross, "discount": discount}
    )


def write(out_dir: Path, rng: np.random.Generator, scale: int) -> list[Path]:
    """Square item sales and Google reviews (the coffee shop does not grow with `scale`)."""
    tx = _transactions(rng)
    lines = _lines(rng, tx)
    items = pd.DataFrame(ITEMS, columns=["category", "item", "point", "price", "weight"])
    t = tx.iloc[lines["tx"].to_numpy()].reset_index(drop=True)
    net = lines["gross"] + lines["discount"]
    tax = np.round(net * TAX_RATE, 2)
    per_tx = rng.random(len(tx))
    card = np.where(
        per_tx < 0.55,
        "Visa",
        np.where(per_tx < 0.8, "MasterCard", np.where(per_tx < 0.9, "American Express", "")),
    )  # blank: cash
    pan = np.where(card != "", (1000 + (per_tx * 1e6).astype(int) % 9000).astype(str), "")
    dining = np.where(rng.random(len(tx)) < 0.55, "To Go", "For Here")
    employee = np.array(EMPLOYEES, dtype=object)[rng.integers(0, len(EMPLOYEES), len(tx))]
    k = lines["tx"].to_numpy()
    modifiers = np.array([m[0] for m in MODIFIERS], dtype=object)[lines["mod"]]
    frame = pd.DataFrame(
        {
            "Date": t["at"].dt.strftime("%Y-%m-%d"),
            "Time": t["at"].dt.strftime("%H:%M:%S"),
            "Time Zone": TZ_LABEL,
            "Category": items["category"].to_numpy()[lines["item"]],
            "Item": items["item"].to_numpy()[lines["item"]],
            "Qty": lines["qty"].astype(float).map("{:.1f}".format),
            "Price Point Name": items["point"].to_numpy()[lines["item"]],
            "Modifiers Applied": modifiers,
            "Gross Sales": c.money(lines["gross"]),
            "Discounts": c.money(lines["discount"]),
            "Net Sales": c.money(net),
            "Tax": c.money(tax),
            "Transaction ID": t["transaction_id"],
            "Payment ID": t["payment_id"],
            "Device Name": "Counter iPad",
            "Event Type": "Payment",
            "Location": "Bean Counter Coffee",
            "Dining Option": dining[k],
            "Customer ID": t["customer_id"],
            "Customer Name": t["customer_name"],
            "Unit": "",
            "Count": lines["qty"].astype(str),
            "Itemization Type": "Physical Item",
            "Commission": "$0.00",
            "Employee": employee[k],
            "Channel": "Point of Sale",
            "Card Brand": card[k],
            "PAN Suffix": pan[k],
        }
    )
    # A few refunds: the whole transaction comes back later the same day, amounts in (...).
    refund_tx = np.nonzero(rng.random(len(tx)) < REFUND_RATE)[0]
    mask = np.isin(k, refund_tx)
    back = frame[mask].copy()
    lag = rng.integers(120, 3600, len(tx))  # one refund time per transaction
    later = t["at"][mask] + pd.to_timedelta(lag[k[mask]], unit="s")
    back["Time"] = later.dt.strftime("%H:%M:%S").to_numpy()
    back["Date"] = later.dt.strftime("%Y-%m-%d").to_numpy()
    back["Event Type"] = "Refund"
    back["Gross Sales"] = c.money(-lines["gross"][mask], negative="parentheses")
    back["Discounts"] = c.money(-lines["discount"][mask], negative="parentheses")
    back["Net Sales"] = c.money(-net[mask], negative="parentheses")
    back["Tax"] = c.money(-tax[mask], negative="parentheses")
    back["Details"] = "Refund: customer changed order"
    frame = pd.concat([frame, back]).sort_values(["Date", "Time"], ascending=False, kind="stable")

    stars = rng.choice([5, 4, 3, 2, 1], size=int(rng.poisson(260)), p=[0.58, 0.24, 0.09, 0.05, 0.04])
    review_days = pd.DatetimeIndex(np.sort(rng.choice(c.DAYS, size=len(stars))))
    hours = np.zeros(24)
    hours[7:21] = 1
    reviews = c.google_reviews(
        rng, stars, c.random_times(rng, review_days, hours), TZ, REVIEW_COMMENTS, 0.6, REVIEW_REPLIES
    )
    first, last = c.START, c.LAST_DAY
    return [
        c.write_csv(
            frame.reindex(columns=COLUMNS, fill_value=""),
            out_dir / f"items-{first:%Y-%m-%d}-{last:%Y-%m-%d}.csv.gz",
        ),
        c.write_json(reviews, out_dir / "google_reviews.json"),
    ]
