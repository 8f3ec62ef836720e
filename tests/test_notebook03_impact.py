"""Notebook 03's reading of the results: the "what to do next" rules, and the notebook's
story on the sample clients (online store: every section; coffee shop: clear not-enough-data)."""

from __future__ import annotations

import datetime as dt

import papermill
import pytest

from workbook import causal, experiments as ex, impact, paths

NOTEBOOK = paths.notebooks_dir() / "03_personalization_impact.ipynb"


def _pooled(generic=(10_000, 200), personalized=(10_000, 300)):
    arms = [ex.Arm("generic", generic[0], 0, 0, generic[1], 0.0),
            ex.Arm("personalized", personalized[0], 0, 0, personalized[1], 0.0)]
    return ex.build_test(ex.POOLED_ID, "All", "pooled", arms, control="generic")


def _did(low, high):
    effect = causal.Effect(0.01, 0.004, low, high, 0.01, 0.2, low * 20, high * 20, 0.05, 999)
    rollout = causal.Rollout("Recommendations", dt.date(2026, 5, 1), "region", ("CA",))
    return causal.DiD(rollout, dt.date(2025, 11, 1), dt.date(2026, 10, 31), 26, 26, 10, 20,
                      None, effect, None, None)


def test_a_clear_win_says_keep_and_a_clear_rollout_says_extend():
    steps = impact.next_steps(impact.Results(pooled=_pooled(), rollouts=[_did(0.002, 0.02)]))
    assert steps[0].startswith("Keep personalizing emails: they convert +1.0 pp better")
    assert steps[1].startswith("Extend recommendations beyond region CA")


def test_no_clear_gain_asks_for_a_bigger_test_not_a_win():
    steps = impact.next_steps(impact.Results(pooled=_pooled(personalized=(10_000, 210)),
                                             rollouts=[_did(-0.01, 0.02)]))
    n = ex.plan_sample_size(0.02, ex.EXPECTED_LIFT)
    assert steps[0] == (f"Personalization has not yet shown a clear gain: run a bigger test (about {n:,} "
                        f"recipients per version) before paying more for it.")
    assert steps[1].startswith("Keep measuring recommendations")
    assert not any("Keep personalizing" in s for s in steps)


def test_a_broken_split_comes_first():
    broken = _pooled(generic=(10_000, 200), personalized=(8_000, 240))
    assert not broken.trustworthy
    steps = impact.next_steps(impact.Results(tests=[broken], pooled=None))
    assert steps == ["Fix the recipient split of All and re-run: a broken split makes the results unusable."]


def test_nothing_to_act_on_gives_no_steps():
    assert impact.next_steps(impact.Results()) == []


def _run(client, tmp_path):
    out = tmp_path / f"03-{client}.ipynb"
    nb = papermill.execute_notebook(str(NOTEBOOK), str(out), parameters={"client": client},
                                    progress_bar=False, kernel_name="python3")
    outputs = [o for cell in nb.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = " ".join(str(o.get("data", {}).get("text/markdown", "")) for o in outputs)
    findings = [o["metadata"]["workbook"] for o in outputs if "workbook" in o.get("metadata", {})]
    return text, findings


@pytest.mark.slow
def test_online_store_story_has_every_section_and_its_findings(samples, tmp_path):
    text, findings = _run("online-store", tmp_path)
    assert "Not enough data" not in text
    assert {f["section"] for f in findings} >= {"experiments", "rollout"}
    rollout = next(f for f in findings if f["section"] == "rollout")
    assert rollout["low"] <= 0.20 <= rollout["high"] and rollout["low"] > 0   # planted +20%
    assert "parallel trends" in text and "Split check first" in text
    assert "1. Keep personalizing emails" in text


@pytest.mark.slow
def test_coffee_shop_gets_clear_not_enough_data_notes(samples, tmp_path):
    text, findings = _run("coffee-shop", tmp_path)
    for section in (impact.TEST_SECTION, impact.SEGMENT_SECTION, impact.ROLLOUT_SECTION):
        assert f"Not enough data for {section}" in text
    assert findings == []
