"""The reports in a real headless browser (Debian's chromium) with the network cut off.

Each page is opened with name resolution disabled and every request forced through a local
proxy that this test runs: a page request that leaves the file shows up there as a
connection. Then the DOM after scripts ran (`--dump-dom`) must hold one drawn SVG per chart.

Chromium itself contacts a few Google services at start-up (component updates, sign-in)
whatever page it opens, even with the background-networking switches. Those hosts (BROWSER_OWN,
plus whatever it contacts while showing an empty page in this session) are not held against
the page. `test_the_proxy_sees_a_page_that_loads_from_a_cdn` shows that a page's own request
is caught.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pypdf
import pytest

from workbook import cli
from workbook.core import paths
from workbook.delivery import pdf
from workbook.delivery.pdf import SWITCHES, chromium

CHROMIUM = chromium()
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium is not installed: `make test` installs it (Makefile "
        "target `browser`, apt-get install chromium)",
    ),
]

BROWSER_OWN = {
    "update.googleapis.com",
    "accounts.google.com",
    "clients2.google.com",
    "optimizationguide-pa.googleapis.com",
    "content-autofill.googleapis.com",
}
WIDTHS = (1280, 390)  # a laptop and a phone, in CSS px
MARKS = re.compile(r'<svg\b[^>]*class="marks"')
SCRIPT_BODY = re.compile(r"<script\b.*?</script>", re.S | re.I)


class CountingProxy:
    """A local 'proxy' that accepts connections and records the host each one asked for."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.hosts: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    head = conn.recv(4096).decode("latin-1")
                except OSError:
                    head = ""
                match = re.match(r"\S+ (?:https?://)?([^/:\s]+)", head)
                self.hosts.append(match.group(1) if match else "?")

    def page_requests(self, browser_own: set[str]) -> list[str]:
        return [h for h in self.hosts if h not in browser_own]

    def close(self):
        self.server.close()


@pytest.fixture
def proxy():
    p = CountingProxy()
    yield p
    p.close()


@pytest.fixture(scope="session")
def browser_own(tmp_path_factory):
    """Hosts chromium contacts on its own: BROWSER_OWN and those seen for an empty page."""
    page = tmp_path_factory.mktemp("blank") / "blank.html"
    page.write_text("<!DOCTYPE html><title>blank</title>")
    baseline = CountingProxy()
    try:
        open_page(page, baseline)
    finally:
        baseline.close()
    return BROWSER_OWN | set(baseline.hosts)


def open_page(page: Path, proxy: CountingProxy, width: int = WIDTHS[0]) -> str:
    """The DOM of `page` after its scripts ran, from a fresh profile, network cut off, in a
    window `width` CSS px wide."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                CHROMIUM,
                *SWITCHES,
                f"--window-size={width},900",
                "--hide-scrollbars",  # as on a phone: the viewport is the window's whole width
                f"--user-data-dir={profile}",
                f"--proxy-server=http://127.0.0.1:{proxy.port}",
                "--proxy-bypass-list=<-loopback>",
                "--dump-dom",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


# Appended to a copy of a page: once its charts are drawn, sends what the layout check needs to
# the frame around it, as JSON: the page's scroll width and the viewport's, the charts
# (div.wb-chart) and those drawn (an SVG of marks inside), elements whose content overflows a box
# that scrolls or hides it, chart text outside the viewport or cut short by Vega ("Jan 202…"; a
# lone "…" marks a cohort's period in progress), and the smallest chart text as drawn (its font
# size times the SVG's scale).
LAYOUT_PROBE = """<script>window.addEventListener("load", function () { setTimeout(function () {
  var root = document.documentElement, vw = root.clientWidth, out = {scroll: root.scrollWidth,
    viewport: vw, charts: 0, drawn: 0, clipped: [], outside: [], cut: [], smallest: 1000};
  function name(el) { return el.tagName + "." + el.className + " " + el.textContent.slice(0, 40); }
  document.querySelectorAll("body *").forEach(function (el) {
    var x = getComputedStyle(el).overflowX;
    if (x !== "visible" && el.scrollWidth > el.clientWidth + 1) out.clipped.push(name(el));
  });
  document.querySelectorAll("div.wb-chart").forEach(function (chart) {
    out.charts += 1;
    var svg = chart.querySelector("svg.marks");
    if (!svg) return;
    out.drawn += 1;
    var scale = svg.getBoundingClientRect().width / svg.width.baseVal.value;
    svg.querySelectorAll("text").forEach(function (t) {
      var box = t.getBoundingClientRect(), text = t.textContent;
      if (!box.width || !text.trim()) return;
      if (box.left < -1 || box.right > vw + 1) out.outside.push(text);
      if (/.\u2026$/.test(text)) out.cut.push(text);
      out.smallest = Math.min(out.smallest, parseFloat(getComputedStyle(t).fontSize) * scale);
    });
  });
  parent.postMessage(JSON.stringify(out), "*");
}, 3000); });</script>"""
# Chromium's headless window is at least 500 px wide, so a phone's 390 px is a frame that wide
FRAME = """<!DOCTYPE html><body style="margin:0">
<iframe src="{page}" style="border:0;width:{width}px;height:900px"></iframe>
<script>window.addEventListener("message", function (e) {{
  var pre = document.createElement("pre"); pre.id = "wb-layout"; pre.textContent = e.data;
  document.body.appendChild(pre); }});</script></body>"""
LAYOUT = re.compile(r'<pre id="wb-layout">(.*?)</pre>', re.S)
SMALLEST_TEXT = 8  # px: chart text drawn smaller than this is unreadable (the issue saw about 6)


def layout(page: Path, proxy: CountingProxy, width: int, folder: Path) -> dict:
    """What LAYOUT_PROBE reports for `page` (a copy in `folder`) in a frame `width` px wide."""
    source = page.read_text(encoding="utf-8")
    end = source.rindex("</body>")
    copy = folder / f"{width}-{page.name}"
    copy.write_text(source[:end] + LAYOUT_PROBE + source[end:], encoding="utf-8")
    frame = folder / f"frame-{width}-{page.name}"
    frame.write_text(FRAME.format(page=copy.name, width=width), encoding="utf-8")
    dom = open_page(frame, proxy, max(WIDTHS) + 100)
    return json.loads(html.unescape(LAYOUT.search(dom).group(1)))


def check_layout(page: Path, proxy: CountingProxy, folder: Path) -> int:
    """At every width in WIDTHS: nothing scrolls sideways, every chart drawn, nothing clipped,
    chart text readable. Returns the charts drawn at the widest."""
    drawn = []
    for width in WIDTHS:
        seen = layout(page, proxy, width, folder)
        where = f"{page} at {width} px"
        assert seen["viewport"] == width, where
        assert seen["scroll"] <= width, where
        assert seen["drawn"] == seen["charts"], where
        assert seen["clipped"] == [] and seen["outside"] == [] and seen["cut"] == [], (where, seen)
        assert seen["charts"] == 0 or seen["smallest"] >= SMALLEST_TEXT, (where, seen["smallest"])
        drawn.append(seen["drawn"])
    return drawn[0]


def check_pages(out: Path, proxy: CountingProxy, browser_own: set[str], folder: Path) -> int:
    """Every report page draws all its charts, fits a laptop and a phone, and requests nothing;
    returns the charts drawn."""
    drawn = 0
    for facts_file in sorted(out.glob("*/*/report.json")):
        facts = json.loads(facts_file.read_text())
        for notebook in facts["notebooks"]:
            page = facts_file.parent / notebook["html"]
            assert check_layout(page, proxy, folder) == notebook["charts"], page
            text = SCRIPT_BODY.sub("", open_page(page, proxy))
            assert "could not be drawn" not in text and "draws in the HTML report" not in text, page
            drawn += notebook["charts"]
        check_layout(facts_file.parent / "index.html", proxy, folder)
    check_layout(out / "index.html", proxy, folder)
    assert proxy.page_requests(browser_own) == []
    return drawn


def test_the_proxy_sees_a_page_that_loads_from_a_cdn(tmp_path, proxy, browser_own):
    page = tmp_path / "cdn.html"
    page.write_text(
        '<html><head><script src="https://cdn.jsdelivr.net/npm/vega@5"></script>'
        '</head><body><img src="http://example.com/a.png"></body></html>'
    )
    open_page(page, proxy)
    assert {"cdn.jsdelivr.net", "example.com"} <= set(proxy.page_requests(browser_own))


def test_probe_reports_draw_every_chart_offline(probe_reports, proxy, browser_own, tmp_path):
    assert (
        check_pages(probe_reports.out, proxy, browser_own, tmp_path) >= 4
    )  # 2 charts x 2 healthy probe pages


def test_page_scripts_run_without_a_kernel(probe_reports, proxy):
    (page,) = probe_reports.out.glob("good-shop/*/01_probe.html")
    dom = open_page(page, proxy)
    assert re.search(r'<input type="range"[^>]*name="growth"', dom)  # the Vega slider
    table = re.search(r"<table.*?</table>", SCRIPT_BODY.sub("", dom), re.S).group()
    assert re.search(r'<th class="wb-rowno[^"]*">0</th>', table)  # bare row numbers hidden
    assert re.search(
        r'<td data-label="month">2026-01</td>\s*<td [^>]*class="wb-num">135\.0</td>', table
    )  # numbers right


def test_sample_reports_draw_every_chart_offline(sample_reports, proxy, browser_own, tmp_path):
    assert check_pages(sample_reports.out, proxy, browser_own, tmp_path) > 0


def test_pdf_is_the_letter_then_every_page_with_its_charts(probe_reports, tmp_path, monkeypatch):
    """`workbook report good-shop --pdf` on the probe notebooks: the PDF opens, it begins with
    the client's letter (its index page) exactly as printed alone, the probe's charts are drawn
    (their text is in the PDF), and it has 6 pages: the letter (2), the probe page (3: its text
    and bar chart; its table and second chart, each whole; the footer line, which no longer
    fits) and the planted-failure notebook (1), which fails only for another client."""
    monkeypatch.setenv("WORKBOOK_HOME", str(probe_reports.home))
    monkeypatch.setattr(paths, "notebooks_dir", lambda: probe_reports.home.parent / "notebooks")
    out = tmp_path / "reports"
    log = io.StringIO()
    with contextlib.redirect_stderr(log):
        assert cli.main(["report", "good-shop", "--pdf", "--out", str(out)]) == 0, log.getvalue()
    folder = out / "good-shop" / probe_reports.as_of
    made = folder / f"good-shop-{probe_reports.as_of}.pdf"
    assert f"PDF  good-shop        {made}" in log.getvalue()
    assert made.read_bytes().startswith(b"%PDF-")
    texts = [page.extract_text() for page in pypdf.PdfReader(made).pages]
    assert len(texts) == 6, [t[:60] for t in texts]
    pdf.print_page(folder / "index.html", tmp_path / "letter.pdf", CHROMIUM)
    assert texts[:2] == [page.extract_text() for page in pypdf.PdfReader(tmp_path / "letter.pdf").pages]
    probe = "\n".join(texts[2:5])
    assert "Render probe" in probe and "Revenue by month" in probe  # the bar chart's title, drawn
    assert "draws in the HTML report" not in probe and "could not be drawn" not in probe
    assert "Planted failure" in texts[5] and "Planted failure" not in probe
