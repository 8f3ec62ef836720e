"""Messy order files through a mapping file (issue 14, point 9): what imports, what is said.

A file of orders (order id, e-mail, name, date, total, channel, location) as small businesses
keep them: copied rows, N/A and NULL for nothing, currency codes beside totals, bad e-mails,
dates in the future, Latin-1 text, unused columns, a ZIP named .csv. Each test checks the rows
in the database and the one line of the import summary that names the lines.
"""

from __future__ import annotations

import datetime as dt
import gzip
import zipfile
from decimal import Decimal

import pytest
from _importer_files import write_csv
from test_importers_input import error, table

from workbook.importers import ImportError_, import_files
from workbook.store.clients import load_client
from workbook.store.privacy import pseudonymizer

ORDERS = """name: shop-orders
table: orders
columns: {Order ID: order_id, Date: ordered_at, Total: revenue, Channel: channel, Location: location}
identity:
  - {column: E-mail, kind: email}
  - {column: Name, kind: name}
"""
HEADERS = ["Order ID", "E-mail", "Name", "Date", "Total", "Channel", "Location"]


def order(oid: str, total: str = "10.00", email: str | None = None, **cells: str) -> dict:
    return {
        "Order ID": oid,
        "E-mail": f"{oid.lower()}@example.com" if email is None else email,
        "Name": f"Person {oid}",
        "Date": "2026-01-05 10:00",
        "Total": total,
        "Channel": "web",
        "Location": "Riverton",
        **cells,
    }


def mapping(tmp_path, text: str = ORDERS) -> str:
    (tmp_path / "orders.yaml").write_text(text)
    return str(tmp_path / "orders.yaml")


def messy(client, tmp_path, rows, headers=HEADERS, text: str = ORDERS, **kw):
    """Import `rows` (dicts) as orders.csv with the mapping; returns the one ImportResult."""
    f = write_csv(tmp_path / "orders.csv", headers, rows, **kw)
    [result] = import_files(client, [f], mapping(tmp_path, text))
    return result


def orders_in(client, columns: str = "order_id, revenue"):
    return table(client, f"SELECT {columns} FROM orders ORDER BY order_id")


# --- copies and conflicts --------------------------------------------------------------------


def test_exact_duplicate_rows_import_once_and_their_lines_are_named(client, tmp_path):
    a, b = order("A1"), order("A2", "20.00")
    rows = [a, b, a, order("A3"), b, a, a, a, b]  # 6 copies: file lines 4, 6, 7, 8, 9, 10
    result = messy(client, tmp_path, rows)
    assert orders_in(client) == [("A1", Decimal("10.00")), ("A2", Decimal("20.00")), ("A3", Decimal("10.00"))]
    assert result.notes == [
        "6 rows repeating an earlier row exactly, imported once (skipped: lines 4, 6, 7, 8, 9 and 1 more)"
    ]
    assert "  note: 6 rows repeating an earlier row exactly" in result.summary()
    assert result.inserted["orders"] == 3 and result.rows_read == 9
    assert "repeating an earlier row" in table(client, "SELECT warnings FROM imports")[0][0]


def test_one_copy_names_its_line(client, tmp_path):
    result = messy(client, tmp_path, [order("A1"), order("A1")])
    assert result.notes == ["1 row repeating an earlier row exactly, imported once (skipped: line 3)"]


def test_conflicting_rows_for_one_order_are_refused_naming_both_lines_and_the_difference(client, tmp_path):
    f = write_csv(tmp_path / "orders.csv", HEADERS, [order("A1"), order("A2"), order("A1", "12.00")])
    msg = error(client, f, mapping(tmp_path))
    assert msg.startswith(
        "orders.csv, row 1 (line 2) and row 3 (line 4) have the same orders key 'A1' (column "
        "'Order ID'); they differ in 'Total' ('10.00' and '12.00'): each must appear once in a "
        "file. Remove the wrong row"
    )


def test_a_copy_differing_only_in_spaces_is_a_conflict_not_a_copy(client, tmp_path):
    # copies are the same text in every column read; a changed cell is not guessed at
    f = write_csv(tmp_path / "orders.csv", HEADERS, [order("A1"), order("A1", Location="Riverton ")])
    assert "they differ in 'Location' ('Riverton' and 'Riverton ')" in error(client, f, mapping(tmp_path))


# --- orders worth a look ---------------------------------------------------------------------


def test_zero_total_orders_and_refunds_are_listed(client, tmp_path):
    rows = [order("A1"), order("A2", "0"), order("A3", "-5.00"), order("A4", "0.00"), order("A5", "(3.50)")]
    result = messy(client, tmp_path, rows)
    assert orders_in(client) == [
        ("A1", Decimal("10.00")),
        ("A2", Decimal("0.00")),
        ("A3", Decimal("-5.00")),
        ("A4", Decimal("0.00")),
        ("A5", Decimal("-3.50")),
    ]
    assert result.notes == [
        "2 orders with a total of 0 (lines 3, 5): imported; each counts as a purchase with no "
        "revenue; check they are not test orders or missing totals",
        "2 refunds, a negative total (lines 4, 6): imported; they lower revenue and are not purchases",
    ]


def test_zero_orders_the_export_explains_are_not_listed(client, tmp_path):
    # cancelled, or fully refunded: not purchases, and the export says why the total is 0
    text = ORDERS.replace("location}", "location, Voided: cancelled, Refunded: refunded}")
    rows = [
        order("A1", "0", Voided="yes", Refunded="0"),
        order("A2", "0", Voided="no", Refunded="10.00"),
        order("A3", "0", Voided="no", Refunded="0"),
    ]
    result = messy(client, tmp_path, rows, headers=[*HEADERS, "Voided", "Refunded"], text=text)
    assert [n.split(":")[0] for n in result.notes] == ["1 order with a total of 0 (line 4)"]


def test_presets_name_the_first_such_order_by_its_id(client, tmp_path):
    from test_importers_input import orders

    # and say nothing of the columns they leave unused by design
    [result] = import_files(client, [orders(tmp_path, Subtotal="0", Total="0")], "shopify-orders")
    assert result.notes == [
        "1 order with a total of 0 (first: 'shopify:#1001'): imported; each counts as a purchase "
        "with no revenue; check they are not test orders or missing totals"
    ]


def test_invalid_emails_import_and_fall_back_to_the_name(client, tmp_path):
    rows = [
        order("A1"),
        order("A2", email="bob(at)example.com", Name="Bob Stone"),
        order("A3", email="cy@example", Name="Cy"),
        order("A4", email="not an email", Name=""),
    ]
    result = messy(client, tmp_path, rows)
    p = pseudonymizer(load_client(client))
    assert dict(orders_in(client, "order_id, customer_id")) == {
        "A1": p("email", "a1@example.com"),
        "A2": p("name", "Bob Stone"),
        "A3": p("name", "Cy"),
        "A4": None,  # nothing else to tell who it is: an order without a customer
    }
    assert result.warnings == [
        "3 rows with an e-mail in 'E-mail' that is not valid (lines 3, 4, 5; first: "
        "'bob(at)example.com'): imported, identified by 'Name' instead; 1 of them with nothing "
        "else to identify them, without a customer. Fix the addresses in the source if they matter."
    ]


def test_every_future_dated_row_is_counted_and_the_first_lines_named(client, tmp_path):
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    rows = [
        order(f"A{i}", Date=f"{future} 09:00" if i in (2, 4, 5, 6, 7, 8, 9) else "2026-01-05")
        for i in range(1, 10)
    ]
    result = messy(client, tmp_path, rows)
    assert result.warnings == [
        f"7 rows with 'Date' in the future (lines 3, 5, 6, 7, 8 and 2 more; first: '{future} 09:00'): "
        f"imported as they are. Check the export's dates and the client's timezone (UTC)."
    ]
    assert len(orders_in(client)) == 9


# --- values ----------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["N/A", "n/a", "NULL", "null", "NaN", "-", "", "  N/A  "])
def test_null_tokens_are_missing_by_default(client, tmp_path, token):
    rows = [order("A1", Location=token, Channel=token, email=token, Name="Ann Lee")]
    messy(client, tmp_path, rows)
    p = pseudonymizer(load_client(client))
    assert orders_in(client, "location, channel, customer_id") == [(None, None, p("name", "Ann Lee"))]


def test_a_null_token_in_a_required_column_is_an_empty_value(client, tmp_path):
    f = write_csv(tmp_path / "orders.csv", HEADERS, [order("A1"), order("A2", "N/A")])
    assert error(client, f, mapping(tmp_path)).startswith(
        "orders.csv, row 2 (line 3), column 'Total' is empty, but every row needs it (revenue)."
    )


def test_the_mapping_can_declare_its_own_null_tokens(client, tmp_path):
    text = ORDERS + 'format: {missing: ["unknown", "?"]}\n'
    rows = [order("A1", Location="Unknown"), order("A2", Location="?"), order("A3", Location="N/A")]
    messy(client, tmp_path, rows, text=text)
    # the mapping's list replaces the default one: N/A is then a place name like any other
    assert orders_in(client, "order_id, location") == [("A1", None), ("A2", None), ("A3", "N/A")]


def test_a_mapping_null_token_list_of_the_wrong_shape_is_refused(client, tmp_path):
    f = write_csv(tmp_path / "orders.csv", HEADERS, [order("A1")])
    msg = error(client, f, mapping(tmp_path, ORDERS + "format: {missing: {a: b}}\n"))
    assert msg.startswith("Mapping file orders.yaml: format.missing must be a text or a list of texts")


def test_currency_codes_read_like_symbols_and_another_currency_is_flagged(client, tmp_path):
    totals = ["USD 45.00", "45.00 USD", "USD45", "$ 1,234.50 USD", "45.00 EUR", "EUR 5"]
    result = messy(client, tmp_path, [order(f"A{i}", t) for i, t in enumerate(totals, 1)])
    assert [r for _, r in orders_in(client)] == [Decimal(v) for v in ("45", "45", "45", "1234.50", "45", "5")]
    assert result.warnings == [
        "2 rows in another currency than the client's USD by 'Total' (lines 6, 7; first: '45.00 EUR'): "
        "their amounts were imported as they are. Convert them, or check the client's currency "
        "in client.toml."
    ]


def test_a_decimal_comma_with_a_code_is_still_refused_with_the_fix(client, tmp_path):
    f = write_csv(tmp_path / "orders.csv", HEADERS, [order("A1", "45,00 EUR")])
    msg = error(client, f, mapping(tmp_path))
    assert msg.startswith("orders.csv, row 1 (line 2), column 'Total': '45,00 EUR' is not a number.")
    assert 'format: {decimal: ",", thousands: "."}' in msg


# --- files -----------------------------------------------------------------------------------


def test_a_latin1_file_says_which_encoding_was_read(client, tmp_path):
    result = messy(client, tmp_path, [order("A1", Location="Grünau")], encoding="latin-1")
    assert orders_in(client, "location") == [("Grünau",)]
    assert result.notes == [
        "orders.csv is not UTF-8: read as Windows-1252 (Western European) text. If accented "
        "letters look wrong in the report, export it again as UTF-8"
    ]


def test_bytes_windows_1252_leaves_undefined_are_read_as_latin1_and_said(client, tmp_path):
    f = tmp_path / "orders.csv"
    f.write_bytes(f"{','.join(HEADERS)}\nA1,a@b.co,Ann,2026-01-05,10,web,Gr\u00fcnau\x81\n".encode("latin-1"))
    [result] = import_files(client, [f], mapping(tmp_path))
    assert result.notes == [
        "orders.csv is not UTF-8: read as Latin-1 text. If accented letters look wrong in the "
        "report, export it again as UTF-8"
    ]


def test_a_utf8_file_with_a_bom_says_nothing_about_its_encoding(client, tmp_path):
    result = messy(client, tmp_path, [order("A1", Location="Grünau")], encoding="utf-8-sig")
    assert result.notes == [] and orders_in(client, "location") == [("Grünau",)]


def test_unused_columns_are_counted_and_the_first_few_named(client, tmp_path):
    extra = [f"Extra {i}" for i in range(1, 194)]
    result = messy(client, tmp_path, [order("A1")], headers=[*HEADERS[:3], *extra, *HEADERS[3:]])
    assert result.notes == [
        "193 columns not used by shop-orders (ignored): 'Extra 1', 'Extra 2', 'Extra 3', "
        "'Extra 4', 'Extra 5' and 188 more"
    ]
    assert orders_in(client) == [("A1", Decimal("10.00"))]


def _csv_bytes(tmp_path) -> bytes:
    return write_csv(tmp_path / "inner.csv", HEADERS, [order("A1")]).read_bytes()


def test_a_zip_named_csv_is_read_from_its_single_csv(client, tmp_path):
    f = tmp_path / "orders.csv"
    with zipfile.ZipFile(f, "w") as archive:
        archive.writestr("export_2026.csv", _csv_bytes(tmp_path))
    [result] = import_files(client, [f], mapping(tmp_path))
    assert orders_in(client) == [("A1", Decimal("10.00"))]
    assert (
        result.notes[0] == "orders.csv is a ZIP archive, not text: read export_2026.csv, the file inside it"
    )


def test_a_gzip_named_csv_is_read_too(client, tmp_path):
    f = tmp_path / "orders.csv"
    f.write_bytes(gzip.compress(_csv_bytes(tmp_path)))
    [result] = import_files(client, [f], mapping(tmp_path))
    assert orders_in(client) == [("A1", Decimal("10.00"))]
    assert result.notes[0] == "orders.csv is gzip-compressed, not text: unpacked and read"


def test_a_zip_named_csv_with_several_files_says_unzip_it(client, tmp_path):
    f = tmp_path / "orders.csv"
    with zipfile.ZipFile(f, "w") as archive:
        archive.writestr("a.csv", _csv_bytes(tmp_path))
        archive.writestr("b.csv", _csv_bytes(tmp_path))
    msg = error(client, f, mapping(tmp_path))
    assert msg.startswith("orders.csv holds 2 files (a.csv, b.csv)") and "Unzip it" in msg


def test_an_xlsx_named_csv_is_told_to_be_renamed(client, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(HEADERS)
    book.save(tmp_path / "orders.csv")
    msg = error(client, tmp_path / "orders.csv", mapping(tmp_path))
    assert msg.startswith("orders.csv is an Excel .xlsx workbook with another name. Rename it to orders.xlsx")


def test_a_broken_zip_named_csv_says_download_again(client, tmp_path):
    f = tmp_path / "orders.csv"
    f.write_bytes(b"PK\x03\x04broken")
    msg = error(client, f, mapping(tmp_path))
    assert msg.startswith("orders.csv cannot be unpacked") and "Download the export again" in msg


def test_xlsx_places_are_sheet_rows(client, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in [order("A1"), order("A1")]:
        sheet.append([row[h] for h in HEADERS])
    book.save(tmp_path / "orders.xlsx")
    [result] = import_files(client, [tmp_path / "orders.xlsx"], mapping(tmp_path))
    assert result.notes == ["1 row repeating an earlier row exactly, imported once (skipped: sheet row 3)"]


def test_what_already_worked_still_works_in_a_messy_file(client, tmp_path):
    # semicolons, a BOM, a quoted line break, long text, and a ragged row named by its line
    long = "Riverton " * 2000
    rows = [order("A1", Location="North;\nside"), order("A2", Location=long)]
    result = messy(client, tmp_path, rows, delimiter=";", encoding="utf-8-sig")
    assert orders_in(client, "location") == [("North;\nside",), (long.strip(),)]
    assert result.notes == []
    f = tmp_path / "ragged.csv"
    f.write_text(f"{';'.join(HEADERS)}\nA3;a@b.co;Ann;2026-01-05;10;web\n")
    assert error_after(client, f, mapping(tmp_path)).startswith(
        "ragged.csv, line 2: the row has a different number of values than the header"
    )


def error_after(client, path, source) -> str:
    """The error of an import into a client that already holds rows (nothing more is written)."""
    before = table(client, "SELECT count(*) FROM orders")
    with pytest.raises(ImportError_) as err:
        import_files(client, [path], source)
    assert table(client, "SELECT count(*) FROM orders") == before
    return str(err.value)


def test_formats_without_lines_name_data_rows(client, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [order("A1"), order("A2"), order("A1")]
    pq.write_table(pa.table({h: [r[h] for r in rows] for h in HEADERS}), tmp_path / "orders.parquet")
    [result] = import_files(client, [tmp_path / "orders.parquet"], mapping(tmp_path))
    assert result.notes == ["1 row repeating an earlier row exactly, imported once (skipped: row 3)"]
