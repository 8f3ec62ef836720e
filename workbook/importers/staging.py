"""Staging one export in a private in-memory DuckDB: read, pseudonymize, parse, validate, shape.

Raw identifiers live only in this connection (and, for files too big for its memory cap, in
its spill files in a private temporary folder deleted when staging ends): distinct
emails/phones/ids/names are hashed (HMAC, `privacy.Pseudonymizer`; in SQL for printable ASCII,
else in Python) and joined back as `customer_id`; only canonical rows leave (as Arrow tables).
Parsing and validation are set-based SQL; a validation query finds the first bad row and the
message names file, row, line, column, value and the fix. What imports but deserves a look is
said in `warnings` (may be wrong: future dates, invalid e-mails, other currencies) and `notes`
(how the file was read: encoding, ignored columns, skipped copies; zero-total orders, refunds),
each naming the first few lines and a count.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from workbook.importers import parsing, workdir
from workbook.importers.errors import ImportError_, at_row, shorten
from workbook.importers.mapping import Mapping, table_columns
from workbook.importers.reading import RawFile, q
from workbook.store.privacy import Pseudonymizer, normalize
from workbook.store.schema import NATURAL_KEYS

SQL_TYPES = {
    "text": "VARCHAR",
    "id": "VARCHAR",
    "money": "DECIMAL(18,2)",
    "number": "DOUBLE",
    "int": "BIGINT",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "time": "TIME",
    "stars": "DOUBLE",
}
PARSED = {"money", "number", "int", "bool", "timestamp", "date", "time", "stars"}
# Staging memory cap: beyond it DuckDB spills to disk. Uncapped, a 5M-order Shopify export
# peaked at 7.2 GB; capped at 2 GB, 3.5 GB in about 7% more time (bench/README.md).
STAGING_MEMORY_LIMIT = "2GB"
_COUNTS = "counts and money of a campaign cannot be negative"
RANGES: dict[tuple[str, str], tuple[float | None, float | None, str]] = {
    ("feedback", "nps"): (0, 10, "NPS answers are 0 to 10"),
    ("feedback", "ces"): (1, 7, "customer effort scores are 1 to 7"),
    ("feedback", "csat"): (1, 5, "satisfaction scores are 1 to 5"),
    ("feedback", "rating"): (1, 5, "star ratings are 1 to 5"),
    ("spend", "amount"): (
        0,
        None,
        "ad spend cannot be negative; enter credits as a separate row with a note instead",
    ),
    ("campaigns", "cost"): (0, None, "a campaign's cost cannot be negative"),
    ("campaign_sends", "revenue"): (0, None, "revenue of a send cannot be negative"),
    **{
        ("campaign_results", c): (0, None, _COUNTS)
        for c in (
            "recipients",
            "delivered",
            "opens",
            "clicks",
            "orders",
            "revenue",
            "unsubscribes",
            "bounces",
            "spam_complaints",
        )
    },
    **{
        ("web_sessions", c): (0, None, "traffic counts and revenue cannot be negative")
        for c in ("sessions", "engaged_sessions", "key_events", "revenue")
    },
}
FUTURE_SLACK = dt.timedelta(days=1)
FIRST_FEW = 5  # lines (or columns) a warning or note names before "and N more"
# A usable e-mail: something@domain.tld, no spaces. Others are not an identity: the row falls
# back to the mapping's next identity column (the same test in SQL and in `_hash`).
EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"


@dataclass
class Output:
    """One canonical table produced from the typed rows.

    `sql` selects canonical columns (and may refer to `typed` and earlier outputs as
    `out_<table>`). `key_rows` selects (key..., _row) when each key must come from one row of
    the file; `key_fields` names the fields behind those keys (for the message).
    """

    table: str
    sql: str
    key_rows: str | None = None
    key_fields: Sequence[str] = ()


@dataclass
class Staged:
    rows: int
    tables: dict[str, pa.Table]
    warnings: list[str]
    notes: list[str]


class Stage:
    """One file being staged; transforms read `typed` through it."""

    def __init__(
        self,
        raw: RawFile,
        mapping: Mapping,
        client_tz: str,
        pseudonymizer: Pseudonymizer,
        currency: str | None = None,
        on_rows: Callable[[int], None] | None = None,
    ):
        self.raw, self.mapping, self.client_tz = raw, mapping, client_tz
        self.currency, self.on_rows = currency, on_rows
        self.pseudonymizer = pseudonymizer
        self._spill = workdir.make("stage")
        self.con = duckdb.connect(
            config={"memory_limit": STAGING_MEMORY_LIMIT, "temp_directory": str(self._spill)}
        )
        self.params = {**parsing.format_params(mapping.format, client_tz), "source": mapping.name}
        self.headers: dict[str, str] = {}  # field -> source header used
        self.warnings: list[str] = []
        self.notes: list[str] = list(raw.notes)
        self.rows = 0

    # -- helpers for transforms -------------------------------------------------------------
    def has(self, name: str) -> bool:
        return name in self.headers

    def header(self, name: str) -> str:
        return self.headers.get(name, name)

    def where(self, row: int) -> str:
        return at_row(self.raw.name, row, self.raw.line_of(row), self.raw.unit)

    def places(self, rows: Sequence[int], total: int) -> str:
        """'lines 14, 15, 22 and 3 more': where the first few of `total` rows start in the file
        (sheet rows for .xlsx, data rows when the format has no lines)."""
        shown = list(rows[:FIRST_FEW])
        lines = [self.raw.line_of(r) for r in shown]
        unit, numbers = (self.raw.unit, lines) if all(lines) else ("row", shown)
        more = f" and {total - len(shown):,} more" if total > len(shown) else ""
        return f"{unit}{'s' if total > 1 else ''} {', '.join(str(n) for n in numbers)}{more}"

    def value(self, name: str, row: int) -> str | None:
        column = f"__raw_{name}" if self.mapping.type_of(name) in PARSED else name
        got = self.con.execute(f"SELECT {q(column)} FROM typed WHERE _row = $row", {"row": row}).fetchall()
        return got[0][0] if got else None

    def execute(self, sql: str, params: dict | None = None) -> duckdb.DuckDBPyConnection:
        """Run SQL with the bound parameters it names ($name), from the stage's and `params`."""
        pool = {**self.params, **(params or {})}
        names = set(re.findall(r"\$([a-z_][a-z0-9_]*)", sql))
        return self.con.execute(sql, {n: pool[n] for n in names})

    def first(self, sql: str, params: dict | None = None):
        return self.execute(sql, params).fetchall()[0]

    # -- the steps ------------------------------------------------------------------------------
    def run(self) -> Staged:
        try:
            self._resolve()
            self.rows = self.raw.load(self.con, self._wanted())
            if self.rows == 0:
                raise ImportError_(
                    f"{self.raw.name} has a header but no data rows: nothing to "
                    f"import. Check the export's date range and export it again."
                )
            if self.on_rows:
                self.on_rows(self.rows)
            self._pseudonymize()
            self._parse()
            self._validate()
            outputs = (self.mapping.transform or default_transform)(self)
            tables = self._materialize(outputs)
            self._future_warnings()
            self._currency_warning()
            self._email_warning()
            self._order_notes()
            return Staged(self.rows, tables, self.warnings, self.notes)
        finally:
            self.con.close()
            shutil.rmtree(self._spill)

    def _resolve(self) -> None:
        """Match headers by name (case and spacing ignored); name the missing required ones."""
        present = {_norm(h): h for h in self.raw.headers}
        for header, name in self.mapping.columns.items():
            if name not in self.headers and _norm(header) in present:
                self.headers[name] = present[_norm(header)]
        self.identity = []
        for spec in self.mapping.identity:
            cols = [present[_norm(c)] for c in spec.columns if _norm(c) in present]
            if cols:
                self.identity.append((spec, cols))
        missing = [f for f in self.mapping.required_fields() if f not in self.headers]
        if missing:
            wanted = "; ".join(
                " or ".join(repr(h) for h, f in self.mapping.columns.items() if f == m) or repr(m)
                for m in missing
            )
            raise ImportError_(
                f"{self.raw.name} lacks required column(s): {wanted} (for "
                f"{', '.join(missing)}). Its columns are: {shorten(', '.join(self.raw.headers), 300)}. "
                f"Check that this is a {self.mapping.name} export, or map its columns with a "
                f"mapping file."
            )
        if self.mapping.needs_identity() and not self.identity:
            names = ", ".join(repr(c) for s in self.mapping.identity for c in s.columns)
            raise ImportError_(
                f"{self.raw.name} has no column to identify people (expected one "
                f"of {names or 'an identity column in the mapping'}). Add it to "
                f"the export or to the mapping's identity list."
            )

    def note_unused(self) -> None:
        """A note counting the file's columns the mapping does not read, naming the first few
        (for mapping files: a column the consultant forgot to map)."""
        used = set(self._wanted())
        if unused := [h for h in self.raw.headers if h not in used]:
            first = ", ".join(repr(shorten(h, 30)) for h in unused[:FIRST_FEW])
            more = f" and {len(unused) - FIRST_FEW:,} more" if len(unused) > FIRST_FEW else ""
            self.notes.append(
                f"{len(unused):,} column{'s' if len(unused) > 1 else ''} not used by {self.mapping.name} "
                f"(ignored): {first}{more}"
            )

    def _wanted(self) -> list[str]:
        cols = list(self.headers.values()) + [c for _, cols in self.identity for c in cols]
        return list(dict.fromkeys(cols))

    def _pseudonymize(self) -> None:
        """Pseudonyms of each DISTINCT identifier, joined back as customer_id (first wins).

        Values of printable ASCII are normalized and HMAC'd in DuckDB (`_pseudonym_sql`, the
        same pseudonyms as `Pseudonymizer`); the others (accents, other scripts, control
        characters) in Python, whose Unicode case folding and whitespace rules SQL lacks."""
        joins: list[str] = []
        ids: list[str] = []
        for i, (spec, cols) in enumerate(self.identity):
            if spec.kind == "name":
                expr = parsing.text(f"concat_ws(' ', {', '.join(f'r.{q(c)}' for c in cols)})")
            else:
                expr = (parsing.ident if spec.kind in ("phone", "id") else parsing.text)(f"r.{q(cols[0])}")
            # only rows that no earlier (stronger) identifier named need this one
            unnamed = f"coalesce({', '.join(ids)}) IS NULL AND " if ids else ""
            ignore = sorted({v.casefold() for v in spec.ignore})
            pseudonym, params = self._pseudonym_sql(spec.kind)
            self.con.execute(
                f"CREATE TABLE ids_{i} AS SELECT v, CASE WHEN regexp_full_match(v, '[ -~]*') "
                f"THEN {pseudonym} END AS cid FROM (SELECT DISTINCT {expr} AS v FROM raw r "
                f"{' '.join(joins)} WHERE {unnamed}{expr} IS NOT NULL)",
                {**params, "ignore": ignore, **{k: self.params[k] for k in ("missing", "missing_length")}},
            )
            others = [
                v
                for (v,) in self.con.execute(
                    f"SELECT v FROM ids_{i} WHERE NOT regexp_full_match(v, '[ -~]*')"
                ).fetchall()
            ]
            if others:
                hashed = [self._hash(spec.kind, v, set(ignore)) for v in others]
                self.con.register(
                    "ids_python",
                    pa.table({"v": pa.array(others, pa.string()), "cid": pa.array(hashed, pa.string())}),
                )
                self.con.execute(f"UPDATE ids_{i} SET cid = p.cid FROM ids_python p WHERE ids_{i}.v = p.v")
                self.con.unregister("ids_python")
            joins.append(f"LEFT JOIN ids_{i} ON ids_{i}.v = {expr}")
            ids.append(f"ids_{i}.cid")
        self._id_joins = " ".join(joins)
        self._customer_id = (
            f"coalesce({', '.join(ids)})" if len(ids) > 1 else ids[0] if ids else "CAST(NULL AS VARCHAR)"
        )

    def _pseudonym_sql(self, kind: str) -> tuple[str, dict]:
        """`_hash` for a printable-ASCII value `v` as SQL (there, strip() and casefold() are
        trim() and lower(), and whitespace is the space): NULL for ignored or empty values and
        emails without '@', else the HMAC of "kind:normalized". Returns it and its parameters
        but $ignore: the HMAC pads, and $prefix (the source) for ids."""
        normalized = {
            "email": "lower(trim(v))",
            "phone": "ltrim(regexp_replace(v, '[^0-9]', '', 'g'), '0')",
            "name": "regexp_replace(lower(trim(v)), ' +', ' ', 'g')",
            "id": "$prefix || rtrim(v)",  # normalize("id", prefix + v): only v's end can strip
        }[kind]
        empty = "trim(v) = ''" if kind == "id" else f"{normalized} = ''"
        hmac_sql, pads = self.pseudonymizer.sql(f"'{kind}:' || {normalized}")
        invalid = " OR NOT regexp_full_match(v, $email)" if kind == "email" else ""
        extra = {"prefix": f"{self.mapping.name.split('-')[0]}:"} if kind == "id" else {}
        if kind == "email":
            extra["email"] = EMAIL
        return (
            f"CASE WHEN lower(v) IN (SELECT unnest($ignore::VARCHAR[])) OR {empty}{invalid} "
            f"THEN NULL ELSE {hmac_sql} END"
        ), {**pads, **extra}

    def _hash(self, kind: str, value: str, ignore: set[str]) -> str | None:
        if value.casefold() in ignore or not normalize(kind, value):
            return None
        if kind == "email" and not re.fullmatch(EMAIL, value.strip()):
            return None
        return self.pseudonymizer(
            kind, f"{self.mapping.name.split('-')[0]}:{value}" if kind == "id" else value
        )

    def _parse(self) -> None:
        inner = ["r.rowid + 1 AS _row", f"{self._customer_id} AS customer_id"]
        for name in self.mapping.fields():
            kind = self.mapping.type_of(name)
            if name not in self.headers:
                continue
            src = f"r.{q(self.headers[name])}"
            text = parsing.ident(src) if kind == "id" or name.endswith("_id") else parsing.text(src)
            if kind in PARSED:
                inner.append(f"{text} AS {q('__raw_' + name)}")
            else:
                inner.append(f"{text} AS {q(name)}")
        source = f"(SELECT {', '.join(inner)} FROM raw r {self._id_joins}) typed_src"
        outer = ["_row", "customer_id"]
        converts = bool(self.mapping.format.timezone) and self.mapping.format.timezone != self.client_tz
        for name in dict.fromkeys(self.mapping.fields() + list(self.mapping.defaults)):
            kind = self.mapping.type_of(name)
            sql_type = self._sql_type(name)
            default = self.mapping.defaults.get(name)
            if name not in self.headers:
                expr = "NULL"
            elif kind not in PARSED:
                expr = q(name)
            else:
                raw = q("__raw_" + name)
                outer.append(raw)
                if kind in ("money", "number", "int"):
                    expr = parsing.number(raw, sql_type, self.mapping.format, allow_exponent=kind == "number")
                elif kind == "bool":
                    expr = parsing.boolean(raw)
                elif kind == "stars":
                    expr = parsing.stars(raw)
                elif kind == "time":
                    expr = parsing.time_of_day(raw)
                else:
                    order = None if self.mapping.format.date else self._day_order(name)
                    expr = parsing.timestamp(raw, self.mapping.format, order, converts)
            if default is not None:
                self.params[f"default_{name}"] = default
                expr = (
                    f"coalesce({expr}, ${'default_' + name})" if expr != "NULL" else f"${'default_' + name}"
                )
            outer.append(f"CAST({expr} AS {sql_type}) AS {q(name)}")
        self._run(f"CREATE TABLE typed AS SELECT {', '.join(outer)} FROM {source}", what="defaults")

    def _sql_type(self, name: str) -> str:
        cols = table_columns()[self.mapping.table]
        kind = self.mapping.type_of(name)
        if name in cols and name not in self.mapping.types:
            return cols[name][0]
        return SQL_TYPES[kind]

    def _run(self, sql: str, what: str) -> None:
        try:
            self.execute(sql)
        except duckdb.ConversionException as err:
            raise ImportError_(
                f"{self.raw.name}: a value in the mapping's {what} does not fit its "
                f"column ({err}). Fix the mapping file."
            ) from err

    def _day_order(self, name: str) -> str | None:
        """'dmy' or 'mdy' for a column of d/m/y-like dates, decided from all its values.

        A value whose first number is > 12 proves day-first (25/03/2025), second > 12 proves
        month-first. If no value decides and some value would read differently each way
        (03/04/2025), the column is ambiguous: an error asking for format.date in a mapping.
        """
        parts = parsing.slash_parts_query(q(self.headers[name]))
        a12, b12, both, amb = self.execute(
            f"SELECT arg_min(_row, _row) FILTER (a > 12), arg_min(_row, _row) FILTER (b > 12), "
            f"count(*), arg_min(_row, _row) FILTER (a <> b) FROM ({parts})"
        ).fetchall()[0]
        if not both:
            return None
        header = self.header(name)
        if a12 and b12:
            raise ImportError_(
                f"{self.raw.name}, column {header!r} mixes day-first and month-first dates: "
                f"{self.where(a12)} has {self._raw_at(name, a12)!r} but {self.where(b12)} has "
                f"{self._raw_at(name, b12)!r}. Fix the dates so they use one order, then import again."
            )
        if a12:
            return "dmy"
        if b12:
            return "mdy"
        if amb is None:
            return "dmy"  # every value reads the same either way (e.g. 01/01/2025)
        value = self._raw_at(name, amb)
        return self._ambiguous(header, amb, value)

    def _ambiguous(self, header: str, row: int, value: str) -> str:
        raise ImportError_(
            f"{self.where(row)}, column {header!r}: the date {value!r} could be day/month or "
            f"month/day, and no date in the column has a day above 12 to tell. Import with a "
            f'mapping file that says which: format: {{date: "%d/%m/%Y"}} (day first) or '
            f'format: {{date: "%m/%d/%Y"}} (month first; add " %H:%M" if there is a time).'
        )

    def _raw_at(self, name: str, row: int) -> str:
        return self.first(
            f"SELECT {parsing.text(q(self.headers[name]))} FROM raw WHERE rowid = $rowid", {"rowid": row - 1}
        )[0]

    def _validate(self) -> None:
        """Find the first row breaking any rule, in one scan, and explain it."""
        checks: list[tuple[str, str, str]] = []  # (condition, field, problem kind)
        table = self.mapping.table
        for name in self.mapping.fields():
            if name not in self.headers:
                continue
            kind = self.mapping.type_of(name)
            raw = q("__raw_" + name)
            if kind in PARSED:
                checks.append((f"{raw} IS NOT NULL AND {q(name)} IS NULL", name, kind))
            if name in self.mapping.required_fields() and name not in self.mapping.may_be_blank:
                checks.append((f"{q(name)} IS NULL", name, "empty"))
            bounds = RANGES.get((table, name))
            if bounds:
                lo, hi, _ = bounds
                cond = " OR ".join(
                    ([f"{q(name)} < {lo}"] if lo is not None else [])
                    + ([f"{q(name)} > {hi}"] if hi is not None else [])
                )
                checks.append((f"({cond})", name, "range"))
        if self.mapping.needs_identity():
            checks.append(("customer_id IS NULL", "customer_id", "identity"))
        if not checks:
            return
        cases = " ".join(f"WHEN {c} THEN {i}" for i, (c, _, _) in enumerate(checks))
        bad = self.con.execute(
            f"SELECT _row, k FROM (SELECT _row, CASE {cases} END AS k FROM typed) "
            f"WHERE k IS NOT NULL ORDER BY _row LIMIT 1"
        ).fetchall()
        if bad:
            row, k = bad[0]
            _, name, problem = checks[k]
            raise ImportError_(self._problem(row, name, problem))

    def _problem(self, row: int, name: str, problem: str) -> str:
        where, header = self.where(row), self.header(name)
        if problem == "identity":
            cols = ", ".join(repr(c) for _, cols in self.identity for c in cols)
            return (
                f"{where}: no value in {cols} to identify the person, and every "
                f"{self.mapping.table} row needs one. Fill one in or remove the row."
            )
        if problem == "empty":
            return (
                f"{where}, column {header!r} is empty, but every row needs it ({name}). "
                f"Fill it in or remove the row, then import again."
            )
        value = self.value(name, row)
        at = f"{where}, column {header!r}: {shorten(value)!r}"
        fmt = self.mapping.format
        if problem == "range":
            lo, hi, why = RANGES[(self.mapping.table, name)]
            limits = f"{lo} to {hi}" if hi is not None else f"{lo} or more"
            return f"{at} is out of range (allowed: {limits}; {why}). Fix the value, then import again."
        if problem in ("money", "number", "int"):
            whole = "a whole number" if problem == "int" else "a number"
            return (
                f"{at} is not {whole}. Numbers must look like 1234.56 or "
                f"1{fmt.thousands}234{fmt.decimal}56 (currency symbols "
                f"{' '.join(fmt.currency_symbols)} and (parentheses) for negatives are fine); "
                f"for a decimal comma import with a mapping file that sets "
                f'format: {{decimal: ",", thousands: "."}}, or fix the value.'
            )
        if problem in ("timestamp", "date"):
            if fmt.date:
                return (
                    f"{at} does not match the date format {' or '.join(fmt.date)} given in the "
                    f"mapping. Fix the value or the mapping's format.date."
                )
            return (
                f"{at} is not a date we can read. Use ISO dates like 2025-12-06 or "
                f"2025-12-06 10:37:33 -0500, or import with a mapping file that gives the "
                f'layout, e.g. format: {{date: "%d.%m.%Y %H:%M"}} (strptime codes).'
            )
        if problem == "bool":
            return f"{at} is not yes/no (use one of: {', '.join(parsing.TRUE + parsing.FALSE)})."
        if problem == "time":
            return f"{at} is not a time of day (use 13:05, 13:05:59 or 1:05 PM)."
        return f"{at} is not a star rating (use ONE..FIVE or 1 to 5)."

    def _materialize(self, outputs: list[Output]) -> dict[str, pa.Table]:
        tables: dict[str, pa.Table] = {}
        for out in outputs:
            if out.key_rows:
                self._check_duplicates(out)
            self.execute(f"CREATE TABLE out_{out.table} AS {out.sql}")
            schema = table_columns()[out.table]
            have = [c for c in self.con.sql(f"SELECT * FROM out_{out.table} LIMIT 0").columns if c in schema]
            keys = [k for k in NATURAL_KEYS[out.table] if k not in have]  # absent keys are NULL
            select = ", ".join(
                [f"CAST({q(c)} AS {schema[c][0]}) AS {q(c)}" for c in have]
                + [f"CAST(NULL AS {schema[k][0]}) AS {q(k)}" for k in keys]
            )
            arrow = self.con.sql(f"SELECT {select} FROM out_{out.table}").to_arrow_table()
            if out.table == "customers":
                keys = [Pseudonymizer.display_key(c) for c in arrow.column("customer_id").to_pylist()]
                arrow = arrow.append_column("customer_key", pa.array(keys, pa.string()))
            tables[out.table] = arrow
        return tables

    def _check_duplicates(self, out: Output) -> None:
        keys = ", ".join(q(f) for f in out.key_fields)
        dup = self.execute(
            f"SELECT {keys}, list(_row ORDER BY _row)[1:2] FROM ({out.key_rows}) "
            f"GROUP BY ALL HAVING count(*) > 1 ORDER BY min(_row) LIMIT 1"
        ).fetchall()
        if dup:
            values, (r1, r2) = dup[0][:-1], dup[0][-1]
            cols = ", ".join(repr(self.header(f)) for f in out.key_fields if f in self.headers)
            shown = ", ".join(
                self._person(r1, r2) if f == "customer_id" else repr(v)
                for f, v in zip(out.key_fields, values)
            )
            # the same person: `_person` showed the identifiers; else say what tells them apart
            differ = "" if "customer_id" in out.key_fields else self._difference(r1, r2)
            raise ImportError_(
                f"{self.where(r1)} and {at_row(None, r2, self.raw.line_of(r2), self.raw.unit)} "
                f"have the same {out.table} key {shown}{f' (column {cols})' if cols else ''}{differ}: "
                f"each must appear once in a file. Remove the wrong row (or fix its key), then "
                f"import again."
            )

    def _difference(self, r1: int, r2: int) -> str:
        """'; they differ in 'Total' ('45.00' and '46.00')': the first column read where two rows
        differ (empty when they differ in none)."""
        a, b = (
            self.con.execute("SELECT * FROM raw WHERE rowid = $rowid", {"rowid": r - 1}).fetchall()[0]
            for r in (r1, r2)
        )
        columns = self.con.sql("SELECT * FROM raw LIMIT 0").columns
        for column, x, y in zip(columns, a, b):
            if x != y:
                return f"; they differ in {column!r} ({shorten(x)!r} and {shorten(y)!r})"
        return ""

    def drop_copies(self) -> None:
        """Rows that repeat an earlier row in every column read are one record exported twice
        (for files of one row per record): the first is kept, the others leave `typed`, and a
        note names their lines."""
        cols = ", ".join(q(c) for c in self.con.sql("SELECT * FROM raw LIMIT 0").columns)
        self.con.execute(
            f"CREATE TABLE copies AS SELECT _row FROM (SELECT rowid + 1 AS _row, row_number() "
            f"OVER (PARTITION BY {cols} ORDER BY rowid) AS n FROM raw) WHERE n > 1"
        )
        n, rows = self.first(f"SELECT count(*), list(_row ORDER BY _row)[1:{FIRST_FEW}] FROM copies")
        if n:
            self.con.execute("DELETE FROM typed WHERE _row IN (SELECT _row FROM copies)")
            self.notes.append(
                f"{n:,} row{'s' if n > 1 else ''} repeating an earlier row exactly, imported once "
                f"(skipped: {self.places(rows, n)})"
            )

    def _person(self, r1: int, r2: int) -> str:
        """Which identifier made two rows the same person (shown in the message, never stored)."""
        for _, cols in self.identity:
            pair = [
                self.con.execute(
                    f"SELECT concat_ws(' ', {', '.join(q(c) for c in cols)}) FROM raw WHERE rowid = $rowid",
                    {"rowid": r - 1},
                ).fetchall()[0][0]
                for r in (r1, r2)
            ]
            if all(v and v.strip() for v in pair):
                return f"(the same person: {' + '.join(cols)} {pair[0]!r} and {pair[1]!r})"
        return "(the same person)"

    def _currency_warning(self) -> None:
        """Money is stored in the client's currency: rows in another one (by a currency column,
        or a code beside an amount: 45.00 EUR) are flagged."""
        if not self.currency:
            return
        checks = [("currency", "upper(currency)")] if self.has("currency") else []
        code = f"^{parsing.CODE}|{parsing.CODE}$"
        checks += [
            (name, f"regexp_extract({q('__raw_' + name)}, '{code}')")
            for name in self.mapping.fields()
            if self.has(name) and self.mapping.type_of(name) == "money"
        ]
        if not checks:
            return
        other = [f"NULLIF({found}, '') <> $currency" for _, found in checks]
        found = self.first(  # one scan for all the columns, rows only where there are some
            f"SELECT {', '.join(f'list(_row ORDER BY _row) FILTER ({o})[1:{FIRST_FEW}]' for o in other)}, "
            f"{', '.join(f'count(*) FILTER ({o})' for o in other)} FROM typed",
            {"currency": self.currency.upper()},
        )
        for (name, _), rows, n in zip(checks, found[: len(checks)], found[len(checks) :]):
            if n:
                self.warnings.append(
                    f"{n:,} row{'s' if n > 1 else ''} in another currency than the client's "
                    f"{self.currency} by {self.header(name)!r} ({self.places(rows, n)}; first: "
                    f"{self.value(name, rows[0])!r}): their amounts were imported as they are. "
                    f"Convert them, or check the client's currency in client.toml."
                )

    def _future_warnings(self) -> None:
        now = dt.datetime.now(ZoneInfo(self.client_tz)).replace(tzinfo=None) + FUTURE_SLACK
        for name in self.mapping.fields():
            if name in self.headers and self.mapping.type_of(name) in ("timestamp", "date"):
                n, rows = self.first(
                    f"SELECT count(*), list(_row ORDER BY _row)[1:{FIRST_FEW}] FROM typed "
                    f"WHERE {q(name)} > $now",
                    {"now": now},
                )
                if n:
                    self.warnings.append(
                        f"{n:,} row{'s' if n > 1 else ''} with {self.header(name)!r} in the future "
                        f"({self.places(rows, n)}; first: {self.value(name, rows[0])!r}): imported "
                        f"as they are. Check the export's dates and the client's timezone "
                        f"({self.client_tz})."
                    )

    def _email_warning(self) -> None:
        """Rows whose e-mail is filled in but not an e-mail address: imported, the person
        identified by the mapping's next identity column (or nobody)."""
        for i, (spec, cols) in enumerate(self.identity):
            if spec.kind != "email":
                continue
            # the distinct values `_pseudonymize` gave no pseudonym (cheap: most files have none)
            bad = f"SELECT v FROM ids_{i} WHERE cid IS NULL AND lower(v) NOT IN (SELECT unnest($ignore::VARCHAR[]))"
            ignore = {"ignore": sorted({v.casefold() for v in spec.ignore})}
            if not self.con.execute(f"{bad} LIMIT 1", ignore).fetchall():
                continue
            value = parsing.text(f"r.{q(cols[0])}")
            n, rows, first, nobody = self.first(
                f"SELECT count(*), list(_row ORDER BY _row)[1:{FIRST_FEW}], min_by({value}, _row), "
                f"count(*) FILTER (t.customer_id IS NULL) FROM raw r JOIN typed t ON t._row = r.rowid + 1 "
                f"WHERE {value} IN ({bad})",
                ignore,
            )
            if not n:
                continue
            after = [c for _, later in self.identity[i + 1 :] for c in later]
            instead = (
                f"identified by {' or '.join(repr(c) for c in after)} instead" if after else "no customer"
            )
            self.warnings.append(
                f"{n:,} row{'s' if n > 1 else ''} with an e-mail in {cols[0]!r} that is not valid "
                f"({self.places(rows, n)}; first: {shorten(first)!r}): imported, {instead}"
                + (
                    f"; {nobody:,} of them with nothing else to identify them, without a customer"
                    if after and nobody
                    else ""
                )
                + ". Fix the addresses in the source if they matter."
            )

    def _order_notes(self) -> None:
        """Orders worth a look though they import: a total of 0 that the export does not explain
        (not cancelled, nothing refunded: such an order counts as a purchase, docs/definitions.md),
        and refunds (a negative total)."""
        if not self.con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'out_orders'").fetchall():
            return
        columns = set(self.con.sql("SELECT * FROM out_orders LIMIT 0").columns)
        place = "_row" if "_row" in columns else "order_id"  # presets' orders: named by id
        explained = [c for c in ("cancelled IS TRUE", "refunded > 0") if c.split()[0] in columns]
        zero = " AND NOT ".join(["revenue = 0", *(f"coalesce({c}, false)" for c in explained)])
        for condition, what, meaning in (
            (
                zero,
                "order{s} with a total of 0",
                "each counts as a purchase with no revenue; check they are not test orders or missing totals",
            ),
            ("revenue < 0", "refund{s}, a negative total", "they lower revenue and are not purchases"),
        ):
            n, firsts = self.first(
                f"SELECT count(*), list({place} ORDER BY {place})[1:{FIRST_FEW}] FROM out_orders "
                f"WHERE {condition}"
            )
            if n:
                where = self.places(firsts, n) if place == "_row" else f"first: {firsts[0]!r}"
                self.notes.append(
                    f"{n:,} {what.format(s='s' if n > 1 else '')} ({where}): imported; {meaning}"
                )


def _norm(header: str) -> str:
    return " ".join(header.replace("\ufeff", "").casefold().split())


def default_transform(stage: Stage) -> list[Output]:
    """A mapping file's rows go one-to-one into its table; keys must be unique in the file, but
    rows repeating another exactly are imported once. The columns it leaves unused are named
    (the consultant wrote the mapping: one may be forgotten; presets leave many by design)."""
    m = stage.mapping
    schema = table_columns()[m.table]
    cols = [c for c in schema if c != "import_id" and (c in stage.headers or c in m.defaults)]
    select = [q(c) for c in cols]
    if "customer_id" in schema and "customer_id" not in cols:
        select.append("customer_id")
    if "source" in schema and "source" not in cols:
        select.append("$source AS source")
    if m.table == "order_items" and "line_no" not in cols:
        select.append("row_number() OVER (PARTITION BY order_id ORDER BY _row) AS line_no")
    keys = NATURAL_KEYS[m.table]
    stage.note_unused()
    stage.drop_copies()
    outputs = [
        Output(
            m.table,
            f"SELECT {', '.join(select)}, _row FROM typed",
            key_rows=f"SELECT {', '.join(q(k) for k in keys)}, _row FROM typed"
            if set(keys) <= set(cols) | {"customer_id"}
            else None,
            key_fields=keys,
        )
    ]
    if m.table == "orders":
        outputs.append(customers_from_orders())
    return outputs


def customers_from_orders() -> Output:
    """Every buyer is a customer; first_seen_at is their first order (merged with older rows)."""
    return Output(
        "customers",
        "SELECT customer_id, min(ordered_at) AS first_seen_at, source "
        "FROM out_orders WHERE customer_id IS NOT NULL GROUP BY ALL",
    )
