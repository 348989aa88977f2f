"""Motor ZPP of open exams (``NT`` cells, no flag) with a recorded non-key muscle, column-wise.

The single-exam engine (``classification._motor_zpp``) decides such a ZPP in one of two ways:

- with at most ``MAX_ZPP_COMPLETIONS`` completions (every plain ``NT`` cell, VAC or DAP replaced
  by each value it could take), the ZPP is the union of the completions' ZPPs: whether the
  non-key muscle extends the ZPP depends on the AIS grade, which the NT cells leave open. Here
  the completions are built as plain exams, classified by ``vectorised.classify_plain`` and
  their ZPPs united per exam;
- with more, the open exam's own ZPP, where the non-key muscle (named at a key level) replaces a
  ZPP more than three levels above it when the grade may be C (with VAC taken as absent), and
  both are listed when the grade may also be something else (``zpp._non_key_for_zpp``).
"""

from __future__ import annotations

import numpy as np

from ..classification import MAX_ZPP_COMPLETIONS
from ..levels import INT, SIDES
from .columns import DAP_ROW, SIDE_OFFSET, VAC_ROW
from .not_testable import (
    BINARY_NT,
    MOTOR_NT,
    NO_CODE,
    SENSORY_NT,
    ZPP_NAMES,
    Partial,
    classify_partly,
)
from .validate import NO_NON_KEY
from .vectorised import ZPP_NAMES as PLAIN_ZPP_NAMES
from .vectorised import classify_plain, key_level_only

assert PLAIN_ZPP_NAMES == ZPP_NAMES  # row i of a ZPP matrix is code i of a plain ZPP


def _per_cell(sensory: int, motor: int, binary: int) -> np.ndarray:
    """One value per row of the code matrix: ``sensory`` for dermatome rows, ``motor`` for key
    muscle rows, ``binary`` for VAC and DAP."""
    out = np.empty(DAP_ROW + 1, dtype=np.int8)
    for offset in SIDE_OFFSET.values():
        out[offset : offset + 56] = sensory
        out[offset + 56 : offset + 66] = motor
    out[[VAC_ROW, DAP_ROW]] = binary
    return out


NT_CODES = _per_cell(SENSORY_NT, MOTOR_NT, BINARY_NT)
CHOICES = _per_cell(3, 6, 2)  # the plain codes a not-testable cell may stand for: 0..k-1


def completion_counts(untested: np.ndarray) -> np.ndarray:
    """Number of completions per exam (``untested``: bool, NT per cell and exam), exact up to
    well past ``MAX_ZPP_COMPLETIONS`` (larger counts are capped, still above it)."""
    counts = np.ones(untested.shape[1], dtype=np.int64)
    for k in (3, 6, 2):
        per_exam = untested[CHOICES == k].sum(axis=0)
        counts *= np.int64(k) ** np.minimum(per_exam, 7)
    return counts


def motor_zpp_with_non_key(
    codes: np.ndarray, non_key: np.ndarray, partial: Partial, zpp: dict[str, np.ndarray]
) -> np.ndarray:
    """Replace, in ``zpp`` (per side: possible ZPPs, bool (len(ZPP_NAMES), n)), the motor ZPP
    of every side with a non-key muscle; returns the exams to classify one by one instead (a
    completion the plain classifier hands back)."""
    n = codes.shape[1]
    recorded = non_key != NO_NON_KEY  # (2, n)
    untested = codes == NT_CODES[:, None]
    few = (completion_counts(untested) <= MAX_ZPP_COMPLETIONS) & recorded.any(axis=0)
    reroute = np.zeros(n, dtype=bool)
    rows = np.flatnonzero(few)
    if len(rows):
        united, reroute[rows] = _united_over_completions(codes, non_key, untested, rows)
        for i, name in enumerate(SIDES):
            mine = recorded[i, rows]
            zpp[name][:, rows[mine]] = united[i][:, mine]
    for i, name in enumerate(SIDES):
        rows = np.flatnonzero(recorded[i] & ~few)
        if len(rows):
            zpp[name][:, rows] = _extended(codes, non_key, partial, zpp[name], i, rows)
    return reroute


def _united_over_completions(
    codes: np.ndarray, non_key: np.ndarray, untested: np.ndarray, rows: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """Per side the union of the motor ZPPs of the completions of each exam in ``rows``, and
    whether any of its completions was handed back by the plain classifier."""
    counts = completion_counts(untested[:, rows])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    filled = np.repeat(codes[:, rows], counts, axis=1)
    owners, cells = np.nonzero(untested[:, rows].T)  # sorted by exam
    bounds = np.searchsorted(owners, np.arange(len(rows) + 1))
    for owner in range(len(rows)):
        start, count = starts[owner], counts[owner]
        which = np.arange(count)
        stride = 1
        for cell in cells[bounds[owner] : bounds[owner + 1]]:
            k = int(CHOICES[cell])
            filled[cell, start : start + count] = (which // stride) % k
            stride *= k
    results, handed_back = classify_plain(filled, np.repeat(non_key[:, rows], counts, axis=1))
    united = []
    for name in SIDES:
        index, names = results[f"{name}MotorZpp"]
        assert names == ZPP_NAMES
        bits = np.bitwise_or.reduceat(np.uint64(1) << index.astype(np.uint64), starts)
        united.append(_bits_to_rows(bits, len(ZPP_NAMES)))
    return united, np.logical_or.reduceat(handed_back, starts)


def _bits_to_rows(bits: np.ndarray, count: int) -> np.ndarray:
    shifts = np.arange(count, dtype=np.uint64)[:, None]
    return ((bits[None, :] >> shifts) & np.uint64(1)).astype(bool)


def _extended(
    codes: np.ndarray,
    non_key: np.ndarray,
    partial: Partial,
    zpp: np.ndarray,
    side: int,
    rows: np.ndarray,
) -> np.ndarray:
    """The open exam's ZPP of one side with the non-key rule (too many completions)."""
    grades = partial.grades[:, rows].copy()
    vac_nt = codes[VAC_ROW, rows] == BINARY_NT
    if vac_nt.any():
        # The motor ZPP applies only without VAC, so the grade consulted is the one with VAC
        # absent (zpp._non_key_for_zpp).
        absent = codes[:, rows[vac_nt]].copy()
        absent[VAC_ROW] = NO_CODE
        far = {name: key_level_only(non_key[i, rows[vac_nt]]) for i, name in enumerate(SIDES)}
        grades[:, vac_nt] = classify_partly(absent, far).grades
    level = key_level_only(non_key[side, rows]).astype(np.int16)  # 0: not at a key level
    applies = grades[2] & (level > 0)  # C possible
    both = grades.sum(axis=0) > 1  # the key-muscle ZPP stays possible too
    out = zpp[:, rows].copy()
    levels = out[1 : INT + 1]  # row L + 1 is level L
    moved = applies & (level > np.arange(INT, dtype=np.int16)[:, None] + 3)
    replaced = (levels & moved).any(axis=0)
    levels &= ~moved | both
    columns = np.flatnonzero(replaced)
    out[level[columns] + 1, columns] = True
    return out
