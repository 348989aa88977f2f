from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cordtrial.analysis import poisson_binomial as pb

probs = st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=0, max_size=40)


@given(probs)
def test_pmf_sums_to_one_and_nonnegative(p: list[float]) -> None:
    d = pb.pmf(p)
    assert d.shape == (len(p) + 1,)
    assert (d >= -1e-15).all()
    assert math.isclose(d.sum(), 1.0, abs_tol=1e-9)


@given(st.integers(0, 60), st.floats(0.0, 1.0))
def test_equal_rates_give_binomial(n: int, q: float) -> None:
    d = pb.pmf([q] * n)
    # Oracle: the binomial formula itself (scipy's binom.pmf overflows on subnormal q).
    expected = [math.comb(n, k) * q**k * (1 - q) ** (n - k) for k in range(n + 1)]
    np.testing.assert_allclose(d, expected, atol=1e-10)


@given(probs)
def test_mean_matches_distribution(p: list[float]) -> None:
    d = pb.pmf(p)
    assert math.isclose((np.arange(d.size) * d).sum(), pb.mean(p), abs_tol=1e-8)


@given(probs, st.randoms())
def test_order_does_not_matter(p: list[float], rnd) -> None:
    q = list(p)
    rnd.shuffle(q)
    np.testing.assert_allclose(pb.pmf(p), pb.pmf(q), atol=1e-12)


@given(probs)
def test_sf_is_monotone_and_bounded(p: list[float]) -> None:
    tails = [pb.sf(k, p) for k in range(len(p) + 2)]
    assert tails[0] == 1.0 and tails[-1] == 0.0
    assert all(a >= b - 1e-12 for a, b in zip(tails, tails[1:], strict=False))


def test_small_case_by_hand() -> None:
    # P(K >= 1) for p = (0.5, 0.2) = 1 - 0.5 * 0.8
    assert pb.sf(1, [0.5, 0.2]) == pytest.approx(0.6)
    assert pb.sf(2, [0.5, 0.2]) == pytest.approx(0.1)


@pytest.mark.parametrize("bad", [[1.2], [-0.1], [float("nan")]])
def test_rejects_bad_probability(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="out of range"):
        pb.pmf(bad)


def test_case_mix_unknown_grade() -> None:
    with pytest.raises(KeyError, match="no rate for baseline grade 'D'"):
        pb.case_mix_probabilities({"D": 1}, {"A": 0.2})


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_central_range_holds_95_percent_and_the_mean(p: list[float]) -> None:
    lo, hi = pb.central_range(p)
    dist = pb.pmf(p)
    assert 0 <= lo <= hi <= len(p)
    assert dist[lo : hi + 1].sum() >= 0.95 - 1e-9
    assert lo - 1 <= pb.mean(p) <= hi + 1
