"""`workbook demo`: the sample clients, built from data/sample/ through the importers.

Each sample client is created with `init_client` in $WORKBOOK_HOME and its exports are imported
with `import_files`, exactly as a consultant would, following `SAMPLE_CLIENTS`' import plan.
The importer skips files it has already imported (same sha256), so a second run changes nothing;
a client built from an older version of the sample files is rebuilt from the current ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workbook import store
from workbook.core import paths
from workbook.importers import ImportResult, import_files
from workbook.importers.reading import open_export
from workbook.importers.workdir import private_workdir
from workbook.sample import SAMPLE_CLIENTS, SampleClient, tiny_shop, write_samples
from workbook.store.clients import Rollout, init_client, load_client, record_rollout, record_settings


@dataclass
class DemoClient:
    """What the demo did to one sample client."""

    client: SampleClient
    folder: Path
    created: bool
    rebuilt: bool = False  # an older sample was replaced
    results: list[ImportResult] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows now, non-empty tables

    @property
    def changed(self) -> bool:
        return self.created or any(not r.already_imported for r in self.results)


def sample_files_present(sample: Path) -> bool:
    return all((sample / c.slug / name).is_file() for c in SAMPLE_CLIENTS.values() for name, _ in c.imports)


def build_clients(sample: Path | None = None, progress: bool = True) -> list[DemoClient]:
    """Create and fill every sample client; returns what happened (writes nothing to stdout).

    The exports come from `sample` (default data/sample/, written first if any file is missing).
    """
    sample = Path(sample) if sample else paths.sample_dir()
    if not sample_files_present(sample):
        write_samples(sample)
    built = []
    for client in SAMPLE_CLIENTS.values():
        rebuilt = _drop_if_outdated(client, sample)
        folder, created = init_client(
            client.slug, client.display_name, client.industry, client.currency, client.timezone
        )
        handle = load_client(client.slug)
        for rollout in client.rollouts:
            record_rollout(handle, Rollout(**rollout))
        record_settings(handle, client.settings)
        demo = DemoClient(client, folder, created, rebuilt)
        for name, source in client.imports:
            if source.endswith((".yaml", ".yml")):
                source = str(sample / client.slug / source)
            demo.results += import_files(
                client.slug, [sample / client.slug / name], source, progress=progress
            )
        demo.rows = table_rows(client.slug)
        built.append(demo)
    return built


def build_tiny_shop(exports: Path) -> list[ImportResult]:
    """The tiny shop (`sample.tiny_shop`) as client `tiny-shop` in $WORKBOOK_HOME: its exports
    written into `exports`, then imported through the real presets."""
    files = tiny_shop.write(exports)
    init_client(tiny_shop.SLUG, tiny_shop.NAME, tiny_shop.INDUSTRY, "USD", tiny_shop.TZ)
    return [
        result
        for path, (_, source) in zip(files, tiny_shop.IMPORTS)
        for result in import_files(tiny_shop.SLUG, [path], source, progress=False)
    ]


def _drop_if_outdated(client: SampleClient, sample: Path) -> bool:
    """Delete the client's database if it holds an older version of one of its sample files.

    Importing a regenerated sample over an older one would keep rows that the new files no
    longer have (upserts never delete), so a changed sample means a fresh database. The salt
    and client.toml stay, so pseudonyms do not change.
    """
    db = paths.db_path(client.slug)
    if not db.exists():
        return False
    current = {name: content_sha256(sample / client.slug / name) for name, _ in client.imports}
    with store.write(client.slug) as con:  # a writer: it upgrades a file of an older schema first
        imported = con.execute("SELECT file_name, sha256 FROM imports").fetchall()
    if all(current.get(name, sha) == sha for name, sha in imported):
        return False
    for path in (db, db.with_name(db.name + ".wal")):
        path.unlink(missing_ok=True)
    return True


def content_sha256(path: Path) -> str:
    """The checksum the importer records for a file (of its contents, unpacked if compressed)."""
    with private_workdir("import") as tmp:
        return open_export(path, tmp).sha256


def table_rows(slug: str) -> dict[str, int]:
    """Rows per canonical table that has any (table names come from the schema, not input)."""
    con = store.read(slug)
    try:
        counts = store.table_counts(con)
    finally:
        con.close()
    return {t: n for t, n in counts.items() if n}


def build_demo(quiet: bool = False) -> None:
    """Build the sample clients and print what was built (one line when `quiet`)."""
    built = build_clients(progress=not quiet)
    home = paths.workbook_home()
    if quiet:
        changed = [d.client.slug for d in built if d.changed]
        what = f"updated {', '.join(changed)}" if changed else "nothing changed"
        print(f"Sample clients ready in {home}: {', '.join(d.client.slug for d in built)} ({what}).")
        return
    for demo in built:
        client = demo.client
        state = (
            "rebuilt: its sample files changed"
            if demo.rebuilt
            else "created"
            if demo.created
            else "already there"
        )
        print(f"{client.display_name} ({client.slug}, {state}): {demo.folder}")
        for result in demo.results:
            print("  " + result.summary().replace("\n", "\n  "))
        tables = ", ".join(f"{t} {n:,}" for t, n in demo.rows.items())
        print(f"  tables now: {tables}")
    if not any(d.changed for d in built):
        print("Nothing changed: every sample file was already imported.")
    print(f"Open one with: workbook open {built[0].client.slug}   (clients folder: {home})")
