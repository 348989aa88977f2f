"""Regression tests for rules inferred by probing the reference algorithm (npm isncsci 2.0.6).

Each test is one small hand-built exam: an all-normal exam with a few cells changed. The expected
values are the reference's answers for that exam (see docs/isncsci-differential.md).
"""

from __future__ import annotations

import pytest

from cordtrial.isncsci import Exam, classify
from cordtrial.isncsci.exam import DAP_KEY, VAC_KEY, motor_key, non_key_key, sensory_key
from cordtrial.isncsci.levels import SENSORY_LEVELS, SIDES

from .flag_grids import injured, normal_exam

LOWER = ("L2", "L3", "L4", "L5", "S1")


def result(exam: dict[str, str]) -> dict[str, str]:
    return classify(Exam.from_rhi(exam)).to_rhi()


# --- motor ZPP and the lowest non-key muscle with motor function -----------------------------


def c4_sensory_incomplete(**changes: str) -> dict[str, str]:
    """Motor and sensory level C4 on both sides, right S4-5 light touch 1 (sacral sparing)."""
    exam = injured("C5")
    exam[sensory_key("S4_5", "right", "Touch")] = "1"
    exam.update(changes)
    return exam


@pytest.mark.parametrize(
    ("key_muscle", "non_key", "zpp"),
    [
        ("C6", "L4", "L4"),  # far below the C6 function: the non-key muscle extends the ZPP
        ("C6", "C8", "C6"),  # only two levels below C6: ignored
        ("C6", "T1", "C6"),  # three levels below C6: ignored
        ("C5", "T1", "T1"),  # four levels below C5: used
        ("L2", "L5", "L2"),
        ("L2", "S1", "S1"),
    ],
)
def test_non_key_muscle_extends_motor_zpp_beyond_three_levels_below_key_function(
    key_muscle: str, non_key: str, zpp: str
) -> None:
    exam = c4_sensory_incomplete(
        **{motor_key(key_muscle, "right"): "1", non_key_key("right"): non_key}
    )
    out = result(exam)
    assert out["asiaImpairmentScale"] == "C"
    assert out["rightMotorZpp"] == zpp
    assert out["leftMotorZpp"] == "C4"


def test_non_key_muscle_without_key_function_below_compares_with_the_motor_level() -> None:
    assert (
        result(c4_sensory_incomplete(rightLowestNonKeyMuscleWithMotorFunction="C8"))[
            "rightMotorZpp"
        ]
        == "C8"
    )
    out = result(c4_sensory_incomplete(rightLowestNonKeyMuscleWithMotorFunction="C7"))
    assert (out["rightMotorZpp"], out["asiaImpairmentScale"]) == ("C4", "B")


def test_non_key_muscle_is_ignored_for_the_zpp_in_a_complete_injury() -> None:
    exam = injured("C5")
    exam.update({motor_key("C6", "right"): "1", non_key_key("right"): "L4"})
    out = result(exam)
    assert (out["asiaImpairmentScale"], out["rightMotorZpp"]) == ("A", "C6")


def test_non_key_muscle_is_ignored_for_the_zpp_when_the_grade_is_d() -> None:
    # Right side injured below C4, left side normal: AIS D (10 of 20 key muscles >= 3).
    exam = injured("C5", sides=("right",), dap="Yes")
    exam.update({motor_key("C6", "right"): "1", non_key_key("right"): "L4"})
    out = result(exam)
    assert (out["asiaImpairmentScale"], out["rightMotorZpp"]) == ("D", "C6")


def test_non_key_muscle_zpp_lists_both_zpps_when_the_grade_may_be_c_or_d() -> None:
    # Deliberate deviation (docs/isncsci-differential.md): the reference answers "L4" only, but
    # with left C5 graded >= 3 the grade is D and the ZPP C6, so both are possible.
    exam = injured("C5", sides=("right",), dap="Yes")
    exam.update(
        {motor_key("C6", "right"): "1", non_key_key("right"): "L4", motor_key("C5", "left"): "NT"}
    )
    out = result(exam)
    assert (out["asiaImpairmentScale"], out["rightMotorZpp"]) == ("C,D", "C6,L4")


def test_non_key_muscle_zpp_consults_the_grade_without_vac_when_vac_is_untested() -> None:
    # Deliberate deviation: the reference answers "NA,C5", but with VAC the ZPP is NA and
    # without it the injury is complete (A), where the non-key muscle does not count: "NA,C1".
    exam = injured("C2", vac="NT")
    exam[non_key_key("left")] = "C5"
    out = result(exam)
    assert (out["asiaImpairmentScale"], out["leftMotorZpp"]) == ("A,C", "NA,C1")


# --- star on AIS C / D -----------------------------------------------------------------------


def t2_lower_limbs(right: str, left: str) -> dict[str, str]:
    """NLI T2 (right T3 pin prick 0), VAC present, L2-S1 grades given per side."""
    exam = normal_exam()
    exam[sensory_key("T3", "right", "Prick")] = "0"
    for side, grades in (("right", right), ("left", left)):
        for level, grade in zip(LOWER, grades.split(), strict=True):
            exam[motor_key(level, side)] = grade
    return exam


@pytest.mark.parametrize(
    ("right", "left", "ais"),
    [
        ("5 5 5 5 5", "5 5 2** 5 5", "D"),  # D with or without the assumption
        ("2** 2** 2** 0 0", "0 0 0 0 0", "C"),  # C either way
        ("2** 2** 2** 5 5", "0 0 0 0 0", "D*"),  # D only by considering 2** normal
        ("2* 5 5 5 5", "0 0 0 0 0", "C*,D*"),  # the flagged grade decides both ways
        ("2* 5 5 5 5", "5 0 0 0 0", "D"),  # D whatever the flagged grade
        ("0** 5 5 5 0", "0 0 0 0 NT", "C,D*"),  # C without the assumption, D only with it
        ("NT* 5 5 5 0", "0 0 0 0 NT", "C,D"),  # NT* counts as plain NT here
        ("NT** 5 5 5 5", "0 0 0 0 0", "D"),  # NT** counts as >= 3 without a star
    ],
)
def test_star_on_c_or_d_only_when_a_flagged_grade_could_change_it(
    right: str, left: str, ais: str
) -> None:
    assert result(t2_lower_limbs(right, left))["asiaImpairmentScale"] == ais


def test_star_on_c_when_a_flag_moves_the_nli_and_the_literal_nli_gives_d() -> None:
    # Left C4 light touch 0** considered normal: left sensory level T12*, NLI T12*, 4 of 10
    # lower-limb key muscles >= 3 (C). Read literally the NLI is C3 and the grade D.
    exam = normal_exam()
    exam.update(
        {sensory_key("C4", "left", "Touch"): "0**", sensory_key("L1", "left", "Touch"): "1"}
    )
    for side, grades in (("right", "5 0 1 1 5"), ("left", "3 5 1 1 1")):
        for level, grade in zip(LOWER, grades.split(), strict=True):
            exam[motor_key(level, side)] = grade
    out = result(exam)
    assert (out["neurologicalLevelOfInjury"], out["asiaImpairmentScale"]) == ("T12*", "C*")
    # NT** instead: the literal NLI may be T12 too, so C does not rest on the flag.
    exam[sensory_key("C4", "left", "Touch")] = "NT**"
    assert result(exam)["asiaImpairmentScale"] == "C"


def test_no_b_when_only_an_untested_vac_could_make_the_injury_incomplete() -> None:
    # No S4-5 sensation, no DAP, VAC NT: without VAC the injury is complete (A), with VAC it
    # is motor incomplete (C), so B (sensory incomplete, motor complete) is impossible.
    assert result(injured("C5", vac="NT"))["asiaImpairmentScale"] == "A,C"
    assert result(injured("C5", vac="NT", dap="NT"))["asiaImpairmentScale"] == "A,B,C"


# --- stars on the zones of partial preservation ----------------------------------------------


def test_sensory_zpp_counts_a_dermatome_considered_normal_without_a_star() -> None:
    exam = injured("T12")
    exam[sensory_key("T12", "right", "Prick")] = "0**"
    assert result(exam)["rightSensoryZpp"] == "T12"
    exam[sensory_key("T12", "right", "Prick")] = "0*"  # may or may not be present: both starred
    assert result(exam)["rightSensoryZpp"] == "T11*,T12*"
    exam[sensory_key("T12", "right", "Touch")] = "NT"  # the other modality NT: open, no star
    assert result(exam)["rightSensoryZpp"] == "T11,T12"


def test_motor_zpp_unstarred_when_the_literal_exam_gives_the_same_zpp() -> None:
    # Left L3 3** considered normal moves the motor level to S1*, but S1 (graded 5) is the
    # most caudal key muscle with function either way.
    exam = normal_exam()
    exam.update({VAC_KEY: "No", motor_key("L3", "left"): "3**"})
    exam[sensory_key("S2", "left", "Prick")] = "0"
    out = result(exam)
    assert (out["leftMotor"], out["leftMotorZpp"]) == ("S1*", "S1")


# --- stars on AIS from the sacral and motor-incompleteness steps -----------------------------


def test_star_on_incompleteness_alone_does_not_carry_to_c() -> None:
    exam = injured("T12")
    exam.update(
        {
            sensory_key("S4_5", "right", "Touch"): "0*",
            motor_key("L2", "right"): "1",
            motor_key("L3", "right"): "1",
        }
    )
    out = result(exam)
    assert (out["injuryComplete"], out["asiaImpairmentScale"]) == ("C*,I*", "A*,C")


@pytest.mark.parametrize(
    ("changes", "ais"),
    [
        ({motor_key("L4", "left"): "1", motor_key("L4", "right"): "0**"}, "C*"),
        ({motor_key("L4", "right"): "1", motor_key("L4", "left"): "0**"}, "C*"),
        ({non_key_key("left"): "L4", motor_key("L4", "right"): "0**"}, "C*"),
        ({non_key_key("right"): "L5", motor_key("L4", "right"): "0**"}, "C*"),
        ({motor_key("L4", "right"): "1", motor_key("L5", "right"): "0**"}, "C"),
        ({motor_key("L4", "right"): "0**", VAC_KEY: "Yes"}, "C"),
    ],
)
def test_flagged_function_far_below_stars_motor_incompleteness(
    changes: dict[str, str], ais: str
) -> None:
    exam = injured("C5", dap="Yes")
    exam.update(changes)
    assert result(exam)["asiaImpairmentScale"] == ais


def test_motor_zpp_star_from_the_motor_level_only_for_the_most_rostral_candidate() -> None:
    # C7 4** considered normal: motor level L1*; with T5 not testable also T4*.
    exam = injured("L2", dap="Yes")
    exam[motor_key("C7", "right")] = "4**"
    assert result(exam)["rightMotorZpp"] == "L1*"
    exam[sensory_key("T5", "right", "Touch")] = "NT"
    exam[sensory_key("T5", "right", "Prick")] = "NT"
    out = result(exam)
    assert (out["rightMotor"], out["rightMotorZpp"]) == ("T4*,L1*", "T4*,L1")


def test_completeness_unstarred_when_an_anal_observation_is_not_testable() -> None:
    exam = injured("T12")
    exam[sensory_key("S4_5", "right", "Touch")] = "0*"
    assert result(exam)["injuryComplete"] == "C*,I*"
    exam[VAC_KEY] = "NT"
    out = result(exam)
    assert (out["injuryComplete"], out["asiaImpairmentScale"]) == ("C,I", "A,B*,C")


def test_non_key_muscle_above_a_flagged_key_muscle_decides_without_a_star() -> None:
    for non_key, ais in (("L2", "C"), ("L4", "C*"), ("L5", "C*")):
        exam = injured("C5", dap="Yes")
        exam.update({non_key_key("right"): non_key, motor_key("L4", "right"): "0**"})
        assert result(exam)["asiaImpairmentScale"] == ais, non_key


def test_c_starred_when_starred_at_any_possible_nli() -> None:
    # Right C7 pin prick NT: NLI C6 or L1. At C6, 7 of 16 key muscles below are >= 3 and the
    # left L4 0* decides C or D (C*, D*); at L1 the grade is C whatever it is.
    exam = normal_exam()
    exam[sensory_key("C7", "right", "Prick")] = "NT"
    for side, grades in (("right", "5 0 0 0 0"), ("left", "0 0 0* 0 0")):
        for level, grade in zip(LOWER, grades.split(), strict=True):
            exam[motor_key(level, side)] = grade
    out = result(exam)
    assert (out["neurologicalLevelOfInjury"], out["asiaImpairmentScale"]) == ("C6,L1", "C*,D*")


def test_flagged_function_far_below_does_not_star_c_when_only_vac_makes_it_incomplete() -> None:
    # VAC NT, no DAP, no S4-5 sensation: C needs VAC, which decides without a star.
    exam = injured("C5", vac="NT")
    exam[motor_key("L4", "right")] = "0**"
    assert result(exam)["asiaImpairmentScale"] == "A,C"


@pytest.mark.parametrize(
    ("changes", "nli"),
    [
        ({motor_key("C5", "left"): "1*"}, "C4,C5"),  # right side intact
        ({motor_key("C5", "left"): "1*", motor_key("C6", "right"): "0"}, "C4,C5*"),
        ({motor_key("C5", "left"): "1*", motor_key("C6", "right"): "3"}, "C4,C5"),
        ({motor_key("C5", "left"): "1*", sensory_key("C6", "right", "Prick"): "0"}, "C4,C5"),
        ({motor_key("C5", "left"): "NT*", motor_key("C6", "right"): "0"}, "C4,C5*"),
        # The right motor level ends at T1 by sensation (T2), not by its muscles: no star.
        ({motor_key("T1", "left"): "2*", sensory_key("T2", "right", "Prick"): "0"}, "C8,T1"),
        (
            {
                motor_key("T1", "left"): "2*",
                sensory_key("T2", "right", "Prick"): "0",
                motor_key("T1", "right"): "NT",
            },
            "C8,T1*",
        ),
    ],
)
def test_nli_star_from_a_not_normal_muscle_only_when_both_motor_levels_agree(
    changes: dict[str, str], nli: str
) -> None:
    exam = normal_exam()
    exam.update(changes)
    assert result(exam)["neurologicalLevelOfInjury"] == nli


def test_c_by_untested_vac_and_by_a_flagged_muscle_is_unstarred() -> None:
    # VAC NT, DAP present: C either by VAC (no flag) or, without VAC, by right L3 0** far below.
    exam = injured("T12", vac="NT", dap="Yes")
    exam[motor_key("L3", "right")] = "0**"
    assert result(exam)["asiaImpairmentScale"] == "C"


@pytest.mark.parametrize(
    ("changes", "side", "motor", "nli"),
    [
        # A not-testable dermatome in the region checked at a region exit: no star.
        (
            {sensory_key("C6", "left", "Prick"): "NT", sensory_key("T1", "left", "Prick"): "1**"},
            "left",
            "T1,INT",
            "C5,INT*",
        ),
        (
            {sensory_key("L2", "right", "Prick"): "0**", sensory_key("S2", "right", "Prick"): "NT"},
            "right",
            "S1,INT",
            "S1*,INT*",
        ),
        (
            {sensory_key("L2", "right", "Touch"): "NT", sensory_key("L2", "right", "Prick"): "0**"},
            "right",
            "S1,INT",
            "L1,INT*",
        ),
        # The NT outside the region: the star stays.
        (
            {sensory_key("C6", "right", "Prick"): "0**", sensory_key("T3", "right", "Prick"): "NT"},
            "right",
            "T2*,INT*",
            "T2*,INT*",
        ),
    ],
)
def test_motor_level_star_dropped_where_a_region_exit_also_has_a_not_testable_dermatome(
    changes: dict[str, str], side: str, motor: str, nli: str
) -> None:
    exam = normal_exam()
    exam.update(changes)
    out = result(exam)
    assert (out[f"{side}Motor"], out["neurologicalLevelOfInjury"]) == (motor, nli)


def test_b_not_starred_for_a_flagged_muscle_when_vac_is_not_testable() -> None:
    # Right L2 0 (motor level L1), L5 0* and S1 0 far below: B* (0* without function) or D.
    exam = normal_exam()
    exam.update(
        {
            VAC_KEY: "No",
            motor_key("L2", "right"): "0",
            motor_key("L5", "right"): "0*",
            motor_key("S1", "right"): "0",
        }
    )
    assert result(exam)["asiaImpairmentScale"] == "B*,D"
    exam[VAC_KEY] = "NT"
    assert result(exam)["asiaImpairmentScale"] == "B,D"


def test_motor_zpp_literal_check_ignores_a_non_key_muscle_the_literal_grade_would_use() -> None:
    # Left C8 1** considered normal: left motor level T1*, AIS D*, ZPP T1. Read literally the
    # grade would be C and the non-key L4 the ZPP, but T1 is still the key-muscle ZPP there.
    exam = injured("L2")
    exam.update(
        {
            DAP_KEY: "Yes",
            sensory_key("C2", "right", "Touch"): "0",
            motor_key("C8", "left"): "1**",
            sensory_key("T2", "left", "Prick"): "0",
            non_key_key("left"): "L4",
        }
    )
    for level in SENSORY_LEVELS[SENSORY_LEVELS.index("L2") :]:
        for side in SIDES:
            exam[sensory_key(level, side, "Touch")] = "2"
            exam[sensory_key(level, side, "Prick")] = "2"
    out = result(exam)
    assert (out["leftMotor"], out["leftMotorZpp"]) == ("T1*", "T1")


def _considered_normal_down_to(level: str, muscles: tuple[str, ...]) -> dict[str, str]:
    """Injured from ``level`` down; right ``muscles`` 0** (considered normal), so the right
    motor level is the last of them, starred; read literally it is the level above the first
    (left: the same muscles 0). Right S4-5 light touch 1 and a right non-key muscle at the
    starred level: read literally the grade is C and that muscle, four levels below, the ZPP."""
    exam = injured(level)
    for muscle in muscles:
        exam[motor_key(muscle, "right")] = "0**"
        exam[motor_key(muscle, "left")] = "0"
    exam[sensory_key("S4_5", "right", "Touch")] = "1"
    exam[non_key_key("right")] = muscles[-1]
    return exam


@pytest.mark.parametrize(
    ("exam", "motor", "zpp"),
    [
        (_considered_normal_down_to("T1", ("C5", "C6", "C7", "C8")), "C8*", "C8*"),
        (_considered_normal_down_to("L2", ("L2", "L3", "L4", "L5")), "L5*", "L5*"),
        (_considered_normal_down_to("L2", ("L2", "L3", "L4", "L5")) | {VAC_KEY: "NT"},
         "L5*", "NA,L5*"),
    ],
)  # fmt: skip
def test_motor_zpp_literal_check_reads_no_non_key_muscle_at_the_starred_level(
    exam: dict[str, str], motor: str, zpp: str
) -> None:
    # The ZPP ends at the starred motor level; read literally the non-key muscle would give
    # that very level (grade C, four levels below the literal motor level), but the reference
    # reads only the key muscles there and keeps the star.
    out = result(exam)
    assert (out["rightMotor"], out["rightMotorZpp"]) == (motor, zpp)


# --- issue 17: NT** stars, flagged grades and the non-key ZPP, and rules found by probing ----
# Each expected value is the reference's answer for the exam (docs/isncsci-differential.md,
# section 3b).


def test_plain_nt_beside_nt_considered_normal_stars_no_value_of_the_open_levels() -> None:
    # Right light touch NT and pin prick NT** at every dermatome: every level is open, and no
    # value rests on the NT** alone (the plain NT could be normal or not).
    exam = normal_exam()
    for level in SENSORY_LEVELS:
        exam[sensory_key(level, "right", "Touch")] = "NT"
        exam[sensory_key(level, "right", "Prick")] = "NT**"
    out = result(exam)
    for key in ("rightSensory", "neurologicalLevelOfInjury"):
        assert "*" not in out[key] and out[key].startswith("C1,C2,C3,") and out[key].endswith("INT")
    assert "*" not in out["rightMotor"] and out["rightMotor"].endswith("S3,INT")
    assert out["asiaImpairmentScale"] == "D,E"


@pytest.mark.parametrize(
    ("touch", "prick", "sensory", "nli"),
    [
        ("NT", "NT**", "T5,INT", "T5,INT"),  # open, no star
        ("NT**", "NT", "T5,INT", "T5,INT"),
        # Not normal by assumption (the NLI's stop is plain: the left side is normal).
        ("NT", "NT*", "T5*", "T5"),
        ("NT*", "NT", "T5*", "T5"),
        ("NT*", "NT**", "T5*", "T5"),
        ("NT**", "NT**", "INT*", "INT*"),
        ("NT", "1**", "T5,INT*", "T5,INT*"),  # a recorded grade considered normal: starred
    ],
)
def test_a_dermatome_with_both_modalities_untested_reads_as_one_untested_dermatome(
    touch: str, prick: str, sensory: str, nli: str
) -> None:
    exam = normal_exam()
    exam[sensory_key("T6", "right", "Touch")] = touch
    exam[sensory_key("T6", "right", "Prick")] = prick
    out = result(exam)
    assert (out["rightSensory"], out["rightMotor"], out["neurologicalLevelOfInjury"]) == (
        sensory,
        sensory,
        nli,
    )


@pytest.mark.parametrize("value", ["NT**", "0**", "1**"])
def test_motor_zpp_starred_where_untested_dermatomes_considered_normal_end_the_motor_level(
    value: str,
) -> None:
    # T5 and T6 considered normal below T4, VAC absent: sensory and motor level T6*, motor ZPP
    # T6*. Read literally an NT** says nothing normal, so the ZPP rests on the flag.
    exam = injured("T5", sides=("right",))
    for level in ("T5", "T6"):
        exam[sensory_key(level, "right", "Touch")] = value
        exam[sensory_key(level, "right", "Prick")] = "2"
    out = result(exam)
    assert (out["rightSensory"], out["rightMotor"], out["rightMotorZpp"]) == ("T6*", "T6*", "T6*")


def test_motor_zpp_of_a_muscle_untested_but_considered_normal_can_be_plain() -> None:
    # Right C5 and C6 NT** below C4: motor level C6*, but C6 may have function read literally.
    exam = injured("C5", sides=("right",))
    exam[motor_key("C5", "right")] = "NT**"
    exam[motor_key("C6", "right")] = "NT**"
    out = result(exam)
    assert (out["rightMotor"], out["rightMotorZpp"]) == ("C6*", "C6")


@pytest.mark.parametrize(
    ("changes", "ais", "zpp"),
    [
        ({sensory_key("S4_5", "left", "Prick"): "0*"}, "A*,C", "L4"),  # open by a flag
        ({sensory_key("S4_5", "left", "Prick"): "NT*"}, "A,C", "L4"),
        ({sensory_key("S4_5", "left", "Prick"): "1"}, "C", "L4"),
        ({sensory_key("S4_5", "left", "Prick"): "0"}, "A", "T1"),
    ],
)
def test_a_grade_open_by_flags_lists_only_the_non_key_motor_zpp(
    changes: dict[str, str], ais: str, zpp: str
) -> None:
    # The generated exams: right lowest non-key muscle L4 with VAC and DAP absent. With
    # the grade open between A and C only by a flag (or an NT*, which completions keep), the
    # ZPP is the non-key muscle alone; T1 (the key-muscle ZPP) is not listed.
    exam = injured("T2")
    exam.update({non_key_key("right"): "L4", **changes})
    out = result(exam)
    assert (out["asiaImpairmentScale"], out["rightMotorZpp"]) == (ais, zpp)


def test_a_grade_open_by_a_flagged_muscle_lists_only_the_non_key_motor_zpp() -> None:
    exam = injured("T2", dap="No")
    exam.update({sensory_key("S4_5", "left", "Touch"): "1", non_key_key("right"): "S1"})
    for level, grade in zip(LOWER, ("5", "5", "5", "5", "2*"), strict=True):
        exam[motor_key(level, "left")] = grade
    out = result(exam)
    assert (out["asiaImpairmentScale"], out["rightMotorZpp"]) == ("C*,D*", "S1")


@pytest.mark.parametrize(
    ("cells", "complete", "ais"),
    [
        (("0*",), "C*,I*", "A*,B*"),  # open only by a flag: both starred
        (("0*", "NT"), "C,I", "A,B"),  # open by a not-testable cell anyway: no star
        (("0*", "NT*"), "C,I", "A,B"),
        (("0**",), "I*", "B*"),  # incomplete only by an assumption
        (("0**", "0*"), "I", "B*"),  # the 0* may be present without the other condition
        (("0**", "NT"), "I", "B"),
    ],
)
def test_completeness_star_from_the_sacral_cells(
    cells: tuple[str, ...], complete: str, ais: str
) -> None:
    exam = injured("T5")
    keys = (sensory_key("S4_5", "right", "Touch"), sensory_key("S4_5", "left", "Prick"))
    exam.update(dict(zip(keys, cells, strict=False)))
    out = result(exam)
    assert (out["injuryComplete"], out["asiaImpairmentScale"]) == (complete, ais)


@pytest.mark.parametrize(
    ("right", "left", "nli"),
    [
        ("NT*", "0**", "C3"),  # only the right side stops on a flag: no star
        ("NT*", "NT*", "C3*"),  # both sides stop on a flag
        ("NT*", "2", "C3"),
    ],
)
def test_nli_stop_in_a_region_without_key_muscles_starred_only_when_both_sides_stop_on_flags(
    right: str, left: str, nli: str
) -> None:
    exam = normal_exam()
    exam[sensory_key("C4", "right", "Touch")] = right
    exam[sensory_key("C4", "left", "Prick")] = left
    assert result(exam)["neurologicalLevelOfInjury"] == nli


@pytest.mark.parametrize("grades", [("0*", "0*"), ("2*", "NT*"), ("4*", "1*")])
def test_nli_starred_where_the_same_muscle_is_flagged_not_normal_on_both_sides(
    grades: tuple[str, str],
) -> None:
    exam = normal_exam()
    exam[motor_key("C6", "right")], exam[motor_key("C6", "left")] = grades
    assert result(exam)["neurologicalLevelOfInjury"] == "C5,C6*"


@pytest.mark.parametrize(
    ("prick", "vac", "motor"),
    [
        ("0**", "No", "S3*"),  # S4-5 normal only by assumption, no VAC: S3 rests on it too
        ("NT*", "No", "S3*"),
        ("0**", "NT", "S3*,INT*"),
        ("2", "No", "S3"),
        ("0*", "No", "S3"),  # a recorded 0 is not normal either way
    ],
)
def test_motor_level_at_s4_5_keeps_the_star_of_its_sensation_whatever_vac_says(
    prick: str, vac: str, motor: str
) -> None:
    exam = normal_exam()
    exam.update({sensory_key("S4_5", "right", "Prick"): prick, VAC_KEY: vac})
    assert result(exam)["rightMotor"] == motor


def test_sensory_zpp_ending_at_c1_is_never_starred() -> None:
    exam = injured("C2", sides=("left",), dap="No")
    exam[sensory_key("T4", "left", "Prick")] = "0*"
    assert result(exam)["leftSensoryZpp"] == "C1,T4*"


@pytest.mark.parametrize(
    ("changes", "first_lost", "motor", "zpp"),
    [
        # The candidate's own dermatome considered normal: starred at any candidate.
        (
            {"T5": ("NT", "2"), "T6": ("0**", "2")},
            "T6",
            "T4,T6*",
            "T4,T6*",
        ),
        ({"S3": ("NT", "0**")}, None, "S2,S3*", "S2,S3*"),
        ({"S2": ("1**", "NT"), "S3": ("2", "0")}, None, "S1,S2", "S1,S2*"),
        # The flag further up: the star stays only on the most rostral candidate.
        ({"T5": ("0**", "2"), "T8": ("NT", "2")}, "T10", "T7*,T9*", "T7*,T9"),
        ({"T5": ("NT", "2"), "T8": ("0**", "2")}, "T10", "T4,T9*", "T4,T9"),
        # An untested dermatome considered normal is not a recorded grade.
        ({"T2": ("NT", "NT"), "T3": ("NT**", "NT**")}, "T2", "T1,T3*", "T1,T3"),
    ],
)
def test_motor_zpp_starred_at_a_motor_level_that_rests_on_its_own_dermatome(
    changes: dict[str, tuple[str, str]], first_lost: str | None, motor: str, zpp: str
) -> None:
    exam = injured(first_lost, sides=("right",), dap="Yes") if first_lost else normal_exam()
    exam[VAC_KEY] = "No"
    for level, (touch, prick) in changes.items():
        exam[sensory_key(level, "right", "Touch")] = touch
        exam[sensory_key(level, "right", "Prick")] = prick
    out = result(exam)
    assert (out["rightMotor"], out["rightMotorZpp"]) == (motor, zpp)


@pytest.mark.parametrize(
    ("changes", "motor", "ais"),
    [
        # Function far below is taken at the most rostral motor level candidate.
        ({"C6": "2*", "T1": "0**"}, "C5,C6*", "D*"),
        ({"C5": "2*", "C6": "0", "C8": "0**"}, "C4,C5*", "D*"),
        ({"C5": "NT", "C6": "0", "T1": "0**"}, "C4,C5", "D"),
        # B starred where a muscle considered normal gives function far below a candidate.
        ({"T1": "NT", "L2": "0**"}, "C8,T1,S3*", "B*,D*"),
        ({"C5": "NT", "L2": "0**"}, "C4,C5,S3*", "B,D"),
        ({"T1": "0**"}, "S3*", "B"),  # a flag that moves the motor level alone: B unstarred
        # B starred where "no function far below" rests on a 0* at any candidate.
        ({"L3": "NT", "S1": "0*"}, "L2,L3,L5,S1*", "B*,D"),
    ],
)
def test_motor_incompleteness_stars_along_the_motor_level_candidates(
    changes: dict[str, str], motor: str, ais: str
) -> None:
    exam = normal_exam()
    exam[VAC_KEY] = "No"
    exam.update({motor_key(level, "right"): grade for level, grade in changes.items()})
    out = result(exam)
    assert (out["rightMotor"], out["asiaImpairmentScale"]) == (motor, ais)


def test_a_non_key_muscle_below_a_flagged_key_muscle_keeps_its_star() -> None:
    # Right S1 0* with the non-key muscle at S1: function far below either way, and the "no"
    # the 0* allows becomes function by the non-key muscle with the star kept (B*).
    exam = normal_exam()
    exam.update(
        {
            VAC_KEY: "No",
            motor_key("L3", "right"): "NT",
            motor_key("S1", "right"): "0*",
            non_key_key("right"): "S1",
        }
    )
    assert result(exam)["asiaImpairmentScale"] == "B*,D"
