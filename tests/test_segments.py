"""Segment economics on a hand-made client whose figures are worked out in the comments."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from workbook.analytics import segments as sg
from workbook.core import paths
from workbook.store.clients import Settings
from workbook.story import impact, impact_charts, nb

TOL = 1e-9
P, G = "Personalized picks", "Generic bestsellers"
K1, K3 = dt.datetime(2026, 2, 1, 9), dt.datetime(2026, 3, 1, 9)
COSTS = {"personalized": 1.0, "generic": 0.5}  # assumed cost per send for k3 (no recorded cost)


@pytest.fixture
def econ(rw):
    rw.executemany(
        "INSERT INTO customers (customer_id, customer_key, segment) VALUES (?, ?, ?)",
        [(c, c.upper(), c[0]) for c in ("a1", "a2", "a3", "b1", "b2", "b3")],
    )
    rw.executemany(
        "INSERT INTO campaigns (campaign_id, name, cost) VALUES (?, ?, ?)",
        [("k1", "Feb test", 12), ("k2", "Regular", 5), ("k3", "Mar test", None)],
    )
    day = dt.timedelta(days=1)
    sends = [  # campaign, customer, variant, sent, converted, revenue, unsubscribed
        ("k1", "a1", P, K1, K1 + day, 50, False),
        ("k1", "a2", P, K1, None, None, True),
        ("k1", "a3", G, K1, K1 + day, 30, False),
        ("k1", "b1", P, K1, K1 + day, 20, False),
        ("k1", "b2", G, K1, None, None, False),
        ("k1", "b3", G, K1, None, None, False),
        ("k2", "a3", "Default", K1, K1 + 2 * day, 99, False),  # not a test: left out
        ("k3", "a1", G, K3, None, None, False),
        ("k3", "a2", P, K3, None, None, False),
        ("k3", "b2", P, K3, K3 + day, 40, False),
        ("k3", "b3", G, K3, None, None, False),
    ]
    rw.executemany(
        "INSERT INTO campaign_sends (campaign_id, customer_id, variant, sent_at, converted_at, "
        "revenue, unsubscribed) VALUES (?, ?, ?, ?, ?, ?, ?)",
        sends,
    )
    orders = [(f"o{i}", c, t, r) for i, (_, c, _, _, t, r, _) in enumerate(sends) if t]
    orders.append(("old", "a3", dt.datetime(2025, 12, 1), 15))  # a3 was already a customer
    rw.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES (?, ?, ?, ?)", orders
    )
    rw.executemany(
        "INSERT INTO feedback (feedback_id, customer_id, submitted_at, nps, ces) VALUES (?, ?, ?, ?, ?)",
        [
            ("f1", "a1", K1 + 9 * day, 10, 2),
            ("f2", "a2", K1 + 14 * day, 3, 5),
            ("f0", "a2", dt.datetime(2026, 1, 15), 8, 1),  # before a2's first test: left out
            ("f3", "b1", K1 + 5 * day, 9, None),
            ("f4", "b2", K1 + 5 * day, 6, 4),
            ("f5", "b3", K1 + 5 * day, 10, 1),
        ],
    )
    return sg.economics(rw, as_of=dt.date(2026, 3, 31), since=dt.date(2026, 1, 1), cost_per_send=COSTS)


def row(econ, segment, arm):
    t = econ.table
    return t[(t["segment"] == segment) & (t["arm"] == arm)].iloc[0]


# Worked by hand. k1 costs 12 over 6 recipients = 2 per send; k3 sends cost 1 (personalized) / 0.5.
#   a personalized: k1 a1 (ordered 50, new), k1 a2 (unsubscribed), k3 a2 -> 3 sent, 1 order,
#                   cost 2 + 2 + 1 = 5, ROMI (50 - 5) / 5 = 9, CAC 5 / 1 = 5
#   a generic:      k1 a3 (ordered 30, not new), k3 a1 -> 2 sent, cost 2.5, ROMI (30 - 2.5) / 2.5 = 11
#   b personalized: k1 b1 (20, new), k3 b2 (40, new) -> 2 sent, 2 orders, cost 3, ROMI 19, CAC 1.5
#   b generic:      k1 b2, k1 b3, k3 b3 -> 3 sent, 0 orders, cost 4.5, ROMI -1, no CAC
HAND = {
    ("a", "personalized"): dict(recipients=3, conversions=1, unsubscribes=1, cost=5, romi=9, cac=5),
    ("a", "generic"): dict(recipients=2, conversions=1, unsubscribes=0, cost=2.5, romi=11, cac=math.nan),
    ("b", "personalized"): dict(recipients=2, conversions=2, unsubscribes=0, cost=3, romi=19, cac=1.5),
    ("b", "generic"): dict(recipients=3, conversions=0, unsubscribes=0, cost=4.5, romi=-1, cac=math.nan),
    (sg.ALL, "personalized"): dict(
        recipients=5, conversions=3, unsubscribes=1, cost=8, romi=(110 - 8) / 8, cac=8 / 3
    ),
    (sg.ALL, "generic"): dict(
        recipients=5, conversions=1, unsubscribes=0, cost=7, romi=(30 - 7) / 7, cac=math.nan
    ),
}


@pytest.mark.parametrize("key", list(HAND))
def test_send_level_economics_match_hand_worked_values(econ, key):
    r = row(econ, *key)
    for column, expected in HAND[key].items():
        assert r[column] == pytest.approx(expected, abs=TOL, nan_ok=True), column
    lo, hi = proportion_confint(r["conversions"], r["recipients"], alpha=0.05, method="wilson")
    assert (r["conversion_low"], r["conversion_high"]) == pytest.approx((lo, hi), abs=1e-12)
    assert econ.assumed_cost


def test_customer_level_values_group_by_first_test_arm(econ):
    # first test email: a1 P, a2 P, a3 G, b1 P (k1); b2 G and b3 G (k1) although b2 got P in k3
    # CLTV to date (all orders from the first test on, the regular k2 one included):
    # a1 50, a2 0 | a3 30 + 99 | b1 20 | b2 40, b3 0
    expected = {
        ("a", "personalized"): [50, 0],
        ("a", "generic"): [129],
        ("b", "personalized"): [20],
        ("b", "generic"): [40, 0],
        (sg.ALL, "personalized"): [50, 0, 20],
        (sg.ALL, "generic"): [129, 40, 0],
    }
    for key, values in expected.items():
        r = row(econ, *key)
        assert r["customers"] == len(values)
        assert r["cltv"] == pytest.approx(np.mean(values), abs=TOL)
        if len(values) > 1:  # t interval, as statsmodels computes it from the raw values
            lo, hi = DescrStatsW(np.array(values, float)).tconfint_mean()
            assert (r["cltv_low"], r["cltv_high"]) == pytest.approx((lo, hi), abs=1e-9)


def test_nps_and_ces_with_t_intervals_on_the_answers(econ):
    # personalized (after first test): a1 10, a2 3, b1 9 -> coded +1, -1, +1: NPS 33.3
    r = row(econ, sg.ALL, "personalized")
    coded = np.array([1.0, -1.0, 1.0])
    assert r["nps"] == pytest.approx(100 / 3, abs=TOL)
    lo, hi = DescrStatsW(coded).tconfint_mean()
    assert (r["nps_low"], r["nps_high"]) == pytest.approx((100 * lo, 100 * hi), abs=1e-9)
    assert r["ces"] == pytest.approx(3.5, abs=TOL)  # a1 2, a2 5 (b1 gave no CES)
    lo, hi = DescrStatsW(np.array([2.0, 5.0])).tconfint_mean()
    assert (r["ces_low"], r["ces_high"]) == pytest.approx((lo, hi), abs=1e-9)
    assert row(econ, sg.ALL, "generic")["nps"] == pytest.approx(0.0, abs=TOL)  # b2 6, b3 10


def test_comparison_and_sentences(econ):
    c = econ.comparison.set_index("segment")
    assert c.loc[sg.ALL, "conversion_lift"] == pytest.approx(3 / 5 - 1 / 5, abs=TOL)
    welch = sps.ttest_ind([50, 0, 20], [129, 40, 0], equal_var=False)
    assert c.loc[sg.ALL, "cltv_diff"] == pytest.approx(70 / 3 - 169 / 3, abs=TOL)
    assert (c.loc[sg.ALL, "cltv_low"], c.loc[sg.ALL, "cltv_high"]) == pytest.approx(
        tuple(welch.confidence_interval()), abs=1e-9
    )
    assert math.isnan(c.loc["b", "cltv_diff"])  # one personalized customer in b: no interval
    assert c.loc[sg.ALL, "nps_diff"] == pytest.approx(100 / 3, abs=TOL)
    text = " ".join(impact.segment_sentences(econ))
    assert "Overall" in text and "segment **a**" in text
    shown = impact.segment_table(econ)
    assert list(shown["arm"][:2]) == ["personalized", "generic"]
    assert impact_charts.segments_chart(econ).to_dict()["layer"][0]["encoding"]["yOffset"]["field"] == "arm"


def test_recorded_costs_need_no_assumption(rw):
    rw.execute("INSERT INTO campaigns (campaign_id, cost) VALUES ('k1', 10)")
    rw.executemany(
        "INSERT INTO campaign_sends (campaign_id, customer_id, variant, sent_at) VALUES (?, ?, ?, ?)",
        [("k1", "x", P, K1), ("k1", "y", G, K1)],
    )
    econ = sg.economics(rw, as_of=dt.date(2026, 3, 31))
    assert not econ.assumed_cost
    assert row(econ, "(unknown)", "personalized")["cost"] == pytest.approx(5.0, abs=TOL)


def test_no_tests_means_an_empty_result(rw):
    econ = sg.economics(rw, as_of=dt.date(2026, 3, 31))
    assert econ.empty and econ.comparison.empty and not econ.assumed_cost


def _segments_page(econ_client: str, toml: str, monkeypatch) -> list[tuple[str, object]]:
    """What segments_section says and shows, in order, with `toml` appended to client.toml."""
    folder = paths.client_dir(econ_client)
    with (folder / "client.toml").open("a", encoding="utf-8") as fh:
        fh.write(toml)
    events: list[tuple[str, object]] = []
    monkeypatch.setattr(nb, "say", lambda text: events.append(("say", text)))
    monkeypatch.setattr(nb, "show", lambda obj: events.append(("show", obj)))
    monkeypatch.setattr(nb, "finding", lambda *a, **k: None)
    ctx = nb.open_context(econ_client, None, dt.date(2026, 3, 31))
    try:
        impact.segments_section(ctx, impact.Results(), by="segment")
    finally:
        ctx.con.close()
    return events


def _shown_columns(events) -> list[str]:
    return [c for kind, obj in events if kind == "show" and hasattr(obj, "data") for c in obj.data.columns]


def test_cac_and_romi_are_not_shown_on_a_default_guess(econ, rw, client, monkeypatch):
    rw.close()
    events = _segments_page(client, "", monkeypatch)
    assert not {"CAC", "ROMI"} & set(_shown_columns(events))
    said = [text for kind, text in events if kind == "say"]
    assert any(t.startswith("CAC and ROMI are not shown: no campaign cost was imported") for t in said)


def test_cac_and_romi_on_costs_set_in_client_toml_say_so_before_the_numbers(econ, rw, client, monkeypatch):
    rw.close()
    events = _segments_page(client, "[costs]\nemail_send = 0.5\npersonalized_email_send = 1.0\n", monkeypatch)
    columns = _shown_columns(events)
    assert {"CAC (assumed cost)", "ROMI (assumed cost)"} <= set(columns) and "CAC" not in columns
    first_table = next(i for i, (kind, _) in enumerate(events) if kind == "show")
    assumption = next(
        i
        for i, (kind, text) in enumerate(events)
        if kind == "say" and str(text).startswith("**Assumed, not measured:**")
    )
    assert assumption < first_table
    assert (
        "$0.500 per generic email and $1.000 per personalized email set in client.toml"
        in events[assumption][1]
    )


def test_recorded_costs_need_no_assumption_words(rw):
    econ = sg.economics(rw, as_of=dt.date(2026, 3, 31))
    assert impact.cost_words(econ, Settings()) is None
