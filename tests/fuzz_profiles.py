"""Hypothesis settings for the fuzz tests (tests/test_fuzz.py): a short run for CI, a long one
on demand.

    python -m pytest tests/test_fuzz.py                       # short: ~400 examples, seconds
    GRADCLI_FUZZ=long python -m pytest tests/test_fuzz.py     # long: 10,000 examples

Each fuzz test asks for its share of the total (``fuzz(share)``), so that the totals are
those above whatever the number of tests. Nothing here is loaded as hypothesis's global
profile: the other tests keep their own settings.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("GRADCLI_FUZZ", "short").strip().lower() or "short"
TOTALS = {"short": 400, "long": 10_000}
if PROFILE not in TOTALS:
    raise ValueError(f"GRADCLI_FUZZ={PROFILE!r}: use 'short' or 'long'")
TOTAL = TOTALS[PROFILE]


def fuzz(share: float) -> settings:
    """Settings for a test that runs ``share`` of the profile's examples (at least 5)."""
    return settings(max_examples=max(5, round(TOTAL * share)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much],
                    derandomize=PROFILE == "short", database=None)
