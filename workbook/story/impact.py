"""Notebook 03's story, section by section: each section function computes its results (with
`experiments`, `segments`, `attribution`, `causal` and `indices`), keeps them in `Results`, and
shows them (words, tables, charts from `impact_charts`, findings), or says why the section has
no data. Those modules return numbers and codes; the words for them are here: test verdicts,
the segment table, the rollout's reading, the indices' sentences, the next test planned on the
client's own list (`plan_sentence`). `next_steps` turns the results into a short, ordered to-do
list. The consultant's assumptions (client.toml, `Client.settings`) are said before the figures
that rest on them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

import pandas as pd

from workbook.analytics import attribution as at
from workbook.analytics import causal, cohorts, quality
from workbook.analytics import experiments as ex
from workbook.analytics import indices as ix
from workbook.analytics import segments as sg
from workbook.core import fmt
from workbook.store.clients import Settings
from workbook.story import goal_words, nb
from workbook.story import impact_charts as charts
from workbook.story.impact_charts import METRIC_NAMES, MODEL_LABELS
from workbook.story.nb import Context

TEST_SECTION = "the A/B tests"
SEGMENT_SECTION = "segment economics"
ATTRIBUTION_SECTION = "attribution"
ROLLOUT_SECTION = "the rollout's causal effect"
WEAK_SCORE = 50  # an index component below this is worth working on
MATERIAL_GAP = 0.01  # attribution models differing by less than 1 point per channel "agree"


def _signed_pct(x: float) -> str:
    return fmt.pct(x, signed=True)


@dataclass
class Results:
    """What the sections found, for `next_steps`."""

    tests: list = field(default_factory=list)
    pooled: ex.ABTest | None = None
    econ: sg.SegmentEconomics | None = None
    attribution: at.Attribution | None = None
    rollouts: list[causal.DiD | str] = field(default_factory=list)  # DiD results, or why there is none
    indices: list = field(default_factory=list)  # CompositeIndex
    reach: ex.Reach | None = None  # the client's reachable list, for planning tests


# --- planning a test the client can run -----------------------------------------------------


def reach_words(reach: ex.Reach) -> str:
    """Which list a plan is sized to, and where its count comes from, as a sentence."""
    if reach.source == "campaign":
        return (
            f"Your largest campaign of the last year, {nb.text(reach.campaign)}, went to "
            f"{fmt.num(reach.size)} people."
        )
    return f"You have {fmt.num(reach.size)} customers with marketing consent on file."


def plan(results: Results) -> ex.ABPlan | None:
    """The next test sized to the client's list (none: to its known customers, were they to
    join), at the pooled generic arm's conversion rate when it has one, else a typical rate."""
    if results.reach is None:
        return None
    base = ex.TYPICAL_CONVERSION
    control = results.pooled.arm("generic") if results.pooled is not None else None
    if control is not None and 0 < control.conversions < control.recipients:
        base = control.conversions / control.recipients
    size = results.reach.size or results.reach.customers
    return ex.plan_test(size, base) if size >= 2 else None


def plan_words(abplan: ex.ABPlan) -> str:
    """What a 50/50 test on the list detects, and how to reach a lift worth having without
    asking for more people than the list holds."""
    lift = fmt.pct(abplan.lift, 0)
    if math.isnan(abplan.detectable):
        return (
            f"a 50/50 test ({fmt.num(abplan.per_arm)} per version) cannot detect any rise of a "
            f"{fmt.pct(abplan.baseline)} conversion rate: grow the list first."
        )
    text = (
        f"a 50/50 test ({fmt.num(abplan.per_arm)} per version) detects a rise of the conversion rate "
        f"from {fmt.pct(abplan.baseline)} to {fmt.pct(abplan.detectable)} or more"
    )
    if abplan.one_send_enough:
        return f"{text}: one send is enough to see a {lift} relative lift."
    if abplan.poolable:
        return (
            f"{text}; to see a {lift} relative lift, add up {abplan.sends} sends of the same test "
            f"(one a month), or test a bigger change."
        )
    return (
        f"{text}. A {lift} relative lift would take {abplan.sends} sends, more than a year of "
        f"monthly campaigns: test bigger changes (a different offer, not a different subject line)."
    )


def plan_sentence(results: Results) -> str | None:
    """The next test in words, sized to the reachable list; None before `tests_section` ran."""
    reach, abplan = results.reach, plan(results)
    if reach is None:
        return None
    if reach.size == 0:
        text = (
            "There is no email list to test on yet: no customer has marketing consent on file and "
            "no campaign was imported. Ask customers for email consent (at checkout, on receipts, "
            "at loyalty sign-up) and import the list (Shopify customers or Mailchimp audience)."
        )
        if abplan is not None and not math.isnan(abplan.detectable):
            text += (
                f" If all your {fmt.num(reach.customers)} known customers joined, a 50/50 test could "
                f"detect a rise of the conversion rate from {fmt.pct(abplan.baseline)} to "
                f"{fmt.pct(abplan.detectable)} or more."
            )
        return text
    if abplan is None:
        return f"{reach_words(reach)} That is too few for an email test: grow the list first."
    return f"{reach_words(reach)} On that list, " + plan_words(abplan)


# --- A/B tests in words ---------------------------------------------------------------------


def _formatters(metric: str, currency: str):
    if metric == "revenue":
        return (lambda x: fmt.money(x, currency)), (
            lambda x: ("+" if x >= 0 else "") + fmt.money(x, currency)
        )
    return fmt.pct, fmt.pp


def _srm_words(test: ex.ABTest) -> str:
    total = sum(a.recipients for a in test.arms)
    got = " / ".join(f"{nb.text(a.variant)} {fmt.pct(a.recipients / total, 1)}" for a in test.arms)
    want = " / ".join(fmt.pct(s / sum(test.shares), 0) for s in test.shares)
    return (
        f"Not trustworthy: the recipients were not split as intended ({got}, where {want} was "
        f"planned). An imbalance this large happens by chance less than 1 time in "
        f"{fmt.num(1 / test.srm_alpha)} (p = {test.srm.p_value:.1g}), so the sending or tracking "
        f"is broken and none of this test's results can be believed. Fix the split and test again."
    )


def _chance_words(prob: float) -> str:
    """A probability that is never rounded to a certainty: '>99%', '<1%'."""
    return ">99%" if prob > 0.99 else "<1%" if prob < 0.01 else fmt.pct(prob, 0)


def comparison_verdict(test: ex.ABTest, c: ex.Comparison, currency: str = "USD") -> str:
    """The plain-words verdict on one comparison (see `verdict` for the rules)."""
    word = ex.outcome(test, c)
    if word == "not trustworthy":
        return _srm_words(test)
    level, diff = _formatters(c.metric, currency)
    facts = (
        f"{METRIC_NAMES[c.metric]} {level(c.value)} for {nb.text(c.arm)} "
        f"vs {level(c.control_value)} for {nb.text(c.control)}"
    )
    if word == "no test":
        why = (
            "only per-variant totals were imported"
            if c.metric == "revenue" and not test.has_revenue_test
            else "an arm has too few recipients"
        )
        return (
            f"No test possible: {facts}, but {why}, so there is no way to tell this difference from chance."
        )
    family = sum(not math.isnan(x.p_holm) for x in test.comparisons)
    p = fmt.p_value(c.p_holm) + (
        f" after correcting for {family} comparisons tested together" if family > 1 else ""
    )
    low, high = c.bootstrap if c.bootstrap is not None else (c.lift.low, c.lift.high)
    span = fmt.interval(low, high, diff)
    size = diff(c.lift.value) + (
        f", {fmt.pct(c.relative.value, 0, signed=True)} relative" if not math.isnan(c.relative.value) else ""
    )
    chance = (
        f" Chance that {nb.text(c.arm)} truly beats {nb.text(c.control)}: {_chance_words(c.prob_beat_control)} "
        f"(Bayesian, uniform prior)."
        if not math.isnan(c.prob_beat_control)
        else ""
    )
    worth = f"a lift of {fmt.pct(c.expected_lift, 0)}"
    if word in ("win", "loss"):
        text = (
            f"{word.capitalize()}: {facts} ({size}), clearly more than chance "
            f"({p}). The true difference is plausibly {span}.{chance}"
        )
        if c.power < ex.POWER:
            text += (
                f" The test was small (its chance to detect {worth} was {fmt.pct(c.power, 0)}), so "
                f"the true effect may well be smaller than measured."
            )
        return text
    text = f"Inconclusive: {facts} ({size}), a difference chance alone could produce ({p}). "
    if low > 0 or high < 0:
        text += (
            f"The interval {span} leaves out zero only when this comparison is looked at "
            f"alone; with {family} tested at once that is not enough. "
        )
    else:
        text += f"The true difference could be anywhere {span}. "
    text += f"This is not a win.{chance}"
    if c.power < ex.POWER:
        reach = (
            f"it reliably (80%) detects only differences of {diff(c.mde)} or more"
            if c.mde == c.mde
            else "it is too small to reliably detect any difference"
        )
        text += (
            f" The test was underpowered: its chance to detect {worth} was only "
            f"{fmt.pct(c.power, 0)}; {reach}."
        )
    return text


def verdict(test: ex.ABTest, metric: str = "conversion", currency: str = "USD") -> str:
    """Plain-words verdict for `metric` (all non-control arms), or the SRM warning if the split is broken.

    Rules: a broken split (SRM) overrides everything; "Win"/"Loss" only when the Holm-adjusted
    p-value is below alpha; otherwise "Inconclusive ... not a win", and "underpowered" when the
    test had less than 80% power for a lift of `expected_lift`. Post-hoc power at the observed
    effect is deliberately not used: it only restates the p-value (Hoenig & Heisey 2001).
    """
    if metric not in METRIC_NAMES:
        raise ValueError(f"unknown metric {metric!r}: use one of {', '.join(METRIC_NAMES)}")
    if not test.trustworthy:
        return _srm_words(test)
    return " ".join(comparison_verdict(test, c, currency) for c in test.comparisons if c.metric == metric)


REPORT_COLUMNS = [
    "Campaign",
    "Measure",
    "Version",
    "Version result",
    "Control",
    "Control result",
    "Difference",
    "95% interval",
    "Chance to beat control",
    "p (Holm)",
    "Result",
]


def report_table(
    tests: Iterable[ex.ABTest | None], metric: str | None = None, currency: str = "USD"
) -> pd.DataFrame:
    """`tests_table` in words for a report: formatted values, interval, chance, result (one metric or all)."""
    table = ex.tests_table(tests, metric)
    rows = []
    for r in table.itertuples(index=False):
        level, diff = _formatters(r.metric, currency)
        low, high = (
            (r.bootstrap_low, r.bootstrap_high)
            if not math.isnan(r.bootstrap_low)
            else (r.lift_low, r.lift_high)
        )
        rows.append(
            {
                "Campaign": r.campaign,
                "Measure": METRIC_NAMES[r.metric],
                "Version": r.arm,
                "Version result": level(r.value),
                "Control": r.control,
                "Control result": level(r.control_value),
                "Difference": diff(r.lift),
                "95% interval": "n/a" if math.isnan(low) else f"{diff(low)} to {diff(high)}",
                "Chance to beat control": "n/a"
                if math.isnan(r.prob_beat_control)
                else _chance_words(r.prob_beat_control),
                "p (Holm)": "n/a"
                if math.isnan(r.p_holm)
                else fmt.p_value(r.p_holm).removeprefix("p = ").replace("p < ", "<"),
                "Result": r.outcome,
            }
        )
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


def ab_notes(test: ex.ABTest) -> list[str]:
    """What a test could not do, or (pooled) which campaigns it adds up and leaves out."""
    if test.source == "campaign_results":
        return [
            "Only per-variant totals were imported for this campaign, so revenue per recipient "
            "cannot be tested (no per-recipient spread); import per-recipient activity for that."
        ]
    if test.source != "pooled":
        return []
    n = len(test.campaigns)
    notes = [f"Adds up {n} A/B campaign{'s' if n > 1 else ''} with a personalized and a generic version."]
    if test.broken_splits:
        notes.append(f"Left out because their split was broken: {nb.names(test.broken_splits)}.")
    if test.other_ratios:
        notes.append(
            f"Left out because they split recipients in another ratio: {nb.names(test.other_ratios)}."
        )
    if not test.has_revenue_test:
        notes.append("Some campaigns have only per-variant totals, so revenue per recipient is not tested.")
    return notes


# --- segment economics in words -------------------------------------------------------------

SEGMENT_OUTCOMES = ["recipients", "conversion", "unsubscribe", "CLTV to date"]
SEGMENT_MONEY_AND_VOICE = ["CAC", "ROMI", "NPS", "CES"]


def _with_range(value: float, low: float, high: float, formatter: Callable[[float], str]) -> str:
    """'2.1% (1.8% to 2.4%)': an estimate and its interval, each in `formatter`'s words."""
    return f"{formatter(value)} ({formatter(low)} to {formatter(high)})"


def segment_table(econ: sg.SegmentEconomics, currency: str = "USD") -> pd.DataFrame:
    """The table in words: one row per segment and arm, each estimate with its interval
    (columns `SEGMENT_OUTCOMES` and `SEGMENT_MONEY_AND_VOICE` after the segment and arm)."""
    t = econ.table
    money = partial(fmt.money, currency=currency)
    return pd.DataFrame(
        {
            econ.by.replace("_", " "): t["segment"],
            "arm": t["arm"],
            "recipients": t["recipients"].map(fmt.num),
            "conversion": [
                _with_range(*r, fmt.pct)
                for r in zip(t["conversion"], t["conversion_low"], t["conversion_high"], strict=True)
            ],
            "unsubscribe": [
                _with_range(*r, partial(fmt.pct, decimals=2))
                for r in zip(t["unsubscribe"], t["unsubscribe_low"], t["unsubscribe_high"], strict=True)
            ],
            "CLTV to date": [
                _with_range(*r, money) for r in zip(t["cltv"], t["cltv_low"], t["cltv_high"], strict=True)
            ],
            "CAC": [_with_range(*r, money) for r in zip(t["cac"], t["cac_low"], t["cac_high"], strict=True)],
            "ROMI": [
                _with_range(*r, _romi) for r in zip(t["romi"], t["romi_low"], t["romi_high"], strict=True)
            ],
            "NPS": [
                _with_range(v, lo, hi, partial(fmt.num, decimals=0)) + f", n={n}"
                for v, lo, hi, n in zip(t["nps"], t["nps_low"], t["nps_high"], t["nps_n"], strict=True)
            ],
            "CES": [
                _with_range(*r, partial(fmt.num, decimals=2))
                for r in zip(t["ces"], t["ces_low"], t["ces_high"], strict=True)
            ],
        }
    )


COST_COLUMNS = ("CAC", "ROMI")  # resting on the cost of the sends


def _costs_given(settings: Settings) -> bool:
    return settings.is_given("email_send") or settings.is_given("personalized_email_send")


def cost_words(econ: sg.SegmentEconomics, settings: Settings, currency: str = "USD") -> str | None:
    """The assumption CAC and ROMI rest on, said before them (None: every cost was recorded).

    With costs per email set in client.toml they are shown, labelled as resting on that
    assumption; with only the default guess they are not shown at all."""
    if not econ.assumed_cost:
        return None
    cost = " and ".join(
        f"{fmt.money(v, currency, 3)} per {arm} email" for arm, v in econ.cost_per_send.items()
    )
    if _costs_given(settings):
        return (
            f"**Assumed, not measured:** CAC and ROMI below rest on the {cost} set in client.toml "
            f"([costs]) for the campaigns imported without their cost."
        )
    return (
        f"CAC and ROMI are not shown: no campaign cost was imported and client.toml sets no cost per "
        f"email, so they would rest on a guess (such as {cost}). Set [costs] email_send and "
        f"personalized_email_send in client.toml to see them, marked as resting on that assumption."
    )


def _romi(x: float) -> str:
    return fmt.pct(x) if math.isnan(x) or abs(x) < 10 else f"{x * 100:,.0f}%"


def segment_sentences(econ: sg.SegmentEconomics, currency: str = "USD") -> list[str]:
    """Plain-words reading of the comparison, one sentence per segment."""
    out = []
    for r in econ.comparison.itertuples():
        where = "Overall" if r.segment == sg.ALL else f"In segment **{nb.text(r.segment)}**"
        sure = r.conversion_low > 0 or r.conversion_high < 0
        out.append(
            f"{where}, "
            f"personalized emails changed the conversion rate by **{fmt.pp(r.conversion_lift)}** "
            f"(95% interval {fmt.pp(r.conversion_low)} to {fmt.pp(r.conversion_high)}; "
            + ("a real difference" if sure else "not distinguishable from no difference")
            + f"), the unsubscribe rate by {fmt.pp(r.unsubscribe_diff, 2)} "
            f"({fmt.pp(r.unsubscribe_low, 2)} to {fmt.pp(r.unsubscribe_high, 2)}) and the revenue "
            f"per customer to date by {fmt.money(r.cltv_diff, currency)} "
            f"({fmt.money(r.cltv_low, currency)} to {fmt.money(r.cltv_high, currency)})."
        )
    return out


# --- attribution in words -------------------------------------------------------------------


def credit_shares(att: at.Attribution) -> pd.DataFrame:
    """Share of the credit per channel (rows) and model (columns, named for the reader)."""
    return att.wide().rename(columns=MODEL_LABELS)


# --- the rollout in words -------------------------------------------------------------------

ROLLOUT_ASSUMPTION = (
    "**The assumption behind this estimate (parallel trends):** had the rollout not happened, "
    "repeat orders per customer in the treated group would have gone up or down by the same amount as "
    "in the comparison group. Seasonality and market-wide swings are then cancelled out, "
    "because both groups live through them; it also assumes both groups gained new customers at "
    "a similar pace. It cannot be proven; the chart shows the weeks before the rollout, where "
    "the two lines should move in step."
)


def rollout_sentences(did: causal.DiD) -> list[str]:
    """The design, the estimate with its interval, and the placebo check, in words."""
    e, r = did.estimate, did.rollout
    level = f"{did.confidence:.0%}"
    out = [
        f"{nb.text(r.name)} started on {r.start:%d %B %Y} for customers in {nb.text(r.treated_label)} "
        f"({fmt.num(did.n_treated)} customers who had bought before it); the comparison "
        f"group is the other "
        f"{fmt.num(did.n_control)} such customers. We compare {did.pre_weeks} weeks before "
        f"with {did.post_weeks} weeks after.",
        f"Estimated effect: **{fmt.num(e.effect, 4)} repeat orders per customer per week** "
        f"({level} interval {fmt.num(e.low, 4)} to {fmt.num(e.high, 4)}), that is "
        f"**{_signed_pct(e.relative)}** against what the treated group would "
        f"have ordered without it ({level} interval "
        f"{fmt.interval(e.relative_low, e.relative_high, _signed_pct)}).",
    ]
    out.append(
        "The interval excludes zero: the rollout most likely changed ordering."
        if e.low > 0 or e.high < 0
        else "The interval includes zero: the data cannot tell the rollout's effect apart from none."
    )
    if did.placebo is not None:
        p = did.placebo
        ok = p.low <= 0 <= p.high
        out.append(
            f"Check: a pretend rollout halfway through the before-period shows "
            f"{_signed_pct(p.relative)} ({level} interval "
            f"{fmt.interval(p.relative_low, p.relative_high, _signed_pct)}); "
            + (
                "it includes zero, as it should if the two groups moved in parallel before."
                if ok
                else "it does not include zero: the groups were already drifting apart, "
                "so treat the estimate with caution."
            )
        )
    return out


# --- the indices in words -------------------------------------------------------------------

SHARE_WORDS = {  # what a share component counts, by its measure
    "satisfied answers": "answers satisfied (4-5 of 5)",
    "repeat buyers": "buying customers ordered twice or more",
    "referred newcomers": "new customers came by referral",
    "promoters": "survey answers are 9-10",
    "opened emails": "emails were opened",
    "engaged sessions": "web sessions were engaged",
    "consent": "emailed people have marketing consent on file (or opted out later)",
}
RATE_WORDS = {  # what a bad-event rate counts, by its measure
    "unsubscribes": "emails led to an unsubscribe",
    "spam complaints": "delivered emails were marked as spam",
}
INDEX_NOTES = {
    ix.NOT_ASSESSED: "Opt-out ease needs the consultant's checklist (one-click unsubscribe, preference "
    "centre, opt-outs honoured within two business days).",
    ix.NO_TESTS: "Needs A/B tests of personalized vs generic emails.",
    ix.ASSUMED_COST: "Assumed, not measured: its cost rests on a cost per email (client.toml [costs], "
    "or a typical price when it sets none), not on imported campaign costs.",
    ix.NO_TIME: "Time saved is not counted: client.toml gives no [time_saved] hours_per_month.",
    ix.ASSUMED_TIME: "Time saved is the hours a month set in client.toml ([time_saved]), an estimate, "
    "not measured.",
    ix.NO_EXTRA_COST: "Personalization cost nothing extra here, so a ratio is meaningless.",
}


def component_measure(c: ix.Component, currency: str = "USD") -> str:
    """The raw measure behind a component's score in words, e.g. "NPS +32 from 410 answers"."""
    b = c.basis
    if c.measure in SHARE_WORDS or c.measure in RATE_WORDS:
        what = SHARE_WORDS.get(c.measure) or RATE_WORDS[c.measure]
        if b.n <= 0:
            return f"no {what}"
        return f"{fmt.pct(b.mean, 2 if c.measure in RATE_WORDS else 1)} of {fmt.num(b.n)} {what}"
    if c.measure == "nps":
        return f"NPS {100 * b.mean:+.0f} from {fmt.num(b.n)} answers" if b.n else "no NPS answers"
    if c.measure == "ces":
        scale = "1 = easy, 7 = hard" if ix.CES_LOWER_IS_BETTER else "1 = hard, 7 = easy"
        return (
            f"average effort score {b.mean:.2f} ({scale}) from {fmt.num(b.n)} answers"
            if b.n
            else "no CES answers"
        )
    if c.measure == "stars":
        return f"{b.mean:.2f} stars from {fmt.num(b.n)} reviews" if b.n else "no reviews"
    if c.measure == "checklist":
        return "not assessed" if math.isnan(c.score) else "consultant's checklist score"
    if c.measure == "unsubscribe lift":
        if b is None:
            return "no personalized vs generic tests"
        if math.isnan(b.value):
            return "too few unsubscribes to compare"
        return f"personalized emails' unsubscribe rate {_signed_pct(b.value)} vs generic"
    if c.measure == "incremental revenue":
        return (
            f"{fmt.money(b['per_recipient'], currency)} more per personalized "
            f"recipient x {fmt.num(b['recipients'])} recipients"
        )
    if c.measure == "time saved":
        if b["hours_per_month"] is None:
            return "not given"
        return f"{b['hours_per_month']:g} h a month at {fmt.money(b['hourly_rate'], currency)}"
    if c.measure == "extra cost":
        return (
            "personalized sends beyond generic ones"
            + (" (assumed cost per send)" if b["assumed_cost"] else "")
            + (f" + tool {fmt.money(b['tool_per_month'], currency)} a month" if b["tool_per_month"] else "")
        )
    raise ValueError(f"no words for the measure {c.measure!r}")


ASSUMPTION_NOTES = (ix.ASSUMED_COST, ix.NO_TIME, ix.ASSUMED_TIME)  # said before the index's number


def index_notes(index: ix.CompositeIndex, currency: str = "USD", assumptions: bool = False) -> list[str]:
    """The index's notes (`ix.MISSING`, ...) in words: those of `ASSUMPTION_NOTES` with
    `assumptions`, the others without."""
    out = []
    for note in index.notes:
        if (note in ASSUMPTION_NOTES) != assumptions:
            continue
        if note == ix.MISSING:
            missing = [c.name for c in index.components if math.isnan(c.score)]
            out.append(f"Left out for lack of data (weights rescaled): {', '.join(missing)}.")
        elif note == ix.TOO_LITTLE:
            known = [c for c in index.components if not math.isnan(c.score) and c.weight > 0]
            out.append(
                f"Only {', '.join(f'{c.name} ({component_measure(c, currency)})' for c in known)} is known: "
                f"less than {ix.MIN_WEIGHT_SHARE:.0%} of the index's weight, too little to call it the index."
            )
        else:
            out.append(INDEX_NOTES[note])
    return out


def _score(x: float, scale: str, currency: str) -> str:
    return f"{x:.0f}" if scale == "0-100" else fmt.money(x, currency)


def index_sentence(index: ix.CompositeIndex, currency: str = "USD") -> str:
    """The index with its interval, what it is built from (scores and weights) and its notes."""
    notes = " ".join(index_notes(index, currency))
    before = " ".join(index_notes(index, currency, assumptions=True))
    before = f"{before} " if before else ""
    if not index.available:
        return f"**{index.name}**: not enough data. " + before + notes
    parts = ", ".join(
        f"{c.name} {_score(c.score, index.scale, currency)} (weight {c.weight:g})"
        for c in index.components
        if not math.isnan(c.score) and c.weight > 0
    )
    divisor = [c for c in index.components if index.scale != "0-100" and c.weight == 0]
    if divisor:
        parts += ", divided by " + ", ".join(
            f"{c.name} {_score(c.score, index.scale, currency)}" for c in divisor
        )
    value = (
        f"{index.value:.0f} out of 100"
        if index.scale == "0-100"
        else f"{index.value:.1f} (money back per unit spent)"
    )
    rng = (
        f"{index.low:.0f} to {index.high:.0f}"
        if index.scale == "0-100"
        else f"{index.low:.1f} to {index.high:.1f}"
    )
    return f"{before}**{index.name}: {value}** (95% interval {rng}). Built from {parts}. " + notes


# --- sections -----------------------------------------------------------------------------


def tests_section(ctx: Context, results: Results) -> None:
    """Judge every A/B campaign and their pooled personalized-vs-generic test; show the SRM gate
    first, then the pooled verdict, then each test."""
    splits = {k: dict(v) for k, v in ctx.client.settings.ab_splits.items()}
    results.tests = tests = ex.campaign_tests(ctx.con, ctx.as_of, splits=splits)
    results.pooled = pooled = ex.pooled_personalization_test(ctx.con, ctx.as_of, tests=tests)
    results.reach = ex.reach(ctx.con, ctx.as_of)
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
        nb.say(f"- **{nb.text(t.name)}**: {verdict(t, 'conversion', ctx.currency)}")
    if pooled is None:
        nb.say(
            "No test compared a personalized version with a generic one, so the pooled verdict is skipped."
        )
    else:
        nb.say("**All personalized vs generic versions added up.** " + " ".join(ab_notes(pooled)))
        nb.say(verdict(pooled, "conversion", ctx.currency))
        if pooled.has_revenue_test:
            nb.say(verdict(pooled, "revenue", ctx.currency))
        nb.show(charts.arms_chart(pooled))
        c = pooled.comparison("conversion")
        nb.finding(
            f"Personalized emails: {ex.outcome(pooled, c)} on conversion, {fmt.pp(c.lift.value)} "
            f"({fmt.interval(c.lift.low, c.lift.high, fmt.pp)}), "
            f"over {fmt.num(sum(a.recipients for a in pooled.arms))} recipients.",
            section="experiments",
            outcome=ex.outcome(pooled, c),
            good=bool(ex.outcome(pooled, c) == "win"),
            action=pooled_step(pooled, plan_sentence(results)),
            lift=c.lift.value,
            low=c.lift.low,
            high=c.lift.high,
        )
    nb.say(
        "**Each test on its own** (conversion; the Holm correction accounts for several comparisons "
        "in one test):"
    )
    nb.show(report_table(tests, "conversion", ctx.currency))
    nb.show(charts.lift_chart(tests + ([pooled] if pooled else []), "conversion"))
    sentence = plan_sentence(results)
    if sentence:
        nb.say(f"**Planning the next test** (80% power, 5% significance). {sentence}")


def segments_section(ctx: Context, results: Results, by: str = "segment") -> None:
    """Personalized vs generic emails per segment (a customers column `by`): table, sentences, chart."""
    settings = ctx.client.settings
    results.econ = econ = sg.economics(ctx.con, ctx.as_of, by=by, cost_per_send=settings.cost_per_send)
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
    table = segment_table(econ, ctx.currency)
    keys = list(table.columns[:2])
    money = SEGMENT_MONEY_AND_VOICE
    costs = cost_words(econ, settings, ctx.currency)
    if costs:
        nb.say(costs)
        if not _costs_given(settings):
            money = [c for c in money if c not in COST_COLUMNS]
        else:
            table = table.rename(columns={c: f"{c} (assumed cost)" for c in COST_COLUMNS})
            money = [f"{c} (assumed cost)" if c in COST_COLUMNS else c for c in money]
    for columns in (SEGMENT_OUTCOMES, money):
        nb.show(table[keys + columns].style.hide(axis="index"))
    for sentence in segment_sentences(econ, ctx.currency):
        nb.say(sentence)
    nb.show(charts.segments_chart(econ))
    good, _ = sg.best_segments(econ)
    if good:
        nb.finding(
            f"Personalization clearly lifts email conversion in segment{'s' if len(good) > 1 else ''} "
            f"{nb.names(good)} (each on its own, 95% intervals above zero).",
            section="segments",
            segments=good,
            good=True,
            action=segments_step(good),
        )
    nb.say(
        "How to read the columns: conversion = recipients who ordered from the email; CLTV to date = "
        "revenue per customer from their first test email until today (grouped by the version of that "
        "first email); CAC = email cost / customers whose first order came from the email; ROMI = "
        "(revenue from the emails - their cost) / cost; NPS and CES from surveys answered after the "
        "first test email."
    )


def attribution_section(
    ctx: Context, results: Results, lookback_days: int = 30, half_life_days: float = 7
) -> None:
    """Credit for the orders per channel under six models (`attribution.attribute`), side by side."""
    results.attribution = att = at.attribute(
        ctx.con, ctx.as_of, lookback_days=lookback_days, half_life_days=half_life_days
    )
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
    nb.show(credit_shares(att).style.format("{:.1%}").set_caption("Share of the credit per channel"))
    nb.show(charts.attribution_chart(att))
    markov = att.table[att.table["model"] == "markov"].set_index("channel")
    last = att.table[att.table["model"] == "last_touch"].set_index("channel")
    gap = (markov["share"] - last["share"]).sort_values()
    top = markov["share"].idxmax()
    single = att.paths.loc[att.paths["path"].map(len) == 1, "conversions"].sum() / att.conversions
    text = (
        f"The data-driven Markov model gives **{nb.text(top)}** the largest share, "
        f"{fmt.pct(markov.loc[top, 'share'])} "
        f"({fmt.interval(markov.loc[top, 'share_low'], markov.loc[top, 'share_high'])}). "
    )
    if gap.abs().max() < MATERIAL_GAP:
        text += (
            f"The six models agree within {fmt.pct(MATERIAL_GAP, 0)} points per channel: "
            f"{fmt.pct(single, 0)} of credited orders had a single tracked touch, so how credit "
            f"is shared barely matters here."
        )
    else:
        text += (
            f"Compared with last-touch credit, it gives most extra credit to **{nb.text(gap.index[-1])}** "
            f"({fmt.pp(gap.iloc[-1])}) and takes most from **{nb.text(gap.index[0])}** ({fmt.pp(gap.iloc[0])}): "
            f"the first starts or supports journeys more than it closes them."
        )
    nb.say(text)


def rollout_section(ctx: Context, results: Results) -> None:
    """Difference-in-differences for every rollout recorded in the client's client.toml."""
    results.rollouts = run_rollouts(ctx)
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
        for sentence in rollout_sentences(did):
            nb.say(sentence)
        nb.show(
            did.means.style.format("{:+.4f}", subset=["change"])
            .format("{:.4f}", subset=["before", "after"])
            .set_caption("Repeat orders per customer per week")
        )
        nb.show(charts.rollout_chart(did))
        nb.say(ROLLOUT_ASSUMPTION)
        e = did.estimate
        nb.finding(
            f"{nb.text(did.rollout.name)} ({nb.text(did.rollout.treated_label)}): {_signed_pct(e.relative)} repeat "
            f"orders per customer ({fmt.interval(e.relative_low, e.relative_high, _signed_pct)}).",
            section="rollout",
            good=bool(e.low > 0),
            action=rollout_step(did),
            relative=e.relative,
            low=e.relative_low,
            high=e.relative_high,
        )


def run_rollouts(ctx: Context) -> list[causal.DiD | str]:
    """DiD for every recorded rollout; a rollout the data cannot support gives its reason."""
    out: list[causal.DiD | str] = []
    orders = quality.history(ctx.con, ctx.as_of).of("orders")
    for rollout in ctx.client.rollouts:
        before = max(0, (rollout.start - orders.first).days // 7) if orders else 0
        if before < causal.PRE_WEEKS:  # a shorter before-period would be averaged over weeks without data
            out.append(
                f"{nb.text(rollout.name)} needs {causal.PRE_WEEKS} weeks of orders before its start on "
                f"{nb.day(rollout.start)}; there {'is' if before == 1 else 'are'} {before} so far"
            )
            continue
        try:
            out.append(causal.did(ctx.con, rollout, ctx.as_of))
        except causal.NotEnoughData as err:
            out.append(f"{nb.text(rollout.name)}: {err}")
    return out


def indices_section(ctx: Context, results: Results, opt_out_ease: float | None = None) -> None:
    """The four composite indices, each with its parts; after `segments_section` (the efficiency
    ratio and the opt-out score use its A/B figures, computed here when it has not run). Weights,
    costs and hours saved come from client.toml (`Settings`); `opt_out_ease` is the consultant's
    checklist score (0-100)."""
    settings = ctx.client.settings
    weights = ix.weights(settings.index_weights)
    econ = (
        results.econ
        if results.econ is not None
        else sg.economics(ctx.con, ctx.as_of, cost_per_send=settings.cost_per_send)
    )
    results.indices = [
        ix.customer_experience(ctx.con, ctx.as_of, weights=weights["customer_experience"]),
        ix.personalization_efficiency(
            econ,
            hours_saved_per_month=settings.hours_saved_per_month
            if settings.is_given("hours_saved_per_month")
            else None,
            hourly_rate=settings.hourly_rate,
            tool_cost_per_month=settings.tool_per_month,
            weights=weights["personalization_efficiency"],
        ),
        ix.relationship_strength(ctx.con, ctx.as_of, weights=weights["relationship_strength"]),
        ix.ethical_personalization(
            ctx.con, econ, ctx.as_of, opt_out_ease=opt_out_ease, weights=weights["ethical_personalization"]
        ),
    ]
    shown = 0
    rsi = results.indices[2]  # repeat buyers and referred newcomers: identified customers only
    identified = goal_words.identified_words(cohorts.anonymous_share(ctx.con, ctx.as_of)["identified_share"])
    for index in results.indices:
        shares = (
            f" Its repeat-buyer and referral shares are {identified}." if index is rsi and identified else ""
        )
        nb.say(index_sentence(index, ctx.currency).rstrip() + shares)
        if index.available:
            measures = [component_measure(c, ctx.currency) for c in index.components]
            nb.show(charts.index_chart(index, measures))
            shown += 1
    if not shown:
        nb.not_enough_data(
            "the indices",
            "none of the four has data for parts worth half its weight yet (see each one above)",
        )


# --- what to do next ------------------------------------------------------------------------


def pooled_step(pooled: ex.ABTest, plan: str | None = "") -> str:
    """What to do about personalized emails, from the pooled test's conversion outcome (`plan`:
    the next test's sentence, added when nothing is clear yet)."""
    c = pooled.comparison("conversion")
    word = ex.outcome(pooled, c)
    interval = f"({fmt.interval(c.lift.low, c.lift.high, fmt.pp)})"
    if word == "win":
        return f"Keep personalizing emails: they convert {fmt.pp(c.lift.value)} better {interval}."
    if word == "loss":
        return (
            f"Stop or rework the personalized emails: they convert {fmt.pp(c.lift.value)} worse {interval}."
        )
    return "Personalization has not yet shown a clear gain: keep testing before paying more for it." + (
        f" {plan}" if plan else ""
    )


def segments_step(good: list) -> str:
    return (
        f"Prioritise personalization for segment{'s' if len(good) > 1 else ''} "
        f"{nb.names(good)}, where its conversion gain is clear on its own."
    )


def rollout_step(did: causal.DiD) -> str:
    """Extend, reconsider or keep measuring a rollout, from its estimate's 95% interval."""
    e, name = did.estimate, nb.text(did.rollout.name.lower())
    if e.low > 0:
        return (
            f"Extend {name} beyond {nb.text(did.rollout.treated_label)} "
            f"({_signed_pct(e.relative)} repeat orders there, "
            f"{fmt.interval(e.relative_low, e.relative_high, _signed_pct)}), "
            f"region by region, keeping one group without it to keep measuring."
        )
    if e.high < 0:
        return f"Reconsider {name}: repeat orders fell where it ran."
    return (
        f"Keep measuring {name}: its effect is not yet clear "
        f"({fmt.interval(e.relative_low, e.relative_high, _signed_pct)}); "
        f"hold the comparison group a few more months before extending it."
    )


def next_steps(results: Results, currency: str = "USD", limit: int = 6) -> list[str]:
    """An ordered to-do list derived from the results: broken tests first, then what the
    evidence supports, then what to measure better."""
    steps: list[str] = []
    broken = [t.name for t in results.tests if not t.trustworthy]
    if broken:
        steps.append(
            f"Fix the recipient split of {nb.names(broken)} and re-run: a broken split makes the "
            f"results unusable."
        )
    sentence = plan_sentence(results)
    if not results.tests and results.pooled is None and sentence:
        if results.reach is not None and results.reach.size:
            sentence = (
                "Start measuring personalization: send the next email campaign half personalized, "
                "half generic, and import its results. " + sentence
            )
        steps.append(sentence)
    if results.pooled is not None:
        steps.append(pooled_step(results.pooled, sentence))
    if results.econ is not None and not results.econ.empty:
        good, flat = sg.best_segments(results.econ)
        if good:
            steps.append(segments_step(good))
        if flat:
            steps.append(f"Question personalization for {nb.names(flat)}: no gain there.")
        comp = results.econ.comparison.set_index("segment")
        if sg.ALL in comp.index and comp.loc[sg.ALL, "unsubscribe_low"] > 0:
            steps.append("Watch opt-outs: personalized emails lose more subscribers than generic ones.")
    steps += [rollout_step(did) for did in results.rollouts if not isinstance(did, str)]
    att = results.attribution
    if att is not None and not att.empty:
        t = att.table.set_index(["model", "channel"])["share"]
        gap = (t["markov"] - t["last_touch"]).sort_values()
        if gap.iloc[-1] >= MATERIAL_GAP:
            steps.append(
                f"Judge {nb.text(gap.index[-1])} by its whole-journey (Markov) credit, not last clicks: "
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
                f"Work on {weakest.name} ({component_measure(weakest, currency)}): the weakest part of the "
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
        nb.finding(steps[0], action=steps[0])
