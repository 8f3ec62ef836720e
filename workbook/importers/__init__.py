"""Importing exports into a client's database: presets, mapping files, validation, loading.

`import_files(slug, files, source)` imports each file on its own, all or nothing: the file is
read, pseudonymized, parsed and validated in a private in-memory DuckDB (`staging`), then its
canonical rows are upserted by natural key (`loading`) in one transaction of the client's
database, with an `imports` row holding the file's sha256 (a second import of the same bytes
changes nothing and says so, unless `replace`: then the rows its earlier imports wrote are
deleted and the file imported anew in that same transaction, for a file a corrected mapping reads
differently). `PRESETS` lists the built-in sources.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path

from workbook import store
from workbook.importers.errors import ImportError_
from workbook.importers.loading import NATURAL_KEYS, skip_forgotten, upsert
from workbook.importers.mapping import Mapping, load_mapping
from workbook.importers.presets import PRESETS, better_preset
from workbook.importers.reading import open_export, q
from workbook.importers.staging import Stage
from workbook.importers.workdir import private_workdir, remove_stale
from workbook.store.clients import Client, load_client
from workbook.store.privacy import Pseudonymizer, pseudonymizer
from workbook.store.schema import DATA_TABLES

__all__ = ["NATURAL_KEYS", "PRESETS", "ImportError_", "ImportResult", "import_files", "resolve_source"]

PROGRESS_ROWS = 100_000


@dataclass
class ImportResult:
    """What one file did to the database."""

    file: str
    source: str
    rows_read: int = 0
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    # rows of forgotten people (`workbook forget`) not imported, per table
    forgotten_skipped: dict[str, int] = field(default_factory=dict)
    # with `replace`: rows its earlier imports wrote (and no later file updated), deleted
    replaced: int = 0
    already_imported: bool = False
    imported_on: dt.datetime | None = None
    warnings: list[str] = field(default_factory=list)  # may be wrong: check them
    notes: list[str] = field(default_factory=list)  # how the file was read, rows worth a look

    def summary(self) -> str:
        if self.already_imported:
            when = f" on {self.imported_on:%Y-%m-%d}" if self.imported_on else ""
            return (
                f"{self.file} was already imported{when} (same contents): nothing changed. "
                f"To read it again with a corrected mapping, add --replace"
            )
        parts = [
            f"{t}: {self.inserted.get(t, 0):,} new"
            + (f", {self.updated[t]:,} updated" if self.updated.get(t) else "")
            for t in DATA_TABLES
            if t in self.inserted
        ]
        lines = [f"{self.file}: {self.rows_read:,} rows -> {'; '.join(parts) or 'nothing'}"]
        if self.replaced:
            lines.append(f"  {self.replaced:,} rows of its earlier import replaced")
        if skipped := self.forgotten_skipped:
            detail = ", ".join(f"{t} {n:,}" for t, n in skipped.items())
            lines.append(f"  {sum(skipped.values()):,} rows of forgotten people skipped ({detail})")
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def resolve_source(source: str) -> Mapping:
    """A preset by name, or a mapping .yaml by path; an unknown name lists the presets."""
    if source in PRESETS:
        return PRESETS[source]
    path = Path(source)
    if path.suffix.lower() in (".yaml", ".yml"):
        return load_mapping(path)
    listing = "\n".join(f"  {name:20} {m.description}" for name, m in PRESETS.items())
    raise ImportError_(
        f"Unknown source {source!r}. Use one of the presets:\n{listing}\n"
        f"or the path of a mapping .yaml file for any other export."
    )


def import_files(
    slug: str, files: list[Path], source: str, *, progress: bool = True, replace: bool = False
) -> list[ImportResult]:
    """Import each file (all or nothing per file); stops at the first bad file, raising its error.

    With `replace`, a file imported before is imported again: in its one transaction, the rows
    whose `import_id` is one of its earlier imports (same sha256) are deleted first. Rows a later
    file's import updated point at that import and stay.

    Files before the bad one stay imported (each is its own transaction); the error names the
    file, so fixing it and running the same command again skips the ones already done.
    With `progress`, files over 100,000 rows print a line to stderr at each stage.
    """
    remove_stale()  # what a killed import left: its unpacked exports hold raw identifiers
    mapping = resolve_source(source)
    client = load_client(slug)  # its folder, settings and salt, once for all the files
    pseudo = pseudonymizer(client)
    results: list[ImportResult] = []
    for path in files:
        try:
            results.append(_import_one(client, Path(path), mapping, pseudo, progress, replace))
        except ImportError_ as err:
            if not results:
                raise
            done = ", ".join(r.file for r in results)
            raise ImportError_(
                f"{err}\n(Before it, these files were imported or already there: "
                f"{done}. Running the same command again skips them.)"
            ) from err
    return results


def _already(con, sha256: str):
    found = con.execute(
        "SELECT imported_at FROM imports WHERE sha256 = $sha256 ORDER BY import_id LIMIT 1",
        {"sha256": sha256},
    ).fetchall()
    return found[0][0] if found else None


_EARLIER = "import_id IN (SELECT import_id FROM imports WHERE sha256 = $sha256)"


def _clear_earlier(con, sha256: str) -> int:
    """Before a replacing import: delete the rows that earlier imports of the same bytes last
    wrote; returns how many rows they held. Customers rows stay for the new reading to merge
    over, keeping the columns other sources gave them, but lose first_seen_at (its merge keeps
    the earliest value, which may be the wrong reading); `_drop_unclaimed` ends them. Caller
    holds the import's transaction, so all comes back if the new import fails."""
    held = 0
    for table in DATA_TABLES:
        verb = (
            "UPDATE customers SET first_seen_at = NULL" if table == "customers" else f"DELETE FROM {q(table)}"
        )
        held += con.execute(f"{verb} WHERE {_EARLIER}", {"sha256": sha256}).fetchall()[0][0]
    return held


def _drop_unclaimed(con, sha256: str) -> None:
    """After a replacing import: customers the earlier imports wrote that the new reading did not
    name (their rows still point at an earlier import)."""
    con.execute(f"DELETE FROM customers WHERE {_EARLIER}", {"sha256": sha256})


def _import_one(
    client: Client, path: Path, mapping: Mapping, pseudo: Pseudonymizer, progress: bool, replace: bool
) -> ImportResult:
    result = ImportResult(file=path.name, source=mapping.name)
    note = _Progress(path.name, progress)
    with private_workdir("import") as tmp:
        raw = open_export(path, tmp)
        if mapping.name in PRESETS and (hint := better_preset(mapping, raw.headers)):
            other, fit, mine = hint
            raise ImportError_(
                f"{raw.name} looks like a {other} export ({fit:.0%} of its columns are there), "
                f"not {mapping.name} ({mine:.0%}). Import it with --source {other}, or check "
                f"that you picked the right file."
            )
        if not replace:
            with store.write(db_path=client.db_path) as con:
                result.imported_on = _already(con, raw.sha256)
            if result.imported_on:
                result.already_imported = True
                return result
        staged = Stage(
            raw,
            mapping,
            client.config.timezone,
            pseudo,
            currency=client.config.currency,
            on_rows=note.rows_read,
        ).run()
    result.rows_read, result.warnings, result.notes = staged.rows, staged.warnings, staged.notes
    note("writing...")
    with store.write(db_path=client.db_path) as con, store.transaction(con):
        if replace:
            result.replaced = _clear_earlier(con, raw.sha256)
        elif when := _already(con, raw.sha256):  # another process may have won
            result.imported_on = when
            result.already_imported, result.rows_read, result.warnings, result.notes = True, 0, [], []
            return result  # nothing was written
        import_id = con.execute("SELECT nextval('import_ids')").fetchall()[0][0]
        tables, result.forgotten_skipped = skip_forgotten(con, staged.tables)
        for table in DATA_TABLES:
            if table in tables:
                new, old = upsert(con, table, tables[table], import_id)
                result.inserted[table], result.updated[table] = new, old
        if replace:
            _drop_unclaimed(con, raw.sha256)
        con.execute(
            "INSERT INTO imports (import_id, source, file_name, sha256, rows, inserted, "
            "updated, warnings) VALUES ($import_id, $source, $file_name, $sha256, $rows, $inserted, "
            "$updated, $warnings)",
            {
                "import_id": import_id,
                "source": mapping.name,
                "file_name": path.name,
                "sha256": raw.sha256,
                "rows": staged.rows,
                "inserted": sum(result.inserted.values()),
                "updated": sum(result.updated.values()),
                "warnings": "\n".join(staged.warnings + staged.notes) or None,
            },
        )
    result.imported_on = None
    note("done.")
    return result


class _Progress:
    """Stage lines on stderr for large files only (small ones finish before they would help)."""

    def __init__(self, name: str, enabled: bool):
        self.name, self.enabled, self.large = name, enabled, False

    def rows_read(self, rows: int) -> None:
        self.large = self.enabled and rows > PROGRESS_ROWS
        self(f"{rows:,} rows read; checking and pseudonymizing...")

    def __call__(self, stage: str) -> None:
        if self.large:
            print(f"{self.name}: {stage}", file=sys.stderr, flush=True)
