"""Brightside Home Services: HVAC and plumbing jobs, leads from a CRM, paid through Stripe.

Leads arrive daily; each lead's source, town and requested service are drawn from shares that
change over time (the planted shifts: Nextdoor and Riverton rising). Won leads become jobs
paid through Stripe (Description = the service); a few payments fail or are refunded.
Services not in the catalogue are requested but never won (the planted unmet demand).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from workbook.sample import common as c

SLUG = "home-services"
TZ = "America/New_York"

LEADS_PER_DAY = 4.5
LAST_MONTH = "2026-10"
# Planted, exact per month (up to rounding): Nextdoor's share of leads is 0 before May 2026,
# then 5% in May rising linearly to 25% in October 2026; Riverton's share is 5% until
# October 2025, then rises linearly from 5% (November 2025) to 25% (October 2026).
NEXTDOOR_FIRST_MONTH, NEXTDOOR_FIRST_SHARE, NEXTDOOR_OCT_SHARE = "2026-05", 0.05, 0.25
RIVERTON_FIRST_MONTH, RIVERTON_FROM, RIVERTON_TO = "2025-11", 0.05, 0.25
SOURCES = {
    "Google Search": 0.34,
    "Google Local Services": 0.18,
    "Referral": 0.18,
    "Yelp": 0.12,
    "Facebook": 0.10,
    "Angi": 0.08,
}  # shares of the leads not from Nextdoor
TOWNS = {
    "Maplewood": 0.30,
    "Oak Park": 0.22,
    "Fairview": 0.18,
    "Cedar Falls": 0.15,
    "Lakeside": 0.15,
}  # shares of the leads not from Riverton
CATALOGUE = [  # (service, category, active, typical price, share of requests)
    ("AC repair", "Cooling", True, 420.0, 0.14),
    ("AC installation", "Cooling", True, 6200.0, 0.06),
    ("Furnace repair", "Heating", True, 380.0, 0.13),
    ("Furnace installation", "Heating", True, 5400.0, 0.05),
    ("Water heater replacement", "Plumbing", True, 1850.0, 0.08),
    ("Plumbing repair", "Plumbing", True, 290.0, 0.12),
    ("Drain cleaning", "Plumbing", True, 210.0, 0.08),
    ("Duct cleaning", "Air quality", True, 450.0, 0.04),
    ("Thermostat installation", "Heating", True, 260.0, 0.03),
    ("Seasonal maintenance plan", "Maintenance", True, 189.0, 0.06),
    ("Boiler repair", "Heating", False, 520.0, 0.01),
]
UNOFFERED = {
    "Heat pump installation": 0.09,
    "EV charger installation": 0.05,  # planted order
    "Generator installation": 0.02,
    "Solar panel cleaning": 0.01,
}
WIN_RATE = {
    "Referral": 0.62,
    "Google Local Services": 0.48,
    "Google Search": 0.42,
    "Nextdoor": 0.50,
    "Yelp": 0.38,
    "Facebook": 0.30,
    "Angi": 0.33,
}
UTM = {
    "Google Search": ("google", "cpc"),
    "Facebook": ("facebook", "paid_social"),
    "Nextdoor": ("nextdoor", "social"),
    "Yelp": ("yelp", "referral"),
    "Angi": ("angi", "referral"),
    "Google Local Services": ("google", "lsa"),
}
STRIPE_COLUMNS = [
    "id",
    "Created date (UTC)",
    "Amount",
    "Amount Refunded",
    "Currency",
    "Captured",
    "Converted Amount",
    "Converted Amount Refunded",
    "Converted Currency",
    "Decline Reason",
    "Description",
    "Fee",
    "Is Link",
    "Link Funding",
    "Mode",
    "PaymentIntent ID",
    "Payment Source Type",
    "Refunded date (UTC)",
    "Statement Descriptor",
    "Status",
    "Seller Message",
    "Taxes On Fee",
    "Card ID",
    "Card Last4",
    "Card Brand",
    "Card Funding",
    "Card Exp Month",
    "Card Exp Year",
    "Card Address Zip",
    "Customer ID",
    "Customer Description",
    "Customer Email",
    "Customer Phone",
    "Invoice ID",
    "Invoice Number",
    "Client Reference ID",
    "Payment Link ID",
    "UTM Campaign",
    "UTM Content",
    "UTM Medium",
    "UTM Source",
    "UTM Term",
    "Application Fee",
    "Application ID",
    "Destination",
    "Transfer",
    "Transfer Group",
]
REVIEW_COMMENTS = {
    5: [
        "Fixed our furnace the same day. Honest pricing.",
        "Great AC install, very tidy crew.",
        "Friendly tech, explained everything.",
    ],
    4: ["Good work, arrived a bit late.", "Water heater replaced quickly, pricey but fair."],
    3: ["Job done, but scheduling took a week.", "Okay service. Wish they did heat pumps."],
    2: ["Had to call back twice for the same leak."],
    1: ["Never showed up for the appointment."],
}
REVIEW_REPLIES = {
    5: "Thanks for choosing Brightside!",
    4: "Thank you for the feedback!",
    3: "Thanks, we hear you and are improving scheduling.",
    2: "Sorry about the callback; we'll make it right.",
    1: "We apologize. Please call our office so we can fix this.",
}

MAPPINGS = {
    "leads.yaml": """
name: crm-leads
table: leads
columns:
  Lead ID: lead_id
  Created: created_at
  Source: source
  Town: location
  Service Requested: service_requested
  Won Date: converted_at
identity:
  - {column: Email, kind: email}
  - {column: Phone, kind: phone}
  - {column: Name, kind: name}
format:
  date: "%m/%d/%Y %H:%M"
""",
    "services.yaml": """
name: services-catalogue
table: services
columns:
  Service: service
  Category: category
  Active: active
""",
}


def monthly_share(
    month: pd.PeriodIndex, first: str, first_share: float, last_share: float, before: float
) -> np.ndarray:
    """A share rising linearly month by month from `first` to October 2026; `before` earlier."""
    steps = (pd.Period(LAST_MONTH, "M") - pd.Period(first, "M")).n
    k = np.array([(m - pd.Period(first, "M")).n for m in month])
    ramp = first_share + (last_share - first_share) * np.clip(k, 0, steps) / steps
    return np.where(k < 0, before, ramp)


def _exact(rng: np.random.Generator, groups: np.ndarray, share: np.ndarray) -> np.ndarray:
    """True for exactly round(share * n) random rows of each group (share is per group)."""
    rank = pd.Series(rng.random(len(groups))).groupby(groups).rank(method="first").to_numpy() - 1
    size = pd.Series(groups).groupby(groups).transform("size").to_numpy()
    return rank < np.round(share * size)


def _leads(rng: np.random.Generator) -> pd.DataFrame:
    days = c.DAYS
    season = np.where(days.month.isin([6, 7, 8, 12, 1, 2]), 1.25, 0.85)  # AC and heating peaks
    counts = rng.poisson(LEADS_PER_DAY * season * np.where(days.day_of_week < 5, 1.1, 0.75))
    day = days.repeat(counts)
    n = len(day)
    hours = np.zeros(24)
    hours[7:21] = [2, 4, 6, 6, 5, 5, 5, 5, 4, 4, 3, 3, 2, 1]
    created = c.random_times(rng, day, hours)
    month = day.to_period("M")
    groups = month.asi8
    nextdoor = _exact(
        rng, groups, monthly_share(month, NEXTDOOR_FIRST_MONTH, NEXTDOOR_FIRST_SHARE, NEXTDOOR_OCT_SHARE, 0.0)
    )
    source = np.where(nextdoor, "Nextdoor", c.pick(rng, list(SOURCES), list(SOURCES.values()), n))
    riverton = _exact(
        rng, groups, monthly_share(month, RIVERTON_FIRST_MONTH, RIVERTON_FROM, RIVERTON_TO, RIVERTON_FROM)
    )
    town = np.where(riverton, "Riverton", c.pick(rng, list(TOWNS), list(TOWNS.values()), n))
    services = {s[0]: s[4] for s in CATALOGUE} | UNOFFERED
    return pd.DataFrame(
        {
            "created": created,
            "source": source,
            "town": town,
            "service": c.pick(rng, list(services), list(services.values()), n),
        }
    )


def write(out_dir: Path, rng: np.random.Generator, scale: int) -> list[Path]:
    """Leads CSV, Stripe payments, services catalogue and Google reviews."""
    leads = _leads(rng)
    n = len(leads)
    person = c.people(rng, n, first_number=3001)
    # About 8% of leads are returning households: same person as an earlier lead.
    again = np.nonzero(rng.random(n) < 0.08)[0]
    again = again[again > 50]
    earlier = (rng.random(len(again)) * again).astype(int)
    person.iloc[again] = person.iloc[earlier].to_numpy()
    active = {s[0]: s[2] for s in CATALOGUE}
    price = {s[0]: s[3] for s in CATALOGUE}
    offered = leads["service"].map(lambda s: active.get(s, False)).to_numpy(bool)
    win_p = leads["source"].map(WIN_RATE).to_numpy(float)
    won_at = pd.DatetimeIndex(leads["created"]) + pd.to_timedelta(
        rng.integers(2 * 3600, 12 * 86400, n), unit="s"
    )
    won = offered & (rng.random(n) < win_p) & (won_at < c.END)
    age_days = ((c.END - pd.DatetimeIndex(leads["created"])) / pd.Timedelta(days=1)).to_numpy()
    open_lead = ~won & (age_days < 14)
    status = np.where(won, "Won", np.where(open_lead, np.where(age_days < 3, "New", "Quoted"), "Lost"))
    email = person["email"].to_numpy(dtype=object).copy()
    phone = c.pretty_phone(person["phone"]).to_numpy(dtype=object)
    no_email = rng.random(n) < 0.25  # phone-in leads often have no email
    email[no_email] = ""
    no_phone = ~no_email & (rng.random(n) < 0.1)
    phone[no_phone] = ""
    fmt = "%m/%d/%Y %H:%M"
    frame = pd.DataFrame(
        {
            "Lead ID": [f"L-{10001 + i}" for i in range(n)],
            "Created": pd.DatetimeIndex(leads["created"]).strftime(fmt),
            "Name": (person["first"] + " " + person["last"]).to_numpy(),
            "Email": email,
            "Phone": phone,
            "Source": leads["source"],
            "Town": leads["town"],
            "Service Requested": leads["service"],
            "Status": status,
            "Won Date": np.where(won, won_at.strftime(fmt), ""),
        }
    )
    files = [c.write_csv(frame, out_dir / "leads.csv")]

    # Jobs: each won lead is paid after the work (1-10 days later) through Stripe.
    jobs = np.nonzero(won)[0]
    office = np.zeros(24)
    office[8:19] = 1
    paid_day = (won_at[jobs] + pd.to_timedelta(rng.integers(1, 11, len(jobs)), unit="D")).normalize()
    paid_local = c.random_times(rng, paid_day, office)
    keep = paid_local < c.END
    jobs, paid_local = jobs[keep], paid_local[keep]
    m = len(jobs)
    services = leads["service"].to_numpy()[jobs]
    amount = np.round(np.array([price[s] for s in services], dtype=float) * rng.lognormal(0, 0.18, m), 2)
    failed = rng.random(m) < 0.02
    refunded_at = c.to_utc(paid_local, TZ) + pd.to_timedelta(rng.integers(86400, 5 * 86400, m), unit="s")
    refunded = ~failed & (rng.random(m) < 0.02) & (refunded_at < c.to_utc([c.END], TZ)[0])
    refund = np.where(refunded, np.round(amount * np.where(rng.random(m) < 0.5, 1.0, 0.3), 2), 0.0)
    utc = c.to_utc(paid_local, TZ)
    src = leads["source"].to_numpy()[jobs]
    utm_source = np.array([UTM.get(s, ("", ""))[0] for s in src], dtype=object)
    utm_medium = np.array([UTM.get(s, ("", ""))[1] for s in src], dtype=object)
    pid = person.iloc[jobs]
    cus = {
        e: f"cus_{tok}"
        for e, tok in zip(pd.unique(pid["email"]), c.unique_tokens(rng, pid["email"].nunique(), 14))
    }
    fee = np.round(amount * 0.029 + 0.30, 2)
    status_txt = np.where(failed, "Failed", np.where(refund >= amount, "Refunded", "Paid"))
    stripe = pd.DataFrame(
        {
            "id": c.unique_tokens(rng, m, 24, prefix="ch_3"),
            "Created date (UTC)": c.iso(utc),
            "Amount": c.decimal(amount),
            "Amount Refunded": c.decimal(refund),
            "Currency": "usd",
            "Captured": np.where(failed, "false", "true"),
            "Converted Amount": c.decimal(np.where(failed, 0, amount)),
            "Converted Amount Refunded": c.decimal(refund),
            "Converted Currency": "usd",
            "Decline Reason": np.where(failed, "insufficient_funds", ""),
            "Description": services,
            "Fee": c.decimal(np.where(failed, 0, fee)),
            "Is Link": np.where(utm_source != "", "true", "false"),
            "Mode": "Live",
            "PaymentIntent ID": c.unique_tokens(rng, m, 24, prefix="pi_3"),
            "Payment Source Type": "card",
            "Refunded date (UTC)": np.where(refund > 0, c.iso(refunded_at), ""),
            "Statement Descriptor": "BRIGHTSIDE HOME",
            "Status": status_txt,
            "Seller Message": np.where(
                failed, "The bank returned the decline code insufficient_funds.", "Payment complete."
            ),
            "Taxes On Fee": "0.00",
            "Card Last4": (1000 + rng.integers(0, 9000, m)).astype(str),
            "Card Brand": np.where(rng.random(m) < 0.6, "Visa", "MasterCard"),
            "Card Funding": "credit",
            "Customer ID": [cus[e] for e in pid["email"]],
            "Customer Description": (pid["first"] + " " + pid["last"]).to_numpy(),
            "Customer Email": pid["email"].to_numpy(),
            "Customer Phone": pid["phone"].to_numpy(),
            "UTM Medium": utm_medium,
            "UTM Source": utm_source,
            "UTM Campaign": np.where(
                utm_source != "",
                "brightside_" + pd.Series(src).str.lower().str.replace(" ", "_").to_numpy(),
                "",
            ),
        }
    )
    stripe = stripe.iloc[::-1]  # newest first, as the dashboard exports
    files.append(
        c.write_csv(stripe.reindex(columns=STRIPE_COLUMNS, fill_value=""), out_dir / "unified_payments.csv")
    )

    catalogue = pd.DataFrame(
        {
            "Service": [s[0] for s in CATALOGUE],
            "Category": [s[1] for s in CATALOGUE],
            "Active": ["yes" if s[2] else "no" for s in CATALOGUE],
        }
    )
    files.append(c.write_csv(catalogue, out_dir / "services.csv"))

    stars = rng.choice([5, 4, 3, 2, 1], size=int(rng.poisson(180)), p=[0.62, 0.2, 0.08, 0.05, 0.05])
    review_days = pd.DatetimeIndex(np.sort(rng.choice(c.DAYS, size=len(stars))))
    hours = np.zeros(24)
    hours[8:22] = 1
    reviews = c.google_reviews(
        rng, stars, c.random_times(rng, review_days, hours), TZ, REVIEW_COMMENTS, 0.8, REVIEW_REPLIES
    )
    files.append(c.write_json(reviews, out_dir / "google_reviews.json"))
    for name, text in MAPPINGS.items():
        files.append(c.write_yaml(text, out_dir / "mappings" / name))
    return files
