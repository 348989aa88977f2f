"""The protocol file: the shipped one matches the label; bad files fail with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cordtrial.store.protocol import ProtocolError, ReleaseSpec, load_protocol

LABEL = load_protocol()


def test_shipped_protocol_matches_the_label():
    # study.md: 0.5e8-2.0e8 cells once, at most 3.34e6 cells/kg, >= 3-fold dilution,
    # ~0.7-1.0 mL/min; trials up to 54 days after injury.
    assert LABEL.max_infusions == 1
    d = LABEL.dose
    assert (d.min_cells_total, d.max_cells_total, d.max_cells_per_kg) == (0.5e8, 2.0e8, 3.34e6)
    assert d.min_dilution_factor == 3.0
    assert (d.min_rate_ml_per_min, d.max_rate_ml_per_min) == (0.7, 1.0)
    assert LABEL.max_days_injury_to_infusion == 54
    assert {v.code for v in LABEL.visits} == {
        "screening",
        "pre_infusion",
        "infusion_day",
        "day1",
        "week1",
        "month1",
        "month3",
        "month6",
        "month12",
    }
    assert LABEL.visit("month6").anchor == "injury" and LABEL.visit("month6").plus == 30
    assert LABEL.is_expected("Anaemia") and not LABEL.is_expected("fever")
    # limits from standard practice are marked unverified
    assert not LABEL.release_spec("sterility").verified
    assert LABEL.release_spec("cd73").verified


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "p.toml"
    p.write_text(text)
    return p


def test_invalid_protocol_names_field_and_value(tmp_path):
    src = LABEL.model_dump()
    text = (
        Path(__file__).parents[2] / "src/cordtrial/store/protocols/approved-label.toml"
    ).read_text()
    bad = text.replace("max_infusions = 1", "max_infusions = 0")
    with pytest.raises(ProtocolError) as info:
        load_protocol(_write(tmp_path, bad))
    assert "max_infusions: Input should be greater than or equal to 1 (got 0)" in str(info.value)
    bad = text.replace('code = "month3"', 'code = "month4"')
    with pytest.raises(ProtocolError, match=r"visits\.6\.code"):
        load_protocol(_write(tmp_path, bad))
    bad = text.replace("max_cells_per_kg = 3.34e6", "max_cells_per_kg = 3.34e6\ntypo = 1")
    with pytest.raises(ProtocolError, match="dose.typo: Extra inputs are not permitted"):
        load_protocol(_write(tmp_path, bad))
    with pytest.raises(ProtocolError, match="not valid TOML"):
        load_protocol(_write(tmp_path, "max_infusions = ["))
    with pytest.raises(ProtocolError, match="not found"):
        load_protocol(tmp_path / "missing.toml")
    assert src["id"] == "approved-label"


def test_release_spec_needs_exactly_one_kind_of_limit():
    with pytest.raises(ValueError, match="either a numeric limit"):
        ReleaseSpec(code="x", name="x", verified=True, source="s")
    with pytest.raises(ValueError, match="either a numeric limit"):
        ReleaseSpec(code="x", name="x", min=1, expected="ok", verified=True, source="s")
    with pytest.raises(ValueError, match="above max"):
        ReleaseSpec(code="x", name="x", min=3, max=1, verified=True, source="s")


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_numeric_spec_passes_exactly_within_limits(value):
    for spec in LABEL.release_tests:
        if spec.numeric:
            inside = (spec.min is None or value >= spec.min) and (
                spec.max is None or value <= spec.max
            )
            assert spec.passes(value, None) is inside
    assert not LABEL.release_spec("viability").passes(None, None)


def test_qualitative_spec_is_case_insensitive():
    spec = LABEL.release_spec("sterility")
    assert spec.passes(None, "No Growth") and not spec.passes(None, "growth")


@given(
    cells=st.floats(1e6, 1e9),
    weight=st.floats(20, 200),
    lot=st.one_of(st.none(), st.floats(1e6, 1e9)),
)
def test_dose_rule(cells, weight, lot):
    """Property: a dose is accepted exactly when cells/kg, total and lot content are in range."""
    from cordtrial.store.services.infusions import dose_problem

    d = LABEL.dose
    ok = (
        cells / weight <= d.max_cells_per_kg
        and d.min_cells_total <= cells <= d.max_cells_total
        and (lot is None or cells <= lot)
    )
    problem = dose_problem(d, cells, weight, lot)
    assert (problem is None) == ok
    if cells / weight > d.max_cells_per_kg:
        assert problem[0] == "dose_above_maximum"
