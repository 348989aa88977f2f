"""Neurological level of injury (NLI).

ISNCSCI 2019: the most rostral of the right and left sensory and motor levels, i.e. the most
caudal segment with normal sensation on both sides and antigravity (>= 3) key-muscle strength
on both sides, with normal sensory and motor function rostrally. Computed as one walk over both
sides so that a not-testable cell takes the same value for all four levels.

A star marks an NLI that rests on a cell considered normal (``**``); a cell considered not
normal (``*``) only narrows the possible values, as in the reference cases, except where both
sides' motor levels end at its level (``_not_normal_stars``).
"""

from __future__ import annotations

import numpy as np

from .answers import Answers, all_of, any_rows, assemble, exists, materialise
from .codes import KEY_LEVELS
from .levels import INT
from .motor_level import ABOVE_ROWS, KEY_ROWS, REGION_EXITS, motor_level
from .rule import Rule
from .sensory_level import S4_5, dermatome_normal, ends_to_levels
from .sides import Exams, Possible
from .values import (
    CONSIDER_NORMAL,
    MOTOR_AT_LEAST_3,
    MOTOR_CELLS,
    MOTOR_NORMAL,
    NOT_NORMAL,
    motor_at_least_3,
    motor_normal,
)
from .walk import walk

#: This step's rule, as the explanation cites it.
RULE = Rule(
    "neurological level",
    "The neurological level of injury is the most rostral of the right and left sensory and motor levels.",
    "cordtrial.isncsci.nli",
)


def _considered_normal_stars(table: np.ndarray) -> np.ndarray:
    """A muscle question for the NLI walk: stars only from a cell considered normal (``**``)."""
    out = table.copy()
    plain = np.asarray([c.flag != CONSIDER_NORMAL for c in MOTOR_CELLS])
    out[0] |= out[1] & plain
    out[2] |= out[3] & plain
    out[1] &= ~plain
    out[3] &= ~plain
    return out


_NLI_AT_LEAST_3 = _considered_normal_stars(MOTOR_AT_LEAST_3)
_NLI_NORMAL = _considered_normal_stars(MOTOR_NORMAL)
#: Step rows in a key-muscle region or leaving one: there a stop for abnormal sensation
#: carries no star.
_KEY_REGION_ROWS = np.asarray(sorted({*KEY_ROWS, *(level - 1 for level in REGION_EXITS)}))
_NOT_NORMAL_CODES = np.asarray([c.flag == NOT_NORMAL for c in MOTOR_CELLS])


def both_sides_normal(exams: Exams) -> Answers:
    """Sensation normal on both sides (row j: level j + 1). In a non-key region a stop is
    starred only when both sides stop on a flag: right C4 light touch ``NT*`` with left
    ``NT*`` gives a starred stop, with left ``0**`` (normal there) a plain one. Where the walk
    is in a key-muscle region (or leaving one) a stop for abnormal sensation carries no star."""
    r, lt = dermatome_normal(exams.right), dermatome_normal(exams.left)
    r_yes, l_yes = r.yes, lt.yes
    non_key = Answers(
        r.y & lt.y,
        (r.ys & l_yes) | (r_yes & lt.ys),
        r.n | lt.n | (r_yes & lt.ns) | (r.ns & l_yes),
        r.ns & lt.ns,
    )
    key = all_of(r, lt).unstarred_no()[_KEY_REGION_ROWS]
    return assemble(non_key, [(_KEY_REGION_ROWS, key)], (S4_5, exams.width))


def nli_steps(exams: Exams, not_normal_stars: bool = False) -> Answers:
    """May the NLI walk enter level i + 1 (row i): sensation normal on both sides, each side's
    key muscle above 5 and key muscle at the level >= 3 (stars only from ``**`` unless
    ``not_normal_stars``)."""
    sensation = both_sides_normal(exams)
    at_table = MOTOR_AT_LEAST_3 if not_normal_stars else _NLI_AT_LEAST_3
    normal_table = MOTOR_NORMAL if not_normal_stars else _NLI_NORMAL
    right, left = exams.sides
    at = all_of(right.answers(at_table, "motor"), left.answers(at_table, "motor"))
    above = all_of(right.answers(normal_table, "motor"), left.answers(normal_table, "motor"))
    key = all_of(sensation[KEY_ROWS], at)
    below = assemble(sensation, [(KEY_ROWS, key)], (S4_5, exams.width))
    patches = [(KEY_ROWS, key), (ABOVE_ROWS, all_of(below[ABOVE_ROWS], above))]
    return assemble(sensation, patches, (S4_5, exams.width))


def neurological_level(exams: Exams) -> Possible:
    """Possible NLIs, rows C1..INT."""
    return exams.memo("nli", lambda: _neurological_level(exams))


def _neurological_level(exams: Exams) -> Possible:
    result = ends_to_levels(walk(nli_steps(exams), (S4_5, exams.width)))
    flagged = exams.right.bits(_NOT_NORMAL_CODES, "motor") | exams.left.bits(
        _NOT_NORMAL_CODES, "motor"
    )
    flagged = any_rows(flagged)
    if not exists(flagged):
        return result
    return _not_normal_stars(exams, result, flagged)


def _not_normal_stars(exams: Exams, result: Possible, flagged: np.ndarray) -> Possible:
    """A muscle flagged not normal (``*``) that may be >= 3 ends the NLI at its own level; the
    reference stars that NLI only when the other side's motor level can end there because of
    its own muscles (this one not normal, or the next below 3), not because its sensation below
    is abnormal: left C5 ``1*`` gives NLI C4,C5 with the right side intact, C4,C5* with right
    C6 0; left T1 ``2*`` with right T2 pin prick 0 gives C8,T1, with right T1 NT as well
    C8,T1*. With the muscle flagged on both sides each side is the other's (C6 ``0*`` on both:
    C5,C6*)."""
    with_stars = ends_to_levels(walk(nli_steps(exams, not_normal_stars=True), (S4_5, exams.width)))
    shape, muscles = (INT + 1, exams.width), (len(KEY_LEVELS), exams.width)
    extra = materialise(result.present & ~result.starred & with_stars.starred & flagged, shape)
    sides = exams.sides
    levels = [materialise(motor_level(side, exams.vac).present, shape) for side in sides]
    weak_normal = [materialise(side.bits(_MAY_NOT_BE_NORMAL, "motor"), muscles) for side in sides]
    weak_at_3 = [materialise(side.bits(_MAY_BE_BELOW_3, "motor"), muscles) for side in sides]
    not_normal = [materialise(side.bits(_NOT_NORMAL_CODES, "motor"), muscles) for side in sides]
    star = np.zeros(shape, dtype=np.uint8)
    for j, level in enumerate(KEY_LEVELS):
        weak_here = np.zeros(exams.width, dtype=np.uint8)
        for i in range(2):
            weak = weak_normal[i][j]
            if j + 1 < len(KEY_LEVELS) and KEY_LEVELS[j + 1] == level + 1:
                weak = weak | weak_at_3[i][j + 1]
            weak_here |= not_normal[1 - i][j] & levels[i][level] & weak
        star[level] = extra[level] & weak_here
    return Possible(result.plain & ~star, result.star | star)


#: Per motor code: may the muscle not be normal (5)? May it be below 3?
_MAY_NOT_BE_NORMAL = np.asarray([any(not a.yes for a in motor_normal(c)) for c in MOTOR_CELLS])
_MAY_BE_BELOW_3 = np.asarray([any(not a.yes for a in motor_at_least_3(c)) for c in MOTOR_CELLS])
