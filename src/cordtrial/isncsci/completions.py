"""The exams a partly not-testable exam could stand for (each plain NT replaced by a value),
column-wise: the motor ZPP with a non-key muscle unites their results (zpp.motor_zpp)."""

from __future__ import annotations

import numpy as np

from .codes import (
    BINARY_NT,
    DAP_ROW,
    MOTOR_NT,
    NO_CODE,
    SENSORY_NT,
    SIDE_OFFSET,
    VAC_ROW,
    YES_CODE,
)
from .completeness import S4_5_ROW
from .sides import Exams
from .values import BINARY_VALUES, MOTOR_VALUES, SENSORY_VALUES


def _per_row(sensory: int, motor: int, binary: int) -> np.ndarray:
    """One value per row of the code matrix: ``sensory`` for dermatome rows, ``motor`` for key
    muscle rows, ``binary`` for VAC and DAP."""
    out = np.empty(DAP_ROW + 1, dtype=np.int8)
    for offset in SIDE_OFFSET.values():
        out[offset : offset + 56] = sensory
        out[offset + 56 : offset + 66] = motor
    out[[VAC_ROW, DAP_ROW]] = binary
    return out


#: The plain NT code of each row, and how many plain codes (0..k-1) an NT there stands for.
NT_CODES = _per_row(SENSORY_NT, MOTOR_NT, BINARY_NT)
CHOICES = _per_row(3, 6, 2)
#: The first "considered normal" code (``0**``) of each row; VAC and DAP have none.
CONSIDERED_NORMAL = _per_row(
    SENSORY_VALUES.index("0**"), MOTOR_VALUES.index("0**"), len(BINARY_VALUES)
)


def completion_counts(codes: np.ndarray) -> np.ndarray:
    """Number of completions per exam (1 without plain NT), exact up to well past the ZPP's
    limit (larger counts are capped, still above it). Flagged NT cells (``NT*``, ``NT**``)
    keep their flag's meaning and are not expanded."""
    untested = (codes == NT_CODES[:, None]).view(np.uint8)
    counts = np.ones(codes.shape[1], dtype=np.int64)
    for k, blocks in _BLOCKS_BY_CHOICES:
        per_exam = sum(untested[block].sum(axis=0, dtype=np.int64) for block in blocks)
        counts *= np.int64(k) ** np.minimum(per_exam, 7)
    return counts


#: The rows of the code matrix per number of choices of an NT there, as contiguous blocks
#: (summed block by block: a boolean mask of rows would copy them).
_BLOCKS_BY_CHOICES = tuple(
    (k, tuple(slice(int(r[0]), int(r[-1]) + 1)
              for r in np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)))
    for k in (3, 6, 2)
    for rows in [np.flatnonzero(CHOICES == k)]
)  # fmt: skip


#: The grades an NT stands for, per row of the code matrix, as far as the motor ZPP can tell
#: them apart. Its rules ask of a key muscle only "> 0", ">= 3" and "= 5", so 1 stands for 1-2
#: and 3 for 3-4; of a dermatome above S4-5 only "normal" (levels), so 0 stands for 0-1; at
#: S4-5 also "any sensation" (sacral sparing), so all three grades stay. VAC is completed as
#: absent only: with VAC present the motor ZPP is NA, unstarred, whatever the other cells
#: (``zpp.key_muscle_zpp``), so ``zpp.motor_zpp`` adds that NA itself. (Totals and the sensory
#: ZPP, which read every grade, are not part of it.) ``completion_counts`` still counts every
#: grade: the limit of the enumeration keeps its meaning.
def _options(
    sensory: tuple[int, ...],
    sacral: tuple[int, ...],
    motor: tuple[int, ...],
    vac: tuple[int, ...],
    dap: tuple[int, ...],
) -> np.ndarray:
    """Per row the grades an NT there is completed with, padded with -1."""
    width = max(map(len, (sensory, sacral, motor, vac, dap)))
    out = np.full((DAP_ROW + 1, width), -1, dtype=np.int8)
    for offset in SIDE_OFFSET.values():
        for rows, values in (
            (slice(offset, offset + 56), sensory),
            ([offset + S4_5_ROW, offset + 28 + S4_5_ROW], sacral),
            (slice(offset + 56, offset + 66), motor),
        ):
            out[rows, : len(values)] = values
    out[VAC_ROW, : len(vac)] = vac
    out[DAP_ROW, : len(dap)] = dap
    return out


ZPP_OPTIONS = _options(
    sensory=(0, 2), sacral=(0, 1, 2), motor=(0, 1, 3, 5), vac=(NO_CODE,), dap=(YES_CODE, NO_CODE)
)


def completions(exams: Exams, options: np.ndarray = ZPP_OPTIONS) -> tuple[Exams, np.ndarray]:
    """Every completion of every exam (each plain NT replaced by each of its row's
    ``options``), as exams, and the position of the exam each comes from (completions of one
    exam are consecutive)."""
    codes = exams.codes
    untested = codes == NT_CODES[:, None]
    choices = (options >= 0).sum(axis=1)
    counts = np.prod(np.where(untested, choices[:, None], 1), axis=0)
    owners = np.repeat(np.arange(exams.n), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    filled = np.repeat(codes, counts, axis=1)
    # Each NT cell (exam, cell) cycles through its k grades every ``stride`` completions, the
    # stride being the product of the choices of the exam's earlier NT cells.
    exam, cell = np.nonzero(untested.T)  # sorted by exam
    k = choices[cell]
    first_of_exam = np.r_[True, exam[1:] != exam[:-1]]
    log_k = np.log(k.astype(np.float64))
    before = np.cumsum(log_k) - log_k  # log of the product of earlier choices, all exams
    group_start = np.maximum.accumulate(np.where(first_of_exam, np.arange(len(exam)), 0))
    stride = np.rint(np.exp(before - before[group_start])).astype(np.int64)
    # One entry per (NT cell, completion of its exam).
    repeats = counts[exam]
    entry = np.repeat(np.arange(len(exam)), repeats)
    which = np.arange(len(entry)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    filled[cell[entry], starts[exam[entry]] + which] = options[
        cell[entry], (which // stride[entry]) % k[entry]
    ]
    return Exams(filled, np.repeat(exams.non_key, counts, axis=1)), owners
