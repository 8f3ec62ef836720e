"""Import speed: `import_files` vs DuckDB's plain `read_csv` of the same file into a bare table.

Builds a large Shopify orders export by repeating the sample one (order names made unique per
copy), then times both into fresh databases and prints the figures and their ratio.

    .venv/bin/python bench/import_speed.py [rows]      # default 1,000,000
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "online-store" / "orders_export_1.csv.gz"


def build(rows: int, out: Path) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE one AS SELECT * FROM read_csv($path, all_varchar=true)", {"path": str(SAMPLE)})
    n = con.execute("SELECT count(*) FROM one").fetchall()[0][0]
    copies = -(-rows // n)
    con.execute(
        'CREATE TABLE big AS SELECT * REPLACE ("Name" || \'-\' || c AS "Name") '
        "FROM range($copies) r(c), one ORDER BY c LIMIT $rows",
        {"copies": copies, "rows": rows},
    )
    con.execute(f"COPY big TO '{out}' (HEADER, DELIMITER ',')")
    con.close()


def main(rows: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        run(rows, Path(tmp))


def run(rows: int, work: Path) -> None:
    os.environ["WORKBOOK_HOME"] = str(work / "clients")
    from workbook.importers import import_files
    from workbook.store.clients import init_client

    big = work / "orders_export_1.csv"
    build(rows, big)
    start = time.perf_counter()
    con = duckdb.connect(str(work / "bare.duckdb"))
    con.execute("CREATE TABLE bare AS SELECT * FROM read_csv($path)", {"path": str(big)})
    con.close()
    bare = time.perf_counter() - start
    init_client("bench")
    start = time.perf_counter()
    [result] = import_files("bench", [big], "shopify-orders", progress=False)
    ours = time.perf_counter() - start
    print(result.summary())
    print(f"file: {big.stat().st_size / 1e6:,.0f} MB, {result.rows_read:,} rows")
    print(f"read_csv into a bare table: {bare:.2f} s")
    print(f"import_files (shopify-orders): {ours:.2f} s  ({ours / bare:.2f}x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
