"""The exams a partly not-testable exam could stand for (each plain NT replaced by a value)."""

from __future__ import annotations

from dataclasses import replace
from itertools import product

from .exam import Exam, ExamSide
from .values import parse_cell

# The vocabulary's own cell objects (equal to ``Cell(g)``), which the engine's identity-keyed
# lookups recognise without hashing.
_SENSORY_GRADES = tuple(parse_cell(str(g)) for g in range(3))
_MOTOR_GRADES = tuple(parse_cell(str(g)) for g in range(6))


def _slots(exam: Exam):
    """(setter, choices) for every plain NT cell and NT anal observation."""
    slots = []
    for name in ("right", "left"):
        side = exam.side(name)
        for field, grades in (
            ("light_touch", _SENSORY_GRADES),
            ("pin_prick", _SENSORY_GRADES),
            ("motor", _MOTOR_GRADES),
        ):
            for i, cell in enumerate(getattr(side, field)):
                if cell.grade is None and cell.flag == 0:
                    slots.append(((name, field, i), grades))
    for attr in ("vac", "dap"):
        if getattr(exam, attr) == "NT":
            slots.append(((attr,), ("Yes", "No")))
    return slots


def nt_completions(exam: Exam, limit: int) -> list[Exam] | None:
    """Every completion of ``exam``'s plain NT cells, or None when there are none or more than
    ``limit`` (flagged NT cells keep their flag's meaning and are not expanded)."""
    slots = _slots(exam)
    count = 1
    for _, choices in slots:
        count *= len(choices)
    if not slots or count > limit:
        return None
    out = []
    for values in product(*(choices for _, choices in slots)):
        sides = {
            n: {f: list(getattr(exam.side(n), f)) for f in ("light_touch", "pin_prick", "motor")}
            for n in ("right", "left")
        }
        anal = {}
        for (where, _), value in zip(slots, values, strict=True):
            if len(where) == 1:
                anal[where[0]] = value
            else:
                sides[where[0]][where[1]][where[2]] = value
        built = {
            n: ExamSide(
                tuple(f["light_touch"]),
                tuple(f["pin_prick"]),
                tuple(f["motor"]),
                exam.side(n).lowest_non_key_muscle,
            )
            for n, f in sides.items()
        }
        out.append(replace(exam, right=built["right"], left=built["left"], **anal))
    return out
