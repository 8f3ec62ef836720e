"""The client's letter in words: the month's verdict, what went well, what to do, the headline
KPIs against last month and the same month last year, and what changed since the last report.

Everything here is read from what the notebooks already produced (their findings, tagged by
`nb.finding` with facts: `goal`/`status`/`chance` for a goal, `good=True` for good news,
`action="..."` for something the owner can do, `anchor` for the section holding the evidence)
plus the month's KPI comparison (`metrics.month_comparisons`). Findings come in as dicts with
`href` (the page and anchor of their evidence); the delivery layer renders the result.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from workbook.analytics import metrics
from workbook.analytics.metrics import KPI, MonthComparison, WindowValue
from workbook.core import fmt
from workbook.story import goal_words

LIST_ITEMS = 3  # at most this many things that went well, and as many to do: a one-minute read

# Goal statuses of `goals.status`, and the tone a reader expects for each.
STATUS_TONES = {"on track": "good", "met": "good", "at risk": "warn", "off track": "bad", "missed": "bad"}


def status_tone(status: str) -> str:
    """Tone of a goal status: good, warn, bad, or neutral (undefined, not enough data)."""
    return STATUS_TONES.get(str(status).lower().replace("_", " ").strip(), "neutral")


def kpi_label(metric: str) -> str:
    """A KPI as the reader knows it ("Average order value" for "aov")."""
    kpi = metrics.KPIS.get(str(metric))
    return kpi.label if kpi else str(metric).replace("_", " ").capitalize()


@dataclass(frozen=True)
class Item:
    """One line of a list in the letter, linking to the section holding its evidence."""

    text: str
    href: str


def month_words(month: dt.date) -> str:
    return f"{month:%B %Y}"


# ----------------------------------------------------------------------------- the KPI table


def change_words(kpi: KPI, now: float, then: float, currency: str = "USD") -> str:
    """A change as the owner reads it: '+13%' for money and counts (relative), '+6.1 pp' for
    shares, '+0.25' for scores and scales; 'n/a' without both values."""
    if math.isnan(now) or math.isnan(then):
        return "n/a"
    if kpi.unit in ("money", "count") and then > 0:
        change = now / then - 1
        return fmt.pct(change, 0 if abs(change) >= 0.095 else 1, signed=True)
    return goal_words.format_change(kpi, now - then, currency)


def _tone(row: MonthComparison, other: WindowValue) -> str:
    """good/bad for a change beyond chance (`MonthComparison.clear`) in the better/worse
    direction; '' for one within the month's ups and downs."""
    if not row.clear(other):
        return ""
    rising = row.now.value > other.value
    return "good" if rising == (row.kpi.better == "up") else "bad"


def _direction(now: float, then: float) -> str:
    if math.isnan(now) or math.isnan(then):
        return ""
    return "up" if now > then else "down" if now < then else "same"


def _value(kpi: KPI, v: WindowValue, currency: str) -> dict:
    shown = goal_words.format_value(kpi, v.value, currency)
    if v.low is None or v.high is None or math.isnan(v.value):
        return {"value": shown, "range": ""}
    fv = goal_words.format_value
    return {"value": shown, "range": f"95% range {fv(kpi, v.low, currency)} to {fv(kpi, v.high, currency)}"}


def kpi_rows(comparisons: list[MonthComparison], currency: str = "USD") -> list[dict]:
    """The letter's KPI table as words, one dict per KPI (JSON-friendly: report.json keeps it)."""
    rows = []
    for c in comparisons:
        row = {"kpi": c.kpi.name, "label": c.kpi.label, "now": _value(c.kpi, c.now, currency)}
        for key, other in (("previous", c.previous), ("last_year", c.last_year)):
            row[key] = {
                **_value(c.kpi, other, currency),
                "change": change_words(c.kpi, c.now.value, other.value, currency),
                "direction": _direction(c.now.value, other.value),
                "tone": _tone(c, other),
            }
        rows.append(row)
    return rows


def kpi_note(month: dt.date) -> str:
    """How to read the KPI table, once under it."""
    before = (month - dt.timedelta(days=1)).replace(day=1)
    return (
        f"{month_words(month)} against {before:%B} and against {month:%B} {month.year - 1}. Money and "
        "counts are the month's totals; rates and averages are over the whole month. The 95% range is how far "
        "the figure could be off given how the days vary; a change is marked better or worse only "
        "when it is bigger than those ups and downs explain."
    )


# ----------------------------------------------------------------------------- the lists


def goal_line(goal: dict) -> str:
    """A goal's chance in a few words for its card ('A 47% chance of reaching its target.');
    '' for a goal without one (its sentence says why)."""
    chance = goal.get("chance")
    if chance is None or (isinstance(chance, float) and math.isnan(chance)):
        return ""
    words = goal_words.chance(float(chance))
    return f"{words[0].upper()}{words[1:]} of reaching its target."


def _goal_item(goal: dict) -> Item:
    """A goal as one short line of a list: 'Revenue: on track, an 81% chance of reaching its target.'"""
    line = goal_line(goal)
    status = f"{kpi_label(goal['goal'])}: {goal.get('status', 'not judged')}"
    return Item(f"{status}, {line[0].lower()}{line[1:]}" if line else f"{status}.", goal.get("href", ""))


def went_well(findings: list[dict], goals: list[dict]) -> list[Item]:
    """Good news first (findings tagged good), then goals on track or met; at most LIST_ITEMS."""
    good = [Item(f["finding"], f.get("href", "")) for f in findings if f.get("good") and not f.get("goal")]
    good += [_goal_item(g) for g in goals if status_tone(g.get("status", "")) == "good"]
    return good[:LIST_ITEMS]


def to_do(findings: list[dict], goals: list[dict]) -> list[Item]:
    """Actions the findings name, then the goals off track or at risk (their own action, else
    their status and chance); at most LIST_ITEMS."""
    items = [Item(f["action"], f.get("href", "")) for f in findings if f.get("action") and not f.get("goal")]
    behind = sorted(
        (g for g in goals if status_tone(g.get("status", "")) in ("bad", "warn")),
        key=lambda g: status_tone(g["status"]) != "bad",  # off track before at risk
    )
    items += [Item(g["action"], g.get("href", "")) if g.get("action") else _goal_item(g) for g in behind]
    return items[:LIST_ITEMS]


# ----------------------------------------------------------------------------- the verdict


def _compared(row: dict, key: str, when: str) -> str:
    """'13% more than in September', 'the same as in September', '' without a value then."""
    side = row[key]
    if not side["direction"]:
        return ""
    if side["direction"] == "same":
        return f"the same as in {when}"
    more = "more" if side["direction"] == "up" else "less"
    usual = "" if side["tone"] else " (within the usual ups and downs)"
    return f"{side['change'].lstrip('+-')} {more} than in {when}{usual}"


def _points(rows: list[dict], goals: list[dict]) -> tuple[int, int]:
    """(better, worse): clear changes against the same month last year (like with like), else
    against last month, and goals on track or met / off track or missed."""
    tones = [
        row["last_year"]["tone"] if row["last_year"]["direction"] else row["previous"]["tone"] for row in rows
    ]
    tones += [status_tone(g.get("status", "")) for g in goals]
    return tones.count("good"), tones.count("bad")


def verdict(month: dt.date, rows: list[dict], goals: list[dict], todo: list[Item]) -> str:
    """The letter's first paragraph: how the month went, its headline figure against last month
    and last year, the goals in one sentence, and the first thing to do."""
    better, worse = _points(rows, goals)
    mood = {
        (True, False): "a good month",
        (False, True): "a difficult month",
        (True, True): "a mixed month",
        (False, False): "a steady month",
    }[(better > 0, worse > 0)]
    sentences = [f"{month_words(month)} was {mood}."]
    if rows:
        head = rows[0]
        sides = [
            s
            for s in (
                _compared(head, "previous", f"{(month - dt.timedelta(days=1)):%B}"),
                _compared(head, "last_year", f"{month:%B} {month.year - 1}"),
            )
            if s
        ]
        if head["now"]["value"] != "n/a":
            sentences.append(
                f"{head['label']} was {head['now']['value']}"
                + (f", {' and '.join(sides)}." if sides else ".")
            )
    judged = [g for g in goals if status_tone(g.get("status", "")) != "neutral"]
    if judged:
        good = sum(status_tone(g["status"]) == "good" for g in judged)
        sentences.append(f"Goals on track or met: {good} of {len(judged)}.")
    if todo:
        sentences.append(f"First thing to do: {todo[0].text}")
    return " ".join(sentences)


# ----------------------------------------------------------------------------- since the last report


def finding_key(finding: dict) -> tuple:
    """What a finding is about, whatever its numbers: its page and its text-valued facts
    (section, dimension and value, service asked for, goal ...), so the same finding a month
    later, with other figures, is not 'new'."""
    facts = sorted(
        (k, v)
        for k, v in finding.items()
        if k not in ("finding", "action", "anchor", "href", "status", "good") and isinstance(v, str)
    )
    return (
        (finding.get("notebook", ""), *facts) if facts else (finding.get("notebook", ""), finding["finding"])
    )


def changes(
    goals: list[dict], findings: list[dict], before_goals: list[dict], before: list[dict]
) -> list[Item]:
    """What changed since an earlier report: goals whose status moved, goals new or gone, and
    findings about something the earlier report did not mention."""
    was = {g["goal"]: g for g in before_goals}
    out = []
    for g in goals:
        old = was.pop(g["goal"], None)
        if old is None:
            out.append(
                Item(f"New goal: {kpi_label(g['goal'])}, {g.get('status', 'not judged')}.", g.get("href", ""))
            )
        elif old.get("status") != g.get("status"):
            out.append(
                Item(
                    f"{kpi_label(g['goal'])}: {old.get('status', 'not judged')} before, {g.get('status', 'not judged')} now.",
                    g.get("href", ""),
                )
            )
    out += [Item(f"No longer a goal: {kpi_label(metric)}.", "") for metric in was]
    seen = {finding_key(f) for f in before}
    out += [
        Item(f"New: {f['finding']}", f.get("href", ""))
        for f in findings
        if not f.get("goal") and finding_key(f) not in seen
    ]
    return out
