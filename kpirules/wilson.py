"""The Wilson score interval of ``with C% confidence`` (spec/semantics.md, "Volume and
confidence"), and the verdict it gives against a threshold.

A rate of k successes out of n trials is only as sure as n is large: 3 signups out of 100
visits (3%) could well come from a true rate of 1.5% or 7%. The Wilson interval is the
range of true rates the observed one is consistent with at confidence C; a rule passes
only when the whole range does, fails only when none of it does, and is INCONCLUSIVE in
between. Unlike the textbook p +- z*sqrt(p(1-p)/n), it stays inside 0..1 and behaves for
small n and rates near 0 or 1, which is where marketing rates live.
"""

from __future__ import annotations

import math
from functools import lru_cache

LEVEL_MIN, LEVEL_MAX = 0.5, 0.999  # `with 50% confidence` .. `with 99.9% confidence`
OPERATORS = (">=", ">", "<=", "<")


@lru_cache(maxsize=64)
def z_score(level: float) -> float:
    """The two-sided normal quantile for confidence ``level`` (0.95 -> 1.959964)."""
    from statistics import NormalDist  # only for rules that ask for confidence

    return NormalDist().inv_cdf(1 - (1 - level) / 2)


def interval(k: float, n: float, level: float) -> tuple[float, float]:
    """(lo, hi) of the Wilson score interval of k successes in n > 0 trials."""
    z = z_score(level)
    p = k / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return centre - half, centre + half


def side(op: str, lo: float, hi: float, threshold: float) -> bool | None:
    """Whether the whole interval meets ``op threshold`` (True), misses it (False), or
    straddles it (None: too few to judge)."""
    if op == ">=":
        return True if lo >= threshold else False if hi < threshold else None
    if op == ">":
        return True if lo > threshold else False if hi <= threshold else None
    if op == "<=":
        return True if hi <= threshold else False if lo > threshold else None
    if op == "<":
        return True if hi < threshold else False if lo >= threshold else None
    raise ValueError(f"confidence compares with >=, >, <= or <, not {op!r}")
