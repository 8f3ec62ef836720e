"""The salt: a missing, empty, short, damaged or other client's salt is refused, never replaced."""

import duckdb
import pytest

from workbook import cli, store
from workbook.store.clients import init_client
from workbook.store.schema import MIGRATIONS

SURVEY = "Response ID,Submitted At,Email,NPS\nr1,2026-01-05 10:00,ann@example.com,9\n"


@pytest.fixture
def survey(tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text(SURVEY)
    return path


def run(argv, capsys):
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def restore_step(home, slug):
    return f"restore workbook.duckdb and salt.secret together from your backup of {home / slug}"


def people(home, slug):
    con = duckdb.connect(str(home / slug / "workbook.duckdb"), read_only=True)
    try:
        return con.execute("SELECT count(DISTINCT customer_id) FROM feedback").fetchall()[0][0]
    finally:
        con.close()


def test_init_refuses_to_replace_a_missing_salt(client, home, capsys):
    salt = home / client / "salt.secret"
    salt.unlink()
    code, said = run(["init", client], capsys)
    assert code == 2
    assert f"The secret salt {salt} is missing" in said and restore_step(home, client) in said
    assert not salt.exists()  # no new salt made behind the consultant's back


@pytest.mark.parametrize("command", ["import", "forget"])
def test_another_clients_salt_is_refused(command, client, home, survey, capsys):
    assert run(["import", client, str(survey), "--source", "survey"], capsys)[0] == 0
    init_client("other-shop")
    (home / client / "salt.secret").write_text((home / "other-shop" / "salt.secret").read_text())
    argv = {
        "import": ["import", client, str(survey), "--source", "survey"],
        "forget": ["forget", client, "ann@example.com"],
    }
    code, said = run(argv[command], capsys)
    assert code == 2
    assert (
        "is not the one this client's pseudonyms were made with" in said
        and restore_step(home, client) in said
    )
    assert people(home, client) == 1  # ann is neither split in two nor erased


@pytest.mark.parametrize(
    "content, why",
    [
        ("", "it is empty"),
        ("\n", "it is empty"),
        ("ab" * 16, "it must be 64 or more hex digits"),
        ("zz" * 32, "it must be 64 or more hex digits"),
        ("a" * 65, "it must be 64 or more hex digits"),
    ],
)
@pytest.mark.parametrize("command", ["init", "import", "forget"])
def test_an_empty_short_or_non_hex_salt_is_refused(content, why, command, client, home, survey, capsys):
    salt = home / client / "salt.secret"
    salt.write_text(content)
    argv = {
        "init": ["init", client],
        "import": ["import", client, str(survey), "--source", "survey"],
        "forget": ["forget", client, "ann@example.com"],
    }
    code, said = run(argv[command], capsys)
    assert code == 2
    assert f"The secret salt {salt} is damaged ({why}" in said and restore_step(home, client) in said
    assert "Traceback" not in said
    assert salt.read_text() == content


def test_a_file_of_schema_3_records_the_salt_it_has_at_its_first_write(home, survey, capsys):
    init_client("old-shop")
    db, salt = home / "old-shop" / "workbook.duckdb", home / "old-shop" / "salt.secret"
    db.unlink()
    con = duckdb.connect(str(db))
    store.migrate(con, MIGRATIONS[:3])  # as the file was before salts had fingerprints
    con.close()
    assert run(["import", "old-shop", str(survey), "--source", "survey"], capsys)[0] == 0
    salt.write_text("ab" * 32)  # a replaced salt is now told apart
    code, said = run(["import", "old-shop", str(survey), "--source", "survey"], capsys)
    assert code == 2 and "is not the one" in said


def test_the_database_keeps_a_fingerprint_not_the_salt(client, home):
    salt = (home / client / "salt.secret").read_text().strip()
    con = store.read(client)
    (fingerprint,) = con.execute("SELECT fingerprint FROM salt_fingerprint").fetchall()[0]
    con.close()
    assert len(fingerprint) == 64 and fingerprint != salt
    data = (home / client / "workbook.duckdb").read_bytes()
    assert salt.encode() not in data and bytes.fromhex(salt) not in data
