"""`workbook forget`: by email, phone, name or a source's customer id; forgotten people stay out of
later imports; the file keeps no bytes of them; free text naming them is redacted."""

import csv

import duckdb
import pytest
from _importer_files import SQUARE_HEADERS

from workbook import cli
from workbook.store.clients import load_client
from workbook.store.privacy import pseudonymizer

SURVEY_HEADER = "Response ID,Submitted At,Email,Phone,Name,NPS,Comment\n"


def run(argv, capsys):
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def square_file(tmp_path, name, sales):
    """A Square item-sales export: one line per (transaction, customer id, customer name)."""
    path = tmp_path / name
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, SQUARE_HEADERS)
        writer.writeheader()
        for transaction, customer_id, customer_name in sales:
            writer.writerow(
                {
                    "Date": "2025-01-03",
                    "Time": "07:45:10",
                    "Category": "Coffee",
                    "Item": "Latte",
                    "Qty": "1.0",
                    "Gross Sales": "$4.00",
                    "Discounts": "$0.00",
                    "Net Sales": "$4.00",
                    "Transaction ID": transaction,
                    "Event Type": "Payment",
                    "Customer ID": customer_id,
                    "Customer Name": customer_name,
                    "Location": "Main St",
                }
            )
    return path


def query(home, slug, sql, params=None):
    con = duckdb.connect(str(home / slug / "workbook.duckdb"), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def pseudonym(slug, kind, value):
    return pseudonymizer(load_client(slug))(kind, value)


def test_forget_by_phone_reaches_a_phone_only_respondent(client, home, tmp_path, capsys):
    survey = write(
        tmp_path,
        "survey.csv",
        SURVEY_HEADER
        + "r1,2026-01-05 10:00,,+1 555 010 2000,,9,\nr2,2026-01-05 11:00,bob@example.com,,,7,\n",
    )
    assert run(["import", client, str(survey), "--source", "survey"], capsys)[0] == 0
    code, said = run(["forget", client, "--phone", "+1 (555) 010-2000"], capsys)
    assert code == 0 and "feedback 1" in said
    assert query(home, client, "SELECT feedback_id FROM feedback") == [("survey:r2",)]


def test_forget_by_name_and_by_square_customer_id(client, home, tmp_path, capsys):
    sales = square_file(
        tmp_path, "items.csv", [("T1", "CUST9", "Dee Fox"), ("T2", "", "Eve Stone"), ("T3", "CUST7", "")]
    )
    assert run(["import", client, str(sales), "--source", "square-items"], capsys)[0] == 0
    assert run(["forget", client, "--id", "square:CUST9"], capsys)[0] == 0
    assert run(["forget", client, "--name", "eve   STONE"], capsys)[0] == 0
    assert query(home, client, "SELECT order_id FROM orders") == [("square:T3",)]
    assert query(home, client, "SELECT DISTINCT order_id FROM order_items") == [("square:T3",)]
    assert query(
        home,
        client,
        "SELECT count(*) FROM customers WHERE customer_id = $id",
        {"id": pseudonym(client, "id", "square:CUST9")},
    ) == [(0,)]


def test_a_forgotten_person_is_skipped_by_every_later_import(client, home, tmp_path, capsys):
    first = write(tmp_path, "jan.csv", SURVEY_HEADER + "r1,2026-01-05 10:00,ann@example.com,,,9,\n")
    assert run(["import", client, str(first), "--source", "survey"], capsys)[0] == 0
    assert run(["forget", client, "Ann@Example.com"], capsys)[0] == 0
    february = SURVEY_HEADER + (
        "r2,2026-02-05 10:00,ann@example.com,,,8,\nr3,2026-02-06 10:00,ANN@example.com,,,6,\n"
        "r4,2026-02-07 10:00,bob@example.com,,,7,\n"
    )
    code, said = run(
        ["import", client, str(write(tmp_path, "feb.csv", february)), "--source", "survey"], capsys
    )
    assert (
        code == 0 and "2 rows of forgotten people skipped (feedback 2)" in said and "feedback: 1 new" in said
    )
    assert query(home, client, "SELECT feedback_id FROM feedback") == [("survey:r4",)]
    # an order's lines leave with the order
    assert run(["forget", client, "--id", "square:CUST9"], capsys)[0] == 0
    sales = square_file(tmp_path, "items.csv", [("T1", "CUST9", ""), ("T2", "CUST7", "")])
    code, said = run(["import", client, str(sales), "--source", "square-items"], capsys)
    assert code == 0 and "2 rows of forgotten people skipped (customers 1, orders 1)" in said
    assert query(home, client, "SELECT DISTINCT order_id FROM order_items") == [("square:T2",)]


def test_the_rewritten_file_keeps_no_bytes_of_the_forgotten_person(client, home, tmp_path, capsys):
    survey = write(
        tmp_path,
        "survey.csv",
        SURVEY_HEADER
        + "r1,2026-01-05 10:00,ann@example.com,,,9,Zanzibar-quokka ferry was late\n"
        + "r2,2026-01-05 11:00,bob@example.com,,,7,Fine\n",
    )
    assert run(["import", client, str(survey), "--source", "survey"], capsys)[0] == 0
    ann = pseudonym(client, "email", "ann@example.com").encode()
    folder = home / client

    def bytes_of_folder():
        return b"".join(path.read_bytes() for path in folder.iterdir() if path.is_file())

    # the check can see them: before forget, the pseudonym and the comment are in the file
    assert ann in bytes_of_folder() and b"Zanzibar-quokka" in bytes_of_folder()
    assert run(["forget", client, "ann@example.com"], capsys)[0] == 0
    assert ann[:8] not in bytes_of_folder()  # nor its display key C-xxxxxxxx
    assert b"Zanzibar-quokka" not in bytes_of_folder()
    assert sorted(p.name for p in folder.iterdir()) == ["client.toml", "salt.secret", "workbook.duckdb"]
    # the rewritten file is whole: the others' rows, the import log and the schema are there
    assert query(home, client, "SELECT feedback_id, text FROM feedback") == [("survey:r2", "Fine")]
    assert query(home, client, "SELECT count(*) FROM imports") == [(1,)]
    assert (
        run(
            [
                "import",
                client,
                str(write(tmp_path, "more.csv", SURVEY_HEADER + "r5,2026-02-01 10:00,cy@example.com,,,8,\n")),
                "--source",
                "survey",
            ],
            capsys,
        )[0]
        == 0
    )
    assert query(home, client, "SELECT count(DISTINCT import_id) FROM imports") == [(2,)]


def test_free_text_that_names_the_forgotten_person_is_redacted(client, home, tmp_path, capsys):
    survey = write(
        tmp_path,
        "survey.csv",
        SURVEY_HEADER
        + "r1,2026-01-05 10:00,,,Ann Lee,9,My own words\n"
        + "r2,2026-01-05 11:00,bob@example.com,,,7,ann  lee was great; Annual sale and Joanne Lee too\n",
    )
    assert run(["import", client, str(survey), "--source", "survey"], capsys)[0] == 0
    code, said = run(["forget", client, "--name", "Ann Lee"], capsys)
    assert code == 0 and "Redacted that name in 1 free texts" in said
    assert query(home, client, "SELECT feedback_id, text FROM feedback") == [
        ("survey:r2", "[erased] was great; Annual sale and Joanne Lee too")
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "Say who to forget, once"),
        (["ann@example.com", "--phone", "555"], "Say who to forget, once"),
        (["--id", "CUST9"], "A customer id is given as SOURCE:ID, e.g. square:CUST9"),
        (["--name", "   "], "The name to forget is empty"),
    ],
)
def test_forget_says_what_to_give(argv, message, client, capsys):
    code, said = run(["forget", client, *argv], capsys)
    assert code == 2 and message in said and "Traceback" not in said and len(said.strip().splitlines()) == 1
