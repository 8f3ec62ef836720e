"""Northwind Outfitters: an online outdoor-clothing store on Shopify with Klaviyo email.

The story, generated in this order so that every file agrees with the others:

1. Customers arrive every day from six acquisition channels (paid channels in proportion to
   the day's ad spend); newsletter subscribers sign up without buying.
2. Klaviyo campaigns go to everyone on the list at send time (A/B tests: half get the
   personalized variant). Opens, clicks and orders are drawn per recipient; an order becomes a
   Shopify order, and a subscriber's first order makes them an `email` customer.
3. Repeat orders follow a Poisson process per customer (Lewis-Shedler thinning) with intensity
   `REPEAT_RATE[channel] * decay(age) * season(day) * rollout(region, day)`: a proportional-
   hazards model, so the planted hazard ratios hold at every customer age.
4. Marketing touches precede orders; GA4 sessions and the survey follow the orders.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from workbook.sample import common as c

SLUG = "online-store"
TZ = "America/Los_Angeles"

# --- planted effects (documented in data/sample/README.md; tests check them in the files) --
AB_RATES = {  # per recipient, in A/B campaigns
    "generic": {"click": 0.030, "order": 0.020},
    "personalized": {"click": 0.045, "order": 0.030},
}
# Repeat orders per customer-month at customer age 0 and seasonal factor 1.
REPEAT_RATE = {
    "email": 0.60,
    "referral": 0.50,
    "organic_search": 0.45,
    "direct": 0.42,
    "paid_search": 0.38,
    "paid_social": 0.30,
}
ROLLOUT_DAY = pd.Timestamp("2026-05-01")
ROLLOUT_REGION = "CA"
ROLLOUT_LIFT = 1.20
DECAY_FLOOR, DECAY_MONTHS = 0.30, 4.0  # decay(age) = floor + (1 - floor) * exp(-age / months)

# --- the business -----------------------------------------------------------------------
CUSTOMERS_PER_SCALE = 3400  # direct acquisitions over the two years at scale 1
PROSPECTS_PER_SCALE = 3000  # newsletter sign-ups who had not bought (yet)
ACQUISITION_MIX = {
    "email": 0.10,
    "paid_social": 0.26,
    "paid_search": 0.20,
    "organic_search": 0.20,
    "referral": 0.10,
    "direct": 0.14,
}
CONSENT = {"email": 1.0}  # others: CONSENT_OTHER
CONSENT_OTHER = 0.55
MONTH_FACTOR = np.array([0.85, 0.80, 0.95, 1.00, 1.00, 0.95, 0.90, 0.95, 1.00, 1.05, 1.30, 1.45])
DOW_FACTOR = np.array([1.05, 1.00, 1.00, 1.00, 0.95, 0.95, 1.05])  # Monday..Sunday
ORDER_HOURS = np.array([1, 1, 0.5, 0.5, 0.5, 1, 2, 3, 4, 5, 5, 5, 6, 6, 5, 5, 5, 5, 6, 7, 8, 7, 5, 3])
REGIONS = {  # province code: (share, [(city, zip)])
    "CA": (
        0.30,
        [
            ("Los Angeles", "90012"),
            ("San Francisco", "94110"),
            ("San Diego", "92101"),
            ("Sacramento", "95814"),
            ("Oakland", "94607"),
        ],
    ),
    "WA": (0.12, [("Seattle", "98101"), ("Spokane", "99201"), ("Tacoma", "98402")]),
    "OR": (0.10, [("Portland", "97205"), ("Eugene", "97401"), ("Bend", "97701")]),
    "NY": (0.10, [("New York", "10001"), ("Brooklyn", "11201"), ("Buffalo", "14202")]),
    "TX": (0.10, [("Austin", "78701"), ("Houston", "77002"), ("Dallas", "75201")]),
    "CO": (0.09, [("Denver", "80202"), ("Boulder", "80302")]),
    "IL": (0.07, [("Chicago", "60601"), ("Evanston", "60201")]),
    "MA": (0.06, [("Boston", "02108"), ("Cambridge", "02139")]),
    "AZ": (0.06, [("Phoenix", "85004"), ("Flagstaff", "86001")]),
}
SEGMENTS = {"value": (0.35, 0.75), "core": (0.45, 1.0), "premium": (0.20, 1.6)}  # share, basket
PERSONAS = ["trail-runner", "weekend-hiker", "commuter", "gift-buyer"]
PERSONA_SHARE = [0.25, 0.35, 0.25, 0.15]
CATEGORIES = ["Jackets", "Footwear", "Packs", "Base Layers", "Accessories"]
PERSONA_CATEGORIES = np.array(
    [  # rows: personas, columns: categories
        [0.15, 0.40, 0.10, 0.20, 0.15],
        [0.25, 0.25, 0.25, 0.10, 0.15],
        [0.35, 0.15, 0.20, 0.10, 0.20],
        [0.15, 0.05, 0.10, 0.15, 0.55],
    ]
)
PRODUCTS = [  # (category, name, price, sku)
    ("Jackets", "Ridgeline Rain Jacket", 149.00, "NW-JK-RDG"),
    ("Jackets", "Cascade Down Parka", 229.00, "NW-JK-CSC"),
    ("Jackets", "Windbreaker Lite", 89.00, "NW-JK-WBL"),
    ("Jackets", "Fleece Quarter-Zip", 69.00, "NW-JK-FQZ"),
    ("Footwear", "Summit Trail Runner", 135.00, "NW-FW-STR"),
    ("Footwear", "Basecamp Hiking Boot", 179.00, "NW-FW-BHB"),
    ("Footwear", "Camp Slide", 39.00, "NW-FW-CSL"),
    ("Footwear", "Merino Hiking Socks (3-pack)", 32.00, "NW-FW-MHS"),
    ("Packs", "Daypack 22L", 79.00, "NW-PK-D22"),
    ("Packs", "Trek Pack 45L", 189.00, "NW-PK-T45"),
    ("Packs", "Commuter Sling", 49.00, "NW-PK-CSL"),
    ("Base Layers", "Merino Base Tee", 65.00, "NW-BL-MBT"),
    ("Base Layers", "Thermal Leggings", 59.00, "NW-BL-THL"),
    ("Base Layers", "Sun Hoodie", 55.00, "NW-BL-SUN"),
    ("Accessories", "Insulated Bottle 32oz", 34.00, "NW-AC-BOT"),
    ("Accessories", "Beanie", 24.00, "NW-AC-BNE"),
    ("Accessories", "Trail Gloves", 29.00, "NW-AC-GLV"),
    ("Accessories", "Headlamp 400", 45.00, "NW-AC-HLP"),
    ("Accessories", "Gift Card", 50.00, "NW-AC-GFT"),
]
LINES_PER_ORDER = [0.62, 0.26, 0.09, 0.03]
TAX_RATE = 0.08
FREE_SHIPPING_FROM, SHIPPING = 100.0, 7.95
REFUND_FULL, REFUND_PARTIAL, CANCELLED = 0.015, 0.02, 0.006

# Paid acquisition: spend per acquired customer (CAC) and the campaigns the spend runs under.
CAC = {"paid_social": 38.0, "paid_search": 45.0}
AD_CAMPAIGNS = {
    "paid_social": [("meta_prospecting", 0.75), ("meta_retargeting", 0.25)],
    "paid_search": [("google_nonbrand", 0.7), ("google_brand", 0.3)],
}
UTM = {
    "email": ("klaviyo", "email"),
    "paid_social": ("facebook", "paid_social"),
    "paid_search": ("google", "cpc"),
    "organic_search": ("google", "organic"),
    "referral": ("trailblog.example.com", "referral"),
    "direct": ("(direct)", "(none)"),
}
GA4_CHANNELS = {
    "organic_search": "Organic Search",
    "paid_search": "Paid Search",
    "paid_social": "Paid Social",
    "email": "Email",
    "direct": "Direct",
    "referral": "Referral",
}
# GA4 "Session source / medium" within each channel group: (source / medium, its share of the
# group's sessions on the first day, on the last day), the share moving linearly in between. The
# pairs are ones GA4's default channel grouping puts in that group. Planted: a hiking forum's
# links bring a growing part of the (falling) referral traffic.
GA4_SOURCES = {
    "organic_search": [
        ("google / organic", 0.88, 0.88),
        ("bing / organic", 0.08, 0.08),
        ("duckduckgo / organic", 0.04, 0.04),
    ],
    "paid_search": [("google / cpc", 1.0, 1.0)],
    "paid_social": [("facebook / paid_social", 0.7, 0.7), ("instagram / paid_social", 0.3, 0.3)],
    "email": [("klaviyo / email", 1.0, 1.0)],
    "direct": [("(direct) / (none)", 1.0, 1.0)],
    "referral": [
        ("trailblog.example.com / referral", 0.95, 0.45),
        ("hikingforum.example.com / referral", 0.05, 0.55),
    ],
}
GA4_CONVERSION = {
    "organic_search": 0.018,
    "paid_search": 0.022,
    "paid_social": 0.012,
    "email": 0.035,
    "direct": 0.028,
    "referral": 0.025,
}

# Klaviyo: one campaign a month to an engaged segment, plus A/B tests to the whole list.
AB_MONTHS = ["2025-09", "2025-11", "2026-01", "2026-03", "2026-06", "2026-09"]
SEGMENT_SHARE = 0.15  # regular campaigns go to this share of the list ("Engaged 90 days")
OPEN_RATE = 0.36
UNSUBSCRIBE_RATE = 0.003
BOUNCE_RATE = 0.004
ATTRIBUTION_DAYS = 5

SHOPIFY_ORDER_COLUMNS = [
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Fulfilled at",
    "Accepts Marketing",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Discount Amount",
    "Shipping Method",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem compare at price",
    "Lineitem sku",
    "Lineitem requires shipping",
    "Lineitem taxable",
    "Lineitem fulfillment status",
    "Billing Name",
    "Billing Street",
    "Billing Address1",
    "Billing Address2",
    "Billing Company",
    "Billing City",
    "Billing Zip",
    "Billing Province",
    "Billing Country",
    "Billing Phone",
    "Shipping Name",
    "Shipping Street",
    "Shipping Address1",
    "Shipping Address2",
    "Shipping Company",
    "Shipping City",
    "Shipping Zip",
    "Shipping Province",
    "Shipping Country",
    "Shipping Phone",
    "Notes",
    "Note Attributes",
    "Cancelled at",
    "Payment Method",
    "Payment Reference",
    "Refunded Amount",
    "Vendor",
    "Outstanding Balance",
    "Employee",
    "Location",
    "Device ID",
    "Id",
    "Tags",
    "Risk Level",
    "Source",
    "Lineitem discount",
    "Tax 1 Name",
    "Tax 1 Value",
    "Phone",
    "Receipt Number",
    "Duties",
    "Billing Province Name",
    "Shipping Province Name",
    "Payment ID",
    "Payment Terms Name",
    "Next Payment Due At",
    "Payment References",
]
SHOPIFY_CUSTOMER_COLUMNS = [
    "Customer ID",
    "First Name",
    "Last Name",
    "Email",
    "Accepts Email Marketing",
    "Default Address Company",
    "Default Address Address1",
    "Default Address Address2",
    "Default Address City",
    "Default Address Province Code",
    "Default Address Country Code",
    "Default Address Zip",
    "Default Address Phone",
    "Phone",
    "Accepts SMS Marketing",
    "Total Spent",
    "Total Orders",
    "Note",
    "Tax Exempt",
    "Tags",
    "Accepts WhatsApp Marketing",
]
KLAVIYO_COLUMNS = [
    "Campaign Name",
    "Variant Name",
    "Tags",
    "Subject",
    "List",
    "Send Time",
    "Send Weekday",
    "Total Recipients",
    "Unique Placed Order",
    "Placed Order Rate",
    "Revenue",
    "Unique Opens",
    "Open Rate",
    "Total Opens",
    "Unique Clicks",
    "Click Rate",
    "Total Clicks",
    "Unsubscribes",
    "Spam Complaints",
    "Spam Complaints Rate",
    "Successful Deliveries",
    "Bounces",
    "Bounce Rate",
    "Campaign ID",
    "Campaign Channel",
    "Winning Variant?",
]
PROVINCE_NAMES = {
    "CA": "California",
    "WA": "Washington",
    "OR": "Oregon",
    "NY": "New York",
    "TX": "Texas",
    "CO": "Colorado",
    "IL": "Illinois",
    "MA": "Massachusetts",
    "AZ": "Arizona",
}

MAPPINGS = {
    "email-activity.yaml": """
name: klaviyo-recipient-activity
table: campaign_sends
columns:
  Campaign ID: campaign_id
  Variant: variant
  Sent At: sent_at
  Opened At: opened_at
  Clicked At: clicked_at
  Ordered At: converted_at
  Order Revenue: revenue
  Unsubscribed: unsubscribed
identity:
  - {column: Email, kind: email}
""",
    "touches.yaml": """
name: utm-touches
table: touches
columns:
  Timestamp: touched_at
  Channel: channel
  UTM Source: utm_source
  UTM Medium: utm_medium
  Campaign ID: campaign_id
identity:
  - {column: Email, kind: email}
""",
    "ad-spend.yaml": """
name: ad-spend
table: spend
columns:
  Date: spent_on
  Channel: channel
  Campaign ID: campaign_id
  Spend: amount
""",
}


def _season(days: pd.DatetimeIndex) -> np.ndarray:
    return MONTH_FACTOR[days.month - 1] * DOW_FACTOR[days.day_of_week]


def _growth(days: pd.DatetimeIndex) -> np.ndarray:
    """Business growth: 0.6 at the start to 1.4 at the end (mean 1)."""
    return 0.6 + 0.8 * np.arange(len(days)) / (len(days) - 1)


def _decay(age_months: np.ndarray) -> np.ndarray:
    return DECAY_FLOOR + (1 - DECAY_FLOOR) * np.exp(-age_months / DECAY_MONTHS)


class _Store:
    """Builds the store's tables in memory, then writes them in the sources' formats."""

    def __init__(self, rng: np.random.Generator, scale: int):
        self.rng = rng
        self.scale = scale
        self.days = c.DAYS
        self.season = _season(self.days)
        self.growth = _growth(self.days)

    # -- people ------------------------------------------------------------------------
    def people(self) -> None:
        rng, days = self.rng, self.days
        weight = self.season * self.growth
        channels = list(ACQUISITION_MIX)
        per_day = np.outer(weight / weight.sum(), [ACQUISITION_MIX[ch] for ch in channels])
        counts = rng.poisson(per_day * CUSTOMERS_PER_SCALE * self.scale)
        self.expected_paid = {
            ch: per_day[:, channels.index(ch)] * CUSTOMERS_PER_SCALE * self.scale for ch in CAC
        }
        day_idx, ch_idx = np.nonzero(counts)
        reps = counts[day_idx, ch_idx]
        acq_day = np.repeat(day_idx, reps)
        buyer_channel = np.repeat(np.asarray(channels, dtype=object)[ch_idx], reps)
        n_buyers = len(acq_day)
        p_counts = rng.poisson(weight / weight.sum() * PROSPECTS_PER_SCALE * self.scale)
        p_day = np.repeat(np.arange(len(days)), p_counts)
        n = n_buyers + len(p_day)

        people = c.people(rng, n)
        people["is_prospect"] = np.arange(n) >= n_buyers
        people["channel"] = np.concatenate([buyer_channel, np.full(len(p_day), "email", object)])
        people["joined"] = c.random_times(rng, days[np.concatenate([acq_day, p_day])], ORDER_HOURS)
        region_codes = list(REGIONS)
        people["region"] = c.pick(rng, region_codes, [REGIONS[r][0] for r in region_codes], n)
        city_pick = rng.random(n)
        people["city"], people["zip"] = "", ""
        for code in region_codes:
            rows = people["region"].to_numpy() == code
            places = REGIONS[code][1]
            which = (city_pick[rows] * len(places)).astype(int)
            people.loc[rows, "city"] = [places[k][0] for k in which]
            people.loc[rows, "zip"] = [places[k][1] for k in which]
        seg_names = list(SEGMENTS)
        people["segment"] = c.pick(rng, seg_names, [SEGMENTS[s][0] for s in seg_names], n)
        people["persona"] = c.pick(rng, PERSONAS, PERSONA_SHARE, n)
        consent_p = people["channel"].map(lambda ch: CONSENT.get(ch, CONSENT_OTHER)).to_numpy(float)
        people["consent"] = rng.random(n) < consent_p
        people["unsubscribed_at"] = pd.NaT
        # A buyer's acquisition is their first order; a prospect's is set when they first buy.
        people["acquired"] = people["joined"].where(~people["is_prospect"])
        self.people_df = people.sort_values("joined", kind="stable").reset_index(drop=True)
        self.people_df.index.name = "pid"

    # -- orders --------------------------------------------------------------------------
    def first_orders(self) -> pd.DataFrame:
        p = self.people_df
        buyers = p.index[~p["is_prospect"]]
        return pd.DataFrame(
            {
                "pid": buyers,
                "created": p.loc[buyers, "joined"].to_numpy(),
                "kind": "first",
                "campaign_id": None,
                "variant": None,
            }
        )

    def campaigns(self) -> pd.DataFrame:
        """Campaign schedule: one regular send a month (from December 2024), plus A/B tests."""
        rng = self.rng
        rows = []
        months = pd.period_range("2024-12", "2026-10", freq="M")
        for k, month in enumerate(months):
            first_day = month.to_timestamp()
            regular_day = first_day + pd.Timedelta(days=int(rng.integers(8, 20)))
            personalized = month >= pd.Period("2025-06", "M") and k % 2 == 0
            rows.append(
                {
                    "month": str(month),
                    "send": regular_day + pd.Timedelta(hours=10),
                    "ab": False,
                    "personalized": personalized,
                    "ptype": "first_name" if personalized else None,
                }
            )
            if str(month) in AB_MONTHS:
                ab_day = first_day + pd.Timedelta(days=int(rng.integers(2, 7)))
                rows.append(
                    {
                        "month": str(month),
                        "send": ab_day + pd.Timedelta(hours=9),
                        "ab": True,
                        "personalized": True,
                        "ptype": "product_recs",
                    }
                )
        camp = pd.DataFrame(rows).sort_values("send", kind="stable").reset_index(drop=True)
        camp["campaign_id"] = c.unique_tokens(rng, len(camp), 6)
        themes = [
            "Fall layering guide",
            "Holiday gift picks",
            "New year, new trails",
            "Winter clearance",
            "Spring trail kit",
            "Rain-ready essentials",
            "Summer hiking checklist",
            "Back-to-school commute",
            "Trail running season",
        ]
        camp["name"] = [
            f"{send:%b %Y} - {themes[i % len(themes)]}" + (" (A/B recommendations)" if ab else "")
            for i, (send, ab) in enumerate(zip(camp["send"], camp["ab"]))
        ]
        camp["multiplier"] = np.where(camp["ab"], 1.0, rng.uniform(0.8, 1.2, len(camp)))
        return camp

    def sends(self, camp: pd.DataFrame) -> pd.DataFrame:
        """Every recipient of every campaign, with opens, clicks, orders and unsubscribes."""
        rng, p = self.rng, self.people_df
        frames = []
        joined = p["joined"].to_numpy()
        on_list = p["consent"].to_numpy().copy()
        unsub_at = np.full(len(p), np.datetime64("NaT"), dtype="datetime64[ns]")
        for row in camp.itertuples():
            send = np.datetime64(row.send)
            eligible = np.nonzero(on_list & (joined < send))[0]
            if not row.ab:
                eligible = eligible[rng.random(len(eligible)) < SEGMENT_SHARE]
            n = len(eligible)
            if row.ab:
                personalized = rng.permutation(np.arange(n) % 2 == 1)
                variant = np.where(personalized, "Personalized picks", "Generic bestsellers")
            else:
                personalized = np.full(n, bool(row.personalized))
                variant = np.full(n, "Personalized" if row.personalized else "Default")
            arm = np.where(personalized, "personalized", "generic")
            p_order = (
                np.array([AB_RATES[a]["order"] for a in ("generic", "personalized")])[
                    personalized.astype(int)
                ]
                * row.multiplier
            )
            p_click = (
                np.array([AB_RATES[a]["click"] for a in ("generic", "personalized")])[
                    personalized.astype(int)
                ]
                * row.multiplier
            )
            ordered = rng.random(n) < p_order
            # 60% of buyers click; the others' click rate makes the arm's total p_click.
            click_other = (p_click - 0.6 * p_order) / (1 - p_order)
            clicked = np.where(ordered, rng.random(n) < 0.6, rng.random(n) < click_other)
            open_other = (OPEN_RATE - (ordered | clicked).mean()) / max(1e-9, 1 - (ordered | clicked).mean())
            bounced = ~(ordered | clicked) & (rng.random(n) < BOUNCE_RATE)
            opened = (ordered | clicked | (rng.random(n) < open_other)) & ~bounced
            unsubscribed = opened & ~ordered & (rng.random(n) < UNSUBSCRIBE_RATE / OPEN_RATE)
            open_lag = rng.exponential(3 * 3600, n).astype("int64")
            click_lag = rng.integers(20, 900, n)
            order_lag = rng.exponential(0.8 * 86400, n).astype("int64") + 120
            sent_at = pd.Timestamp(row.send) + pd.to_timedelta(rng.integers(0, 600, n), unit="s")
            opened_at = sent_at + pd.to_timedelta(open_lag, unit="s")
            clicked_at = opened_at + pd.to_timedelta(click_lag, unit="s")
            base = np.where(clicked, clicked_at, opened_at)
            ordered_at = pd.DatetimeIndex(base) + pd.to_timedelta(
                np.minimum(order_lag, (ATTRIBUTION_DAYS - 1) * 86400), unit="s"
            )
            ordered &= ordered_at < c.END
            frames.append(
                pd.DataFrame(
                    {
                        "campaign_id": row.campaign_id,
                        "pid": eligible,
                        "variant": variant,
                        "arm": arm,
                        "ab": row.ab,
                        "sent_at": sent_at,
                        "opened_at": opened_at.where(opened),
                        "clicked_at": clicked_at.where(clicked),
                        "ordered_at": ordered_at.where(ordered),
                        "unsubscribed": unsubscribed,
                        "bounced": bounced,
                        "total_opens": np.where(opened, 1 + rng.poisson(0.4, n), 0),
                        "total_clicks": np.where(clicked, 1 + rng.poisson(0.3, n), 0),
                    }
                )
            )
            gone = eligible[unsubscribed]
            on_list[gone] = False
            unsub_at[gone] = np.asarray(opened_at[unsubscribed], dtype="datetime64[ns]")
        p["unsubscribed_at"] = unsub_at
        return pd.concat(frames, ignore_index=True)

    def campaign_orders(self, sends: pd.DataFrame) -> pd.DataFrame:
        """Orders placed from campaigns; a subscriber's first one makes them a customer."""
        p = self.people_df
        won = sends[sends["ordered_at"].notna()]
        orders = pd.DataFrame(
            {
                "pid": won["pid"].to_numpy(),
                "created": won["ordered_at"].to_numpy(),
                "kind": "campaign",
                "campaign_id": won["campaign_id"].to_numpy(),
                "variant": won["variant"].to_numpy(),
            }
        )
        first_buy = orders.groupby("pid")["created"].min()
        prospects = first_buy.index[p.loc[first_buy.index, "is_prospect"].to_numpy()]
        p.loc[prospects, "acquired"] = first_buy.loc[prospects].to_numpy()
        return orders

    def repeat_orders(self) -> pd.DataFrame:
        """Repeat orders by thinning (Lewis & Shedler 1979) a homogeneous Poisson process."""
        rng, p = self.rng, self.people_df
        buyers = p.index[p["acquired"].notna()].to_numpy()
        acquired = p.loc[buyers, "acquired"].to_numpy(dtype="datetime64[ns]")
        start = acquired + np.timedelta64(1, "D")
        span_days = (np.datetime64(c.END) - start) / np.timedelta64(1, "D")
        span_days = np.clip(span_days, 0, None)
        base = p.loc[buyers, "channel"].map(REPEAT_RATE).to_numpy(float) / 30.4375  # per day
        season_max = self.season.max() * ROLLOUT_LIFT
        counts = rng.poisson(base * season_max * span_days)
        who = np.repeat(np.arange(len(buyers)), counts)
        offset = rng.random(len(who)) * span_days[who]
        when = start[who] + (offset * 86400).astype("int64").astype("timedelta64[s]")
        day_index = ((when - np.datetime64(c.START)) / np.timedelta64(1, "D")).astype(int)
        age_months = (when - acquired[who]) / np.timedelta64(1, "D") / 30.4375
        treated = (p.loc[buyers, "region"].to_numpy() == ROLLOUT_REGION)[who] & (
            when >= np.datetime64(ROLLOUT_DAY)
        )
        intensity = _decay(age_months) * self.season[day_index] * np.where(treated, ROLLOUT_LIFT, 1.0)
        keep = rng.random(len(who)) < intensity / season_max
        days = pd.DatetimeIndex(when[keep]).normalize()
        created = c.random_times(rng, days, ORDER_HOURS)
        return pd.DataFrame(
            {
                "pid": buyers[who[keep]],
                "created": created,
                "kind": "repeat",
                "campaign_id": None,
                "variant": None,
            }
        )

    def baskets(self, orders: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Line items, discounts, shipping, taxes, refunds and cancellations of each order."""
        rng, p = self.rng, self.people_df
        n = len(orders)
        n_lines = rng.choice(len(LINES_PER_ORDER), size=n, p=LINES_PER_ORDER) + 1
        line_order = np.repeat(np.arange(n), n_lines)
        persona_idx = (
            p.loc[orders["pid"].to_numpy(), "persona"]
            .map({x: i for i, x in enumerate(PERSONAS)})
            .to_numpy()[line_order]
        )
        cum = PERSONA_CATEGORIES.cumsum(axis=1)[persona_idx]
        category = (rng.random(len(line_order))[:, None] > cum).sum(axis=1).clip(0, len(CATEGORIES) - 1)
        products = pd.DataFrame(PRODUCTS, columns=["category", "name", "price", "sku"])
        cat_of = products["category"].map({x: i for i, x in enumerate(CATEGORIES)}).to_numpy()
        first_of_cat = np.array([np.nonzero(cat_of == k)[0][0] for k in range(len(CATEGORIES))])
        size_of_cat = np.bincount(cat_of, minlength=len(CATEGORIES))
        # premium customers lean to the dearer half of each category, value ones to the cheaper
        u = rng.random(len(line_order))
        segment = p.loc[orders["pid"].to_numpy(), "segment"].to_numpy()[line_order]
        u = np.where(segment == "premium", u**0.6, np.where(segment == "value", u**1.6, u))
        ranked = products.assign(cat=cat_of).sort_values(["cat", "price"], kind="stable")
        ranked_index = ranked.index.to_numpy()
        prod = ranked_index[first_of_cat[category] + (u * size_of_cat[category]).astype(int)]
        qty = np.where(rng.random(len(line_order)) < 0.1, 2, 1)
        price = products["price"].to_numpy()[prod]
        lines = pd.DataFrame({"order": line_order, "product": prod, "qty": qty, "price": price})
        lines["line_no"] = lines.groupby("order").cumcount()
        gross = np.bincount(line_order, weights=price * qty, minlength=n)

        created = pd.DatetimeIndex(orders["created"])
        black_friday = (created.month == 11) & (created.day >= 24)
        first = (orders["kind"] == "first").to_numpy()
        code = np.full(n, "", dtype=object)
        pct = np.zeros(n)
        welcome = first & (rng.random(n) < 0.25)
        code[welcome], pct[welcome] = "WELCOME10", 0.10
        bf = ~welcome & black_friday & (rng.random(n) < 0.6)
        code[bf], pct[bf] = "BLACKFRIDAY25", 0.25
        other = ~welcome & ~bf & (rng.random(n) < 0.06)
        code[other], pct[other] = "TRAILS15", 0.15
        discount = np.round(gross * pct, 2)
        subtotal = np.round(gross - discount, 2)
        shipping = np.where(subtotal >= FREE_SHIPPING_FROM, 0.0, SHIPPING)
        taxes = np.round(subtotal * TAX_RATE, 2)
        campaign = (orders["kind"] == "campaign").to_numpy()
        u = rng.random(n)
        cancelled = ~campaign & (u < CANCELLED)
        full = ~campaign & ~cancelled & (u < CANCELLED + REFUND_FULL)
        partial = ~campaign & ~cancelled & ~full & (u < CANCELLED + REFUND_FULL + REFUND_PARTIAL)
        refunded = np.where(cancelled | full, subtotal, 0.0)
        refunded = np.where(partial, np.round(subtotal * rng.uniform(0.2, 0.6, n), 2), refunded)
        source = c.pick(rng, ["web", "iphone", "pos"], [0.90, 0.07, 0.03], n)
        orders = orders.assign(
            subtotal=subtotal,
            discount=discount,
            code=code,
            shipping=shipping,
            taxes=taxes,
            refunded=refunded,
            cancelled=cancelled,
            full=full,
            partial=partial,
            source=source,
        )
        return orders, lines

    # -- build everything ---------------------------------------------------------------
    def build(self) -> None:
        self.people()
        self.camp = self.campaigns()
        self.sends_df = self.sends(self.camp)
        orders = pd.concat(
            [self.first_orders(), self.campaign_orders(self.sends_df), self.repeat_orders()],
            ignore_index=True,
        )
        orders = orders.sort_values(["created", "pid"], kind="stable").reset_index(drop=True)
        self.orders, self.lines = self.baskets(orders)
        revenue = (self.orders["subtotal"] - self.orders["refunded"]).to_numpy()
        self.orders["revenue"] = revenue
        self.orders["number"] = 1001 + np.arange(len(self.orders))
        self.orders["shopify_id"] = (
            6120000000000 + np.arange(len(self.orders)) * 137 + self.rng.integers(0, 137, len(self.orders))
        )

    # -- writers -------------------------------------------------------------------------
    def write_orders(self, path: Path) -> Path:
        """Shopify's orders export: one row per line item (order fields on the first line only),
        newest order first; formatted and written a chunk of orders at a time."""
        o, rng = self.orders, self.rng
        created = pd.DatetimeIndex(o["created"])
        fulfilled = created + pd.to_timedelta(rng.integers(4 * 3600, 3 * 86400, len(o)), unit="s")
        cancelled_at = created + pd.to_timedelta(rng.integers(600, 6 * 3600, len(o)), unit="s")
        cancelled_at = cancelled_at.where(cancelled_at < c.END, c.LAST_DAY + pd.Timedelta("23:59:59"))
        first_line = np.searchsorted(self.lines["order"].to_numpy(), np.arange(len(o) + 1))
        return c.write_csv(
            (
                self._order_rows(
                    lo, hi, fulfilled[lo:hi], cancelled_at[lo:hi], first_line[lo], first_line[hi]
                )
                for lo, hi in c.chunks(len(o), newest_first=True)
            ),
            path,
        )

    def _order_rows(
        self,
        lo: int,
        hi: int,
        fulfilled: pd.DatetimeIndex,
        cancelled_at: pd.DatetimeIndex,
        line_lo: int,
        line_hi: int,
    ) -> pd.DataFrame:
        """The export rows of orders lo..hi-1 (their lines are line_lo..line_hi-1), newest first."""
        o = self.orders.iloc[lo:hi].reset_index(drop=True)
        who = self.people_df.loc[o["pid"].to_numpy()].reset_index(drop=True)
        created_txt = c.with_offset(pd.DatetimeIndex(o["created"]), TZ)
        is_fulfilled = (fulfilled < c.END) & ~o["cancelled"].to_numpy()
        fulfilled_txt = np.where(is_fulfilled, c.with_offset(fulfilled, TZ), "")
        status = np.select(
            [o["cancelled"] | o["full"], o["partial"]], ["refunded", "partially_refunded"], "paid"
        )
        name = who["first"] + " " + who["last"]
        accepts = np.where(who["consent"], "yes", "no")
        total = o["subtotal"] + o["shipping"] + o["taxes"]
        order_level = pd.DataFrame(
            {
                "Name": "#" + o["number"].astype(str),
                "Email": who["email"],
                "Financial Status": status,
                "Paid at": created_txt,
                "Fulfillment Status": np.where(is_fulfilled, "fulfilled", "unfulfilled"),
                "Fulfilled at": fulfilled_txt,
                "Accepts Marketing": accepts,
                "Currency": "USD",
                "Subtotal": c.decimal(o["subtotal"]),
                "Shipping": c.decimal(o["shipping"]),
                "Taxes": c.decimal(o["taxes"]),
                "Total": c.decimal(total),
                "Discount Code": o["code"],
                "Discount Amount": c.decimal(o["discount"]),
                "Shipping Method": np.where(o["shipping"] > 0, "Standard Shipping", "Free Shipping"),
                "Created at": created_txt,
                "Billing Name": name,
                "Billing City": who["city"],
                "Billing Zip": who["zip"],
                "Billing Province": who["region"],
                "Billing Country": "US",
                "Shipping Name": name,
                "Shipping City": who["city"],
                "Shipping Zip": who["zip"],
                "Shipping Province": who["region"],
                "Shipping Country": "US",
                "Cancelled at": np.where(o["cancelled"], c.with_offset(cancelled_at, TZ), ""),
                "Payment Method": "Shopify Payments",
                "Refunded Amount": c.decimal(o["refunded"]),
                "Vendor": "Northwind Outfitters",
                "Outstanding Balance": "0.00",
                "Id": o["shopify_id"].astype(str),
                "Risk Level": "Low",
                "Source": o["source"],
                "Tax 1 Name": "Sales Tax 8%",
                "Tax 1 Value": c.decimal(o["taxes"]),
                "Billing Province Name": who["region"].map(PROVINCE_NAMES),
                "Shipping Province Name": who["region"].map(PROVINCE_NAMES),
            }
        )
        products = pd.DataFrame(PRODUCTS, columns=["category", "name", "price", "sku"])
        li = self.lines.iloc[line_lo:line_hi].reset_index(drop=True)
        at = li["order"].to_numpy() - lo  # each line's order, as a row of order_level
        rows = pd.DataFrame(
            {
                "Name": order_level["Name"].to_numpy()[at],
                "Email": order_level["Email"].to_numpy()[at],
                "Created at": created_txt[at],
                "Lineitem quantity": li["qty"].astype(str),
                "Lineitem name": products["name"].to_numpy()[li["product"]],
                "Lineitem price": c.decimal(li["price"]),
                "Lineitem sku": products["sku"].to_numpy()[li["product"]],
                "Lineitem requires shipping": "true",
                "Lineitem taxable": "true",
                "Lineitem fulfillment status": np.where(is_fulfilled[at], "fulfilled", "pending"),
                "Lineitem discount": "0.00",
            }
        )
        gift = rows["Lineitem sku"] == "NW-AC-GFT"
        rows.loc[gift, "Lineitem requires shipping"] = "false"
        rows.loc[gift, "Lineitem taxable"] = "false"
        first_line = (li["line_no"] == 0).to_numpy()
        for col in order_level.columns:
            if col in ("Name", "Email", "Created at"):
                continue
            values = np.full(len(rows), "", dtype=object)
            values[first_line] = order_level[col].to_numpy()[at[first_line]]
            rows[col] = values
        rows["_order"], rows["_line"] = li["order"], li["line_no"]
        rows = rows.sort_values(["_order", "_line"], ascending=[False, True], kind="stable")
        return rows.reindex(columns=SHOPIFY_ORDER_COLUMNS, fill_value="")

    def write_customers(self, path: Path) -> Path:
        p, o = self.people_df, self.orders
        total = o["subtotal"] + o["shipping"] + o["taxes"] - o["refunded"]
        spent = total.groupby(o["pid"]).sum().reindex(p.index, fill_value=0.0).to_numpy()
        count = o.groupby("pid").size().reindex(p.index, fill_value=0).to_numpy()
        consent_now = (p["consent"] & p["unsubscribed_at"].isna()).to_numpy()
        has_phone = self.rng.random(len(p)) < 0.35

        def rows(lo: int, hi: int) -> pd.DataFrame:
            q = p.iloc[lo:hi]
            phone = np.where(has_phone[lo:hi], "'" + q["phone"], "")
            tags = (
                "channel:"
                + q["channel"]
                + ", segment:"
                + q["segment"]
                + ", persona:"
                + q["persona"]
                + np.where(q["is_prospect"], ", newsletter", "")
            )
            frame = pd.DataFrame(
                {
                    "Customer ID": "'" + (7300000000000 + q.index.to_numpy() * 211).astype(str),
                    "First Name": q["first"],
                    "Last Name": q["last"],
                    "Email": q["email"],
                    "Accepts Email Marketing": np.where(consent_now[lo:hi], "yes", "no"),
                    "Default Address City": q["city"],
                    "Default Address Province Code": q["region"],
                    "Default Address Country Code": "US",
                    "Default Address Zip": "'" + q["zip"],  # the quote keeps leading zeros
                    "Default Address Phone": phone,
                    "Phone": phone,
                    "Accepts SMS Marketing": np.where(has_phone[lo:hi] & consent_now[lo:hi], "yes", "no"),
                    "Total Spent": c.decimal(spent[lo:hi]),
                    "Total Orders": count[lo:hi].astype(str),
                    "Tax Exempt": "no",
                    "Tags": tags,
                    "Accepts WhatsApp Marketing": "no",
                }
            )
            frame = frame.iloc[::-1]  # newest customers first, as Shopify lists them
            return frame.reindex(columns=SHOPIFY_CUSTOMER_COLUMNS, fill_value="")

        return c.write_csv((rows(lo, hi) for lo, hi in c.chunks(len(p), newest_first=True)), path)

    def write_klaviyo(self, path: Path) -> Path:
        s, camp = self.sends_df, self.camp.set_index("campaign_id")
        revenue = self.orders[self.orders["kind"] == "campaign"].set_index(["campaign_id", "pid"])["revenue"]
        s = s.assign(
            revenue=revenue.reindex(pd.MultiIndex.from_frame(s[["campaign_id", "pid"]]))
            .fillna(0.0)
            .to_numpy()
        )
        agg = (
            s.groupby(["campaign_id", "variant"], sort=False)
            .agg(
                recipients=("pid", "size"),
                orders=("ordered_at", "count"),
                revenue=("revenue", "sum"),
                opens=("opened_at", "count"),
                total_opens=("total_opens", "sum"),
                clicks=("clicked_at", "count"),
                total_clicks=("total_clicks", "sum"),
                unsubscribes=("unsubscribed", "sum"),
                bounces=("bounced", "sum"),
            )
            .reset_index()
        )
        info = camp.loc[agg["campaign_id"]].reset_index(drop=True)
        delivered = agg["recipients"] - agg["bounces"]
        spam = (agg["unsubscribes"] // 4).astype(int)

        def rate(num: pd.Series, den: pd.Series) -> pd.Series:
            return pd.Series(num / den.where(den > 0)).round(4).fillna(0).map("{:.4f}".format)

        best = agg.assign(r=agg["orders"] / agg["recipients"]).groupby("campaign_id")["r"].transform("max")
        multi = agg.groupby("campaign_id")["variant"].transform("size") > 1
        tags = np.where(
            info["ab"],
            "personalized, ptype:product_recs, ab-test",
            np.where(info["personalized"], "personalized, ptype:first_name", "newsletter"),
        )
        subject = np.where(
            agg["variant"].str.contains("Personalized"),
            "Picked for you: " + info["name"].str.split(" - ").str[1].to_numpy(),
            info["name"].str.split(" - ").str[1].to_numpy(),
        )
        frame = pd.DataFrame(
            {
                "Campaign Name": info["name"],
                "Variant Name": agg["variant"],
                "Tags": tags,
                "Subject": subject,
                "List": np.where(info["ab"], "Newsletter", "Engaged 90 days"),
                "Send Time": c.iso(info["send"]),
                "Send Weekday": pd.DatetimeIndex(info["send"]).day_name(),
                "Total Recipients": agg["recipients"],
                "Unique Placed Order": agg["orders"],
                "Placed Order Rate": rate(agg["orders"], delivered),
                "Revenue": c.decimal(agg["revenue"]),
                "Unique Opens": agg["opens"],
                "Open Rate": rate(agg["opens"], delivered),
                "Total Opens": agg["total_opens"],
                "Unique Clicks": agg["clicks"],
                "Click Rate": rate(agg["clicks"], delivered),
                "Total Clicks": agg["total_clicks"],
                "Unsubscribes": agg["unsubscribes"],
                "Spam Complaints": spam,
                "Spam Complaints Rate": rate(spam, delivered),
                "Successful Deliveries": delivered,
                "Bounces": agg["bounces"],
                "Bounce Rate": rate(agg["bounces"], agg["recipients"]),
                "Campaign ID": agg["campaign_id"],
                "Campaign Channel": "Email",
                "Winning Variant?": np.where(
                    multi, np.where(agg["orders"] / agg["recipients"] == best, "TRUE", "FALSE"), ""
                ),
            }
        )
        frame = frame.iloc[::-1]  # newest campaigns first
        return c.write_csv(frame[KLAVIYO_COLUMNS], path)

    def write_activity(self, path: Path) -> Path:
        s, p = self.sends_df, self.people_df
        revenue = self.orders[self.orders["kind"] == "campaign"].set_index(["campaign_id", "pid"])["revenue"]
        rev = revenue.reindex(pd.MultiIndex.from_frame(s[["campaign_id", "pid"]])).to_numpy()

        def rows(lo: int, hi: int) -> pd.DataFrame:
            part, r = s.iloc[lo:hi], rev[lo:hi]
            return pd.DataFrame(
                {
                    "Campaign ID": part["campaign_id"],
                    "Email": p.loc[part["pid"], "email"].to_numpy(),
                    "Variant": part["variant"],
                    "Sent At": c.iso(part["sent_at"]),
                    "Opened At": c.iso(part["opened_at"]),
                    "Clicked At": c.iso(part["clicked_at"]),
                    "Ordered At": c.iso(part["ordered_at"]),
                    "Order Revenue": np.where(np.isnan(r), "", c.decimal(np.nan_to_num(r))),
                    "Unsubscribed": np.where(part["unsubscribed"], "true", "false"),
                }
            )

        return c.write_csv((rows(lo, hi) for lo, hi in c.chunks(len(s))), path)

    def touches(self) -> pd.DataFrame:
        """Marketing touches: acquisition paths before first orders, email clicks, subscribers'
        visits before signing up, and one touch before 40% of repeat orders."""
        rng, o, p = self.rng, self.orders, self.people_df
        channels = list(ACQUISITION_MIX)
        mix = np.array([ACQUISITION_MIX[ch] for ch in channels])
        frames = []
        first = o[o["kind"] == "first"]
        last_channel = p.loc[first["pid"], "channel"].to_numpy()
        # the touch that brought them (minutes before the order) ...
        frames.append(
            pd.DataFrame(
                {
                    "pid": first["pid"].to_numpy(),
                    "channel": last_channel,
                    "at": pd.DatetimeIndex(first["created"])
                    - pd.to_timedelta(rng.integers(60, 3 * 3600, len(first)), unit="s"),
                }
            )
        )
        # ... and 0-2 earlier touches in the two weeks before
        extra = rng.choice(3, size=len(first), p=[0.45, 0.35, 0.20])
        idx = np.repeat(np.arange(len(first)), extra)
        frames.append(
            pd.DataFrame(
                {
                    "pid": first["pid"].to_numpy()[idx],
                    "channel": c.pick(rng, channels, mix, len(idx)),
                    "at": pd.DatetimeIndex(first["created"].to_numpy()[idx])
                    - pd.to_timedelta(rng.integers(4 * 3600, 14 * 86400, len(idx)), unit="s"),
                }
            )
        )
        # every email click (UTM-tagged link), and the open behind each campaign order
        s = self.sends_df[self.sends_df["clicked_at"].notna() | self.sends_df["ordered_at"].notna()]
        frames.append(
            pd.DataFrame(
                {
                    "pid": s["pid"].to_numpy(),
                    "channel": "email",
                    "at": s["clicked_at"].fillna(s["opened_at"]).to_numpy(),
                    "campaign_id": s["campaign_id"].to_numpy(),
                }
            )
        )
        # subscribers' visits in the week before they signed up (journeys without an order yet)
        subs = p[p["is_prospect"].to_numpy()]
        visits = rng.choice([1, 2], size=len(subs), p=[0.7, 0.3])
        idx = np.repeat(np.arange(len(subs)), visits)
        web = [ch for ch in channels if ch != "email"]
        frames.append(
            pd.DataFrame(
                {
                    "pid": subs.index.to_numpy()[idx],
                    "channel": c.pick(rng, web, [ACQUISITION_MIX[ch] for ch in web], len(idx)),
                    "at": pd.DatetimeIndex(subs["joined"].to_numpy()[idx])
                    - pd.to_timedelta(rng.integers(60, 7 * 86400, len(idx)), unit="s"),
                }
            )
        )
        # 40% of repeat orders have a tracked touch (direct, email, search, retargeting)
        rep = o[(o["kind"] == "repeat") & (rng.random(len(o)) < 0.4)]
        consent = p.loc[rep["pid"], "consent"].to_numpy()
        ch = c.pick(
            rng, ["direct", "email", "organic_search", "paid_social"], [0.35, 0.3, 0.2, 0.15], len(rep)
        )
        ch = np.where((ch == "email") & ~consent, "direct", ch)
        frames.append(
            pd.DataFrame(
                {
                    "pid": rep["pid"].to_numpy(),
                    "channel": ch,
                    "at": pd.DatetimeIndex(rep["created"])
                    - pd.to_timedelta(rng.integers(120, 2 * 86400, len(rep)), unit="s"),
                }
            )
        )
        t = pd.concat(frames, ignore_index=True)
        t = t[t["at"] >= c.START]  # the tracking starts with the store
        t["campaign_id"] = t.get("campaign_id", None)
        ad = {ch: [name for name, _ in AD_CAMPAIGNS[ch]] for ch in AD_CAMPAIGNS}
        for channel, names in ad.items():
            rows = (t["channel"] == channel).to_numpy()
            shares = [share for _, share in AD_CAMPAIGNS[channel]]
            t.loc[rows, "campaign_id"] = c.pick(rng, names, shares, int(rows.sum()))
        return t.sort_values(["at", "pid"], kind="stable").reset_index(drop=True)

    def write_touches(self, path: Path) -> Path:
        t, p = self.touches(), self.people_df

        def rows(lo: int, hi: int) -> pd.DataFrame:
            part = t.iloc[lo:hi]
            utm = part["channel"].map(UTM)
            return pd.DataFrame(
                {
                    "Email": p.loc[part["pid"], "email"].to_numpy(),
                    "Timestamp": c.iso(part["at"]),
                    "Channel": part["channel"],
                    "UTM Source": utm.str[0],
                    "UTM Medium": utm.str[1],
                    "Campaign ID": part["campaign_id"].fillna(""),
                }
            )

        return c.write_csv((rows(lo, hi) for lo, hi in c.chunks(len(t))), path)

    def write_spend(self, path: Path) -> Path:
        rng, rows = self.rng, []
        for ch, expected in self.expected_paid.items():
            for name, share in AD_CAMPAIGNS[ch]:
                amount = expected * CAC[ch] * share * rng.lognormal(0, 0.15, len(expected))
                rows.append(
                    pd.DataFrame(
                        {
                            "Date": self.days.strftime("%Y-%m-%d"),
                            "Channel": ch,
                            "Campaign ID": name,
                            "Spend": c.decimal(amount),
                        }
                    )
                )
        frame = pd.concat(rows).sort_values(["Date", "Channel", "Campaign ID"], kind="stable")
        return c.write_csv(frame, path)

    def write_ga4(self, path: Path) -> Path:
        """GA4 traffic acquisition by day: key events are the day's orders by last channel."""
        rng, o, p = self.rng, self.orders, self.people_df
        channel = np.where(
            o["kind"] == "first",
            p.loc[o["pid"], "channel"].to_numpy(),
            np.where(o["kind"] == "campaign", "email", "direct"),
        )
        repeat = (o["kind"] == "repeat").to_numpy()
        channel[repeat] = c.pick(
            rng,
            ["direct", "email", "organic_search", "paid_social"],
            [0.45, 0.25, 0.2, 0.1],
            int(repeat.sum()),
        )
        day = pd.DatetimeIndex(o["created"]).normalize()
        web = (o["source"] != "pos").to_numpy()
        counts = pd.DataFrame(
            {"day": day[web], "channel": channel[web], "revenue": o["revenue"].to_numpy()[web]}
        )
        grid = pd.MultiIndex.from_product([self.days, list(GA4_CHANNELS)], names=["day", "channel"])
        agg = (
            counts.groupby(["day", "channel"])
            .agg(key=("revenue", "size"), revenue=("revenue", "sum"))
            .reindex(grid, fill_value=0)
        )
        agg = agg.reset_index()
        conv = agg["channel"].map(GA4_CONVERSION).to_numpy()
        base = (agg["key"] + 0.5) / conv
        sessions = rng.poisson(base * rng.lognormal(0, 0.1, len(agg))).astype(int)
        engaged = rng.binomial(sessions, 0.62)
        key = agg["key"].to_numpy()
        sessions = np.maximum(sessions, key)
        engaged = np.maximum(engaged, key)
        frame = pd.DataFrame(
            {
                "Date": agg["day"].dt.strftime("%Y%m%d"),
                "Session primary channel group (Default Channel Group)": agg["channel"].map(GA4_CHANNELS),
                "Session source / medium": "",
                "Sessions": sessions,
                "Engaged sessions": engaged,
                "Engagement rate": np.round(engaged / np.maximum(sessions, 1), 4),
                "Average engagement time per session": np.round(rng.normal(62, 8, len(agg)), 2),
                "Events per session": np.round(rng.normal(7.5, 0.6, len(agg)), 2),
                "Event count": (sessions * rng.normal(7.5, 0.6, len(agg))).astype(int),
                "Key events": key,
                "Session key event rate": np.round(key / np.maximum(sessions, 1), 4),
                "Total revenue": np.round(agg["revenue"].to_numpy(float), 2),
            }
        )
        # its own generator (spawning leaves the store's stream as it was): the other files stay
        frame = by_source(rng.spawn(1)[0], frame, agg["day"], agg["channel"])
        frame = frame[frame["Sessions"] > 0]
        header = [
            "# ----------------------------------------",
            "# Traffic acquisition: Session source / medium",
            "# Account: Northwind Outfitters",
            "# Property: Northwind Outfitters - GA4",
            "# ----------------------------------------",
            f"# Start date: {c.START:%Y%m%d}",
            f"# End date: {c.LAST_DAY:%Y%m%d}",
            "",
        ]
        return c.write_csv(frame, path, comment_lines=header)

    def write_survey(self, path: Path) -> Path:
        """Post-purchase NPS/CES survey: about 7% of non-cancelled orders answer."""
        rng, o, p = self.rng, self.orders, self.people_df
        pick = o[~o["cancelled"] & (rng.random(len(o)) < 0.07)]
        submitted = pd.DatetimeIndex(pick["created"]) + pd.to_timedelta(
            rng.integers(2 * 86400, 10 * 86400, len(pick)), unit="s"
        )
        pick = pick[submitted < c.END]
        submitted = submitted[submitted < c.END]
        n = len(pick)
        unhappy = (pick["refunded"] > 0).to_numpy()
        premium = (p.loc[pick["pid"], "segment"] == "premium").to_numpy()
        mood = rng.normal(0.5 + 0.4 * premium - 2.5 * unhappy, 1.6, n)
        nps = np.clip(np.round(8 + mood), 0, 10).astype(int)
        ces = np.clip(np.round(2.4 - 0.5 * mood + rng.normal(0, 0.6, n)), 1, 7).astype(
            int
        )  # 1 easy .. 7 hard
        comments = {
            "promoter": [
                "Love the Ridgeline jacket, kept me dry all weekend.",
                "Fast shipping and great fit.",
                "The recommendations were spot on!",
                "Great quality, will order again.",
            ],
            "passive": [
                "Good gear, shipping was a bit slow.",
                "Nice products, sizes run small.",
                "Fine overall.",
            ],
            "detractor": [
                "Return process took too long.",
                "Item arrived damaged.",
                "Sizing was way off and the refund took weeks.",
            ],
        }
        group = np.where(nps >= 9, "promoter", np.where(nps >= 7, "passive", "detractor"))
        has_comment = rng.random(n) < 0.3
        text = np.array(
            [comments[g][int(k * len(comments[g]))] for g, k in zip(group, rng.random(n))], dtype=object
        )
        nps_text = nps.astype(str).astype(object)
        nps_text[rng.random(n) < 0.04] = ""  # skipped the NPS question, answered CES
        frame = pd.DataFrame(
            {
                "Response ID": c.unique_tokens(rng, n, 10, prefix="R_"),
                "Submitted At": c.iso(submitted),
                "Email": p.loc[pick["pid"], "email"].to_numpy(),
                "NPS": nps_text,
                "CES": ces,
                "CSAT": "",
                "Rating": "",
                "Comment": np.where(has_comment, text, ""),
            }
        )
        return c.write_csv(frame.sort_values("Submitted At", kind="stable"), path)


def by_source(
    rng: np.random.Generator, frame: pd.DataFrame, day: pd.Series, channel: pd.Series
) -> pd.DataFrame:
    """The GA4 rows of each day and channel group split over the group's sources / media
    (`GA4_SOURCES`, with that day's shares): sessions by conditional binomials (a multinomial),
    engaged sessions and key events drawn without replacement from those sessions (no part has
    more than its sessions), revenue in proportion to key events and event count to sessions,
    so that every part sums to its group's figure."""
    parts = []
    elapsed = ((day - c.START) / (c.LAST_DAY - c.START)).to_numpy(float)
    counts = ("Sessions", "Engaged sessions", "Key events")
    for group, sources in GA4_SOURCES.items():
        rows = (channel == group).to_numpy()
        sub = frame[rows].reset_index(drop=True)
        first, last = np.array([s[1] for s in sources]), np.array([s[2] for s in sources])
        shares = first + np.outer(elapsed[rows], last - first)
        left = {col: sub[col].to_numpy(np.int64) for col in counts}
        share_left = np.ones(len(sub))
        done = {col: np.zeros(len(sub), np.int64) for col in counts}
        for j, (name, _, _) in enumerate(sources):
            if j == len(sources) - 1:
                got = left
            else:
                n = rng.binomial(left["Sessions"], np.clip(shares[:, j] / share_left, 0, 1))
                rest = left["Sessions"] - n
                got = {
                    "Sessions": n,
                    "Engaged sessions": rng.hypergeometric(n, rest, left["Engaged sessions"]),
                    "Key events": rng.hypergeometric(n, rest, left["Key events"]),
                }
            sessions, engaged, key = (got[col] for col in counts)
            cents = _apportion(
                np.round(sub["Total revenue"] * 100), done["Key events"], key, sub["Key events"]
            )
            parts.append(
                sub.assign(
                    **{
                        "Session source / medium": name,
                        "Sessions": sessions,
                        "Engaged sessions": engaged,
                        "Engagement rate": np.round(engaged / np.maximum(sessions, 1), 4),
                        "Event count": _apportion(
                            sub["Event count"], done["Sessions"], sessions, sub["Sessions"]
                        ),
                        "Key events": key,
                        "Session key event rate": np.round(key / np.maximum(sessions, 1), 4),
                        "Total revenue": cents / 100,
                        "_row": np.flatnonzero(rows),
                        "_part": j,
                    }
                )
            )
            share_left = share_left - shares[:, j]
            left = {col: left[col] - got[col] for col in counts}
            done = {col: done[col] + got[col] for col in counts}
    return pd.concat(parts).sort_values(["_row", "_part"]).drop(columns=["_row", "_part"])


def _apportion(total: pd.Series, before: np.ndarray, part: np.ndarray, whole: pd.Series) -> np.ndarray:
    """A part's whole-number share of `total`, in proportion to `part` of `whole` with `before`
    given to the parts before it: rounding the running sum, so the parts add up to `total`."""

    def upto(n: np.ndarray) -> np.ndarray:
        w = whole.to_numpy(float)
        return np.round(total.to_numpy(float) * np.divide(n, w, out=np.zeros(len(w)), where=w > 0))

    return (upto(before + part) - upto(before)).astype(np.int64)


def write(out_dir: Path, rng: np.random.Generator, scale: int) -> list[Path]:
    """Write the store's exports into `out_dir`; returns the files in import order."""
    store = _Store(rng, scale)
    store.build()
    files = [
        store.write_customers(out_dir / "customers_export.csv.gz"),
        store.write_orders(out_dir / "orders_export_1.csv.gz"),
        store.write_klaviyo(out_dir / "klaviyo_campaigns.csv"),
        store.write_activity(out_dir / "klaviyo_recipient_activity.csv.gz"),
        store.write_touches(out_dir / "utm_touches.csv.gz"),
        store.write_spend(out_dir / "ad_spend.csv"),
        store.write_ga4(out_dir / "ga4_traffic_acquisition.csv"),
        store.write_survey(out_dir / "nps_survey_responses.csv"),
    ]
    for name, text in MAPPINGS.items():
        files.append(c.write_yaml(text, out_dir / "mappings" / name))
    return files
