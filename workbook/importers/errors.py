"""The importers' error: one message naming the file, the row, the column, the value and the fix."""

from __future__ import annotations

from ..errors import WorkbookError


class ImportError_(WorkbookError):
    """Bad input in an export. Nothing of the file was written when this is raised."""


def at_row(file: str | None, row: int, first_line: int | None, unit: str = "line") -> str:
    """'orders.csv, row 3 (line 4)': the data row number, and the file line (or sheet row, with
    unit="sheet row") when the format has one. Without `file`: 'row 3 (line 4)'."""
    where = f"row {row}" if first_line is None else f"row {row} ({unit} {first_line + row - 1})"
    return f"{file}, {where}" if file else where


def shorten(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
