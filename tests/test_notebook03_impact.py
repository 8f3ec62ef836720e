"""Notebook 03's reading of the results: the "what to do next" rules, and the notebook's
story on the sample clients (online store: every section; coffee shop: clear not-enough-data)."""

from __future__ import annotations

import datetime as dt

import pytest
from render_fixtures import executed_notebook, findings_of, markdown_text, outputs_of

from workbook.analytics import causal
from workbook.analytics import experiments as ex
from workbook.store.clients import Rollout
from workbook.story import impact, nb


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


def test_no_clear_gain_asks_for_a_bigger_test_not_a_win():
    steps = impact.next_steps(
        impact.Results(pooled=_pooled(personalized=(10_000, 210)), rollouts=[_did(-0.01, 0.02)])
    )
    n = ex.plan_sample_size(0.02, ex.EXPECTED_LIFT)
    assert steps[0] == (
        f"Personalization has not yet shown a clear gain: run a bigger test (about {n:,} "
        f"recipients per version) before paying more for it."
    )
    assert steps[1].startswith("Keep measuring recommendations")
    assert not any("Keep personalizing" in s for s in steps)


def test_a_broken_split_comes_first():
    broken = _pooled(generic=(10_000, 200), personalized=(8_000, 240))
    assert not broken.trustworthy
    steps = impact.next_steps(impact.Results(tests=[broken], pooled=None))
    assert steps == ["Fix the recipient split of All and re-run: a broken split makes the results unusable."]


def test_no_campaign_data_proposes_a_first_test_sized_by_the_planner():
    steps = impact.next_steps(impact.Results())
    n = ex.plan_sample_size(0.02, ex.EXPECTED_LIFT)
    assert steps == [
        f"Start measuring personalization: send the next email campaign as an A/B test, "
        f"half personalized and half generic, to about {n:,} recipients per version "
        f"(enough to see a 20% lift on a 2% conversion rate), and import its results."
    ]


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


@pytest.mark.slow
def test_coffee_shop_gets_clear_not_enough_data_notes(sample_reports):
    text, findings = _run(sample_reports, "coffee-shop")
    for section in (impact.TEST_SECTION, impact.SEGMENT_SECTION, impact.ROLLOUT_SECTION):
        assert f"Not enough data for {section}" in text
    assert [f["finding"] for f in findings] == [next(iter(impact.next_steps(impact.Results())))]


def test_the_indices_section_gets_its_ab_figures_itself_when_the_segments_section_has_not_run(client, rw):
    rw.close()
    ctx = nb.open_context(client, None, dt.date(2026, 6, 28))
    results = impact.Results()
    impact.indices_section(ctx, results)
    ctx.con.close()
    efficiency = next(i for i in results.indices if i.name == "Personalization Efficiency Ratio")
    assert not efficiency.available  # an empty client has no A/B tests
