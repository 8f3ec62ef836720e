"""Reading one export into an in-memory DuckDB table of text (`raw`), whatever its format.

CSV goes through DuckDB's `read_csv` (all columns as VARCHAR, delimiter chosen here from the
header line: comma, semicolon or tab). Files that are not valid UTF-8 are transcoded to UTF-8
first (cp1252, else Latin-1; UTF-16 when it has a byte-order mark), because DuckDB's other
encodings need an extension download. `.xlsx` is read with openpyxl, `.parquet` by DuckDB,
`.json` (Google Takeout reviews and other lists of records) with the json module.
Compressed exports (`.gz`, or a `.zip` holding one file, as vendors send large exports) are
unpacked into the import's work folder first, also when named `.csv` (found by their first
bytes; said in `RawFile.notes`); the checksum is of the unpacked contents, so the same export
imported zipped and unzipped counts as one file. A text file read in another encoding than
UTF-8 says which, in `notes`.
Rows keep file order: `raw.rowid + 1` is the data row number used in every message.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import gzip
import hashlib
import json
import shutil
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from workbook.importers.errors import ImportError_, at_row, shorten

CHUNK = 1 << 20
DELIMITERS = [",", ";", "\t"]
FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".json": "json",
}
MAGIC = [
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook"),
    (b"%PDF", "a PDF document"),
    (b"PAR1", "a Parquet file"),
]
ARCHIVES = (b"PK\x03\x04", b"\x1f\x8b")  # zip, gzip: unpacked whatever the file is named
ENCODINGS = {"cp1252": "Windows-1252 (Western European)", "latin-1": "Latin-1", "utf-16": "UTF-16"}


@dataclass
class RawFile:
    """An export ready to load: its headers, checksum and where data row 1 sits in the file."""

    path: Path
    name: str
    sha256: str
    kind: str
    headers: list[str]
    load: Callable[[duckdb.DuckDBPyConnection, list[str]], int] = field(repr=False)
    line_of: Callable[[int], int | None] = field(repr=False, default=lambda row: None)
    unit: str = "line"  # what line_of counts: file line, or sheet row
    notes: list[str] = field(default_factory=list)  # how it was read, when that is worth saying


def q(identifier: str) -> str:
    """A quoted SQL identifier (file headers are user data)."""
    return '"' + identifier.replace('"', '""') + '"'


def open_export(path: Path, workdir: Path) -> RawFile:
    """Check the file and read its header; `load(con, columns)` then fills table `raw`."""
    name = path.name
    if not path.is_file():
        raise ImportError_(f"{path} does not exist or is not a file. Check the path.")
    if path.stat().st_size == 0:
        raise ImportError_(
            f"{name} is empty (0 bytes): nothing to import. Export it again from "
            f"the source and check the download finished."
        )
    if path.suffix.lower() in (".gz", ".zip"):
        return open_export(_unpack(path, workdir), workdir)
    kind = FORMATS.get(path.suffix.lower(), "csv")
    if path.suffix.lower() == ".xls":
        raise ImportError_(
            f"{name} is an old Excel .xls workbook, which cannot be read. Open it "
            f"and save it as .xlsx or CSV, then import that file."
        )
    with path.open("rb") as fh:
        head = fh.read(8)
    if kind in ("csv", "json") and head.startswith(ARCHIVES):
        raw = open_export(_unpack(path, workdir), workdir)
        zipped = head.startswith(ARCHIVES[0])
        what = f"a ZIP archive, not text: read {raw.name}, the file inside it"
        raw.notes.insert(0, f"{name} is {what if zipped else 'gzip-compressed, not text: unpacked and read'}")
        return raw
    sha, encoding = _scan(path, kind, head)
    if kind == "xlsx":
        return _open_xlsx(path, sha)
    if kind == "parquet":
        if not head.startswith(b"PAR1"):
            raise ImportError_(
                f"{name} is not a Parquet file (it does not start with PAR1). "
                f"Export it again, or import the CSV version."
            )
        return _open_parquet(path, sha)
    if kind == "json":
        return _open_json(path, sha, encoding)
    return _open_csv(path, sha, encoding, workdir)


def _unpack(path: Path, workdir: Path) -> Path:
    """The single export inside a gzip or zip file (told by its first bytes), unpacked into `workdir`."""
    name = path.name
    with path.open("rb") as fh:
        gzipped = fh.read(2) == ARCHIVES[1]
    try:
        if gzipped:
            inner = workdir / (path.stem if path.suffix.lower() == ".gz" else name)
            with gzip.open(path, "rb") as src, inner.open("wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
            return inner
        with zipfile.ZipFile(path) as archive:
            members = [
                m for m in archive.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")
            ]
            if any(m.filename == "xl/workbook.xml" for m in members):
                raise ImportError_(
                    f"{name} is an Excel .xlsx workbook with another name. Rename it to "
                    f"{path.stem}.xlsx (or save it as CSV from Excel), then import that file."
                )
            if len(members) != 1:
                listed = ", ".join(m.filename for m in members) or "nothing"
                raise ImportError_(
                    f"{name} holds {len(members)} files ({shorten(listed)}); a zip "
                    f"must hold exactly one export. Unzip it and import the files "
                    f"one by one."
                )
            inner = workdir / Path(members[0].filename).name
            with archive.open(members[0]) as src, inner.open("wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
            return inner
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise ImportError_(
            f"{name} cannot be unpacked ({err}): the download may be incomplete. Download the export again."
        ) from err


def _scan(path: Path, kind: str, head: bytes) -> tuple[str, str]:
    """sha256 of the bytes, and the text encoding (utf-8, utf-16 or cp1252) for text formats."""
    name = path.name
    if kind in ("csv", "json"):
        for magic, what in MAGIC:
            if head.startswith(magic):
                raise ImportError_(
                    f"{name} is {what}, not a {kind.upper()} text file. Export the "
                    f"data as CSV (or save the workbook as .xlsx and import that)."
                )
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = kind in ("csv", "json") and not utf16
    first = True
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            if first and kind in ("csv", "json") and not utf16 and b"\x00" in chunk:
                raise ImportError_(
                    f"{name} is a binary file, not text (it contains NUL bytes). "
                    f"Export the data as CSV and import that file."
                )
            first = False
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
    encoding = "utf-16" if utf16 else "utf-8" if utf8 else "cp1252"
    return digest.hexdigest(), encoding


def _decode(data: bytes, encoding: str) -> tuple[str, str]:
    """The text of a cp1252/UTF-16 file and the encoding used (bytes cp1252 leaves undefined:
    Latin-1)."""
    if encoding == "cp1252":
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            return data.decode("latin-1"), "latin-1"
    return data.decode(encoding), encoding


def _encoding_note(name: str, used: str) -> str:
    return (
        f"{name} is not UTF-8: read as {ENCODINGS[used]} text. If accented letters look "
        f"wrong in the report, export it again as UTF-8"
    )


def _transcode(path: Path, encoding: str, workdir: Path) -> tuple[Path, str]:
    """A UTF-8 copy of a cp1252/Latin-1/UTF-16 file, and the note saying which was read."""
    text, used = _decode(path.read_bytes(), encoding)
    out = workdir / (path.stem + ".utf8.csv")
    out.write_text(text, encoding="utf-8")
    return out, _encoding_note(path.name, used)


def _open_csv(path: Path, sha: str, encoding: str, workdir: Path) -> RawFile:
    name = path.name
    source, notes = path, []
    if encoding != "utf-8":
        source, note = _transcode(path, encoding, workdir)
        notes.append(note)
    with source.open("r", encoding="utf-8-sig", newline="") as fh:
        text = fh.read(1 << 16)
    lines = [line.rstrip("\r") for line in text.split("\n")]
    skip = 0
    while skip < len(lines) and _is_comment(lines[skip]):
        skip += 1
    if skip >= len(lines):
        raise ImportError_(
            f"{name} has no header row (only blank or # comment lines). Export it again with column headers."
        )
    header_line = lines[skip]
    delim = max(DELIMITERS, key=header_line.count) if any(d in header_line for d in DELIMITERS) else ","
    columns = _unique_headers(next(csv.reader([header_line], delimiter=delim)))

    def load(con: duckdb.DuckDBPyConnection, wanted: list[str]) -> int:
        select = ", ".join(q(c) for c in wanted) or "1 AS _none"
        con.execute(
            f"CREATE TABLE raw AS SELECT {select} FROM read_csv($path, columns=$columns, "
            f"delim=$delim, quote='\"', escape='\"', header=true, skip=$skip, "
            f"auto_detect=false, store_rejects=true, strict_mode=true)",
            {"path": str(source), "columns": {c: "VARCHAR" for c in columns}, "delim": delim, "skip": skip},
        )
        reject = con.execute(
            "SELECT line, error_type, csv_line, error_message FROM reject_errors ORDER BY line LIMIT 1"
        ).fetchall()
        if reject:
            line, kind, text_, message = reject[0]
            where = f"{name}, line {line}"
            if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
                raise ImportError_(
                    f"{where}: the row has a different number of values than the header "
                    f"({message}); row text: {shorten(text_)!r}. The file is ragged: fix that "
                    f"row (quote values that contain {delim!r}) or export the file again."
                )
            raise ImportError_(
                f"{where}: the row cannot be read ({kind.lower()}: {message}); row "
                f"text: {shorten(text_)!r}. Fix the row or export the file again."
            )
        return con.execute("SELECT count(*) FROM raw").fetchall()[0][0]

    @functools.lru_cache(maxsize=64)
    def line_of(row: int) -> int | None:
        """The file line where data row `row` starts (quoted line breaks and blank lines
        counted), found by re-reading the file: only done for messages."""
        with source.open("r", encoding="utf-8-sig", newline="") as fh:
            for _ in range(skip):
                fh.readline()
            reader = csv.reader(fh, delimiter=delim)
            next(reader, None)
            seen, before = 0, reader.line_num
            for record in reader:
                if record:
                    seen += 1
                    if seen == row:
                        return skip + before + 1
                before = reader.line_num
        return None

    return RawFile(path, name, sha, "csv", columns, load, line_of, notes=notes)


def _is_comment(line: str) -> bool:
    """Blank, or a `# ...` note (GA4); not a header whose first column is named '#' (Typeform)."""
    text = line.strip()
    return not text or (text.startswith("#") and text[1:2] not in (",", ";", "\t", '"'))


def _cell(value: object) -> str | None:
    """A spreadsheet cell as the text a CSV export would hold."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _unique_headers(cells: Sequence[object]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, cell in enumerate(cells):
        label = _cell(cell) or f"column{i + 1}"
        if label in seen:
            seen[label] += 1
            label = f"{label}_{seen[label]}"
        seen.setdefault(label, 0)
        out.append(label)
    return out


def _register_text_table(
    con: duckdb.DuckDBPyConnection, headers: list[str], rows: list[list], wanted: list[str]
) -> int:
    index = {h: i for i, h in enumerate(headers)}
    table = pa.table(
        {c: pa.array([r[index[c]] if index[c] < len(r) else None for r in rows], pa.string()) for c in wanted}
        if wanted
        else {"_none": pa.array([None] * len(rows), pa.string())}
    )
    con.register("raw_arrow", table)
    con.execute("CREATE TABLE raw AS SELECT * FROM raw_arrow")
    con.unregister("raw_arrow")
    return len(rows)


def _open_xlsx(path: Path, sha: str) -> RawFile:
    import openpyxl

    name = path.name
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many kinds for a damaged or renamed file
        raise ImportError_(
            f"{name} cannot be opened as an Excel .xlsx workbook ({err}). Open it "
            f"in Excel and save it again as .xlsx, or export CSV."
        ) from err
    try:
        rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    finally:
        book.close()
    start = next((i for i, r in enumerate(rows) if any(c is not None for c in r)), None)
    if start is None:
        raise ImportError_(
            f"{name}: the first sheet is empty. Put the export on the first sheet "
            f"with a header row, or export CSV."
        )
    header_cells = rows[start]
    while header_cells and header_cells[-1] is None:
        header_cells = header_cells[:-1]
    headers = _unique_headers(header_cells)
    data = [[_cell(c) for c in r] for r in rows[start + 1 :]]
    while data and all(c is None for c in data[-1]):
        data.pop()
    first_line = start + 2
    for i, r in enumerate(data, start=1):
        extra = [c for c in r[len(headers) :] if c is not None]
        if extra:
            raise ImportError_(
                f"{at_row(name, i, first_line + i - 1, 'sheet row')}: the row has values beyond the last "
                f"header column (e.g. {shorten(extra[0])!r}). Give those columns a "
                f"header or delete them, then import again."
            )

    def load(con: duckdb.DuckDBPyConnection, wanted: list[str]) -> int:
        return _register_text_table(con, headers, data, wanted)

    return RawFile(path, name, sha, "xlsx", headers, load, lambda row: first_line + row - 1, "sheet row")


def _open_parquet(path: Path, sha: str) -> RawFile:
    probe = duckdb.connect()
    try:
        columns = list(probe.sql("SELECT * FROM read_parquet($p) LIMIT 0", params={"p": str(path)}).columns)
    except duckdb.Error as err:
        raise ImportError_(f"{path.name} cannot be read as Parquet ({err}). Export it again.") from err
    finally:
        probe.close()

    def load(con: duckdb.DuckDBPyConnection, wanted: list[str]) -> int:
        select = ", ".join(f"CAST({q(c)} AS VARCHAR) AS {q(c)}" for c in wanted) or "1 AS _none"
        con.execute(f"CREATE TABLE raw AS SELECT {select} FROM read_parquet($p)", {"p": str(path)})
        return con.execute("SELECT count(*) FROM raw").fetchall()[0][0]

    return RawFile(path, path.name, sha, "parquet", columns, load)


def _flatten(record: dict, prefix: str = "") -> dict[str, str | None]:
    """{'reviewer': {'displayName': 'A'}} -> {'reviewer.displayName': 'A'}; lists stay JSON text."""
    out: dict[str, str | None] = {}
    for key, value in record.items():
        label = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, label + "."))
        elif value is None or isinstance(value, str):
            out[label] = value
        elif isinstance(value, bool):
            out[label] = "true" if value else "false"
        elif isinstance(value, (int, float)):
            out[label] = _cell(value)
        else:
            out[label] = json.dumps(value)
    return out


def _open_json(path: Path, sha: str, encoding: str) -> RawFile:
    name = path.name
    notes = []
    if encoding == "utf-8":
        text = path.read_bytes().decode("utf-8-sig")
    else:
        text, used = _decode(path.read_bytes(), encoding)
        notes.append(_encoding_note(name, used))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ImportError_(
            f"{name} is not valid JSON (line {err.lineno}, column {err.colno}: "
            f"{err.msg}). Download the export again."
        ) from err
    records = data
    if isinstance(data, dict):
        records = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ImportError_(
            f"{name} does not hold a list of records (expected a JSON list, or an "
            f'object with one, like Takeout\'s {{"reviews": [...]}}). Check that '
            f"this is the right file."
        )
    flat = [_flatten(r) for r in records]
    headers: list[str] = list(dict.fromkeys(k for r in flat for k in r))
    rows = [[r.get(h) for h in headers] for r in flat]

    def load(con: duckdb.DuckDBPyConnection, wanted: list[str]) -> int:
        return _register_text_table(con, headers, rows, wanted)

    return RawFile(path, name, sha, "json", headers, load, notes=notes)
