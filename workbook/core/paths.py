"""Where things live: the project root, the clients folder ($WORKBOOK_HOME), sample data, reports.

Client names are slugs (lowercase letters, digits and single hyphens), so a name can never
point outside the clients folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from workbook.core.errors import ClientNotFound, InvalidClientName

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")  # \Z: "$" would let a trailing newline in
MAX_SLUG = 64
DB_FILE = "workbook.duckdb"  # the client's database, in its folder
SALT_FILE = "salt.secret"  # the secret that keys its pseudonyms, beside it (store.clients)


def project_root() -> Path:
    """The checkout holding pyproject.toml (the package is installed editable), else the cwd."""
    here = Path(__file__).resolve().parents[2]  # workbook/core/paths.py -> the checkout
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def workbook_home() -> Path:
    """The clients folder: $WORKBOOK_HOME when set, else data/clients in the project."""
    env = os.environ.get("WORKBOOK_HOME")
    return Path(env).expanduser().resolve() if env else project_root() / "data" / "clients"


def sample_dir() -> Path:
    return project_root() / "data" / "sample"


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def reports_dir() -> Path:
    return project_root() / "reports"


def check_slug(name: str) -> str:
    """Return `name` if it is a valid client slug, else raise with an example of a good one."""
    if not isinstance(name, str) or not SLUG.match(name) or len(name) > MAX_SLUG:
        suggestion = re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-")[:MAX_SLUG] or "my-client"
        raise InvalidClientName(
            f"{name!r} is not a valid client name. Use lowercase letters, digits and hyphens "
            f"(up to {MAX_SLUG} characters), for example {suggestion!r}."
        )
    return name


def client_dir(client: str) -> Path:
    return workbook_home() / check_slug(client)


def db_path(client: str) -> Path:
    return client_dir(client) / DB_FILE


def existing_client_dir(client: str) -> Path:
    """The folder of a client that has been created with `workbook init`, or a clear error."""
    folder = client_dir(client)
    if not (folder / DB_FILE).exists():
        raise ClientNotFound(
            f"No client {client!r} in {workbook_home()}. Create it with `workbook init {client}` "
            f"(or set WORKBOOK_HOME to the folder that holds your clients)."
        )
    return folder
