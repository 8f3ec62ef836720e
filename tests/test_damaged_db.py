"""A damaged, locked or newer database: every command names what is wrong in one line, with what to do."""

import duckdb
import pytest

from workbook import cli, store
from workbook.core.errors import WorkbookError

SURVEY = "Response ID,Submitted At,Email,NPS\nr1,2026-01-05 10:00,ann@example.com,9\n"


def commands(tmp_path):
    """Each command that opens a client's database, as `workbook` arguments."""
    survey = tmp_path / "survey.csv"
    survey.write_text(SURVEY)
    return {
        "init": ["init", "test-shop"],
        "import": ["import", "test-shop", str(survey), "--source", "survey"],
        "forget": ["forget", "test-shop", "ann@example.com"],
        "report": ["report", "test-shop", "--out", str(tmp_path / "reports")],
        "open": ["open", "test-shop", "--no-lab"],
    }


def emptied(db):
    db.write_bytes(b"")


def not_duckdb(db):
    db.write_bytes(b"Order ID,Total\n1,45.00\n" * 200)


def truncated(db):
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])


def scribbled(db):
    """A block overwritten in place: its checksum no longer matches."""
    data = bytearray(db.read_bytes())
    data[4096 + 100 : 4096 + 900] = bytes(range(200)) * 4
    db.write_bytes(bytes(data))


def errors_of(argv, capsys):
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("damage", [emptied, not_duckdb, truncated, scribbled])
@pytest.mark.parametrize("command", ["init", "import", "forget", "report", "open"])
def test_a_damaged_database_is_named_damaged_with_the_restore_step(
    damage, command, client, home, tmp_path, capsys
):
    db = home / client / "workbook.duckdb"
    with store.write(client) as con:  # some data, so that the file has blocks past its header
        con.execute(
            "INSERT INTO orders (order_id, ordered_at, revenue) SELECT i::VARCHAR, DATE '2026-01-01', 5 FROM range(50000) t(i)"
        )
    damage(db)
    code, said = errors_of(commands(tmp_path)[command], capsys)
    assert code != 0
    assert f"The database {db} is damaged" in said
    assert f"restore workbook.duckdb and salt.secret together from your backup of {home / client}" in said
    assert "locked" not in said and "Traceback" not in said


def newer(db):
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO schema_version (version) VALUES (99)")
    con.close()


@pytest.mark.parametrize("command", ["init", "import", "forget", "report", "open"])
def test_a_newer_schema_is_refused_by_every_command(command, client, home, tmp_path, capsys):
    newer(home / client / "workbook.duckdb")
    code, said = errors_of(commands(tmp_path)[command], capsys)
    assert code != 0
    assert "written by a newer Delta Workbook (schema 99" in said
    assert "Upgrade the workbook package" in said


def test_a_notebook_refuses_a_newer_schema(client, home):
    newer(home / client / "workbook.duckdb")
    with pytest.raises(WorkbookError, match="written by a newer Delta Workbook"):
        store.read(client)


def test_a_lock_held_by_another_process_is_named_as_a_lock(client, held_by_another_process):
    with pytest.raises(WorkbookError, match="is locked by another process") as err:
        store.read(client)
    assert "damaged" not in str(err.value)


def test_a_database_whose_last_blocks_were_freed_is_not_called_damaged(client, home):
    """Deleted rows free blocks at the end of the file, which DuckDB cuts off when it closes it."""
    with store.write(client) as con:
        con.execute(
            "INSERT INTO orders (order_id, ordered_at, revenue) SELECT i::VARCHAR, DATE '2026-01-01', 5 FROM range(50000) t(i)"
        )
    with store.write(client) as con:
        con.execute("DELETE FROM orders")
    con = store.read(client)
    try:
        assert con.execute("SELECT count(*) FROM orders").fetchall() == [(0,)]
    finally:
        con.close()
