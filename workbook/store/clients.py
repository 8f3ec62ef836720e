"""Creating a client: its folder, DuckDB file, client.toml and secret salt.

The salt keys the pseudonyms (see `privacy`). It lives beside the database, never inside it,
so a copy of workbook.duckdb alone cannot be used to test guesses of emails against it.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import tomli_w

from workbook import store
from workbook.core import paths
from workbook.core.errors import WorkbookError

SALT_FILE = "salt.secret"
CONFIG_FILE = "client.toml"


@dataclass
class ClientConfig:
    """What client.toml holds. Timestamps in the database are naive local time in `timezone`."""

    slug: str
    display_name: str
    industry: str = "other"
    currency: str = "USD"
    timezone: str = "UTC"


def init_client(
    slug: str,
    display_name: str | None = None,
    industry: str = "other",
    currency: str = "USD",
    timezone: str = "UTC",
) -> tuple[Path, bool]:
    """Create (or upgrade) the client's folder. Returns (folder, created); safe to rerun."""
    folder = paths.client_dir(slug)
    created = not (folder / "workbook.duckdb").exists()
    folder.mkdir(parents=True, exist_ok=True)
    salt = folder / SALT_FILE
    if not salt.exists():
        fd = os.open(salt, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    config = folder / CONFIG_FILE
    if not config.exists():
        cfg = ClientConfig(slug, display_name or slug.replace("-", " ").title(), industry, currency, timezone)
        config.write_text(tomli_w.dumps(asdict(cfg)), encoding="utf-8")
    con = duckdb.connect(str(folder / "workbook.duckdb"))
    try:
        store.migrate(con)
    finally:
        con.close()
    return folder, created


def load_config(slug: str) -> ClientConfig:
    return config_from_file(slug, paths.existing_client_dir(slug) / CONFIG_FILE)


def config_from_file(slug: str, toml_path: Path) -> ClientConfig:
    """Settings from a client.toml; defaults (named after the slug) when there is none."""
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ClientConfig(slug, slug.replace("-", " ").title())
    except tomllib.TOMLDecodeError as err:
        raise WorkbookError(f"{toml_path} is not valid TOML ({err}). Fix or delete it.") from err
    known = {k: v for k, v in data.items() if k in ClientConfig.__dataclass_fields__}
    known["slug"] = slug
    return ClientConfig(**{"display_name": slug, **known})


def load_salt(slug: str) -> bytes:
    path = paths.existing_client_dir(slug) / SALT_FILE
    if not path.exists():
        raise WorkbookError(
            f"The secret salt {path} is missing, so pseudonyms cannot be matched. Restore it from "
            f"your backup; a new salt would split every person into two."
        )
    return bytes.fromhex(path.read_text().strip())


def list_clients() -> list[str]:
    home = paths.workbook_home()
    if not home.exists():
        return []
    return sorted(
        p.name for p in home.iterdir() if (p / "workbook.duckdb").exists() and paths.SLUG.match(p.name)
    )
