"""One SQL parameter style: named `$name` parameters with a dict, never positional `?` or `$1`.

Every string constant of the package and of bench/ is read with `ast` (an f-string as one text,
each `{...}` standing for a name) and split into tokens by DuckDB's own tokenizer, so marks
inside SQL literals, quoted names and comments are not parameters; question marks in prose and
regexes are told apart from parameters by where they stand."""

from __future__ import annotations

import ast
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "workbook").rglob("*.py"), *(ROOT / "bench").rglob("*.py")])

# Text is SQL when one of these is a token of it, in capitals as our SQL writes them (prose and
# regexes have none), or when it is nothing but parameters and commas and is repeated or joined
# (`"?" * n`, `", ".join(...)`): a VALUES list in the making.
SQL_KEYWORDS = {"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "WITH", "FROM", "WHERE", "VALUES", "JOIN"}
SQL_KEYWORDS |= {"AND", "OR", "BETWEEN", "CAST", "FILTER", "LIMIT"}
# A parameter stands alone: after whitespace or an operator other than a closing bracket (not
# glued to a word, "friend?", or to a regex group, "(\d+)?"); then the end, one of FOLLOWERS
# (not a regex's "(?:"), or whitespace and a keyword or an operator (not a word: "$5 a week").
CLOSING = {")", "]"}
FOLLOWERS = {")", "]", ",", ";", "::"}
AFTER_SPACE = {"keyword", "operator", "comment"}
HOLE = "_x_"  # stands for each `{...}` of an f-string: a name


def _tokens(text: str) -> list[tuple[str, str, bool]]:
    """DuckDB's tokens of `text` as (text, kind, whether whitespace precedes it)."""
    raw = text.encode()  # DuckDB reports byte offsets
    starts = duckdb.tokenize(text)
    ends = [start for start, _ in starts[1:]] + [len(raw)]
    return [
        (raw[start:end].decode().rstrip(), kind.name, start == 0 or raw[start - 1 : start].isspace())
        for (start, kind), end in zip(starts, ends)
    ]


def positional_parameters(text: str, listed: bool = False) -> list[str]:
    """The positional parameters (`?`, `$1`) of `text` if it is SQL, outside its literals and
    comments; `listed`: the text is repeated or joined into a longer one."""
    tokens = [*_tokens(text), ("", "end", True)]
    found = []
    for i, (token, _, spaced) in enumerate(tokens[:-1]):
        numbered = token == "$" and tokens[i + 1][0].isdigit() and not tokens[i + 1][2]
        if token != "?" and not numbered:
            continue
        before = tokens[i - 1] if i else None
        after = tokens[i + 1 + numbered]
        stands_alone = spaced or (before is not None and before[1] == "operator" and before[0] not in CLOSING)
        ends = after[1] == "end" or after[0] in FOLLOWERS or (after[2] and after[1] in AFTER_SPACE)
        if stands_alone and ends:
            found.append(token + (tokens[i + 1][0] if numbered else ""))
    keywords = {token for token, kind, _ in tokens if kind == "keyword"}
    only_parameters = listed and {token for token, _, _ in tokens[:-1]} <= {"?", ","}
    return found if keywords & SQL_KEYWORDS or only_parameters else []


def _texts(tree: ast.AST) -> list[tuple[int, str, bool]]:
    """(line, text, listed) of every string constant: an f-string is one text with its holes
    filled; listed: the constant is repeated (`*`) or an argument of a `.join(...)`."""
    inside_fstrings = {
        id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values
    }
    listing = [
        part
        for node in ast.walk(tree)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)
        for part in (node.left, node.right)
    ] + [
        arg
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
        for arg in node.args
    ]
    listed = {id(node) for part in listing for node in ast.walk(part)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(part.value if isinstance(part, ast.Constant) else HOLE for part in node.values)
            out.append((node.lineno, text, False))
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inside_fstrings
        ):
            out.append((node.lineno, node.value, id(node) in listed))
    return out


def test_sql_binds_named_parameters_only():
    found = [
        f"{path.relative_to(ROOT)}:{line}: {', '.join(parameters)} in {text.strip()[:60]!r}"
        for path in SOURCES
        for line, text, listed in _texts(ast.parse(path.read_text(encoding="utf-8")))
        if (parameters := positional_parameters(text, listed))
    ]
    assert not found, "SQL with positional parameters (write $name and pass a dict):\n" + "\n".join(found)


@pytest.mark.parametrize(
    "text,parameters",
    [
        ("SELECT count(*) FROM orders WHERE customer_id = ?", ["?"]),
        ("DELETE FROM orders WHERE ordered_at < CAST($1 AS DATE) + 1 AND day >= $2", ["$1", "$2"]),
        ("INSERT INTO goals (a, b) VALUES (?,?)", ["?", "?"]),
        ("AND ordered_at < ?::DATE", ["?"]),
        ("count(*) FILTER (WHERE revenue>?)", ["?"]),
        ("SELECT $as_of, ?;", ["?"]),
        ("SELECT 'café', x FROM t WHERE y = ?", ["?"]),  # DuckDB counts bytes, not characters
    ],
)
def test_positional_parameters_are_found(text, parameters):
    assert positional_parameters(text) == parameters


@pytest.mark.parametrize(
    "text",
    [
        "SELECT count(*) FROM orders WHERE ordered_at < $as_of",
        "How likely are you to recommend us to a friend?",
        "Winning Variant?",
        "Segment by 'x'? Use one of region, segment.",
        "An order whatever its amount: a $0 order (a free sample) is a purchase",
        "Spend $5 a week FROM May, or $1.50 WHERE it pays? Ask the client",
        "What? Where? Why ?",
        "?",  # a stand-in for a missing value
        r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
        r"\d{1,2}[/.-]\d{1,2}(\s.*)?",
        r"[+-]?(?:\d+)(?:\.\d*)?",
        "SELECT regexp_extract(tags, '(?:^|,)\\s*x: ?([^,]*)', 1) FROM t",
        "SELECT regexp_replace(c, '(\\d+)$', '$1') FROM t",
        'SELECT "Winning Variant ?" FROM raw',
        "SELECT 1 -- why not ?\n",
        "SELECT 1 /* $1 ? */",
    ],
)
def test_prose_regexes_and_quoted_marks_are_not_parameters(text):
    assert positional_parameters(text) == []


def test_fstrings_and_lists_of_parameters_are_read():
    tree = ast.parse(
        "con.execute(f'SELECT {cols} FROM {table} WHERE x = ?', [1])\n"
        "sql = f\"VALUES ({', '.join('?' * n)})\"\n"
        "marks = ', '.join(['?'] * n)\n"
        "con.execute(f'SELECT {cols} FROM {table} WHERE x = $x', {'x': 1})\n"
        "parser.add_argument('args', nargs='?')\n"
        "host = match.group(1) if match else '?'\n"
    )
    found = sorted(line for line, text, listed in _texts(tree) if positional_parameters(text, listed))
    assert found == [1, 2, 3]
