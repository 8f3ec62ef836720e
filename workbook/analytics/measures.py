"""What the workbook counts, each measure declared once: one name, one definition, one SQL.

As in MetricFlow's semantic layer, measures are declared once as data and everything else is
built on them: the KPIs of `metrics` are ratios and derived figures over these measures, and
cohorts, RFM, CLV, attribution, segments, indices and the rollout estimate count purchases and
customers the same way because they take the SQL from here. Two different quantities get two
different names (the mean CSAT score and the share of satisfied answers; the business-wide CAC
and the email test's CAC), never one name with two meanings.

`sql` is what a measure compiles to, over the rows named in `over`: a predicate for row
measures (PURCHASE, PROMOTER...), an aggregate expression for the others. Measures built on
others reuse their SQL, so a change to PURCHASE reaches every purchase-based figure.
docs/definitions.md lists every measure with its definition and where it is used;
tests/test_definitions.py keeps that page in step with this file.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    name: str
    definition: str  # in plain words, exactly as docs/definitions.md gives it
    over: str  # the rows `sql` reads
    sql: str
    used_in: tuple[str, ...]  # modules (paths under workbook/, without .py) built on it
    num: str | None = None  # ratio measures: `sql` is num / den, which KPIs pool over periods
    den: str | None = None


def _ratio(name: str, definition: str, over: str, num: str, den: str, used_in: tuple[str, ...]) -> Measure:
    return Measure(name, definition, over, f"{num} / {den}", used_in, num, den)


_ORDERS = "orders"
_CUSTOMER_ORDERS = "a known customer's orders (customer_id not NULL)"
_FEEDBACK = "feedback"

PURCHASE = Measure(
    "purchase",
    "An order that is not cancelled and not fully refunded, whatever its amount: a $0 order (a "
    "free sample, a 100%-discount order) is a purchase, as in the customer-base models and the "
    "commerce platforms. Fully refunded means something was refunded and nothing of the order's "
    "revenue is left (refunded > 0 and revenue <= 0). A refund-only row (negative revenue, e.g. "
    "a Square refund) is not a purchase either.",
    _ORDERS,
    "(cancelled IS NOT TRUE AND revenue >= 0 AND NOT (revenue = 0 AND coalesce(refunded, 0) > 0))",
    (
        "analytics/metrics",
        "analytics/cohorts",
        "analytics/rfm",
        "analytics/clv",
        "analytics/attribution",
        "analytics/indices",
        "analytics/segments",
        "analytics/causal",
    ),
)
NET_REVENUE = Measure(
    "net_revenue",
    "The sum of orders' revenue over every order, purchase or not: after discounts and refunds "
    "(a refund is a negative amount, counted where the export dates it), before shipping and "
    "taxes. So a refunded or cancelled order still counts here, with what is left of it.",
    _ORDERS,
    "sum(revenue)",
    ("analytics/metrics", "analytics/cohorts", "analytics/rfm", "analytics/clv", "analytics/segments"),
)
IDENTIFIED_SHARE = _ratio(
    "identified_share",
    "The share of orders that carry a customer id (an account, an email, a loyalty card). Every "
    "per-customer figure (repeat rate, churn, customer value, cohorts, RFM) sees only these "
    "orders, so where the share is below 100% (walk-in or guest sales) the figure states it.",
    _ORDERS,
    "count(customer_id)",
    "count(*)",
    ("analytics/cohorts",),
)
FIRST_PURCHASE = Measure(
    "first_purchase",
    "When a known customer made their first purchase: the moment they became a customer. Orders "
    "before it that are not purchases (refunds, cancelled orders) make nobody a customer.",
    _CUSTOMER_ORDERS,
    f"min(ordered_at) FILTER (WHERE {PURCHASE.sql})",
    ("analytics/metrics", "analytics/cohorts", "analytics/clv", "analytics/indices", "analytics/segments"),
)
PURCHASE_DAY = Measure(
    "purchase_day",
    "A day on which a known customer made at least one purchase; several purchases on one day "
    "count once. The unit of activity in cohorts and of frequency and recency in RFM and CLV "
    "(as in Fader, Hardie & Lee 2005).",
    "a known customer's orders of one day",
    f"bool_or({PURCHASE.sql})",
    ("analytics/cohorts", "analytics/rfm", "analytics/clv"),
)
ACTIVE_CUSTOMER = Measure(
    "active_customer",
    "A known customer with at least one purchase in the period.",
    "the period's orders",
    f"count(DISTINCT customer_id) FILTER (WHERE {PURCHASE.sql})",
    ("analytics/metrics", "analytics/cohorts", "analytics/indices"),
)
NEW_CUSTOMER = Measure(
    "new_customer",
    "A known customer whose first purchase falls in the period.",
    "one row per known customer with their first_purchase",
    "count(*) FILTER (WHERE first_purchase >= $start AND first_purchase < $end)",
    ("analytics/metrics", "analytics/cohorts", "analytics/indices", "analytics/segments"),
)
RETURNING_CUSTOMER = Measure(
    "returning_customer",
    "An active customer of the period whose first purchase was before the period. The repeat "
    "purchase rate KPI is returning customers / active customers.",
    "one row per known customer with their first_purchase and purchases in the period",
    "count(*) FILTER (WHERE purchases > 0 AND first_purchase < $start)",
    ("analytics/metrics",),
)
REPEAT_BUYER = Measure(
    "repeat_buyer",
    "A known customer with two or more purchases in the window (the Relationship Strength "
    "Index's share of repeat buyers among the window's active customers).",
    "one row per known customer with their purchases in the window",
    "count(*) FILTER (WHERE purchases >= 2)",
    ("analytics/indices",),
)
REPEAT_PURCHASE = Measure(
    "repeat_purchase",
    "A purchase by a known customer other than their first purchase (the outcome of the "
    "rollout estimate: repeat purchases per customer per week).",
    _CUSTOMER_ORDERS,
    f"count(*) FILTER (WHERE {PURCHASE.sql}) - 1",
    ("analytics/causal",),
)
REPEAT_PURCHASE_DAY = Measure(
    "repeat_purchase_day",
    "A purchase day of a known customer after the day of their first purchase: the frequency x "
    "of the BG/NBD model and the event of the repeat-purchase hazard.",
    "a known customer's days, each with its purchase_day flag `purchase`",
    "count(*) FILTER (WHERE purchase) - 1",
    ("analytics/clv", "analytics/cohorts"),
)

PROMOTER = Measure(
    "promoter",
    "An NPS answer of 9 or 10.",
    _FEEDBACK,
    "nps >= 9",
    ("analytics/metrics", "analytics/indices", "analytics/segments"),
)
DETRACTOR = Measure(
    "detractor",
    "An NPS answer of 0 to 6.",
    _FEEDBACK,
    "nps <= 6",
    ("analytics/metrics", "analytics/indices", "analytics/segments"),
)
NPS = _ratio(
    "nps",
    "% promoters (9-10) minus % detractors (0-6), from -100 to 100.",
    _FEEDBACK,
    f"100 * (count(*) FILTER (WHERE {PROMOTER.sql}) - count(*) FILTER (WHERE {DETRACTOR.sql}))",
    "count(nps)",
    ("analytics/metrics", "analytics/indices", "analytics/segments"),
)
CES = _ratio(
    "ces",
    "Average effort, 1 (easy) to 7 (hard).",
    _FEEDBACK,
    "sum(ces)",
    "count(ces)",
    ("analytics/metrics", "analytics/indices", "analytics/segments"),
)
CSAT_MEAN = _ratio(
    "csat_mean",
    "Average satisfaction, 1 to 5.",
    _FEEDBACK,
    "sum(csat)",
    "count(csat)",
    ("analytics/metrics",),
)
CSAT_SATISFIED_SHARE = _ratio(
    "csat_satisfied_share",
    "Share of CSAT answers that are 4 or 5 (satisfied) on the 1-5 scale.",
    _FEEDBACK,
    "count(*) FILTER (WHERE csat >= 4)",
    "count(csat)",
    ("analytics/indices",),
)
AVERAGE_RATING = _ratio(
    "average_rating",
    "Average star rating, 1 to 5.",
    _FEEDBACK,
    "sum(rating)",
    "count(rating)",
    ("analytics/metrics", "analytics/indices"),
)

CAC = _ratio(
    "cac",
    "Ad spend divided by new customers (all new customers, whatever brought them).",
    "spend, and orders for the new customers",
    "sum(amount)",
    "new_customers",
    ("analytics/metrics",),
)
EMAIL_CAC = _ratio(
    "email_cac",
    "An email A/B-test arm's acquisition cost: the arm's email cost / its recipients whose first "
    "purchase was the one the email produced.",
    "campaign_sends of A/B tests, their campaigns' cost (else client.toml's cost per send), orders",
    "cost",
    "new_customers",
    ("analytics/segments",),
)
ROMI = _ratio(
    "romi",
    "(Revenue of orders placed within 7 days after a touch from a paid channel - ad spend) "
    "/ ad spend. Only channels with spend count, so free email and organic visits do not "
    "inflate it.",
    "spend, touches and orders",
    "sum(revenue) - sum(amount)",
    "sum(amount)",
    ("analytics/metrics",),
)
EMAIL_ROMI = _ratio(
    "email_romi",
    "An email A/B-test arm's return: (the revenue the email platform credits to the arm's sends "
    "- the arm's email cost) / that cost.",
    "campaign_sends of A/B tests and their campaigns' cost (else client.toml's cost per send)",
    "sum(revenue) - cost",
    "cost",
    ("analytics/segments",),
)

# A variant whose name contains one of these words (any case) is a personalized arm.
PERSONALIZED_WORDS = ("personalized", "personalised")
PERSONALIZED_ARM = Measure(
    "personalized_arm",
    "A campaign variant whose name contains " + " or ".join(f'"{w}"' for w in PERSONALIZED_WORDS) + " "
    "(any case) is the personalized arm of an A/B test; the other variants are generic.",
    "campaign_sends or campaign_results (their variant)",
    "coalesce(" + " OR ".join(f"contains(lower(variant), '{w}')" for w in PERSONALIZED_WORDS) + ", false)",
    ("analytics/experiments", "analytics/segments"),
)


def is_personalized_arm(variant: str) -> bool:
    """PERSONALIZED_ARM in Python, for arms already out of the database."""
    name = variant.lower()
    return any(word in name for word in PERSONALIZED_WORDS)


MEASURES: dict[str, Measure] = {m.name: m for m in globals().values() if isinstance(m, Measure)}
