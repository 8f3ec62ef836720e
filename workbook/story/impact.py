"""Notebook 03's story, section by section: each function shows one section (words, table,
chart, findings) from results computed by `experiments`, `segments`, `attribution`, `causal`
and `indices`, or says why the section has no data. `next_steps` turns the results into a
short, ordered to-do list. Computation stays in those modules; here is only the reading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from workbook.analytics import attribution as at
from workbook.analytics import causal
from workbook.analytics import experiments as ex
from workbook.analytics import indices as ix
from workbook.analytics import segments as sg
from workbook.core import fmt
from workbook.story import nb
from workbook.story.nb import Context

TEST_SECTION = "the A/B tests"
SEGMENT_SECTION = "segment economics"
ATTRIBUTION_SECTION = "attribution"
ROLLOUT_SECTION = "the rollout's causal effect"
WEAK_SCORE = 50  # an index component below this is worth working on
FIRST_TEST_BASELINE = 0.02  # a typical email conversion rate, for planning a first test
MATERIAL_GAP = 0.01  # attribution models differing by less than 1 point per channel "agree"


def _display(obj) -> None:
    from IPython.display import display

    display(obj)


@dataclass
class Results:
    """What the sections found, for `next_steps`."""

    tests: list = field(default_factory=list)
    pooled: ex.ABTest | None = None
    econ: sg.SegmentEconomics | None = None
    attribution: at.Attribution | None = None
    rollouts: list = field(default_factory=list)  # DiD results
    indices: list = field(default_factory=list)  # CompositeIndex


# --- sections -----------------------------------------------------------------------------


def tests_section(ctx: Context, results: Results) -> None:
    """The SRM gate first, then the pooled personalized-vs-generic verdict, then each test."""
    tests, pooled = results.tests, results.pooled
    if not tests:
        nb.not_enough_data(
            TEST_SECTION,
            "no campaign with two or more versions (A/B test) was imported "
            "(Klaviyo campaign export or per-recipient email activity)",
        )
        return
    broken = [t for t in tests if not t.trustworthy]
    nb.say(
        f"**Split check first.** {len(tests)} campaign{'s' if len(tests) > 1 else ''} split recipients "
        f"between versions. "
        + (
            "In every one the split matches the plan (sample-ratio check), so their results can be read."
            if not broken
            else f"{len(broken)} did not split as planned; their results are not believed:"
        )
    )
    for t in broken:
        nb.say(f"- **{t.name}**: {ex.verdict(t, 'conversion', ctx.currency)}")
    if pooled is None:
        nb.say(
            "No test compared a personalized version with a generic one, so the pooled verdict is skipped."
        )
    else:
        nb.say("**All personalized vs generic versions added up.** " + " ".join(pooled.notes))
        nb.say(ex.verdict(pooled, "conversion", ctx.currency))
        if pooled.has_revenue_test:
            nb.say(ex.verdict(pooled, "revenue", ctx.currency))
        _display(ex.arms_chart(pooled))
        c = pooled.comparison("conversion")
        nb.finding(
            f"Personalized emails: {ex.outcome(pooled, c)} on conversion, {fmt.pp(c.lift.value)} "
            f"({fmt.interval(c.lift.low, c.lift.high, fmt.pp)}), over {fmt.num(sum(a.recipients for a in pooled.arms))} recipients.",
            section="experiments",
            outcome=ex.outcome(pooled, c),
            lift=c.lift.value,
            low=c.lift.low,
            high=c.lift.high,
        )
    nb.say(
        "**Each test on its own** (conversion; the Holm correction accounts for several comparisons "
        "in one test):"
    )
    _display(ex.report_table(tests, "conversion", ctx.currency))
    _display(ex.lift_chart(tests + ([pooled] if pooled else []), "conversion"))
    control = pooled.arm("generic") if pooled else None
    if control and control.recipients:
        base = control.conversions / control.recipients
        nb.say(
            f"**Planning the next test.** At a {fmt.pct(base)} baseline conversion rate, detecting a "
            f"{fmt.pct(ex.EXPECTED_LIFT, 0)} relative lift with 80% power needs about "
            f"**{fmt.num(ex.plan_sample_size(base, ex.EXPECTED_LIFT))} recipients per version**."
        )


def segments_section(ctx: Context, results: Results) -> None:
    econ = results.econ
    if econ is None or econ.empty:
        nb.not_enough_data(
            SEGMENT_SECTION,
            "it needs campaigns that sent a personalized and a generic "
            "version to randomly split recipients (per-recipient email activity)",
        )
        return
    nb.say(
        f"Only A/B-test emails from {econ.start:%d %B %Y} to {econ.end:%d %B %Y} are compared: there the "
        f"version was a coin flip, so the groups differ only by the personalization. Each figure has "
        f"its 95% interval in brackets."
    )
    table = econ.display(ctx.currency)
    keys = list(table.columns[:2])
    for columns in (econ.OUTCOMES, econ.MONEY_AND_VOICE):
        _display(table[keys + columns].style.hide(axis="index"))
    for sentence in sg.sentences(econ, ctx.currency):
        nb.say(sentence)
    _display(sg.chart(econ))
    good, _ = sg.best_segments(econ)
    if good:
        nb.finding(
            f"Personalization clearly lifts email conversion in segment{'s' if len(good) > 1 else ''} "
            f"{', '.join(good)} (each on its own, 95% intervals above zero).",
            section="segments",
            segments=good,
        )
    if econ.assumed_cost:
        cost = ", ".join(f"{arm} {fmt.money(v, ctx.currency, 3)}" for arm, v in econ.cost_per_send.items())
        nb.say(
            f"*CAC and ROMI use an assumed cost per email ({cost}) because no campaign cost was "
            f"imported; replace it with the client's real costs before acting on them.*"
        )
    nb.say(
        "How to read the columns: conversion = recipients who ordered from the email; CLTV to date = "
        "revenue per customer from their first test email until today (grouped by the version of that "
        "first email); CAC = email cost / customers whose first order came from the email; ROMI = "
        "(revenue from the emails - their cost) / cost; NPS and CES from surveys answered after the "
        "first test email."
    )


def attribution_section(ctx: Context, results: Results) -> None:
    att = results.attribution
    if att is None or att.empty:
        nb.not_enough_data(
            ATTRIBUTION_SECTION,
            "no marketing touches (UTM visits, ad clicks, emails) precede the orders of the last year",
        )
        return
    total = att.conversions + att.untouched_orders
    nb.say(
        f"From {att.start:%d %B %Y} to {att.end:%d %B %Y}, **{fmt.num(att.conversions)} of "
        f"{fmt.num(total)} orders** had at least one tracked marketing touch in the {att.lookback_days} "
        f"days before (and after the customer's previous order); the other {fmt.num(att.untouched_orders)} "
        f"have nothing to credit and are left out. Six models share out the credit; the time-decay "
        f"model halves a touch's weight every {att.half_life_days:g} days."
    )
    wide = att.wide()
    _display(wide.style.format("{:.1%}").set_caption("Share of the credit per channel"))
    _display(at.chart(att))
    markov = att.table[att.table["model"] == "markov"].set_index("channel")
    last = att.table[att.table["model"] == "last_touch"].set_index("channel")
    gap = (markov["share"] - last["share"]).sort_values()
    top = markov["share"].idxmax()
    single = att.paths.loc[att.paths["path"].map(len) == 1, "conversions"].sum() / att.conversions
    text = (
        f"The data-driven Markov model gives **{top}** the largest share, "
        f"{fmt.pct(markov.loc[top, 'share'])} ({fmt.interval(markov.loc[top, 'share_low'], markov.loc[top, 'share_high'])}). "
    )
    if gap.abs().max() < MATERIAL_GAP:
        text += (
            f"The six models agree within {fmt.pct(MATERIAL_GAP, 0)} points per channel: "
            f"{fmt.pct(single, 0)} of credited orders had a single tracked touch, so how credit "
            f"is shared barely matters here."
        )
    else:
        text += (
            f"Compared with last-touch credit, it gives most extra credit to **{gap.index[-1]}** "
            f"({fmt.pp(gap.iloc[-1])}) and takes most from **{gap.index[0]}** ({fmt.pp(gap.iloc[0])}): "
            f"the first starts or supports journeys more than it closes them."
        )
    nb.say(text)


def rollout_section(ctx: Context, results: Results) -> None:
    if not results.rollouts:
        nb.not_enough_data(
            ROLLOUT_SECTION,
            "no rollout is recorded for this client. Record one in its "
            "client.toml as [[rollouts]] with name, start (YYYY-MM-DD), column (region, "
            "segment, persona or acquisition_channel) and treated (the values that got it)",
        )
        return
    for did in results.rollouts:
        if isinstance(did, str):
            nb.not_enough_data(ROLLOUT_SECTION, did)
            continue
        for sentence in did.sentences():
            nb.say(sentence)
        _display(
            did.means.style.format("{:+.4f}", subset=["change"])
            .format("{:.4f}", subset=["before", "after"])
            .set_caption("Repeat orders per customer per week")
        )
        _display(causal.chart(did))
        nb.say(causal.ASSUMPTION)
        e = did.estimate
        nb.finding(
            f"{did.rollout.name} ({did.rollout.treated_label}): {fmt.pct(e.relative, signed=True)} repeat "
            f"orders per customer ({fmt.interval(e.relative_low, e.relative_high, lambda x: fmt.pct(x, signed=True))}).",
            section="rollout",
            relative=e.relative,
            low=e.relative_low,
            high=e.relative_high,
        )


def run_rollouts(ctx: Context) -> list:
    """DiD for every recorded rollout; a rollout the data cannot support gives its reason."""
    out = []
    for rollout in ctx.client.rollouts:
        try:
            out.append(causal.did(ctx.con, rollout, ctx.as_of))
        except causal.NotEnoughData as err:
            out.append(f"{rollout.name}: {err}")
    return out


def indices_section(ctx: Context, results: Results) -> None:
    shown = 0
    for index in results.indices:
        nb.say(index.sentence())
        if index.available:
            _display(ix.chart(index))
            shown += 1
    if not shown:
        nb.not_enough_data("the indices", "no survey answers, reviews, repeat buyers or email activity")


# --- what to do next ------------------------------------------------------------------------


def next_steps(results: Results, currency: str = "USD", limit: int = 6) -> list[str]:
    """An ordered to-do list derived from the results: broken tests first, then what the
    evidence supports, then what to measure better."""
    steps: list[str] = []
    broken = [t.name for t in results.tests if not t.trustworthy]
    if broken:
        steps.append(
            f"Fix the recipient split of {', '.join(broken)} and re-run: a broken split makes the "
            f"results unusable."
        )
    if not results.tests and results.pooled is None:
        n = ex.plan_sample_size(FIRST_TEST_BASELINE, ex.EXPECTED_LIFT)
        steps.append(
            f"Start measuring personalization: send the next email campaign as an A/B test, "
            f"half personalized and half generic, to about {fmt.num(n)} recipients per "
            f"version (enough to see a {fmt.pct(ex.EXPECTED_LIFT, 0)} lift on a "
            f"{fmt.pct(FIRST_TEST_BASELINE, 0)} conversion rate), and import its results."
        )
    if results.pooled is not None:
        c = results.pooled.comparison("conversion")
        word = ex.outcome(results.pooled, c)
        if word == "win":
            steps.append(
                f"Keep personalizing emails: they convert {fmt.pp(c.lift.value)} better "
                f"({fmt.interval(c.lift.low, c.lift.high, fmt.pp)})."
            )
        elif word == "loss":
            steps.append(
                f"Stop or rework the personalized emails: they convert {fmt.pp(c.lift.value)} worse "
                f"({fmt.interval(c.lift.low, c.lift.high, fmt.pp)})."
            )
        else:
            base = results.pooled.arm("generic")
            n = (
                ex.plan_sample_size(base.conversions / base.recipients, ex.EXPECTED_LIFT)
                if base.recipients and base.conversions
                else None
            )
            steps.append(
                "Personalization has not yet shown a clear gain: run a bigger test"
                + (f" (about {fmt.num(n)} recipients per version)" if n else "")
                + " before paying more for it."
            )
    if results.econ is not None and not results.econ.empty:
        good, flat = sg.best_segments(results.econ)
        if good:
            steps.append(
                f"Prioritise personalization for segment{'s' if len(good) > 1 else ''} "
                f"{', '.join(good)}, where its conversion gain is clear on its own."
            )
        if flat:
            steps.append(f"Question personalization for {', '.join(flat)}: no gain there.")
        comp = results.econ.comparison.set_index("segment")
        if sg.ALL in comp.index and comp.loc[sg.ALL, "unsubscribe_low"] > 0:
            steps.append("Watch opt-outs: personalized emails lose more subscribers than generic ones.")
    for did in results.rollouts:
        if isinstance(did, str):
            continue
        e = did.estimate
        if e.low > 0:
            steps.append(
                f"Extend {did.rollout.name.lower()} beyond {did.rollout.treated_label} "
                f"({fmt.pct(e.relative, signed=True)} repeat orders there, "
                f"{fmt.interval(e.relative_low, e.relative_high, lambda x: fmt.pct(x, signed=True))}), "
                f"region by region, keeping one group without it to keep measuring."
            )
        elif e.high < 0:
            steps.append(f"Reconsider {did.rollout.name.lower()}: repeat orders fell where it ran.")
        else:
            steps.append(
                f"Keep measuring {did.rollout.name.lower()}: its effect is not yet clear "
                f"({fmt.interval(e.relative_low, e.relative_high, lambda x: fmt.pct(x, signed=True))}); "
                f"hold the comparison group a few more months before extending it."
            )
    att = results.attribution
    if att is not None and not att.empty:
        t = att.table.set_index(["model", "channel"])["share"]
        gap = (t["markov"] - t["last_touch"]).sort_values()
        if gap.iloc[-1] >= MATERIAL_GAP:
            steps.append(
                f"Judge {gap.index[-1]} by its whole-journey (Markov) credit, not last clicks: "
                f"it starts or supports more orders than last-touch reports ({fmt.pp(gap.iloc[-1])})."
            )
    scored = [
        (c, index)
        for index in results.indices
        if index.scale == "0-100" and index.available
        for c in index.components
        if not math.isnan(c.score)
    ]
    if scored:
        weakest, index = min(scored, key=lambda pair: pair[0].score)
        if weakest.score < WEAK_SCORE:
            steps.append(
                f"Work on {weakest.name} ({weakest.measure}): the weakest part of the "
                f"{index.name} ({weakest.score:.0f}/100)."
            )
    if any(
        c.name == "Opt-out ease" and math.isnan(c.score) and index.available
        for index in results.indices
        for c in index.components
    ):
        steps.append(
            "Score opt-out ease with the client (one-click unsubscribe, preference centre, "
            "opt-outs honoured within two business days)."
        )
    return steps[:limit]


def next_steps_section(results: Results, currency: str = "USD") -> None:
    steps = next_steps(results, currency)
    if not steps:
        nb.not_enough_data("next steps", "none of the analyses above had data to act on")
        return
    nb.say("\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1)))
    if not results.tests and results.pooled is None:
        nb.finding(steps[0])
