"""A client: its folder, DuckDB file, client.toml (settings and rollouts) and secret salt.

The salt keys the pseudonyms (see `privacy`). It lives beside the database, never inside it,
so a copy of the database alone cannot be used to test guesses of emails against it. The
database keeps only its fingerprint, so that a salt lost, emptied or swapped for another is
refused instead of silently giving every person a second pseudonym.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import hmac
import os
import re
import secrets
import shutil
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType

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
# The industries with a profile (`analytics.profiles`); "other" is the generic one.
INDUSTRIES = ("other", "coffee-shop", "online-store", "home-services")


def check_industry(industry: str) -> str:
    """`industry` if it is one of INDUSTRIES, else a WorkbookError naming the nearest ones."""
    if industry not in INDUSTRIES:
        near = difflib.get_close_matches(industry, INDUSTRIES, n=1)
        raise WorkbookError(
            f"--industry {industry!r} is not one the workbook knows"
            + (f" (did you mean {near[0]}?)" if near else "")
            + f": use one of {', '.join(INDUSTRIES[1:])}, or {INDUSTRIES[0]} for any other business."
        )
    return industry


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


# [costs] and [time_saved] keys -> Settings fields; one line each in docs/settings.md
SETTING_KEYS = {
    ("costs", "email_send"): "email_send",
    ("costs", "personalized_email_send"): "personalized_email_send",
    ("costs", "tool_per_month"): "tool_per_month",
    ("time_saved", "hours_per_month"): "hours_saved_per_month",
    ("time_saved", "hourly_rate"): "hourly_rate",
}


@dataclass(frozen=True)
class Settings:
    """The consultant's inputs that no export holds, from client.toml (docs/settings.md).

    Money is in the client's currency. The defaults are assumptions, and `given` names the fields
    client.toml sets, so the reports can say whose assumption a figure
    rests on. The cost per send is used only for campaigns without a recorded cost: about $0.01
    at small-list Klaviyo/Mailchimp prices, plus about $0.01 for a recommendation add-on on a
    personalized send. Hours saved default to none counted. `index_weights` maps an index
    (customer_experience, relationship_strength, ethical_personalization,
    personalization_efficiency) to its parts' weights, over the defaults in `analytics.indices`;
    `ab_splits` maps a campaign id to its planned share per variant, e.g. {"Generic": 0.8,
    "Personalized": 0.2} (default an even split).
    """

    email_send: float = 0.010
    personalized_email_send: float = 0.020
    tool_per_month: float = 0.0
    hours_saved_per_month: float = 0.0
    hourly_rate: float = 40.0
    index_weights: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: MappingProxyType({}))
    ab_splits: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: MappingProxyType({}))
    given: frozenset[str] = frozenset()

    def is_given(self, name: str) -> bool:
        """Whether client.toml sets this field (a `Settings` field name); else it is the default."""
        return name in self.given

    @property
    def cost_per_send(self) -> dict[str, float]:
        """Cost of one email send per A/B arm ("generic", "personalized")."""
        return {"generic": self.email_send, "personalized": self.personalized_email_send}


def _number(toml_path: Path, where: str, value: object) -> float:
    """A setting's value as a number >= 0, or a one-line error naming the key and the fix."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not value >= 0
        or value == float("inf")
    ):
        raise WorkbookError(
            f"{toml_path}: {where} = {value!r} must be a number, 0 or more. Fix it in client.toml."
        )
    return float(value)


def _table(toml_path: Path, data: dict, name: str) -> dict:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise WorkbookError(
            f"{toml_path}: {name} must be a table ([{name}] with key = value lines). Fix client.toml."
        )
    return table


def _settings(toml_path: Path, data: dict) -> Settings:
    """The [costs], [time_saved], [index_weights.<index>] and [ab_splits.<campaign id>] tables,
    checked: an unknown key or a value that is not a number >= 0 is named with its fix."""
    values: dict[str, object] = {}
    given = []
    for table in ("costs", "time_saved"):
        known = [k for t, k in SETTING_KEYS if t == table]
        for key, value in _table(toml_path, data, table).items():
            if (table, key) not in SETTING_KEYS:
                raise WorkbookError(
                    f"{toml_path}: [{table}] has no setting {key!r}; use {', '.join(known)} (docs/settings.md)."
                )
            values[SETTING_KEYS[table, key]] = _number(toml_path, f"[{table}] {key}", value)
            given.append(SETTING_KEYS[table, key])
    for name in ("index_weights", "ab_splits"):
        nested = {}
        for outer, parts in _table(toml_path, data, name).items():
            if not isinstance(parts, dict) or not parts:
                raise WorkbookError(
                    f"{toml_path}: {name}.{outer} must be a table of name = number ([{name}.{outer}]). Fix client.toml."
                )
            nested[str(outer)] = MappingProxyType(
                {str(k): _number(toml_path, f"[{name}.{outer}] {k}", v) for k, v in parts.items()}
            )
            if name == "ab_splits" and not sum(nested[str(outer)].values()) > 0:
                raise WorkbookError(
                    f"{toml_path}: [ab_splits.{outer}] needs a share above 0. Fix client.toml."
                )
        values[name] = MappingProxyType(nested)
    return Settings(**values, given=frozenset(given))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Client:
    """One client, resolved once per command, import, render or notebook and passed down:
    where its database is and what its client.toml says (read once, when this was made)."""

    slug: str
    db_path: Path
    config: ClientConfig
    rollouts: tuple[Rollout, ...] = ()
    settings: Settings = field(
        default_factory=Settings
    )  # [costs], [time_saved], [index_weights], [ab_splits]

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
    check_industry(industry)
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
    return Client(slug, db_path, config, _rollouts(toml_path, data), _settings(toml_path, data))


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


def record_settings(client: Client, tables: Mapping[str, Mapping[str, object]]) -> bool:
    """Add settings tables ({"costs": {"email_send": 0.01}, ...}) to the client's client.toml,
    each key only where the file does not set it (the consultant's edits win); True when added.
    Checked as `client_at` would read them, before anything is written."""
    path = client.folder / CONFIG_FILE
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    added = False
    for name, values in tables.items():
        table = data.setdefault(name, {})
        for key, value in values.items():
            if key not in table:
                table[key] = dict(value) if isinstance(value, Mapping) else value
                added = True
    _settings(path, data)
    if added:
        path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return added


def snapshot(client: Client, folder: Path) -> Client:
    """The client as one consistent state, copied into `folder`: its database (with the
    write-ahead log a writer stopped short of folding in, which read-only connections replay)
    copied while a read-only connection holds the file, so no import can commit half-way
    (DuckDB lets a process write only while no other process has the file open), and its
    client.toml. A report reads every page from the copy. The salt is not copied: a snapshot
    is read-only and never makes pseudonyms. A damaged, locked or newer database is refused
    here, as by `store.read`."""
    con = store.read(db_path=client.db_path)
    try:
        for name in (client.db_path.name, f"{client.db_path.name}.wal"):
            if (client.folder / name).exists():
                shutil.copyfile(client.folder / name, folder / name)
    finally:
        con.close()
    if (client.folder / CONFIG_FILE).exists():
        shutil.copyfile(client.folder / CONFIG_FILE, folder / CONFIG_FILE)
    return client_at(client.slug, folder / client.db_path.name)


def list_clients() -> list[str]:
    home = paths.workbook_home()
    if not home.exists():
        return []
    return sorted(p.name for p in home.iterdir() if (p / paths.DB_FILE).exists() and paths.SLUG.match(p.name))
