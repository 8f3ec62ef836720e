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

import json
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
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
SWITCHES = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--no-default-browser-check",
    "--disable-breakpad",
    "--no-pings",
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--virtual-time-budget=15000",
]
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


def open_page(page: Path, proxy: CountingProxy) -> str:
    """The DOM of `page` after its scripts ran, from a fresh profile, network cut off."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                CHROMIUM,
                *SWITCHES,
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


def check_pages(out: Path, proxy: CountingProxy, browser_own: set[str]) -> int:
    """Every report page draws all its charts and requests nothing; returns charts drawn."""
    drawn = 0
    for facts_file in sorted(out.glob("*/*/report.json")):
        facts = json.loads(facts_file.read_text())
        for notebook in facts["notebooks"]:
            page = facts_file.parent / notebook["html"]
            dom = open_page(page, proxy)
            assert len(MARKS.findall(dom)) == notebook["charts"], page
            text = SCRIPT_BODY.sub("", dom)
            assert "could not be drawn" not in text and "draws in the HTML report" not in text, page
            drawn += notebook["charts"]
        open_page(facts_file.parent / "index.html", proxy)
    open_page(out / "index.html", proxy)
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


def test_probe_reports_draw_every_chart_offline(probe_reports, proxy, browser_own):
    assert check_pages(probe_reports.out, proxy, browser_own) >= 4  # 2 charts x 2 healthy probe pages


def test_page_scripts_run_without_a_kernel(probe_reports, proxy):
    (page,) = probe_reports.out.glob("good-shop/*/01_probe.html")
    dom = open_page(page, proxy)
    assert re.search(r'<input type="range"[^>]*name="growth"', dom)  # the Vega slider
    table = re.search(r"<table.*?</table>", SCRIPT_BODY.sub("", dom), re.S).group()
    assert re.search(r'<th class="wb-rowno[^"]*">0</th>', table)  # bare row numbers hidden
    assert re.search(r'<td>2026-01</td>\s*<td class="wb-num">135\.0</td>', table)  # numbers right


def test_sample_reports_draw_every_chart_offline(sample_reports, proxy, browser_own):
    assert check_pages(sample_reports.out, proxy, browser_own) > 0
