"""Layer 2: the client's DuckDB file (schema, connections), its folder and settings, privacy.

The connection API is this package's face, so callers write `store.read(...)`.
"""

from workbook.store.connection import (
    default_as_of,
    latest_activity,
    migrate,
    once_per_read_only,
    one_row,
    read,
    restore_step,
    rewrite,
    scalar,
    schema_version,
    table_counts,
    transaction,
    write,
)

__all__ = [
    "default_as_of",
    "latest_activity",
    "migrate",
    "once_per_read_only",
    "one_row",
    "read",
    "restore_step",
    "rewrite",
    "scalar",
    "schema_version",
    "table_counts",
    "transaction",
    "write",
]
