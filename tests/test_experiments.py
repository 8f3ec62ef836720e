"""workbook.experiments on simulated campaigns with known effects, and on the online-store sample.

References: per-arm aggregates vs a pandas groupby of the simulated rows (exact); each
comparison's statistics vs statsmodels on those counts (1e-9 relative); Holm vs
statsmodels' multipletests (1e-9); the pooled estimate vs the simulated lift (must lie in
the 95% interval). The verdict rules are checked on hand-made arms.
"""

import datetime as dt
import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize, proportions_ztest

from workbook import store
from workbook.analytics import experiments as ex
from workbook.core.errors import WorkbookError
from workbook.story import impact, impact_charts

START = dt.datetime(2026, 3, 2, 9)
EVERYTHING = dt.date(2026, 12, 31)  # after every simulated send and event: nothing is cut off
SAMPLE_AS_OF = dt.date(2026, 10, 31)  # the sample clients' last day (data/sample/README.md)
RATES = {  # open, click, conversion per arm: the planted personalization lift of the sample
    "Generic": (0.25, 0.030, 0.020),
    "Personalized": (0.27, 0.045, 0.030),
}


def _arm_rows(rng, campaign, variant, n, rates, sent_at):
    opened = rng.random(n) < rates[0]
    clicked = rng.random(n) < rates[1]
    converted = rng.random(n) < rates[2]
    revenue = np.where(converted, np.round(rng.lognormal(np.log(60), 0.7, n), 2), np.nan)
    stamp = lambda hit, hours: [sent_at + dt.timedelta(hours=hours) if h else None for h in hit]  # noqa: E731
    return pd.DataFrame(
        {
            "campaign_id": campaign,
            "customer_id": [f"{campaign}-{variant}-{i}" for i in range(n)],
            "variant": variant,
            "sent_at": sent_at,
            "opened_at": stamp(opened, 1),
            "clicked_at": stamp(clicked, 2),
            "converted_at": stamp(converted, 30),
            "revenue": revenue,
            "unsubscribed": False,
        }
    )


def simulate(rng) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Sends, per-variant results and campaigns of a made-up store with a known lift."""
    frames, campaigns = [], []
    for k in range(12):  # personalized vs generic, equal split
        cid, sent = f"AB{k:02d}", START + dt.timedelta(days=14 * k)
        campaigns.append((cid, f"Newsletter {k + 1}", sent))
        frames += [_arm_rows(rng, cid, v, 2500, RATES[v], sent) for v in RATES]
    broken = START + dt.timedelta(days=3)  # personalized arm lost 20% of its recipients
    campaigns.append(("BROKEN", "Broken split", broken))
    frames += [
        _arm_rows(rng, "BROKEN", "Generic", 3000, RATES["Generic"], broken),
        _arm_rows(rng, "BROKEN", "Personalized", 2400, RATES["Generic"], broken),
    ]
    abn = START + dt.timedelta(days=5)  # subject-line A/B/n test, no personalization, no effect
    campaigns.append(("SUBJ", "Subject lines", abn))
    frames += [
        _arm_rows(rng, "SUBJ", v, 1500, RATES["Generic"], abn)
        for v in ("B: question", "A: plain", "C: emoji")
    ]
    single = START + dt.timedelta(days=6)  # one variant only: not a test
    campaigns.append(("SOLO", "Solo send", single))
    frames.append(_arm_rows(rng, "SOLO", "Generic", 500, RATES["Generic"], single))
    late = dt.datetime(2026, 10, 20)  # sent after the as_of used below
    campaigns.append(("LATE", "Late campaign", late))
    frames += [_arm_rows(rng, "LATE", v, 400, RATES[v], late) for v in RATES]
    campaigns.append(("KLAVIYO", "Totals only", START + dt.timedelta(days=8)))
    results = pd.DataFrame(
        {
            "campaign_id": "KLAVIYO",
            "variant": ["Generic", "Personalized"],
            "recipients": [4000, 4000],
            "delivered": [3950, 3960],
            "opens": [1000, 1100],
            "clicks": [120, 180],
            "orders": [80, 120],
            "revenue": [4800.0, 7300.0],
        }
    )
    meta = pd.DataFrame(campaigns, columns=["campaign_id", "name", "started_at"])
    return pd.concat(frames, ignore_index=True), results, meta


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    sends, results, meta = simulate(np.random.default_rng(20261031))
    con = duckdb.connect(str(tmp_path_factory.mktemp("experiments") / "sim.duckdb"))
    store.migrate(con)
    for table, frame in [("campaign_sends", sends), ("campaign_results", results), ("campaigns", meta)]:
        con.register("frame", frame)
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")
        con.unregister("frame")
    yield con, sends
    con.close()


@pytest.fixture(scope="module")
def tests(sim):
    return ex.campaign_tests(sim[0], EVERYTHING)


def test_arm_counts_match_a_groupby_of_the_rows(sim):
    con, sends = sim
    got = (
        ex.arm_counts(con, EVERYTHING)
        .query("source == 'campaign_sends'")
        .set_index(["campaign_id", "variant"])
        .sort_index()
    )
    rev = sends.revenue.fillna(0)
    ref = (
        sends.assign(
            opens=sends.opened_at.notna(),
            clicks=sends.clicked_at.notna(),
            conversions=sends.converted_at.notna(),
            rev=rev,
            rev_sq=rev**2,
        )
        .groupby(["campaign_id", "variant"])
        .agg(
            recipients=("customer_id", "size"),
            opens=("opens", "sum"),
            clicks=("clicks", "sum"),
            conversions=("conversions", "sum"),
            revenue=("rev", "sum"),
            revenue_sq=("rev_sq", "sum"),
        )
        .drop(index="SOLO", level=0)
        .sort_index()
    )
    assert list(got.index) == list(ref.index)
    for col in ["recipients", "opens", "clicks", "conversions"]:
        assert (got[col].to_numpy() == ref[col].to_numpy()).all(), col
    np.testing.assert_allclose(got.revenue, ref.revenue, rtol=1e-9)
    np.testing.assert_allclose(got.revenue_sq, ref.revenue_sq, rtol=1e-9)
    nonzero = got.loc[("AB00", "Generic"), "nonzero_revenue"]
    assert sorted(nonzero) == sorted(
        rev[(sends.campaign_id == "AB00") & (sends.variant == "Generic") & (rev != 0)]
    )


def test_every_campaign_with_variants_is_a_test_with_the_right_control(tests):
    by_id = {t.campaign_id: t for t in tests}
    assert set(by_id) == {f"AB{k:02d}" for k in range(12)} | {"BROKEN", "SUBJ", "LATE", "KLAVIYO"}
    assert by_id["AB03"].control == "Generic" and by_id["SUBJ"].control == "A: plain"
    assert by_id["AB03"].name == "Newsletter 4" and by_id["AB03"].source == "campaign_sends"
    assert [c.arm for c in by_id["SUBJ"].comparisons if c.metric == "open"] == ["B: question", "C: emoji"]
    assert by_id["KLAVIYO"].source == "campaign_results" and not by_id["KLAVIYO"].has_revenue_test


def test_comparisons_match_statsmodels_and_holm(tests):
    t = next(t for t in tests if t.campaign_id == "SUBJ")
    ctrl = t.arm("A: plain")
    for c in t.comparisons:
        if c.metric == "revenue":
            continue
        arm = t.arm(c.arm)
        z, p = proportions_ztest(
            [arm.count(c.metric), ctrl.count(c.metric)], [arm.recipients, ctrl.recipients]
        )
        assert c.p_value == pytest.approx(p, rel=1e-9)
        assert np.sign(c.lift.value) == np.sign(z)  # a two-sided p says nothing of the direction
    np.testing.assert_allclose(
        [c.p_holm for c in t.comparisons],
        multipletests([c.p_value for c in t.comparisons], method="holm")[1],
        rtol=1e-9,
    )
    assert len(t.comparisons) == 8  # 2 arms x (open, click, conversion, revenue)


def test_totals_only_campaign_says_revenue_cannot_be_tested(tests):
    t = next(t for t in tests if t.campaign_id == "KLAVIYO")
    c = t.comparison("revenue")
    assert math.isnan(c.p_value) and math.isnan(c.p_holm)
    assert c.value == pytest.approx(7300 / 4000) and c.control_value == pytest.approx(4800 / 4000)
    assert impact.verdict(t, "revenue").startswith("No test possible")
    assert "per-variant totals" in impact.ab_notes(t)[0]
    assert t.comparison("conversion").p_value == pytest.approx(
        proportions_ztest([120, 80], [4000, 4000])[1], rel=1e-9
    )


def test_broken_split_is_flagged_before_anything_else(tests):
    t = next(t for t in tests if t.campaign_id == "BROKEN")
    assert not t.trustworthy and t.srm.p_value < 0.001
    for metric in impact_charts.METRIC_NAMES:
        assert impact.verdict(t, metric).startswith("Not trustworthy")
    table = ex.tests_table([t])
    assert not table.trustworthy.any() and (table.outcome == "not trustworthy").all()
    assert all(impact.comparison_verdict(t, c).startswith("Not trustworthy") for c in t.comparisons)
    assert all(t.trustworthy for t in tests if t.campaign_id != "BROKEN")


def test_pooled_test_recovers_the_simulated_lift(sim, tests):
    pooled = ex.pooled_personalization_test(sim[0], EVERYTHING, tests=tests)
    assert set(pooled.campaigns) == {f"AB{k:02d}" for k in range(12)} | {"LATE", "KLAVIYO"}
    assert "Broken split" in " ".join(impact.ab_notes(pooled))  # left out, and said so
    assert not pooled.has_revenue_test  # the totals-only campaign has no per-recipient revenue
    conv = pooled.comparison("conversion")
    assert conv.lift.low > 0 and conv.lift.low <= 0.010 <= conv.lift.high
    assert conv.relative.low <= 0.5 <= conv.relative.high
    assert conv.prob_beat_control > 0.99
    click = pooled.comparison("click")
    assert click.lift.low <= 0.015 <= click.lift.high and click.lift.low > 0
    assert impact.verdict(pooled).startswith("Win")
    assert pooled.trustworthy


def test_pooled_revenue_is_tested_when_every_campaign_has_per_recipient_rows(sim, tests):
    pooled = ex.pooled_personalization_test(
        sim[0], EVERYTHING, tests=[t for t in tests if t.source == "campaign_sends"]
    )
    rev = pooled.comparison("revenue")
    assert pooled.has_revenue_test and not math.isnan(rev.p_value)
    # revenue per recipient = conversion x order value: 0.030 x E[lognormal] vs 0.020 x E[lognormal]
    order_value = 60 * math.exp(0.7**2 / 2)
    assert rev.lift.low <= 0.010 * order_value <= rev.lift.high
    assert rev.bootstrap[0] <= 0.010 * order_value <= rev.bootstrap[1]


def test_revenue_bootstrap_runs_only_when_an_interval_is_read(sim, monkeypatch):
    """10,000 resamples per revenue comparison: a conversion report must not pay for them, and
    the interval read later is the one the seeded bootstrap gives."""
    calls = []
    real = ex.stats.bootstrap_mean_difference
    monkeypatch.setattr(
        ex.stats, "bootstrap_mean_difference", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    tests = ex.campaign_tests(sim[0], EVERYTHING)
    pooled = ex.pooled_personalization_test(
        sim[0], EVERYTHING, tests=[t for t in tests if t.source == "campaign_sends"]
    )
    impact.report_table([*tests, pooled], "conversion")
    impact.verdict(pooled, "conversion")
    assert calls == []
    rev = pooled.comparison("revenue")
    generic, personalized = pooled.arm("generic"), pooled.arm("personalized")
    expected = real(
        personalized.nonzero_revenue,
        personalized.recipients,
        generic.nonzero_revenue,
        generic.recipients,
        seed=20261031,
    )
    assert rev.bootstrap == expected and rev.bootstrap == expected
    assert calls == [1]


def test_as_of_leaves_out_later_sends_and_events(sim):
    con, sends = sim
    tests = ex.campaign_tests(con, dt.date(2026, 9, 30))
    assert "LATE" not in {t.campaign_id for t in tests}
    last = START + dt.timedelta(days=14 * 11)  # AB11: converted 30 h after sending
    cut = ex.campaign_tests(con, last.date())
    ab11 = next(t for t in cut if t.campaign_id == "AB11")
    generic = sends[(sends["campaign_id"] == "AB11") & (sends["variant"] == "Generic")]
    # clicks come 2 h after sending, the same day: all counted; conversions come the next day
    assert (ab11.arm("Generic").recipients, ab11.arm("Generic").clicks) == (
        len(generic),
        generic["clicked_at"].notna().sum(),
    )
    assert ab11.arm("Generic").conversions == 0 and generic["converted_at"].notna().any()
    assert ab11.arm("Generic").revenue == 0 and ab11.arm("Generic").nonzero_revenue == ()
    assert "AB11" not in {t.campaign_id for t in ex.campaign_tests(con, last.date() - dt.timedelta(days=1))}


def test_client_without_campaigns_gets_empty_results(tmp_path):
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    store.migrate(con)
    assert ex.campaign_tests(con, EVERYTHING) == []
    assert ex.pooled_personalization_test(con, EVERYTHING) is None
    table = ex.tests_table([])
    assert table.empty and list(table.columns) == ex.TABLE_COLUMNS


def _test(control, arm, n=10_000, n_arm=None):
    arms = [
        ex.Arm("Generic", n, n // 4, n // 30, control, 0.0),
        ex.Arm("Personalized", n_arm or n, n // 4, n // 30, arm, 0.0),
    ]
    return ex.build_test("T", "Hand-made", "campaign_sends", arms)


def test_verdict_significant_win():
    text = impact.verdict(_test(200, 300))
    assert text.startswith(
        "Win: conversion rate 3.0% for Personalized vs 2.0% for Generic (+1.0 pp, +50% relative)"
    )
    assert "plausibly between +0.6 pp and +1.4 pp" in text  # Newcombe: 0.56 to 1.44 pp
    assert "Chance that Personalized truly beats Generic: >99%" in text  # never rounded to 100%


def test_verdict_significant_loss():
    text = impact.verdict(_test(300, 200))
    assert text.startswith("Loss:") and "(-1.0 pp, -33% relative)" in text and "Win" not in text
    assert "truly beats Generic: <1%" in text


def test_verdict_inconclusive_and_underpowered_never_says_win():
    t = _test(8, 12, n=400)
    text = impact.verdict(t)
    assert text.startswith("Inconclusive:") and "This is not a win." in text
    assert "underpowered" in text and "Win" not in text
    c = t.comparison("conversion")
    assert c.power < 0.8 and c.lift.value > 0


def test_verdict_inconclusive_but_well_powered_is_not_called_underpowered():
    text = impact.verdict(_test(2000, 2010, n=100_000))
    assert text.startswith("Inconclusive:") and "underpowered" not in text


def test_verdict_on_broken_split():
    text = impact.verdict(_test(200, 300, n=10_000, n_arm=9_000))
    assert text.startswith("Not trustworthy") and "Win" not in text


def test_significance_is_judged_after_holm():
    # Raw p just under 0.05 on conversion is not enough once 3 rates are tested together.
    t = _test(200, 250)
    c = t.comparison("conversion")
    assert c.p_value < 0.05 < c.p_holm
    text = impact.verdict(t)
    assert text.startswith("Inconclusive") and "with 3 tested at once that is not enough" in text


def test_power_helpers_match_statsmodels():
    n = ex.plan_sample_size(0.02, 0.5)
    ref = NormalIndPower().solve_power(proportion_effectsize(0.03, 0.02), alpha=0.05, power=0.8)
    assert n == math.ceil(ref)
    mde = ex.minimum_detectable_effect(n, 0.02)
    assert mde == pytest.approx(0.01, rel=1e-3)  # the planned sample detects just the planned lift


def test_arms_chart_draws_wilson_intervals(tests):
    t = next(t for t in tests if t.campaign_id == "SUBJ")
    frame = impact_charts.arms_frame(t)
    assert len(frame) == 3 * 3 and (frame.low <= frame.rate).all() and (frame.rate <= frame.high).all()
    spec = impact_charts.arms_chart(t).to_dict()
    assert spec["facet"]["row"]["field"] == "metric"
    broken = next(t for t in tests if t.campaign_id == "BROKEN")
    assert "not trustworthy" in impact_charts.arms_chart(broken).to_dict()["title"]
    lift = impact_charts.lift_frame(tests)
    assert "Broken split" not in set(lift.test) and "Totals only" in set(lift.test)
    assert {"Subject lines: B: question", "Subject lines: C: emoji"} <= set(lift.test)
    assert len(impact_charts.lift_chart(tests).to_dict()["layer"]) == 3


def test_online_store_sample_detects_the_planted_lift(samples):
    con = store.read("online-store")
    pooled = ex.pooled_personalization_test(con, SAMPLE_AS_OF)
    assert pooled is not None and pooled.trustworthy
    conv = pooled.comparison("conversion")
    assert conv.lift.low > 0 and conv.lift.low <= 0.010 <= conv.lift.high  # planted +1.0 pp
    assert conv.relative.low <= 0.5 <= conv.relative.high  # planted +50%
    click = pooled.comparison("click")
    assert click.lift.low <= 0.015 <= click.lift.high  # planted 4.5% vs 3.0%
    revenue = pooled.comparison("revenue")  # same order values, so revenue per recipient +50% too
    assert revenue.relative.low <= 0.5 <= revenue.relative.high and revenue.bootstrap[0] > 0
    assert impact.verdict(pooled).startswith("Win")
    # the sample splits every test 50/50
    assert all(t.trustworthy for t in ex.campaign_tests(con, SAMPLE_AS_OF))


def test_tiny_arms_and_empty_variants_are_not_passed_off_as_tests(tmp_path):
    con = duckdb.connect(str(tmp_path / "tiny.duckdb"))
    store.migrate(con)
    con.execute("""INSERT INTO campaign_results (campaign_id, variant, recipients, opens, clicks, orders, revenue)
                   VALUES ('EMPTY', 'Generic', 500, 100, 10, 5, 250), ('EMPTY', 'Personalized', NULL, NULL, NULL, NULL, NULL),
                          ('TINY', 'Generic', 1, 1, 0, 0, 0), ('TINY', 'Personalized', 1, 0, 0, 0, 0)""")
    tests = ex.campaign_tests(con, EVERYTHING)
    assert [t.campaign_id for t in tests] == ["TINY"]  # an arm without recipients is no arm
    assert impact.verdict(tests[0], "open").startswith("Inconclusive")  # 1 vs 1 still has a z-test
    assert "too few recipients" in impact.verdict(_one_each(), "revenue")  # no variance from 1 recipient
    with pytest.raises(ValueError, match="unknown metric"):
        impact.verdict(tests[0], "opens")


def _one_each():
    arms = [
        ex.Arm("Generic", 1, 0, 0, 0, 0.0, 0.0, ()),
        ex.Arm("Personalized", 1, 0, 0, 1, 20.0, 400.0, (20.0,)),
    ]
    return ex.build_test("T", "One each", "campaign_sends", arms)


def test_intended_splits_drive_the_srm_check_and_the_pooling(sim):
    con = sim[0]
    # BROKEN sent 3000 vs 2400 on purpose: with a 5:4 plan its split is fine.
    splits = {"BROKEN": {"Generic": 5, "Personalized": 4}}
    tests = ex.campaign_tests(con, EVERYTHING, splits=splits)
    broken = next(t for t in tests if t.campaign_id == "BROKEN")
    assert broken.trustworthy and broken.srm.p_value > 0.5
    pooled = ex.pooled_personalization_test(con, EVERYTHING, tests=tests)
    assert "BROKEN" not in pooled.campaigns  # a 4:5 ratio would bias a sum of 1:1 campaigns
    assert "another ratio: Broken split" in " ".join(impact.ab_notes(pooled))
    with pytest.raises(WorkbookError, match=r"\[ab_splits.AB00\] has no share for variant .Personalized."):
        ex.campaign_tests(con, EVERYTHING, splits={"AB00": {"Generic": 1}})


def test_report_table_puts_the_numbers_in_words(tests):
    table = impact.report_table(tests, "conversion")
    assert list(table.columns) == impact.REPORT_COLUMNS and len(table) == 17  # 16 tests, SUBJ has 2 arms
    broken = table[table.Campaign == "Broken split"].iloc[0]
    assert broken.Result == "not trustworthy"
    klaviyo = impact.report_table([t for t in tests if t.campaign_id == "KLAVIYO"], "revenue").iloc[0]
    assert (
        klaviyo["Version result"] == "$1.82"
        and klaviyo["95% interval"] == "n/a"
        and klaviyo.Result == "no test"
    )
    assert impact.report_table([]).empty


def test_verdict_says_when_no_difference_at_all_is_detectable():
    arms = [ex.Arm("Generic", 3, 2, 1, 1, 0.0), ex.Arm("Personalized", 3, 2, 1, 2, 0.0)]
    text = impact.verdict(ex.build_test("T", "Three each", "campaign_sends", arms))
    assert text.startswith("Inconclusive") and "too small to reliably detect any difference" in text
    assert "n/a" not in text


def test_events_after_as_of_are_not_counted(tmp_path):
    con = duckdb.connect(str(tmp_path / "late.duckdb"))
    store.migrate(con)
    con.execute("""INSERT INTO campaign_sends (campaign_id, customer_id, variant, sent_at, opened_at, clicked_at, converted_at, revenue)
                   VALUES ('N', 'a', 'Generic', '2026-05-01 23:00', '2026-05-02 01:00', '2026-05-02 01:05', '2026-05-02 02:00', 40),
                          ('N', 'b', 'Personalized', '2026-05-01 22:00', '2026-05-01 23:30', '2026-05-01 23:40', '2026-05-01 23:50', 25),
                          ('N', 'c', 'Personalized', '2026-05-02 09:00', NULL, NULL, NULL, NULL)""")
    t = ex.campaign_tests(con, dt.date(2026, 5, 1))[0]
    assert (
        t.arm("Generic").recipients,
        t.arm("Generic").opens,
        t.arm("Generic").clicks,
        t.arm("Generic").conversions,
    ) == (1, 0, 0, 0)
    assert (t.arm("Personalized").recipients, t.arm("Personalized").opens, t.arm("Personalized").clicks) == (
        1,
        1,
        1,
    )
    assert t.arm("Generic").revenue == 0 and t.arm("Personalized").revenue == 25
    later = ex.campaign_tests(con, dt.date(2026, 5, 2))[0]
    assert later.arm("Generic").opens == 1 and later.arm("Personalized").recipients == 2


@pytest.mark.parametrize(
    "variants,control",
    [
        (["B personalized picks", "Z generic bestsellers"], "Z generic bestsellers"),
        (["Personalized", "Variant A", "Control group"], "Control group"),
        (["Subject b", "Subject a"], "Subject a"),
    ],
)
def test_control_follows_the_naming_convention(variants, control):
    assert ex.control_variant(variants) == control


# --- planning on the client's own list ------------------------------------------------------


def _reach_db(tmp_path, consent: int, customers: int) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "reach.duckdb"))
    store.migrate(con)
    con.execute(
        "INSERT INTO customers (customer_id, customer_key, marketing_consent) "
        "SELECT 'c' || i, 'C-' || i, i < $consent FROM range($n) t(i)",
        {"consent": consent, "n": customers},
    )
    con.execute(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) "
        "SELECT 'o' || i, 'c' || (i % $n), TIMESTAMP '2026-06-01' + i * INTERVAL 1 HOUR, 20 FROM range(2 * $n) t(i)",
        {"n": customers},
    )
    return con


def test_reach_is_the_consenting_list_then_the_largest_recent_campaign(tmp_path):
    con = _reach_db(tmp_path, consent=0, customers=115)
    assert ex.reach(con, dt.date(2026, 10, 31)) == ex.Reach(0, "none", 115)
    con.execute("UPDATE customers SET marketing_consent = true WHERE customer_id IN ('c1', 'c2', 'c3')")
    assert ex.reach(con, dt.date(2026, 10, 31)) == ex.Reach(3, "consent", 115)
    con.execute(
        """INSERT INTO campaigns (campaign_id, name, started_at) VALUES
               ('OLD', 'Last year', '2025-09-01'), ('NEW', 'Spring', '2026-04-01');
           INSERT INTO campaign_results (campaign_id, variant, recipients) VALUES
               ('OLD', 'A', 5000), ('NEW', 'A', 400), ('NEW', 'B', 410)"""
    )
    con.execute(
        "INSERT INTO campaign_sends (campaign_id, customer_id, sent_at) "
        "SELECT 'SENDS', 'c' || i, TIMESTAMP '2026-10-01' FROM range(90) t(i)"
    )
    # the 2025 campaign is more than a year before as_of; the 810 recipients of NEW are the list
    assert ex.reach(con, dt.date(2026, 10, 31)) == ex.Reach(810, "campaign", 115, "Spring")
    # as of 1 March 2026: only OLD is sent and within a year, and no customer has bought yet
    assert ex.reach(con, dt.date(2026, 3, 1)) == ex.Reach(5000, "campaign", 0, "Last year")


@pytest.mark.parametrize("size, p0", [(900, 0.02), (1214, 0.03), (115, 0.02), (20_000, 0.05)])
def test_a_plan_never_asks_for_more_than_the_list_and_its_mde_matches_statsmodels(size, p0):
    plan = ex.plan_test(size, p0)
    assert plan.per_arm * 2 <= size
    # statsmodels solves for Cohen's h at this n per arm; tolerance 1e-6 on the rate
    h = NormalIndPower().solve_power(effect_size=None, nobs1=plan.per_arm, alpha=0.05, power=0.8, ratio=1)
    expected = math.sin(math.asin(math.sqrt(p0)) + h / 2) ** 2
    assert plan.detectable == pytest.approx(expected, abs=1e-6)
    needed = NormalIndPower().solve_power(proportion_effectsize(p0 * 1.2, p0), alpha=0.05, power=0.8, ratio=1)
    assert plan.needed_per_arm == math.ceil(needed)
    assert plan.sends == math.ceil(plan.needed_per_arm / plan.per_arm)
    assert plan.one_send_enough == (plan.needed_per_arm <= plan.per_arm)


def test_a_list_too_small_to_detect_anything_says_so():
    plan = ex.plan_test(3, 0.02)
    assert math.isnan(plan.detectable) and not plan.poolable
    with pytest.raises(ValueError, match="between 0 and 1"):
        ex.plan_test(900, 0.0)


def test_the_planned_mde_is_detected_80_percent_of_the_time_in_simulation():
    """Seeded simulation with known truth: true rates p0 and the plan's detectable rate, n per
    arm from the plan; the two-sided z-test at 5% rejects in about 80% of 4,000 tests
    (binomial standard error 0.6 pp; tolerance 3 pp, as the arcsine formula is approximate)."""
    plan = ex.plan_test(900, 0.02)
    rng = np.random.default_rng(7)
    control = rng.binomial(plan.per_arm, plan.baseline, 4_000)
    arm = rng.binomial(plan.per_arm, plan.detectable, 4_000)
    rejected = [
        proportions_ztest([a, c], [plan.per_arm, plan.per_arm])[1] < 0.05
        for a, c in zip(arm, control, strict=True)
    ]
    assert np.mean(rejected) == pytest.approx(0.80, abs=0.03)
