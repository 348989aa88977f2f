"""``classify``: the whole ISNCSCI 2019 classification of one exam, step by step."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from .ais import asia_impairment_scale
from .candidates import Candidates
from .completeness import injury_complete
from .completions import nt_completions
from .exam import Exam
from .levels import level_name
from .motor_level import motor_level
from .nli import neurological_level
from .sensory_level import sensory_level
from .totals import Totals, totals
from .values import NOT_NORMAL
from .zpp import motor_zpp, sensory_zpp, zpp_name

#: The 25 result fields in the reference cases' order (flat RHI naming).
RESULT_KEYS: tuple[str, ...] = (
    "rightUpperMotorTotal", "leftUpperMotorTotal", "rightLowerMotorTotal",
    "leftLowerMotorTotal", "rightMotorTotal", "leftMotorTotal", "upperMotorTotal",
    "lowerMotorTotal", "rightTouchTotal", "leftTouchTotal", "touchTotal", "rightPrickTotal",
    "leftPrickTotal", "prickTotal", "rightSensory", "leftSensory", "rightMotor", "leftMotor",
    "neurologicalLevelOfInjury", "injuryComplete", "asiaImpairmentScale", "rightSensoryZpp",
    "leftSensoryZpp", "rightMotorZpp", "leftMotorZpp",
)  # fmt: skip


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
        for side in ("right", "left"):
            out[f"{side}Sensory"] = self.sensory_level[side].render(level_name)
            out[f"{side}Motor"] = self.motor_level[side].render(level_name)
        out["neurologicalLevelOfInjury"] = self.neurological_level.render(level_name)
        out["injuryComplete"] = self.injury_complete.render()
        out["asiaImpairmentScale"] = self.ais.render()
        for side in ("right", "left"):
            out[f"{side}SensoryZpp"] = self.sensory_zpp[side].render(zpp_name)
            out[f"{side}MotorZpp"] = self.motor_zpp[side].render(zpp_name)
        return {key: out[key] for key in RESULT_KEYS}

    @property
    def explanation(self) -> list[str]:
        from .explain import explain

        return explain(self)


#: Most NT completions enumerated for an open motor ZPP with a non-key muscle (see below).
MAX_ZPP_COMPLETIONS = 64


@lru_cache(maxsize=16)
def _completions(exam: Exam) -> tuple[Exam, ...] | None:
    """``nt_completions`` of the exam, cached: both sides' motor ZPP enumerate the same ones."""
    completions = nt_completions(exam, MAX_ZPP_COMPLETIONS)
    return None if completions is None else tuple(completions)


def _motor_zpp(
    exam: Exam,
    name: str,
    complete: Candidates,
    motor: Candidates | None = None,
    grades: tuple[str, ...] | None = None,
) -> Candidates:
    """Motor ZPP of one side.

    With a lowest non-key muscle and not-testable cells, whether the non-key muscle extends the
    ZPP depends on the grade, which the NT cells leave open; the ZPP is then exactly the union of
    the ZPPs of the exams the NT cells could stand for (the standard's meaning of an open
    result), enumerated when there are at most ``MAX_ZPP_COMPLETIONS`` of them.
    ``motor`` and ``grades``: the side's motor level and the AIS already computed for ``exam``,
    reused where the ZPP asks the same question.
    """
    side = exam.side(name)
    if side.lowest_non_key_muscle is not None:
        completions = _completions(exam)
        if completions:
            pairs = []
            for filled in completions:
                pairs += _motor_zpp(filled, name, injury_complete(filled)).items
            return Candidates.of(pairs, order=int)
    # The ZPP's motor level differs only where an NT* dermatome stopped the walk (flagged_stops).
    if motor is None or any(
        c.grade is None and c.flag == NOT_NORMAL for c in (*side.light_touch, *side.pin_prick)
    ):
        motor = motor_level(side, exam.vac, flagged_stops=False)
    return motor_zpp(exam, side, motor, complete, grades if exam.vac != "NT" else None)


def classify(exam: Exam) -> Classification:
    """Classify one exam by the ISNCSCI 2019 rules (one module per step, see each module)."""
    sides = {"right": exam.right, "left": exam.left}
    sensory = {name: sensory_level(side) for name, side in sides.items()}
    motor = {name: motor_level(side, exam.vac) for name, side in sides.items()}
    nli = neurological_level(exam)
    complete = injury_complete(exam)
    ais = asia_impairment_scale(exam, complete, nli, motor)
    return Classification(
        totals=totals(exam),
        sensory_level=sensory,
        motor_level=motor,
        neurological_level=nli,
        injury_complete=complete,
        ais=ais,
        sensory_zpp={name: sensory_zpp(exam, side) for name, side in sides.items()},
        motor_zpp={
            name: _motor_zpp(exam, name, complete, motor[name], ais.values) for name in sides
        },
        exam=exam,
    )
