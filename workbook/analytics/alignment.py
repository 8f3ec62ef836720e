"""Alignment feedback: where leads come from now versus before, and what people ask for that the
business does not offer.

Share shifts compare two disjoint windows of leads: the recent one (the last `RECENT_WEEKS`
weeks up to `as_of`) and the earlier one (the `EARLIER_WEEKS` weeks before it). For each lead
source or location, its share in each window is tested with the two-sided two-proportion
z-test (pooled variance; `stats.two_proportion_ztest`), the difference gets Newcombe's (1998)
hybrid score interval, and p-values are Holm-adjusted (Holm 1979) across the categories, so
"rising" means a shift unlikely to be noise even after looking at every source.

Unmet demand: leads whose `service_requested` is not an active service in the client's
`services` catalogue (case and spaces ignored), ranked by requests, plus how many feedback
texts mention the service (its name without generic words like "installation").
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import numpy as np
import pandas as pd

from workbook import store
from workbook.analytics import stats
from workbook.core import dates

RECENT_WEEKS = 13  # about the last three months
EARLIER_WEEKS = 52  # the year before them
ALPHA = 0.05
DIMENSIONS = {"source": "lead source", "location": "town", "service_requested": "service requested"}
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
NOT_RECORDED = "(not recorded)"


def _end(as_of: dt.date) -> dt.datetime:
    return dates.midnight(as_of + dt.timedelta(days=1))


def _column(by: str) -> str:
    if by not in DIMENSIONS:
        raise ValueError(f"by must be one of {', '.join(DIMENSIONS)}")
    return by


def share_shifts(
    con: duckdb.DuckDBPyConnection,
    by: str,
    as_of: dt.date,
    converted: bool = False,
    recent_weeks: int = RECENT_WEEKS,
    earlier_weeks: int = EARLIER_WEEKS,
) -> pd.DataFrame:
    """Each category's share of leads (or of converted leads) recently versus earlier.

    Columns: value, earlier, recent (lead counts), earlier_share, recent_share, change (recent
    minus earlier share), change_low/change_high (95% interval), p_value, p_adjusted (Holm),
    trend ('rising', 'falling' or 'steady'). Sorted by change, biggest rise first. Empty when
    either window has no leads.
    """
    col = _column(by)
    end = _end(as_of)
    recent_start = end - dt.timedelta(weeks=recent_weeks)
    earlier_start = recent_start - dt.timedelta(weeks=earlier_weeks)
    counts = con.execute(
        f"""SELECT coalesce(nullif(trim({col}), ''), $not_recorded) AS value,
                   count(*) FILTER (WHERE created_at < $recent_start) AS earlier,
                   count(*) FILTER (WHERE created_at >= $recent_start) AS recent
            FROM leads
            WHERE created_at >= $earlier_start AND created_at < $end
              AND (NOT $converted OR converted_at IS NOT NULL)
            GROUP BY 1""",
        {
            "not_recorded": NOT_RECORDED,
            "recent_start": recent_start,
            "earlier_start": earlier_start,
            "end": end,
            "converted": converted,
        },
    ).df()
    n_earlier, n_recent = int(counts["earlier"].sum()), int(counts["recent"].sum())
    if counts.empty or n_earlier == 0 or n_recent == 0:
        return pd.DataFrame(
            columns=[
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
            ]
        )
    counts["earlier_share"] = counts["earlier"] / n_earlier
    counts["recent_share"] = counts["recent"] / n_recent
    shares = [
        (stats.Proportion(n_recent, int(r)), stats.Proportion(n_earlier, int(e)))
        for r, e in zip(counts["recent"], counts["earlier"])
    ]
    tests = [stats.two_proportion_ztest(recent, earlier) for recent, earlier in shares]
    diffs = [stats.newcombe_difference(recent, earlier) for recent, earlier in shares]
    counts["change"] = [d.value for d in diffs]
    counts["change_low"] = [d.low for d in diffs]
    counts["change_high"] = [d.high for d in diffs]
    counts["p_value"] = [t.p_value for t in tests]
    counts["p_adjusted"] = stats.holm(counts["p_value"].to_numpy())
    significant = counts["p_adjusted"] < ALPHA
    counts["trend"] = np.select(
        [significant & (counts["change"] > 0), significant & (counts["change"] < 0)],
        ["rising", "falling"],
        "steady",
    )
    return counts.sort_values(["change", "value"], ascending=[False, True]).reset_index(drop=True)


def monthly_shares(
    con: duckdb.DuckDBPyConnection, by: str, as_of: dt.date, months: int = 18, top: int = 6
) -> pd.DataFrame:
    """Share of each month's leads per category (the `top` largest, the rest as 'other'), for a chart.

    Columns: month, value, leads, share. The month `as_of` falls in may be partial.
    """
    col = _column(by)
    end = _end(as_of)
    start = (pd.Timestamp(as_of).to_period("M") - (months - 1)).to_timestamp().to_pydatetime()
    return con.execute(
        f"""WITH l AS (SELECT date_trunc('month', created_at)::DATE AS month,
                              coalesce(nullif(trim({col}), ''), $not_recorded) AS value
                       FROM leads WHERE created_at >= $start AND created_at < $end),
                 ranked AS (SELECT value, row_number() OVER (ORDER BY count(*) DESC, value) AS r
                            FROM l GROUP BY value),
                 grouped AS (SELECT month, CASE WHEN r <= $top THEN l.value ELSE 'other' END AS value
                             FROM l JOIN ranked USING (value))
            SELECT month, value, count(*) AS leads,
                   count(*) / sum(count(*)) OVER (PARTITION BY month) AS share
            FROM grouped GROUP BY month, value ORDER BY month, value""",
        {"not_recorded": NOT_RECORDED, "start": start, "end": end, "top": top},
    ).df()


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
