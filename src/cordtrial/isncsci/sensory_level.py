"""Sensory level, per side.

ISNCSCI 2019: the sensory level is the most caudal dermatome with normal light touch AND pin
prick sensation, all rostral dermatomes being normal too. C1 is presumed normal; when S4-5 is
normal as well the side is intact (INT).
"""

from __future__ import annotations

from functools import cache

from .candidates import Candidates
from .exam import ExamSide
from .levels import INDEX, INT
from .values import Cell, sensory_normal
from .walk import all_of, walk

S4_5 = INDEX["S4_5"]


def dermatome_normal(side: ExamSide, level: int) -> frozenset:
    """Answers to "is dermatome ``level`` normal on this side?" (both modalities)."""
    return _both_normal(side.light_touch[level - 1], side.pin_prick[level - 1])


@cache
def _both_normal(light_touch: Cell, pin_prick: Cell) -> frozenset:
    return frozenset(all_of(sensory_normal(light_touch), sensory_normal(pin_prick)))


def ends_to_levels(ends: list[tuple[int, bool]]) -> list[tuple[int, bool]]:
    """A walk that got through S4-5 ends at INT (S4-5 itself is never reported as a level)."""
    return [(INT if level == S4_5 else level, star) for level, star in ends]


def sensory_level(side: ExamSide) -> Candidates:
    ends = walk(lambda level: dermatome_normal(side, level), stop=S4_5)
    return Candidates.of(ends_to_levels(ends), order=int)
