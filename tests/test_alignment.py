"""Alignment: share shifts of lead sources and towns, unmet service demand."""

from __future__ import annotations

import datetime as dt

import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from workbook.analytics import alignment
from workbook.story import improvement_delta

AS_OF = dt.date(2026, 10, 31)
EARLIER_DAY = "2026-03-02 10:00"  # inside the earlier window (3 Aug 2025 - 1 Aug 2026)
RECENT_DAY = "2026-09-15 10:00"  # inside the recent one (the 13 weeks from 2 Aug 2026)

# (when, source, town, how many, how many of them converted)
PLAN = [
    (EARLIER_DAY, "Google", "Elm", 140, 40),
    (EARLIER_DAY, "Google", "Riverton", 10, 2),
    (EARLIER_DAY, "Nextdoor", "Elm", 10, 2),
    (EARLIER_DAY, "Yelp", "Elm", 40, 10),
    (RECENT_DAY, "Google", "Elm", 45, 12),
    (RECENT_DAY, "Google", "Riverton", 15, 5),
    (RECENT_DAY, "Nextdoor", "Riverton", 10, 5),
    (RECENT_DAY, "Nextdoor", "Elm", 20, 4),
    (RECENT_DAY, "Yelp", "Elm", 10, 2),
    ("2024-01-01", "Yelp", "Elm", 500, 0),  # before both windows: ignored
]


@pytest.fixture
def con(rw):
    rows, n = [], 0
    for when, source, town, count, converted in PLAN:
        for i in range(count):
            n += 1
            rows.append((f"l{n}", when, source, town, "2026-10-30" if i < converted else None))
    rw.executemany(
        "INSERT INTO leads (lead_id, created_at, source, location, converted_at) VALUES (?, ?, ?, ?, ?)", rows
    )
    return rw


def test_source_shift_matches_statsmodels(con):
    got = alignment.share_shifts(con, "source", AS_OF).set_index("value")
    # earlier 200 leads: Google 150, Nextdoor 10, Yelp 40; recent 100: 60, 30, 10
    assert got.loc["Nextdoor", ["earlier", "recent"]].tolist() == [10, 30]
    assert got.loc["Nextdoor", "change"] == pytest.approx(0.30 - 0.05)
    p_values = [
        proportions_ztest([got.loc[v, "recent"], got.loc[v, "earlier"]], [100, 200])[1] for v in got.index
    ]
    assert got["p_value"].tolist() == pytest.approx(p_values, rel=1e-9)
    assert got["p_adjusted"].tolist() == pytest.approx(multipletests(p_values, method="holm")[1], rel=1e-9)
    low, high = confint_proportions_2indep(30, 100, 10, 200, method="newcomb", compare="diff")
    assert (got.loc["Nextdoor", "change_low"], got.loc["Nextdoor", "change_high"]) == pytest.approx(
        (low, high), rel=1e-9
    )
    assert got.loc["Nextdoor", "trend"] == "rising"
    assert got.loc["Yelp", "trend"] == "falling"  # 20% -> 10%
    assert got.index[0] == "Nextdoor"  # biggest rise first


def test_town_shift_and_converted_leads(con):
    towns = alignment.share_shifts(con, "location", AS_OF).set_index("value")
    assert towns.loc["Riverton", "trend"] == "rising"  # 5% -> 25%
    converted = alignment.share_shifts(con, "location", AS_OF, converted=True).set_index("value")
    # converted: earlier Riverton 2 of 54; recent 10 of 28
    assert converted.loc["Riverton", ["earlier", "recent"]].tolist() == [2, 10]
    assert converted.loc["Riverton", "recent_share"] == pytest.approx(10 / 28)


def test_small_change_is_steady(con):
    got = alignment.share_shifts(con, "source", AS_OF).set_index("value")
    assert got.loc["Google", "trend"] in ("steady", "falling")
    assert improvement_delta.share_sentence(got.reset_index().iloc[0], "source").startswith(
        "Lead source **Nextdoor**: share of leads rose from 5.0% in the year before to 30.0%"
    )


def test_no_recent_leads_gives_empty_frame(con):
    assert alignment.share_shifts(con, "source", dt.date(2025, 1, 1)).empty


def test_monthly_shares_sum_to_one(con):
    got = alignment.monthly_shares(con, "source", AS_OF, top=2)
    assert set(got["value"]) == {"Google", "Yelp", "other"}  # Yelp 50 > Nextdoor 40 leads
    assert got.groupby("month")["share"].sum().tolist() == pytest.approx([1.0, 1.0])


def test_unmet_demand(rw):
    rw.execute(
        "INSERT INTO services (service, active) VALUES ('Furnace repair', TRUE), "
        "('AC repair', TRUE), ('Duct cleaning', FALSE)"
    )
    requested = (
        ["Furnace repair"] * 6
        + ["Heat pump installation"] * 3
        + ["heat pump installation "] * 2
        + ["EV charger installation"] * 3
        + ["Duct cleaning", "", None, "ac REPAIR"]
    )
    rw.executemany(
        "INSERT INTO leads (lead_id, created_at, service_requested, converted_at) VALUES (?, ?, ?, ?)",
        [(f"l{i}", "2026-09-01", s, "2026-09-10" if i == 6 else None) for i, s in enumerate(requested)],
    )
    rw.execute(
        "INSERT INTO feedback (feedback_id, submitted_at, text) VALUES "
        "('f1', '2026-09-02', 'Do you do HEAT PUMPS? I need a heat pump quote'), "
        "('f2', '2026-09-03', 'Great AC repair'), ('f3', '2026-09-04', 'Please add EV charger installs'), "
        "('f4', '2026-09-05', NULL)"
    )
    got = alignment.unmet_demand(rw, AS_OF)
    assert got["service"].tolist() == ["Heat pump installation", "EV charger installation", "Duct cleaning"]
    assert got["requests"].tolist() == [5, 3, 1]
    assert got["share_of_leads"].tolist() == pytest.approx([5 / 18, 3 / 18, 1 / 18])
    assert got["converted"].tolist() == [1, 0, 0]  # lead 6 is the first heat pump one
    assert got["mentions"].tolist() == [1, 1, 0]


def test_unmet_demand_needs_a_catalogue(rw):
    rw.execute("INSERT INTO leads (lead_id, created_at, service_requested) VALUES ('a', '2026-09-01', 'X')")
    assert alignment.unmet_demand(rw, AS_OF).empty


def test_key_phrase():
    assert alignment.key_phrase("Heat pump installation") == "heat pump"
    assert alignment.key_phrase("Repair") == "repair"


@pytest.mark.slow
def test_finds_the_planted_effects_in_the_home_services_sample(samples):
    from workbook import store

    con = store.read("home-services")
    try:
        sources = alignment.share_shifts(con, "source", AS_OF)
        towns = alignment.share_shifts(con, "location", AS_OF)
        unmet = alignment.unmet_demand(con, AS_OF)
    finally:
        con.close()
    # planted: Nextdoor from May 2026 to ~25% of October's leads; Riverton from ~5% to ~25%
    assert sources[sources["trend"] == "rising"]["value"].tolist() == ["Nextdoor"]
    assert towns[towns["trend"] == "rising"]["value"].tolist() == ["Riverton"]
    # planted: Heat pump installation the most requested unoffered service, then EV chargers
    assert unmet["service"].tolist()[:2] == ["Heat pump installation", "EV charger installation"]
    assert unmet["mentions"].iloc[0] > 0  # reviews wishing for heat pumps
