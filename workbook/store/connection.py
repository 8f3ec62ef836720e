"""Connections to a client's DuckDB file, and schema upgrades.

Reports open the file read-only so many can render at once. A read-write connection locks
the file against every other process (DuckDB's one-writer rule), so writers open one briefly with `write()` and close it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from workbook.core import paths
from workbook.core.errors import WorkbookError
from workbook.store.schema import ACTIVITY_TABLES, DATA_TABLES, LATEST_VERSION, MIGRATIONS, TABLES

T = TypeVar("T")


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = scalar(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'")
    if not exists:
        return 0
    return scalar(con, "SELECT coalesce(max(version), 0) FROM schema_version")


def migrate(con: duckdb.DuckDBPyConnection, migrations: list[str] = MIGRATIONS) -> list[int]:
    """Apply the migrations the file has not seen yet, all in one transaction.

    Returns the versions applied (empty when the file was already current), so running it
    twice is harmless.
    """
    current = schema_version(con)
    _refuse_newer(current, len(migrations))
    pending = list(range(current + 1, len(migrations) + 1))
    if not pending:
        return []
    with transaction(con):
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version INTEGER PRIMARY KEY, applied_at TIMESTAMP DEFAULT current_localtimestamp())"
        )
        for version in pending:
            con.execute(migrations[version - 1])
            con.execute("INSERT INTO schema_version (version) VALUES ($version)", {"version": version})
    return pending


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: commit when the block ends, roll back and re-raise on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _resolve(client: str | None, db_path: str | Path | None) -> Path:
    if db_path:
        path = Path(db_path)
        if not path.exists():
            raise WorkbookError(f"No database at {path}. Check the path, or run `workbook init`.")
        return path
    if client is None:
        raise WorkbookError("Say which client: a client name or a db_path.")
    return paths.existing_client_dir(client) / paths.DB_FILE


def _refuse_newer(version: int, known: int) -> None:
    if version > known:
        raise WorkbookError(
            f"This database was written by a newer Delta Workbook (schema {version}, this one "
            f"knows {known}). Upgrade the workbook package before opening it."
        )


def restore_step(folder: Path) -> str:
    """The way back from a damaged database or a lost salt: the two files are one pair, since
    the database's pseudonyms were made with that salt."""
    return (
        f"restore {paths.DB_FILE} and {paths.SALT_FILE} together from your backup of {folder} "
        f"(`workbook restore <archive> --force` for an archive made by `workbook backup`)"
    )


# What DuckDB says of a file that is not (or no longer) a whole DuckDB database: not one at
# all (empty, another format), cut short, or a block whose checksum fails.
_DAMAGED = ("not a valid DuckDB database", "Could not read enough bytes", "Corrupt database")


# A DuckDB file: three 4 KiB headers, then its blocks.
_HEADER_BYTES = 3 * 4096


def _refuse_cut_short(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """DuckDB opens a file cut short (a copy or a download that stopped) and fails only when a
    query reaches a missing block; its size against the blocks it uses tells at once (not its
    total blocks: DuckDB cuts free blocks off the end of the file but still counts them)."""
    blocks = scalar(
        con,
        "SELECT block_size * used_blocks FROM pragma_database_size() WHERE database_name = current_database()",
    )
    size = path.stat().st_size
    if blocks and size < _HEADER_BYTES + blocks:
        raise duckdb.IOException(
            f"Could not read enough bytes: the file has {size} of its {_HEADER_BYTES + blocks} bytes"
        )


def _open(path: Path, read_only: bool) -> tuple[duckdb.DuckDBPyConnection, int]:
    """A connection to the file and its schema version, telling apart a lock held by another
    process, a damaged file and any other failure, each as one line saying what to do."""
    con = None
    try:
        con = duckdb.connect(str(path), read_only=read_only)
        _refuse_cut_short(con, path)
        return con, schema_version(con)
    except duckdb.Error as err:
        if con is not None:
            con.close()
        reason = " ".join(str(err).split())
        if any(sign in reason for sign in _DAMAGED):
            raise WorkbookError(
                f"The database {path} is damaged ({reason}): {restore_step(path.parent)}."
            ) from err
        if "Could not set lock" in reason:
            raise WorkbookError(
                f"The database {path} is locked by another process ({reason}). Another program holds "
                f"it open for writing: close that notebook kernel or command, then try again."
            ) from err
        raise WorkbookError(
            f"The database {path} cannot be opened ({reason}). Check the file and its folder."
        ) from err


# DuckDB memory per read-only connection. DuckDB's default (80% of RAM) let the two kernels a
# report runs at once on 2 cores reach 5.8 GB for a 5M-order client; capped, the big joins and
# windows spill to disk (beside the database) and the report takes the same time (2.7 GB peak,
# bench/README.md).
READ_MEMORY_LIMIT = "700MB"


def read(client: str | None = None, db_path: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection (what notebooks and reports use). The schema must be current."""
    path = _resolve(client, db_path)
    con, version = _open(path, read_only=True)
    if version != LATEST_VERSION:
        con.close()
        _refuse_newer(version, LATEST_VERSION)
        raise WorkbookError(
            f"The database {path} has schema version {version}; this workbook needs "
            f"{LATEST_VERSION}. Run any writing command once (e.g. `workbook init "
            f"{client or '<client>'}`) to upgrade it in place."
        )
    con.execute(f"SET memory_limit = '{READ_MEMORY_LIMIT}'")
    return con


@contextlib.contextmanager
def write(
    client: str | None = None, db_path: str | Path | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-write connection, upgraded to the current schema, closed on exit."""
    path = _resolve(client, db_path)
    con, _ = _open(path, read_only=False)
    try:
        migrate(con)
        yield con
    finally:
        con.close()


def rewrite(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Rebuild the file of the open read-write connection `con` so that deleted rows leave its
    bytes: DuckDB reuses freed blocks but never wipes them, so an erased person would stay
    readable in the file. Copies every table, sequence and constraint into a new file beside
    it, then puts it in the old one's place (atomic rename) while `con` still holds the write
    lock, so no other process can write to the old file in between."""
    fresh = path.with_name(f"{path.name}.rewrite")
    fresh.unlink(missing_ok=True)  # a rebuild that stopped half-way: start again
    name = scalar(con, "SELECT current_database()").replace('"', '""')
    literal = str(fresh).replace("'", "''")
    con.execute("CHECKPOINT")
    con.execute(f"ATTACH '{literal}' AS rewritten")
    try:
        con.execute(f'COPY FROM DATABASE "{name}" TO rewritten')
    finally:
        con.execute("DETACH rewritten")
    os.replace(fresh, path)


def one_row(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> tuple:
    """The row of a query that returns exactly one (an aggregate without GROUP BY always does).

    Fetched to the end, so the connection holds no unfinished result (DuckDB refuses, e.g.,
    `register` on a connection that still does)."""
    rows = con.execute(sql, params).fetchall()
    if len(rows) != 1:
        raise LookupError(f"{len(rows)} rows from a query that always returns one: {sql[:80]}")
    return rows[0]


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> Any:
    """The single value of a one-row, one-column query (a count, a max ...)."""
    return one_row(con, sql, params)[0]


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per canonical table, for summaries."""
    return {t: scalar(con, f'SELECT count(*) FROM "{t}"') for t in DATA_TABLES}


def latest_activity(con: duckdb.DuckDBPyConnection, not_after: dt.date | None = None) -> dt.date | None:
    """The date of the newest imported activity, on or before `not_after` when given (None in an
    empty database)."""
    days = [f'"{TABLES[t].time}"::DATE' for t in ACTIVITY_TABLES]
    union = " UNION ALL ".join(
        f'SELECT max({day}) AS d FROM "{t}" WHERE $not_after IS NULL OR {day} <= $not_after'
        for t, day in zip(ACTIVITY_TABLES, days)
    )
    return scalar(con, f"SELECT max(d) FROM ({union})", {"not_after": not_after})


def default_as_of(con: duckdb.DuckDBPyConnection, today: dt.date | None = None) -> dt.date:
    """The one rule for a report's date when none is given: the last complete day not after
    `today` (the client's local date; None: this machine's), so a report describes the data the
    client actually sent. That is the newest imported activity, but never today itself (an
    unfinished day: then yesterday), and rows dated after today (a mistyped year) never move it
    (onboarding's data quality reports them); yesterday in a database without activity. Called
    only where `as_of` enters (a notebook's `open_context`, the renderer), never in analytics."""
    today = today or dt.date.today()
    yesterday = today - dt.timedelta(days=1)
    newest = latest_activity(con, not_after=today)
    return min(newest, yesterday) if newest else yesterday


def once_per_read_only(func: Callable[..., T]) -> Callable[..., T]:
    """Decorator for `func(con, *hashable_args)`: on a read-only connection, whose data cannot
    change, the result is computed once per connection and arguments and then shared (callers
    copy it before changing it); on a writable one it is computed every time."""
    cached = functools.lru_cache(maxsize=128)(func)

    @functools.wraps(func)
    def wrapper(con: duckdb.DuckDBPyConnection, *args) -> T:
        read_only = scalar(con, "SELECT current_setting('access_mode') = 'read_only'")
        return (cached if read_only else func)(con, *args)

    return wrapper
