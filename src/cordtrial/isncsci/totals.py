"""Motor and sensory scores (ISNCSCI 2019 worksheet summary).

Each total is the plain sum of the recorded grades (flags do not change a grade); a total that
includes a not-testable cell cannot be determined ("ND").
"""

from __future__ import annotations

from dataclasses import dataclass

from .exam import Exam, ExamSide
from .values import Cell

ND = None


def cell_sum(cells) -> int | None:
    total = 0
    for cell in cells:
        if cell.grade is None:
            return ND
        total += cell.grade
    return total


def add(*parts: int | None) -> int | None:
    return ND if any(p is None for p in parts) else sum(parts)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class SideTotals:
    upper_motor: int | None
    lower_motor: int | None
    motor: int | None
    light_touch: int | None
    pin_prick: int | None


def side_totals(side: ExamSide) -> SideTotals:
    upper, lower = cell_sum(side.motor[:5]), cell_sum(side.motor[5:])
    return SideTotals(
        upper, lower, add(upper, lower), cell_sum(side.light_touch), cell_sum(side.pin_prick)
    )


@dataclass(frozen=True, slots=True)
class Totals:
    right: SideTotals
    left: SideTotals

    @property
    def upper_motor(self) -> int | None:  # UEMS, 0-50
        return add(self.right.upper_motor, self.left.upper_motor)

    @property
    def lower_motor(self) -> int | None:  # LEMS, 0-50
        return add(self.right.lower_motor, self.left.lower_motor)

    @property
    def light_touch(self) -> int | None:  # 0-112
        return add(self.right.light_touch, self.left.light_touch)

    @property
    def pin_prick(self) -> int | None:  # 0-112
        return add(self.right.pin_prick, self.left.pin_prick)


def totals(exam: Exam) -> Totals:
    return Totals(side_totals(exam.right), side_totals(exam.left))


__all__ = ["Cell", "SideTotals", "Totals", "totals"]
