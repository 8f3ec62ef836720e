"""Alignment feedback: where customers come from now versus before, and what people ask for that
the business does not offer.

Share shifts compare two disjoint windows of one `Dimension` (lead source or town; otherwise an
order's sales channel or location, a new customer's acquisition channel or region, a website
session's channel): the recent one (the last `RECENT_WEEKS` weeks up to `as_of`) and the earlier
one (up to `EARLIER_WEEKS` weeks before it). With less than twice `RECENT_WEEKS` of history the
recent window is the last half of it (at least `MIN_WINDOW_WEEKS`). The whole mix is tested with
Pearson's chi-square test of the 2 x k table of counts (`scipy.stats.chi2_contingency`); each
category's share with the two-sided two-proportion z-test (pooled variance;
`stats.two_proportion_ztest`), its difference with Newcombe's (1998) hybrid score interval, and
the p-values Holm-adjusted (Holm 1979) across the dimension's categories, so "rising" means a
shift unlikely to be noise even after looking at every category. Rows of one day are not
independent draws (a day's sessions come in bursts, a campaign day brings many leads at once), so
the counts are first divided by each category's design effect over days (Rao & Scott 1992: the
Pearson dispersion of its daily shares around its window's share, at least 1; the effective
counts rounded to whole ones); the chi-square
test divides the whole table by their mean (Rao & Scott's first-order correction).

Unmet demand: leads whose `service_requested` is not an active service in the client's
`services` catalogue (case and spaces ignored), ranked by requests, plus how many feedback
texts mention the service (its name without generic words like "installation"); and requests in
review and survey text ("wish you had oat milk", "do you sell beans?", "please add ..."), found
by `REQUEST_PATTERNS`, counted per thing asked for and quoted once with e-mails, phone numbers,
handles and capitalised names masked.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from scipy import stats as sps

from workbook import store
from workbook.analytics import stats
from workbook.analytics.measures import FIRST_PURCHASE, PURCHASE
from workbook.core import dates
from workbook.core.errors import WorkbookError

RECENT_WEEKS = 13  # about the last three months
EARLIER_WEEKS = 52  # the year before them
MIN_WINDOW_WEEKS = 4  # shorter windows than this are not compared
ALPHA = 0.05
NOT_RECORDED = "(not recorded)"
OTHER = "other"

# One relation per kind of row: when it happened (`at`), its category (`value`, the dimension's
# column), its weight (rows, or a day's sessions) and whether it converted (leads only). The
# column is formatted in from `DIMENSIONS` only.
_ROWS = {
    "leads": "SELECT created_at AS ts, {column} AS value, 1 AS weight, converted_at IS NOT NULL AS converted "
    "FROM leads",
    "orders": "SELECT ordered_at AS ts, {column} AS value, 1 AS weight, FALSE AS converted "
    f"FROM orders WHERE {PURCHASE.sql}",
    "new customers": "SELECT f.first_purchase AS ts, c.{column} AS value, 1 AS weight, FALSE AS converted "
    "FROM customers c JOIN (SELECT customer_id, "
    f"{FIRST_PURCHASE.sql} AS first_purchase FROM orders WHERE customer_id IS NOT NULL "
    "GROUP BY customer_id) f USING (customer_id)",
    "website sessions": "SELECT day::TIMESTAMP AS ts, {column} AS value, sessions AS weight, FALSE AS converted "
    "FROM web_sessions",
}


@dataclass(frozen=True)
class Dimension:
    """One way to split where customers come from: `unit` ('leads', 'orders' ...) by `column`."""

    key: str
    label: str  # what one category is, in words: 'lead source'
    unit: str  # what is counted: a key of `_ROWS`
    column: str  # a column of the unit's table

    @property
    def rows(self) -> str:
        return _ROWS[self.unit].format(column=self.column)


# Leads first: where enquiries come from is the most direct feedback; the rest serve every business.
DIMENSIONS: dict[str, Dimension] = {
    d.key: d
    for d in (
        Dimension("lead_source", "lead source", "leads", "source"),
        Dimension("lead_town", "town", "leads", "location"),
        Dimension("order_channel", "sales channel", "orders", "channel"),
        Dimension("order_location", "location", "orders", "location"),
        Dimension("acquisition_channel", "acquisition channel", "new customers", "acquisition_channel"),
        Dimension("customer_region", "region", "new customers", "region"),
        Dimension("web_channel", "website traffic channel", "website sessions", "channel"),
    )
}


def dimension(key: str) -> Dimension:
    if key not in DIMENSIONS:
        raise WorkbookError(f"Unknown alignment dimension {key!r}: use one of {', '.join(DIMENSIONS)}.")
    return DIMENSIONS[key]


@dataclass(frozen=True)
class ShareShift:
    """One dimension's mix recently versus earlier, with its tests.

    `table` has one row per category: value, earlier, recent (counts, or sessions), earlier_share,
    recent_share, change (recent minus earlier share), change_low/change_high (95% interval),
    p_value, p_adjusted (Holm), trend ('rising', 'falling' or 'steady'); biggest rise first.
    It is empty when the history is too short (`history_weeks` < 2 x `MIN_WINDOW_WEEKS`) or a
    window is empty. `chi2`, `dof`, `p_value`: the chi-square test of the whole 2 x k table (NaN
    with fewer than two categories).
    """

    dimension: Dimension
    converted: bool
    history_weeks: int
    earlier_start: dt.date | None
    recent_start: dt.date | None
    as_of: dt.date
    table: pd.DataFrame
    chi2: float = float("nan")
    dof: int = 0
    p_value: float = float("nan")

    @property
    def moving(self) -> pd.DataFrame:
        return self.table[self.table["trend"] != "steady"]

    @property
    def recent_weeks(self) -> int:
        return 0 if self.recent_start is None else (self.as_of - self.recent_start).days // 7 + 1

    @property
    def earlier_weeks(self) -> int:
        if self.earlier_start is None or self.recent_start is None:
            return 0
        return round((self.recent_start - self.earlier_start).days / 7)


_COLUMNS = [
    "value",
    "earlier",
    "recent",
    "earlier_share",
    "recent_share",
    "change",
    "change_low",
    "change_high",
    "p_value",
    "p_adjusted",
    "trend",
    "design_effect",
]


def _end(as_of: dt.date) -> dt.datetime:
    return dates.midnight(as_of + dt.timedelta(days=1))


def _first(con: duckdb.DuckDBPyConnection, dim: Dimension, as_of: dt.date) -> dt.datetime | None:
    """The first dated row of the dimension's unit up to `as_of` with the dimension recorded."""
    first = store.scalar(
        con,
        f"SELECT min(ts) FROM ({dim.rows}) WHERE ts < $end AND nullif(trim(value), '') IS NOT NULL",
        {"end": _end(as_of)},
    )
    return None if first is None else pd.Timestamp(first).to_pydatetime()


def share_shifts(
    con: duckdb.DuckDBPyConnection,
    by: str,
    as_of: dt.date,
    converted: bool = False,
    recent_weeks: int = RECENT_WEEKS,
    earlier_weeks: int = EARLIER_WEEKS,
) -> ShareShift:
    """Each category's share of the dimension's unit (of converted leads with `converted`)
    recently versus earlier; see the module docstring for the windows and the tests."""
    dim = dimension(by)
    end = _end(as_of)
    first = _first(con, dim, as_of)
    history_weeks = 0 if first is None else (end - dates.midnight(first.date())).days // 7
    weeks = min(recent_weeks, history_weeks // 2)
    empty = ShareShift(dim, converted, history_weeks, None, None, as_of, pd.DataFrame(columns=_COLUMNS))
    if first is None or weeks < MIN_WINDOW_WEEKS:
        return empty
    recent_start = end - dt.timedelta(weeks=weeks)
    earlier_start = max(recent_start - dt.timedelta(weeks=earlier_weeks), dates.midnight(first.date()))
    daily = con.execute(
        f"""SELECT ts::DATE AS day, ts >= $recent_start AS recent,
                   coalesce(nullif(trim(value), ''), $not_recorded) AS value, sum(weight)::BIGINT AS n
            FROM ({dim.rows})
            WHERE ts >= $earlier_start AND ts < $end AND (NOT $converted OR converted)
            GROUP BY ALL HAVING sum(weight) > 0""",
        {
            "not_recorded": NOT_RECORDED,
            "recent_start": recent_start,
            "earlier_start": earlier_start,
            "end": end,
            "converted": converted,
        },
    ).df()
    if daily.empty or daily["recent"].all() or not daily["recent"].any():
        return empty
    counts = (
        daily.pivot_table(index="value", columns="recent", values="n", aggfunc="sum", fill_value=0)
        .rename(columns={False: "earlier", True: "recent"})
        .reset_index()
    )
    n_earlier, n_recent = int(counts["earlier"].sum()), int(counts["recent"].sum())
    counts["earlier_share"] = counts["earlier"] / n_earlier
    counts["recent_share"] = counts["recent"] / n_recent
    deff = design_effects(daily, counts)
    counts["design_effect"] = counts["value"].map(deff)
    shares = [
        (
            stats.Proportion(round(n_recent / d), round(r / d)),
            stats.Proportion(round(n_earlier / d), round(e / d)),
        )
        for r, e, d in zip(counts["recent"], counts["earlier"], counts["design_effect"])
    ]
    tests = [stats.two_proportion_ztest(recent, earlier) for recent, earlier in shares]
    diffs = [stats.newcombe_difference(recent, earlier) for recent, earlier in shares]
    counts["change"] = counts["recent_share"] - counts["earlier_share"]
    counts["change_low"] = [d.low for d in diffs]
    counts["change_high"] = [d.high for d in diffs]
    counts["p_value"] = [t.p_value for t in tests]
    counts["p_adjusted"] = stats.holm(counts["p_value"].to_numpy())
    significant = (counts["p_adjusted"] < ALPHA) & (len(counts) > 1)
    counts["trend"] = np.select(
        [significant & (counts["change"] > 0), significant & (counts["change"] < 0)],
        ["rising", "falling"],
        "steady",
    )
    table = counts.sort_values(["change", "value"], ascending=[False, True]).reset_index(drop=True)
    chi2, p_value, dof = float("nan"), float("nan"), 0
    if len(table) > 1:
        # Pearson's statistic without Yates' correction: with two categories it is the z-test squared
        observed = table[["earlier", "recent"]].to_numpy().T / table["design_effect"].mean()
        result = sps.chi2_contingency(observed, correction=False)
        chi2, p_value, dof = float(result.statistic), float(result.pvalue), int(result.dof)
    return ShareShift(
        dim,
        converted,
        history_weeks,
        earlier_start.date(),
        recent_start.date(),
        as_of,
        table,
        chi2,
        dof,
        p_value,
    )


def design_effects(daily: pd.DataFrame, counts: pd.DataFrame) -> dict[str, float]:
    """Each category's design effect over days (Rao & Scott 1992): Pearson's X^2 of its daily
    counts x_d of n_d around n_d p_w (p_w its share in the day's window), over D - 2 degrees of
    freedom (two shares estimated); 1 when that is smaller or there are too few days.

    `daily`: day, recent (bool), value, n; `counts`: value, earlier_share, recent_share.
    """
    days = daily.groupby(["day", "recent"], as_index=False)["n"].sum().rename(columns={"n": "total"})
    shares = counts.set_index("value")[["earlier_share", "recent_share"]]
    effects: dict[str, float] = {}
    for value in counts["value"]:
        x = daily[daily["value"] == value].set_index(["day", "recent"])["n"]
        grid = days.assign(x=[x.get((d, r), 0) for d, r in zip(days["day"], days["recent"])])
        p = np.where(grid["recent"], shares.at[value, "recent_share"], shares.at[value, "earlier_share"])
        expected = grid["total"].to_numpy() * p
        ok = (p > 0) & (p < 1)
        df = int(ok.sum()) - 2
        x2 = float(np.sum((grid["x"].to_numpy()[ok] - expected[ok]) ** 2 / (expected[ok] * (1 - p[ok]))))
        effects[value] = max(1.0, x2 / df) if df > 0 else 1.0
    return effects


def available(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> list[str]:
    """The dimensions with at least two recorded categories up to `as_of`, in `DIMENSIONS` order."""
    return [
        key
        for key, dim in DIMENSIONS.items()
        if store.scalar(
            con,
            f"""SELECT count(DISTINCT trim(value)) FROM ({dim.rows})
                WHERE ts < $end AND nullif(trim(value), '') IS NOT NULL AND weight > 0""",
            {"end": _end(as_of)},
        )
        >= 2
    ]


def monthly_shares(
    con: duckdb.DuckDBPyConnection,
    by: str,
    as_of: dt.date,
    months: int = 18,
    top: int = 6,
    keep: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Share of each month's units per category, for a chart: the `top` largest and every value
    in `keep` (the ones a finding names) on their own, the rest as 'other'.

    Columns: month, value, count, share. The month `as_of` falls in may be partial.
    """
    dim = dimension(by)
    end = _end(as_of)
    start = (pd.Timestamp(as_of).to_period("M") - (months - 1)).to_timestamp().to_pydatetime()
    return con.execute(
        f"""WITH r AS (SELECT date_trunc('month', ts)::DATE AS month,
                              coalesce(nullif(trim(value), ''), $not_recorded) AS value, weight
                       FROM ({dim.rows}) WHERE ts >= $start AND ts < $end),
                 ranked AS (SELECT value, row_number() OVER (ORDER BY sum(weight) DESC, value) AS r
                            FROM r GROUP BY value),
                 grouped AS (SELECT month, weight,
                                    CASE WHEN r <= $top OR list_contains($keep, r.value) THEN r.value
                                         ELSE $other END AS value
                             FROM r JOIN ranked USING (value))
            SELECT month, value, sum(weight)::BIGINT AS count,
                   sum(weight) / sum(sum(weight)) OVER (PARTITION BY month) AS share
            FROM grouped GROUP BY month, value HAVING sum(weight) > 0 ORDER BY month, value""",
        {
            "not_recorded": NOT_RECORDED,
            "start": start,
            "end": end,
            "top": top,
            "keep": list(keep),
            "other": OTHER,
        },
    ).df()


GENERIC_WORDS = {
    "installation",
    "install",
    "installs",
    "repair",
    "repairs",
    "service",
    "services",
    "replacement",
    "maintenance",
    "new",
}


def key_phrase(service: str) -> str:
    """The words that name a service in free text: 'Heat pump installation' -> 'heat pump'."""
    words = re.findall(r"[\w'-]+", service.lower())
    kept = [w for w in words if w not in GENERIC_WORDS]
    return " ".join(kept or words)


def unmet_demand(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, since: dt.date | None = None
) -> pd.DataFrame:
    """Services people asked for that the catalogue does not offer, most requested first.

    Columns: service, requests (leads asking for it), share_of_leads, converted (of those
    leads, how many still became jobs), mentions (feedback texts naming it). Empty when the
    client has no services catalogue (nothing to compare with) or no leads.
    """
    end = _end(as_of)
    start = dates.midnight(since) if since else dt.datetime(1900, 1, 1)
    if not store.scalar(con, "SELECT EXISTS (SELECT 1 FROM services)"):
        return pd.DataFrame(columns=["service", "requests", "share_of_leads", "converted", "mentions"])
    unmet = con.execute(
        """WITH offered AS (SELECT lower(trim(service)) AS s FROM services WHERE coalesce(active, TRUE)),
                l AS (SELECT * FROM leads WHERE created_at >= $start AND created_at < $end)
           SELECT mode(trim(service_requested)) AS service, count(*) AS requests,
                  count(*) / (SELECT count(*) FROM l) AS share_of_leads,
                  count(converted_at) AS converted
           FROM l WHERE nullif(trim(service_requested), '') IS NOT NULL
             AND lower(trim(service_requested)) NOT IN (SELECT s FROM offered)
           GROUP BY lower(trim(service_requested))
           ORDER BY requests DESC, service""",
        {"start": start, "end": end},
    ).df()
    if unmet.empty:
        unmet["mentions"] = pd.Series(dtype="int64")
        return unmet
    phrases = [key_phrase(s) for s in unmet["service"]]
    mentions = dict(
        con.execute(
            """SELECT p.phrase, count(f.feedback_id) FROM (SELECT unnest($phrases::VARCHAR[]) AS phrase) p
           LEFT JOIN feedback f ON contains(lower(f.text), p.phrase)
                               AND f.submitted_at >= $start AND f.submitted_at < $end
           GROUP BY 1""",
            {"phrases": phrases, "start": start, "end": end},
        ).fetchall()
    )
    unmet["mentions"] = [mentions.get(p, 0) for p in phrases]
    return unmet


# --- requests in review and survey text ------------------------------------------------------

_THING = r"(?P<thing>[^.,;:!?\n()]+)"
# A request names the thing asked for right after one of these openings (case ignored).
REQUEST_PATTERNS = [
    re.compile(p + _THING, re.IGNORECASE)
    for p in (
        r"\bwish (?:you|they|u|y'all) (?:had|have|sold|offered|carried|stocked|served|made|did|"
        r"would (?:add|carry|sell|offer|stock|serve|make|do|have|bring back))\s+",
        r"\b(?:do|does|did|can|could) (?:you|they|u) (?:guys )?(?:have|sell|offer|carry|stock|serve|"
        r"make|do|add|get)\s+",
        r"\bplease (?:add|stock|carry|offer|sell|serve|bring back|start (?:selling|offering|serving))\s+",
        r"\bwould love (?:to see |it if (?:you|they) (?:had|added|offered|sold) |(?=a |an |some |more ))",
        r"\bif only (?:you|they) (?:had|sold|offered|did|served)\s+",
        r"\b(?:any|are there) plans? (?:to|for) (?:add|adding|offer|offering|sell|selling|carry|carrying)?\s*",
        r"\bwould be (?:nice|great|good|awesome) (?:to have|if (?:you|they) (?:had|offered|sold|added|did))\s+",
    )
]
# Where the thing asked for ends, and the words a thing does not start or end with.
_CLAUSE_END = re.compile(
    r"\s+(?:and|but|or|so|because|since|as well|too|please|though|anymore|again|here|there|for|with|"
    r"on|to|in|at|when|if|that|which|like|instead|also|now|yet)\b.*$",
    re.IGNORECASE,
)
_LEADING = re.compile(r"^(?:(?:a|an|the|some|more|any|your|a few|few|real|proper|actual)\s+)+", re.IGNORECASE)
_MAX_WORDS = 5

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?:\+?\d[\s().-]*){7,}\d")
_HANDLE = re.compile(r"@\w+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
# Capitalised words that are not names (they stay in a quote).
_NOT_NAMES = {
    *["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    *[
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ],
    "i",
    "i'm",
    "i've",
    "i'd",
    "i'll",
}


def _singular(word: str) -> str:
    """A light English singular for the last word of a thing: 'pastries' -> 'pastry'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def normalize_thing(raw: str) -> str:
    """'some Oat Milk too ' -> 'oat milk': lower case, without leading articles and trailing
    clauses, at most `_MAX_WORDS` words, the last word singular."""
    thing = _CLAUSE_END.sub("", raw.strip())
    thing = _LEADING.sub("", thing.strip()).lower()
    words = re.findall(r"[\w'&-]+", thing)[:_MAX_WORDS]
    if not words:
        return ""
    return " ".join([*words[:-1], _singular(words[-1])])


def mask_personal(sentence: str, keep: str = "") -> str:
    """The sentence with e-mail addresses, phone numbers, @handles and capitalised words that may
    be names (not the first word, not a day or month, not part of `keep`) masked."""
    masked = _EMAIL.sub("[e-mail]", sentence)
    masked = _PHONE.sub("[phone]", masked)
    masked = _HANDLE.sub("[name]", masked)
    kept = set(keep.lower().split())
    words = masked.split(" ")

    def name_like(i: int, word: str) -> bool:
        core = word.strip(".,;:!?\"'()")
        return (
            i > 0
            and re.fullmatch(r"[A-Z][a-z]+(?:'s)?", core) is not None
            and _singular(core.lower().removesuffix("'s")) not in _NOT_NAMES | {_singular(k) for k in kept}
        )

    return " ".join(
        word.replace(word.strip(".,;:!?\"'()"), "[name]") if name_like(i, word) else word
        for i, word in enumerate(words)
    )


def find_requests(text: str) -> list[tuple[str, str]]:
    """The requests in one text: (thing asked for, normalized; the sentence that asks, masked)."""
    found: list[tuple[str, str]] = []
    for sentence in _SENTENCE.split(text or ""):
        for pattern in REQUEST_PATTERNS:
            for match in pattern.finditer(sentence):
                thing = normalize_thing(match.group("thing"))
                if thing and thing not in (t for t, _ in found):
                    found.append((thing, mask_personal(sentence.strip(), thing)))
    return found


# Words too short or too common to tie a request to a product ("by the bag", "for the kids").
_MATCH_STOP_WORDS = {"the", "and", "for", "with", "your", "more", "some", "bag", "size", "option", "kind"}


def _content_words(name: str) -> set[str]:
    """The singular words of four letters or more that name a thing: 'Whole Bean 12oz' -> {'whole', 'bean'}."""
    words = (_singular(w) for w in re.findall(r"[a-z][a-z'-]+", name.lower()))
    return {w for w in words if len(w) >= 4 and w not in _MATCH_STOP_WORDS}


def sold_like(con: duckdb.DuckDBPyConnection, things: list[str], as_of: dt.date) -> list[str]:
    """For each thing asked for, the product or active service it shares a word with, best seller
    first ('beans by the bag' -> 'Whole Bean 12oz'), or '' when nothing sold resembles it: a
    request for something already sold asks to make it easier to find, not to add it."""
    sold = con.execute(
        """SELECT name FROM (
               SELECT trim(product) AS name, count(*) AS n FROM order_items i JOIN orders o USING (order_id)
               WHERE o.ordered_at < $end AND nullif(trim(product), '') IS NOT NULL GROUP BY 1
               UNION ALL
               SELECT trim(service), 0 FROM services WHERE coalesce(active, TRUE) AND nullif(trim(service), '') IS NOT NULL)
           ORDER BY n DESC, name""",
        {"end": _end(as_of)},
    ).fetchall()
    words = [(name, _content_words(name)) for (name,) in sold]
    return [next((name for name, w in words if w & _content_words(thing)), "") for thing in things]


def text_requests(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, since: dt.date | None = None
) -> tuple[pd.DataFrame, int]:
    """Things asked for in review and survey text, most asked first; and how many texts there are.

    Columns: thing, requests (texts asking for it), share_of_texts, quote (the newest asking
    sentence, masked by `mask_personal`), last_at, sold_like (see `sold_like`).
    """
    end = _end(as_of)
    start = dates.midnight(since) if since else dt.datetime(1900, 1, 1)
    texts = con.execute(
        """SELECT submitted_at, text FROM feedback
           WHERE submitted_at >= $start AND submitted_at < $end AND nullif(trim(text), '') IS NOT NULL
           ORDER BY submitted_at DESC, feedback_id""",
        {"start": start, "end": end},
    ).fetchall()
    rows = [(thing, quote, at) for at, text in texts for thing, quote in find_requests(text)]
    columns = ["thing", "requests", "share_of_texts", "quote", "last_at", "sold_like"]
    if not rows:
        return pd.DataFrame(columns=columns), len(texts)
    found = pd.DataFrame(rows, columns=["thing", "quote", "at"])
    table = found.groupby("thing", sort=False).agg(
        requests=("quote", "size"), quote=("quote", "first"), last_at=("at", "first")
    )
    table["share_of_texts"] = table["requests"] / len(texts)
    table = table.reset_index().sort_values(["requests", "thing"], ascending=[False, True])
    table["sold_like"] = sold_like(con, table["thing"].tolist(), as_of)
    return table[columns].reset_index(drop=True), len(texts)
