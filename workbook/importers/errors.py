"""The importers' error: one message naming the file, the row, the column, the value and the fix."""

from __future__ import annotations

from workbook.core.errors import WorkbookError


class ImportError_(WorkbookError):
    """Bad input in an export. Nothing of the file was written when this is raised."""


def at_row(file: str | None, row: int, line: int | None, unit: str = "line") -> str:
    """'orders.csv, row 3 (line 4)': the data row number, and the file line (or sheet row)
    where it starts when the format has lines. Without `file`: 'row 3 (line 4)'."""
    where = f"row {row}" if line is None else f"row {row} ({unit} {line})"
    return f"{file}, {where}" if file else where


def shorten(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
