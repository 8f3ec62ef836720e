"""Small exports in their vendors' real layouts (headers from shared/EXPORTS.md), for importer tests."""

from __future__ import annotations

import csv
import json
from pathlib import Path

SHOPIFY_ORDER_HEADERS = ["Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code", "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping", "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street", "Billing Address1", "Billing Address2", "Billing Company", "Billing City", "Billing Zip", "Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street", "Shipping Address1", "Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip", "Shipping Province", "Shipping Country", "Shipping Phone", "Notes", "Note Attributes", "Cancelled at", "Payment Method", "Payment Reference", "Refunded Amount", "Vendor", "Outstanding Balance", "Employee", "Location", "Device ID", "Id", "Tags", "Risk Level", "Source", "Lineitem discount", "Tax 1 Name", "Tax 1 Value", "Phone", "Receipt Number", "Duties", "Billing Province Name", "Shipping Province Name", "Payment ID", "Payment Terms Name", "Next Payment Due At", "Payment References"]
SHOPIFY_CUSTOMER_HEADERS = ["Customer ID", "First Name", "Last Name", "Email", "Accepts Email Marketing", "Default Address Company", "Default Address Address1", "Default Address Address2", "Default Address City", "Default Address Province Code", "Default Address Country Code", "Default Address Zip", "Default Address Phone", "Phone", "Accepts SMS Marketing", "Total Spent", "Total Orders", "Note", "Tax Exempt", "Tags", "Accepts WhatsApp Marketing"]
SQUARE_HEADERS = ["Date", "Time", "Time Zone", "Category", "Item", "Qty", "Price Point Name", "SKU", "Modifiers Applied", "Gross Sales", "Discounts", "Net Sales", "Tax", "Transaction ID", "Payment ID", "Device Name", "Notes", "Details", "Event Type", "Location", "Dining Option", "Customer ID", "Customer Name", "Customer Reference ID", "Unit", "Count", "GTIN", "Itemization Type", "Commission", "Employee", "Fulfillment Note", "Channel", "Token", "Card Brand", "PAN Suffix"]
STRIPE_HEADERS = ["id", "Created date (UTC)", "Amount", "Amount Refunded", "Currency", "Captured", "Converted Amount", "Converted Amount Refunded", "Converted Currency", "Decline Reason", "Description", "Fee", "Is Link", "Link Funding", "Mode", "PaymentIntent ID", "Payment Source Type", "Refunded date (UTC)", "Statement Descriptor", "Status", "Seller Message", "Taxes On Fee", "Card ID", "Customer ID", "Customer Description", "Customer Email", "Customer Phone", "Invoice ID", "Invoice Number", "Client Reference ID", "Payment Link ID", "UTM Campaign", "UTM Content", "UTM Medium", "UTM Source", "UTM Term", "Application Fee", "Application ID", "Destination", "Transfer", "Transfer Group"]
MAILCHIMP_HEADERS = ["Email Address", "First Name", "Last Name", "Address", "Phone Number", "Birthday", "MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP", "LATITUDE", "LONGITUDE", "GMTOFF", "DSTOFF", "TIMEZONE", "CC", "REGION", "LAST_CHANGED", "LEID", "EUID", "NOTES", "TAGS"]
KLAVIYO_HEADERS = ["Campaign Name", "Variant Name", "Tags", "Subject", "List", "Send Time", "Send Weekday", "Total Recipients", "Unique Placed Order", "Placed Order Rate", "Revenue", "Unique Opens", "Open Rate", "Total Opens", "Unique Clicks", "Click Rate", "Total Clicks", "Unsubscribes", "Spam Complaints", "Spam Complaints Rate", "Successful Deliveries", "Bounces", "Bounce Rate", "Campaign ID", "Campaign Channel", "Winning Variant?"]
GA4_HEADERS = [
    "Date",
    "Session primary channel group (Default Channel Group)",
    "Sessions",
    "Engaged sessions",
    "Engagement rate",
    "Average engagement time per session",
    "Events per session",
    "Event count",
    "Key events",
    "Session key event rate",
    "Total revenue",
]
SURVEY_HEADERS = ["Response ID", "Submitted At", "Email", "NPS", "CES", "CSAT", "Rating", "Comment"]


def write_csv(
    path: Path,
    headers: list[str],
    rows: list[dict | list],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    preamble: str = "",
) -> Path:
    """Rows as dicts (missing headers blank) or lists; `preamble` goes before the header."""
    with path.open("w", encoding=encoding, newline="") as fh:
        fh.write(preamble)
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        writer.writerow(headers)
        for row in rows:
            writer.writerow([row.get(h, "") for h in headers] if isinstance(row, dict) else row)
    return path


def shopify_order_rows(
    name: str,
    email: str,
    created: str,
    lines: list[tuple[str, int, str]],
    subtotal: str,
    refunded: str = "0.00",
    source: str = "web",
    status: str = "paid",
    **extra,
) -> list[dict]:
    """An order in Shopify's layout: order-level fields only on the first line's row."""
    rows = []
    for i, (product, qty, price) in enumerate(lines):
        row = {
            "Name": name,
            "Email": email,
            "Created at": created,
            "Lineitem name": product,
            "Lineitem quantity": str(qty),
            "Lineitem price": price,
            "Currency": "USD",
        }
        if i == 0:
            row.update(
                {
                    "Financial Status": status,
                    "Subtotal": subtotal,
                    "Refunded Amount": refunded,
                    "Discount Amount": "0.00",
                    "Source": source,
                    "Total": subtotal,
                    **extra,
                }
            )
        rows.append(row)
    return rows


def write_reviews_json(path: Path, reviews: list[dict]) -> Path:
    path.write_text(json.dumps({"reviews": reviews}, indent=2), encoding="utf-8")
    return path


def review(review_id: str, name: str, stars: str, comment: str, created: str) -> dict:
    return {
        "reviewId": review_id,
        "reviewer": {"displayName": name},
        "starRating": stars,
        "comment": comment,
        "createTime": created,
        "updateTime": created,
        "reviewReply": {"comment": "Thanks!", "updateTime": created},
    }
