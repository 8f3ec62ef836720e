"""Delta Workbook: import a small business's exports into DuckDB and tell its story in notebooks."""

__version__ = "0.1.0"
