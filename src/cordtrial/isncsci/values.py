"""Worksheet cell values and what each one allows the classification to assume.

Vocabulary (ISNCSCI 2019 worksheet; flat RHI interchange format, see docs/isncsci.md):
sensory ``0`` absent, ``1`` altered, ``2`` normal; motor ``0``-``5``; ``NT`` not testable.
A trailing ``*`` marks impairment due to a non-SCI condition to be considered NOT normal for
classification; ``**`` marks one to be considered normal. Normal values (sensory 2, motor 5)
cannot carry a flag.

Each classification step asks a yes/no question of a cell ("is this dermatome normal?", "is
this muscle graded >= 3?"). For a plain number the answer is fixed; for ``NT`` it is both; a
flag turns the answer into an assumption, and results that rest on an assumption are marked
with ``*``. ``Answer`` holds the possible answers with that mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import numpy as np

SENSORY_VALUES: tuple[str, ...] = (
    "0", "1", "2", "NT", "0*", "1*", "NT*", "0**", "1**", "NT**",
)  # fmt: skip
MOTOR_VALUES: tuple[str, ...] = (
    "0", "1", "2", "3", "4", "5", "NT",
    "0*", "1*", "2*", "3*", "4*", "NT*",
    "0**", "1**", "2**", "3**", "4**", "NT**",
)  # fmt: skip
BINARY_VALUES: tuple[str, ...] = ("Yes", "No", "NT")

NONE, NOT_NORMAL, CONSIDER_NORMAL = 0, 1, 2

# The vocabulary is small, so every question about a cell is answered once and cached.


@dataclass(frozen=True, slots=True)
class Cell:
    """One worksheet cell: a grade (None when not testable) and its non-SCI flag."""

    grade: int | None
    flag: int = NONE

    @property
    def text(self) -> str:
        base = "NT" if self.grade is None else str(self.grade)
        return base + "*" * self.flag

    @property
    def testable(self) -> bool:
        return self.grade is not None


@cache
def parse_cell(text: str) -> Cell:
    """Parse a validated cell string (see ``SENSORY_VALUES``/``MOTOR_VALUES``)."""
    flag = len(text) - len(text.rstrip("*"))
    base = text[: len(text) - flag]
    return Cell(None if base == "NT" else int(base), flag)


class Answer(NamedTuple):
    """One possible answer to a question about a cell; ``star``: it rests on a flag."""

    yes: bool
    star: bool = False


YES = (Answer(True),)
NO = (Answer(False),)
EITHER = (Answer(True), Answer(False))


@cache
def sensory_normal(cell: Cell) -> tuple[Answer, ...]:
    """Is this dermatome normal (2) for the purpose of the sensory level?"""
    if cell.flag == CONSIDER_NORMAL:
        return (Answer(True, True),)
    if cell.flag == NOT_NORMAL:
        # A recorded 0*/1* is abnormal in any case; NT* is abnormal only by assumption.
        return (Answer(False, cell.grade is None),)
    if cell.grade is None:
        return EITHER
    return YES if cell.grade == 2 else NO


@cache
def motor_at_least_3(cell: Cell) -> tuple[Answer, ...]:
    """Is this key muscle graded >= 3 (enough to be the motor level)?"""
    if cell.flag == CONSIDER_NORMAL:
        # Considered normal (5); a recorded 3** or 4** is >= 3 on its own, NT** may be.
        literal_ok = cell.grade is None or cell.grade >= 3
        return (Answer(True, not literal_ok),)
    if cell.flag == NOT_NORMAL:
        if cell.grade is not None and cell.grade >= 3:
            return YES
        # Not normal, grade unknown below 5: it might be 3 or 4 without the other condition.
        return (Answer(False), Answer(True, True))
    if cell.grade is None:
        return EITHER
    return YES if cell.grade >= 3 else NO


@cache
def motor_normal(cell: Cell) -> tuple[Answer, ...]:
    """Is this key muscle normal (5), so that the motor level may lie further caudal?"""
    if cell.flag == CONSIDER_NORMAL:
        return (Answer(True, True),)
    if cell.flag == NOT_NORMAL:
        return NO
    if cell.grade is None:
        return EITHER
    return YES if cell.grade == 5 else NO


@cache
def sensation_present(cell: Cell) -> tuple[Answer, ...]:
    """Is any sensation (grade > 0) preserved in this dermatome? Used for sacral sparing and the
    sensory zone of partial preservation."""
    if cell.grade is None:
        # NT** is assumed normal, so present; NT and NT* may be either.
        return YES if cell.flag == CONSIDER_NORMAL else EITHER
    if cell.grade > 0:
        return YES
    if cell.flag == CONSIDER_NORMAL:
        return (Answer(True, True),)
    if cell.flag == NOT_NORMAL:
        # A recorded 0 from a non-SCI condition says nothing certain either way.
        return (Answer(True, True), Answer(False, True))
    return NO


@cache
def motor_present(cell: Cell) -> tuple[Answer, ...]:
    """Is any motor function (grade > 0) present in this key muscle? (motor ZPP)"""
    if cell.grade is None:
        return YES if cell.flag == CONSIDER_NORMAL else EITHER
    if cell.grade > 0:
        return YES
    if cell.flag == CONSIDER_NORMAL:
        return (Answer(True, True),)
    if cell.flag == NOT_NORMAL:
        return (Answer(True, True), Answer(False))
    return NO


def binary(value: str) -> tuple[Answer, ...]:
    """A Yes/No/NT observation (VAC, DAP) as answers."""
    return {"Yes": YES, "No": NO}.get(value, EITHER)


#: The vocabularies' own cell objects, in code order (``codes``).
SENSORY_CELLS: tuple[Cell, ...] = tuple(parse_cell(v) for v in SENSORY_VALUES)
MOTOR_CELLS: tuple[Cell, ...] = tuple(parse_cell(v) for v in MOTOR_VALUES)

_ROW = {Answer(True): 0, Answer(True, True): 1, Answer(False): 2, Answer(False, True): 3}


def answer_table(question, cells) -> np.ndarray:
    """A (4, len(cells)) table of ``question(cell)``'s answers for each vocabulary cell, rows
    yes, yes starred, no, no starred: the form in which the rules read cells column-wise
    (``answers.Answers.lookup``)."""
    table = np.zeros((4, len(cells)), dtype=bool)
    for code, cell in enumerate(cells):
        for answer in question(cell):
            table[_ROW[answer], code] = True
    return table


SENSORY_NORMAL = answer_table(sensory_normal, SENSORY_CELLS)
SENSATION_PRESENT = answer_table(sensation_present, SENSORY_CELLS)
MOTOR_AT_LEAST_3 = answer_table(motor_at_least_3, MOTOR_CELLS)
MOTOR_NORMAL = answer_table(motor_normal, MOTOR_CELLS)
MOTOR_PRESENT = answer_table(motor_present, MOTOR_CELLS)
BINARY = answer_table(binary, BINARY_VALUES)
