"""Motor and sensory scores (ISNCSCI 2019 worksheet summary).

Each total is the plain sum of the recorded grades (flags do not change a grade); a total that
includes a not-testable cell cannot be determined ("ND").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rule import Rule
from .sides import Exams, Side
from .values import MOTOR_CELLS, SENSORY_CELLS

ND = None
#: Per column of a totals array: the value, or ``ND_CODE`` where it cannot be determined.
ND_CODE = -1

# The grade of each code, -1 for not testable (a flag does not change the grade).
_SENSORY_GRADE = np.asarray([-1 if c.grade is None else c.grade for c in SENSORY_CELLS], np.int16)
_MOTOR_GRADE = np.asarray([-1 if c.grade is None else c.grade for c in MOTOR_CELLS], np.int16)

#: This step's rule, as the explanation cites it.
RULE = Rule(
    "totals",
    "Each motor and sensory total is the sum of the recorded grades (a flag does not change a grade); a total with a not-testable cell is not determined (ND).",
    "cordtrial.isncsci.totals",
)


def _sum(codes: np.ndarray, grades: np.ndarray, limit: int) -> np.ndarray:
    """Sum of the grades of ``codes`` (rows), ND_CODE where one is not testable."""
    nt = int(np.flatnonzero(grades < 0)[0])
    if limit <= nt:  # plain grades only: the codes are the grades
        return _column_sums(codes, nt)
    if limit > nt + 1:  # flags: each flagged code read as its grade's plain code (or NT)
        flagged = codes > nt
        if flagged.any():  # a few cells: rewritten, not every cell looked up
            codes = codes.copy()
            codes[flagged] = np.where(grades < 0, nt, grades)[codes[flagged]]
    return np.where((codes == nt).any(axis=0), ND_CODE, _column_sums(codes, nt))


def _column_sums(codes: np.ndarray, nt: int) -> np.ndarray:
    """Column sums of codes up to ``nt`` as int16, added up in int8 (several times faster than
    adding in int16, which numpy does through a cast): a block of a side holds at most 28
    cells, and 28 x 3 (sensory NT) and 5 x 6 (motor NT) stay below 128."""
    assert len(codes) * nt < 128
    return codes.sum(axis=0, dtype=np.int8).astype(np.int16)


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where((a < 0) | (b < 0), ND_CODE, a + b)


def side_totals(side: Side) -> dict[str, np.ndarray]:
    limits = side.exams.limits
    upper = _sum(side.motor[:5], _MOTOR_GRADE, limits["motor"])
    lower = _sum(side.motor[5:], _MOTOR_GRADE, limits["motor"])
    return {
        "UpperMotor": upper,
        "LowerMotor": lower,
        "Motor": _add(upper, lower),
        "Touch": _sum(side.touch, _SENSORY_GRADE, limits["sensory"]),
        "Prick": _sum(side.prick, _SENSORY_GRADE, limits["sensory"]),
    }


def totals(exams: Exams) -> dict[str, np.ndarray]:
    """The 14 totals of the result fields (``rightUpperMotorTotal``...), ``ND_CODE`` for ND."""
    right, left = side_totals(exams.right), side_totals(exams.left)
    out = {f"right{k}Total": v for k, v in right.items()}
    out |= {f"left{k}Total": v for k, v in left.items()}
    for part, key in (("UpperMotor", "upperMotorTotal"), ("LowerMotor", "lowerMotorTotal"),
                      ("Touch", "touchTotal"), ("Prick", "prickTotal")):  # fmt: skip
        out[key] = _add(right[part], left[part])
    return out


@dataclass(frozen=True, slots=True)
class SideTotals:
    upper_motor: int | None
    lower_motor: int | None
    motor: int | None
    light_touch: int | None
    pin_prick: int | None


@dataclass(frozen=True, slots=True)
class Totals:
    """One exam's totals (None where not determined)."""

    right: SideTotals
    left: SideTotals
    upper_motor: int | None  # UEMS, 0-50
    lower_motor: int | None  # LEMS, 0-50
    light_touch: int | None  # 0-112
    pin_prick: int | None  # 0-112

    @classmethod
    def of_column(cls, columns: dict[str, np.ndarray], i: int) -> Totals:
        def value(key: str) -> int | None:
            v = int(columns[key][i])
            return ND if v == ND_CODE else v

        def side(name: str) -> SideTotals:
            return SideTotals(*(value(f"{name}{k}Total") for k in _SIDE_PARTS))

        return cls(side("right"), side("left"), value("upperMotorTotal"),
                   value("lowerMotorTotal"), value("touchTotal"), value("prickTotal"))  # fmt: skip


_SIDE_PARTS = ("UpperMotor", "LowerMotor", "Motor", "Touch", "Prick")
