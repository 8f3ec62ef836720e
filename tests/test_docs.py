"""The docs cannot drift from the code: the command list comes from the CLI parser itself
(as simonw/sqlite-utils tests/test_docs.py does), and docs/architecture.md names every module."""

import argparse
import re
from pathlib import Path

import pytest

from workbook import cli

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workbook"


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_the_parser_has_the_commands_the_guide_describes():
    assert {"init", "import", "report", "open"} <= set(subcommands())


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_command_is_in_the_readme(name):
    assert f"workbook {name}" in (ROOT / "README.md").read_text(), f"README.md never shows `workbook {name}`"


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_argument_explains_itself(name):
    parser = subcommands()[name]
    silent = [
        a.dest
        for a in parser._actions
        if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()
    ]
    assert not silent, f"`workbook {name} --help` says nothing about: {', '.join(silent)}"


def modules() -> list[str]:
    """Every module of the package as its path below workbook/, e.g. 'analytics/clv.py'."""
    return sorted(
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.name != "__init__.py" or len(p.read_text().splitlines()) > 40
    )


def test_architecture_doc_names_every_module():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    missing = [m for m in modules() if f"`{m}`" not in doc]
    assert not missing, f"docs/architecture.md does not name: {', '.join(missing)}"


def test_architecture_doc_names_no_module_that_is_gone():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    layers = "|".join(d.name for d in PACKAGE.iterdir() if (d / "__init__.py").exists())
    named = set(re.findall(rf"`((?:{layers})/[a-z_/]+\.py)`", doc))
    gone = sorted(n for n in named if not (PACKAGE / n).exists())
    assert not gone, f"docs/architecture.md names modules that do not exist: {', '.join(gone)}"
