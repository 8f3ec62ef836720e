"""A client's backup: its database, salt and client.toml in one archive, and their restore.

The database and the salt are one pair (the pseudonyms were made with that salt), so they are
saved and put back together. The archive is a .tar.gz readable only by its owner (it holds
the salt), with a manifest naming the schema version and the salt's fingerprint, checked on
restore before anything is put in place.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path

import duckdb

from workbook import store
from workbook.core import paths
from workbook.core.errors import WorkbookError
from workbook.store.clients import CONFIG_FILE, load_client, read_salt, salt_fingerprint
from workbook.store.schema import LATEST_VERSION

MANIFEST = "manifest.json"
FORMAT = "delta-workbook-backup"
FILES = (paths.DB_FILE, paths.SALT_FILE, CONFIG_FILE)


def default_archive(slug: str) -> Path:
    """Where `workbook backup` writes without --out: the current folder, named by client and time."""
    return Path.cwd() / f"{slug}-{dt.datetime.now():%Y%m%d-%H%M%S}.workbook.tar.gz"


def backup(slug: str, out: Path) -> Path:
    """Write the client's archive to `out` (mode 0600) and return it. The database is copied
    while this process holds its write lock, after a CHECKPOINT folds the write-ahead log into
    it, so no import can commit half-way through the copy."""
    client = load_client(slug)
    salt = client.salt()  # refused when missing, damaged or not the database's
    if out.is_dir():
        raise WorkbookError(
            f"{out} is a folder: give --out the archive's file name, e.g. {out / (slug + '.tar.gz')}."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
            with store.write(db_path=client.db_path) as con:
                con.execute("CHECKPOINT")
                manifest = {
                    "format": FORMAT,
                    "client": slug,
                    "schema_version": store.schema_version(con),
                    "salt_fingerprint": salt_fingerprint(salt),
                    "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                }
                _add(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
                tar.add(client.db_path, arcname=paths.DB_FILE)
            _add(tar, paths.SALT_FILE, salt.hex().encode())
            config = client.folder / CONFIG_FILE
            if config.exists():
                tar.add(config, arcname=CONFIG_FILE)
        os.replace(partial, out)
    finally:
        Path(partial).unlink(missing_ok=True)
    return out


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def restore(archive: Path, slug: str | None = None, force: bool = False) -> Path:
    """Put a backup's database, salt and client.toml in place as client `slug` (default: the
    client it was made from) and return its folder. Checks first that the archive is ours and
    whole, and that the salt is the one the database's pseudonyms were made with; an existing
    client is replaced only with `force`. The files are unpacked into a private folder beside
    the client's, then that folder takes the client's place by one rename."""
    members, manifest = _read_archive(archive)
    slug = paths.check_slug(slug or str(manifest.get("client", "")))
    target = paths.client_dir(slug)
    if target.exists() and not force:
        raise WorkbookError(
            f"Client {slug!r} already exists in {target.parent}: add --force to replace it with "
            f"the backup, or give another name with --client."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{slug}.restore-", dir=target.parent))  # mode 0700
    try:
        for name, data in members.items():
            if name != MANIFEST:
                fd = os.open(staged / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
        _check_pair(archive, staged, manifest)
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{slug}.replaced-", dir=target.parent))
            os.replace(target, old / slug)
        os.replace(staged, target)
        if old is not None:
            shutil.rmtree(old)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return target


def _read_archive(archive: Path) -> tuple[dict[str, bytes], dict]:
    """The archive's files by name and its manifest, or one line saying what is wrong with it."""
    if not archive.is_file():
        raise WorkbookError(f"No backup at {archive}: check the path (a file made by `workbook backup`).")
    not_ours = f"{archive} is not a Delta Workbook backup: give a file made by `workbook backup`"
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            members = {
                m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers()
                if m.isfile() and m.name in (MANIFEST, *FILES)
            }
    except (tarfile.ReadError, EOFError, zlib.error, OSError) as err:
        if isinstance(err, tarfile.ReadError) and "not a gzip file" in str(err):
            raise WorkbookError(f"{not_ours}.") from err
        raise WorkbookError(
            f"The backup {archive} is damaged ({' '.join(str(err).split()) or type(err).__name__}): "
            f"use another copy of it."
        ) from err
    try:
        manifest = json.loads(members[MANIFEST])
    except (KeyError, ValueError) as err:
        raise WorkbookError(f"{not_ours} (it has no readable {MANIFEST}).") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise WorkbookError(f"{not_ours}.")
    missing = [name for name in (paths.DB_FILE, paths.SALT_FILE) if name not in members]
    if missing:
        raise WorkbookError(
            f"The backup {archive} is damaged (no {' or '.join(missing)} in it): use another copy of it."
        )
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version > LATEST_VERSION:
        raise WorkbookError(
            f"The backup {archive} was made by a newer Delta Workbook (schema {version}, this one "
            f"knows {LATEST_VERSION}). Upgrade the workbook package before restoring it."
        )
    return members, manifest


def _check_pair(archive: Path, folder: Path, manifest: dict) -> None:
    """Refuse a salt that is not the manifest's, or not the one the database recorded."""
    fingerprint = salt_fingerprint(read_salt(folder / paths.SALT_FILE))
    try:
        with duckdb.connect(str(folder / paths.DB_FILE), read_only=True) as con:
            recorded = {f for (f,) in con.execute("SELECT fingerprint FROM salt_fingerprint").fetchall()}
    except duckdb.Error as err:
        raise WorkbookError(
            f"The backup {archive} holds a damaged database ({' '.join(str(err).split())}): use another copy of it."
        ) from err
    if manifest.get("salt_fingerprint") != fingerprint or recorded != {fingerprint}:
        raise WorkbookError(
            f"The backup {archive} is damaged: its salt is not the one its database's pseudonyms "
            f"were made with. Use another copy of it."
        )
