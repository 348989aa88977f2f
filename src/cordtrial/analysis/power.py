"""Power and sample size for the randomised trial that should follow the case series.

Binary end point (e.g. >= 1 AIS grade): normal approximation (Fleiss, Levin & Paik, Statistical
Methods for Rates and Proportions, 3rd ed. 2003, eq. 4.14; with and without the continuity
correction), exact power of the two-sided Fisher exact test by full enumeration, and
simulation. Continuous end point (e.g. UEMS gain): normal approximation and the exact power of the
two-sample t test (noncentral t). The effect observed in the series can be one input
(``effect_from_series``), always next to effects judged plausible a priori.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats


def _check(name: str, v: float, lo: float, hi: float, open_: bool = True) -> None:
    ok = lo < v < hi if open_ else lo <= v <= hi
    if not ok or not math.isfinite(v):
        raise ValueError(f"{name} = {v!r} out of range (allowed {lo} to {hi}, exclusive)")


def n_two_proportions(
    p1: float, p2: float, alpha: float = 0.05, power: float = 0.8, continuity: bool = True
) -> int:
    """Per-group n to detect p1 vs p2 (two-sided), Fleiss, Levin & Paik 2003 eq. 4.14; with the
    Fleiss-Tytun-Ury continuity correction n' = n/4 * (1 + sqrt(1 + 4 / (n |p1 - p2|)))^2 by
    default."""
    _check("p1", p1, 0, 1)
    _check("p2", p2, 0, 1)
    _check("alpha", alpha, 0, 1)
    _check("power", power, 0, 1)
    if p1 == p2:
        raise ValueError("p1 and p2 are equal: no sample size detects a zero difference")
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    pbar = (p1 + p2) / 2
    n = (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2
    n /= (p1 - p2) ** 2
    if continuity:
        n = n / 4 * (1 + math.sqrt(1 + 4 / (n * abs(p1 - p2)))) ** 2
    return math.ceil(n - 1e-9)


def power_two_proportions(n: int, p1: float, p2: float, alpha: float = 0.05) -> float:
    """Normal-approximation power with n per group (inverse of the uncorrected Fleiss formula)."""
    if n < 1:
        raise ValueError(f"n = {n!r}: need >= 1 per group")
    za = stats.norm.ppf(1 - alpha / 2)
    pbar = (p1 + p2) / 2
    num = abs(p1 - p2) * math.sqrt(n) - za * math.sqrt(2 * pbar * (1 - pbar))
    return float(stats.norm.cdf(num / math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))))


def fisher_power(n1: int, n2: int, p1: float, p2: float, alpha: float = 0.05) -> float:
    """Exact power of the two-sided Fisher exact test (p-value: sum of table probabilities no
    larger than the observed one), by enumerating every outcome (x1, x2)."""
    if n1 < 1 or n2 < 1:
        raise ValueError(f"group sizes must be >= 1 (got {n1}, {n2})")
    _check("p1", p1, 0, 1, open_=False)
    _check("p2", p2, 0, 1, open_=False)
    big_n = n1 + n2
    lf = special.gammaln(np.arange(big_n + 2) + 1.0)  # log k!
    x1 = np.arange(n1 + 1)[:, None]
    t = np.arange(big_n + 1)[None, :]
    x2 = t - x1
    valid = (x2 >= 0) & (x2 <= n2)
    x2c = np.clip(x2, 0, n2)
    # Hypergeometric P(x1 | t) for every (x1, t) at once, from log-factorials.
    logp = (
        lf[n1]
        - lf[x1]
        - lf[n1 - x1]
        + lf[n2]
        - lf[x2c]
        - lf[n2 - x2c]
        - lf[big_n]
        + lf[t]
        + lf[big_n - t]
    )
    pr = np.where(valid, np.exp(logp), 0.0)
    # Two-sided p: sum, within the same margin t, of probabilities <= the observed one (R's
    # fisher.test convention, relative tolerance 1e-7). Columns are offset by 2 so that one
    # flattened sorted array answers every column's query.
    off = 2.0 * np.arange(big_n + 1)[None, :]
    srt = np.sort(pr, axis=0)
    csum = np.cumsum(srt, axis=0)
    flat_sorted = (srt + off).T.ravel()
    flat_csum = csum.T.ravel()
    idx = np.searchsorted(flat_sorted, (pr * (1 + 1e-7) + off).T.ravel(), side="right") - 1
    pv = flat_csum[idx].reshape(big_n + 1, n1 + 1).T
    reject_xt = valid & (pv <= alpha)
    reject = np.zeros((n1 + 1, n2 + 1), dtype=bool)
    xi, ti = np.nonzero(reject_xt)
    reject[xi, ti - xi] = True
    w1 = stats.binom.pmf(np.arange(n1 + 1), n1, p1)
    w2 = stats.binom.pmf(np.arange(n2 + 1), n2, p2)
    return float((np.outer(w1, w2) * reject).sum())


def n_two_proportions_exact(
    p1: float, p2: float, alpha: float = 0.05, power: float = 0.8, max_n: int = 2000
) -> int:
    """First per-group n, searching upward from the uncorrected normal answer minus 3, whose
    exact Fisher power reaches ``power``. Exact power is saw-toothed in n, so a slightly larger n
    can fall below the target again; report the power at the chosen n alongside it."""
    # Fisher's test is conservative: its n is not below the uncorrected normal answer (minus a
    # small margin for the saw-tooth), so start the search there.
    start = max(2, n_two_proportions(p1, p2, alpha, power, continuity=False) - 3)
    for n in range(start, max_n + 1):
        if fisher_power(n, n, p1, p2, alpha) >= power:
            return n
    raise ValueError(f"no n <= {max_n} reaches power {power}")


def simulated_power_proportions(
    n: int, p1: float, p2: float, alpha: float = 0.05, sims: int = 2000, seed: int = 0
) -> float:
    """Monte-Carlo power of the two-sided Fisher test (checks the exact and approximate answers
    and extends to designs without formulas)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.binomial(n, p1, sims), rng.binomial(n, p2, sims)
    cache: dict[tuple[int, int], float] = {}
    hits = 0
    for a, b in zip(x1, x2, strict=True):
        key = (int(a), int(b))
        if key not in cache:
            cache[key] = stats.fisher_exact([[a, n - a], [b, n - b]]).pvalue
        hits += cache[key] <= alpha
    return hits / sims


def n_two_means(delta: float, sd: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Per-group n, normal approximation: 2 (z_{1-a/2} + z_{1-b})^2 sd^2 / delta^2."""
    if delta == 0 or not math.isfinite(delta):
        raise ValueError(f"delta = {delta!r}: must be a finite non-zero difference")
    if sd <= 0:
        raise ValueError(f"sd = {sd!r}: must be > 0")
    _check("alpha", alpha, 0, 1)
    _check("power", power, 0, 1)
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    return math.ceil(2 * (za + zb) ** 2 * sd**2 / delta**2 - 1e-9)


def t_test_power(n: int, delta: float, sd: float, alpha: float = 0.05) -> float:
    """Exact power of the two-sided two-sample t test with n per group (noncentral t)."""
    if n < 2:
        raise ValueError(f"n = {n!r}: need >= 2 per group")
    df = 2 * n - 2
    nc = abs(delta) / sd * math.sqrt(n / 2)
    tc = stats.t.ppf(1 - alpha / 2, df)
    return float(stats.nct.sf(tc, df, nc) + stats.nct.cdf(-tc, df, nc))


def n_two_means_exact(delta: float, sd: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Smallest per-group n whose exact t-test power reaches ``power``."""
    n = max(2, n_two_means(delta, sd, alpha, power) - 2)
    while t_test_power(n, delta, sd, alpha) < power:
        n += 1
    return n


def simulated_power_means(
    n: int, delta: float, sd: float, alpha: float = 0.05, sims: int = 2000, seed: int = 0
) -> float:
    """Monte-Carlo power of the two-sample t test under normal outcomes."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0, sd, (sims, n))
    b = rng.normal(delta, sd, (sims, n))
    return float((stats.ttest_ind(a, b, axis=1).pvalue <= alpha).mean())


@dataclass(frozen=True)
class SeriesEffect:
    """The effect the case series seems to show, as a planning input (biased upwards by design:
    unblinded, self-selected, no concurrent control)."""

    p_control: float
    p_treated: float
    mean_difference: float
    sd: float
    source: str


def effect_from_series(
    observed: int, evaluable: int, expected: float, motor_excess: list[float]
) -> SeriesEffect:
    """Binary effect: expected/n (natural history) vs observed/n; continuous effect: mean and SD
    of observed-minus-expected motor gain. Proportions are kept inside (0.01, 0.99)."""
    if evaluable < 1:
        raise ValueError("no evaluable patients in the series")
    clip = lambda p: min(0.99, max(0.01, p))  # noqa: E731 - tiny local helper
    arr = np.asarray([v for v in motor_excess if np.isfinite(v)], float)
    return SeriesEffect(
        p_control=clip(expected / evaluable),
        p_treated=clip(observed / evaluable),
        mean_difference=float(arr.mean()) if arr.size else float("nan"),
        sd=float(arr.std(ddof=1)) if arr.size > 1 else float("nan"),
        source=f"{observed}/{evaluable} observed vs {expected:.1f} expected (natural history)",
    )
