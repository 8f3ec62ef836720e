"""The command line: every command explains itself, and nothing lands in the checkout."""

import subprocess
import sys

import pytest
from test_docs import subcommands

from workbook import cli
from workbook.core import paths

COMMANDS = sorted(subcommands())


def run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "workbook.cli", *args], capture_output=True, text=True, env=env
    )


def test_top_level_help_lists_every_command():
    out = run("--help").stdout
    for name in COMMANDS:
        assert f"    {name}" in out
    assert "WORKBOOK_HOME" in out


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_has_a_real_help(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([name, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: workbook " + name)
    description = text.split("\n\n")[1]
    assert len(description.split()) >= 8, f"`workbook {name} --help` says too little: {description!r}"


def test_user_errors_are_one_line_without_traceback(home, capsys):
    assert cli.main(["init", "Bad Name"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 'Bad Name' is not a valid client name")
    assert "Traceback" not in err


def test_forget_on_unknown_client_says_how_to_create_it(home, capsys):
    assert cli.main(["forget", "nobody", "a@example.com"]) == 2
    assert "workbook init nobody" in capsys.readouterr().err


def test_init_and_forget_write_only_into_workbook_home(home, capsys):
    checkout_clients = paths.project_root() / "data" / "clients"
    before = sorted(checkout_clients.rglob("*")) if checkout_clients.exists() else []
    assert cli.main(["init", "corner-cafe", "--name", "Corner Cafe"]) == 0
    assert cli.main(["forget", "corner-cafe", "someone@example.com"]) == 0
    assert "0 rows" in capsys.readouterr().out
    assert (home / "corner-cafe" / "workbook.duckdb").exists()
    after = sorted(checkout_clients.rglob("*")) if checkout_clients.exists() else []
    assert after == before


def test_import_help_lists_every_preset(capsys):
    from workbook.importers import PRESETS

    with pytest.raises(SystemExit):
        cli.main(["import", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in PRESETS)
