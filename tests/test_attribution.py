"""Attribution: path building in SQL, and every model on small path sets worked out by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from workbook.analytics import attribution as at
from workbook.story import impact, impact_charts

TOL = 1e-9  # the hand-worked credits are exact fractions: only float rounding may differ


def _insert(rw, touches, orders):
    rw.executemany("INSERT INTO touches (customer_id, touched_at, channel) VALUES (?, ?, ?)", touches)
    rw.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES (?, ?, ?, ?)", orders
    )


def T(day, hour=10):
    return dt.datetime(2026, 1, day, hour) if day > 0 else dt.datetime(2025, 12, 31 + day, hour)


def test_paths_cut_at_previous_order_and_lookback(rw):
    _insert(
        rw,
        touches=[
            ("a", dt.datetime(2025, 11, 20, 10), "display"),  # > 30 days before o1: dropped
            ("a", T(1), "email"),
            ("a", T(2), "social"),  # -> o1
            ("a", T(4), "search"),  # after o1 -> o2 only
            ("b", T(10), "email"),  # never orders: lost journey
            ("d", T(2), "social"),  # -> o4
            ("d", T(20), "email"),
        ],  # after d's last order: lost
        orders=[
            ("o1", "a", T(3), 100),
            ("o2", "a", T(5), 50),
            ("o3", "c", T(6), 70),  # no touch at all
            ("o4", "d", T(3), 80),
        ],
    )
    df = at.paths(rw, dt.date(2026, 1, 1), dt.date(2026, 1, 31), lookback_days=30, half_life_days=7)
    got = {p: (c, r, n) for p, c, r, n in zip(df["path"], df["conversions"], df["revenue"], df["nulls"])}
    assert got == {
        ("email", "social"): (1, 100.0, 0),
        ("search",): (1, 50.0, 0),
        ("social",): (1, 80.0, 0),
        ("email",): (0, 0.0, 2),
    }
    # time decay of o1: ages 2 and 1 days, weights 2^(-2/7) and 2^(-1/7), normalised
    decay = df.loc[df["path"] == ("email", "social"), "decay"].iloc[0]
    w = np.array([2 ** (-2 / 7), 2 ** (-1 / 7)])
    assert decay == pytest.approx(tuple(w / w.sum()), abs=TOL)
    att = at.attribute(rw, as_of=dt.date(2026, 1, 31), since=dt.date(2026, 1, 1), n_boot=50)
    assert att.conversions == 3 and att.untouched_orders == 1


def _reference_paths(touches, orders, start, end, lookback, half_life):
    """The journey rules of the module docstring, one customer at a time in plain Python."""
    low, high = start - dt.timedelta(days=lookback), end
    out = {}

    def add(steps, end_at, revenue, converted):
        steps = sorted(steps)
        w = np.array([2 ** (-((end_at - t).total_seconds() / 86400) / half_life) for t, _ in steps])
        share = w / w.sum()
        path = tuple(c for _, c in steps)
        conv, rev, nulls, decay, decay_rev = out.get(
            path, (0, 0.0, 0, np.zeros(len(path)), np.zeros(len(path)))
        )
        out[path] = (
            conv + converted,
            rev + revenue * converted,
            nulls + 1 - converted,
            decay + share * converted,
            decay_rev + share * revenue * converted,
        )

    for cust in {c for c, _, _ in touches} | {c for _, c, _, _ in orders}:
        # purchases only: a refund-only row (revenue < 0) neither converts nor ends a journey
        mine = sorted(
            (when, oid, rev) for oid, c, when, rev in orders if c == cust and low <= when < high and rev >= 0
        )
        tch = [(t, ch) for c, t, ch in touches if c == cust and low <= t < high]
        prev = None
        for when, _, rev in mine:
            steps = [
                (t, ch)
                for t, ch in tch
                if t <= when and (prev is None or t > prev) and t >= when - dt.timedelta(days=lookback)
            ]
            if when >= start and steps:
                add(steps, when, float(rev), 1)
            prev = when
        tail = [(t, ch) for t, ch in tch if not mine or t > mine[-1][0]]
        if tail:
            last = max(t for t, _ in tail)
            steps = [(t, ch) for t, ch in tail if t >= last - dt.timedelta(days=lookback)]
            if last >= start:
                add(steps, last, 0.0, 0)
    return out


def test_paths_match_a_plain_python_reading_of_the_rules_with_ties(rw):
    """Random touches and orders on a coarse clock, so that touches and orders share times,
    a customer has two orders at once, some orders are refunds (revenue < 0: no purchase),
    some are $0 purchases, and some journeys reach past the lookback or the window's start."""
    rng = np.random.default_rng(5)
    base = dt.datetime(2025, 12, 1)

    def when():
        return base + dt.timedelta(days=int(rng.integers(0, 70)), hours=int(rng.choice([9, 12])))

    touches = {
        (f"c{rng.integers(0, 12)}", when(), str(rng.choice(["email", "search", "social"])))
        for _ in range(150)
    }
    orders = [
        (f"o{i}", f"c{rng.integers(0, 12)}", when(), float(rng.choice([-5, 0, 20, 35, 60])))
        for i in range(60)
    ]
    tie = base + dt.timedelta(days=40, hours=12)  # two orders at once; the first (t1) gets the touches
    orders += [("t1", "edge", tie, 15.0), ("t2", "edge", tie, 25.0)]
    touches |= {
        ("edge", tie - dt.timedelta(days=10), "display"),  # exactly the lookback before
        ("edge", tie, "email"),
    }  # at the orders' time
    _insert(rw, sorted(touches), orders)
    start, end = dt.date(2026, 1, 1), dt.date(2026, 1, 31)
    df = at.paths(rw, start, end, lookback_days=10, half_life_days=3)
    expected = _reference_paths(
        sorted(touches), orders, dt.datetime(2026, 1, 1), dt.datetime(2026, 2, 1), 10, 3
    )
    assert set(df["path"]) == set(expected)
    for path, conv, rev, nulls, decay, decay_rev in zip(
        df["path"], df["conversions"], df["revenue"], df["nulls"], df["decay"], df["decay_revenue"]
    ):
        e = expected[path]
        assert (conv, nulls) == (e[0], e[2])
        assert rev == pytest.approx(e[1], abs=TOL)
        assert decay == pytest.approx(tuple(e[3]), abs=TOL)
        assert decay_rev == pytest.approx(tuple(e[4]), abs=TOL)
    eligible = sum(
        1 for _, c, t, r in orders if dt.datetime(2026, 1, 1) <= t < dt.datetime(2026, 2, 1) and r >= 0
    )
    att = at.attribute(rw, as_of=end, since=start, lookback_days=10, half_life_days=3, n_boot=20)
    assert att.untouched_orders == eligible - sum(e[0] for e in expected.values())


# Four converting paths, five conversions; credits worked out by hand:
#   P1 A>B>C x2 (ages 14, 7, 0 days: time-decay weights 1/4, 1/2, 1 -> 1/7, 2/7, 4/7)
#   P2 B x1;  P3 A>B x1 (ages 7, 0 -> 1/3, 2/3);  P4 C>A>A>B x1 (same day: 1/4 each)
# first touch:    A = 2 (P1) + 1 (P3) = 3;  B = 1 (P2);  C = 1 (P4)
# last touch:     A = 0;  B = 1 + 1 + 1 = 3;  C = 2 (P1)
# linear:         A = 2/3 + 1/2 + 2/4 = 5/3;  B = 2/3 + 1 + 1/2 + 1/4 = 29/12;  C = 2/3 + 1/4 = 11/12
# position 40/20/40: P1 each conversion A .4, B .2, C .4; P3 two touches .5/.5; P4 C .4, A .1+.1, B .4
#                 A = .8 + .5 + .2 = 1.5;  B = .4 + 1 + .5 + .4 = 2.3;  C = .8 + .4 = 1.2
# time decay:     A = 2/7 + 1/3 + 1/2;  B = 4/7 + 1 + 2/3 + 1/4;  C = 8/7 + 1/4
HAND = pd.DataFrame(
    {
        "path": [("A", "B", "C"), ("B",), ("A", "B"), ("C", "A", "A", "B")],
        "conversions": [2, 1, 1, 1],
        "revenue": [300.0, 50.0, 100.0, 40.0],
        "nulls": [0, 0, 0, 0],
        "decay": [(2 / 7, 4 / 7, 8 / 7), (1.0,), (1 / 3, 2 / 3), (0.25, 0.25, 0.25, 0.25)],
        "decay_revenue": [
            (300 / 7, 600 / 7, 1200 / 7),
            (50.0,),
            (100 / 3, 200 / 3),
            (10.0, 10.0, 10.0, 10.0),
        ],
    }
)
EXPECTED = {
    "first_touch": {"A": 3, "B": 1, "C": 1},
    "last_touch": {"A": 0, "B": 3, "C": 2},
    "linear": {"A": 5 / 3, "B": 29 / 12, "C": 11 / 12},
    "position_based": {"A": 1.5, "B": 2.3, "C": 1.2},
    "time_decay": {"A": 2 / 7 + 1 / 3 + 1 / 2, "B": 4 / 7 + 1 + 2 / 3 + 1 / 4, "C": 8 / 7 + 1 / 4},
}


@pytest.mark.parametrize("model", list(EXPECTED))
def test_rule_based_models_match_hand_worked_credits(model):
    table = at.credit_table(HAND, n_boot=20)
    got = table[table["model"] == model].set_index("channel")["conversions"].to_dict()
    assert got == pytest.approx(EXPECTED[model], abs=TOL)


def test_revenue_credit_follows_the_model():
    table = at.credit_table(HAND, n_boot=20).set_index(["model", "channel"])["revenue"]
    # last touch: C gets P1's 300; B gets 50 + 100 + 40
    assert table["last_touch"].to_dict() == pytest.approx({"A": 0, "B": 190, "C": 300}, abs=TOL)
    # time decay on revenue: A = 300/7 + 100/3 + 20
    assert table["time_decay", "A"] == pytest.approx(300 / 7 + 100 / 3 + 20, abs=TOL)
    assert table.groupby(level="model").sum().to_numpy() == pytest.approx([490.0] * 6, abs=TOL)


def test_markov_matches_published_example(rw):
    """Bryl's worked example of Anderl et al.'s removal effect (C1>C2>C3 converts; C1 and C2>C3
    are lost): removal effects 0.5, 1, 1 -> credits 0.2, 0.4, 0.4 of the one conversion."""
    _insert(
        rw,
        touches=[
            ("a", T(1), "C1"),
            ("a", T(2), "C2"),
            ("a", T(3), "C3"),
            ("b", T(5), "C1"),
            ("c", T(6), "C2"),
            ("c", T(7), "C3"),
        ],
        orders=[("o1", "a", T(3, 12), 100)],
    )
    att = at.attribute(rw, as_of=dt.date(2026, 1, 31), since=dt.date(2026, 1, 1), n_boot=50)
    markov = att.table[att.table["model"] == "markov"].set_index("channel")
    assert markov["conversions"].to_dict() == pytest.approx({"C1": 0.2, "C2": 0.4, "C3": 0.4}, abs=TOL)
    assert (markov["share_low"] <= markov["share"] + TOL).all()
    assert (markov["share_high"] >= markov["share"] - TOL).all()


def _absorb_by_iteration(counts, removed=None, steps=2000):
    """Independent reference: push probability mass through the chain step by step."""
    k1 = counts.shape[0]
    probs = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    mass = np.zeros(k1)
    mass[0] = 1.0
    converted = 0.0
    for _ in range(steps):
        if removed is not None:
            mass[removed] = 0.0
        converted += mass @ probs[:, k1]
        mass = mass @ probs[:, :k1]
    return converted


def test_markov_solver_agrees_with_step_by_step_propagation():
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 20, size=(5, 7)).astype(float)  # start + 4 channels, with loops
    counts[:, 0] = 0  # nothing returns to start
    effects = at.markov_removal_effects(counts)
    base = _absorb_by_iteration(counts)
    expected = [1 - _absorb_by_iteration(counts, c) / base for c in range(1, 5)]
    assert effects == pytest.approx(expected, abs=1e-9)


def test_wide_table_and_chart(rw):
    _insert(
        rw,
        touches=[("a", T(1), "email"), ("a", T(2), "social"), ("b", T(3), "email")],
        orders=[("o1", "a", T(2, 12), 60)],
    )
    att = at.attribute(rw, as_of=dt.date(2026, 1, 31), since=dt.date(2026, 1, 1), n_boot=30)
    wide = att.wide()
    assert list(wide.columns) == at.MODELS
    assert wide.sum().to_numpy() == pytest.approx([1.0] * 6, abs=TOL)
    shown = impact.credit_shares(att)
    assert list(shown.columns) == [impact_charts.MODEL_LABELS[m] for m in at.MODELS]
    assert shown.to_numpy() == pytest.approx(wide.to_numpy(), abs=TOL)
    spec = impact_charts.attribution_chart(att).to_dict()
    assert spec["layer"][0]["encoding"]["yOffset"]["field"] == "model_label"


def test_no_touches_gives_an_empty_result(rw):
    rw.execute(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES ('o1', 'a', ?, 10)", [T(3)]
    )
    att = at.attribute(rw, as_of=dt.date(2026, 1, 31))
    assert att.empty and att.table.empty
