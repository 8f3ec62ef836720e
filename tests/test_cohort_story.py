"""Notebook 04's sentences: computed from the aggregates, with their intervals."""

import pandas as pd
import pytest

from workbook.story import cohort_analysis as story


@pytest.mark.parametrize(
    "ratio, words",
    [
        (2.03, "about twice as"),
        (1.92, "about twice as"),
        (1.4, "1.4 times as"),
        (3.05, "about three times as"),
    ],
)
def test_times(ratio, words):
    assert story.times(ratio) == words


def _hazard(low):
    frame = pd.DataFrame(
        {
            "acquisition_channel": ["email", "paid_social"],
            "customers": [700, 870],
            "rate": [0.32, 0.16],
            "hazard_ratio": [2.0, 1.0],
            "ratio_low": [low, 1.0],
            "ratio_high": [2.2, 1.0],
        }
    )
    frame.attrs["reference"] = "paid_social"
    return frame


def test_channel_finding_only_when_the_interval_excludes_one():
    text, finding = story.channels(_hazard(1.8))
    assert "**email** come back **about twice as often** as customers from **paid social**" in text
    assert "0.32 vs 0.16" in text and "1.80 to 2.20" in text
    assert finding.startswith(
        "Customers from email come back about twice as often as customers "
        "from paid social (95% interval 1.80 to 2.20 times)"
    )
    text, finding = story.channels(_hazard(0.9))
    assert finding is None and text.endswith("The difference could still be chance.")


def test_coverage_names_the_anonymous_share():
    text = story.coverage(
        {"orders": 1000, "anonymous_orders": 600, "order_share": 0.6, "revenue_share": 0.55}
    )
    assert text.startswith("600 of 1,000 orders (60.0%, 55.0% of revenue) have no customer attached")
