"""Sample-size formulas against known published results."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from cordtrial.analysis import power


def test_two_means_cohen_table() -> None:
    # Cohen 1988, Statistical Power Analysis, Table 2.4.1: two-sided alpha .05, power .80,
    # d = .50 -> 64 per group, d = .80 -> 26 per group (t test).
    assert power.n_two_means_exact(0.5, 1.0) == 64
    assert power.n_two_means_exact(8.0, 10.0) == 26
    # normal approximation 2 (1.95996 + 0.84162)^2 / 0.25 = 62.8 -> 63
    assert power.n_two_means(0.5, 1.0) == 63


def test_t_power_matches_definition() -> None:
    assert power.t_test_power(64, 0.5, 1.0) == pytest.approx(0.8015, abs=5e-4)
    assert power.simulated_power_means(64, 0.5, 1.0, sims=4000, seed=1) == pytest.approx(
        0.80, abs=0.03
    )


def test_two_proportions_fleiss() -> None:
    # Fleiss, Levin & Paik (2003), Statistical Methods for Rates and Proportions, eq. 4.14 and
    # Table A.4: p1 .40 vs p2 .60, alpha .05 two-sided, power .80: 97 per group without and 107
    # with the continuity correction. By hand: (1.96*sqrt(0.5) + 0.8416*sqrt(0.48))^2 / 0.04
    # = 96.9; corrected 96.9/4 * (1 + sqrt(1 + 4/(96.9*0.2)))^2 = 106.7.
    assert power.n_two_proportions(0.4, 0.6, continuity=False) == 97
    assert power.n_two_proportions(0.4, 0.6) == 107
    assert power.n_two_proportions(0.6, 0.4) == 107  # symmetric


@pytest.mark.parametrize(
    ("n1", "n2", "p1", "p2"),
    [(8, 9, 0.3, 0.8), (5, 5, 0.1, 0.9), (12, 7, 0.5, 0.2), (1, 3, 0.4, 0.6)],
)
def test_fisher_power_equals_bruteforce(n1: int, n2: int, p1: float, p2: float) -> None:
    expected = 0.0
    for a in range(n1 + 1):
        for b in range(n2 + 1):
            if stats.fisher_exact([[a, n1 - a], [b, n2 - b]]).pvalue <= 0.05:
                expected += stats.binom.pmf(a, n1, p1) * stats.binom.pmf(b, n2, p2)
    assert power.fisher_power(n1, n2, p1, p2) == pytest.approx(expected, abs=1e-12)


def test_exact_n_reaches_power_and_simulation_agrees() -> None:
    n = power.n_two_proportions_exact(0.4, 0.6)
    assert power.fisher_power(n, n, 0.4, 0.6) >= 0.8
    assert power.fisher_power(n - 1, n - 1, 0.4, 0.6) < 0.8
    assert 97 <= n <= 110  # Fisher is conservative: above the uncorrected normal answer
    assert power.simulated_power_proportions(n, 0.4, 0.6, sims=2000, seed=3) == pytest.approx(
        power.fisher_power(n, n, 0.4, 0.6), abs=0.03
    )


def test_normal_power_inverts_sample_size() -> None:
    n = power.n_two_proportions(0.3, 0.5, continuity=False)
    assert (
        power.power_two_proportions(n, 0.3, 0.5)
        >= 0.8
        > power.power_two_proportions(n - 1, 0.3, 0.5)
    )


@pytest.mark.parametrize(
    ("call", "msg"),
    [
        (lambda: power.n_two_proportions(0.5, 0.5), "equal"),
        (lambda: power.n_two_proportions(1.2, 0.5), "p1"),
        (lambda: power.n_two_means(0.0, 1.0), "delta"),
        (lambda: power.n_two_means(1.0, -1.0), "sd"),
        (lambda: power.fisher_power(0, 3, 0.2, 0.3), "group sizes"),
    ],
)
def test_invalid_inputs(call, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        call()


def test_effect_from_series() -> None:
    e = power.effect_from_series(12, 13, 7.2, [3.0, 5.0, np.nan, 4.0])
    assert e.p_treated == pytest.approx(12 / 13)
    assert e.p_control == pytest.approx(7.2 / 13)
    assert e.mean_difference == pytest.approx(4.0)
    assert e.sd == pytest.approx(1.0)
