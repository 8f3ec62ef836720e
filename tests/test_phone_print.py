"""Phone and print without a browser: which charts take their column's width, and `--pdf`'s
refusal without chromium. The pages in a real browser at 1280 and 390 px and the PDF itself:
tests/test_report_browser.py."""

from __future__ import annotations

import altair as alt
import pandas as pd

from workbook import cli
from workbook.delivery import pdf
from workbook.story import offline_charts

DATA = pd.DataFrame({"month": ["2026-01", "2026-02"], "revenue": [10.0, 12.0], "kind": ["a", "b"]})
FIT = {"width": "container", "autosize": {"type": "fit-x", "contains": "padding"}}


def test_single_and_layered_charts_take_their_columns_width():
    bar = alt.Chart(DATA).mark_bar().encode(x="month:O", y="revenue:Q").properties(width=480)
    for chart in (bar, bar + alt.Chart(DATA).mark_line().encode(x="month:O", y="revenue:Q")):
        spec = offline_charts.fit_width(chart.to_dict())
        assert {k: spec[k] for k in FIT} == FIT
        assert spec["$schema"] == chart.to_dict()["$schema"]  # the rest as it was


def test_grids_and_band_steps_keep_their_widths():
    base = alt.Chart(DATA).mark_bar().encode(x="month:O", y="revenue:Q")
    facet = base.properties(width=170).facet(facet="kind:N", columns=3).to_dict()
    concat = (base | base).to_dict()
    stepped = base.properties(width=alt.Step(30)).to_dict()
    for spec in (facet, concat, stepped):
        assert offline_charts.fit_width(spec) == spec


def test_embed_html_carries_the_fitted_spec():
    chart = alt.Chart(DATA).mark_bar().encode(x="month:O", y="revenue:Q")
    html = offline_charts.embed_html(chart.to_dict())["text/html"]
    assert '"width":"container"' in html and '"type":"fit-x"' in html


def test_pdf_without_chromium_is_one_line_before_anything_renders(home, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(pdf, "BROWSERS", ("no-such-browser-here",))
    out = tmp_path / "reports"
    assert cli.main(["report", "--all", "--pdf", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1
        and "--pdf needs the chromium browser" in err[0]
        and "apt-get install chromium" in err[0]
    )
    assert not out.exists()
