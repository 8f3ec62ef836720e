"""Industry profiles: what a kind of business measures, and on what clock.

A coffee shop sees its regulars every week and has a morning rush; an online store's customers
come back in months; a home-services firm (HVAC, plumbing) sees a customer once a year or two
and has no busy hour worth managing. So the same 90-day lapse, peak-hour share, monthly cohorts
and rank-based RFM recency would call most of a home-services firm's customers "churned" or
"hibernating" and show a retention grid of zeros. A profile says, per industry: which KPIs
appear, the lapse window of churn, whether peak hours apply, the cohort grain, the RFM recency
bands and the KPIs suggested first as goals.

The industry is `industry` in client.toml (`workbook init --industry` refuses a name not in
`store.clients.INDUSTRIES`); a client.toml edited by hand to an unknown value gets the generic
profile, and `Profile.fallback` says so. What these profiles
mean in words (RFM actions, section titles) lives in `story`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from workbook.store.clients import INDUSTRIES

GENERIC = INDUSTRIES[0]  # "other": any business without a profile of its own


@dataclass(frozen=True)
class Profile:
    industry: str
    churn_kpi: str  # the churn KPI shown (metrics: "churn_rate" 90-day lapse, "churn_rate_annual")
    peak_hours: bool  # whether the busiest hours of the day are worth a KPI
    cohort_grain: str  # the period customers are grouped and followed by (cohorts.GRAINS)
    # Days since the last purchase at most which a customer gets RFM recency score 5, 4, 3, 2
    # (more: 1); None ranks customers against each other instead (rfm module docstring).
    recency_days: tuple[int, int, int, int] | None
    goal_kpis: tuple[str, ...]  # the KPIs suggested first as goals, in this order
    fallback: bool = False  # True when client.toml named an industry without a profile

    def shows(self, kpi: str) -> bool:
        """Whether the KPI named `kpi` belongs on this business's pages."""
        if kpi in CHURN_KPIS:
            return kpi == self.churn_kpi
        return self.peak_hours or kpi != PEAK_HOUR_KPI


CHURN_KPIS = ("churn_rate", "churn_rate_annual")
PEAK_HOUR_KPI = "peak_hour_share"
_RETAIL_GOALS = (
    "revenue",
    "repeat_purchase_rate",
    "lead_conversion_rate",
    "leads",
    "aov",
    "email_conversion_rate",
    "nps",
    "avg_rating",
    "cac",
)

PROFILES: dict[str, Profile] = {
    p.industry: p
    for p in (
        # No assumption about the rhythm: recency ranked among the client's own customers.
        Profile(GENERIC, "churn_rate", True, "month", None, _RETAIL_GOALS),
        # Regulars come weekly: a month away is fading, four months gone.
        Profile(
            "coffee-shop",
            "churn_rate",
            True,
            "month",
            (7, 30, 60, 120),
            ("revenue", "repeat_purchase_rate", "avg_rating", "aov", "peak_hour_share", "nps"),
        ),
        # Orders come every few months; the hour of an online order is not a staffing question.
        Profile(
            "online-store",
            "churn_rate",
            False,
            "month",
            (45, 90, 180, 365),
            (
                "revenue",
                "repeat_purchase_rate",
                "email_conversion_rate",
                "aov",
                "nps",
                "cac",
                "avg_rating",
            ),
        ),
        # Yearly maintenance or a one-off job: lapsed after a year without a visit, cohorts by
        # quarter, recency in months (bands of 6, 12, 18 and 24 months).
        Profile(
            "home-services",
            "churn_rate_annual",
            False,
            "quarter",
            (182, 365, 548, 730),
            ("revenue", "lead_conversion_rate", "leads", "avg_rating", "aov", "nps"),
        ),
    )
}


def profile_for(industry: str) -> Profile:
    """The profile of `industry` (client.toml); the generic one, marked `fallback`, when unknown."""
    if industry in PROFILES:
        return PROFILES[industry]
    return dataclasses.replace(PROFILES[GENERIC], industry=industry, fallback=True)
