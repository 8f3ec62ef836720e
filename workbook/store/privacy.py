"""Pseudonyms instead of personal data, and erasure on request.

Emails, phones and names never enter the database: each becomes HMAC-SHA256(salt, kind:value)
of its normalized form (RFC 2104 keyed hash; without the salt a guess cannot be checked), cut
to its first ID_BYTES bytes and written in URL-safe base64.
The same person gets the same `customer_id` in every import of one client and a different
one in every other client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from workbook import store
from workbook.store.clients import Client, load_client
from workbook.store.schema import PERSON_COLUMNS

# 72 bits: a collision among even 10 million identities has odds below 1 in 10^7; and 12
# base64 characters fit in DuckDB's 12-byte inline strings, which group and join 1.4x faster
# than the longer ids of schema 1 (bench/README.md)
ID_BYTES = 9


def normalize(kind: str, value: str) -> str:
    value = str(value).strip()
    if kind == "email":
        return value.lower()
    if kind == "phone":
        return re.sub(r"\D", "", value).lstrip("0")
    if kind == "name":
        return " ".join(value.casefold().split())
    return value  # source ids: exact


class Pseudonymizer:
    """Turns identifiers into stable pseudonyms with one client's salt."""

    def __init__(self, salt: bytes):
        self._salt = salt

    def __call__(self, kind: str, value: str | None) -> str | None:
        if value is None or str(value).strip() == "":
            return None
        message = f"{kind}:{normalize(kind, value)}".encode()
        digest = hmac.new(self._salt, message, hashlib.sha256).digest()[:ID_BYTES]
        return base64.urlsafe_b64encode(digest).decode()

    def sql(self, message: str) -> tuple[str, dict[str, bytes]]:
        """The same pseudonym computed in DuckDB: an SQL expression of the VARCHAR expression
        `message` (the "kind:normalized value" text) and its bound parameters ($ipad, $opad).
        HMAC (RFC 2104) from SQL's sha256: H((K ^ opad) || H((K ^ ipad) || m)), K padded to
        SHA-256's 64-byte block."""
        key = (hashlib.sha256(self._salt).digest() if len(self._salt) > 64 else self._salt).ljust(64, b"\0")
        pads = {"ipad": bytes(b ^ 0x36 for b in key), "opad": bytes(b ^ 0x5C for b in key)}
        digest = f"unhex(left(sha256($opad || unhex(sha256($ipad || encode({message})))), {2 * ID_BYTES}))"
        return f"translate(to_base64({digest}), '+/', '-_')", pads

    @staticmethod
    def display_key(customer_id: str) -> str:
        """A short label safe to show in reports (C-xxxxxxxx)."""
        return f"C-{customer_id[:8]}"


def pseudonymizer(client: Client) -> Pseudonymizer:
    return Pseudonymizer(client.salt())


def forget(slug: str, email: str) -> dict[str, int]:
    """Erase one person (found by email) from every table, in one transaction.

    Returns rows deleted per table (including the order lines of their orders).
    """
    client = load_client(slug)
    person = pseudonymizer(client)("email", email)
    deleted: dict[str, int] = {}
    with store.write(db_path=client.db_path) as con, store.transaction(con):
        deleted["order_items"] = store.scalar(
            con,
            "DELETE FROM order_items WHERE order_id IN (SELECT order_id FROM orders WHERE customer_id = $person)",
            {"person": person},
        )
        for table, column in PERSON_COLUMNS.items():
            deleted[table] = store.scalar(
                con, f'DELETE FROM "{table}" WHERE "{column}" = $person', {"person": person}
            )
    return deleted
