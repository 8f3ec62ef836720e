"""Notebook 04 at scale: the online store with N times its customers, built through the importers.

Writes `workbook sample --scale N` into a temp folder, builds the sample clients from it in a
temp $WORKBOOK_HOME (as `workbook demo` does), then times each section of notebook 04 (charts
built but not displayed) and prints the figures.

    .venv/bin/python bench/cohort_scale.py [scale]      # default 10
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

SECTIONS = ["coverage", "retention", "revenue", "channel", "layer_cake", "value", "rfm", "clv"]


def main(scale: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-cohorts-") as tmp:
        os.environ["WORKBOOK_HOME"] = str(Path(tmp) / "clients")
        from workbook.sample import write_samples
        from workbook.sample.demo import build_clients

        start = time.perf_counter()
        write_samples(Path(tmp) / "sample", scale=scale)
        build_clients(Path(tmp) / "sample", progress=False)
        print(f"sample x{scale} written and imported: {time.perf_counter() - start:.1f} s")
        run()


def run(client: str = "online-store") -> None:
    from workbook.story import cohort_analysis as cohort_story
    from workbook.story import nb

    ctx = nb.open_context(client)
    orders, customers = ctx.con.execute("SELECT count(*), count(DISTINCT customer_id) FROM orders").fetchone()
    print(f"{client}: {orders:,} orders, {customers:,} customers")
    nb.setup()
    times = {}
    print(f"  {'section':<11} {'wall':>7} {'cpu':>7}   (cpu: all threads of this process)")
    with mock.patch("IPython.display.display"):
        for name in SECTIONS:
            wall, cpu = time.perf_counter(), time.process_time()
            getattr(cohort_story, f"{name}_section")(ctx)
            times[name] = (time.perf_counter() - wall, time.process_time() - cpu)
            print(f"  {name:<11} {times[name][0]:6.2f}s {times[name][1]:6.2f}s")
    wall = sum(v[0] for k, v in times.items() if k != "clv")
    cpu = sum(v[1] for k, v in times.items() if k != "clv")
    print(
        f"cohort and RFM sections: {wall:.2f} s wall, {cpu:.2f} s cpu; "
        f"predictive CLV: {times['clv'][0]:.2f} s wall, {times['clv'][1]:.2f} s cpu"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
