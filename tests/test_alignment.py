"""Alignment: share shifts of every dimension (leads, orders, new customers, website sessions),
unmet service demand, and requests in review and survey text."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.stats import chi2_contingency
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from workbook import store
from workbook.analytics import alignment
from workbook.core.errors import WorkbookError
from workbook.story import improvement_delta, kpi_charts

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
            rows.append(
                (
                    f"l{n}",
                    pd.Timestamp(when),
                    source,
                    town,
                    pd.Timestamp("2026-10-30") if i < converted else None,
                )
            )
    rw.register(
        "planned", pd.DataFrame(rows, columns=["lead_id", "created_at", "source", "location", "converted_at"])
    )
    rw.execute(
        "INSERT INTO leads (lead_id, created_at, source, location, converted_at) SELECT * FROM planned"
    )
    return rw


def test_source_shift_matches_statsmodels(con):
    shift = alignment.share_shifts(con, "lead_source", AS_OF)
    got = shift.table.set_index("value")
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
    # one day per window: no day-to-day spread to estimate, so no design effect
    assert got["design_effect"].tolist() == [1.0, 1.0, 1.0]


def test_whole_table_chi_square_matches_scipy(con):
    shift = alignment.share_shifts(con, "lead_source", AS_OF)
    # the 2 x 3 table straight from PLAN: earlier Google 150, Nextdoor 10, Yelp 40; recent 60, 30, 10
    reference = chi2_contingency(np.array([[150, 10, 40], [60, 30, 10]]), correction=False)
    assert (shift.chi2, shift.p_value, shift.dof) == pytest.approx(
        (reference.statistic, reference.pvalue, reference.dof), rel=1e-9
    )
    assert (shift.earlier_start, shift.recent_start) == (dt.date(2025, 8, 3), dt.date(2026, 8, 2))
    assert (shift.earlier_weeks, shift.recent_weeks) == (52, 13)


def test_two_categories_chi_square_is_the_z_test_squared(rw):
    rw.executemany(
        "INSERT INTO leads (lead_id, created_at, source) VALUES (?, ?, ?)",
        [(f"e{i}", EARLIER_DAY, "A" if i < 30 else "B") for i in range(100)]
        + [(f"r{i}", RECENT_DAY, "A" if i < 45 else "B") for i in range(90)],
    )
    shift = alignment.share_shifts(rw, "lead_source", AS_OF)
    z, _ = proportions_ztest([45, 30], [90, 100])
    assert shift.chi2 == pytest.approx(z**2, rel=1e-9) and shift.dof == 1


def test_unknown_dimension_is_a_workbook_error(con):
    with pytest.raises(WorkbookError, match="lead_source"):
        alignment.share_shifts(con, "source; DROP TABLE leads", AS_OF)


def test_town_shift_and_converted_leads(con):
    towns = alignment.share_shifts(con, "lead_town", AS_OF).table.set_index("value")
    assert towns.loc["Riverton", "trend"] == "rising"  # 5% -> 25%
    converted = alignment.share_shifts(con, "lead_town", AS_OF, converted=True).table.set_index("value")
    # converted: earlier Riverton 2 of 54; recent 10 of 28
    assert converted.loc["Riverton", ["earlier", "recent"]].tolist() == [2, 10]
    assert converted.loc["Riverton", "recent_share"] == pytest.approx(10 / 28)


def test_small_change_is_steady(con):
    shift = alignment.share_shifts(con, "lead_source", AS_OF)
    got = shift.table.set_index("value")
    assert got.loc["Google", "trend"] in ("steady", "falling")
    assert improvement_delta.share_sentence(shift.table.iloc[0], shift).startswith(
        "Lead source **Nextdoor**: share of leads rose from 5.0% in the year before to 30.0% in the last "
        "13 weeks (+25.0 pp, 95% interval"
    )


def test_no_recent_leads_gives_empty_table(con):
    shift = alignment.share_shifts(con, "lead_source", dt.date(2025, 1, 1))
    assert shift.table.empty and shift.recent_start is None


def test_monthly_shares_sum_to_one(con):
    got = alignment.monthly_shares(con, "lead_source", AS_OF, top=2)
    assert set(got["value"]) == {"Google", "Yelp", "other"}  # Yelp 50 > Nextdoor 40 leads
    assert got.groupby("month")["share"].sum().tolist() == pytest.approx([1.0, 1.0])


def test_a_named_series_is_never_folded_into_other(con):
    """The chart of a finding shows the series the finding names, however small (issue 13: the
    rising Nextdoor line was folded into 'other' by the top-N rule)."""
    got = alignment.monthly_shares(con, "lead_source", AS_OF, top=1, keep=("Nextdoor",))
    assert set(got["value"]) == {"Google", "Nextdoor", "other"}
    march = got[got["month"] == pd.Timestamp("2026-03-01")].set_index("value")["share"]
    assert march.to_dict() == pytest.approx({"Google": 150 / 200, "Nextdoor": 10 / 200, "other": 40 / 200})
    spec = kpi_charts.share_chart(got, "lead source", "leads").to_dict()
    assert {row["value"] for row in spec["datasets"][spec["data"]["name"]]} >= {"Nextdoor"}
    assert spec["encoding"]["y"]["scale"]["domain"] == [0, 1]  # a share stays on 0-100%


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
        sources = alignment.share_shifts(con, "lead_source", AS_OF).table
        towns = alignment.share_shifts(con, "lead_town", AS_OF).table
        unmet = alignment.unmet_demand(con, AS_OF)
        dimensions = alignment.available(con, AS_OF)
    finally:
        con.close()
    assert dimensions == ["lead_source", "lead_town"]  # one sales channel, no regions, no GA4
    # planted: Nextdoor from May 2026 to ~25% of October's leads; Riverton from ~5% to ~25%
    assert sources[sources["trend"] == "rising"]["value"].tolist() == ["Nextdoor"]
    assert towns[towns["trend"] == "rising"]["value"].tolist() == ["Riverton"]
    # planted: Heat pump installation the most requested unoffered service, then EV chargers
    assert unmet["service"].tolist()[:2] == ["Heat pump installation", "EV charger installation"]
    assert unmet["mentions"].iloc[0] > 0  # reviews wishing for heat pumps


# --- dimensions beyond leads -----------------------------------------------------------------


def test_orders_count_purchases_by_channel(rw):
    rows = [(f"e{i}", EARLIER_DAY, "web" if i < 80 else "pos", None) for i in range(100)]
    rows += [(f"r{i}", RECENT_DAY, "web" if i < 20 else "pos", None) for i in range(50)]
    rows += [(f"x{i}", RECENT_DAY, "web", True) for i in range(500)]  # cancelled: not purchases
    rw.executemany(
        "INSERT INTO orders (order_id, ordered_at, revenue, channel, cancelled) VALUES (?, ?, 10, ?, ?)", rows
    )
    assert alignment.available(rw, AS_OF) == ["order_channel"]
    got = alignment.share_shifts(rw, "order_channel", AS_OF).table.set_index("value")
    assert got.loc["pos", ["earlier", "recent"]].tolist() == [20, 30]
    assert got.loc["pos", "p_value"] == pytest.approx(proportions_ztest([30, 20], [50, 100])[1], rel=1e-9)
    assert got.loc["pos", "trend"] == "rising"  # 20% -> 60%


def test_new_customers_by_acquisition_channel_date_from_first_purchase(rw):
    people = [(f"c{i}", "email" if i < 10 else "paid_social", EARLIER_DAY) for i in range(60)]
    people += [(f"d{i}", "email" if i < 25 else "paid_social", RECENT_DAY) for i in range(40)]
    rw.executemany(
        "INSERT INTO customers (customer_id, customer_key, acquisition_channel) VALUES (?, ?, ?)",
        [(c, c, ch) for c, ch, _ in people],
    )
    orders = [(f"o{c}", c, when) for c, _, when in people]
    orders += [(f"p{c}", c, RECENT_DAY) for c, _, _ in people[:10]]  # a second order: still new earlier
    rw.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES (?, ?, ?, 5)", orders
    )
    got = alignment.share_shifts(rw, "acquisition_channel", AS_OF).table.set_index("value")
    assert got.loc["email", ["earlier", "recent"]].tolist() == [10, 25]
    assert got.loc["email", "trend"] == "rising"


def test_short_history_halves_the_window_or_says_how_much_there_is(rw):
    first = dt.date(2026, 8, 23)  # 10 weeks (70 days) up to 31 Oct
    days = pd.date_range(first, AS_OF, freq="D")
    rw.executemany(
        "INSERT INTO web_sessions (day, channel, sessions) VALUES (?, ?, ?)",
        [(d.date(), ch, 50) for d in days for ch in ("Email", "Direct")],
    )
    shift = alignment.share_shifts(rw, "web_channel", AS_OF)
    assert shift.history_weeks == 10 and shift.recent_weeks == 5
    assert shift.earlier_start == first and shift.earlier_weeks == 5
    assert shift.table["earlier"].tolist() == [50 * 35, 50 * 35]
    short = alignment.share_shifts(rw, "web_channel", dt.date(2026, 9, 30))  # 5 weeks: too short
    assert short.table.empty and short.history_weeks == 5


def _daily_sessions(con, rng, days, shares, dispersion):
    """Store daily sessions per channel whose shares swing from day to day (Dirichlet around `shares`)."""
    rows = []
    for d, share in zip(days, shares):
        p = rng.dirichlet(np.asarray(share) * dispersion)
        counts = rng.multinomial(int(rng.poisson(800)), p)
        rows += [(d.date(), ch, int(n)) for ch, n in zip(("A", "B", "C"), counts)]
    con.register("drawn", pd.DataFrame(rows, columns=["day", "channel", "sessions"]))
    con.execute("DELETE FROM web_sessions")
    con.execute("INSERT INTO web_sessions (day, channel, sessions) SELECT * FROM drawn")


@pytest.fixture
def web(rw):
    """A year and a quarter of daily web sessions whose channel mix swings from day to day."""
    rng = np.random.default_rng(13)
    days = pd.date_range(AS_OF - dt.timedelta(weeks=65) + dt.timedelta(days=1), AS_OF, freq="D")
    _daily_sessions(rw, rng, days, [(0.5, 0.3, 0.2)] * len(days), 40)
    return rw


def test_design_effect_is_the_pearson_dispersion_of_a_binomial_glm(web):
    """Rao-Scott's design effect of a channel equals statsmodels' Pearson scale (X^2 / df) of a
    binomial GLM of its daily share on the window, fitted to the same days."""
    shift = alignment.share_shifts(web, "web_channel", AS_OF)
    frame = web.execute("SELECT day, channel, sessions FROM web_sessions").df()
    totals = frame.groupby("day")["sessions"].sum()
    a = frame[frame["channel"] == "A"].set_index("day")["sessions"].reindex(totals.index)
    recent = (totals.index >= pd.Timestamp(shift.recent_start)).astype(float)
    fit = sm.GLM(
        (a / totals).to_numpy(),
        sm.add_constant(recent),
        family=sm.families.Binomial(),
        var_weights=totals.to_numpy(),
    ).fit(scale="X2")
    got = shift.table.set_index("value").loc["A", "design_effect"]
    assert got == pytest.approx(fit.scale, rel=1e-6)
    assert got > 5  # a 0.5 share swinging with Dirichlet concentration 40 over ~800 sessions a day


def test_day_to_day_swings_are_not_called_shifts():
    """Seeded simulation with known truth. No shift: without the design effect most runs would
    call some channel rising or falling; with it, few do (at most 10% of runs, for a 5% test).
    A real shift of A from 50% to 60% is found in nearly every run."""
    rng = np.random.default_rng(2026)
    con = store.connection.duckdb.connect()
    for migration in store.schema.MIGRATIONS:
        con.execute(migration)
    days = pd.date_range(AS_OF - dt.timedelta(weeks=26) + dt.timedelta(days=1), AS_OF, freq="D")
    recent = days >= pd.Timestamp(AS_OF - dt.timedelta(weeks=13) + dt.timedelta(days=1))
    called, naive, found = 0, 0, 0
    runs = 40
    for _ in range(runs):
        for shares, counter in (([(0.5, 0.3, 0.2)] * len(days), "null"), (None, "shift")):
            if shares is None:
                shares = [(0.6, 0.24, 0.16) if r else (0.5, 0.3, 0.2) for r in recent]
            _daily_sessions(con, rng, days, shares, 40)
            table = alignment.share_shifts(con, "web_channel", AS_OF).table
            if counter == "null":
                called += bool((table["trend"] != "steady").any())
                p_naive = [
                    proportions_ztest([r, e], [table["recent"].sum(), table["earlier"].sum()])[1]
                    for r, e in zip(table["recent"], table["earlier"])
                ]
                naive += bool((multipletests(p_naive, method="holm")[1] < 0.05).any())
            else:
                found += table.set_index("value").loc["A", "trend"] == "rising"
    assert called / runs <= 0.10
    assert naive / runs >= 0.5  # what the test without the design effect would have said
    assert found / runs >= 0.9


# --- requests in review and survey text --------------------------------------------------------


@pytest.mark.parametrize(
    "text, thing",
    [
        ("Great espresso, wish you had oat milk for the cold brew too.", "oat milk"),
        ("Do you sell your beans by the bag?", "beans by the bag"),
        ("Friendly staff. Please add gluten-free pastries!", "gluten-free pastry"),
        ("Would love some vegan options and more seating", "vegan option"),
        ("If only they offered evening hours.", "evening hour"),
        ("Any plans to add a drive-through?", "drive-through"),
        ("It would be nice to have Wi-Fi", "wi-fi"),
        ("Okay service. Wish they did heat pumps.", "heat pump"),
    ],
)
def test_request_phrases_find_the_thing_asked_for(text, thing):
    assert [t for t, _ in alignment.find_requests(text)] == [thing]


@pytest.mark.parametrize(
    "text",
    ["Nice place, wish they opened earlier.", "Would love to come back.", "Great coffee, friendly staff."],
)
def test_no_request_where_nothing_is_asked_for(text):
    assert alignment.find_requests(text) == []


def test_quotes_mask_emails_phones_handles_and_names():
    text = (
        "Maria was lovely. Ask Tom: do you have oat milk? Mail me at jo.smith+cafe@example.com "
        "or call (555) 123-4567, @jojo says hi"
    )
    ((thing, quote),) = alignment.find_requests(text)
    assert thing == "oat milk"
    assert quote == "Ask [name]: do you have oat milk?"
    masked = alignment.mask_personal("Call 555-123-4567 or write jo@example.com, thanks Maria, @jojo")
    assert masked == "Call [phone] or write [e-mail], thanks [name], [name]"
    assert alignment.mask_personal("Wish you had Oatly on Sundays in May", keep="oatly") == (
        "Wish you had Oatly on Sundays in May"
    )


def test_text_requests_counts_texts_and_quotes_the_newest(rw):
    rw.executemany(
        "INSERT INTO feedback (feedback_id, submitted_at, text) VALUES (?, ?, ?)",
        [
            ("f1", "2026-05-01", "Wish you had oat milk."),
            ("f2", "2026-06-01", "Do you have oat milk? Do you have OAT MILK??"),  # one text, counted once
            ("f3", "2026-07-01", "Lovely. Please add oat milk, Sam!"),
            ("f4", "2026-07-02", "Please add a bigger table"),
            ("f5", "2026-07-03", "Great coffee."),
            ("f6", "2026-07-04", None),
            ("f7", "2026-11-02", "Wish you had cake"),  # after as_of
        ],
    )
    got, texts = alignment.text_requests(rw, AS_OF)
    assert texts == 5
    assert got["thing"].tolist() == ["oat milk", "bigger table"]
    assert got["requests"].tolist() == [3, 1]
    assert got["share_of_texts"].tolist() == pytest.approx([3 / 5, 1 / 5])
    assert got.loc[0, "quote"] == "Please add oat milk, [name]!"
    assert got.loc[0, "last_at"] == pd.Timestamp("2026-07-01")


def test_a_request_for_something_sold_names_what_is_sold(rw):
    rw.executemany(
        "INSERT INTO feedback (feedback_id, submitted_at, text) VALUES (?, ?, ?)",
        [
            ("f1", "2026-05-01", "Do you sell your beans by the bag?"),
            ("f2", "2026-05-02", "Wish you had oat milk."),
            ("f3", "2026-05-03", "Please add gift cards"),
            ("f4", "2026-05-04", "Do you have a bag for the kids?"),  # 'bag' alone names nothing
        ],
    )
    rw.executemany(
        "INSERT INTO orders (order_id, ordered_at, revenue) VALUES (?, ?, 10)",
        [("o1", "2026-04-01"), ("o2", "2026-04-02"), ("o3", "2026-04-03"), ("o4", "2026-12-01")],
    )
    rw.executemany(
        "INSERT INTO order_items (order_id, line_no, product) VALUES (?, ?, ?)",
        [
            ("o1", 1, "Whole Bean 12oz"),
            ("o2", 1, "Whole Bean 12oz"),
            ("o3", 1, "Bean Sprout Salad"),  # sold less: the best seller is named
            ("o4", 1, "Gift Card"),  # sold after as_of: not yet something the shop sold
        ],
    )
    rw.execute("INSERT INTO services (service, active) VALUES ('Oat milk latte', FALSE)")  # retired
    got, _ = alignment.text_requests(rw, AS_OF)
    assert dict(zip(got["thing"], got["sold_like"])) == {
        "beans by the bag": "Whole Bean 12oz",
        "oat milk": "",
        "gift card": "",
        "bag": "",
    }


# --- the notebook section ------------------------------------------------------------------------


@pytest.fixture
def shown(monkeypatch):
    import IPython.display

    out: list = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, metadata=None: out.append((obj, metadata)))
    return out


def test_a_shop_without_leads_gets_alignment_findings(client, shown):
    """The online store and the coffee shop got 'no leads imported': a shop with order channels and
    review requests gets a finding for each, and the chart carries the series the finding names."""
    from workbook.story import nb

    with store.write(client) as con:
        rows = [(f"e{i}", EARLIER_DAY, "web" if i < 90 else "pos") for i in range(100)]
        rows += [(f"r{i}", RECENT_DAY, "web" if i < 30 else "pos") for i in range(50)]
        con.executemany(
            "INSERT INTO orders (order_id, ordered_at, revenue, channel) VALUES (?, ?, 10, ?)", rows
        )
        con.execute(
            "INSERT INTO feedback (feedback_id, submitted_at, text) VALUES "
            "('f1', '2026-09-01', 'Wish you had oat milk'), ('f2', '2026-09-02', 'Nice')"
        )
    ctx = nb.open_context(client, as_of=AS_OF)
    try:
        improvement_delta.where_customers_come_from(ctx)
        improvement_delta.unmet_demand(ctx)
    finally:
        ctx.con.close()
    findings = [m["workbook"] for _, m in shown if m and "workbook" in m]
    shifts = {f["value"]: f for f in findings if f.get("dimension") == "order_channel"}
    assert {v: f["trend"] for v, f in shifts.items()} == {"pos": "rising", "web": "falling"}
    assert shifts["pos"]["finding"].startswith(
        "Sales channel pos: share of orders rose from 10.0% in the 22 weeks before"
    )
    (asked,) = [f for f in findings if "asked_for" in f]
    assert asked["asked_for"] == "oat milk" and "1 of 2 texts (50.0%)" in asked["finding"]
    charts = [obj for obj, _ in shown if hasattr(obj, "to_dict")]
    spec = charts[0].to_dict()
    assert {"pos", "web"} <= {row["value"] for row in spec["datasets"][spec["data"]["name"]]}
    said = " ".join(obj.data for obj, _ in shown if isinstance(getattr(obj, "data", None), str))
    assert "no leads" not in said.lower()
