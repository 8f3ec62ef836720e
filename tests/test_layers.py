"""The package's layers, read from the source with `ast`: each module imports only from its own
layer or the layers below it; analytics return data (no charts, no notebook display, no numbers
put into words); no module both draws charts and runs SQL."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "workbook"

# Lowest first: a module may import from its own layer and from those before it.
LAYERS = ["core", "store", "importers", "analytics", "story", "delivery", "cli"]
ALLOWED = {layer: set(LAYERS[: i + 1]) for i, layer in enumerate(LAYERS)}
ALLOWED["cli"].add("sample")  # `workbook sample` and `workbook demo`
ALLOWED["sample"] = {"sample"}  # the generators write files; they import nothing else of the workbook
# demo builds the sample clients through the importers and records the online store's rollout
ALLOWED["sample.demo"] = {"sample", *LAYERS[: LAYERS.index("analytics")]}

# Imports that break the layering, each in another part's scope, as (module, imported layer); none today.
# Listed so that any other violation fails; remove an entry when its import goes.
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()

DRAWING = {"altair", "IPython", "ipywidgets"}
WORDING = "workbook.core.fmt"  # numbers in words: story's job
SQL_CALLS = {"execute", "executemany", "sql"}


def _modules() -> dict[str, ast.Module]:
    return {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts): ast.parse(
            p.read_text(encoding="utf-8")
        )
        for p in sorted(PACKAGE.rglob("*.py"))
    }


MODULES = _modules()


def _part(name: str) -> str | None:
    """The part of the workbook a module belongs to: 'workbook.story.impact' -> 'story',
    'workbook.cli' -> 'cli'; None for the package itself."""
    parts = name.split(".")[1:]
    return None if parts in ([], ["__init__"]) else parts[0]


def _layer(module: str) -> str | None:
    """The rules a module follows: its part's, except sample/demo.py's own."""
    return "sample.demo" if module == "workbook.sample.demo" else _part(module)


def _imports(module: str, tree: ast.Module) -> list[str]:
    """Absolute names of everything the module imports (in functions and TYPE_CHECKING blocks too)."""
    package = module.split(".") if module.endswith("__init__") else module.split(".")[:-1]
    package = [p for p in package if p != "__init__"]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [node.module])])
            # `from workbook import store` imports `workbook.store`, `from workbook.core import fmt`
            # imports `workbook.core.fmt` (a module or a name in one)
            out += [f"{base}.{alias.name}" for alias in node.names]
    return out


def _workbook_layers(module: str, tree: ast.Module) -> set[str]:
    return {_part(name) for name in _imports(module, tree) if name.split(".")[0] == "workbook"} - {None}


def _violations() -> set[tuple[str, str]]:
    found = set()
    for module, tree in MODULES.items():
        layer = _layer(module)
        if layer is None:
            continue
        assert layer in ALLOWED, f"{module}: layer {layer!r} is not declared in this test"
        found |= {(module, used) for used in _workbook_layers(module, tree) - ALLOWED[layer]}
    return found


def test_every_module_imports_only_from_its_layer_or_below():
    found = _violations()
    new = sorted(found - KNOWN_VIOLATIONS)
    assert not new, "imports from a higher layer: " + ", ".join(f"{m} imports {layer}" for m, layer in new)
    assert not KNOWN_VIOLATIONS - found, "a known violation is gone: remove it from KNOWN_VIOLATIONS"


def test_analytics_return_data_and_never_draw():
    drawing = {
        module: sorted(name for name in _imports(module, tree) if name.split(".")[0] in DRAWING)
        for module, tree in MODULES.items()
        if _layer(module) == "analytics"
    }
    assert not {m: names for m, names in drawing.items() if names}


def _puts_numbers_into_words(module: str, tree: ast.Module) -> bool:
    return any(name == WORDING or name.startswith(WORDING + ".") for name in _imports(module, tree))


def test_analytics_never_put_numbers_into_words():
    wording = [
        module
        for module, tree in MODULES.items()
        if _layer(module) == "analytics" and _puts_numbers_into_words(module, tree)
    ]
    assert not wording, f"{', '.join(wording)} import {WORDING}: put numbers into words in story instead"


def _runs_sql(module: str, tree: ast.Module) -> bool:
    return any(name.split(".")[0] == "duckdb" for name in _imports(module, tree)) or any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS
        for node in ast.walk(tree)
    )


def test_no_module_both_draws_charts_and_runs_sql():
    both = [
        module
        for module, tree in MODULES.items()
        if "altair" in {name.split(".")[0] for name in _imports(module, tree)} and _runs_sql(module, tree)
    ]
    assert not both


@pytest.mark.parametrize(
    "source,module,layers",
    [
        ("from workbook.story import nb", "workbook.analytics.x", {"story"}),
        ("from workbook import store", "workbook.analytics.x", {"store"}),
        ("import workbook.delivery.render", "workbook.story.x", {"delivery"}),
        ("def f():\n    from workbook.cli import main", "workbook.core.x", {"cli"}),
        ("from . import stats", "workbook.analytics.x", {"analytics"}),
        ("from ..story import nb", "workbook.analytics.x", {"story"}),
        ("from .. import story", "workbook.analytics.x", {"story"}),
        ("import duckdb", "workbook.core.x", set()),
    ],
)
def test_imports_are_read_wherever_and_however_they_are_written(source, module, layers):
    assert _workbook_layers(module, ast.parse(source)) == layers


@pytest.mark.parametrize(
    "source,wording",
    [
        ("from workbook.core import fmt", True),
        ("from workbook.core.fmt import money", True),
        ("import workbook.core.fmt as words", True),
        ("def f():\n    from ..core import fmt", True),
        ("from workbook.core import dates", False),
    ],
)
def test_an_import_of_fmt_is_read_however_it_is_written(source, wording):
    assert _puts_numbers_into_words("workbook.analytics.x", ast.parse(source)) == wording
