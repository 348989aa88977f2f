"""``classify``: the whole ISNCSCI 2019 classification of one exam, step by step.

The rules are written once, column-wise (one module per step); a single exam is classified as
a batch of one, and ``cordtrial.isncsci.batch`` runs the same code on whole tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .ais import GRADES, asia_impairment_scale
from .answers import head
from .candidates import Candidates
from .codes import encode_exam
from .completeness import injury_complete
from .exam import Exam
from .levels import INT, SIDES, level_name
from .motor_level import motor_level
from .nli import neurological_level
from .sensory_level import sensory_level
from .sides import Exams, Result
from .totals import Totals, totals
from .zpp import NA, ZPP_NAMES, motor_zpp, sensory_zpp, with_appended, zpp_name

#: The 25 result fields in the reference cases' order (flat RHI naming).
RESULT_KEYS: tuple[str, ...] = (
    "rightUpperMotorTotal", "leftUpperMotorTotal", "rightLowerMotorTotal",
    "leftLowerMotorTotal", "rightMotorTotal", "leftMotorTotal", "upperMotorTotal",
    "lowerMotorTotal", "rightTouchTotal", "leftTouchTotal", "touchTotal", "rightPrickTotal",
    "leftPrickTotal", "prickTotal", "rightSensory", "leftSensory", "rightMotor", "leftMotor",
    "neurologicalLevelOfInjury", "injuryComplete", "asiaImpairmentScale", "rightSensoryZpp",
    "leftSensoryZpp", "rightMotorZpp", "leftMotorZpp",
)  # fmt: skip
TOTAL_KEYS = RESULT_KEYS[:14]

#: The value of each row of a result, per kind of result.
LEVEL_VALUES: tuple[int, ...] = tuple(range(len(ZPP_NAMES) - 1))
ZPP_VALUES: tuple[int, ...] = (NA, *LEVEL_VALUES)
VALUES: dict[str, tuple] = {
    **{k: LEVEL_VALUES for k in ("rightSensory", "leftSensory", "rightMotor", "leftMotor",
                                 "neurologicalLevelOfInjury")},
    "injuryComplete": ("C", "I"),
    "asiaImpairmentScale": tuple(GRADES),
    **{k: ZPP_VALUES for k in ("rightSensoryZpp", "leftSensoryZpp", "rightMotorZpp",
                               "leftMotorZpp")},
}  # fmt: skip
#: The display name of each row, per result.
NAMES: dict[str, tuple[str, ...]] = {
    key: tuple(zpp_name(v) if values is ZPP_VALUES else
               level_name(v) if values is LEVEL_VALUES else str(v) for v in values)
    for key, values in VALUES.items()
}  # fmt: skip


def classify_exams(exams: Exams) -> dict[str, np.ndarray | Result]:
    """Every result of every exam (column): the totals as int16 arrays (``totals.ND_CODE``
    where not determined), the other 11 fields as ``Result`` (one row per value, ``VALUES``;
    packed along the exams, see ``answers.pack``)."""
    n = exams.n
    exams = with_appended(exams)  # classified in this pass, dropped below
    levels = (INT + 1, exams.width)
    out: dict[str, Result] = {}
    for side in exams.sides:
        out[f"{side.name}Sensory"] = sensory_level(side).result(levels)
        out[f"{side.name}Motor"] = motor_level(side, exams.vac).result(levels)
    out["neurologicalLevelOfInjury"] = neurological_level(exams).result(levels)
    out["injuryComplete"] = injury_complete(exams)
    out["asiaImpairmentScale"] = asia_impairment_scale(exams)
    motor = motor_zpp(exams)
    for side in exams.sides:
        out[f"{side.name}SensoryZpp"] = sensory_zpp(exams, side)
        out[f"{side.name}MotorZpp"] = motor[side.name]
    results = dict(totals(exams)) | out
    if exams.n == n:
        return results
    return {key: _first(value, n) for key, value in results.items()}


def _first(value: np.ndarray | Result, n: int) -> np.ndarray | Result:
    """A result (totals: one value per exam; others packed) of the first ``n`` exams alone."""
    if isinstance(value, Result):
        return Result(head(value.present, n), head(value.starred, n))
    return value[:n]


def candidates(key: str, result: Result, column: int) -> Candidates:
    """One exam's value(s) of a result (unpacked), each with its star."""
    values = VALUES[key]
    rows = np.flatnonzero(result.present[:, column])
    return Candidates(tuple((values[r], bool(result.starred[r, column])) for r in rows))


@dataclass(frozen=True)
class Classification:
    """Everything the standard derives from one exam. Levels and grades are ``Candidates``:
    usually one value, several where not-testable cells leave the result open."""

    totals: Totals
    sensory_level: dict[str, Candidates]
    motor_level: dict[str, Candidates]
    neurological_level: Candidates
    injury_complete: Candidates
    ais: Candidates
    sensory_zpp: dict[str, Candidates]
    motor_zpp: dict[str, Candidates]
    exam: Exam = field(repr=False, compare=False)

    @classmethod
    def of_column(cls, exam: Exam, results: dict, n: int, column: int = 0) -> Classification:
        """Exam ``column`` of ``classify_exams``'s results for ``n`` exams."""

        def one(key: str) -> Candidates:
            return candidates(key, results[key].unpacked(n), column)

        return cls(
            totals=Totals.of_column(results, column),
            sensory_level={s: one(f"{s}Sensory") for s in SIDES},
            motor_level={s: one(f"{s}Motor") for s in SIDES},
            neurological_level=one("neurologicalLevelOfInjury"),
            injury_complete=one("injuryComplete"),
            ais=one("asiaImpairmentScale"),
            sensory_zpp={s: one(f"{s}SensoryZpp") for s in SIDES},
            motor_zpp={s: one(f"{s}MotorZpp") for s in SIDES},
            exam=exam,
        )

    def to_rhi(self) -> dict[str, str]:
        """The 25 result fields with the reference's names and value vocabulary."""
        t = self.totals
        fields = {
            "rightUpperMotorTotal": t.right.upper_motor,
            "leftUpperMotorTotal": t.left.upper_motor,
            "rightLowerMotorTotal": t.right.lower_motor,
            "leftLowerMotorTotal": t.left.lower_motor,
            "rightMotorTotal": t.right.motor,
            "leftMotorTotal": t.left.motor,
            "upperMotorTotal": t.upper_motor,
            "lowerMotorTotal": t.lower_motor,
            "rightTouchTotal": t.right.light_touch,
            "leftTouchTotal": t.left.light_touch,
            "touchTotal": t.light_touch,
            "rightPrickTotal": t.right.pin_prick,
            "leftPrickTotal": t.left.pin_prick,
            "prickTotal": t.pin_prick,
        }
        out = {k: "ND" if v is None else str(v) for k, v in fields.items()}
        for side in SIDES:
            out[f"{side}Sensory"] = self.sensory_level[side].render(level_name)
            out[f"{side}Motor"] = self.motor_level[side].render(level_name)
        out["neurologicalLevelOfInjury"] = self.neurological_level.render(level_name)
        out["injuryComplete"] = self.injury_complete.render()
        out["asiaImpairmentScale"] = self.ais.render()
        for side in SIDES:
            out[f"{side}SensoryZpp"] = self.sensory_zpp[side].render(zpp_name)
            out[f"{side}MotorZpp"] = self.motor_zpp[side].render(zpp_name)
        return {key: out[key] for key in RESULT_KEYS}


def classify(exam: Exam) -> Classification:
    """Classify one exam by the ISNCSCI 2019 rules: a batch of one (see ``classify_exams``)."""
    codes, non_key = encode_exam(exam)
    return Classification.of_column(exam, classify_exams(Exams(codes, non_key)), 1)
