"""`workbook backup` / `workbook restore`: database, salt and client.toml in one private archive,
put back whole, checked first, never over an existing client without --force."""

import gzip
import io
import json
import shutil
import stat
import tarfile

import duckdb
import pytest

from workbook import cli

FIRST = "Response ID,Submitted At,Email,NPS\nr1,2026-01-05 10:00,ann@example.com,9\nr2,2026-01-06 10:00,bob@example.com,3\n"
LATER = "Response ID,Submitted At,Email,NPS\nr3,2026-02-05 10:00,ann@example.com,10\n"


def run(argv, capsys):
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def rows(home, slug):
    con = duckdb.connect(str(home / slug / "workbook.duckdb"), read_only=True)
    try:
        return sorted(con.execute("SELECT feedback_id, customer_id, nps FROM feedback").fetchall())
    finally:
        con.close()


@pytest.fixture
def exports(tmp_path):
    first, later = tmp_path / "first.csv", tmp_path / "later.csv"
    first.write_text(FIRST)
    later.write_text(LATER)
    return first, later


@pytest.fixture
def archive(client, home, exports, tmp_path, capsys):
    assert run(["import", client, str(exports[0]), "--source", "survey"], capsys)[0] == 0
    out = tmp_path / "backups" / "shop.tar.gz"
    code, said = run(["backup", client, "--out", str(out)], capsys)
    assert code == 0, said
    return out


def test_round_trip_keeps_rows_settings_and_pseudonyms(client, home, exports, archive, capsys):
    before = rows(home, client)
    config = (home / client / "client.toml").read_text()
    shutil.rmtree(home / client)
    code, said = run(["restore", str(archive)], capsys)
    assert code == 0, said
    assert rows(home, client) == before
    assert (home / client / "client.toml").read_text() == config
    # the next month's export finds ann under the pseudonym she had before the loss
    assert run(["import", client, str(exports[1]), "--source", "survey"], capsys)[0] == 0
    after = rows(home, client)
    ann = next(person for rid, person, _ in before if rid == "survey:r1")
    assert ("survey:r3", ann, 10) in after and len({person for _, person, _ in after}) == 2


def test_the_archive_and_the_restored_salt_are_private(client, home, archive, capsys):
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["client.toml", "manifest.json", "salt.secret", "workbook.duckdb"]
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["client"] == client and manifest["schema_version"] >= 1
    assert run(["restore", str(archive), "--client", "copy-shop"], capsys)[0] == 0
    assert stat.S_IMODE((home / "copy-shop" / "salt.secret").stat().st_mode) == 0o600
    assert (home / "copy-shop" / "salt.secret").read_text() == (home / client / "salt.secret").read_text()


def test_an_existing_client_is_replaced_only_with_force(client, home, exports, archive, capsys):
    before = rows(home, client)
    assert run(["import", client, str(exports[1]), "--source", "survey"], capsys)[0] == 0
    code, said = run(["restore", str(archive)], capsys)
    assert code == 2 and said.count("\n") == 1
    assert f"Client '{client}' already exists" in said and "--force" in said
    assert len(rows(home, client)) == 3  # untouched
    assert run(["restore", str(archive), "--force"], capsys)[0] == 0
    assert rows(home, client) == before
    assert [p.name for p in home.iterdir()] == [client]  # no staging or replaced folder left


def _rewrite(archive, path, change):
    """A copy of `archive` at `path` whose members pass through `change(name, data)` (None drops one)."""
    with tarfile.open(archive) as src, tarfile.open(path, "w:gz") as dst:
        for member in src.getmembers():
            data = change(member.name, src.extractfile(member).read())
            if data is not None:
                member.size = len(data)
                dst.addfile(member, io.BytesIO(data))
    return path


def test_a_restore_mistake_is_one_line_and_changes_nothing(client, home, archive, tmp_path, capsys):
    other_salt = "ab" * 32
    plain = tmp_path / "plain.tar.gz"
    with tarfile.open(plain, "w:gz") as tar:
        tar.add(archive, arcname="something.txt")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    notgz = tmp_path / "notes.tar.gz"
    notgz.write_text("not an archive")
    cases = {
        tmp_path / "missing.tar.gz": "No backup at",
        notgz: "is not a Delta Workbook backup",
        plain: "is not a Delta Workbook backup",
        cut: "is damaged",
        _rewrite(archive, tmp_path / "nodb.tar.gz", lambda n, d: None if n == "workbook.duckdb" else d): (
            "is damaged (no workbook.duckdb in it)"
        ),
        _rewrite(
            archive, tmp_path / "salt.tar.gz", lambda n, d: other_salt.encode() if n == "salt.secret" else d
        ): "its salt is not the one its database's pseudonyms were made with",
        _rewrite(
            archive,
            tmp_path / "newer.tar.gz",
            lambda n, d: (
                json.dumps({**json.loads(d), "schema_version": 999}).encode() if n == "manifest.json" else d
            ),
        ): "made by a newer Delta Workbook",
    }
    for path, expected in cases.items():
        code, said = run(["restore", str(path), "--client", "new-shop"], capsys)
        assert code == 2 and said.startswith("error: ") and said.count("\n") == 1, (path, said)
        assert expected in said, (path, said)
    assert sorted(p.name for p in home.iterdir()) == [client]  # nothing restored, nothing left behind
    assert gzip.decompress(archive.read_bytes())  # the good archive was only read


def test_backup_of_a_client_that_is_not_there_is_one_line(home, tmp_path, capsys):
    code, said = run(["backup", "nobody", "--out", str(tmp_path / "x.tar.gz")], capsys)
    assert code == 2 and "No client 'nobody'" in said and said.count("\n") == 1
    assert not (tmp_path / "x.tar.gz").exists()


def test_a_backup_while_an_import_holds_the_database_is_refused_as_locked(
    client, held_by_another_process, tmp_path, capsys
):
    code, said = run(["backup", client, "--out", str(tmp_path / "x.tar.gz")], capsys)
    assert code == 2 and "is locked by another process" in said and said.count("\n") == 1
    assert list(tmp_path.glob("*x.tar.gz*")) == []  # neither the archive nor a partial one
