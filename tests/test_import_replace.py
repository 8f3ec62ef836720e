"""`workbook import ... --replace`: a file read wrongly by its mapping is imported again with a
corrected one, its earlier rows replaced in one transaction, rows of other files untouched."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from _importer_files import write_csv

from workbook import cli, store
from workbook.importers import import_files

SPEND = "name: ads\ntable: spend\ncolumns: {Date: spent_on, Channel: channel, Spend: amount}\n"


def mapping(tmp_path, name: str, date_format: str | None) -> str:
    """A spend mapping file reading dates with `date_format` (None: the importer detects ISO)."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(SPEND + (f"format: {{date: '{date_format}'}}\n" if date_format else ""))
    return str(path)


def spend_file(tmp_path, name: str, rows: list[tuple[str, str]]):
    return write_csv(tmp_path / name, ["Date", "Channel", "Spend"], [[d, "paid_social", a] for d, a in rows])


def spend(client) -> list[tuple[dt.date, Decimal]]:
    con = store.read(client)
    try:
        return con.execute("SELECT spent_on, amount FROM spend ORDER BY spent_on").fetchall()
    finally:
        con.close()


def imports(client) -> int:
    con = store.read(client)
    try:
        return con.execute("SELECT count(*) FROM imports").fetchall()[0][0]
    finally:
        con.close()


# day/month dates, first read as month/day
DAY_FIRST = [("03/04/2026", "10.00"), ("05/06/2026", "20.00")]
READ_WRONG = [(dt.date(2026, 3, 4), Decimal("10.00")), (dt.date(2026, 5, 6), Decimal("20.00"))]
READ_RIGHT = [(dt.date(2026, 4, 3), Decimal("10.00")), (dt.date(2026, 6, 5), Decimal("20.00"))]


def test_replace_reads_the_file_again_with_the_corrected_mapping(client, tmp_path, capsys):
    f = spend_file(tmp_path, "spend.csv", DAY_FIRST)
    import_files(client, [f], mapping(tmp_path, "wrong", "%m/%d/%Y"))
    assert spend(client) == READ_WRONG

    right = mapping(tmp_path, "right", "%d/%m/%Y")
    again = import_files(client, [f], right)[0]
    assert again.already_imported and "add --replace" in again.summary()
    assert spend(client) == READ_WRONG

    assert cli.main(["import", client, str(f), "--source", right, "--replace"]) == 0
    out = capsys.readouterr().out
    assert "spend.csv: 2 rows -> spend: 2 new" in out
    assert "2 rows of its earlier import replaced" in out
    assert spend(client) == READ_RIGHT  # no row left of the wrong reading
    assert imports(client) == 2


def test_a_failure_during_the_replace_leaves_the_old_rows(client, tmp_path, monkeypatch):
    f = spend_file(tmp_path, "spend.csv", DAY_FIRST)
    import_files(client, [f], mapping(tmp_path, "wrong", "%m/%d/%Y"))

    def fail(*args):
        raise RuntimeError("disk full")  # after the earlier rows were deleted

    monkeypatch.setattr("workbook.importers.upsert", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        import_files(client, [f], mapping(tmp_path, "right", "%d/%m/%Y"), replace=True)
    assert spend(client) == READ_WRONG
    assert imports(client) == 1


def test_rows_of_other_files_are_untouched(client, tmp_path):
    f = spend_file(tmp_path, "spend.csv", DAY_FIRST)
    import_files(client, [f], mapping(tmp_path, "wrong", "%m/%d/%Y"))
    # another export, later: it updates the (wrongly dated) 6 May row and adds its own
    other = spend_file(tmp_path, "other.csv", [("2026-05-06", "99.00"), ("2026-07-01", "5.00")])
    import_files(client, [other], mapping(tmp_path, "iso", None))

    result = import_files(client, [f], mapping(tmp_path, "right", "%d/%m/%Y"), replace=True)[0]
    assert result.replaced == 1  # 4 March only: 6 May now belongs to other.csv
    assert spend(client) == [
        (dt.date(2026, 4, 3), Decimal("10.00")),
        (dt.date(2026, 5, 6), Decimal("99.00")),
        (dt.date(2026, 6, 5), Decimal("20.00")),
        (dt.date(2026, 7, 1), Decimal("5.00")),
    ]


def test_replace_of_a_file_never_imported_is_a_plain_import(client, tmp_path):
    f = spend_file(tmp_path, "spend.csv", DAY_FIRST)
    result = import_files(client, [f], mapping(tmp_path, "right", "%d/%m/%Y"), replace=True)[0]
    assert result.replaced == 0 and "replaced" not in result.summary()
    assert spend(client) == READ_RIGHT


ORDERS = (
    "name: shop\ntable: orders\ncolumns: {{Order: order_id, Date: ordered_at, Total: revenue}}\n"
    "identity: [{{column: Email, kind: email}}]\nformat: {{date: '{}'}}\n"
)


def test_customers_keep_what_other_sources_gave_and_lose_the_wrong_first_seen(client, tmp_path):
    (tmp_path / "crm.yaml").write_text(
        "name: crm\ntable: customers\ncolumns: {Region: region}\nidentity: [{column: Email, kind: email}]\n"
    )
    crm = write_csv(tmp_path / "crm.csv", ["Email", "Region"], [["ann@example.com", "north"]])
    import_files(client, [crm], str(tmp_path / "crm.yaml"))
    (tmp_path / "wrong.yaml").write_text(ORDERS.format("%m/%d/%Y"))
    (tmp_path / "right.yaml").write_text(ORDERS.format("%d/%m/%Y"))
    sales = write_csv(
        tmp_path / "orders.csv",
        ["Order", "Date", "Email", "Total"],
        [["1", "03/04/2026", "ann@example.com", "10"], ["2", "05/06/2026", "bob@example.com", "20"]],
    )
    import_files(client, [sales], str(tmp_path / "wrong.yaml"))
    result = import_files(client, [sales], str(tmp_path / "right.yaml"), replace=True)[0]
    assert result.replaced == 4  # 2 orders, and the 2 customers they last wrote
    con = store.read(client)
    try:
        found = con.execute("SELECT first_seen_at, region FROM customers ORDER BY first_seen_at").fetchall()
    finally:
        con.close()
    # ann's region from the CRM export stays; nobody keeps the earlier, wrong, first order date
    assert found == [(dt.datetime(2026, 4, 3), "north"), (dt.datetime(2026, 6, 5), None)]


def test_customers_only_the_wrong_reading_named_are_dropped(client, tmp_path):
    identity = "name: shop\ntable: orders\ncolumns: {{Order: order_id, Total: revenue, Date: ordered_at}}\nidentity: [{{column: {}, kind: email}}]\n"
    (tmp_path / "wrong.yaml").write_text(identity.format("Referrer"))
    (tmp_path / "right.yaml").write_text(identity.format("Email"))
    sales = write_csv(
        tmp_path / "orders.csv",
        ["Order", "Date", "Email", "Referrer", "Total"],
        [["1", "2026-04-03", "ann@example.com", "zoe@example.com", "10"]],
    )
    import_files(client, [sales], str(tmp_path / "wrong.yaml"))
    import_files(client, [sales], str(tmp_path / "right.yaml"), replace=True)
    con = store.read(client)
    try:
        customers = con.execute("SELECT customer_id FROM customers").fetchall()
        buyers = con.execute("SELECT customer_id FROM orders").fetchall()
    finally:
        con.close()
    assert customers == buyers and len(customers) == 1  # zoe, whom the wrong reading made a buyer, is gone
