"""docs/definitions.md and workbook/analytics/measures.py say the same: every measure in the code
is on the page with the same definition, rows, SQL and modules, and the page names no other."""

import re
from pathlib import Path

import pytest

from workbook.analytics import measures

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "definitions.md"


def documented() -> dict[str, dict[str, str]]:
    """The page's measures: {name: {definition, over, sql, used_in}} from its `## name` sections
    (the definition is the first paragraph, wrapped lines joined; then `- key: value` lines)."""
    sections = re.split(r"^## ", DOC.read_text(), flags=re.M)[1:]
    out = {}
    for section in sections:
        name, body = section.split("\n", 1)
        paragraphs = body.strip().split("\n\n")
        fields = dict(line[2:].split(": ", 1) for line in paragraphs[1].splitlines())
        out[name.strip()] = {"definition": " ".join(paragraphs[0].split()), **fields}
    return out


def test_every_measure_is_documented_and_nothing_else():
    in_code, on_page = set(measures.MEASURES), set(documented())
    assert not in_code - on_page, f"docs/definitions.md lacks: {', '.join(sorted(in_code - on_page))}"
    assert not on_page - in_code, (
        f"docs/definitions.md names unknown measures: {', '.join(sorted(on_page - in_code))}"
    )


@pytest.mark.parametrize("name", sorted(measures.MEASURES))
def test_the_page_says_what_the_code_does(name):
    page, m = documented().get(name), measures.MEASURES[name]
    if page is None:
        pytest.skip("missing from the page (the test above fails)")
    assert page["definition"] == " ".join(m.definition.split()), "definition differs"
    assert page["over"] == m.over, "rows differ"
    assert page["SQL"] == f"`{m.sql}`", "SQL differs"
    assert page["used in"] == ", ".join(f"`{u}`" for u in m.used_in), "used in differs"


@pytest.mark.parametrize("name", sorted(measures.MEASURES))
def test_used_in_names_modules_that_exist(name):
    missing = [u for u in measures.MEASURES[name].used_in if not (ROOT / "workbook" / f"{u}.py").exists()]
    assert not missing, f"{name} names modules that do not exist: {', '.join(missing)}"


def test_one_measure_per_name():
    declared = [v for v in vars(measures).values() if isinstance(v, measures.Measure)]
    assert len({m.name for m in declared}) == len(declared)
    assert all(getattr(measures, m.name.upper()) is m for m in declared)  # PURCHASE is "purchase"
