"""`workbook demo`: three sample clients through the importers, idempotent, nothing in the checkout."""

from __future__ import annotations

import json

import duckdb

from workbook import store
from workbook.core import paths
from workbook.sample.demo import build_clients, build_demo
from workbook.store.clients import list_clients, load_client


def snapshot(folder):
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def test_demo_builds_three_clients_then_changes_nothing(home, capsys):
    checkout_data = paths.project_root() / "data"
    before = snapshot(checkout_data / "sample")
    checkout_clients = (
        set(snapshot(checkout_data / "clients")) if (checkout_data / "clients").exists() else set()
    )

    build_demo(quiet=True)
    first_line = capsys.readouterr().out.strip()
    assert first_line.count("\n") == 0 and "updated coffee-shop, online-store, home-services" in first_line
    assert list_clients() == ["coffee-shop", "home-services", "online-store"]
    assert load_client("online-store").config.timezone == "America/Los_Angeles"
    assert load_client("coffee-shop").name == "Bean Counter Coffee"

    again = build_clients(progress=False)
    assert all(not d.created and not d.changed for d in again)
    assert all(r.already_imported for d in again for r in d.results)
    rows = {d.client.slug: d.rows for d in again}
    assert rows["online-store"]["orders"] > 10_000
    assert rows["online-store"]["campaign_sends"] > 20_000
    assert rows["coffee-shop"]["orders"] > 10_000
    assert rows["home-services"]["leads"] > 3_000
    assert set(rows["online-store"]) >= {
        "customers",
        "orders",
        "order_items",
        "campaigns",
        "campaign_results",
        "campaign_sends",
        "touches",
        "feedback",
        "spend",
        "web_sessions",
    }
    assert set(rows["home-services"]) >= {"leads", "orders", "services", "feedback", "touches"}

    build_demo(quiet=False)
    assert "Nothing changed" in capsys.readouterr().out
    assert rows == {d.client.slug: d.rows for d in build_clients(progress=False)}

    assert snapshot(checkout_data / "sample") == before
    now = set(snapshot(checkout_data / "clients")) if (checkout_data / "clients").exists() else set()
    assert now == checkout_clients
    assert (home / "online-store" / "workbook.duckdb").is_file()


def test_demo_writes_missing_samples_first(home, tmp_path):
    sample = tmp_path / "sample"
    built = build_clients(sample, progress=False)
    assert (sample / "online-store" / "orders_export_1.csv.gz").is_file()
    assert [d.client.slug for d in built] == ["coffee-shop", "online-store", "home-services"]


def test_changed_sample_rebuilds_the_client_without_stale_rows(home, tmp_path):
    sample = tmp_path / "sample"
    build_clients(sample, progress=False)
    reviews = sample / "home-services" / "google_reviews.json"
    data = json.loads(reviews.read_text())
    data["reviews"] = data["reviews"][:10]  # a new sample version with fewer reviews
    reviews.write_text(json.dumps(data))
    again = {d.client.slug: d for d in build_clients(sample, progress=False)}
    assert again["home-services"].rebuilt and not again["online-store"].rebuilt
    assert again["home-services"].rows["feedback"] == 10
    assert not again["online-store"].changed


def test_demo_upgrades_a_sample_client_of_an_older_schema(home):
    # A checkout whose sample clients were built by an earlier version: `make report` runs the
    # demo first, which must upgrade them rather than stop with "schema version 2".
    from workbook.sample import SAMPLE_CLIENTS
    from workbook.sample.demo import _drop_if_outdated
    from workbook.store.schema import LATEST_VERSION, MIGRATIONS

    db = paths.db_path("coffee-shop")
    db.parent.mkdir(parents=True)
    con = duckdb.connect(str(db))
    store.migrate(con, MIGRATIONS[:2])
    con.close()
    assert not _drop_if_outdated(SAMPLE_CLIENTS["coffee-shop"], paths.sample_dir())  # nothing imported yet
    con = store.read(db_path=db)
    try:
        assert store.schema_version(con) == LATEST_VERSION
    finally:
        con.close()
