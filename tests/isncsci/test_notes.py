"""Comments and flag reasons beside the grades (``cordtrial.isncsci.notes``): the checks."""

from __future__ import annotations

import pytest

from cordtrial.isncsci import Exam, ExamValidationError
from cordtrial.isncsci.notes import MAX_COMMENTS, MAX_REASON, clean_notes, notes_from_rhi
from cordtrial.isncsci.synthetic import generate_exams

PLAIN = {"nt_rate": 0.0, "flag_rate": 0.0, "nonkey_rate": 0.0, "anal_nt_rate": 0.0}


@pytest.fixture
def exam() -> Exam:
    rhi = generate_exams(1, 4, pattern_weights={"normal": 1.0}, **PLAIN)[0]
    rhi.update(c5RightMotor="2*", t6LeftTouch="1**", c6RightMotor="4")
    return Exam.from_rhi(rhi)


def test_reasons_for_flagged_cells_are_kept_in_worksheet_order(exam):
    notes = clean_notes(
        exam,
        "  Pain in the left shoulder.\r\nRe-test in 2 weeks.  ",
        {"t6LeftTouch": " shingles scar ", "c5RightMotor": "biceps tendon rupture"},
    )
    assert notes.comments == "Pain in the left shoulder.\nRe-test in 2 weeks."
    assert list(notes.flag_reasons.items()) == [
        ("c5RightMotor", "biceps tendon rupture"),
        ("t6LeftTouch", "shingles scar"),
    ]


def test_empty_notes_are_none(exam):
    notes = clean_notes(exam, "   ", {"c5RightMotor": "  "})
    assert (notes.comments, notes.flag_reasons) == (None, {})


def test_a_reason_for_a_cell_without_a_flag_names_the_flagged_cells(exam):
    with pytest.raises(ExamValidationError) as err:
        clean_notes(exam, None, {"c6RightMotor": "no flag here", "nosuchcell": "x"})
    by_field = {e.field: e for e in err.value.errors}
    assert set(by_field) == {"c6RightMotorReason", "nosuchcellReason"}
    assert "c5RightMotor (2*)" in by_field["c6RightMotorReason"].allowed
    assert "t6LeftTouch (1**)" in by_field["c6RightMotorReason"].allowed


@pytest.mark.parametrize(
    ("comments", "reasons", "field"),
    [
        ("x" * (MAX_COMMENTS + 1), None, "comments"),
        ("bell\x07", None, "comments"),
        (None, {"c5RightMotor": "y" * (MAX_REASON + 1)}, "c5RightMotorReason"),
        (None, {"c5RightMotor": "two\nlines"}, "c5RightMotorReason"),
        (None, {"c5RightMotor": 5}, "c5RightMotorReason"),
        (17, None, "comments"),
        (None, ["c5RightMotor"], "flag_reasons"),
    ],
)
def test_bad_notes_are_refused_naming_the_field(exam, comments, reasons, field):
    with pytest.raises(ExamValidationError) as err:
        clean_notes(exam, comments, reasons)
    assert [e.field for e in err.value.errors] == [field]


def test_notes_travel_in_the_rhi_naming_and_the_classification_ignores_them(exam):
    rhi = exam.to_rhi() | {"comments": "ok", "c5RightMotorReason": "rupture", "noteX": "-"}
    assert notes_from_rhi(rhi) == ("ok", {"c5RightMotor": "rupture"})
    assert Exam.from_rhi(rhi) == exam
