"""A client: its folder, DuckDB file, client.toml (settings and rollouts) and secret salt.

The salt keys the pseudonyms (see `privacy`). It lives beside the database, never inside it,
so a copy of the database alone cannot be used to test guesses of emails against it. The
database keeps only its fingerprint, so that a salt lost, emptied or swapped for another is
refused instead of silently giving every person a second pseudonym.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import tomli_w

from workbook import store
from workbook.core import paths
from workbook.core.dates import check_timezone, today_in
from workbook.core.errors import WorkbookError
from workbook.store.schema import CUSTOMER_GROUPS

CONFIG_FILE = "client.toml"
SALT_BYTES = 32  # what `init` writes: a 256-bit key, SHA-256's size (RFC 2104 advises no less)
_FINGERPRINT_LABEL = b"delta-workbook salt fingerprint"


@dataclass(frozen=True)
class ClientConfig:
    """What client.toml holds. Timestamps in the database are naive local time in `timezone`."""

    slug: str
    display_name: str
    industry: str = "other"
    currency: str = "USD"
    timezone: str = "UTC"


@dataclass(frozen=True)
class Rollout:
    """A change switched on from `start` for the customers whose `column` is one of `treated`.

    The data cannot say what changed when, so the consultant records it in client.toml
    (`[[rollouts]]`, see docs/architecture.md); `analytics.causal.did` estimates its effect.
    """

    name: str
    start: dt.date
    column: str
    treated: tuple[str, ...]

    def __post_init__(self):
        if self.column not in CUSTOMER_GROUPS:
            raise WorkbookError(
                f"Rollout {self.name!r}: column {self.column!r} is not one of "
                f"{', '.join(CUSTOMER_GROUPS)}. Fix [[rollouts]] in client.toml."
            )

    @property
    def treated_label(self) -> str:
        return f"{self.column.replace('_', ' ')} {', '.join(self.treated)}"


@dataclass(frozen=True)
class Client:
    """One client, resolved once per command, import, render or notebook and passed down:
    where its database is and what its client.toml says (read once, when this was made)."""

    slug: str
    db_path: Path
    config: ClientConfig
    rollouts: tuple[Rollout, ...] = ()

    @property
    def folder(self) -> Path:
        return self.db_path.parent

    @property
    def name(self) -> str:
        return self.config.display_name

    def today(self) -> dt.date:
        """Today's date in the client's time zone (its data's local time)."""
        return today_in(self.config.timezone)

    @property
    def salt_path(self) -> Path:
        return self.folder / paths.SALT_FILE

    def salt(self) -> bytes:
        """The secret that keys the client's pseudonyms (see `privacy`), once checked to be the
        one the database's pseudonyms were made with."""
        salt = read_salt(self.salt_path)
        with store.write(db_path=self.db_path) as con:
            _check_salt(con, self.salt_path, salt)
        return salt


def salt_fingerprint(salt: bytes) -> str:
    """HMAC-SHA256 of a fixed label under the salt: equal for the same salt, and no help in
    finding the salt (RFC 2104)."""
    return hmac.new(salt, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


def read_salt(path: Path) -> bytes:
    """The salt in `path`, refused when it is missing, empty, short or not hex digits."""
    if not path.exists():
        raise WorkbookError(
            f"The secret salt {path} is missing, and a new one would split every person in two: "
            f"{store.restore_step(path.parent)}."
        )
    text = path.read_text(encoding="ascii", errors="replace").strip()
    if not re.fullmatch(f"(?:[0-9a-fA-F]{{2}}){{{SALT_BYTES},}}", text):
        found = "it is empty" if not text else f"it must be {2 * SALT_BYTES} or more hex digits"
        raise WorkbookError(
            f"The secret salt {path} is damaged ({found}): {store.restore_step(path.parent)}."
        )
    return bytes.fromhex(text)


def _check_salt(con: duckdb.DuckDBPyConnection, path: Path, salt: bytes) -> None:
    """Refuse a salt whose fingerprint differs from the database's; a database without one
    (new, or upgraded from schema 3) records this salt's."""
    mine = salt_fingerprint(salt)
    recorded = [f for (f,) in con.execute("SELECT fingerprint FROM salt_fingerprint").fetchall()]
    if not recorded:
        con.execute("INSERT INTO salt_fingerprint (fingerprint) VALUES ($fingerprint)", {"fingerprint": mine})
    elif any(f != mine for f in recorded):
        raise WorkbookError(
            f"The secret salt {path} is not the one this client's pseudonyms were made with "
            f"(another client's, or a new one): {store.restore_step(path.parent)}."
        )


def init_client(
    slug: str,
    display_name: str | None = None,
    industry: str = "other",
    currency: str = "USD",
    timezone: str = "UTC",
) -> tuple[Path, bool]:
    """Create (or upgrade) the client's folder. Returns (folder, created); safe to rerun.

    The salt is made only with the database: an existing client's is never replaced, and a
    missing or other one is refused (see `Client.salt`)."""
    check_timezone(timezone, "--timezone")  # refused here, not at the first import
    folder = paths.client_dir(slug)
    db = paths.db_path(slug)
    created = not db.exists()
    folder.mkdir(parents=True, exist_ok=True)
    salt_path = folder / paths.SALT_FILE
    if created and not salt_path.exists():
        fd = os.open(salt_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(SALT_BYTES))
    salt = read_salt(salt_path)
    config = folder / CONFIG_FILE
    if not config.exists():
        cfg = ClientConfig(slug, display_name or slug.replace("-", " ").title(), industry, currency, timezone)
        config.write_text(tomli_w.dumps(asdict(cfg)), encoding="utf-8")
    if created:
        duckdb.connect(str(db)).close()
    with store.write(db_path=db) as con:  # upgrades the schema; a damaged file is named as such
        _check_salt(con, salt_path, salt)
    return folder, created


def load_client(slug: str) -> Client:
    """An existing client (made by `workbook init`), or a clear error."""
    return client_at(slug, paths.existing_client_dir(slug) / paths.DB_FILE)


def client_at(slug: str, db_path: Path) -> Client:
    """The client whose database is `db_path`, with the settings of the client.toml beside it:
    without one, defaults named after the slug."""
    toml_path = db_path.parent / CONFIG_FILE
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Client(slug, db_path, ClientConfig(slug, slug.replace("-", " ").title()))
    except tomllib.TOMLDecodeError as err:
        raise WorkbookError(f"{toml_path} is not valid TOML ({err}). Fix or delete it.") from err
    known = {k: v for k, v in data.items() if k in ClientConfig.__dataclass_fields__}
    config = ClientConfig(**{"display_name": slug, **known, "slug": slug})
    check_timezone(config.timezone, f"{toml_path}, timezone")  # edited by hand: refused before any import
    return Client(slug, db_path, config, _rollouts(toml_path, data))


def _rollouts(toml_path: Path, data: dict) -> tuple[Rollout, ...]:
    """The `[[rollouts]]` the consultant recorded (none: an empty tuple)."""
    out = []
    for entry in data.get("rollouts", []):
        try:
            start = entry["start"]
            start = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start))
            out.append(
                Rollout(
                    str(entry.get("name", "Rollout")),
                    start,
                    str(entry["column"]),
                    tuple(str(v) for v in entry["treated"]),
                )
            )
        except (KeyError, ValueError) as err:
            raise WorkbookError(
                f"{toml_path}: a [[rollouts]] entry needs start (YYYY-MM-DD), column and treated ({err})."
            ) from err
    return tuple(out)


def record_rollout(client: Client, rollout: Rollout) -> bool:
    """Add a rollout to the client's client.toml unless it is already there; True when added.
    The file is read again here, so settings written since `client` was made are kept."""
    path = client.folder / CONFIG_FILE
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if rollout in _rollouts(path, data):
        return False
    data.setdefault("rollouts", []).append(
        {
            "name": rollout.name,
            "start": rollout.start,
            "column": rollout.column,
            "treated": list(rollout.treated),
        }
    )
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return True


def list_clients() -> list[str]:
    home = paths.workbook_home()
    if not home.exists():
        return []
    return sorted(p.name for p in home.iterdir() if (p / paths.DB_FILE).exists() and paths.SLUG.match(p.name))
