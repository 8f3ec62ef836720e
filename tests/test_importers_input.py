"""Importers: file formats and encodings, and every kind of bad input with its message.

Each bad-input test checks that the one message names the file, the row (data row and file
line), the column and the value, says what to do, and that nothing was written.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest
from _importer_files import (
    SHOPIFY_CUSTOMER_HEADERS,
    SHOPIFY_ORDER_HEADERS,
    SQUARE_HEADERS,
    STRIPE_HEADERS,
    SURVEY_HEADERS,
    shopify_order_rows,
    write_csv,
)

from workbook import store
from workbook.importers import ImportError_, import_files

LEADS = """name: leads
table: leads
columns: {Lead ID: lead_id, Created: created_at, Town: location}
identity: [{column: Email, kind: email}]
"""


def table(client, sql):
    con = store.read(client)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def nothing_written(client):
    con = store.read(client)
    try:
        return (
            sum(store.table_counts(con).values()) == 0
            and con.execute("SELECT count(*) FROM imports").fetchall()[0][0] == 0
        )
    finally:
        con.close()


def error(client, path, source) -> str:
    with pytest.raises(ImportError_) as err:
        import_files(client, [path], source)
    assert nothing_written(client)
    return str(err.value)


def orders(tmp_path, name="orders_export_1.csv", **changes):
    rows = shopify_order_rows(
        "#1001",
        "ann@example.com",
        "2025-12-06 10:37:33 -0500",
        [("Mug", 1, "10.00"), ("Tea", 1, "5.00")],
        "15.00",
    )
    rows[0].update(changes)
    return write_csv(tmp_path / name, SHOPIFY_ORDER_HEADERS, rows)


def leads(tmp_path, created: list[str], mapping: str = LEADS):
    (tmp_path / "leads.yaml").write_text(mapping)
    f = write_csv(
        tmp_path / "leads.csv",
        ["Lead ID", "Created", "Email", "Town"],
        [[f"L{i}", c, f"p{i}@example.com", "Riverton"] for i, c in enumerate(created, 1)],
    )
    return f, str(tmp_path / "leads.yaml")


# --- bad input ---------------------------------------------------------------------------


def test_missing_required_column_is_named(client, tmp_path):
    headers = [h for h in SHOPIFY_ORDER_HEADERS if h != "Created at"]
    f = write_csv(tmp_path / "orders_export_1.csv", headers, [{"Name": "#1", "Subtotal": "1"}])
    msg = error(client, f, "shopify-orders")
    assert msg.startswith("orders_export_1.csv lacks required column(s): 'Created at' (for ordered_at)")
    assert "Its columns are: Name, Email" in msg


def test_unparseable_number(client, tmp_path):
    msg = error(client, orders(tmp_path, Subtotal="12,50"), "shopify-orders")
    assert msg.startswith("orders_export_1.csv, row 1 (line 2), column 'Subtotal': '12,50' is not a number.")
    assert 'decimal: ","' in msg


def test_unparseable_date(client, tmp_path):
    rows = shopify_order_rows("#1", "a@b.co", "2025-12-06 10:00:00 -0500", [("Mug", 1, "1")], "1")
    rows += shopify_order_rows("#2", "a@b.co", "next tuesday", [("Mug", 1, "1")], "1")
    f = write_csv(tmp_path / "o.csv", SHOPIFY_ORDER_HEADERS, rows)
    msg = error(client, f, "shopify-orders")
    assert msg.startswith(
        "o.csv, row 2 (line 3), column 'Created at': 'next tuesday' is not a date we can read."
    )
    assert "format: {date:" in msg


def test_ambiguous_day_month_order_needs_a_format(client, tmp_path):
    f, mapping = leads(tmp_path, ["01/01/2026", "03/04/2026 10:00", "05/06/2026"])
    msg = error(client, f, mapping)
    assert msg.startswith(
        "leads.csv, row 2 (line 3), column 'Created': the date '03/04/2026 10:00' "
        "could be day/month or month/day"
    )
    assert "%d/%m/%Y" in msg and "%m/%d/%Y" in msg


def test_day_above_12_decides_the_order_for_the_column(client, tmp_path):
    f, mapping = leads(tmp_path, ["25/03/2026", "03/04/2026 10:00"])
    import_files(client, [f], mapping)
    assert table(client, "SELECT created_at FROM leads ORDER BY lead_id") == [
        (dt.datetime(2026, 3, 25),),
        (dt.datetime(2026, 4, 3, 10),),
    ]


def test_month_first_dates_with_a_format(client, tmp_path):
    f, mapping = leads(tmp_path, ["03/04/2026 1:05 PM"], LEADS + "format: {date: '%m/%d/%Y %I:%M %p'}\n")
    import_files(client, [f], mapping)
    assert table(client, "SELECT created_at FROM leads") == [(dt.datetime(2026, 3, 4, 13, 5),)]


def test_mixed_day_month_orders_are_refused(client, tmp_path):
    f, mapping = leads(tmp_path, ["25/03/2026", "03/25/2026"])
    msg = error(client, f, mapping)
    assert msg.startswith(
        "leads.csv, column 'Created' mixes day-first and month-first dates: "
        "leads.csv, row 1 (line 2) has '25/03/2026' but leads.csv, row 2 (line 3) has '03/25/2026'"
    )


def test_line_numbers_count_quoted_line_breaks_and_blank_lines(client, tmp_path):
    (tmp_path / "leads.yaml").write_text(LEADS)
    f = tmp_path / "leads.csv"
    f.write_text(
        'Lead ID,Created,Email,Town\nL1,2026-01-01,a@b.co,"Two\nline town"\n\n'
        "L2,2026-01-02,c@d.co,X\nL3,someday,e@f.co,Y\n"
    )
    assert error(client, f, str(tmp_path / "leads.yaml")).startswith(
        "leads.csv, row 3 (line 6), column 'Created': 'someday' is not a date we can read."
    )


def test_date_not_matching_the_mappings_format(client, tmp_path):
    f, mapping = leads(tmp_path, ["2026-03-04"], LEADS + "format: {date: '%d.%m.%Y'}\n")
    msg = error(client, f, mapping)
    assert msg.startswith(
        "leads.csv, row 1 (line 2), column 'Created': '2026-03-04' does not match "
        "the date format %d.%m.%Y given in the mapping."
    )


def test_empty_file(client, tmp_path):
    f = tmp_path / "orders_export_1.csv"
    f.write_bytes(b"")
    msg = error(client, f, "shopify-orders")
    assert msg.startswith("orders_export_1.csv is empty (0 bytes): nothing to import.")


def test_header_only(client, tmp_path):
    f = write_csv(tmp_path / "orders_export_1.csv", SHOPIFY_ORDER_HEADERS, [])
    msg = error(client, f, "shopify-orders")
    assert msg.startswith("orders_export_1.csv has a header but no data rows: nothing to import.")


@pytest.mark.parametrize(
    "line, found", [("L2,2026-01-02,x@y.co", "Found: 3"), ("L2,2026-01-02,x@y.co,Riverton,extra", "Found: 5")]
)
def test_ragged_rows(client, tmp_path, line, found):
    (tmp_path / "leads.yaml").write_text(LEADS)
    f = tmp_path / "leads.csv"
    f.write_text(f"Lead ID,Created,Email,Town\nL1,2026-01-01,a@b.co,Riverton\n{line}\n")
    msg = error(client, f, str(tmp_path / "leads.yaml"))
    assert msg.startswith(
        f"leads.csv, line 3: the row has a different number of values than "
        f"the header (Expected Number of Columns: 4 {found}); row text: {line!r}."
    )


@pytest.mark.parametrize(
    "content, what",
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "an old Excel .xls workbook"),
        (b"Name,Created at\n\x00\x01\x02\x03binary", "a binary file"),
    ],
)
def test_binary_files_renamed_csv(client, tmp_path, content, what):
    f = tmp_path / "orders_export_1.csv"
    f.write_bytes(content)
    msg = error(client, f, "shopify-orders")
    assert msg.startswith(f"orders_export_1.csv is {what}")
    assert "CSV" in msg


def test_xls_extension(client, tmp_path):
    f = tmp_path / "orders.xls"
    f.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    assert "save it as .xlsx or CSV" in error(client, f, "shopify-orders")


def test_negative_spend_is_refused_but_zero_and_refunds_are_kept(client, tmp_path):
    (tmp_path / "spend.yaml").write_text(
        "name: ads\ntable: spend\ncolumns: {Date: spent_on, Channel: channel, Spend: amount}\n"
    )
    bad = write_csv(
        tmp_path / "spend.csv",
        ["Date", "Channel", "Spend"],
        [["2026-01-01", "paid_social", "0.00"], ["2026-01-02", "paid_social", "(12.00)"]],
    )
    msg = error(client, bad, str(tmp_path / "spend.yaml"))
    assert msg.startswith(
        "spend.csv, row 2 (line 3), column 'Spend': '(12.00)' is out of range "
        "(allowed: 0 or more; ad spend cannot be negative"
    )
    good = write_csv(
        tmp_path / "spend_ok.csv", ["Date", "Channel", "Spend"], [["2026-01-01", "paid_social", "0.00"]]
    )
    import_files(client, [good], str(tmp_path / "spend.yaml"))
    assert table(client, "SELECT amount FROM spend") == [(Decimal("0.00"),)]


def test_score_out_of_range(client, tmp_path):
    f = write_csv(
        tmp_path / "nps.csv", SURVEY_HEADERS, [["r1", "2026-01-01 10:00", "", "11", "", "", "", ""]]
    )
    msg = error(client, f, "survey")
    assert msg.startswith(
        "nps.csv, row 1 (line 2), column 'NPS': '11' is out of range "
        "(allowed: 0 to 10; NPS answers are 0 to 10)"
    )


def test_not_a_whole_number(client, tmp_path):
    f = write_csv(
        tmp_path / "nps.csv", SURVEY_HEADERS, [["r1", "2026-01-01 10:00", "", "9.5", "", "", "", ""]]
    )
    assert error(client, f, "survey").startswith(
        "nps.csv, row 1 (line 2), column 'NPS': '9.5' is not a whole number."
    )


def test_future_dates_are_a_warning_not_an_error(client, tmp_path):
    future = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    f = write_csv(
        tmp_path / "nps.csv",
        SURVEY_HEADERS,
        [
            ["r1", "2026-01-01 10:00", "", "9", "", "", "", ""],
            ["r2", f"{future} 09:00", "", "8", "", "", "", ""],
        ],
    )
    [res] = import_files(client, [f], "survey")
    assert res.warnings == [
        f"1 row with 'Submitted At' in the future (line 3; first: '{future} 09:00'): imported "
        f"as they are. Check the export's dates and the client's timezone (UTC)."
    ]
    assert "warning: 1 row with" in res.summary()
    assert table(client, "SELECT count(*) FROM feedback") == [(2,)]
    assert "in the future" in table(client, "SELECT warnings FROM imports")[0][0]


def test_duplicate_key_names_both_rows(client, tmp_path):
    f = write_csv(
        tmp_path / "unified_payments.csv",
        STRIPE_HEADERS,
        [
            {"id": "py_1", "Created date (UTC)": "2026-01-01 10:00:00", "Amount": "10", "Status": "Paid"},
            {"id": "py_2", "Created date (UTC)": "2026-01-01 11:00:00", "Amount": "10", "Status": "Paid"},
            {"id": "py_1", "Created date (UTC)": "2026-01-01 10:00:00", "Amount": "10", "Status": "Paid"},
        ],
    )
    msg = error(client, f, "stripe-payments")
    assert msg.startswith(
        "unified_payments.csv, row 1 (line 2) and row 3 (line 4) have the same orders "
        "key 'py_1' (column 'id'): each must appear once in a file."
    )


def test_shopify_order_repeated_in_one_file(client, tmp_path):
    rows = shopify_order_rows("#7", "a@b.co", "2025-12-06 10:00:00 -0500", [("Mug", 1, "1")], "1")
    f = write_csv(tmp_path / "o.csv", SHOPIFY_ORDER_HEADERS, rows + rows)
    assert error(client, f, "shopify-orders").startswith(
        "o.csv, row 1 (line 2) and row 2 (line 3) have the same orders key '#7' (column 'Name')"
    )


def test_same_person_twice_in_a_customer_export(client, tmp_path):
    f = write_csv(
        tmp_path / "customers_export.csv",
        SHOPIFY_CUSTOMER_HEADERS,
        [
            {"Customer ID": "'1", "Email": "ann@example.com"},
            {"Customer ID": "'2", "Email": "ANN@example.com"},
        ],
    )
    msg = error(client, f, "shopify-customers")
    assert msg.startswith(
        "customers_export.csv, row 1 (line 2) and row 2 (line 3) have the same "
        "customers key (the same person: Email 'ann@example.com' and 'ANN@example.com'): "
        "each must appear once in a file."
    )


def test_empty_required_value(client, tmp_path):
    f = write_csv(
        tmp_path / "items.csv",
        SQUARE_HEADERS,
        [
            {"Date": "2026-01-01", "Transaction ID": "T1", "Net Sales": "$1.00"},
            {"Date": "2026-01-01", "Transaction ID": "", "Net Sales": "$2.00"},
        ],
    )
    assert error(client, f, "square-items").startswith(
        "items.csv, row 2 (line 3), column 'Transaction ID' is empty, but every row needs it"
    )


def test_bad_yes_no(client, tmp_path):
    f = write_csv(
        tmp_path / "c.csv",
        SHOPIFY_CUSTOMER_HEADERS,
        [{"Email": "a@b.co", "Accepts Email Marketing": "maybe"}],
    )
    assert error(client, f, "shopify-customers").startswith(
        "c.csv, row 1 (line 2), column 'Accepts Email Marketing': 'maybe' is not yes/no"
    )


def test_row_without_identity_where_one_is_required(client, tmp_path):
    (tmp_path / "t.yaml").write_text(
        "name: touches\ntable: touches\ncolumns: {When: touched_at, "
        "Channel: channel}\nidentity: [{column: Email, kind: email}]\n"
    )
    f = write_csv(
        tmp_path / "touches.csv",
        ["Email", "When", "Channel"],
        [["a@b.co", "2026-01-01 10:00", "email"], ["", "2026-01-02 10:00", "email"]],
    )
    assert error(client, f, str(tmp_path / "t.yaml")).startswith(
        "touches.csv, row 2 (line 3): no value in 'Email' to identify the person"
    )


@pytest.mark.parametrize(
    "yaml_text, fragment",
    [
        ("name: x\ntable: invoices\ncolumns: {A: b}\n", "'table: invoices' is not a canonical table"),
        (
            "name: x\ntable: leads\ncolumns: {A: lead_no}\n",
            "column 'A' maps to 'lead_no', which is not a column of leads",
        ),
        (
            "name: x\ntable: leads\ncolumns: {A: lead_id}\nformat: {dates: '%d'}\n",
            "unknown format keys ['dates']",
        ),
        ("name: [x\n", "it is not valid YAML"),
        (
            "name: x\ntable: leads\ncolumns: {Email: customer_id}\n",
            "column 'Email' cannot map to 'customer_id': people are identified through 'identity'",
        ),
    ],
)
def test_bad_mapping_files(client, tmp_path, yaml_text, fragment):
    (tmp_path / "m.yaml").write_text(yaml_text)
    with pytest.raises(ImportError_, match=r"Mapping file m\.yaml: ") as err:
        import_files(client, [tmp_path / "x.csv"], str(tmp_path / "m.yaml"))
    assert fragment in str(err.value)


# --- formats and encodings -----------------------------------------------------------------


def _products(client):
    return table(client, "SELECT product FROM order_items ORDER BY line_no")


def _cafe_rows():
    rows = shopify_order_rows(
        "#1",
        "zoë@example.com",
        "2025-12-06 10:00:00 +0000",
        [("Café crème", 1, "3.00"), ("Müsli", 1, "4.00")],
        "7.00",
    )
    return rows


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252", "utf-16"])
def test_encodings(client, tmp_path, encoding):
    f = write_csv(tmp_path / "orders.csv", SHOPIFY_ORDER_HEADERS, _cafe_rows(), encoding=encoding)
    import_files(client, [f], "shopify-orders")
    assert _products(client) == [("Café crème",), ("Müsli",)]


def test_latin1_bytes_cp1252_leaves_undefined(client, tmp_path):
    f = tmp_path / "leads.csv"
    f.write_bytes("Lead ID,Created,Email,Town\nL1,2026-01-01,a@b.co,Gr\u00fcnau\x81\n".encode("latin-1"))
    (tmp_path / "leads.yaml").write_text(LEADS)
    import_files(client, [f], str(tmp_path / "leads.yaml"))
    assert table(client, "SELECT location FROM leads") == [("Grünau\x81",)]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_delimiters(client, tmp_path, delimiter):
    f = write_csv(tmp_path / "orders.tsv", SHOPIFY_ORDER_HEADERS, _cafe_rows(), delimiter=delimiter)
    import_files(client, [f], "shopify-orders")
    assert _products(client) == [("Café crème",), ("Müsli",)]


def test_quoted_delimiters_and_line_breaks(client, tmp_path):
    rows = _cafe_rows()
    rows[0]["Lineitem name"] = 'Mug, large\n"blue"'
    import_files(client, [write_csv(tmp_path / "o.csv", SHOPIFY_ORDER_HEADERS, rows)], "shopify-orders")
    assert _products(client)[0] == ('Mug, large\n"blue"',)


def test_xlsx(client, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Lead ID", "Created", "Email", "Town"])
    sheet.append([1001, dt.datetime(2026, 2, 3, 9, 30), "a@b.co", "Riverton"])
    sheet.append(["L2", "2026-02-04", "c@d.co", None])
    book.save(tmp_path / "leads.xlsx")
    (tmp_path / "leads.yaml").write_text(LEADS)
    [res] = import_files(client, [tmp_path / "leads.xlsx"], str(tmp_path / "leads.yaml"))
    assert res.rows_read == 2
    assert table(client, "SELECT lead_id, created_at, location FROM leads ORDER BY 1") == [
        ("1001", dt.datetime(2026, 2, 3, 9, 30), "Riverton"),
        ("L2", dt.datetime(2026, 2, 4), None),
    ]


def test_xlsx_bad_value_names_the_sheet_row(client, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Lead ID", "Created", "Email", "Town"])
    book.active.append(["L1", "soon", "a@b.co", "X"])
    book.save(tmp_path / "leads.xlsx")
    (tmp_path / "leads.yaml").write_text(LEADS)
    assert error(client, tmp_path / "leads.xlsx", str(tmp_path / "leads.yaml")).startswith(
        "leads.xlsx, row 1 (sheet row 2), column 'Created': 'soon' is not a date"
    )


def test_parquet(client, tmp_path):
    f = tmp_path / "leads.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT 'L' || i AS \"Lead ID\", TIMESTAMP '2026-01-01 08:00' + INTERVAL (i) HOUR "
        f"AS \"Created\", 'p' || i || '@example.com' AS \"Email\", 'Riverton' AS \"Town\" "
        f"FROM range(3) t(i)) TO '{f}' (FORMAT parquet)"
    )
    con.close()
    (tmp_path / "leads.yaml").write_text(LEADS)
    [res] = import_files(client, [f], str(tmp_path / "leads.yaml"))
    assert res.inserted == {"leads": 3}
    assert table(client, "SELECT max(created_at) FROM leads") == [(dt.datetime(2026, 1, 1, 10),)]


def test_not_json(client, tmp_path):
    f = tmp_path / "reviews.json"
    f.write_text('{"reviews": [ {"reviewId": "r1",, } ]}')
    assert error(client, f, "google-reviews").startswith("reviews.json is not valid JSON (line 1, column")


def test_bad_star_rating_in_json_names_the_record(client, tmp_path):
    f = tmp_path / "reviews.json"
    f.write_text('[{"reviewId": "r1", "starRating": "SIX", "createTime": "2026-01-01T10:00:00Z"}]')
    assert error(client, f, "google-reviews").startswith(
        "reviews.json, row 1, column 'starRating': 'SIX' is not a star rating"
    )


def test_wrong_preset_names_the_right_one(client, tmp_path):
    message = error(client, orders(tmp_path), "shopify-customers")
    assert message.startswith("orders_export_1.csv looks like a shopify-orders export")
    assert "--source shopify-orders" in message


def test_a_partial_export_of_the_right_kind_is_not_second_guessed(client, tmp_path):
    # a survey export with only some of the survey preset's columns still imports as a survey
    f = write_csv(
        tmp_path / "nps.csv", ["Submitted At", "Email", "NPS"], [["2026-01-05 10:00", "ann@example.com", "9"]]
    )
    (result,) = import_files(client, [f], "survey")
    assert result.inserted["feedback"] == 1
