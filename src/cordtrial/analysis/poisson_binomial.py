"""Poisson-binomial distribution: the number of successes among independent trials with unequal
probabilities. Used to ask how surprising "k of n improved" is when each patient has their own
natural-history probability of improving (natural-history.md section 6).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _probs(p: Sequence[float]) -> np.ndarray:
    arr = np.asarray(p, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"probabilities must be a flat sequence (got shape {arr.shape})")
    bad = arr[~((arr >= 0.0) & (arr <= 1.0))]
    if bad.size:
        raise ValueError(f"probability out of range: {bad[0]!r} (allowed: 0 to 1)")
    return arr


def pmf(p: Sequence[float]) -> np.ndarray:
    """P(K = k) for k = 0..n, by the exact recursion over patients (O(n^2), stable for n < 10^4)."""
    arr = _probs(p)
    dist = np.zeros(arr.size + 1)
    dist[0] = 1.0
    for i, pi in enumerate(arr, start=1):
        # Adding patient i: either they fail (stay at k) or succeed (move to k+1).
        dist[1 : i + 1] = dist[1 : i + 1] * (1.0 - pi) + dist[0:i] * pi
        dist[0] *= 1.0 - pi
    return dist


def sf(k: int, p: Sequence[float]) -> float:
    """P(K >= k): the chance that at least k of the patients improve with no treatment."""
    arr = _probs(p)
    if k <= 0:
        return 1.0
    if k > arr.size:
        return 0.0
    return float(min(1.0, max(0.0, pmf(arr)[k:].sum())))


def central_range(p: Sequence[float], level: float = 0.95) -> tuple[int, int]:
    """Smallest and largest count of the central ``level`` range: the (1 - level)/2 and
    (1 + level)/2 quantiles of K (a range for "how many would improve with no treatment")."""
    cdf = np.cumsum(pmf(p))
    lo = int(np.searchsorted(cdf, (1 - level) / 2 - 1e-12))
    hi = int(np.searchsorted(cdf, (1 + level) / 2 - 1e-12))
    return lo, min(hi, cdf.size - 1)


def mean(p: Sequence[float]) -> float:
    """Expected number of successes."""
    return float(_probs(p).sum())


def case_mix_probabilities(mix: dict[str, int], rates: dict[str, float]) -> list[float]:
    """Expand a case mix such as {"A": 6, "B": 2, "C": 5} into one probability per patient."""
    out: list[float] = []
    for grade, count in mix.items():
        if grade not in rates:
            raise KeyError(f"no rate for baseline grade {grade!r}; rates given: {sorted(rates)}")
        if count < 0:
            raise ValueError(f"case mix count for {grade!r} is negative ({count})")
        out += [rates[grade]] * int(count)
    return out
