from __future__ import annotations

import pytest

from cordtrial.analysis import natural_history as nh

TAGS = {"V", "V2", "R", "D"}


@pytest.mark.parametrize("table", [nh.conversion_table, nh.motor_means_table, nh.rate_scenarios])
def test_every_figure_has_citation_and_tag(table) -> None:
    t = table()
    assert t["citation"].str.len().gt(10).all()
    assert set(t["tag"]) <= TAGS


def test_conversion_figures_match_reference() -> None:
    # spot checks against natural-history.md sections 1-2
    assert nh.reference_rate("vanmiddendorp2009_A").rate == pytest.approx(0.261)
    assert nh.reference_rate("vanmiddendorp2009_A").n == 161
    assert nh.reference_rate("vanmiddendorp2009_B").rate == pytest.approx(0.73)
    assert nh.reference_rate("marino2011_C").rate == pytest.approx(0.825)
    assert nh.reference_rate("marino2020_A_2013").n is None
    assert nh.reference_rate("kirshblum2016_A", "ge2_grades").rate == pytest.approx(0.171)


def test_derived_gains_match_section3_within_rounding() -> None:
    # section 3 [D]: dUEMS tetra 2->52 wk A +8.1, B +11.1, C +18.3, D +13.1 (0.1 tolerance, as
    # the reference says the rounded columns may differ by 0.1)
    for grade, gain in {"A": 8.1, "B": 11.1, "C": 18.3, "D": 13.1}.items():
        assert nh.expected_motor_gain("uems", grade, True, 14, 364) == pytest.approx(gain, abs=0.11)
    for grade, gain in {"A": 3.8, "B": 8.3, "C": 10.9, "D": 6.9}.items():
        assert nh.expected_motor_gain("uems", grade, True, 28, 182) == pytest.approx(gain, abs=0.11)


def test_paraplegia_uems_does_not_change() -> None:
    assert nh.expected_motor_gain("uems", "A", False, 20, 300) == 0.0


def test_recovery_fraction_bounds_and_monotone() -> None:
    for g in "ABCD":
        f = [nh.recovery_fraction(d, g) for d in (5, 14, 30, 60, 120, 200, 364, 800)]
        assert f[0] == 0 and f[-1] == 1
        assert all(a <= b for a, b in zip(f, f[1:], strict=False))


def test_conditional_rate_shrinks_with_later_baseline() -> None:
    r = nh.reference_rate("vanmiddendorp2009_A")
    early = nh.conditional_rate(r.rate, "A", 14, 364, 14)
    late = nh.conditional_rate(r.rate, "A", 49, 364, 14)
    short = nh.conditional_rate(r.rate, "A", 49, 180, 14)
    assert early == pytest.approx(r.rate)
    assert short < late < early


def test_grade_steps_is_conservative() -> None:
    assert nh.grade_steps("A", "C") == 2
    assert nh.grade_steps("A,B", "B") == 0  # best before B -> worst after B
    assert nh.grade_steps("A", "B,C") == 1
    assert nh.grade_steps("C", "B") == -1


def test_unknown_source_error_names_options() -> None:
    with pytest.raises(KeyError, match="available"):
        nh.reference_rate("nosuch")
