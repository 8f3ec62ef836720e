"""Writing staged canonical rows into the client's database: upsert by natural key (`schema.TABLES`).

Data tables have no key constraints, so an upsert is delete-then-insert inside the import's
transaction. order_items are replaced per order (an order's lines come from one export), and
web_sessions per day (a day's traffic comes from one GA4 export: one by source / medium after one
by channel group replaces the day's rows instead of counting its sessions twice).
customers rows are merged: a source that lacks a column does not erase it (new values win
where present, first_seen_at keeps the earliest, source keeps the first one that named them).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from workbook.importers.reading import q
from workbook.store.schema import NATURAL_KEYS, PERSON_COLUMNS

REPLACE_BY: dict[str, tuple[str, ...]] = {"order_items": ("order_id",), "web_sessions": ("day",)}
# Rows written in this order: every analysis groups orders by customer, and DuckDB groups
# rows that arrive clustered by their key about 20% faster (bench/README.md).
STORED_ORDER: dict[str, tuple[str, ...]] = {"orders": ("customer_id", "ordered_at")}


def skip_forgotten(
    con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table]
) -> tuple[dict[str, pa.Table], dict[str, int]]:
    """The staged tables without the rows of forgotten people (`forgotten`, filled by
    `privacy.forget`), and how many rows of theirs each table skipped (order lines go with
    their orders and are not counted apart). Caller holds the import's transaction."""
    if not con.execute("SELECT 1 FROM forgotten LIMIT 1").fetchall():
        return tables, {}  # nobody forgotten: no row to hash
    kept, skipped = dict(tables), {}
    for table, column in PERSON_COLUMNS.items():
        if table not in tables:
            continue
        con.register("incoming", tables[table])
        forgotten = f"{q(column)} IS NOT NULL AND sha256({q(column)}) IN (SELECT digest FROM forgotten)"
        kept[table] = con.sql(f"SELECT * FROM incoming WHERE NOT ({forgotten})").to_arrow_table()
        if table == "orders" and "order_items" in tables:
            dropped = con.sql(f"SELECT order_id FROM incoming WHERE {forgotten}").to_arrow_table()
            items = tables["order_items"]
            kept["order_items"] = items.filter(pc.invert(pc.is_in(items["order_id"], dropped["order_id"])))
        con.unregister("incoming")
        if gone := len(tables[table]) - len(kept[table]):
            skipped[table] = gone
    return kept, skipped


def _match(keys: tuple[str, ...], left: str, right: str) -> str:
    return " AND ".join(f"{left}.{q(k)} IS NOT DISTINCT FROM {right}.{q(k)}" for k in keys)


def upsert(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, import_id: int) -> tuple[int, int]:
    """Insert or replace `rows` in `table`; returns (inserted, updated). Caller holds the transaction."""
    keys = NATURAL_KEYS[table]
    con.register("incoming", rows)
    source = "incoming"
    if table == "customers":
        source = "merged"
        con.execute(f"CREATE TEMP TABLE merged AS {_merge_customers(con, rows.column_names)}")
    updated = con.execute(
        f"SELECT count(*) FROM {source} i WHERE EXISTS "
        f"(SELECT 1 FROM {q(table)} t WHERE {_match(keys, 't', 'i')})"
    ).fetchall()[0][0]
    gone = REPLACE_BY.get(table, keys)
    con.execute(
        f"DELETE FROM {q(table)} t WHERE EXISTS (SELECT 1 FROM {source} i WHERE {_match(gone, 't', 'i')})"
    )
    names = ", ".join(q(c) for c in con.sql(f"SELECT * FROM {source} LIMIT 0").columns)
    order = ", ".join(q(c) for c in STORED_ORDER.get(table, ()))
    con.execute(
        f"INSERT INTO {q(table)} ({names}, import_id) SELECT {names}, $import_id FROM {source}"
        + (f" ORDER BY {order}" if order else ""),
        {"import_id": import_id},
    )
    # on failure the caller rolls back and closes the connection, which drops these too
    con.unregister("incoming")
    con.execute("DROP TABLE IF EXISTS merged")
    return len(rows) - updated, updated


def _merge_customers(con: duckdb.DuckDBPyConnection, incoming: list[str]) -> str:
    """New values over old ones, column by column (coalesce), so no source erases another's."""
    cols = [c for c in con.sql("SELECT * FROM customers LIMIT 0").columns if c != "import_id"]
    select = []
    for c in cols:
        if c == "customer_id":
            select.append("i.customer_id")
        elif c not in incoming:
            select.append(f"o.{q(c)}")
        elif c == "first_seen_at":
            select.append("least(i.first_seen_at, o.first_seen_at) AS first_seen_at")
        elif c == "source":
            select.append("coalesce(o.source, i.source) AS source")
        else:
            select.append(f"coalesce(i.{q(c)}, o.{q(c)}) AS {q(c)}")
    return (
        f"SELECT {', '.join(select)} FROM incoming i LEFT JOIN customers o ON o.customer_id = i.customer_id"
    )
