"""Composite indices on hand-made data: components, weights and index values worked by hand."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.weightstats import DescrStatsW

from workbook.analytics import indices as ix
from workbook.analytics.segments import ALL, SegmentEconomics
from workbook.core.errors import WorkbookError
from workbook.story import impact, impact_charts

TOL = 1e-9
AS_OF = dt.date(2026, 6, 30)
DAY = dt.datetime(2026, 3, 1)


def _feedback(rw, rows):
    rw.executemany(
        "INSERT INTO feedback (feedback_id, submitted_at, nps, ces, csat, rating) VALUES (?, ?, ?, ?, ?, ?)",
        [(f"f{i}", DAY, *r) for i, r in enumerate(rows)],
    )


def test_customer_experience_quotient(rw):
    # NPS 10, 9, 5, 8 -> 2 promoters, 1 detractor of 4: NPS +25 -> score 62.5
    # CES 2 and 4 -> mean 3 -> 100 (7 - 3) / 6 = 66.67;  CSAT 5, 3, 4 -> 2 of 3 satisfied = 66.67
    # no star ratings: left out, weights .35/.20/.25 rescaled by their sum .80
    _feedback(rw, [(10, 2, 5, None), (9, 4, 3, None), (5, None, 4, None), (8, None, None, None)])
    cxq = ix.customer_experience(rw, as_of=AS_OF)
    scores = {c.name: c.score for c in cxq.components}
    assert scores["NPS"] == pytest.approx(62.5, abs=TOL)
    assert scores["CES"] == pytest.approx(200 / 3, abs=TOL)
    assert scores["CSAT"] == pytest.approx(200 / 3, abs=TOL)
    assert math.isnan(scores["Ratings"])
    assert cxq.value == pytest.approx((0.35 * 62.5 + 0.20 * 200 / 3 + 0.25 * 200 / 3) / 0.80, abs=TOL)
    nps = next(c for c in cxq.components if c.name == "NPS")
    lo, hi = DescrStatsW(np.array([1.0, 1.0, -1.0, 0.0])).tconfint_mean()
    assert (nps.low, nps.high) == pytest.approx(((100 * lo + 100) / 2, (100 * hi + 100) / 2), abs=1e-9)
    assert cxq.low < cxq.value < cxq.high
    frame = cxq.frame()
    assert frame["weight_share"].sum() == pytest.approx(1.0, abs=TOL)
    assert frame["contribution"].sum() == pytest.approx(cxq.value, abs=TOL)
    assert "Ratings" in impact.index_sentence(cxq) and "weight 0.35" in impact.index_sentence(cxq)
    assert {c.name: impact.component_measure(c) for c in cxq.components} == {
        "NPS": "NPS +25 from 4 answers",
        "CES": "average effort score 3.00 (1 = easy, 7 = hard) from 2 answers",
        "CSAT": "66.7% of 3 answers satisfied (4-5 of 5)",
        "Ratings": "no reviews",
    }


def test_weights_are_parameters(rw):
    _feedback(rw, [(10, 7, None, 5)])  # NPS +100 -> 100; CES 7 -> 0; rating 5 -> 100
    equal = ix.customer_experience(rw, as_of=AS_OF, weights={"NPS": 1, "CES": 1, "CSAT": 1, "Ratings": 1})
    assert equal.value == pytest.approx(200 / 3, abs=TOL)
    ces_only = ix.customer_experience(rw, as_of=AS_OF, weights={"NPS": 0, "CES": 1, "CSAT": 0, "Ratings": 0})
    assert ces_only.value == pytest.approx(0.0, abs=TOL)


def test_relationship_strength_index(rw):
    # buyers in the year: a (3 orders), b (1), c (2), d (1) -> 2 of 4 repeat = 50
    # new customers in the year: b (referral), c (paid_social), d (referral); a bought in 2024 -> 2 of 3 = 66.7
    # promoters: 1 of 2 answers = 50;  engagement: 3 of 4 emails opened = 75
    rw.executemany(
        "INSERT INTO customers (customer_id, customer_key, acquisition_channel) VALUES (?, ?, ?)",
        [("a", "A", "email"), ("b", "B", "referral"), ("c", "C", "paid_social"), ("d", "D", "referral")],
    )
    orders = [
        ("a", dt.datetime(2024, 5, 1)),
        ("a", DAY),
        ("a", DAY),
        ("a", DAY),
        ("b", DAY),
        ("c", DAY),
        ("c", DAY),
        ("d", DAY),
    ]
    rw.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES (?, ?, ?, 10)",
        [(f"o{i}", c, t) for i, (c, t) in enumerate(orders)],
    )
    _feedback(rw, [(9, None, None, None), (7, None, None, None)])
    rw.executemany(
        "INSERT INTO campaign_sends (campaign_id, customer_id, sent_at, opened_at) VALUES ('k', ?, ?, ?)",
        [("a", DAY, DAY), ("b", DAY, DAY), ("c", DAY, DAY), ("d", DAY, None)],
    )
    rsi = ix.relationship_strength(rw, as_of=AS_OF)
    scores = {c.name: c.score for c in rsi.components}
    assert scores == pytest.approx(
        {"Repeat buyers": 50, "Referred new customers": 200 / 3, "Promoters": 50, "Engagement": 75}, abs=TOL
    )
    assert rsi.value == pytest.approx(0.40 * 50 + 0.15 * 200 / 3 + 0.15 * 50 + 0.30 * 75, abs=TOL)
    assert [impact.component_measure(c) for c in rsi.components] == [
        "50.0% of 4 buying customers ordered twice or more",
        "66.7% of 3 new customers came by referral",
        "50.0% of 2 survey answers are 9-10",
        "75.0% of 4 emails were opened",
    ]


def test_ethical_personalization_score(rw):
    # recipients a (consent), b (no consent, unsubscribed here: consent withdrawn later), c (no consent)
    # -> coverage 2 of 3;  unsubscribe 1 of 4 sends = 25% -> far above the 1% alarm -> 0
    # complaints 3 of 10,000 delivered = 0.03% -> 100 (1 - 0.0003 / 0.003) = 90
    rw.executemany(
        "INSERT INTO customers (customer_id, customer_key, marketing_consent) VALUES (?, ?, ?)",
        [("a", "A", True), ("b", "B", False), ("c", "C", False)],
    )
    rw.executemany(
        "INSERT INTO campaign_sends (campaign_id, customer_id, sent_at, unsubscribed) VALUES ('k', ?, ?, ?)",
        [("a", DAY, False), ("a", DAY, False), ("b", DAY, True), ("c", DAY, False)],
    )
    rw.execute("INSERT INTO campaigns (campaign_id, started_at) VALUES ('k', ?)", [DAY])
    rw.execute(
        "INSERT INTO campaign_results (campaign_id, variant, delivered, spam_complaints) VALUES ('k', 'A', 10000, 3)"
    )
    eps = ix.ethical_personalization(rw, None, AS_OF, opt_out_ease=80)
    scores = {c.name: c.score for c in eps.components}
    assert scores["Consent coverage"] == pytest.approx(200 / 3, abs=TOL)
    assert scores["Opt-out rate"] == pytest.approx(0.0, abs=TOL)
    assert scores["Complaint rate"] == pytest.approx(90.0, abs=TOL)
    assert scores["Opt-out ease"] == 80
    assert math.isnan(scores["Opt-outs under personalization"])  # no A/B tests given
    w = ix.EPS_WEIGHTS
    expected = (w["Consent coverage"] * 200 / 3 + w["Opt-out ease"] * 80 + w["Complaint rate"] * 90) / (
        w["Consent coverage"] + w["Opt-out ease"] + w["Opt-out rate"] + w["Complaint rate"]
    )
    assert eps.value == pytest.approx(expected, abs=TOL)
    assert "Opt-outs under personalization" in impact.index_sentence(eps)
    assert [impact.component_measure(c) for c in eps.components] == [
        "66.7% of 3 emailed people have marketing consent on file (or opted out later)",
        "consultant's checklist score",
        "25.00% of 4 emails led to an unsubscribe",
        "0.03% of 10,000 delivered emails were marked as spam",
        "no personalized vs generic tests",
    ]


def _econ(p_unsub=2, g_unsub=4):
    # personalized: 100 recipients, 3 orders of 100 -> revenue 300; generic: 100, 1 order of 100
    table = pd.DataFrame(
        [
            {
                "segment": ALL,
                "arm": "personalized",
                "recipients": 100,
                "revenue": 300.0,
                "revenue_sq": 30000.0,
                "cost": 2.0,
                "unsubscribes": p_unsub,
            },
            {
                "segment": ALL,
                "arm": "generic",
                "recipients": 100,
                "revenue": 100.0,
                "revenue_sq": 10000.0,
                "cost": 1.0,
                "unsubscribes": g_unsub,
            },
        ]
    )
    return SegmentEconomics(
        "segment",
        dt.date(2025, 7, 1),
        AS_OF,
        table,
        pd.DataFrame(),
        True,
        {"personalized": 0.02, "generic": 0.01},
    )


def test_personalization_efficiency_ratio():
    # incremental revenue (3 - 1) x 100 = 200; extra cost 2 - 100 x 1/100 = 1; time 5 h x $40 x months
    econ = _econ()
    months = (AS_OF - dt.date(2025, 7, 1)).days / (365.25 / 12)
    per = ix.personalization_efficiency(econ, hours_saved_per_month=5, hourly_rate=40)
    assert per.value == pytest.approx(200 + 5 * 40 * months, abs=1e-9)
    p = np.r_[np.full(3, 100.0), np.zeros(97)]
    g = np.r_[100.0, np.zeros(99)]
    lo, hi = sps.ttest_ind(p, g, equal_var=False).confidence_interval()
    assert (per.low, per.high) == pytest.approx(
        (100 * lo + 5 * 40 * months, 100 * hi + 5 * 40 * months), abs=1e-9
    )
    sentence = impact.index_sentence(per)
    assert sentence.startswith("Assumed, not measured")
    assert sentence.index("Time saved is the hours a month set in client.toml") < sentence.index(
        "**Personalization"
    )
    assert [impact.component_measure(c) for c in per.components] == [
        "$2.00 more per personalized recipient x 100 recipients",
        "5 h a month at $40.00",
        "personalized sends beyond generic ones (assumed cost per send)",
    ]
    measures = [impact.component_measure(c) for c in per.components]
    assert impact_charts.index_chart(per, measures).to_dict()["layer"][0]["mark"]["type"] == "bar"


def test_opt_outs_under_personalization_score():
    # personalized 2% vs generic 4% unsubscribes: fewer opt-outs -> 100; reversed: 100 x 2/4 = 50
    better = ix._personalization_optouts(_econ(2, 4), 1.0)
    worse = ix._personalization_optouts(_econ(4, 2), 1.0)
    assert better.score == pytest.approx(100, abs=TOL)
    assert worse.score == pytest.approx(50, abs=TOL)
    assert worse.low <= worse.score <= worse.high
    assert impact.component_measure(worse) == "personalized emails' unsubscribe rate +100.0% vs generic"


def test_no_data_gives_unavailable_indices_with_reasons(rw):
    cxq = ix.customer_experience(rw, as_of=AS_OF)
    assert not cxq.available and "not enough data" in impact.index_sentence(cxq)
    per = ix.personalization_efficiency(
        SegmentEconomics("segment", AS_OF, AS_OF, pd.DataFrame(), pd.DataFrame(), False, {})
    )
    assert not per.available and "A/B" in impact.index_sentence(per)


def test_an_index_needs_half_of_its_weight(rw):
    _feedback(rw, [(None, None, None, 4)])  # only a star rating: 0.20 of the CXQ weight
    cxq = ix.customer_experience(rw, as_of=AS_OF)
    assert not cxq.available
    assert "Only Ratings (4.00 stars from 1 reviews) is known" in impact.index_sentence(cxq)


def test_weights_from_client_toml_override_only_the_parts_they_name():
    w = ix.weights({"customer_experience": {"NPS": 0.5}})
    assert w["customer_experience"] == {**ix.CXQ_WEIGHTS, "NPS": 0.5}
    assert (
        w["relationship_strength"] == ix.RSI_WEIGHTS and ix.CXQ_WEIGHTS["NPS"] == 0.35
    )  # defaults untouched
    with pytest.raises(WorkbookError, match=r"\[index_weights.cx\] is not an index; use customer_experience"):
        ix.weights({"cx": {"NPS": 1}})
    with pytest.raises(WorkbookError, match=r"has no part 'Stars'; use 'NPS', 'CES', 'CSAT', 'Ratings'"):
        ix.weights({"customer_experience": {"Stars": 1}})
    with pytest.raises(WorkbookError, match="leaves every weight at 0"):
        ix.weights({"personalization_efficiency": {"Incremental revenue": 0, "Time saved": 0}})


def test_without_hours_saved_time_is_not_counted_and_the_assumptions_come_first():
    # incremental revenue (3 - 1) x 100 = 200 over an extra cost of 1 (see the test above)
    per = ix.personalization_efficiency(_econ())
    assert per.value == pytest.approx(200.0, abs=1e-9)
    time = next(c for c in per.components if c.name == "Time saved")
    assert math.isnan(time.score) and impact.component_measure(time) == "not given"
    assert ix.NO_TIME in per.notes and ix.ASSUMED_COST in per.notes
    sentence = impact.index_sentence(per)
    assert sentence.startswith("Assumed, not measured: its cost rests on a cost per email")
    assert sentence.index("Time saved is not counted") < sentence.index("**Personalization Efficiency Ratio")
    assert "Time saved 0" not in sentence and "$0.00" not in sentence
