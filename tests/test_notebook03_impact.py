"""Notebook 03's reading of the results: the "what to do next" rules, and the notebook's
story on the sample clients (online store: every section; coffee shop: clear not-enough-data)."""

from __future__ import annotations

import datetime as dt
import math
import re

import pytest
from render_fixtures import executed_notebook, findings_of, markdown_text, outputs_of
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from workbook import store
from workbook.analytics import causal
from workbook.analytics import experiments as ex
from workbook.store.clients import Rollout
from workbook.story import impact, nb

SAMPLE_AS_OF = dt.date(2026, 10, 31)


def _pooled(generic=(10_000, 200), personalized=(10_000, 300)):
    arms = [
        ex.Arm("generic", generic[0], 0, 0, generic[1], 0.0),
        ex.Arm("personalized", personalized[0], 0, 0, personalized[1], 0.0),
    ]
    return ex.build_test(ex.POOLED_ID, "All", "pooled", arms, control="generic")


def _did(low, high):
    effect = causal.Effect(0.01, 0.004, low, high, 0.01, 0.2, low * 20, high * 20, 0.05, 999)
    rollout = Rollout("Recommendations", dt.date(2026, 5, 1), "region", ("CA",))
    return causal.DiD(
        rollout, dt.date(2025, 11, 1), dt.date(2026, 10, 31), 26, 26, 10, 20, None, effect, None, None
    )


def test_a_clear_win_says_keep_and_a_clear_rollout_says_extend():
    steps = impact.next_steps(impact.Results(pooled=_pooled(), rollouts=[_did(0.002, 0.02)]))
    assert steps[0].startswith("Keep personalizing emails: they convert +1.0 pp better")
    assert steps[1].startswith("Extend recommendations beyond region CA")


def _per_version(text: str) -> list[int]:
    """Every "N per version" a sentence asks for."""
    return [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) per version", text)]


def test_no_clear_gain_plans_on_the_clients_own_list_not_a_win():
    reach = ex.Reach(900, "consent", 1_000)
    steps = impact.next_steps(
        impact.Results(pooled=_pooled(personalized=(10_000, 210)), rollouts=[_did(-0.01, 0.02)], reach=reach)
    )
    # 900 people: 450 per version; statsmodels' h at n = 450 gives the detectable rate from 2.0%
    h = NormalIndPower().solve_power(effect_size=None, nobs1=450, alpha=0.05, power=0.8, ratio=1)
    p1 = math.sin(math.asin(math.sqrt(0.02)) + h / 2) ** 2
    needed = math.ceil(
        NormalIndPower().solve_power(proportion_effectsize(0.024, 0.02), alpha=0.05, power=0.8)
    )
    assert steps[0] == (
        "Personalization has not yet shown a clear gain: keep testing before paying more for it. "
        "You have 900 customers with marketing consent on file. On that list, a 50/50 test (450 per "
        f"version) detects a rise of the conversion rate from 2.0% to {100 * p1:.1f}% or more. A 20% "
        f"relative lift would take {math.ceil(needed / 450)} sends, more than a year of monthly "
        "campaigns: test bigger changes (a different offer, not a different subject line)."
    )
    assert steps[1].startswith("Keep measuring recommendations")
    assert not any("Keep personalizing" in s for s in steps)


@pytest.mark.parametrize("size", [2, 40, 900, 1_214, 5_000, 30_000])
def test_a_first_test_never_asks_for_more_people_than_the_list_holds(size):
    steps = impact.next_steps(impact.Results(reach=ex.Reach(size, "consent", size)))
    assert steps[0].startswith("Start measuring personalization") and f"{size:,} customers" in steps[0]
    assert all(n <= size // 2 for n in _per_version(steps[0]))


def test_a_big_enough_list_is_told_one_send_will_do():
    steps = impact.next_steps(impact.Results(reach=ex.Reach(60_000, "campaign", 9_000, "Spring sale")))
    assert "Your largest campaign of the last year, Spring sale, went to 60,000 people." in steps[0]
    assert steps[0].endswith("one send is enough to see a 20% relative lift.")


def test_a_mid_sized_list_is_told_how_many_sends_to_pool():
    plan = ex.plan_test(8_000, 0.02)
    assert 1 < plan.sends <= ex.MAX_POOLED_SENDS
    steps = impact.next_steps(impact.Results(reach=ex.Reach(8_000, "consent", 8_000)))
    assert f"add up {plan.sends} sends of the same test (one a month), or test a bigger change." in steps[0]


def test_a_shop_without_an_email_list_gets_no_email_test_but_the_step_to_build_one():
    steps = impact.next_steps(impact.Results(reach=ex.Reach(0, "none", 115)))
    assert steps[0].startswith("There is no email list to test on yet")
    assert "If all your 115 known customers joined, a 50/50 test could detect" in steps[0]
    assert not _per_version(steps[0])


def test_a_broken_split_comes_first():
    broken = _pooled(generic=(10_000, 200), personalized=(8_000, 240))
    assert not broken.trustworthy
    steps = impact.next_steps(impact.Results(tests=[broken], pooled=None))
    assert steps == ["Fix the recipient split of All and re-run: a broken split makes the results unusable."]


def test_no_planning_step_before_the_reachable_list_is_known():
    assert impact.next_steps(impact.Results()) == []


def _run(reports, client):
    executed = executed_notebook(reports, client, "03_personalization_impact")
    assert not [o for o in outputs_of(executed) if o.get("output_type") == "error"]
    return markdown_text(executed), findings_of(executed)


@pytest.mark.slow
def test_online_store_story_has_every_section_and_its_findings(sample_reports):
    text, findings = _run(sample_reports, "online-store")
    assert "Not enough data" not in text
    assert {f["section"] for f in findings} >= {"experiments", "rollout"}
    rollout = next(f for f in findings if f["section"] == "rollout")
    assert rollout["low"] <= 0.20 <= rollout["high"] and rollout["low"] > 0  # planted +20%
    assert "parallel trends" in text and "Split check first" in text
    assert "1. Keep personalizing emails" in text
    # the next test is sized to its own largest campaign; costs and hours come from its client.toml
    list_size = int(re.search(r"went to ([\d,]+) people", text).group(1).replace(",", ""))
    assert "Planning the next test" in text and all(n <= list_size // 2 for n in _per_version(text))
    assert "CAC and ROMI below rest on the $0.010 per generic email and $0.020 per personalized email" in text
    assert "Time saved is the hours a month set in client.toml" in text


@pytest.mark.slow
def test_coffee_shop_gets_clear_not_enough_data_notes(sample_reports):
    text, findings = _run(sample_reports, "coffee-shop")
    for section in (impact.TEST_SECTION, impact.SEGMENT_SECTION, impact.ROLLOUT_SECTION):
        assert f"Not enough data for {section}" in text
    assert len(findings) == 1 and findings[0]["finding"].startswith("There is no email list to test on yet")
    assert "per version" not in findings[0]["finding"]  # no email test for a shop without a list


def test_the_indices_section_gets_its_ab_figures_itself_when_the_segments_section_has_not_run(client, rw):
    rw.close()
    ctx = nb.open_context(client, None, dt.date(2026, 6, 28))
    results = impact.Results()
    impact.indices_section(ctx, results)
    ctx.con.close()
    efficiency = next(i for i in results.indices if i.name == "Personalization Efficiency Ratio")
    assert not efficiency.available  # an empty client has no A/B tests


@pytest.mark.parametrize("slug", ["coffee-shop", "online-store", "home-services"])
def test_each_sample_client_gets_advice_within_its_own_list(samples, slug):
    con = store.read(slug)
    reach = ex.reach(con, SAMPLE_AS_OF)
    tests = ex.campaign_tests(con, SAMPLE_AS_OF)
    results = impact.Results(
        tests=tests, pooled=ex.pooled_personalization_test(con, SAMPLE_AS_OF, tests=tests)
    )
    sends = con.execute(
        "SELECT campaign_id, sent_at FROM campaign_sends WHERE sent_at >= $start AND sent_at < $end",
        {"start": dt.datetime(2025, 11, 1), "end": dt.datetime(2026, 11, 1)},
    ).df()
    con.close()
    results.reach = reach
    if slug == "online-store":  # the largest campaign of the last year, counted here with pandas
        assert (reach.source, reach.size) == ("campaign", sends.groupby("campaign_id").size().max())
    else:  # no consent on file and no campaigns: no email test is proposed
        assert (reach.source, reach.size) == ("none", 0) and sends.empty
    text = " ".join(impact.next_steps(results)) + " " + (impact.plan_sentence(results) or "")
    assert all(n <= reach.size // 2 for n in _per_version(text))
    assert ("There is no email list to test on yet" in text) == (reach.size == 0)


def test_planned_splits_in_client_toml_reach_the_split_check(client, rw, home, monkeypatch):
    rw.execute(
        "INSERT INTO campaign_results (campaign_id, variant, recipients, opens, clicks, orders, revenue) "
        "VALUES ('C1', 'Generic', 800, 200, 20, 16, 800), ('C1', 'Personalized', 200, 50, 6, 5, 250)"
    )
    rw.close()
    monkeypatch.setattr(nb, "say", lambda text: None)
    monkeypatch.setattr(nb, "show", lambda obj: None)
    monkeypatch.setattr(nb, "finding", lambda *a, **k: None)

    def split_is_sound() -> bool:
        ctx = nb.open_context(client, None, dt.date(2026, 6, 28))
        results = impact.Results()
        impact.tests_section(ctx, results)
        ctx.con.close()
        return results.tests[0].trustworthy

    assert not split_is_sound()  # 800 vs 200 is no even split
    with (home / client / "client.toml").open("a", encoding="utf-8") as fh:
        fh.write("[ab_splits.C1]\nGeneric = 0.8\nPersonalized = 0.2\n")
    assert split_is_sound()  # planned 80/20 in client.toml
