"""Deterministic sample businesses, written as the exports their real tools produce.

`write_samples(out_dir)` writes `<out_dir>/<slug>/` for each of `SAMPLE_CLIENTS`: the same bytes
on every run (one fixed seed per client, numpy's PCG64 Generator), ending on 2026-10-31
whatever today's date is. `SAMPLE_CLIENTS` says how `workbook demo` creates each client and
which file goes through which `--source` preset or mapping file. The planted effects, and the
values they were planted with, are documented in data/sample/README.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from workbook.sample import coffee_shop, home_services, online_store

SEED = 20261031


@dataclass(frozen=True)
class SampleClient:
    """A sample business: its client.toml settings and its import plan, in order.

    Each import is (file name in the client's sample folder, source), where the source is a
    preset name or a mapping file path relative to that folder (mappings/<name>.yaml).
    """

    slug: str
    display_name: str
    industry: str
    currency: str
    timezone: str
    imports: tuple[tuple[str, str], ...]
    rollouts: tuple[dict, ...] = ()  # written to client.toml as [[rollouts]] (see `causal`)
    # client.toml tables the reports use ([costs], [time_saved], ...; docs/settings.md)
    settings: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: MappingProxyType({}))


SAMPLE_CLIENTS: dict[str, SampleClient] = {
    client.slug: client
    for client in [
        SampleClient(
            "coffee-shop",
            "Bean Counter Coffee",
            "coffee-shop",
            "USD",
            coffee_shop.TZ,
            (
                ("items-2024-11-01-2026-10-31.csv.gz", "square-items"),
                ("google_reviews.json", "google-reviews"),
            ),
        ),
        SampleClient(
            "online-store",
            "Northwind Outfitters",
            "online-store",
            "USD",
            online_store.TZ,
            (
                ("customers_export.csv.gz", "shopify-customers"),
                ("orders_export_1.csv.gz", "shopify-orders"),
                ("klaviyo_campaigns.csv", "klaviyo-campaigns"),
                ("klaviyo_recipient_activity.csv.gz", "mappings/email-activity.yaml"),
                ("utm_touches.csv.gz", "mappings/touches.yaml"),
                ("ad_spend.csv", "mappings/ad-spend.yaml"),
                ("ga4_traffic_acquisition.csv", "ga4-traffic"),
                ("nps_survey_responses.csv", "survey"),
            ),
            rollouts=(
                {
                    "name": "Personalized recommendations",
                    "start": online_store.ROLLOUT_DAY.date(),
                    "column": "region",
                    "treated": (online_store.ROLLOUT_REGION,),
                },
            ),
            settings={
                "costs": {"email_send": 0.01, "personalized_email_send": 0.02, "tool_per_month": 30.0},
                "time_saved": {"hours_per_month": 4.0, "hourly_rate": 35.0},
            },
        ),
        SampleClient(
            "home-services",
            "Brightside Home Services",
            "home-services",
            "USD",
            home_services.TZ,
            (
                ("services.csv", "mappings/services.yaml"),
                ("leads.csv", "mappings/leads.yaml"),
                ("unified_payments.csv", "stripe-payments"),
                ("google_reviews.json", "google-reviews"),
            ),
        ),
    ]
}

SCALED = {"online-store"}
_GENERATORS = {
    "coffee-shop": coffee_shop.write,
    "online-store": online_store.write,
    "home-services": home_services.write,
}


def write_samples(out_dir: Path, scale: int = 1) -> dict[str, list[Path]]:
    """Write every sample client's exports into `<out_dir>/<slug>/`; returns the files per slug.

    `scale` multiplies the online store's customers, subscribers and hence orders and email
    sends (about 20,000 orders per unit), with the same distributions and planted effects;
    the coffee shop and the home-services business stay as they are.
    """
    if scale < 1:
        raise ValueError("scale must be a positive whole number")
    out_dir = Path(out_dir)
    written = {}
    for number, (slug, generate) in enumerate(_GENERATORS.items()):
        seed_scale = scale if slug in SCALED else 1  # the others are the same at any scale
        rng = np.random.default_rng([SEED, number, seed_scale])
        written[slug] = generate(out_dir / slug, rng, scale)
    return written
