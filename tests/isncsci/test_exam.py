"""Exam parsing and validation: every bad value is named with the allowed values."""

from __future__ import annotations

import pytest

from cordtrial.isncsci import CELL_KEYS, Exam, ExamValidationError, classify
from cordtrial.isncsci.synthetic import exam_at


def normal_exam(**changes: str) -> dict[str, str]:
    exam = {key: ("5" if key.endswith("Motor") else "2") for key in CELL_KEYS}
    exam.update(analContraction="Yes", analSensation="Yes")
    exam.update(changes)
    return exam


def errors_of(data: dict) -> list:
    with pytest.raises(ExamValidationError) as info:
        Exam.from_rhi(data)
    return info.value.errors


def test_cell_keys_cover_the_worksheet() -> None:
    # 28 dermatomes x 2 modalities x 2 sides + 10 key muscles x 2 sides
    assert len(CELL_KEYS) == 28 * 2 * 2 + 10 * 2


@pytest.mark.parametrize(
    ("field", "value", "allowed_fragment"),
    [
        ("c5RightMotor", "6", "0, 1, 2, 3, 4, 5, NT"),
        ("c5RightTouch", "3", "0, 1, 2, NT"),
        ("c5RightMotor", "5*", "4*"),  # a normal grade cannot be flagged
        ("t4LeftPrick", "2**", "NT**"),
        ("analContraction", "maybe", "Yes, No, NT"),
        ("rightLowestNonKeyMuscleWithMotorFunction", "X9", "C5"),
    ],
)
def test_invalid_value_names_field_value_and_allowed(
    field: str, value: str, allowed_fragment: str
) -> None:
    errors = errors_of(normal_exam(**{field: value}))
    assert [e.field for e in errors] == [field]
    assert errors[0].value == value
    assert allowed_fragment in errors[0].allowed
    assert field in str(errors[0]) and value in str(errors[0])


def test_missing_cell_is_an_error() -> None:
    data = normal_exam()
    del data["s4_5LeftPrick"]
    errors = errors_of(data)
    assert [e.field for e in errors] == ["s4_5LeftPrick"]


def test_every_error_is_reported_at_once_with_the_exam_id() -> None:
    data = normal_exam(c5RightMotor="6", c6LeftTouch="x", id="p7")
    with pytest.raises(ExamValidationError) as info:
        Exam.from_rhi(data)
    assert {e.field for e in info.value.errors} == {"c5RightMotor", "c6LeftTouch"}
    assert "p7" in str(info.value)


def test_unknown_cell_like_key_is_rejected_but_metadata_is_ignored() -> None:
    assert [e.field for e in errors_of(normal_exam(c9RightTouch="2"))] == ["c9RightTouch"]
    Exam.from_rhi(normal_exam(comments="anything", tags="x"))


def test_booleans_are_not_grades() -> None:
    assert errors_of(normal_exam(c5RightMotor=True))[0].field == "c5RightMotor"  # type: ignore[arg-type]


def test_integers_are_accepted_as_grades() -> None:
    exam = Exam.from_rhi(normal_exam(c5RightMotor=4))  # type: ignore[arg-type]
    assert exam.to_rhi()["c5RightMotor"] == "4"


@pytest.mark.parametrize("index", range(20))
def test_rhi_round_trip(index: int) -> None:
    data = exam_at(3, index)
    exam = Exam.from_rhi(data)
    again = Exam.from_rhi(exam.to_rhi())
    assert again == exam
    assert classify(again).to_rhi() == classify(exam).to_rhi()


def test_all_normal_exam_is_e_and_intact() -> None:
    result = classify(Exam.from_rhi(normal_exam())).to_rhi()
    assert result["asiaImpairmentScale"] == "E"
    assert result["neurologicalLevelOfInjury"] == "INT"
    assert result["upperMotorTotal"] == "50" and result["touchTotal"] == "112"
