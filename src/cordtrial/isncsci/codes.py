"""Exams as a code matrix: one column per exam, one int8 row per worksheet cell.

The classification rules work column-wise on this matrix, whether it holds one exam
(``classify``) or a whole table (``cordtrial.isncsci.batch``). A cell's code is its index in
its vocabulary (``values.SENSORY_VALUES``, ``MOTOR_VALUES``, ``BINARY_VALUES``), so the plain
grades are their own codes (sensory 0-2, motor 0-5; VAC/DAP Yes 0, No 1), ``NT`` follows
them and flagged values come after. Rows per side: light touch C2..S4-5 (28), pin prick
(28), key muscles C5..S1 (10); then VAC and DAP. The lowest non-key muscle of each side is a
separate (2, n) row of level indices (``NO_NON_KEY`` when none).
"""

from __future__ import annotations

import numpy as np

from .exam import DAP_KEY, VAC_KEY, Exam, motor_key, sensory_key
from .levels import INDEX, KEY_MUSCLES, SENSORY_LEVELS, SIDES
from .values import BINARY_VALUES, MOTOR_VALUES, SENSORY_VALUES, parse_cell

#: Cell keys in the order of the rows of the code matrix.
CELL_ORDER: tuple[str, ...] = (
    *(
        key
        for side in SIDES
        for key in (
            *(sensory_key(lv, side, "Touch") for lv in SENSORY_LEVELS),
            *(sensory_key(lv, side, "Prick") for lv in SENSORY_LEVELS),
            *(motor_key(lv, side) for lv in KEY_MUSCLES),
        )
    ),
    VAC_KEY,
    DAP_KEY,
)
SIDE_OFFSET = {side: i * 66 for i, side in enumerate(SIDES)}
VAC_ROW, DAP_ROW = len(CELL_ORDER) - 2, len(CELL_ORDER) - 1
NO_NON_KEY = -1

#: Level index of each key muscle row.
KEY_LEVELS: tuple[int, ...] = tuple(INDEX[m] for m in KEY_MUSCLES)
# Per level index + 1 (so that NO_NON_KEY is row 0): is it a key muscle's level?
_AT_KEY_LEVEL = np.zeros(len(INDEX) + 1, dtype=bool)
_AT_KEY_LEVEL[np.asarray(KEY_LEVELS) + 1] = True


def at_key_level(levels: np.ndarray) -> np.ndarray:
    """Per non-key muscle level index (``NO_NON_KEY`` included): is it a key muscle's level?
    (A table lookup: ``numpy.isin`` costs several times more on the few exams asked.)"""
    return _AT_KEY_LEVEL[levels + 1]


# Codes that the rules name (see the vocabularies in values.py).
SENSORY_NT = SENSORY_VALUES.index("NT")
MOTOR_NT = MOTOR_VALUES.index("NT")
YES_CODE, NO_CODE, BINARY_NT = (BINARY_VALUES.index(v) for v in ("Yes", "No", "NT"))


def side_blocks(codes: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(light touch, pin prick, motor) rows of one side: dermatome row j is level j + 1,
    motor row j is ``KEY_LEVELS[j]``."""
    start = SIDE_OFFSET[side]
    return codes[start : start + 28], codes[start + 28 : start + 56], codes[start + 56 : start + 66]


# Codes of the vocabulary's own cell objects by identity (Exam.from_rhi reads every cell as one
# of them, and they live as long as these lists), with the text as the fallback for equal cells
# built elsewhere.
_SENSORY_CELLS = [parse_cell(v) for v in SENSORY_VALUES]
_MOTOR_CELLS = [parse_cell(v) for v in MOTOR_VALUES]
_SENSORY = (
    {id(c): i for i, c in enumerate(_SENSORY_CELLS)},
    {v: i for i, v in enumerate(SENSORY_VALUES)},
)
_MOTOR = (
    {id(c): i for i, c in enumerate(_MOTOR_CELLS)},
    {v: i for i, v in enumerate(MOTOR_VALUES)},
)


def _cell_codes(cells, vocabulary) -> list[int]:
    by_id, by_text = vocabulary
    return [by_id[id(c)] if id(c) in by_id else by_text[c.text] for c in cells]


def encode_exam(exam: Exam) -> tuple[np.ndarray, np.ndarray]:
    """One exam as a (rows, 1) code matrix and its (2, 1) non-key muscle levels."""
    column: list[int] = []
    for name in SIDES:
        side = exam.side(name)
        column += _cell_codes(side.light_touch, _SENSORY)
        column += _cell_codes(side.pin_prick, _SENSORY)
        column += _cell_codes(side.motor, _MOTOR)
    column += [BINARY_VALUES.index(exam.vac), BINARY_VALUES.index(exam.dap)]
    non_key = [
        NO_NON_KEY if s.lowest_non_key_muscle is None else s.lowest_non_key_muscle
        for s in (exam.right, exam.left)
    ]
    return np.asarray(column, dtype=np.int8)[:, None], np.asarray(non_key, dtype=np.int8)[:, None]
