"""Presets: the exports small businesses really have (docs/architecture.md, shared/EXPORTS.md).

Each preset is a `Mapping` like a user's YAML file, with aliases for headers that vendors
renamed, plus a small custom step only where the format needs one. Order ids are namespaced by
source (`shopify:#1001`, `square:<Transaction ID>`, `stripe:<id>`) so two sources never
collide; review and survey ids likewise (`google:<reviewId>`, `survey:<Response ID>`).
"""

from __future__ import annotations

import dataclasses

from workbook.importers.errors import ImportError_, shorten
from workbook.importers.mapping import Format, Identity, Mapping
from workbook.importers.reading import q
from workbook.importers.staging import Output, Stage, customers_from_orders, default_transform


def tag(column: str, prefix: str) -> str:
    """SQL: the value of a `prefix:<value>` tag in a comma-separated tag list."""
    return f"NULLIF(trim(regexp_extract({column}, '(?:^|,)\\s*{prefix}:\\s*([^,]*)', 1)), '')"


def has_tag(column: str, word: str) -> str:
    return f"coalesce(regexp_matches(lower({column}), '(?:^|,)\\s*{word}\\s*(?:,|$)'), false)"


# --- Shopify ------------------------------------------------------------------------------


def shopify_orders(stage: Stage) -> list[Output]:
    """One row per line item; order-level fields only on an order's first row.

    revenue = Subtotal (after discounts, before shipping and taxes) - Refunded Amount; a
    voided order counts 0. An order is cancelled when it is voided or has a Cancelled at date
    (so it is no purchase, whatever its amount). An order whose fields appear on two rows is a
    duplicate.
    """
    stage.execute(
        "CREATE TABLE shopify_lines AS SELECT order_name, customer_id, ordered_at, "
        "financial_status, cancelled_at, subtotal, discount, refunded, channel, location, product, line_qty, "
        "row_number() OVER (PARTITION BY order_name ORDER BY _row) AS line, "
        "coalesce(line_qty, 1) * line_price - coalesce(line_discount, 0) AS line_revenue, "
        "sum(line_revenue) OVER (PARTITION BY order_name) AS lines_total FROM typed"
    )
    voided = "coalesce(lower(financial_status) = 'voided', false)"
    orders = (
        "SELECT 'shopify:' || order_name AS order_id, customer_id, ordered_at, "
        f"CASE WHEN {voided} THEN 0 "
        "ELSE coalesce(subtotal, lines_total, 0) - coalesce(refunded, 0) END AS revenue, "
        f"discount, refunded, {voided} OR cancelled_at IS NOT NULL AS cancelled, "
        "lower(channel) AS channel, location, $source AS source "
        "FROM shopify_lines WHERE line = 1"
    )
    items = (
        "SELECT 'shopify:' || order_name AS order_id, line AS line_no, product, "
        "line_qty AS quantity, line_revenue AS revenue FROM shopify_lines"
    )
    return [
        Output(
            "orders",
            orders,
            key_rows="SELECT order_name, _row FROM typed WHERE subtotal IS NOT NULL "
            "OR financial_status IS NOT NULL",
            key_fields=["order_name"],
        ),
        Output("order_items", items),
        customers_from_orders(),
    ]


SHOPIFY_ORDERS = Mapping(
    name="shopify-orders",
    table="orders",
    description="Shopify orders export (orders_export_1.csv) -> orders, order_items",
    columns={
        "Name": "order_name",
        "Created at": "ordered_at",
        "Financial Status": "financial_status",
        "Subtotal": "subtotal",
        "Discount Amount": "discount",
        "Refunded Amount": "refunded",
        "Cancelled at": "cancelled_at",
        "Source": "channel",
        "Location": "location",
        "Lineitem name": "product",
        "Lineitem quantity": "line_qty",
        "Lineitem price": "line_price",
        "Lineitem discount": "line_discount",
        "Currency": "currency",
    },
    types={
        "order_name": "id",
        "financial_status": "text",
        "cancelled_at": "text",  # only whether it is filled in matters
        "subtotal": "money",
        "line_qty": "number",
        "line_price": "money",
        "line_discount": "money",
        "product": "text",
        "currency": "text",
    },
    identity=[
        Identity(["Email"], "email"),
        Identity(["Phone"], "phone"),
        Identity(["Billing Phone"], "phone"),
        Identity(["Billing Name"], "name"),
    ],
    required=["order_name", "ordered_at", "subtotal"],
    may_be_blank=["subtotal"],
    transform=shopify_orders,
)


def shopify_customers(stage: Stage) -> list[Output]:
    """Tags channel:/segment:/persona: set acquisition_channel, segment, persona."""
    return [
        Output(
            "customers",
            f"SELECT customer_id, {tag('tags', 'channel')} AS acquisition_channel, "
            f"{tag('tags', 'segment')} AS segment, {tag('tags', 'persona')} AS persona, "
            "region, marketing_consent, $source AS source FROM typed",
            key_rows="SELECT customer_id, _row FROM typed",
            key_fields=["customer_id"],
        )
    ]


SHOPIFY_CUSTOMERS = Mapping(
    name="shopify-customers",
    table="customers",
    description="Shopify customers export (customers_export.csv) -> customers",
    columns={
        "Default Address Province Code": "region",
        "Province Code": "region",
        "Accepts Email Marketing": "marketing_consent",
        "Accepts Marketing": "marketing_consent",
        "Tags": "tags",
    },
    types={"tags": "text"},
    identity=[
        Identity(["Email"], "email"),
        Identity(["Phone"], "phone"),
        Identity(["Default Address Phone"], "phone"),
        Identity(["Customer ID"], "id"),
        Identity(["First Name", "Last Name"], "name"),
    ],
    transform=shopify_customers,
)


# --- Square -------------------------------------------------------------------------------


def square_items(stage: Stage) -> list[Output]:
    """One order per Transaction ID (sum of Net Sales; refunds negative); each row a line.

    Date and Time are the location's local time, taken as the client's timezone.
    """
    at = "day + coalesce(clock, TIME '00:00')"
    orders = (
        f"SELECT 'square:' || transaction_id AS order_id, any_value(customer_id) AS customer_id, "
        f"min({at}) AS ordered_at, sum(net) AS revenue, sum(abs(discounts)) AS discount, "
        "-sum(net) FILTER (WHERE net < 0) AS refunded, "
        "coalesce(lower(any_value(channel)), 'pos') AS channel, any_value(location) AS location, "
        "$source AS source FROM typed GROUP BY transaction_id"
    )
    items = (
        "SELECT 'square:' || transaction_id AS order_id, "
        "row_number() OVER (PARTITION BY transaction_id ORDER BY _row) AS line_no, "
        "item AS product, category, quantity, net AS revenue FROM typed"
    )
    return [Output("orders", orders), Output("order_items", items), customers_from_orders()]


SQUARE_ITEMS = Mapping(
    name="square-items",
    table="orders",
    description="Square item sales detail (items-*.csv) -> orders (one per Transaction ID), order_items",
    columns={
        "Date": "day",
        "Time": "clock",
        "Transaction ID": "transaction_id",
        "Item": "item",
        "Category": "category",
        "Qty": "quantity",
        "Net Sales": "net",
        "Discounts": "discounts",
        "Location": "location",
        "Channel": "channel",
    },
    types={
        "day": "date",
        "clock": "time",
        "transaction_id": "id",
        "item": "text",
        "category": "text",
        "quantity": "number",
        "net": "money",
        "discounts": "money",
    },
    identity=[Identity(["Customer ID"], "id"), Identity(["Customer Name"], "name")],
    required=["day", "transaction_id", "net"],
    transform=square_items,
)


# --- Stripe -------------------------------------------------------------------------------

PAID = ["paid", "succeeded", "refunded", "partially refunded", "partially_refunded"]
UTM_CHANNEL = """CASE
  WHEN lower(utm_medium) IN ('cpc', 'ppc', 'paid_search', 'paidsearch', 'sem') THEN 'paid_search'
  WHEN lower(utm_medium) IN ('paid_social', 'paidsocial', 'social_paid') THEN 'paid_social'
  WHEN lower(utm_medium) IN ('social', 'social-network', 'sm') THEN 'social'
  WHEN lower(utm_medium) IN ('email', 'e-mail', 'newsletter') THEN 'email'
  WHEN lower(utm_medium) IN ('organic', 'seo') THEN 'organic_search'
  ELSE lower(coalesce(utm_medium, utm_source)) END"""


def stripe_payments(stage: Stage) -> list[Output]:
    """Succeeded payments only (others listed in a warning); revenue = Amount - Amount Refunded.

    Each payment is an order with one line (Description = the service); UTM columns of a
    known customer become a touch at the payment time.
    """
    skipped, first = stage.first(
        "SELECT count(*), min(_row) FROM typed WHERE NOT "
        "(list_contains($paid, lower(status)) AND coalesce(captured, true))",
        {"paid": PAID},
    )
    if skipped:
        stage.warnings.append(
            f"{skipped:,} payment(s) not succeeded (failed, pending, uncaptured) "
            f"were skipped (first: {stage.where(first)}, Status "
            f"{stage.value('status', first)!r})."
        )
    paid = "FROM typed WHERE list_contains($paid, lower(status)) AND coalesce(captured, true)"
    orders = (
        "SELECT 'stripe:' || payment_id AS order_id, customer_id, ordered_at, "
        "amount - coalesce(amount_refunded, 0) AS revenue, amount_refunded AS refunded, "
        f"'online' AS channel, $source AS source, _row {paid}"
    )
    items = (
        "SELECT 'stripe:' || payment_id AS order_id, 1 AS line_no, description AS product, "
        f"1.0 AS quantity, amount - coalesce(amount_refunded, 0) AS revenue {paid}"
    )
    touches = (
        f"SELECT DISTINCT customer_id, ordered_at AS touched_at, {UTM_CHANNEL} AS channel, "
        "utm_campaign AS campaign_id, utm_source, utm_medium "
        f"{paid} AND customer_id IS NOT NULL AND coalesce(utm_medium, utm_source) IS NOT NULL"
    )
    stage.params["paid"] = PAID
    return [
        Output("orders", orders, key_rows=f"SELECT payment_id, _row {paid}", key_fields=["payment_id"]),
        Output("order_items", items),
        Output("touches", touches),
        customers_from_orders(),
    ]


STRIPE_PAYMENTS = Mapping(
    name="stripe-payments",
    table="orders",
    description="Stripe unified payments (unified_payments.csv) -> orders, touches (UTM)",
    columns={
        "id": "payment_id",
        "Created date (UTC)": "ordered_at",
        "Created (UTC)": "ordered_at",
        "Amount": "amount",
        "Amount Refunded": "amount_refunded",
        "Status": "status",
        "Captured": "captured",
        "Description": "description",
        "Currency": "currency",
        "UTM Campaign": "utm_campaign",
        "UTM Medium": "utm_medium",
        "UTM Source": "utm_source",
    },
    types={
        "payment_id": "id",
        "amount": "money",
        "amount_refunded": "money",
        "status": "text",
        "currency": "text",
        "captured": "bool",
        "description": "text",
        "utm_campaign": "text",
        "utm_medium": "text",
        "utm_source": "text",
    },
    identity=[
        Identity(["Customer Email"], "email"),
        Identity(["Customer Phone"], "phone"),
        Identity(["Customer ID"], "id"),
        Identity(["Customer Description"], "name"),
    ],
    format=Format(timezone="UTC"),
    required=["payment_id", "ordered_at", "amount", "status"],
    transform=stripe_payments,
)


# --- Mailchimp ----------------------------------------------------------------------------


def mailchimp_audience(stage: Stage) -> list[Output]:
    """Consent: on the list and not unsubscribed or cleaned; REGION is the region; TAGS as Shopify's."""
    return [
        Output(
            "customers",
            "SELECT customer_id, region, (unsub_time IS NULL AND clean_time IS NULL) "
            f"AS marketing_consent, {tag('tags', 'channel')} AS acquisition_channel, "
            f"{tag('tags', 'segment')} AS segment, {tag('tags', 'persona')} AS persona, "
            "$source AS source FROM typed",
            key_rows="SELECT customer_id, _row FROM typed",
            key_fields=["customer_id"],
        )
    ]


MAILCHIMP_AUDIENCE = Mapping(
    name="mailchimp-audience",
    table="customers",
    description="Mailchimp audience export -> customers (consent, region)",
    columns={"REGION": "region", "UNSUB_TIME": "unsub_time", "CLEAN_TIME": "clean_time", "TAGS": "tags"},
    types={"unsub_time": "timestamp", "clean_time": "timestamp", "tags": "text"},
    identity=[
        Identity(["Email Address"], "email"),
        Identity(["Phone Number"], "phone"),
        Identity(["First Name", "Last Name"], "name"),
    ],
    required=[],
    transform=mailchimp_audience,
)


# --- Klaviyo ------------------------------------------------------------------------------


def klaviyo_campaigns(stage: Stage) -> list[Output]:
    """Per-variant rows -> campaign_results; campaigns from their name, tags and send times.

    Tag `personalized` marks a personalized campaign, `ptype:<x>` its personalization_type.
    Without a Campaign ID column the campaign is keyed by its name (`klaviyo:<name>`).
    """
    cid = "coalesce(campaign_ref, 'klaviyo:' || campaign_name)"
    results = (
        f"SELECT {cid} AS campaign_id, coalesce(variant, 'all') AS variant, recipients, "
        "delivered, opens, clicks, orders, revenue, unsubscribes, bounces, spam_complaints, "
        "is_winner, _row FROM typed"
    )
    campaigns = (
        f"SELECT {cid} AS campaign_id, any_value(campaign_name) AS name, "
        "coalesce(lower(any_value(channel)), 'email') AS channel, "
        "min(started_at) AS started_at, max(started_at) AS ended_at, "
        f"bool_or({has_tag('tags', 'personalized')}) AS personalized, "
        f"any_value({tag('tags', 'ptype')}) AS personalization_type, $source AS source "
        "FROM typed GROUP BY 1"
    )
    return [
        Output("campaigns", campaigns),
        Output(
            "campaign_results",
            results,
            key_rows=f"SELECT {cid} AS campaign_ref, coalesce(variant, 'all') AS variant, _row FROM typed",
            key_fields=["campaign_ref", "variant"],
        ),
    ]


KLAVIYO_CAMPAIGNS = Mapping(
    name="klaviyo-campaigns",
    table="campaign_results",
    description="Klaviyo campaign export (one row per variant) -> campaigns, campaign_results",
    columns={
        "Campaign ID": "campaign_ref",
        "Campaign Name": "campaign_name",
        "Variant Name": "variant",
        "Tags": "tags",
        "Send Time": "started_at",
        "Campaign Channel": "channel",
        "Total Recipients": "recipients",
        "Successful Deliveries": "delivered",
        "Unique Opens": "opens",
        "Unique Clicks": "clicks",
        "Unique Placed Order": "orders",
        "Revenue": "revenue",
        "Unsubscribes": "unsubscribes",
        "Bounces": "bounces",
        "Spam Complaints": "spam_complaints",
        "Winning Variant?": "is_winner",
    },
    types={
        "campaign_ref": "id",
        "campaign_name": "text",
        "tags": "text",
        "started_at": "timestamp",
        "channel": "text",
    },
    required=["campaign_name", "recipients"],
    transform=klaviyo_campaigns,
)


# --- GA4, reviews, surveys ----------------------------------------------------------------

GA4_SPLITS = ("channel", "source_medium")  # what a traffic acquisition report splits sessions by


def ga4_traffic(stage: Stage) -> list[Output]:
    """One row per day and split: the channel group, the session source / medium, or both (as
    primary and secondary dimension). An export must give at least one; the other stays NULL.
    Each day and split appears once in the file."""
    splits = [f for f in GA4_SPLITS if f in stage.headers]
    if not splits:
        wanted = " or ".join(repr(h) for h, f in stage.mapping.columns.items() if f in GA4_SPLITS)
        raise ImportError_(
            f"{stage.raw.name} does not split sessions by channel group or by source / medium "
            f"(expected a column {wanted}). Its columns are: {shorten(', '.join(stage.raw.headers), 300)}. "
            "Export the GA4 traffic acquisition report with one of those as its dimension."
        )
    [sessions] = default_transform(stage)
    keys = ["day", *splits]
    return [
        dataclasses.replace(
            sessions, key_rows=f"SELECT {', '.join(map(q, keys))}, _row FROM typed", key_fields=keys
        )
    ]


GA4_TRAFFIC = Mapping(
    name="ga4-traffic",
    table="web_sessions",
    description="GA4 traffic acquisition report CSV (with a Date column) -> web_sessions",
    columns={
        "Date": "day",
        "Session primary channel group (Default Channel Group)": "channel",
        "Session default channel group": "channel",
        "Default channel group": "channel",
        "Session primary channel group": "channel",
        "Session source / medium": "source_medium",
        "Session source/medium": "source_medium",
        "Source / medium": "source_medium",
        "Sessions": "sessions",
        "Engaged sessions": "engaged_sessions",
        "Key events": "key_events",
        "Conversions": "key_events",
        "Total revenue": "revenue",
    },
    required=["day", "sessions"],  # and a channel group or a source / medium (`ga4_traffic`)
    transform=ga4_traffic,
)


def google_reviews(stage: Stage) -> list[Output]:
    return [
        Output(
            "feedback",
            "SELECT 'google:' || review_id AS feedback_id, customer_id, submitted_at, "
            "'google' AS source, rating, text FROM typed",
            key_rows="SELECT review_id, _row FROM typed",
            key_fields=["review_id"],
        )
    ]


GOOGLE_REVIEWS = Mapping(
    name="google-reviews",
    table="feedback",
    description="Google Business Profile reviews, Takeout JSON -> feedback",
    columns={
        "reviewId": "review_id",
        "name": "review_id",
        "createTime": "submitted_at",
        "starRating": "rating",
        "comment": "text",
    },
    types={"review_id": "id", "rating": "stars"},
    identity=[Identity(["reviewer.displayName"], "name", ignore=["A Google user", "Anonymous"])],
    required=["review_id", "submitted_at", "rating"],
    transform=google_reviews,
)


def survey(stage: Stage) -> list[Output]:
    """Without a response id (Google Forms), the id is a hash of time, person and answers."""
    fid = (
        "'survey:' || coalesce(response_id, md5(concat_ws('|', submitted_at, customer_id, "
        "nps, ces, csat, rating, text)))"
    )
    return [
        Output(
            "feedback",
            f"SELECT {fid} AS feedback_id, customer_id, submitted_at, $source AS source, "
            "nps, ces, csat, rating, text, _row FROM typed",
            key_rows=f"SELECT {fid} AS response_id, _row FROM typed",
            key_fields=["response_id"],
        )
    ]


SURVEY = Mapping(
    name="survey",
    table="feedback",
    description="Reviews/NPS survey CSV (Typeform, Google Forms, ...) -> feedback",
    columns={
        "Response ID": "response_id",
        "Response Id": "response_id",
        "#": "response_id",
        "Submitted At": "submitted_at",
        "Submit Date (UTC)": "submitted_at",
        "Timestamp": "submitted_at",
        "NPS": "nps",
        "How likely are you to recommend us to a friend?": "nps",
        "How likely are you to recommend us to a friend or colleague?": "nps",
        "CES": "ces",
        "CSAT": "csat",
        "Rating": "rating",
        "Comment": "text",
        "Comments": "text",
    },
    types={"response_id": "id"},
    identity=[
        Identity(["Email"], "email"),
        Identity(["Email Address"], "email"),
        Identity(["Phone"], "phone"),
        Identity(["Name"], "name"),
    ],
    required=["submitted_at"],
    transform=survey,
)


PRESETS: dict[str, Mapping] = {
    m.name: m
    for m in [
        SHOPIFY_ORDERS,
        SHOPIFY_CUSTOMERS,
        SQUARE_ITEMS,
        STRIPE_PAYMENTS,
        MAILCHIMP_AUDIENCE,
        KLAVIYO_CAMPAIGNS,
        GA4_TRAFFIC,
        GOOGLE_REVIEWS,
        SURVEY,
    ]
}


def header_match(mapping: Mapping, headers: list[str]) -> float:
    """Share of a mapping's fields (and identity columns) that a file's headers provide."""
    present = set(headers)
    fields: dict[str, list[str]] = {}
    for header, name in mapping.columns.items():
        fields.setdefault(name, []).append(header)
    for identity in mapping.identity:
        fields.setdefault("identity:" + "|".join(identity.columns), []).extend(identity.columns)
    return sum(any(h in present for h in aliases) for aliases in fields.values()) / len(fields)


def better_preset(chosen: Mapping, headers: list[str]) -> tuple[str, float, float] | None:
    """(name, its match, chosen's match) of a preset that clearly fits the file better.

    Catches the usual slip of importing an export with the wrong `--source`: a file whose
    headers give at least 80% of another preset's fields and 40 points more than the chosen's.
    """
    mine = header_match(chosen, headers)
    name, best = max(
        ((n, header_match(m, headers)) for n, m in PRESETS.items() if n != chosen.name),
        key=lambda pair: pair[1],
    )
    return (name, best, mine) if best >= 0.8 and best - mine >= 0.4 else None
