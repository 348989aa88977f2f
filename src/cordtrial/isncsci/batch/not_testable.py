"""ISNCSCI 2019 classification of exams with not-testable cells, column-wise in NumPy.

"Open" exams (see ``validate``): some cell, VAC or DAP is ``NT`` and no cell carries a
``*``/``**`` flag (a non-key muscle may be recorded: see ``non_key`` for its motor ZPP).
Without flags no result carries a star, so every question the single-exam engine asks of such an
exam has the possible answers "yes", "no" or both, and each is held here as two boolean vectors
over the exams: ``yes`` (may be yes) and ``no`` (may be no). The rules are those of ``cordtrial.isncsci`` (ISNCSCI, revised 2019,
American Spinal Injury Association; each module there cites it) restricted to that case:

- "are all of these yes?" may be yes when every part may be, and no when any part may be
  (``walk.all_of``);
- a walk may end at a level when some path may reach it and may stop there (``walk.walk``): so a
  level result is a set of levels, one boolean vector per level;
- a result is rendered as its possible values in canonical order joined by commas, like
  ``Candidates.render``.

The equality with the single-exam path on every such exam is tested (hypothesis and seeded
equality tests in tests/isncsci/test_batch*.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..levels import INDEX, INT, SIDES
from .columns import DAP_ROW, KEY_LEVELS, LEVEL_NAMES, VAC_ROW, side_blocks
from .validate import NO_NON_KEY
from .vectorised import NUMBER_NAMES, Coded, key_level_only

S4_5 = INDEX["S4_5"]
N_VALUES = INT + 1  # level indices C1..S4-5 and INT
_KEY_COLUMN = {level: j for j, level in enumerate(KEY_LEVELS)}
_REGION_START = {INDEX["T2"]: INDEX["C5"], INDEX["S2"]: INDEX["L2"]}

# Codes (validate.py): sensory 0-2 and motor 0-5 are the grades, NT follows them; VAC/DAP
# Yes 0, No 1, NT 2.
SENSORY_NT, MOTOR_NT, BINARY_NT = 3, 6, 2
YES_CODE, NO_CODE = 0, 1

TOTAL_NAMES: tuple[str, ...] = (*NUMBER_NAMES, "ND")
ND = len(NUMBER_NAMES)


class Question:
    """The possible answers to one yes/no question for every exam."""

    __slots__ = ("no", "yes")

    def __init__(self, yes: np.ndarray, no: np.ndarray) -> None:
        self.yes, self.no = yes, no

    def negated(self) -> Question:
        return Question(self.no, self.yes)


def all_of(*questions: Question) -> Question:
    yes, no = questions[0].yes.copy(), questions[0].no.copy()
    for q in questions[1:]:
        yes &= q.yes
        no |= q.no
    return Question(yes, no)


def any_of(*questions: Question) -> Question:
    return all_of(*(q.negated() for q in questions)).negated()


def _cells(codes: np.ndarray, nt: int, is_yes) -> Question:
    """A question about cells: ``is_yes`` of the grade, both answers where not testable."""
    untested = codes == nt
    yes = is_yes(codes)  # the NT code itself may read as yes; ``untested`` decides there
    return Question((yes & ~untested) | untested, ~yes | untested)


def walk(steps, n: int) -> np.ndarray:
    """Where each exam's walk from C1 may end: bool (N_VALUES, n); ``steps`` yields the
    question "may the walk enter level i?" for i = C2..S4-5, a walk through S4-5 ends at INT
    (``walk.walk`` with ``sensory_level.ends_to_levels``)."""
    ends = np.zeros((N_VALUES, n), dtype=bool)
    alive = np.ones(n, dtype=bool)
    for level, step in enumerate(steps, start=1):
        ends[level - 1] = alive & step.no
        alive &= step.yes
    ends[INT] = alive
    return ends


class Side:
    """One side's questions, level-major (``normal[j]``: dermatome j, level j + 1)."""

    def __init__(self, codes: np.ndarray, side: str) -> None:
        self.touch, self.prick, self.motor = side_blocks(codes, side)
        touch_normal = _cells(self.touch, SENSORY_NT, lambda c: c == 2)
        prick_normal = _cells(self.prick, SENSORY_NT, lambda c: c == 2)
        self.touch_normal, self.prick_normal = touch_normal, prick_normal
        self.normal = all_of(touch_normal, prick_normal)  # both modalities normal
        self.at_least_3 = _cells(self.motor, MOTOR_NT, lambda c: c >= 3)
        self.five = _cells(self.motor, MOTOR_NT, lambda c: c == 5)
        self.motor_present = _cells(self.motor, MOTOR_NT, lambda c: c > 0)
        self.touch_present = _cells(self.touch, SENSORY_NT, lambda c: c > 0)
        self.prick_present = _cells(self.prick, SENSORY_NT, lambda c: c > 0)

    def dermatome(self, level: int) -> Question:
        return Question(self.normal.yes[level - 1], self.normal.no[level - 1])

    def muscle(self, question: Question, level: int) -> Question:
        j = _KEY_COLUMN[level]
        return Question(question.yes[j], question.no[j])


def sensory_level(side: Side, n: int) -> np.ndarray:
    return walk((side.dermatome(level) for level in range(1, S4_5 + 1)), n)


def _region_exit(side: Side, level: int) -> Question:
    """Leaving a key-muscle region needs every modality of every dermatome of it normal."""
    rows = slice(_REGION_START[level] - 1, level)
    touch, prick = side.touch_normal, side.prick_normal
    return Question(
        touch.yes[rows].all(axis=0) & prick.yes[rows].all(axis=0),
        touch.no[rows].any(axis=0) | prick.no[rows].any(axis=0),
    )


def motor_level(side: Side, vac: Question, n: int) -> np.ndarray:
    """motor_level.motor_step: the key muscle above 5, the muscle at the level >= 3 or, at a
    non-key level, sensation there (the whole region when leaving one); VAC past S4-5."""

    def steps():
        for level in range(1, S4_5 + 1):
            parts = []
            if level - 1 in _KEY_COLUMN:
                parts.append(side.muscle(side.five, level - 1))
            if level == S4_5:
                parts.append(vac)
            if level in _KEY_COLUMN:
                parts.append(side.muscle(side.at_least_3, level))
            elif level in _REGION_START:
                parts.append(_region_exit(side, level))
            else:
                parts.append(side.dermatome(level))
            yield all_of(*parts)

    return walk(steps(), n)


def neurological_level(right: Side, left: Side, n: int) -> np.ndarray:
    """nli.nli_step: sensation normal on both sides, each side's muscle above 5 and muscle at
    the level >= 3."""

    def steps():
        for level in range(1, S4_5 + 1):
            parts = [right.dermatome(level), left.dermatome(level)]
            for side in (right, left):
                if level - 1 in _KEY_COLUMN:
                    parts.append(side.muscle(side.five, level - 1))
                if level in _KEY_COLUMN:
                    parts.append(side.muscle(side.at_least_3, level))
            yield all_of(*parts)

    return walk(steps(), n)


def _sacral(side: Side) -> tuple[Question, Question]:
    """S4-5 light touch and pin prick present."""
    d = S4_5 - 1
    return (
        Question(side.touch_present.yes[d], side.touch_present.no[d]),
        Question(side.prick_present.yes[d], side.prick_present.no[d]),
    )


def function_far_below(side: Side, levels: np.ndarray, non_key: np.ndarray) -> Question:
    """ais.function_far_below over every possible motor level: motor function in a key muscle,
    or a non-key muscle named at a key level (``non_key``, else 0), more than three levels
    below it (none below an intact side)."""
    n = levels.shape[1]
    yes, no = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    present = side.motor_present
    for level in range(N_VALUES):
        possible = levels[level]
        if level >= INT:
            no |= possible
            continue
        below = [j for j, k in enumerate(KEY_LEVELS) if k > level + 3]
        # The first muscle that may have function may be the one found, so "any may"; no
        # function at all needs every one to be possibly without.
        non_key_far = non_key > level + 3
        yes |= possible & (present.yes[below].any(axis=0) | non_key_far)
        no |= possible & present.no[below].all(axis=0) & ~non_key_far
    return Question(yes, no)


def c_or_d(right: Side, left: Side, nli: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(C possible, D possible) over the possible NLIs below INT: D when at least half of the
    key muscles below the NLI may be >= 3, C when fewer than half may be (ais.c_or_d)."""
    n = nli.shape[1]
    c, d = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    strong = np.zeros(n, dtype=np.int16)  # surely >= 3 below the level
    maybe = np.zeros(n, dtype=np.int16)  # surely or possibly >= 3 below the level
    total = 0
    # From the most caudal level up, adding each key muscle once the level is above it.
    for level in range(INT - 1, -1, -1):
        if level + 1 in _KEY_COLUMN:
            j = _KEY_COLUMN[level + 1]
            for side in (right, left):
                q = side.at_least_3
                strong += q.yes[j] & ~q.no[j]
                maybe += q.yes[j]
            total += 2
        possible = nli[level]
        d |= possible & (2 * maybe >= total)
        c |= possible & (2 * strong < total)
    return c, d


@dataclass
class Partial:
    """Every result but the motor ZPPs, and what those need."""

    out: dict[str, Coded]
    sides: dict[str, Side]
    motor: dict[str, np.ndarray]  # possible motor levels per side, bool (N_VALUES, n)
    vac: Question
    grades: np.ndarray  # possible AIS grades A-E, bool (5, n)


def classify_partly(codes: np.ndarray, far_non_key: dict[str, np.ndarray]) -> Partial:
    """Everything but the motor ZPPs; ``far_non_key``: per side, the non-key muscle's level
    where it is a key-muscle level, else 0 (``vectorised.key_level_only``)."""
    n = codes.shape[1]
    right, left = (Side(codes, name) for name in SIDES)
    vac = _cells(codes[VAC_ROW], BINARY_NT, lambda c: c == YES_CODE)
    dap = _cells(codes[DAP_ROW], BINARY_NT, lambda c: c == YES_CODE)

    out: dict[str, Coded] = _totals(right, left)
    motor = {}
    for name, side in (("right", right), ("left", left)):
        out[f"{name}Sensory"] = _levels(sensory_level(side, n))
        motor[name] = motor_level(side, vac, n)
        out[f"{name}Motor"] = _levels(motor[name])
    nli = neurological_level(right, left, n)
    out["neurologicalLevelOfInjury"] = _levels(nli)

    sacral = [q for side in (right, left) for q in _sacral(side)]
    # completeness.injury_complete: complete when nothing is preserved at S4-5.
    complete = all_of(*(q.negated() for q in (*sacral, dap, vac)))
    out["injuryComplete"] = _render(np.stack([complete.yes, complete.no]), ("C", "I"))
    sparing = any_of(*sacral, dap).yes  # completeness.sacral_sensory_sparing may be yes

    # ais.motor_incomplete: VAC, or (with sacral sensory sparing) function far below the
    # motor level on either side.
    far_r, far_l = (
        function_far_below(right, motor["right"], far_non_key["right"]),
        function_far_below(left, motor["left"], far_non_key["left"]),
    )
    without_vac = sparing & vac.no
    incomplete_yes = vac.yes | (without_vac & (far_r.yes | far_l.yes))
    incomplete_no = without_vac & far_r.no & far_l.no
    intact_motor = motor["right"][INT] & motor["left"][INT]
    c, d = c_or_d(right, left, nli)
    graded = complete.no  # an incomplete injury gets B-E
    grades = np.stack(
        [
            complete.yes,
            graded & incomplete_no & sparing,
            graded & incomplete_yes & c,
            graded & incomplete_yes & d,
            graded & nli[INT] & intact_motor,
        ]
    )
    out["asiaImpairmentScale"] = _render(grades, tuple("ABCDE"))
    for name, side in (("right", right), ("left", left)):
        out[f"{name}SensoryZpp"] = _render(_sensory_zpp(side, dap), ZPP_NAMES)
    return Partial(out, {"right": right, "left": left}, motor, vac, grades)


def classify_open(
    codes: np.ndarray, non_key: np.ndarray | None = None
) -> tuple[dict[str, Coded], np.ndarray]:
    """Classify open exams given their code matrix and each side's non-key muscle level
    (``validate``, columns = exams; None: none recorded): returns (results, reroute) like
    ``vectorised.classify_plain``."""
    from .non_key import motor_zpp_with_non_key  # imports this module

    n = codes.shape[1]
    if non_key is None:
        non_key = np.full((len(SIDES), n), NO_NON_KEY, dtype=np.int8)
    far = {name: key_level_only(non_key[i]) for i, name in enumerate(SIDES)}
    partial = classify_partly(codes, far)
    out = partial.out
    zpp = {
        name: _motor_zpp(partial.sides[name], partial.motor[name], partial.vac) for name in SIDES
    }
    reroute = np.zeros(n, dtype=bool)
    if (non_key != NO_NON_KEY).any():
        reroute = motor_zpp_with_non_key(codes, non_key, partial, zpp)
    for name in SIDES:
        out[f"{name}MotorZpp"] = _render(zpp[name], ZPP_NAMES)
    return out, reroute


ZPP_NAMES: tuple[str, ...] = ("NA", *LEVEL_NAMES)  # row 0 NA, row i + 1 level i


def _sensory_zpp(side: Side, dap: Question) -> np.ndarray:
    """zpp.sensory_zpp: NA unless the side may have no S4-5 sensation and no DAP; then the
    levels a scan up from S3 may stop at (sensation present in either modality), C1 when it
    may find none."""
    touch, prick = _sacral(side)
    applies = all_of(touch.negated(), prick.negated(), dap.negated())
    n = applies.yes.shape[0]
    out = np.zeros((N_VALUES + 1, n), dtype=bool)
    out[0] = applies.no
    alive = applies.yes.copy()
    for level in range(S4_5 - 1, 0, -1):
        d = level - 1
        present = any_of(
            Question(side.touch_present.yes[d], side.touch_present.no[d]),
            Question(side.prick_present.yes[d], side.prick_present.no[d]),
        )
        out[level + 1] = alive & present.yes
        alive &= present.no
    out[1] = alive  # C1
    return out


def _motor_zpp(side: Side, levels: np.ndarray, vac: Question) -> np.ndarray:
    """zpp.motor_zpp without a non-key muscle: NA where VAC may be present; where it may be
    absent, for each possible motor level below INT the key muscles below it a scan up from S1
    may stop at (function present), the motor level itself when it may find none."""
    n = levels.shape[1]
    out = np.zeros((N_VALUES + 1, n), dtype=bool)
    out[0] = vac.yes
    present = side.motor_present
    # clear[j]: every key muscle below key muscle j may be without function.
    clear = np.ones((len(KEY_LEVELS) + 1, n), dtype=bool)
    for j in range(len(KEY_LEVELS) - 1, -1, -1):
        clear[j] = clear[j + 1] & present.no[j]
    rostral = np.full(n, INT, dtype=np.int8)  # most rostral possible motor level below INT
    for level in range(INT - 1, -1, -1):
        rostral = np.where(levels[level], level, rostral)
    for j, k in enumerate(KEY_LEVELS):
        out[k + 1] = vac.no & (rostral < k) & present.yes[j] & clear[j + 1]
    for level in range(INT):
        first_below = next((j for j, k in enumerate(KEY_LEVELS) if k > level), len(KEY_LEVELS))
        out[level + 1] |= vac.no & levels[level] & clear[first_below]
    return out


def _totals(right: Side, left: Side) -> dict[str, Coded]:
    """Sums of the grades; ND where a summed cell is not testable (totals.py)."""
    parts = {}
    for name, side in (("right", right), ("left", left)):
        parts[name] = {
            "UpperMotor": _sum(side.motor[:5], MOTOR_NT),
            "LowerMotor": _sum(side.motor[5:], MOTOR_NT),
            "Touch": _sum(side.touch, SENSORY_NT),
            "Prick": _sum(side.prick, SENSORY_NT),
        }
        parts[name]["Motor"] = _add(parts[name]["UpperMotor"], parts[name]["LowerMotor"])
    out = {}
    for name in SIDES:
        for what in ("UpperMotor", "LowerMotor", "Motor", "Touch", "Prick"):
            out[f"{name}{what}Total"] = (parts[name][what], TOTAL_NAMES)
    for what, key in (
        ("UpperMotor", "upperMotorTotal"),
        ("LowerMotor", "lowerMotorTotal"),
        ("Touch", "touchTotal"),
        ("Prick", "prickTotal"),
    ):
        out[key] = (_add(parts["right"][what], parts["left"][what]), TOTAL_NAMES)
    return out


def _sum(codes: np.ndarray, nt: int) -> np.ndarray:
    untested = (codes == nt).any(axis=0)
    return np.where(untested, ND, codes.sum(axis=0, dtype=np.int16)).astype(np.int16)


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where((a == ND) | (b == ND), ND, a + b).astype(np.int16)


def _levels(ends: np.ndarray) -> Coded:
    return _render(ends, LEVEL_NAMES)


def _render(possible: np.ndarray, names: tuple[str, ...]) -> Coded:
    """A set-valued result (``possible``: bool, one row per value in canonical order) as codes
    into the strings "value,value,..." (``Candidates.render`` without stars)."""
    bits = np.zeros(possible.shape[1], dtype=np.uint64)
    for i, row in enumerate(possible):
        bits |= row.astype(np.uint64) << np.uint64(i)
    masks, index = np.unique(bits, return_inverse=True)
    return index.astype(np.int32), tuple(_joined(mask, names) for mask in masks.tolist())


@lru_cache(maxsize=65_536)  # the same few hundred sets recur from chunk to chunk
def _joined(mask: int, names: tuple[str, ...]) -> str:
    return ",".join(name for i, name in enumerate(names) if mask >> i & 1)
