"""Every foreseeable mistake at the command line is one line starting with "error:" that says
what to do, with exit code 2 and no traceback; nothing is written by a refused command."""

from __future__ import annotations

import pytest

from workbook import cli, store
from workbook.importers import staging

GOOD = """\
name: shop-orders
table: orders
columns:
  Order ID: order_id
  Date: ordered_at
  Total: revenue
identity:
  - {column: Email, kind: email}
"""

# A mapping file's text (or None for a folder) and a phrase the message must hold.
MAPPINGS = {
    "columns is a list": (
        GOOD.replace(
            "columns:\n  Order ID: order_id\n  Date: ordered_at\n  Total: revenue\n",
            "columns: [Order ID, Date]\n",
        ),
        "'columns' must map",
    ),
    "a number where a column belongs": (GOOD.replace("Total: revenue", "Total: 5"), "maps to 5"),
    "a list where a column belongs": (
        GOOD.replace("Total: revenue", "Total: [revenue]"),
        "maps to ['revenue']",
    ),
    "table is a list": (GOOD.replace("table: orders", "table: [orders]"), "not a canonical table"),
    "identity columns a mapping": (
        GOOD.replace("column: Email", "columns: {a: b}"),
        "identity columns must be",
    ),
    "defaults a list": (GOOD + "defaults: [channel]\n", "'defaults' must map"),
    "format a list": (GOOD + "format: [decimal]\n", "'format' must map"),
    "format.decimal a number": (GOOD + "format:\n  decimal: 5\n", "format.decimal must be a text"),
    "format.parentheses_negative a text": (
        GOOD + "format:\n  parentheses_negative: maybe\n",
        "must be true or false",
    ),
    "invalid strftime code": (GOOD + "format:\n  date: '%Q-%m-%d'\n", "not a strptime format"),
    "trailing % in a date format": (GOOD + "format:\n  date: '%Y-%m-%'\n", "not a strptime format"),
    "bad time zone in a mapping": (GOOD + "format:\n  timezone: Mars/Olympus\n", "'Mars/Olympus' is unknown"),
    "mapping path is a folder": (None, "is a folder, not a mapping file"),
    "mapping in UTF-16": (GOOD.encode("utf-16"), "UTF-16 text, not UTF-8"),
    "mapping in Latin-1": (("# café\n" + GOOD).encode("latin-1"), "Latin-1 or Windows text, not UTF-8"),
}


@pytest.fixture
def orders_csv(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("Order ID,Email,Date,Total\n1001,ann@example.com,2025-01-02,10.00\n")
    return path


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def orders_in(slug: str) -> int:
    con = store.read(slug)
    try:
        return con.execute("SELECT count(*) FROM orders").fetchall()[0][0]
    finally:
        con.close()


@pytest.mark.parametrize("case", list(MAPPINGS))
def test_a_mapping_file_mistake_is_one_line(case, client, tmp_path, orders_csv, capsys):
    content, phrase = MAPPINGS[case]
    mapping = tmp_path / "shop.yaml"
    if content is None:
        mapping.mkdir()
    elif isinstance(content, bytes):
        mapping.write_bytes(content)
    else:
        mapping.write_text(content, encoding="utf-8")
    assert cli.main(["import", client, str(orders_csv), "--source", str(mapping)]) == 2
    assert phrase in one_error_line(capsys)
    assert orders_in(client) == 0


def test_the_good_mapping_imports(client, tmp_path, orders_csv, capsys):
    """The mistakes above are each one change away from this file, which works."""
    (tmp_path / "shop.yaml").write_text(GOOD)
    assert cli.main(["import", client, str(orders_csv), "--source", str(tmp_path / "shop.yaml")]) == 0
    assert orders_in(client) == 1


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (["init", "mars-shop", "--timezone", "Mars/Olympus"], "'Mars/Olympus' is unknown"),
        (["sample", "--scale", "0", "--out", "{tmp}/s"], "--scale 0"),
        (["sample", "--scale", "-3", "--out", "{tmp}/s"], "--scale -3"),
        (["report", "test-shop", "--as-of", "9999-12-31", "--out", "{tmp}/r"], "outside the dates"),
        (["report", "test-shop", "--as-of", "0001-01-01", "--out", "{tmp}/r"], "outside the dates"),
        (["open", "test-shop", "--as-of", "9999-12-31", "--no-lab"], "outside the dates"),
        (["open", "test-shop", "--as-of", "0001-01-01", "--no-lab"], "outside the dates"),
    ],
)
def test_a_command_line_mistake_is_one_line(argv, phrase, client, home, tmp_path, capsys):
    assert cli.main([a.format(tmp=tmp_path) for a in argv]) == 2
    assert phrase in one_error_line(capsys)
    assert sorted(p.name for p in home.iterdir()) == ["test-shop"]  # no client made
    assert not (tmp_path / "s").exists() and not (tmp_path / "r").exists()


def test_ctrl_c_during_an_import_writes_nothing_and_says_so(
    client, tmp_path, orders_csv, capsys, monkeypatch
):
    """DuckDB turns a Ctrl-C inside a query into RuntimeError('Query interrupted'); here it comes
    after the customers were upserted, inside the file's transaction."""
    (tmp_path / "shop.yaml").write_text(GOOD)
    import workbook.importers as importers

    real = importers.upsert

    def interrupted(con, table, rows, import_id):
        if table == "orders":
            raise RuntimeError("Query interrupted")
        return real(con, table, rows, import_id)

    monkeypatch.setattr(importers, "upsert", interrupted)
    assert cli.main(["import", client, str(orders_csv), "--source", str(tmp_path / "shop.yaml")]) == 130
    assert "interrupted; nothing was written" in one_error_line(capsys)
    con = store.read(client)
    try:
        assert con.execute(
            "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM imports)"
        ).fetchall() == [(0, 0)]
    finally:
        con.close()


def test_ctrl_c_while_staging_says_so(client, tmp_path, orders_csv, capsys, monkeypatch):
    def interrupt(stage):
        raise KeyboardInterrupt

    monkeypatch.setattr(staging.Stage, "_pseudonymize", interrupt)
    (tmp_path / "shop.yaml").write_text(GOOD)
    assert cli.main(["import", client, str(orders_csv), "--source", str(tmp_path / "shop.yaml")]) == 130
    assert "interrupted; nothing was written" in one_error_line(capsys)
    assert orders_in(client) == 0


def test_another_runtime_error_is_not_called_an_interrupt(client, tmp_path, orders_csv, monkeypatch):
    def broken(stage):
        raise RuntimeError("something else")

    monkeypatch.setattr(staging.Stage, "_pseudonymize", broken)
    (tmp_path / "shop.yaml").write_text(GOOD)
    with pytest.raises(RuntimeError, match="something else"):
        cli.main(["import", client, str(orders_csv), "--source", str(tmp_path / "shop.yaml")])


def test_a_bad_time_zone_written_into_client_toml_is_one_line(client, home, orders_csv, tmp_path, capsys):
    toml = home / client / "client.toml"
    toml.write_text(toml.read_text().replace('timezone = "UTC"', 'timezone = "Mars/Olympus"'))
    (tmp_path / "shop.yaml").write_text(GOOD)
    assert cli.main(["import", client, str(orders_csv), "--source", str(tmp_path / "shop.yaml")]) == 2
    assert "client.toml, timezone: time zone 'Mars/Olympus' is unknown" in one_error_line(capsys)
