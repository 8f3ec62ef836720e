"""Batch reports: files, failures kept and named, atomic replacement, offline pages, no PII.

The renders themselves run once per session (see render_fixtures.py); the browser checks are
in test_report_browser.py.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import altair as alt
import nbformat
import pytest
from markupsafe import escape

from workbook import store
from workbook.core import paths
from workbook.delivery import batch, execute
from workbook.delivery import html as html_pages
from workbook.delivery import index as index_pages
from workbook.story import nb, offline_charts

# Markup that would make a browser fetch from elsewhere: script/link/img/iframe sources, CSS
# imports and url()s that are not data: URIs or in-page anchors. (What scripts fetch is
# checked in a real browser: test_report_browser.py.)
EXTERNAL = re.compile(
    r"""<(?:script|link|img|iframe|source|video|audio)\b[^>]*\b(?:src|href)\s*=\s*["']?(?!data:|#)"""
    r"""|@import|url\(\s*["']?(?!data:|#)""",
    re.I,
)
SCRIPT_BODY = re.compile(r"(<script\b[^>]*>).*?(</script>)", re.S | re.I)


def external_loads(html: str) -> list[str]:
    return EXTERNAL.findall(SCRIPT_BODY.sub(r"\1\2", html))


def client_folder(out: Path, client: str) -> Path:
    (folder,) = [p for p in (out / client).iterdir() if index_pages.DATE_FOLDER.match(p.name)]
    return folder


def facts(out: Path, client: str) -> dict:
    return json.loads((client_folder(out, client) / index_pages.REPORT_JSON).read_text())


# ---------------------------------------------------------------------------- probe batch


@pytest.mark.slow
def test_batch_exits_non_zero_and_the_summary_names_each_failure(probe_reports):
    log = probe_reports.log
    assert probe_reports.code == 1
    summary = log[log.index("Done in") :]
    assert re.search(r"broken-shop\s+FAILED", summary)
    assert "the database could not be opened" in summary
    assert re.search(r"test-shop\s+FAILED", summary)
    assert "02_fails: ValueError: planted failure" in summary
    assert re.search(r"good-shop\s+ok", summary)
    # progress: which client and notebook runs, and how many of the 6 are done
    assert re.search(r"good-shop\s+01_probe\s+running", log)
    assert "[6/6]" in log


@pytest.mark.slow
def test_healthy_client_renders_every_file_beside_a_broken_one(probe_reports):
    folder = client_folder(probe_reports.out, "good-shop")
    assert folder.name == probe_reports.as_of  # the client's latest activity
    names = {p.name for p in folder.iterdir()}
    assert names == {
        "01_probe.html",
        "01_probe.ipynb",
        "02_fails.html",
        "02_fails.ipynb",
        "index.html",
        "report.json",
    }
    report = facts(probe_reports.out, "good-shop")
    assert report["ok"] and [n["ok"] for n in report["notebooks"]] == [True, True]
    executed = nbformat.read(folder / "01_probe.ipynb", as_version=4)
    parameters = executed.metadata.papermill.parameters
    assert (parameters["client"], parameters["as_of"]) == ("good-shop", probe_reports.as_of)
    # every page read the render's snapshot, named without this machine's folders
    assert re.fullmatch(
        r"\$WORKBOOK_HOME/good-shop/workbook-snapshot-\d+-\w+/workbook\.duckdb", parameters["db_path"]
    )
    # two kernels at once (--jobs 2) share the cores: DuckDB gets half of them in each
    printed = "".join(
        o.text for c in executed.cells for o in c.get("outputs", []) if o.output_type == "stream"
    )
    assert f"DuckDB threads: {max(1, (os.cpu_count() or 1) // 2)}" in printed
    assert not (probe_reports.out / "broken-shop").exists()


@pytest.mark.slow
def test_failed_notebook_is_kept_with_its_error_and_marked(probe_reports):
    folder = client_folder(probe_reports.out, "test-shop")
    report = facts(probe_reports.out, "test-shop")
    assert not report["ok"]
    by_name = {n["notebook"]: n for n in report["notebooks"]}
    assert by_name["01_probe"]["ok"]
    assert by_name["02_fails"] == {**by_name["02_fails"], "ok": False, "error": "ValueError: planted failure"}
    executed = nbformat.read(folder / "02_fails.ipynb", as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert [e.ename for e in errors] == ["ValueError"]
    page = (folder / "02_fails.html").read_text()
    assert "This report is incomplete" in page and "planted failure" in page
    assert "This section renders." in page
    assert 'id="wb-error"' in page and "An Exception was encountered" not in page
    index = (folder / "index.html").read_text()
    assert "Some reports are incomplete" in index and 'href="02_fails.ipynb"' in index


@pytest.mark.slow
def test_client_index_shows_goals_findings_and_links(probe_reports):
    folder = client_folder(probe_reports.out, "good-shop")
    index = (folder / "index.html").read_text()
    assert "Good Shop" in index and "27 October 2026" in index
    card = re.search(r'<div class="wb-card">(.*?)</div>', index, re.S).group(1)
    assert "Revenue" in card and 'wb-badge good">on track' in card
    assert "Revenue was 2,970 over 10 months." in card
    assert "<li>The probe drew two charts.</li>" in index
    for href in re.findall(r'href="([^"#]+)"', index):
        assert (folder / href).resolve().exists(), href


@pytest.mark.slow
def test_batch_index_lists_every_client_with_its_status(probe_reports):
    index = (probe_reports.out / "index.html").read_text()
    rows = dict(re.findall(r"<h3>(?:<a [^>]*>)?([^<]+)(?:</a>)?</h3>(.*?)</div>", index, re.S))
    assert set(rows) == {"Broken Shop", "Good Shop", "Test Shop"}
    assert "complete" in rows["Good Shop"]
    assert "failed" in rows["Test Shop"] and "planted failure" in rows["Test Shop"]
    assert "failed" in rows["Broken Shop"] and "could not be opened" in rows["Broken Shop"]
    for href in re.findall(r'href="([^"#]+)"', index):
        assert (probe_reports.out / href).exists(), href


@pytest.mark.slow
def test_batch_index_keeps_clients_rendered_by_earlier_batches(probe_reports, tmp_path):
    out = tmp_path / "reports"
    shutil.copytree(probe_reports.out, out)
    index = index_pages.write_batch_index(out, []).read_text()  # a batch that rendered nobody
    rows = dict(re.findall(r"<h3>(?:<a [^>]*>)?([^<]+)(?:</a>)?</h3>(.*?)</div>", index, re.S))
    assert set(rows) == {"Good Shop", "Test Shop"}  # the broken one never had a report
    assert "complete" in rows["Good Shop"] and "planted failure" in rows["Test Shop"]
    assert 'wb-badge good">on track' in rows["Good Shop"]


@pytest.mark.slow
def test_nothing_temporary_is_left_behind(probe_reports):
    leftovers = [p for p in probe_reports.out.rglob("*") if p.name.startswith(".")]
    assert leftovers == []
    # the snapshots of the rendered clients, and of the one whose database is broken
    assert sorted(str(p.relative_to(probe_reports.home)) for p in probe_reports.home.glob("*/*")) == sorted(
        f"{slug}/{name}"
        for slug in ("broken-shop", "good-shop", "test-shop")
        for name in ("client.toml", "salt.secret", "workbook.duckdb")
    )


@pytest.mark.slow
def test_report_page_is_self_contained_with_header_and_contents(probe_reports):
    page_path = client_folder(probe_reports.out, "good-shop") / "01_probe.html"
    page = page_path.read_text()
    assert external_loads(page) == []
    for cdn_thing in ("require.js", "requirejs", "MathJax", "mermaid", "jupyter-widgets", "cdn."):
        assert cdn_thing not in page
    assert page.count("window.vegaEmbed=") == 1  # the bundle, once
    assert page.count('class="wb-chart"') == 2
    header = page[page.index('<header class="wb-bar">') : page.index("</header>")]
    assert "Good Shop" in header and "27 October 2026" in header
    toc = re.search(r'<nav[^>]*class="wb-toc".*?</nav>', page, re.S).group()
    assert re.findall(r'href="#([^"]+)"', toc) == ["Sales-by-month", "The-table"]
    assert 'id="Sales-by-month"' in page
    assert "client = " not in page  # code is hidden
    assert "probe warning on stderr" not in page  # stderr noise stays in the .ipynb only
    assert "probe warning on stderr" in (page_path.parent / "01_probe.ipynb").read_text()
    assert "In&nbsp;[" not in page and "Out[" not in page


@pytest.mark.slow
def test_no_secret_or_machine_path_in_any_output(probe_reports):
    salts = [p.read_text().strip() for p in probe_reports.home.glob("*/salt.secret")]
    assert len(salts) == 3
    leaks = [
        str(probe_reports.home),
        str(probe_reports.out),
        str(paths.project_root()),
        f"{Path.home()}/",
        *salts,
    ]
    for file in probe_reports.out.rglob("*"):
        if file.is_file():
            text = file.read_text()
            assert [leak for leak in leaks if leak in text] == [], file


# ---------------------------------------------------------------------------- sample clients


def pii_values(sample: Path) -> set[str]:
    """Raw emails, phones and full names in the sample exports (what must never be shown)."""
    found: set[str] = set()
    person = re.compile(
        r"e-?mail|phone|^name$|billing name|shipping name|customer name|"
        r"customer description|full name|display ?name|reviewer",
        re.I,
    )

    def keep(value) -> None:
        text = str(value or "").strip().lstrip("'")
        if len(text) >= 6 and not text.startswith("#"):
            found.add(text)

    for file in sample.rglob("*.csv"):
        lines = [ln for ln in file.read_text(encoding="utf-8-sig").splitlines() if not ln.startswith("#")]
        for row in csv.DictReader(lines):
            for column, value in row.items():
                if column and person.search(column.strip()):
                    keep(value)
            if row.get("First Name") and row.get("Last Name"):
                keep(f"{row['First Name']} {row['Last Name']}")

    def walk(node, key="") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif person.search(key):
            keep(node)

    for file in sample.rglob("*.json"):
        walk(json.loads(file.read_text(encoding="utf-8")))
    return found


@pytest.mark.slow
def test_sample_clients_render_every_file(sample_reports):
    assert sample_reports.code == 0, sample_reports.log
    notebooks = sorted(p.stem for p in paths.notebooks_dir().glob("*.ipynb"))
    for client in ["coffee-shop", "online-store", "home-services"]:
        folder = sample_reports.out / client / sample_reports.as_of
        expected = {f"{n}.{ext}" for n in notebooks for ext in ("html", "ipynb")}
        assert expected | {"index.html", "report.json"} == {p.name for p in folder.iterdir()}
        report = json.loads((folder / index_pages.REPORT_JSON).read_text())
        assert report["ok"], client
        findings = [f["finding"] for n in report["notebooks"] for f in n["findings"]]
        index = (folder / "index.html").read_text()
        assert findings and all(escape(f) in index for f in findings), client


def pii_hits(text: str, pii: set[str]) -> set[str]:
    """The values of `pii` that occur in `text`: emails, phones (any punctuation), full names.

    Candidates are pulled from the text (email-shaped strings, digit runs, pairs of capitalised
    words) and looked up, which is fast on 1 MB pages where 18,000 substring searches are not.
    """
    emails = set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text))
    names = set(re.findall(r"(?=\b([A-Z][\w'-]+ [A-Z][\w'-]*\.?))", text))
    hits = (emails | names) & pii
    phones = {re.sub(r"\D", "", v)[-10:] for v in pii if sum(c.isdigit() for c in v) >= 10}
    for run in re.findall(r"[\d()+. -]{10,}", text):
        digits = re.sub(r"\D", "", run)
        hits |= {digits[i : i + 10] for i in range(len(digits) - 9)} & phones
    return hits


def test_pii_scan_finds_planted_values():
    pii = {"ana.lopez12@example.com", "(231) 555-0101", "+12345550185", "Ana Lopez", "Grace R."}
    page = (
        "<td>ana.lopez12@example.com</td> call 231.555.0101 or +1 (234) 555-0185; "
        "<b>Ana Lopez</b> and Grace R. wrote"
    )
    assert pii_hits(page, pii) == {
        "ana.lopez12@example.com",
        "2315550101",
        "2345550185",
        "Ana Lopez",
        "Grace R.",
    }
    assert pii_hits("customer c_9f2e41 spent $1,234,567.00 on 2026-10-31", pii) == set()


@pytest.mark.slow
def test_no_raw_pii_from_the_sample_exports_in_any_report(sample_reports):
    pii = pii_values(paths.sample_dir())
    assert len([v for v in pii if "@" in v]) > 50  # the scan has something to find
    for page in sample_reports.out.rglob("*.html"):
        hits = pii_hits(page.read_text(), pii)
        assert hits == set(), (page, sorted(hits)[:5])


@pytest.mark.slow
def test_sample_outputs_are_self_contained_without_secrets_or_paths(sample_reports):
    salts = [p.read_text().strip() for p in sample_reports.home.glob("*/salt.secret")]
    leaks = [str(sample_reports.home), str(sample_reports.out), f"{Path.home()}/", *salts]
    assert len(salts) == 3
    for file in sample_reports.out.rglob("*.*"):
        text = file.read_text()
        assert [leak for leak in leaks if leak in text] == [], file
        if file.suffix == ".html":
            assert external_loads(text) == [], file
            assert text.count("window.vegaEmbed=") <= 1, file


# ---------------------------------------------------------------------------- units


def test_chart_output_only_calls_the_page_bundle_and_escapes_the_spec():
    bundle = offline_charts.embed_html({"title": "</script><script>alert(1)</script>"})
    html = bundle["text/html"]
    assert list(bundle) == ["text/html"]
    assert html.count("<script") == 1 and html.count("</script>") == 1
    assert "vegaEmbed(el, " in html and "\\u003c/script\\u003e" in html
    assert '"renderer":"svg"' in html and '"actions":false' in html
    assert "http" not in html


def test_setup_keeps_altair_renderer_live_and_goes_offline_when_rendering(monkeypatch):
    before = alt.renderers.active
    try:
        monkeypatch.delenv(offline_charts.RENDER_ENV, raising=False)
        nb.setup()
        assert alt.renderers.active == before != offline_charts.RENDERER
        monkeypatch.setenv(offline_charts.RENDER_ENV, offline_charts.OFFLINE)
        nb.setup()
        assert alt.renderers.active == offline_charts.RENDERER
        chart = alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
        assert "vegaEmbed(el, " in chart._repr_mimebundle_()["text/html"]
    finally:
        alt.renderers.enable(before)
        alt.theme.enable("default")


def test_table_of_contents_lists_h2_headings_in_order():
    html = (
        '<nav><!--WORKBOOK-TOC--></nav><h1 id="T">T</h1><h2 id="Sales-&amp;-margin">Sales '
        '&amp; margin<a class="anchor-link" href="#Sales-&amp;-margin">¶</a></h2><h2 id="B">B</h2>'
    )
    out = html_pages._with_toc(html)
    assert out.startswith(
        '<nav><ol><li><a href="#Sales-&amp;-margin">Sales &amp; margin</a></li>'
        '<li><a href="#B">B</a></li></ol></nav>'
    )


@pytest.mark.parametrize(
    "status, tone",
    [
        ("on track", "good"),
        ("at risk", "warn"),
        ("off track", "bad"),
        ("not enough data", "neutral"),
        ("undefined", "neutral"),
    ],
)
def test_goal_status_tones(status, tone):
    assert index_pages.status_tone(status) == tone


def test_paths_of_this_machine_are_scrubbed(home):
    text = f"File {home}/shop/workbook.duckdb, {paths.project_root()}/workbook/nb.py, {Path.home()}/x"
    scrubbed = html_pages.scrub_paths(text)
    assert scrubbed == "File $WORKBOOK_HOME/shop/workbook.duckdb, …/workbook/nb.py, ~/x"


def test_a_crash_keeps_the_previous_report_and_leaves_no_temporary_folder(rw, tmp_path, monkeypatch):
    rw.execute("INSERT INTO orders (order_id, ordered_at, revenue) VALUES ('o1', '2026-03-02', 10)")
    rw.close()
    previous = tmp_path / "test-shop" / "2026-03-02"
    previous.mkdir(parents=True)
    (previous / "index.html").write_text("last month's report")
    notebooks = tmp_path / "nbs"
    notebooks.mkdir()
    (notebooks / "01_x.ipynb").write_text("{}")

    def fake_run(notebook, folder, *args):
        (folder / "01_x.html").write_text("half")
        return execute.NotebookResult("01_x", "X", True, 0.0)

    def crash(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(execute, "run_notebook", fake_run)
    monkeypatch.setattr(index_pages, "write_client_index", crash)
    with pytest.raises(RuntimeError):
        batch.render_client("test-shop", None, tmp_path, notebooks_dir=notebooks)
    assert [p.name for p in (tmp_path / "test-shop").iterdir()] == ["2026-03-02"]
    assert [p.name for p in previous.iterdir()] == ["index.html"]
    assert (previous / "index.html").read_text() == "last month's report"


def test_replacing_a_report_swaps_the_whole_folder(tmp_path):
    final, new = tmp_path / "2026-10-31", tmp_path / ".tmp-new"
    final.mkdir()
    (final / "stale.html").write_text("old")
    new.mkdir()
    (new / "index.html").write_text("new")
    batch._move_into_place(new, final)
    assert [p.name for p in tmp_path.iterdir()] == ["2026-10-31"]
    assert [p.name for p in final.iterdir()] == ["index.html"]


def test_a_malformed_date_stops_the_command_before_anything_runs(client, tmp_path, capsys):
    from workbook import cli

    out = tmp_path / "reports"
    assert cli.main(["report", client, "--as-of", "2026-13-01", "--out", str(out)]) == 2
    assert "as_of '2026-13-01' is not a date" in capsys.readouterr().err
    assert not out.exists()


def test_an_unknown_client_fails_alone_and_is_named(home, tmp_path):
    lines: list[str] = []
    result = batch.run_batch(["nobody"], None, 1, tmp_path, echo=lines.append)
    assert not result.ok
    assert result.reports[0].failures == [result.reports[0].error]
    assert "No client 'nobody'" in "\n".join(lines)
    assert "No client" in (tmp_path / "index.html").read_text()


def test_readers_copy_keeps_one_title_and_drops_developer_noise():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    header = code(
        "nb.header(ctx, 'Sales')",
        outputs=[
            nbformat.v4.new_output(
                "display_data", {"text/markdown": "# Sales\n\n**Shop** · data as of **1 May 2026**"}
            )
        ],
    )
    warning = nbformat.v4.new_output("stream", name="stderr", text="FutureWarning: ...")
    printed = nbformat.v4.new_output("stream", name="stdout", text="42 orders")
    papermill_note = md("An Exception was encountered", metadata={"tags": [html_pages.PAPERMILL_ERROR_TAG]})
    nb_ = nbformat.v4.new_notebook(
        cells=[
            papermill_note,
            md("# Sales\n\nWhat sold, and where."),
            code("x = 1"),
            header,
            code("f()", outputs=[warning, printed]),
        ]
    )
    cells = html_pages._for_readers(nb_).cells
    assert [c.source for c in cells] == ["x = 1", "nb.header(ctx, 'Sales')", "\nWhat sold, and where.", "f()"]
    assert [o.text for o in cells[-1].outputs] == ["42 orders"]
    assert len(nb_.cells) == 5  # the executed notebook itself is untouched


# ---------------------------------------------------------------------------- one state per report


def _counting_notebook(title: str) -> nbformat.NotebookNode:
    """A page that says how many orders it read, and for which date."""
    page = nbformat.v4.new_notebook()
    page.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    page.cells = [
        nbformat.v4.new_markdown_cell(f"# {title}"),
        nbformat.v4.new_code_cell(
            'client = "test-shop"\ndb_path = None\nas_of = None', metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_code_cell(
            "from workbook.story import nb\n"
            "ctx = nb.open_context(client, db_path, as_of)\n"
            "n = ctx.con.execute('SELECT count(*) FROM orders').fetchone()[0]\n"
            "nb.finding(f'{n} orders', orders=n, as_of=str(ctx.as_of), name=ctx.name)"
        ),
    ]
    return page


def _insert_order(slug: str, order_id: str, day: str) -> None:
    with store.write(slug) as con:
        con.execute(
            "INSERT INTO orders (order_id, ordered_at, revenue) VALUES ($id, $day, 10)",
            {"id": order_id, "day": day},
        )


def _orders_in(slug: str) -> int:
    con = store.read(slug)
    try:
        return store.scalar(con, "SELECT count(*) FROM orders")
    finally:
        con.close()


@pytest.mark.slow
def test_every_page_reads_the_state_the_report_began_with_while_imports_commit(
    client, home, tmp_path, monkeypatch
):
    for i in range(30):
        _insert_order(client, f"o{i}", f"2026-03-{i % 28 + 1:02d}")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for stem in ("01_count", "02_count", "03_count"):
        nbformat.write(_counting_notebook(stem), notebooks / f"{stem}.ipynb")
    run = execute.run_notebook

    def run_then_import(notebook, folder, parameters, env, page):
        result = run(notebook, folder, parameters, env, page)
        _insert_order(client, f"late-{notebook.stem}", "2026-04-15")  # an import commits between pages
        return result

    monkeypatch.setattr(execute, "run_notebook", run_then_import)
    report = batch.render_client(client, None, tmp_path / "reports", notebooks_dir=notebooks)
    assert report.ok, report.failures
    facts = [(f["orders"], f["as_of"], f["name"]) for n in report.notebooks for f in n.findings]
    assert facts == [(30, "2026-03-28", "Test Shop")] * 3
    assert _orders_in(client) == 33  # the imports did commit, while the report read its snapshot
    assert sorted(p.name for p in (home / client).iterdir()) == [
        "client.toml",
        "salt.secret",
        "workbook.duckdb",
    ]
    footer = (report.folder / "01_count.html").read_text()
    assert re.search(
        r"data as of 28 March 2026 · read from the database on \d+ \w+ \d{4} at \d\d:\d\d", footer
    )


def test_the_snapshot_is_private_while_read_and_removed_after_a_ctrl_c(
    rw, client, home, tmp_path, monkeypatch
):
    rw.execute("INSERT INTO orders (order_id, ordered_at, revenue) VALUES ('o1', '2026-03-02', 10)")
    rw.close()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = home / client / f"workbook-snapshot-{gone.pid}-killed"  # what a killed render left
    stale.mkdir()
    notebooks = tmp_path / "nbs"
    notebooks.mkdir()
    (notebooks / "01_x.ipynb").write_text("{}")
    seen = []

    def interrupted(notebook, folder, parameters, *args):
        db = Path(parameters["db_path"])
        seen.append((db.parent.parent, db.parent.name, stat.S_IMODE(db.parent.stat().st_mode), db.exists()))
        raise KeyboardInterrupt

    monkeypatch.setattr(execute, "run_notebook", interrupted)
    with pytest.raises(KeyboardInterrupt):
        batch.render_client(client, None, tmp_path / "reports", notebooks_dir=notebooks)
    ((where, name, mode, exists),) = seen
    assert (where, mode, exists) == (home / client, 0o700, True)
    assert name.startswith(f"workbook-snapshot-{os.getpid()}-")
    assert sorted(p.name for p in (home / client).iterdir()) == [
        "client.toml",
        "salt.secret",
        "workbook.duckdb",
    ]
