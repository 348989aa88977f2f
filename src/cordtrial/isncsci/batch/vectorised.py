"""ISNCSCI 2019 classification of plain exams, column-wise in NumPy.

"Plain" (see ``validate``): every cell a plain number, VAC and DAP ``Yes``/``No`` (a non-key
muscle may be recorded). For such an exam every rule of the single-exam engine has exactly one answer and no
flag, so each result is one value computed for all rows at once. The rules are those of
``cordtrial.isncsci`` (ISNCSCI, revised 2019, American Spinal Injury Association; each module
there cites it) restricted to that case:

- a level is "the most caudal level a walk from C1 reaches while every step is allowed": with
  one boolean vector per level i = 1..28 (C2..S4-5) saying "may the walk enter level i", the
  level is the number of leading allowed steps, and a walk through S4-5 is ``INT``;
- totals are sums; completeness, AIS and ZPPs combine those levels with masks.

Arrays are level-major (one contiguous vector of all rows per dermatome or muscle), so every
operation is a whole-column NumPy operation.

Rows where no AIS rule would apply (an intact NLI, a motor level that is not intact and motor
incompleteness: impossible for a plain exam, guarded all the same) are handed back to be
classified one by one, so the two paths would agree by construction on them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..levels import INDEX, INT, SIDES
from .columns import DAP_ROW, KEY_LEVELS, LEVEL_NAMES, VAC_ROW, side_blocks

N_STEPS = INDEX["S4_5"]  # steps from C1 into C2..S4-5
S4_5 = INDEX["S4_5"]
_KEY_COLUMN = {level: j for j, level in enumerate(KEY_LEVELS)}
# Leaving a key-muscle region into a non-key one (T1 -> T2, S1 -> S2) needs normal sensation
# through the whole region just left (see motor_level.py).
_REGION_START = {INDEX["T2"]: INDEX["C5"], INDEX["S2"]: INDEX["L2"]}
NA = -1

ZPP_NAMES: tuple[str, ...] = ("NA", *LEVEL_NAMES)
NUMBER_NAMES: tuple[str, ...] = tuple(str(i) for i in range(225))  # totals are 0..224

#: A result column as (index per exam, the strings the indices point to).
Coded = tuple[np.ndarray, tuple[str, ...]]


def walk_end(steps: Iterable[np.ndarray], n: int) -> np.ndarray:
    """Level index where each row's walk from C1 ends (``steps``: one mask per level C2..S4-5);
    a walk through S4-5 ends at INT."""
    alive = np.ones(n, dtype=bool)
    end = np.zeros(n, dtype=np.int8)
    for step in steps:
        alive &= step
        end += alive
    np.copyto(end, INT, where=end == S4_5)
    return end


class Side:
    """The grades of one side, level-major: ``touch[j]`` is dermatome j (level j + 1)."""

    def __init__(self, codes: np.ndarray, side: str) -> None:
        self.touch, self.prick, self.motor = side_blocks(codes, side)
        self.normal = (self.touch == 2) & (self.prick == 2)

    def muscle(self, level: int) -> np.ndarray:
        return self.motor[_KEY_COLUMN[level]]


def sensory_level(side: Side) -> np.ndarray:
    return walk_end(side.normal, side.normal.shape[1])


def motor_level(side: Side, vac: np.ndarray) -> np.ndarray:
    """Key muscle >= 3 with the one above 5; between key regions the motor level follows
    normal sensation (motor_level.py)."""

    def steps():
        for level in range(1, N_STEPS + 1):
            if level in _KEY_COLUMN:
                ok = side.muscle(level) >= 3
            elif level in _REGION_START:
                ok = side.normal[_REGION_START[level] - 1 : level].all(axis=0)
            else:
                ok = side.normal[level - 1].copy()
            if level - 1 in _KEY_COLUMN:
                ok &= side.muscle(level - 1) == 5
            if level == S4_5:
                ok &= vac  # motor-intact past S4-5 needs voluntary anal contraction
            yield ok

    return walk_end(steps(), vac.shape[0])


def neurological_level(right: Side, left: Side) -> np.ndarray:
    """One walk over both sides: sensation normal on both, key muscles >= 3 on both, the key
    muscle above graded 5 (nli.py)."""

    def steps():
        for level in range(1, N_STEPS + 1):
            ok = right.normal[level - 1] & left.normal[level - 1]
            for side in (right, left):
                if level - 1 in _KEY_COLUMN:
                    ok &= side.muscle(level - 1) == 5
                if level in _KEY_COLUMN:
                    ok &= side.muscle(level) >= 3
            yield ok

    return walk_end(steps(), right.normal.shape[1])


_KEY_LEVEL_COLUMN = np.asarray(KEY_LEVELS, dtype=np.int8)[:, None]
_DERMATOME_LEVEL_COLUMN = np.arange(1, 28, dtype=np.int8)[:, None]  # C2..S3


def lowest_function(side: Side) -> np.ndarray:
    """Most caudal key muscle with motor function (grade > 0); 0 when none."""
    return ((side.motor > 0) * _KEY_LEVEL_COLUMN).max(axis=0)


def key_level_only(non_key: np.ndarray) -> np.ndarray:
    """The non-key muscle's level where it is a key-muscle level (the only place the AIS and the
    motor ZPP compare it, see ais.function_far_below and zpp._non_key_for_zpp), else 0."""
    return np.where(np.isin(non_key, KEY_LEVELS), non_key, 0).astype(np.int8)


def _far_below(lowest: np.ndarray, motor: np.ndarray) -> np.ndarray:
    """Motor function (key muscle, or non-key muscle at a key level) more than three levels
    below the motor level (ais.py)."""
    return (lowest > motor + 3) & (motor < INT)


def _motor_zpp(
    lowest: np.ndarray, motor: np.ndarray, vac: np.ndarray, non_key: np.ndarray, c: np.ndarray
) -> np.ndarray:
    """Without VAC: the most caudal key muscle below the motor level with function, else the
    motor level itself; in grade C a non-key muscle (at a key level) more than three levels
    below that replaces it (zpp.py); NA with VAC."""
    zpp = np.maximum(lowest, motor)
    zpp = np.where(c & (non_key > zpp + 3), non_key, zpp)
    return np.where(vac, NA, zpp)


def _sensory_zpp(side: Side, dap: np.ndarray) -> np.ndarray:
    """Most caudal dermatome (C2..S3) with any sensation, C1 when none; NA unless S4-5 has no
    sensation on this side and DAP is absent (zpp.py)."""
    present = (side.touch[:27] | side.prick[:27]) > 0  # codes are the grades 0..2
    lowest = (present * _DERMATOME_LEVEL_COLUMN).max(axis=0)
    applies = (side.touch[27] == 0) & (side.prick[27] == 0) & ~dap
    return np.where(applies, lowest, NA)


def classify_plain(
    codes: np.ndarray, non_key: np.ndarray | None = None
) -> tuple[dict[str, Coded], np.ndarray]:
    """Classify plain exams given their code matrix (``validate``, columns = exams) and each
    side's non-key muscle level (``validate``; None: none recorded): returns (results,
    reroute), ``results`` mapping each of the 25 result keys to its ``Coded`` values and
    ``reroute`` marking the exams to classify one by one instead."""
    n = codes.shape[1]
    nk = {name: np.zeros(n, dtype=np.int8) for name in SIDES}
    if non_key is not None:
        nk = {name: key_level_only(non_key[i]) for i, name in enumerate(SIDES)}
    right, left = (Side(codes, name) for name in SIDES)
    vac = codes[VAC_ROW] == 0  # "Yes"
    dap = codes[DAP_ROW] == 0

    out: dict[str, Coded] = {}
    totals = {}
    for name, side in (("right", right), ("left", left)):
        upper = side.motor[:5].sum(axis=0, dtype=np.int16)
        lower = side.motor[5:].sum(axis=0, dtype=np.int16)
        touch = side.touch.sum(axis=0, dtype=np.int16)
        prick = side.prick.sum(axis=0, dtype=np.int16)
        totals[name] = (upper, lower, touch, prick)
        out[f"{name}UpperMotorTotal"] = _number(upper)
        out[f"{name}LowerMotorTotal"] = _number(lower)
        out[f"{name}MotorTotal"] = _number(upper + lower)
        out[f"{name}TouchTotal"] = _number(touch)
        out[f"{name}PrickTotal"] = _number(prick)
    r, lt = totals["right"], totals["left"]
    out["upperMotorTotal"] = _number(r[0] + lt[0])
    out["lowerMotorTotal"] = _number(r[1] + lt[1])
    out["touchTotal"] = _number(r[2] + lt[2])
    out["prickTotal"] = _number(r[3] + lt[3])

    motor = {}
    for name, side in (("right", right), ("left", left)):
        out[f"{name}Sensory"] = _level(sensory_level(side))
        motor[name] = motor_level(side, vac)
        out[f"{name}Motor"] = _level(motor[name])
    nli = neurological_level(right, left)
    out["neurologicalLevelOfInjury"] = _level(nli)

    # Complete: no sacral sparing (no S4-5 sensation on either side, no DAP, no VAC).
    complete = ~dap & ~vac
    for side in (right, left):
        complete &= (side.touch[27] == 0) & (side.prick[27] == 0)
    out["injuryComplete"] = _letter(np.where(complete, 0, 1), "CI")

    # AIS: A complete; E intact; B without motor incompleteness (VAC, or function more than
    # three levels below the motor level); else D when at least half of the key muscles below
    # the NLI are >= 3, C otherwise (ais.py).
    lowest = {"right": lowest_function(right), "left": lowest_function(left)}
    far = {name: np.maximum(lowest[name], nk[name]) for name in SIDES}
    motor_incomplete = (
        vac | _far_below(far["right"], motor["right"]) | _far_below(far["left"], motor["left"])
    )
    strong = np.zeros(n, dtype=np.int8)
    below = np.zeros(n, dtype=np.int8)
    for j, level in enumerate(KEY_LEVELS):
        under = nli < level
        strong += under & (right.motor[j] >= 3)
        strong += under & (left.motor[j] >= 3)
        below += 2 * under
    both_intact = (motor["right"] >= INT) & (motor["left"] >= INT)
    grade = np.select(
        [
            complete,
            (nli >= INT) & both_intact,
            ~motor_incomplete,
            2 * strong.astype(np.int16) >= below,
        ],
        [0, 4, 1, 3],
        default=2,
    )
    out["asiaImpairmentScale"] = _letter(grade, "ABCDE")
    # An intact NLI with a motor level that is not intact (VAC absent, all else normal) is B
    # above: not motor incomplete, and sensory incomplete through S4-5 sensation. Were it motor
    # incomplete no C/D rule would apply; that cannot happen for a plain exam, but such a row
    # would be left to the single-exam engine.
    reroute = ~complete & (nli >= INT) & ~both_intact & motor_incomplete

    for name, side in (("right", right), ("left", left)):
        out[f"{name}SensoryZpp"] = _zpp(_sensory_zpp(side, dap))
        zpp = _motor_zpp(lowest[name], motor[name], vac, nk[name], grade == 2)
        out[f"{name}MotorZpp"] = _zpp(zpp)
    return out, reroute


def _number(values: np.ndarray) -> Coded:
    return values, NUMBER_NAMES


def _level(index: np.ndarray) -> Coded:
    return index, LEVEL_NAMES


def _zpp(index: np.ndarray) -> Coded:
    return index.astype(np.int16) + 1, ZPP_NAMES  # NA (-1) is entry 0


def _letter(index: np.ndarray, letters: str) -> Coded:
    return index, tuple(letters)
