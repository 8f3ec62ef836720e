"""Industry profiles: each changes what it should (KPIs shown, lapse window, peak hours, cohort
grain, RFM recency and wording, suggested goals), an unknown industry falls back to the generic
one and says so, `init` refuses a typo, and per-customer figures state the identified share."""

from __future__ import annotations

import datetime as dt

import IPython.display
import pandas as pd
import pytest

from workbook import cli, store
from workbook.analytics import cohorts, goals, metrics, profiles, rfm
from workbook.core.errors import WorkbookError
from workbook.store import clients
from workbook.story import cohort_analysis, goal_words, improvement_delta, nb, onboarding

HOME = profiles.PROFILES["home-services"]
COFFEE = profiles.PROFILES["coffee-shop"]
ONLINE = profiles.PROFILES["online-store"]
GENERIC = profiles.PROFILES["other"]


@pytest.mark.parametrize("profile", list(profiles.PROFILES.values()), ids=list(profiles.PROFILES))
def test_every_profile_names_kpis_and_grains_that_exist(profile):
    assert profile.churn_kpi in metrics.KPIS and set(profile.goal_kpis) <= set(metrics.KPIS)
    assert all(profile.shows(k) for k in profile.goal_kpis)  # never suggests a hidden KPI
    assert profile.cohort_grain in cohorts.GRAINS and profile.cohort_grain in cohort_analysis.YEAR
    if profile.recency_days is not None:
        assert list(profile.recency_days) == sorted(set(profile.recency_days))
    assert not profile.fallback


def test_the_profiles_are_the_industries_init_accepts():
    assert tuple(profiles.PROFILES) == clients.INDUSTRIES


def test_home_services_lapse_after_a_year_without_peak_hours():
    lapse = dict(metrics.get(HOME.churn_kpi).params)["lapse"]
    assert lapse >= 365
    assert not HOME.shows("churn_rate") and not HOME.shows("peak_hour_share")
    assert HOME.cohort_grain == "quarter"
    # the others keep the 90-day lapse; only the coffee shop and the generic profile the rush hour
    for p in (COFFEE, ONLINE, GENERIC):
        assert dict(metrics.get(p.churn_kpi).params)["lapse"] == 90
        assert not p.shows("churn_rate_annual")
    assert COFFEE.shows("peak_hour_share") and not ONLINE.shows("peak_hour_share")


def test_an_unknown_industry_gets_the_generic_profile_and_is_marked():
    got = profiles.profile_for("bakery")
    assert got.fallback and got.industry == "bakery"
    assert (got.churn_kpi, got.peak_hours, got.cohort_grain, got.recency_days, got.goal_kpis) == (
        GENERIC.churn_kpi,
        GENERIC.peak_hours,
        GENERIC.cohort_grain,
        GENERIC.recency_days,
        GENERIC.goal_kpis,
    )
    assert profiles.profile_for("home-services") is HOME


def test_notebook_01_says_which_industry_it_did_not_know(client, home, rw, shown):
    _orders(rw, [("o1", "a", "2026-01-05 08:00", 10)])
    rw.close()  # the notebook reads the file
    toml = home / client / clients.CONFIG_FILE
    toml.write_text(toml.read_text().replace('industry = "online-store"', 'industry = "bakery"'))
    ctx = nb.open_context(client, as_of="2026-01-31")
    assert ctx.profile.fallback
    onboarding.baselines(ctx)
    assert "names the industry bakery, which the workbook has no profile for" in shown[0]


def test_init_refuses_a_typo_in_one_line(home, capsys):
    assert cli.main(["init", "cafe", "--industry", "cofee-shop"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "did you mean coffee-shop?" in err
    assert not (home / "cafe").exists()
    with pytest.raises(WorkbookError, match="home-services"):
        clients.init_client("hvac", industry="hvac")
    assert cli.main(["init", "hvac", "--industry", "home-services"]) == 0
    assert clients.load_client("hvac").config.industry == "home-services"


def _orders(rw, rows):
    rw.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES (?, ?, ?, ?)", rows
    )


def test_available_kpis_follow_the_profile(rw):
    _orders(rw, [("o1", "a", "2026-01-05 08:00", 10), ("o2", None, "2026-01-06 09:00", 5)])
    names = {p.industry: {k.name for k in metrics.available_kpis(rw, p)} for p in (HOME, COFFEE, ONLINE)}
    assert "churn_rate_annual" in names["home-services"] and "churn_rate" not in names["home-services"]
    assert "peak_hour_share" not in names["home-services"] | names["online-store"]
    assert {"churn_rate", "peak_hour_share"} <= names["coffee-shop"]
    everything = {k.name for k in metrics.available_kpis(rw)}
    assert names["coffee-shop"] | {"churn_rate_annual"} == everything


# Five one-time customers seen 1, 5, 10, 20 and 70 days before AS_OF.
AS_OF = dt.date(2026, 3, 31)
RECENCY = {"A": 1, "B": 5, "C": 10, "D": 20, "E": 70}


def test_rfm_recency_bands_per_industry(rw):
    _orders(rw, [(f"o{c}", c, AS_OF - dt.timedelta(days=d), 50) for c, d in RECENCY.items()])
    # ranked among themselves (generic), E is the oldest: r = 1, a one-time buyer -> hibernating
    ranked = rfm.scores(rw, AS_OF).set_index("customer_key")
    assert ranked.loc["E", "r"] == 1 and ranked.loc["E", "segment"] == "hibernating"
    # home services: 70 days is within the first band (182 days): r = 5, a new customer
    hvac = rfm.scores(rw, AS_OF, HOME.recency_days).set_index("customer_key")
    assert hvac["r"].tolist() == [5, 5, 5, 5, 5] and hvac.loc["E", "segment"] == "new customers"
    # coffee shop, bands 7/30/60/120: A, B -> 5; C, D -> 4; E (70) -> 2
    cafe = rfm.scores(rw, AS_OF, COFFEE.recency_days).set_index("customer_key")
    assert cafe["r"].to_dict() == {"A": 5, "B": 5, "C": 4, "D": 4, "E": 2}
    segments = rfm.segments(rw, AS_OF, HOME.recency_days)
    assert segments["customers"].sum() == 5 and set(segments["segment"]) == {"new customers"}


def test_rfm_actions_in_the_industrys_words():
    assert "popular products" in cohort_analysis.rfm_actions("other")["about to sleep"]
    hvac = cohort_analysis.rfm_actions("home-services")
    assert "popular products" not in hvac["about to sleep"] and "maintenance" in hvac["about to sleep"]
    assert set(hvac) == set(rfm.SEGMENTS) == set(cohort_analysis.rfm_actions("bakery"))


def test_identified_share_counts_orders_with_a_customer_id(rw):
    _orders(rw, [("o1", "a", "2026-01-05", 10), ("o2", "b", "2026-01-06", 5), ("o3", None, "2026-01-06", 7)])
    _orders(rw, [("o4", None, "2026-01-07", 7), ("o5", None, "2026-04-07", 7)])  # o5 after as_of
    share = cohorts.anonymous_share(rw, AS_OF)
    assert share["identified_share"] == pytest.approx(2 / 4) and share["order_share"] == pytest.approx(2 / 4)
    repeat, revenue = metrics.get("repeat_purchase_rate"), metrics.get("revenue")
    assert goal_words.identified(repeat, 0.5) == " (computed on the 50% of sales that carry a customer id)"
    assert goal_words.identified(revenue, 0.5) == ""  # revenue counts every sale
    assert goal_words.identified(repeat, 1.0) == ""  # nothing anonymous: nothing to say
    assert repeat.identified_only and metrics.get("churn_rate_annual").identified_only


def test_cohort_words_follow_the_grain():
    curve = pd.DataFrame(
        {
            "period": [0, 1, 2, 3],
            "customers": [100, 90, 80, 70],
            "retention": [1.0, 0.2, 0.1, 0.05],
            "retention_low": [1.0, 0.13, 0.05, 0.02],
            "retention_high": [1.0, 0.29, 0.18, 0.12],
            "value_per_customer": [100.0, 120.0, 130.0, 140.0],
            "value_se": [1.0, 2.0, 3.0, 4.0],
            "value_low": [98.0, 116.0, 124.0, 132.0],
            "value_high": [102.0, 124.0, 136.0, 148.0],
        }
    )
    text = cohort_analysis.retention(curve, "quarter")
    assert "first quarter after acquisition" in text and "In quarter 2 after" in text  # half a year
    assert "month" not in text
    said, finding = cohort_analysis.value(curve, "USD", "quarter", " (computed on the 40% of sales)")
    assert "first 4 quarters" in said and finding.endswith("(computed on the 40% of sales).")


@pytest.fixture
def shown(monkeypatch):
    """The Markdown and HTML the story functions display, as text."""
    out: list[str] = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, metadata=None: out.append(str(obj.data)))
    return out


def test_samples_show_their_industrys_kpis_and_the_identified_share(samples, shown):
    hvac = nb.open_context("home-services")
    onboarding.baselines(hvac)
    page = "\n".join(shown)
    assert "Churn rate (12-month lapse)" in page and "90-day" not in page and "Peak-hour" not in page
    assert "computed on the" not in page  # every job carries a customer
    shown.clear()
    cafe = nb.open_context("coffee-shop")
    onboarding.baselines(cafe)
    page = "\n".join(shown)
    orders = cafe.con.execute(
        "SELECT customer_id FROM orders WHERE ordered_at::DATE <= $d", {"d": cafe.as_of}
    ).df()
    share = orders["customer_id"].notna().mean()  # the reference: pandas over the same rows
    assert 0.2 < share < 0.5
    note = f"(computed on the {share:.0%} of sales that carry a customer id)"
    repeat_row = next(row for row in page.split("<tr>") if "Repeat purchase rate" in row)
    assert note in repeat_row and "Peak-hour share of sales" in page
    revenue_row = next(row for row in page.split("<tr>") if "Revenue per week" in row)
    assert "computed on" not in revenue_row
    # the goal card of notebook 02 says it too, beside the repeat rate's baseline
    said: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nb, "say", said.append)
        mp.setattr(nb, "show", lambda *objs: None)
        mp.setattr(nb, "finding", lambda *a, **k: None)
        improvement_delta.goal_card(
            cafe,
            goals.delta(cafe.con, goals.suggest(cafe.con, "repeat_purchase_rate", cafe.as_of), cafe.as_of),
        )
    baseline_line = next(line for line in "\n".join(said).splitlines() if line.startswith("- **Baseline**"))
    assert note in baseline_line


def test_home_services_cohorts_are_quarterly_with_its_own_rfm_advice(samples, shown):
    hvac = nb.open_context("home-services")
    cohort_analysis.coverage_section(hvac)
    cohort_analysis.retention_section(hvac)
    page = "\n".join(shown)
    assert "grouped and followed by quarter" in page and "first quarter after acquisition" in page
    table = cohort_analysis.segment_table(
        rfm.segments(hvac.con, hvac.as_of, HOME.recency_days), "USD", HOME.industry
    )
    assert not table["what to do"].str.contains("popular products").any()
    assert table["what to do"].notna().all()


def test_home_services_suggested_goals_follow_its_profile(samples):
    with store.read(db_path=clients.load_client("home-services").db_path) as con:
        got = [g.metric for g in goals.suggested_goals(con, dt.date(2026, 10, 31), HOME)]
    assert got == ["revenue", "lead_conversion_rate", "leads", "avg_rating"]
