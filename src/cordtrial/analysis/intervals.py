"""Confidence intervals shared by the analyses (one definition each)."""

from __future__ import annotations

import numpy as np
from scipy import stats


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t-based CI with n - 1 df (patients as the unit of inference); NaNs
    when fewer than 2 finite values."""
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return float("nan"), float("nan"), float("nan")
    m, se = float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size))
    q = float(stats.t.ppf(0.5 + level / 2, x.size - 1))
    return m, m - q * se, m + q * se


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) CI of a proportion k/n; NaNs when n = 0."""
    if n == 0:
        return float("nan"), float("nan")
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def excludes_zero(interval: tuple[float, float]) -> bool | None:
    """True when a CI lies entirely above or below 0; None when it is not finite."""
    lo, hi = interval
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return None
    return bool(lo > 0 or hi < 0)
