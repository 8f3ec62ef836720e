import datetime as dt
import hashlib
import hmac
import re

import duckdb
import pandas as pd
import pytest

from workbook import store
from workbook.core import paths
from workbook.core.errors import InvalidClientName, WorkbookError
from workbook.store import privacy
from workbook.store.clients import (
    Rollout,
    Settings,
    client_at,
    init_client,
    list_clients,
    load_client,
    record_rollout,
    record_settings,
    snapshot,
)
from workbook.store.schema import DATA_TABLES, LATEST_VERSION, MIGRATIONS, TABLES


@pytest.mark.parametrize("name", ["../etc", "Acme", "a b", "", "a--b", "-a", "a/b", "x" * 65, "..", "acme\n"])
def test_bad_slugs_are_refused(name, home):
    with pytest.raises(InvalidClientName, match="not a valid client name"):
        init_client(name)
    assert list(home.iterdir()) == []


def test_init_creates_folder_config_salt_and_schema(home):
    folder, created = init_client("acme-bakery", "Acme Bakery", "coffee-shop", "EUR", "Europe/Berlin")
    assert created and folder == home / "acme-bakery"
    assert (folder / "salt.secret").stat().st_mode & 0o077 == 0  # only the owner reads the salt
    cfg = load_client("acme-bakery").config
    assert (cfg.display_name, cfg.currency, cfg.timezone) == ("Acme Bakery", "EUR", "Europe/Berlin")
    con = store.read("acme-bakery")
    assert store.schema_version(con) == LATEST_VERSION
    assert set(DATA_TABLES) | {"goals", "imports"} <= {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    assert list_clients() == ["acme-bakery"]


def test_table_declarations_name_real_columns():
    # Every table the migrations create, but the bookkeeping ones, is declared once in TABLES,
    # and its natural key, time and person columns are columns of the table.
    con = duckdb.connect()
    store.migrate(con)
    columns: dict[str, set[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
    ).fetchall():
        columns.setdefault(table, set()).add(column)
    assert set(TABLES) == set(columns) - {
        "goals",
        "imports",
        "schema_version",
        "salt_fingerprint",
        "forgotten",
    }
    for table, declared in TABLES.items():
        named = {*declared.key, declared.time, declared.person, *declared.free_text} - {None}
        assert named <= columns[table], (table, named - columns[table])


def test_migration_3_adds_cancelled_to_existing_orders(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    store.migrate(con, MIGRATIONS[:2])
    con.execute("INSERT INTO orders (order_id, ordered_at, revenue) VALUES ('o1', '2026-01-01', 5)")
    assert store.migrate(con, MIGRATIONS[:3]) == [3]
    assert con.execute("SELECT order_id, revenue, cancelled FROM orders").fetchall() == [("o1", 5, None)]


def test_migration_7_adds_source_medium_and_frees_the_channel_group(tmp_path):
    """An older file keeps its GA4 rows (source / medium NULL) and then takes rows by source /
    medium alone, which schema 6 refused for lack of a channel group."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    store.migrate(con, MIGRATIONS[:6])
    con.execute("INSERT INTO web_sessions (day, channel, sessions) VALUES ('2026-09-01', 'Email', 40)")
    by_source = (
        "INSERT INTO web_sessions (day, source_medium, sessions) VALUES ('2026-09-02', 'google / organic', 9)"
    )
    with pytest.raises(duckdb.Error):
        con.execute(by_source)
    assert store.migrate(con, MIGRATIONS[:7]) == [7]
    con.execute(by_source)
    assert con.execute(
        "SELECT day, channel, source_medium, sessions FROM web_sessions ORDER BY day"
    ).fetchall() == [
        (dt.date(2026, 9, 1), "Email", None, 40),
        (dt.date(2026, 9, 2), None, "google / organic", 9),
    ]


def test_init_again_keeps_settings_and_salt(home):
    init_client("acme", "First Name")
    salt = (home / "acme" / "salt.secret").read_text()
    _, created = init_client("acme", "Other Name")
    assert not created
    assert load_client("acme").name == "First Name"
    assert (home / "acme" / "salt.secret").read_text() == salt


def test_rollouts_are_read_from_client_toml(tmp_path):
    path = tmp_path / "client.toml"
    path.write_text(
        'slug = "x"\n[[rollouts]]\nname = "Recs"\nstart = 2026-05-01\ncolumn = "region"\ntreated = ["CA"]\n',
        encoding="utf-8",
    )
    db = tmp_path / paths.DB_FILE
    assert client_at("x", db).rollouts == (Rollout("Recs", dt.date(2026, 5, 1), "region", ("CA",)),)
    assert client_at("x", tmp_path / "elsewhere" / paths.DB_FILE).rollouts == ()
    path.write_text('[[rollouts]]\nstart = 2026-05-01\ncolumn = "email"\ntreated = ["x"]\n', encoding="utf-8")
    with pytest.raises(WorkbookError, match="not one of"):
        client_at("x", db)


def test_record_rollout_is_idempotent_and_keeps_settings(tmp_path):
    path = tmp_path / "client.toml"
    path.write_text('slug = "x"\ndisplay_name = "X"\n', encoding="utf-8")
    rollout = Rollout("Recommendations", dt.date(2026, 5, 1), "region", ("CA",))
    client = client_at("x", tmp_path / paths.DB_FILE)
    assert record_rollout(client, rollout) is True
    assert record_rollout(client, rollout) is False
    assert client_at("x", tmp_path / paths.DB_FILE).rollouts == (rollout,)
    assert 'display_name = "X"' in path.read_text(encoding="utf-8")


def test_migrate_upgrades_an_older_file_once(tmp_path):
    old = MIGRATIONS[:1]
    newer = [*old, "ALTER TABLE customers ADD COLUMN loyalty_tier VARCHAR"]
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert store.migrate(con, old) == [1]
    con.execute("INSERT INTO services (service) VALUES ('Repair')")
    assert store.migrate(con, newer) == [2]
    assert store.migrate(con, newer) == []  # idempotent
    assert store.schema_version(con) == 2
    assert con.execute("SELECT count(*) FROM services").fetchone()[0] == 1  # data survives
    assert "loyalty_tier" in [r[0] for r in con.execute("DESCRIBE customers").fetchall()]


def test_failed_migration_leaves_file_unchanged(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    store.migrate(con, MIGRATIONS[:1])
    with pytest.raises(duckdb.Error):
        store.migrate(con, [*MIGRATIONS[:1], "ALTER TABLE customers ADD COLUMN x INT; SELECT nope"])
    assert store.schema_version(con) == 1
    assert "x" not in [r[0] for r in con.execute("DESCRIBE customers").fetchall()]


def test_newer_file_is_refused(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    store.migrate(con, [*MIGRATIONS, "SELECT 1"])
    with pytest.raises(WorkbookError, match="newer Delta Workbook"):
        store.migrate(con)


def test_unknown_client_says_how_to_create_it(home):
    with pytest.raises(WorkbookError, match="workbook init nobody"):
        store.read("nobody")


def test_read_only_connections_can_coexist(client):
    a, b = store.read(client), store.read(client)
    assert a.execute("SELECT 1").fetchone() == b.execute("SELECT 1").fetchone()


def test_pseudonyms_are_keyed_and_normalized():
    p, q = privacy.Pseudonymizer(b"salt-one"), privacy.Pseudonymizer(b"salt-two")
    assert p("email", " Ann@Example.COM ") == p("email", "ann@example.com")
    assert p("email", "ann@example.com") != q("email", "ann@example.com")
    assert p("phone", "+1 (555) 010-2000") == p("phone", "15550102000")
    assert p("email", "") is None and p("email", None) is None
    assert re.fullmatch(r"[A-Za-z0-9_-]{12}", p("name", "Ann Lee"))  # inline in DuckDB: <= 12 bytes


def test_schema_2_turns_schema_1_pseudonyms_into_todays(tmp_path):
    """Ids written by schema 1 (the HMAC's first 32 hex digits) become the ids `privacy`
    computes now, so later imports and `forget` still find those people."""
    salt = b"client-salt"
    old = {
        who: hmac.new(salt, f"email:{who}".encode(), hashlib.sha256).hexdigest()[:32]
        for who in ["ann@example.com", "bob@example.com"]
    }
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    store.migrate(con, MIGRATIONS[:1])
    for who, cid in old.items():
        con.execute("INSERT INTO customers (customer_id, customer_key) VALUES (?, ?)", [cid, f"C-{cid[:8]}"])
        con.execute(
            "INSERT INTO feedback (feedback_id, customer_id, submitted_at) VALUES (?, ?, '2025-01-01')",
            [who, cid],
        )
    orders = [
        ("o1", old["bob@example.com"], "2025-01-01"),
        ("o2", "walk-in-id", "2025-01-02"),
        ("o3", old["ann@example.com"], "2025-01-03"),
        ("o4", old["bob@example.com"], "2025-01-04"),
    ]
    con.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES (?, ?, ?, 1)", orders
    )
    assert store.migrate(con, MIGRATIONS[:2]) == [2]

    now = {who: privacy.Pseudonymizer(salt)("email", who) for who in old}
    assert con.execute("SELECT customer_id, customer_key FROM customers ORDER BY 1").fetchall() == sorted(
        (cid, f"C-{cid[:8]}") for cid in now.values()
    )
    assert dict(con.execute("SELECT feedback_id, customer_id FROM feedback").fetchall()) == now
    stored = con.execute("SELECT order_id, customer_id FROM orders ORDER BY rowid").fetchall()
    assert sorted(stored, key=lambda r: (r[1], r[0])) == stored  # grouped by customer
    assert dict(stored) == {
        "o1": now["bob@example.com"],
        "o2": "walk-in-id",  # not a pseudonym: kept
        "o3": now["ann@example.com"],
        "o4": now["bob@example.com"],
    }


def test_forget_erases_one_person_everywhere(rw, client):
    me = privacy.pseudonymizer(load_client(client))("email", "ann@example.com")
    other = privacy.pseudonymizer(load_client(client))("email", "bob@example.com")
    for who, order in [(me, "1"), (other, "2")]:
        rw.execute("INSERT INTO customers (customer_id, customer_key) VALUES (?, ?)", [who, who[:8]])
        rw.execute(
            "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES (?, ?, '2025-01-01', 10)",
            [order, who],
        )
        rw.execute("INSERT INTO order_items (order_id, line_no, revenue) VALUES (?, 1, 10)", [order])
        rw.execute(
            "INSERT INTO feedback (feedback_id, customer_id, submitted_at, nps) VALUES (?, ?, '2025-01-02', 9)",
            [order, who],
        )
    rw.close()
    deleted = privacy.forget(client, "email", "ANN@example.com")
    assert deleted["customers"] == 1 and deleted["orders"] == 1
    assert deleted["order_items"] == 1 and deleted["feedback"] == 1
    con = store.read(client)
    assert con.execute("SELECT count(*) FROM orders").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM customers WHERE customer_id = ?", [me]).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM order_items").fetchone()[0] == 1


def test_client_dir_never_leaves_home(home):
    assert paths.client_dir("ok-name").parent == home


def test_transaction_commits_or_rolls_back_everything(rw):
    with store.transaction(rw):
        rw.execute("INSERT INTO services (service) VALUES ('Repair')")
    with pytest.raises(ValueError), store.transaction(rw):
        rw.execute("INSERT INTO services (service) VALUES ('Install')")
        raise ValueError("stop half-way")
    assert rw.execute("SELECT list(service) FROM services").fetchone()[0] == ["Repair"]


def test_results_are_shared_per_read_only_connection_only(client):
    calls = []

    @store.once_per_read_only
    def orders(con, since):
        calls.append(since)
        return con.execute("SELECT count(*) FROM orders WHERE ordered_at >= ?", [since]).fetchone()[0]

    reader = store.read(client)
    assert orders(reader, "2026-01-01") == orders(reader, "2026-01-01")
    orders(reader, "2026-02-01")
    assert len(calls) == 2  # once per arguments on a read-only connection
    other = store.read(client)
    orders(other, "2026-01-01")
    assert len(calls) == 3  # and per connection
    reader.close()
    other.close()
    with store.write(client) as writer:  # data that can change is never reused
        orders(writer, "2026-01-01")
        orders(writer, "2026-01-01")
    assert len(calls) == 5


def test_one_row_reads_exactly_one_and_leaves_the_connection_free():
    con = duckdb.connect()
    assert store.one_row(con, "SELECT $a, $a + 1", {"a": 1}) == (1, 2)
    con.register("frame", pd.DataFrame({"x": [1]}))  # refused while a result is unfinished
    assert store.scalar(con, "SELECT sum(x) FROM frame") == 1
    for sql in ("SELECT 1 WHERE false", "SELECT * FROM range(2)"):
        with pytest.raises(LookupError, match="rows from a query that always returns one"):
            store.one_row(con, sql)


def test_settings_are_read_from_client_toml_with_documented_defaults(tmp_path):
    db = tmp_path / paths.DB_FILE
    default = client_at("x", db).settings
    assert default == Settings() and default.given == frozenset()
    assert default.cost_per_send == {"generic": 0.01, "personalized": 0.02}
    (tmp_path / "client.toml").write_text(
        'slug = "x"\n[costs]\nemail_send = 0.004\ntool_per_month = 49\n'
        "[time_saved]\nhours_per_month = 6\n"
        "[index_weights.customer_experience]\nNPS = 0.5\n[ab_splits.C1]\nGeneric = 0.8\nPersonalized = 0.2\n",
        encoding="utf-8",
    )
    s = client_at("x", db).settings
    assert (s.email_send, s.personalized_email_send, s.tool_per_month) == (0.004, 0.02, 49.0)
    assert (s.hours_saved_per_month, s.hourly_rate) == (6.0, 40.0)
    assert s.given == {"email_send", "tool_per_month", "hours_saved_per_month"}
    assert s.is_given("email_send") and not s.is_given("personalized_email_send")
    assert dict(s.index_weights["customer_experience"]) == {"NPS": 0.5}
    assert dict(s.ab_splits["C1"]) == {"Generic": 0.8, "Personalized": 0.2}


@pytest.mark.parametrize(
    "toml, message",
    [
        ("[costs]\nemail_cost = 0.01\n", r"\[costs\] has no setting 'email_cost'; use email_send"),
        ("[costs]\nemail_send = -0.01\n", r"\[costs\] email_send = -0.01 must be a number, 0 or more"),
        ('[time_saved]\nhourly_rate = "forty"\n', r"\[time_saved\] hourly_rate = 'forty' must be a number"),
        ("costs = 3\n", "costs must be a table"),
        ("[ab_splits.C1]\nA = 0\nB = 0\n", r"\[ab_splits.C1\] needs a share above 0"),
        ("[index_weights]\ncustomer_experience = 1\n", "index_weights.customer_experience must be a table"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_the_key_and_the_fix(tmp_path, toml, message):
    (tmp_path / "client.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(WorkbookError, match=message) as err:
        client_at("x", tmp_path / paths.DB_FILE)
    assert "\n" not in str(err.value) and "client.toml" in str(err.value)


def test_record_settings_adds_only_what_client_toml_does_not_set(tmp_path):
    path = tmp_path / "client.toml"
    path.write_text('slug = "x"\ndisplay_name = "X"\n[costs]\nemail_send = 0.004\n', encoding="utf-8")
    client = client_at("x", tmp_path / paths.DB_FILE)
    tables = {"costs": {"email_send": 0.01, "tool_per_month": 30.0}, "time_saved": {"hours_per_month": 4.0}}
    assert record_settings(client, tables) is True
    assert record_settings(client, tables) is False
    s = client_at("x", tmp_path / paths.DB_FILE).settings
    assert (s.email_send, s.tool_per_month, s.hours_saved_per_month) == (0.004, 30.0, 4.0)  # the edit wins
    before = path.read_text(encoding="utf-8")
    with pytest.raises(WorkbookError, match="must be a number, 0 or more"):
        record_settings(client, {"time_saved": {"hourly_rate": -1}})
    assert path.read_text(encoding="utf-8") == before  # refused before anything is written


# ---------------------------------------------------------------------------- snapshots


def _orders(db_path) -> int:
    con = store.read(db_path=db_path)
    try:
        return store.scalar(con, "SELECT count(*) FROM orders")
    finally:
        con.close()


def test_a_snapshot_keeps_the_rows_a_writer_left_in_the_write_ahead_log(rw, client, home, tmp_path):
    rw.execute("INSERT INTO orders (order_id, ordered_at, revenue) VALUES ('o1', '2026-03-02', 10)")
    rw.close()
    # a writer that stopped before folding its log into the file (as a killed import does)
    con = duckdb.connect(str(home / client / paths.DB_FILE))
    con.execute("PRAGMA disable_checkpoint_on_shutdown")
    con.execute("INSERT INTO orders (order_id, ordered_at, revenue) VALUES ('o2', '2026-03-03', 20)")
    con.close()
    assert (home / client / f"{paths.DB_FILE}.wal").exists()
    copy = snapshot(load_client(client), tmp_path)
    assert copy.db_path == tmp_path / paths.DB_FILE
    assert _orders(copy.db_path) == 2


def test_a_snapshot_carries_the_clients_settings_but_not_its_salt(home, tmp_path):
    original = client_at("shop", home / "shop" / paths.DB_FILE)
    init_client("shop", "Corner Shop", "coffee-shop", "EUR", "Europe/Berlin")
    record_rollout(load_client("shop"), Rollout("Loyalty card", dt.date(2026, 5, 1), "region", ("north",)))
    record_settings(load_client("shop"), {"costs": {"email_send": 0.03}})
    copy = snapshot(load_client("shop"), tmp_path)
    live = load_client("shop")
    assert (copy.config, copy.rollouts, copy.settings) == (live.config, live.rollouts, live.settings)
    assert copy.settings.email_send == 0.03
    assert copy.name == "Corner Shop" and copy.rollouts[0].name == "Loyalty card"
    assert original.name != copy.name  # without client.toml beside the copy, defaults would show
    assert not (tmp_path / paths.SALT_FILE).exists()


# A writer in another process (an import) that tries to commit while the snapshot is copied.
WRITER = """
import duckdb, sys
try:
    con = duckdb.connect(sys.argv[1])
    con.execute("INSERT INTO orders (order_id, ordered_at, revenue) VALUES ('late', '2026-03-04', 5)")
    con.close()
    print("committed")
except duckdb.Error as err:
    print("refused:", " ".join(str(err).split())[:60])
"""


def test_no_writer_can_commit_while_the_snapshot_is_copied(rw, client, home, tmp_path, monkeypatch):
    import subprocess
    import sys

    from workbook.store import clients

    rw.execute("INSERT INTO orders (order_id, ordered_at, revenue) VALUES ('o1', '2026-03-02', 10)")
    rw.close()
    db = home / client / paths.DB_FILE
    copy_file = clients.shutil.copyfile
    tried = []

    def copy_while_a_writer_tries(src, dst):
        if src == db:
            run = subprocess.run([sys.executable, "-c", WRITER, str(db)], capture_output=True, text=True)
            tried.append(run.stdout.strip())
        return copy_file(src, dst)

    monkeypatch.setattr(clients.shutil, "copyfile", copy_while_a_writer_tries)
    copy = snapshot(load_client(client), tmp_path)
    assert len(tried) == 1 and tried[0].startswith("refused: IO Error: Could not set lock"), tried
    assert _orders(copy.db_path) == 1
    monkeypatch.undo()
    run = subprocess.run([sys.executable, "-c", WRITER, str(db)], capture_output=True, text=True)
    assert run.stdout.strip() == "committed"  # the lock is released once the copy is taken
    assert (_orders(db), _orders(copy.db_path)) == (2, 1)


def test_a_snapshot_of_a_locked_database_is_refused_as_locked(client, held_by_another_process, tmp_path):
    folder = tmp_path / "snapshot"
    folder.mkdir()
    with pytest.raises(WorkbookError, match="is locked by another process"):
        snapshot(load_client(client), folder)
    assert list(folder.iterdir()) == []
