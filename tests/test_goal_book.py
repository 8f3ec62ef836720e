"""Stored goals: one per KPI and segment (saving again updates), edit, delete, the migration that
merges goals saved twice in older files, and `workbook goals` on the command line."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from _weekly_revenue import AS_OF, BASE, DEADLINE, FIRST, REVENUE, WEEKS

from workbook import cli, store
from workbook.analytics import goal_book, metrics
from workbook.analytics.goals import Goal
from workbook.core import paths
from workbook.core.dates import baseline_window
from workbook.core.errors import WorkbookError
from workbook.store.schema import MIGRATIONS


@pytest.fixture
def db(client, rw):
    """The test client's database path, its orders the weekly revenue line of test_goals (three
    customers taking turns, so that the customer KPIs exist too)."""
    rows = [
        (f"o{w}", f"c{w % 3}", FIRST + dt.timedelta(weeks=int(w), days=2), float(r))
        for w, r in zip(WEEKS, REVENUE)
    ]
    rw.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, revenue) VALUES (?, ?, ?, ?)", rows
    )
    rw.close()
    return paths.db_path(client)


def stored(db) -> list[Goal]:
    con = store.read(db_path=db)
    try:
        return goal_book.load_goals(con)
    finally:
        con.close()


def test_save_and_load_roundtrip(db):
    goal = Goal("revenue", "increase", target_change_pct=10, deadline=DEADLINE)
    saved = goal_book.save_goal(db, goal, AS_OF)
    assert not saved.updated
    (loaded,) = stored(db)
    assert loaded.goal_id == saved.goal_id
    assert (loaded.metric, loaded.target_change_pct, loaded.deadline) == ("revenue", 10.0, DEADLINE)
    # the baseline is the 12 complete weeks before as_of (hand-computed BASE)
    assert (loaded.baseline_start, loaded.baseline_end) == baseline_window(AS_OF)
    assert loaded.baseline_value == pytest.approx(BASE)


def test_saving_the_same_goal_twice_updates_it(db):
    first = goal_book.save_goal(db, Goal("revenue", "increase", target_value=250, deadline=DEADLINE), AS_OF)
    later = AS_OF + dt.timedelta(weeks=4)  # agreed again a month later: another baseline window
    again = goal_book.save_goal(
        db, Goal("revenue", "increase", target_value=270, deadline=DEADLINE, note="raised"), later
    )
    assert again == goal_book.Saved(first.goal_id, updated=True)
    (goal,) = stored(db)
    assert (goal.goal_id, goal.target_value, goal.note) == (first.goal_id, 270.0, "raised")
    # it keeps the baseline it was first agreed against
    assert goal.baseline_end == baseline_window(AS_OF)[1] and goal.baseline_value == pytest.approx(BASE)


def test_a_percent_target_saved_against_another_baseline_keeps_the_value_it_meant(db):
    goal_book.save_goal(db, Goal("revenue", "increase", target_value=250, deadline=DEADLINE), AS_OF)
    # +10% of a later baseline of 300 meant 330; measured from the stored baseline it would not
    goal_book.save_goal(
        db, Goal("revenue", "increase", target_change_pct=10, deadline=DEADLINE, baseline_value=300.0), AS_OF
    )
    (goal,) = stored(db)
    assert (goal.target_value, goal.target_change_pct) == (pytest.approx(330.0), None)
    assert goal.baseline_value == pytest.approx(BASE)


def test_one_goal_per_kpi_and_segment(db):
    saves = [
        goal_book.save_goal(
            db, Goal("revenue", "increase", target_value=t, deadline=DEADLINE, segment=s), AS_OF
        )
        for t, s in [(250, None), (260, "vip"), (270, "vip"), (280, None)]
    ]
    whole, vip = saves[0].goal_id, saves[1].goal_id
    assert whole != vip
    assert saves[2:] == [goal_book.Saved(vip, updated=True), goal_book.Saved(whole, updated=True)]
    assert [(g.goal_id, g.segment, g.target_value) for g in stored(db)] == [
        (whole, None, 280.0),
        (vip, "vip", 270.0),
    ]


def test_the_schema_refuses_a_second_goal_for_a_kpi(db):
    goal_book.save_goal(db, Goal("revenue", "increase", target_value=250, deadline=DEADLINE), AS_OF)
    with store.write(db_path=db) as con, pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO goals (metric, direction) VALUES ('revenue', 'decrease')")


@pytest.mark.parametrize(
    ("goal", "phrase"),
    [
        (
            Goal("repeat_purchase_rate", "increase", target_value=1.2, deadline=DEADLINE),
            "120.0% is impossible",
        ),
        (Goal("revenue", "decrease", target_value=-5, deadline=DEADLINE), "-5 is impossible"),
        (Goal("revenue", "increase", target_value=250, deadline=AS_OF - dt.timedelta(weeks=8)), "not after"),
    ],
)
def test_a_goal_the_data_could_not_judge_is_refused(db, goal, phrase):
    with pytest.raises(WorkbookError, match=phrase):
        goal_book.save_goal(db, goal, AS_OF)
    assert stored(db) == []


def test_edit_changes_the_target_and_deadline_and_keeps_the_baseline(db):
    saved = goal_book.save_goal(db, Goal("revenue", "increase", target_value=250, deadline=DEADLINE), AS_OF)
    later = dt.date(2027, 3, 31)
    goal_book.edit_goal(db, saved.goal_id, target="+20%", deadline=later)
    (goal,) = stored(db)
    assert (goal.target_value, goal.target_change_pct, goal.deadline) == (None, 20.0, later)
    assert goal.target() == pytest.approx(BASE * 1.2)  # measured from the baseline agreed first
    goal_book.edit_goal(db, saved.goal_id, target="300")
    assert [(g.target_value, g.target_change_pct) for g in stored(db)] == [(300.0, None)]


def test_edit_refuses_an_impossible_goal_and_changes_nothing(db):
    saved = goal_book.save_goal(db, Goal("revenue", "increase", target_value=250, deadline=DEADLINE), AS_OF)
    with pytest.raises(WorkbookError, match="flip the sign"):
        goal_book.edit_goal(db, saved.goal_id, target="-10%")
    with pytest.raises(WorkbookError, match="not after"):
        goal_book.edit_goal(db, saved.goal_id, deadline=dt.date(2026, 1, 1))
    assert [(g.target_value, g.deadline) for g in stored(db)] == [(250.0, DEADLINE)]


def test_delete_and_unknown_numbers(db):
    a = goal_book.save_goal(db, Goal("revenue", "increase", target_value=250, deadline=DEADLINE), AS_OF)
    b = goal_book.save_goal(db, Goal("aov", "increase", target_value=250, deadline=DEADLINE), AS_OF)
    gone = goal_book.delete_goal(db, a.goal_id)
    assert gone.metric == "revenue" and [g.goal_id for g in stored(db)] == [b.goal_id]
    with pytest.raises(WorkbookError, match=f"no goal {a.goal_id} .* numbered {b.goal_id}"):
        goal_book.delete_goal(db, a.goal_id)


@pytest.mark.parametrize(
    ("metric", "text", "expected"),
    [
        ("revenue", "1,200", {"target_value": 1200.0}),
        ("revenue", "+10%", {"target_change_pct": 10.0}),
        ("revenue", "- 15 %", {"target_change_pct": -15.0}),
        ("repeat_purchase_rate", "35%", {"target_value": 0.35}),
        ("repeat_purchase_rate", "+5%", {"target_change_pct": 5.0}),
        ("avg_rating", "4.8", {"target_value": 4.8}),
    ],
)
def test_parse_target(metric, text, expected):
    assert goal_book.parse_target(metrics.get(metric), text) == expected


@pytest.mark.parametrize(
    ("metric", "text", "phrase"),
    [
        ("repeat_purchase_rate", "0.35", "write its target with a % sign"),
        ("revenue", "35%", "not a percentage"),
        ("revenue", "lots", "not a number"),
    ],
)
def test_parse_target_refuses_what_it_could_misread(metric, text, phrase):
    with pytest.raises(WorkbookError, match=phrase):
        goal_book.parse_target(metrics.get(metric), text)


def test_migration_merges_goals_saved_twice_in_an_older_file(tmp_path):
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    store.migrate(con, MIGRATIONS[:5])  # as files were before goals had an identity
    con.execute(
        "INSERT INTO goals (metric, direction, baseline_value, baseline_end, target_value, "
        "target_change_pct, deadline, segment, note) VALUES "
        "('revenue', 'increase', 100, '2026-01-04', NULL, 10, '2026-03-31', NULL, 'first'), "
        "('aov', 'increase', 50, '2026-01-04', 60, NULL, '2026-03-31', NULL, 'only'), "
        "('revenue', 'increase', 120, '2026-02-01', NULL, 10, '2026-06-30', NULL, 'second'), "
        "('revenue', 'increase', 100, '2026-01-04', 140, NULL, '2026-04-30', 'vip', 'vip one'), "
        "('revenue', 'increase', 100, '2026-01-04', 150, NULL, '2026-05-31', 'vip', 'vip two')"
    )
    assert store.migrate(con) == list(range(6, len(MIGRATIONS) + 1))
    rows = con.execute(
        "SELECT goal_id, metric, segment, baseline_value, baseline_end, target_value, target_change_pct, "
        "deadline, note FROM goals ORDER BY goal_id"
    ).fetchall()
    d = dt.date.fromisoformat
    assert rows == [
        # the first save's number and baseline, the last save's target (+10% of 120 = 132) and deadline
        (1, "revenue", None, 100.0, d("2026-01-04"), pytest.approx(132.0), None, d("2026-06-30"), "second"),
        (2, "aov", None, 50.0, d("2026-01-04"), 60.0, None, d("2026-03-31"), "only"),
        (4, "revenue", "vip", 100.0, d("2026-01-04"), 150.0, None, d("2026-05-31"), "vip two"),
    ]
    # the new goal numbers go on from the old ones, and the identity holds from now on
    assert con.execute(
        "INSERT INTO goals (metric, direction) VALUES ('orders', 'increase') RETURNING goal_id"
    ).fetchone() == (6,)
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO goals (metric, direction, segment) VALUES ('revenue', 'increase', 'vip')")


# `workbook goals` through cli.main


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_cli_lists_goals_with_their_numbers(db, client, capsys):
    assert cli.main(["goals", client]) == 0
    assert "No goals saved for Test Shop yet" in capsys.readouterr().out
    a = goal_book.save_goal(db, Goal("revenue", "increase", target_change_pct=10, deadline=DEADLINE), AS_OF)
    b = goal_book.save_goal(
        db, Goal("repeat_purchase_rate", "increase", target_value=0.4, deadline=DEADLINE), AS_OF
    )
    assert cli.main(["goals", client]) == 0
    out = capsys.readouterr().out
    assert f"  {a.goal_id}. Increase revenue per week by 10% (to ${BASE * 1.1:,.2f}) by 27 Sep 2026" in out
    assert f"from a baseline of ${BASE:,.2f} (06 Apr 2026 to 28 Jun 2026)" in out
    assert f"  {b.goal_id}. Increase repeat purchase rate to 40.0% by 27 Sep 2026" in out


def test_cli_edits_a_goal(db, client, capsys):
    saved = goal_book.save_goal(db, Goal("revenue", "increase", target_value=250, deadline=DEADLINE), AS_OF)
    n = str(saved.goal_id)
    assert cli.main(["goals", client, "--edit", n, "--target", "1,200", "--deadline", "2027-03-31"]) == 0
    assert "is now: Increase revenue per week to $1,200 by 31 Mar 2027." in capsys.readouterr().out
    assert cli.main(["goals", client, "--edit", n, "--target=-15%", "--direction", "decrease"]) == 0
    (goal,) = stored(db)
    assert (goal.direction, goal.target_value, goal.target_change_pct) == ("decrease", None, -15.0)
    assert goal.deadline == dt.date(2027, 3, 31) and goal.baseline_value == pytest.approx(BASE)


def test_cli_deletes_a_goal(db, client, capsys):
    saved = goal_book.save_goal(db, Goal("revenue", "increase", target_value=250, deadline=DEADLINE), AS_OF)
    assert cli.main(["goals", client, "--delete", str(saved.goal_id)]) == 0
    assert f"Deleted goal {saved.goal_id} of Test Shop: Increase revenue" in capsys.readouterr().out
    assert stored(db) == []


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (["--edit", "99", "--target", "300"], "There is no goal 99 for this client: its goals are numbered"),
        (["--delete", "99"], "There is no goal 99"),
        (["--target", "300"], "--target change a goal: say which with --edit N"),
        (["--delete", "{n}", "--deadline", "2027-01-01"], "--deadline change a goal"),
        (["--edit", "{n}"], "Say what to change in goal"),
        (["--edit", "{n}", "--deadline", "31/03/2027"], "write it as YYYY-MM-DD"),
        (["--edit", "{n}", "--target", "lots"], "is not a number"),
        (["--edit", "{n}", "--target", "-300"], "-300 is impossible"),
    ],
)
def test_cli_mistakes_are_one_line_and_change_nothing(argv, phrase, db, client, capsys):
    saved = goal_book.save_goal(db, Goal("revenue", "increase", target_value=250, deadline=DEADLINE), AS_OF)
    assert cli.main(["goals", client, *(a.format(n=saved.goal_id) for a in argv)]) == 2
    assert phrase in one_error_line(capsys)
    assert [(g.goal_id, g.target_value, g.deadline) for g in stored(db)] == [(saved.goal_id, 250.0, DEADLINE)]


def test_cli_on_an_unknown_client_says_how_to_create_it(home, capsys):
    assert cli.main(["goals", "nobody"]) == 2
    assert "workbook init nobody" in one_error_line(capsys)
