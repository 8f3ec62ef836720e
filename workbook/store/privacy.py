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

import duckdb

from workbook import store
from workbook.core.errors import WorkbookError
from workbook.store.clients import Client, load_client
from workbook.store.schema import PERSON_COLUMNS, TABLES

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


KINDS = ("email", "phone", "name", "id")
REDACTED = "[erased]"


def forgotten_digest(customer_id: str) -> str:
    """What the suppression list keeps of a forgotten pseudonym (`forgotten.digest`): its
    SHA-256 in hex, the same as DuckDB's sha256(customer_id), so that imports can match it
    while the pseudonym itself leaves the file."""
    return hashlib.sha256(customer_id.encode()).hexdigest()


def forget(slug: str, kind: str, value: str) -> dict[str, int]:
    """Erase one person, found by email, phone, name or a source's customer id ("id",
    "<source>:<id>", e.g. "square:CUST42"), from every table, in one transaction; list their
    pseudonym as forgotten so later imports skip them; redact the value (an email, phone or
    name) wherever free text quotes it; then rewrite the file so the freed blocks do not keep it.

    Returns rows changed per table: deleted (including the lines of their orders) and, under
    "<table>.<column>", free texts redacted.
    """
    if kind not in KINDS:
        raise WorkbookError(f"Cannot forget by {kind!r}: use one of {', '.join(KINDS)}.")
    if kind == "id" and not re.fullmatch(r"[^:\s]+:.+", value.strip()):
        raise WorkbookError(
            f"A customer id is given as SOURCE:ID, e.g. square:{value.strip() or 'CUST42'} "
            f"(SOURCE is the preset's first word: square, shopify, stripe ...)."
        )
    client = load_client(slug)
    person = pseudonymizer(client)(kind, value)
    if person is None:
        raise WorkbookError(
            f"The {kind} to forget is empty: give the value as the client's exports spell it."
        )
    changed: dict[str, int] = {}
    with store.write(db_path=client.db_path) as con:
        with store.transaction(con):
            changed["order_items"] = store.scalar(
                con,
                "DELETE FROM order_items WHERE order_id IN (SELECT order_id FROM orders WHERE customer_id = $person)",
                {"person": person},
            )
            for table, column in PERSON_COLUMNS.items():
                changed[table] = store.scalar(
                    con, f'DELETE FROM "{table}" WHERE "{column}" = $person', {"person": person}
                )
            if kind != "id":  # a source's id is no one's name in a sentence
                changed.update(_redact(con, value.strip()))
            con.execute(
                "INSERT OR IGNORE INTO forgotten (digest) VALUES ($digest)",
                {"digest": forgotten_digest(person)},
            )
        store.rewrite(con, client.db_path)
    return changed


def _redact(con: duckdb.DuckDBPyConnection, value: str) -> dict[str, int]:
    """Replace `value` (any case, as a whole word: "Ann" but not "Annual") with REDACTED in
    every free-text column (`TABLES[t].free_text`): a review of someone else that names the
    forgotten person. (RE2 has no lookaround, so the neighbouring characters are kept by groups.)"""
    words = r"\s+".join(re.escape(word) for word in value.split())
    pattern = rf"(?i)(^|\W){words}($|\W)"
    redacted = {}
    for table, spec in TABLES.items():
        for column in spec.free_text:
            redacted[f"{table}.{column}"] = store.scalar(
                con,
                f'UPDATE "{table}" SET "{column}" = regexp_replace("{column}", $pattern, $redacted, \'g\') '
                f'WHERE regexp_matches("{column}", $pattern)',
                {"pattern": pattern, "redacted": rf"\1{REDACTED}\2"},
            )
    return redacted
