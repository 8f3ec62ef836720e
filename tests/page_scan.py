"""Scan a rendered report page for what an owner must never read (issue 13, "must show").

A page is read twice: its visible text, block by block (paragraphs, list items, headings, table
cells with their column's header), and the Vega-Lite spec of every chart (the JSON handed to
`vegaEmbed`, with its inline datasets). The checks:

- a rate outside 0-100%: an unsigned percentage above 100% or below 0 in text (a signed one,
  "+23.7%", is a change; a return on investment may exceed 100%), or a value outside [0, 1] on
  a chart axis formatted as a percentage;
- negative money: "-$12" in text where its clause (with the one before) is not about a change
  (a gap, a trend per week, an interval with a "+" end), or a value below 0 on an axis
  formatted as dollars;
- a rating off 1-5: in a block about ratings or stars, a level ("4.52", "5.40 stars") outside
  1..5; on a chart whose axis title names a rating, a value outside 1..5;
- advice beyond the client's list: "N recipients per version" where the two versions of a 50/50
  test (2 N) need more people than the client's list;
- the history said: the page's text names how much history there is ("History:");
- formatting (issue 15): no raw Markdown left in the text (`**`), no number with more than four
  decimals, in the text or as a slider's read-out (its value, ends and step); and, drawn by
  Vega itself (`repeated_ticks`, slower, so apart from `scan_page`), no axis with the same tick
  label twice ('$7 $7 $8', 'Sep Sep Oct').

Each finding is one line naming the page part and the text, so a failing test says what to fix.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from html.parser import HTMLParser

BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "td", "th", "blockquote", "pre", "figcaption", "caption"}
PERCENT = re.compile(r"(?<![\w.])([+\-]?)(\d[\d,]*(?:\.\d+)?)\s?%")
MONEY = re.compile(r"(?<![\w.])([+\-]?)\(?(?:US)?\$\s?(\d[\d,]*(?:\.\d+)?)")
DECIMAL = re.compile(r"(?<![\w.$+\-])(?<!weight )(\d+\.\d\d)(?![\d%])")
STARS = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s+stars?\b")
RECIPIENTS = re.compile(
    r"(\d[\d,]*)\s+(?:recipients|subscribers|people|customers|emails)\s+per\s+(?:version|variant|arm|group)"
)
# Words that make a percentage above 100% a legitimate figure rather than a rate.
RATIO_WORDS = ("romi", "return on", "return", "times", "lift", "relative", "growth", "index")
# Words that make a negative amount of money a change (a gap, a trend, a difference), not a level.
CHANGE_WORDS = (
    "change",
    "gap",
    "per week",
    "trend",
    "difference",
    "lift",
    "moved",
    "since the baseline",
    "needs",
    "improve",
    "than",
    "vs",
    "minus",
    "refund",
    "fence",
)
# "changed by $5.89", "rose by 3": an amount after "by" is a change too (not "by the deadline").
CHANGE_BY = re.compile(r"\bby [+\-]?\$?\d")
# An axis titled with one of these draws changes, which may be negative.
AXIS_CHANGE_WORDS = ("change", "difference", "gap", "lift", "vs", "trend", "improvement")
RATING_WORDS = ("rating", "stars", "star ")
RAW_MARKDOWN = "**"
LONG_DECIMAL = re.compile(r"(?<![\d.])\d[\d,]*\.\d{5,}")  # more than four decimals: a raw float, not a figure


@dataclass(frozen=True)
class Block:
    text: str
    context: str = ""  # a table cell's column header and its row's first cell


class _Reader(HTMLParser):
    """Visible text blocks of a page (scripts and styles left out); table cells keep the text
    of their column's header as context."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._skip = 0
        self._buf: list[str] = []
        self._headers: list[str] = []
        self._column = 0
        self._row = ""  # the current table row's first cell
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "thead":
            self._in_head, self._headers = True, []
        elif tag == "tr":
            self._column, self._row = 0, ""
        elif tag in BLOCKS:
            self._flush()

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag == "thead":
            self._in_head = False
        elif tag == "table":
            self._headers, self._row, self._column = [], "", 0
        elif tag in BLOCKS:
            text = self._flush(cell=tag in ("td", "th"))
            if tag == "th" and self._in_head:
                self._headers.append(text)
            if tag in ("td", "th"):
                if self._column == 0:
                    self._row = text
                self._column += 1

    def handle_data(self, data):
        if not self._skip:
            self._buf.append(data)

    def _flush(self, cell: bool = False) -> str:
        text = " ".join("".join(self._buf).split())
        self._buf = []
        if text:
            header = self._headers[self._column] if self._column < len(self._headers) else ""
            parts = (self._row, header) if cell and not self._in_head else ()
            context = " / ".join(c for c in parts if c and c != text)
            self.blocks.append(Block(text, context))
        return text


def blocks(page: str) -> list[Block]:
    reader = _Reader()
    reader.feed(page)
    reader._flush()
    return reader.blocks


def page_text(page: str) -> str:
    return "\n".join(b.text for b in blocks(page))


def chart_specs(page: str) -> list[dict]:
    """The Vega-Lite spec of every chart on the page (the first argument of `vegaEmbed`, or of
    the `wbFit` that fits it to the page's column first)."""
    decoder = json.JSONDecoder()
    return [decoder.raw_decode(page, m.end())[0] for m in re.finditer(r"vegaEmbed\(el,\s*(?:wbFit\()?", page)]


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _has(text: str, words) -> bool:
    low = text.lower()
    return any(w in low for w in words)


# Where a clause ends: a figure's words are those of its clause and the one before ("the gap is
# -$16.12 (-5.5% of now)": the percentage's clause "-5.5% of now" follows "the gap is -$16.12").
CLAUSE = re.compile(r"[;:()]|\.\s")


def _clauses(text: str) -> list[tuple[str, str]]:
    """(clause, its words: the clause with the one before) of a block's text."""
    parts = CLAUSE.split(text)
    return [(part, f"{parts[i - 1] if i else ''} {part}") for i, part in enumerate(parts)]


def scan_block(block: Block, list_size: int | None) -> list[str]:
    """Impossible values and oversized advice in one block of text."""
    problems = []
    text, where = block.text, f"{block.context}: {block.text}" if block.context else block.text
    for clause, words in _clauses(text):
        about = f"{block.context} {words}"
        for sign, value in PERCENT.findall(clause):
            x = -_number(value) if sign == "-" else _number(value)
            if sign == "+" or (sign and _has(about, (*CHANGE_WORDS, "pp", "+"))):
                continue  # a change, not a rate
            if x < 0 or (x > 100 and not _has(about, RATIO_WORDS)):
                problems.append(f"rate outside 0-100% ({sign}{value}%): {where[:300]}")
        for sign, value in MONEY.findall(clause):
            if (
                sign == "-"
                and "+" not in clause
                and not _has(about, CHANGE_WORDS)
                and not CHANGE_BY.search(about)
            ):
                problems.append(f"negative money ({sign}${value}): {where[:300]}")
    if _has(f"{block.context} {text}", RATING_WORDS):
        for value in dict.fromkeys(DECIMAL.findall(text) + STARS.findall(text)):
            if not 1 <= _number(value) <= 5:
                problems.append(f"rating off 1-5 ({value}): {where[:300]}")
    if RAW_MARKDOWN in text:
        problems.append(f"raw Markdown ({RAW_MARKDOWN}): {where[:300]}")
    for value in LONG_DECIMAL.findall(text):
        problems.append(f"a number with more than four decimals ({value}): {where[:300]}")
    if list_size is not None:
        for value in RECIPIENTS.findall(text):
            if 2 * _number(value) > list_size:
                problems.append(f"advice beyond the client's list of {list_size:,} ({value}): {where[:300]}")
    return problems


# --- charts


def _walk(node, data: str | None, datasets: dict, out: list) -> None:
    """(rows, encoding) of every (layered, faceted, concatenated) view, with the data it reads."""
    if isinstance(node, list):
        for item in node:
            _walk(item, data, datasets, out)
        return
    if not isinstance(node, dict):
        return
    source = node.get("data")
    if isinstance(source, dict):
        data = source.get("name", data)
        if "values" in source:
            datasets = {**datasets, "__inline__": source["values"]}
            data = "__inline__"
    if "layer" in node:
        # layers share their axes: an axis format or title set on any layer holds for all
        shared: dict[str, dict] = {}
        for layer in node["layer"]:
            for channel, enc in (layer.get("encoding") or {}).items():
                if isinstance(enc, dict):
                    axis = enc.get("axis") if isinstance(enc.get("axis"), dict) else {}
                    got = shared.setdefault(channel.rstrip("2"), {})
                    if axis.get("format"):
                        got.setdefault("format", axis["format"])
                    if enc.get("title"):
                        got.setdefault("title", enc["title"])
        for layer in node["layer"]:
            _walk({**layer, "_shared": shared}, data, datasets, out)
        return
    if "encoding" in node:
        out.append((datasets.get(data) or [], node["encoding"], node.get("_shared", {})))
    for key in ("spec", "hconcat", "vconcat", "concat"):
        if key in node:
            _walk(node[key], data, datasets, out)


def scan_spec(spec: dict) -> list[str]:
    """Values a chart draws outside what its axis says they are: a % axis outside [0, 1], a $
    axis below 0, a rating axis outside 1..5 (and explicit scale domains likewise)."""
    views: list = []
    _walk(spec, None, spec.get("datasets", {}), views)
    problems = []
    title = spec.get("title", "")
    title = title.get("text", "") if isinstance(title, dict) else str(title)
    for rows, encoding, shared in views:
        for channel, enc in encoding.items():
            if not isinstance(enc, dict) or not enc.get("field"):
                continue
            base = channel.rstrip("2")
            if base not in ("x", "y", "theta", "radius"):
                continue
            axis = enc.get("axis") if isinstance(enc.get("axis"), dict) else {}
            fmt = axis.get("format") or shared.get(base, {}).get("format") or ""
            label = f"{enc.get('title') or shared.get(base, {}).get('title') or ''} {title}".strip()
            field = enc["field"]
            values = [r[field] for r in rows if isinstance(r, dict) and isinstance(r.get(field), int | float)]
            scale = enc.get("scale") if isinstance(enc.get("scale"), dict) else {}
            domain = scale.get("domain")
            if isinstance(domain, list):
                values += [v for v in domain if isinstance(v, int | float)]
            values = [v for v in values if not math.isnan(v)]
            if not values:
                continue
            low, high = min(values), max(values)
            what = f"chart {title or '(untitled)'!r}, {channel}={field}"
            if (
                "%" in fmt
                and "+" not in fmt
                and (low < 0 or high > 1)
                and not _has(label, (*RATIO_WORDS, "difference", "change", "vs"))
            ):
                problems.append(f"rate outside 0-100% on a % axis ({low:.4g} to {high:.4g}): {what}")
            if "$" in fmt and "+" not in fmt and low < 0 and not _has(label, AXIS_CHANGE_WORDS):
                problems.append(f"negative money on a $ axis ({low:.4g}): {what}")
            if _has(label, RATING_WORDS) and (low < 1 or high > 5):
                problems.append(f"rating off 1-5 on its axis ({low:.4g} to {high:.4g}): {what}")
    return problems


def _params(node) -> list[dict]:
    """Every parameter (`params`) of a spec and of its layers and sub-views."""
    if isinstance(node, list):
        return [p for item in node for p in _params(item)]
    if not isinstance(node, dict):
        return []
    found = [p for p in node.get("params") or [] if isinstance(p, dict)]
    return found + [
        p for key in ("layer", "spec", "hconcat", "vconcat", "concat") for p in _params(node.get(key))
    ]


def scan_sliders(spec: dict) -> list[str]:
    """A slider whose read-out would show a raw float: its value, ends or step with more than
    four decimals (the read-out is the value as it is, min + k * step)."""
    problems = []
    for param in _params(spec):
        bind = param.get("bind") if isinstance(param.get("bind"), dict) else {}
        if bind.get("input") != "range":
            continue
        numbers = [param.get("value"), bind.get("min"), bind.get("max"), bind.get("step")]
        for value in numbers:
            if isinstance(value, float) and LONG_DECIMAL.search(repr(value)):
                problems.append(
                    f"a slider read-out with more than four decimals ({value!r}): {bind.get('name', '')}"
                )
    return problems


def scan_page(page: str, list_size: int | None = None, history: str | None = "History:") -> list[str]:
    """Every problem on one report page (text and charts); [] for a page an owner can trust.
    `history`: the words that must say how much history there is (None: not checked)."""
    found = [p for b in blocks(page) for p in scan_block(b, list_size)]
    found += [
        p for spec in chart_specs(page) for p in dict.fromkeys(scan_spec(spec) + scan_sliders(spec))
    ]  # once per chart
    if history and history not in page_text(page):
        found.append(f"the history is not said (no {history!r} on the page)")
    return found


AXIS_LABELS = re.compile(r'<g class="mark-text role-axis-label"[^>]*>(.*?)</g>', re.S)


def repeated_ticks(spec: dict) -> list[str]:
    """Axes of a chart, as Vega draws it (vl_convert's SVG), that show one tick label twice."""
    import vl_convert

    svg = vl_convert.vegalite_to_svg(spec)
    title = spec.get("title", "")
    title = title.get("text", "") if isinstance(title, dict) else str(title)
    problems = []
    for axis in AXIS_LABELS.findall(svg):
        labels = re.findall(r"<text[^>]*>([^<]*)</text>", axis)
        if len(labels) != len(set(labels)):
            problems.append(
                f"a tick label repeated on an axis ({' '.join(labels)}): chart {title or '(untitled)'!r}"
            )
    return problems
