"""The importers' error: one message naming the file, the row, the column, the value and the fix."""

from __future__ import annotations

from ..errors import WorkbookError


class ImportError_(WorkbookError):
    """Bad input in an export. Nothing of the file was written when this is raised."""


def at_row(file: str, row: int, first_line: int | None) -> str:
    """'orders.csv, row 3 (line 4)': data row number, and the file line (or sheet row) when known."""
    if first_line is None:
        return f"{file}, row {row}"
    return f"{file}, row {row} (line {first_line + row - 1})"


def shorten(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
