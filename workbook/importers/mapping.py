"""The mapping structure: how a source's columns become canonical columns.

Presets and user mapping files (YAML, see docs/architecture.md "Mapping files") are both a
`Mapping`: source header -> field, identity columns, defaults and the file's formats. A field
named like a column of the target table takes that column's type; presets may add helper fields
with explicit `types` and a `transform` that turns the typed rows into canonical tables.
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import yaml

from workbook.core.dates import check_timezone
from workbook.importers.errors import ImportError_
from workbook.store.schema import DATA_TABLES, MIGRATIONS

if TYPE_CHECKING:
    from workbook.importers.staging import Output, Stage

IDENTITY_KINDS = ("email", "phone", "id", "name")
_SQL_TO_FIELD = {
    "VARCHAR": "text",
    "DOUBLE": "number",
    "INTEGER": "int",
    "BIGINT": "int",
    "BOOLEAN": "bool",
    "TIMESTAMP": "timestamp",
    "DATE": "date",
}


@functools.cache
def table_columns() -> dict[str, dict[str, tuple[str, bool]]]:
    """{table: {column: (SQL type, nullable)}} read from the schema itself (single source)."""
    con = duckdb.connect()
    try:
        for migration in MIGRATIONS:
            con.execute(migration)
        rows = con.execute(
            "SELECT table_name, column_name, data_type, is_nullable = 'YES' "
            "FROM information_schema.columns ORDER BY table_name, ordinal_position"
        ).fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, tuple[str, bool]]] = {}
    for table, column, sql_type, nullable in rows:
        out.setdefault(table, {})[column] = (sql_type, nullable)
    return out


def field_type(sql_type: str) -> str:
    return "money" if sql_type.startswith("DECIMAL") else _SQL_TO_FIELD[sql_type]


@dataclass
class Identity:
    """Source column(s) holding one kind of identifier; several columns are joined by a space."""

    columns: list[str]
    kind: str
    ignore: list[str] = field(default_factory=list)  # placeholder values, e.g. "A Google user"


MISSING = ["N/A", "NULL", "NaN", "-"]  # texts exports write for "no value" (any case; empty too)


@dataclass
class Format:
    date: list[str] = field(default_factory=list)  # strptime formats; empty: ISO 8601 and friends
    decimal: str = "."
    thousands: str = ","
    currency_symbols: list[str] = field(default_factory=lambda: ["$", "€", "£"])
    parentheses_negative: bool = True
    timezone: str | None = None  # zone of offset-less times, if not the client's
    missing: list[str] = field(default_factory=lambda: list(MISSING))  # values read as missing


@dataclass
class Mapping:
    name: str  # label in imports.source; namespace of ids
    table: str  # main canonical table
    columns: dict[str, str]  # source header -> field (aliases: same field)
    identity: list[Identity] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)
    format: Format = field(default_factory=Format)
    types: dict[str, str] = field(default_factory=dict)  # helper fields' types
    required: list[str] | None = None  # fields that must be present (None: derived)
    may_be_blank: list[str] = field(default_factory=list)  # required columns blank on some rows
    transform: Callable[[Stage], list[Output]] | None = None  # custom step (presets)
    description: str = ""

    def type_of(self, name: str) -> str:
        if name in self.types:
            return self.types[name]
        cols = table_columns()[self.table]
        if name in cols:
            return field_type(cols[name][0])
        for table in DATA_TABLES:
            if name in table_columns()[table]:
                return field_type(table_columns()[table][name][0])
        return "text"

    def fields(self) -> list[str]:
        return list(dict.fromkeys(self.columns.values()))

    def required_fields(self) -> list[str]:
        if self.required is not None:
            return self.required
        generated = {"customer_id", "customer_key", "import_id", "line_no", "source"}
        return [
            c
            for c, (_, nullable) in table_columns()[self.table].items()
            if not nullable and c not in generated and c not in self.defaults
        ]

    def needs_identity(self) -> bool:
        cols = table_columns()[self.table]
        return "customer_id" in cols and not cols["customer_id"][1]


def _read(path: Path) -> object:
    """The YAML data of a mapping file, which must be a UTF-8 text file."""
    if path.is_dir():
        raise ImportError_(
            f"{path} is a folder, not a mapping file. Give the path of the mapping .yaml inside it."
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImportError_(
            f"No mapping file {path}. Give a preset name or the path of a mapping .yaml file."
        ) from None
    except OSError as err:
        raise ImportError_(
            f"Mapping file {path} cannot be read ({err.strerror}). Check its permissions."
        ) from err
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        found = (
            "UTF-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "Latin-1 or Windows"
        )
        raise _fail(path, f"it is {found} text, not UTF-8; save it as UTF-8 in your editor") from err
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise _fail(path, f"it is not valid YAML ({' '.join(str(err).split())})") from err


def _texts(path: Path, key: str, value: object) -> list[str]:
    """A text or a list of texts (numbers count as text: YAML reads a header `2024` as one)."""
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values):
        raise _fail(path, f"{key} must be a text or a list of texts, not {value!r}")
    return [str(v) for v in values]


def _format(path: Path, data: object) -> Format:
    """The `format:` section, each key of the type its field takes, dates checked as strptime codes."""
    if not isinstance(data, dict):
        raise _fail(path, "'format' must map format keys to values (e.g. decimal: ',')")
    unknown = set(data) - set(Format.__dataclass_fields__)
    if unknown:
        raise _fail(
            path, f"unknown format keys {sorted(unknown)}; known: {', '.join(Format.__dataclass_fields__)}"
        )
    values: dict[str, Any] = dict(data)
    for key in ("date", "currency_symbols", "missing"):
        if key in values:
            values[key] = _texts(path, f"format.{key}", values[key])
    for key, kind in (
        ("decimal", str),
        ("thousands", str),
        ("parentheses_negative", bool),
        ("timezone", str),
    ):
        if key in values and not isinstance(values[key], kind):
            raise _fail(
                path,
                f"format.{key} must be {'true or false' if kind is bool else 'a text'}, not {values[key]!r}",
            )
    fmt = Format(**values)
    if len({("%z" in d or "%Z" in d) for d in fmt.date}) > 1:
        raise _fail(path, "date formats must all have an offset (%z) or all have none")
    probe = duckdb.connect()
    try:
        for code in fmt.date:
            try:
                probe.execute("SELECT try_strptime('', $code)", {"code": code})
            except duckdb.InvalidInputException as err:
                raise _fail(
                    path, f"format.date {code!r} is not a strptime format ({err}); e.g. '%d/%m/%Y %H:%M'"
                ) from err
    finally:
        probe.close()
    if fmt.timezone is not None:
        check_timezone(fmt.timezone, f"Mapping file {path.name}, format.timezone")
    return fmt


def _fail(path: Path, what: str) -> ImportError_:
    return ImportError_(
        f"Mapping file {path.name}: {what}. The format is described in docs/importing.md ('Mapping files')."
    )


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping .yaml; every mistake names the key and the accepted values."""
    data = _read(path)
    if not isinstance(data, dict):
        raise _fail(path, "it must be a YAML mapping with name, table and columns")
    tables = table_columns()
    table = data.get("table")
    if not isinstance(table, str) or table not in DATA_TABLES:
        raise _fail(path, f"'table: {table}' is not a canonical table; use one of {', '.join(DATA_TABLES)}")
    columns = data.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise _fail(
            path, "'columns' must map source headers to canonical columns (header: column, one a line)"
        )
    for header, target in columns.items():
        if target in ("customer_id", "customer_key", "import_id"):
            raise _fail(
                path,
                f"column {header!r} cannot map to {target!r}: people are identified "
                f"through 'identity' (e.g. identity: [{{column: {header}, kind: id}}]), "
                f"which stores a pseudonym, never the raw value",
            )
        if not isinstance(target, str) or target not in tables[table]:
            raise _fail(
                path,
                f"column {header!r} maps to {target!r}, which is not a column of "
                f"{table} ({', '.join(c for c in tables[table] if c != 'import_id')})",
            )
    identity = []
    entries = data.get("identity") or []
    for entry in entries if isinstance(entries, list) else [entries]:
        if (
            not isinstance(entry, dict)
            or entry.get("kind") not in IDENTITY_KINDS
            or not (entry.get("column") or entry.get("columns"))
        ):
            raise _fail(
                path, f"identity entry {entry!r} needs a column and a kind ({', '.join(IDENTITY_KINDS)})"
            )
        cols = _texts(path, "identity columns", entry.get("columns") or entry["column"])
        identity.append(
            Identity(cols, entry["kind"], _texts(path, "identity ignore", entry.get("ignore") or []))
        )
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise _fail(path, "'defaults' must map canonical columns to values (column: value, one a line)")
    for column in defaults:
        if column not in tables[table]:
            raise _fail(path, f"default for {column!r}, which is not a column of {table}")
    fmt = _format(path, data.get("format") or {})
    name = str(data.get("name") or path.stem)
    return Mapping(
        name=name,
        table=table,
        columns={str(k): str(v) for k, v in columns.items()},
        identity=identity,
        defaults=defaults,
        format=fmt,
        description=f"mapping file {path.name}",
    )
