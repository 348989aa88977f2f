"""Invariants of the classification over generated, clinically shaped exams (hypothesis)."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cordtrial.isncsci import CELL_KEYS, Exam, classify
from cordtrial.isncsci.strategies import rhi_exams

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOTAL_RANGES = {
    "UpperMotorTotal": 25,
    "LowerMotorTotal": 25,
    "MotorTotal": 50,
    "TouchTotal": 56,
    "PrickTotal": 56,
}


def _bare(value: str) -> set[str]:
    return {v.rstrip("*") for v in value.split(",")}


@SETTINGS
@given(rhi_exams())
def test_totals_are_in_range_or_nd(data: dict) -> None:
    result = classify(Exam.from_rhi(data)).to_rhi()
    for key, value in result.items():
        if not key.endswith("Total"):
            continue
        if value == "ND":
            continue
        bound = next(
            b for suffix, b in TOTAL_RANGES.items() if key.lower().endswith(suffix.lower())
        )
        if not key.startswith(("right", "left")):
            bound *= 2
        assert 0 <= int(value) <= bound, (key, value)


@SETTINGS
@given(rhi_exams())
def test_totals_are_nd_exactly_when_a_summed_cell_is_not_testable(data: dict) -> None:
    result = classify(Exam.from_rhi(data)).to_rhi()
    right_touch = [data[k] for k in CELL_KEYS if k.endswith("RightTouch")]
    assert (result["rightTouchTotal"] == "ND") == any(v.startswith("NT") for v in right_touch)


SWAP = {"Right": "Left", "Left": "Right", "right": "left", "left": "right"}


def mirror(data: dict) -> dict:
    return {
        re.sub(r"Right|Left|^right|^left", lambda m: SWAP[m.group(0)], k): v
        for k, v in data.items()
    }


@SETTINGS
@given(rhi_exams())
def test_left_right_mirror_symmetry(data: dict) -> None:
    a = classify(Exam.from_rhi(data)).to_rhi()
    b = classify(Exam.from_rhi(mirror(data))).to_rhi()
    for key, value in a.items():
        other = re.sub(r"^right|^left", lambda m: SWAP[m.group(0)], key)
        assert b[other] == value, key


def substitutions(value: str, motor: bool) -> list[str]:
    grades = range(6) if motor else range(3)
    return [str(g) for g in grades]


@SETTINGS
@given(rhi_exams(nt_rate=1.0, flag_rate=0.0), st.data())
def test_replacing_an_nt_gives_a_result_within_the_nd_result(data: dict, draw) -> None:
    nts = [k for k in CELL_KEYS if data[k] == "NT"]
    assume(nts)
    key = draw.draw(st.sampled_from(nts))
    value = draw.draw(st.sampled_from(substitutions("NT", key.endswith("Motor"))))
    open_ = classify(Exam.from_rhi(data)).to_rhi()
    pinned = classify(Exam.from_rhi({**data, key: value})).to_rhi()
    for field, result in pinned.items():
        if field.endswith("Total"):
            continue
        assert _bare(result) <= _bare(open_[field]), (field, key, value, result, open_[field])


@SETTINGS
@given(
    rhi_exams(flag_rate=0.0),
    st.sampled_from(["Yes", "No"]),
    st.sampled_from(["analContraction", "analSensation"]),
)
def test_replacing_an_nt_anal_observation_stays_within(data: dict, value: str, key: str) -> None:
    data = {**data, key: "NT"}
    open_ = classify(Exam.from_rhi(data)).to_rhi()
    pinned = classify(Exam.from_rhi({**data, key: value})).to_rhi()
    for field, result in pinned.items():
        if not field.endswith("Total"):
            assert _bare(result) <= _bare(open_[field]), (field, result, open_[field])


def test_all_normal_exam_with_vac_is_e_and_int() -> None:
    data = {k: ("5" if k.endswith("Motor") else "2") for k in CELL_KEYS}
    data.update(analContraction="Yes", analSensation="No")
    result = classify(Exam.from_rhi(data)).to_rhi()
    assert result["asiaImpairmentScale"] == "E"
    assert {
        result[k]
        for k in (
            "rightSensory",
            "leftSensory",
            "rightMotor",
            "leftMotor",
            "neurologicalLevelOfInjury",
        )
    } == {"INT"}
