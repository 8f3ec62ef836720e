"""One PDF per client, ready to e-mail: the client's index page (the letter) first, then every
report page, each printed by headless chromium with its charts drawn, joined with pypdf.

Chromium rather than WeasyPrint: the charts are drawn by the pages' own scripts (Vega), which
only a browser runs. The browser runs with a fresh profile and every host name unresolvable, so
printing, like reading, never leaves the machine; `--virtual-time-budget` lets the scripts
finish before the page is printed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pypdf

from workbook.core.errors import WorkbookError
from workbook.delivery.execute import one_line
from workbook.delivery.index import ClientReport

BROWSERS = ("chromium", "chromium-browser")  # Debian's and Ubuntu's names
# Headless, offline and quiet: no sign-in, sync, updates or pings, and no host name resolves
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
# Window width (px) the charts are drawn at before printing: about a printed page's text width
# (Letter or A4 less report.css's 14 mm margins is 690-710 CSS px), so charts print unscaled
PRINT_WIDTH = 700
SECONDS_PER_PAGE = 120


def chromium() -> str | None:
    """The headless browser's path, or None when it is not installed."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def require_chromium() -> str:
    browser = chromium()
    if browser is None:
        raise WorkbookError(
            "--pdf needs the chromium browser, which is not installed: install it with "
            "`apt-get install chromium` (or `make browser`), or leave out --pdf."
        )
    return browser


def print_page(page: Path, pdf: Path, browser: str) -> None:
    """Print one HTML page to `pdf` once its scripts ran, without the browser's header and footer."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                browser,
                *SWITCHES,
                f"--user-data-dir={profile}",
                f"--window-size={PRINT_WIDTH},1000",
                "--no-pdf-header-footer",
                f"--print-to-pdf={pdf}",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=SECONDS_PER_PAGE,
        )
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise WorkbookError(f"chromium could not print {page.name}: {last}")


def pages(report: ClientReport) -> list[Path]:
    """The client's pages in the PDF's order: the index (the letter), then each notebook's page."""
    if report.folder is None:
        raise WorkbookError(f"{report.client} has no rendered report to print.")
    return [report.folder / "index.html", *(report.folder / n.html for n in report.notebooks)]


def pdf_path(report: ClientReport) -> Path:
    """`<client>-<as_of>.pdf` beside the client's pages: a name that says what it is as an attachment."""
    assert report.folder is not None
    return report.folder / f"{report.client}-{report.as_of}.pdf"


def write_pdf(report: ClientReport, browser: str | None = None) -> Path:
    """Print the client's pages and join them into one PDF; returns its path.

    Written to a temporary file and moved into place, so a failed print leaves no half PDF.
    """
    browser = browser or require_chromium()
    target = pdf_path(report)
    with tempfile.TemporaryDirectory() as tmp:
        writer = pypdf.PdfWriter()
        for i, page in enumerate(pages(report)):
            part = Path(tmp) / f"{i:02d}.pdf"
            print_page(page, part, browser)
            writer.append(part)
        writer.add_metadata({"/Title": f"{report.name}: report for {report.as_of}"})
        joined = Path(tmp) / target.name
        with joined.open("wb") as f:
            writer.write(f)
        shutil.move(joined, target)
    return target


def write_pdfs(reports: list[ClientReport], echo: Callable[[str], None]) -> bool:
    """A PDF for every client whose pages were written; one line per client. False if any failed."""
    browser = require_chromium()
    ok = True
    for report in reports:
        if report.folder is None:
            continue
        try:
            echo(f"  PDF  {report.client:<16} {write_pdf(report, browser)}")
        except (WorkbookError, OSError, subprocess.TimeoutExpired, pypdf.errors.PyPdfError) as err:
            ok = False
            echo(f"  PDF  {report.client:<16} FAILED {one_line(err)}")
    return ok
