"""Systematic exams for the differential test of the star rules (``*``/``**`` flags, NT).

Clinically shaped generated exams rarely combine flags: these grids take a small context (an
all-normal exam, or an injury) and vary a few cells over the whole value vocabulary, so that
every combination of flags the star rules distinguish is classified by both engines.
"""

from __future__ import annotations

from itertools import product

from cordtrial.isncsci.exam import DAP_KEY, VAC_KEY, motor_key, non_key_key, sensory_key
from cordtrial.isncsci.levels import KEY_MUSCLES, SENSORY_LEVELS, SIDES
from cordtrial.isncsci.values import MOTOR_VALUES, SENSORY_VALUES

Exam = dict[str, str]


def normal_exam() -> Exam:
    exam = {VAC_KEY: "Yes", DAP_KEY: "Yes"}
    for side in SIDES:
        for level in SENSORY_LEVELS:
            exam[sensory_key(level, side, "Touch")] = "2"
            exam[sensory_key(level, side, "Prick")] = "2"
        for level in KEY_MUSCLES:
            exam[motor_key(level, side)] = "5"
    return exam


def injured(first_lost: str, sides=SIDES, vac: str = "No", dap: str = "No") -> Exam:
    """Sensation and key muscles 0 from ``first_lost`` down on ``sides``."""
    exam = normal_exam()
    exam.update({VAC_KEY: vac, DAP_KEY: dap})
    start = SENSORY_LEVELS.index(first_lost)
    for side in sides:
        for level in SENSORY_LEVELS[start:]:
            exam[sensory_key(level, side, "Touch")] = "0"
            exam[sensory_key(level, side, "Prick")] = "0"
        for level in KEY_MUSCLES:
            if SENSORY_LEVELS.index(level) >= start:
                exam[motor_key(level, side)] = "0"
    return exam


def _vary(name: str, base: Exam, keys: tuple[str, ...], values) -> list[Exam]:
    out = []
    for combo in product(*values):
        exam = dict(base)
        exam.update(zip(keys, combo, strict=True))
        exam["id"] = f"{name}:" + "/".join(combo)
        out.append(exam)
    return out


def flag_grids() -> list[Exam]:
    """About 7,000 exams, each with an id naming its grid and its varied values."""
    s, m = SENSORY_VALUES, MOTOR_VALUES
    sacral = ("0", "0*", "0**", "NT", "NT*", "1")
    muscles = ("5", "0", "NT", "2*", "0**", "2**")
    exams = _vary(
        "dermatome T6",
        normal_exam(),
        (sensory_key("T6", "right", "Touch"), sensory_key("T6", "right", "Prick")),
        (s, s),
    )
    for level in ("C4", "C6", "T2", "S3"):
        exams += _vary(
            f"both sides {level}",
            normal_exam(),
            (sensory_key(level, "right", "Touch"), sensory_key(level, "left", "Prick")),
            (s, s),
        )
    exams += _vary(
        "sensory ZPP T8",
        injured("T5"),
        (sensory_key("T8", "right", "Touch"), sensory_key("T8", "right", "Prick")),
        (s, s),
    )
    exams += _vary(
        "S4-5",
        injured("T5"),
        tuple(sensory_key("S4_5", side, kind) for side in SIDES for kind in ("Touch", "Prick")),
        (sacral,) * 4,
    )
    exams += _vary(
        "S4-5 and VAC",
        normal_exam(),
        (sensory_key("S4_5", "right", "Touch"), sensory_key("S4_5", "right", "Prick"), VAC_KEY),
        (s, s, ("Yes", "No", "NT")),
    )
    exams += _vary(
        "C6 both sides", normal_exam(), (motor_key("C6", "right"), motor_key("C6", "left")), (m, m)
    )
    exams += _vary(
        "C5 both sides below C4",
        injured("C5", dap="Yes"),
        (motor_key("C5", "right"), motor_key("C5", "left")),
        (m, m),
    )
    exams += _vary(
        "lower limbs below T1",
        injured("T2", dap="Yes"),
        (motor_key("L3", "right"), motor_key("L4", "left")),
        (m, m),
    )
    exams += _vary(
        "right arm, VAC No",
        {**normal_exam(), VAC_KEY: "No"},
        tuple(motor_key(level, "right") for level in ("C5", "C6", "C7", "T1", "L2")),
        (muscles, muscles, muscles, ("0", "0**", "5", "NT"), ("0", "5", "0**")),
    )
    for dap in ("Yes", "No"):
        exams += _vary(
            f"non-key muscle, DAP {dap}",
            injured("C5", sides=("right",), dap=dap),
            (
                non_key_key("right"),
                motor_key("C6", "right"),
                motor_key("L3", "right"),
                sensory_key("S4_5", "right", "Touch"),
            ),
            (
                ("", "C8", "T1", "L2", "L4", "S1"),
                ("5", "0", "NT", "2*", "0**"),
                ("5", "0", "NT", "0*", "0**"),
                ("0", "1", "0*"),
            ),
        )
    return exams


def nt_above_a_muscle_considered_normal(exam: Exam, field: str) -> bool:
    """Section 4a of docs/isncsci-differential.md: a motor level or NLI that ends at a key
    muscle considered normal (``x**`` below 3) right below a not-testable key muscle, where the
    reference drops the star; a star-only difference there is documented, not a failure."""
    if not (field.endswith("Motor") or field == "neurologicalLevelOfInjury"):
        return False
    sides = [field[: -len("Motor")]] if field.endswith("Motor") else list(SIDES)
    for side in sides:
        grades = [exam[motor_key(level, side)] for level in KEY_MUSCLES]
        for above, here in zip(grades, grades[1:], strict=False):
            if above == "NT" and here.endswith("**") and here[0] in "012":
                return True
    return False
