"""Sensory level, per side.

ISNCSCI 2019: the sensory level is the most caudal dermatome with normal light touch AND pin
prick sensation, all rostral dermatomes being normal too. C1 is presumed normal; when S4-5 is
normal as well the side is intact (INT).
"""

from __future__ import annotations

import numpy as np

from .answers import Answers, all_of, is_false
from .levels import INDEX, INT
from .rule import Rule
from .sides import Possible, Side
from .values import NONE, NOT_NORMAL, SENSORY_CELLS, SENSORY_NORMAL
from .walk import walk

S4_5 = INDEX["S4_5"]

_UNTESTED = np.asarray([c.grade is None for c in SENSORY_CELLS])
_UNTESTED_NOT_NORMAL = _UNTESTED & np.asarray([c.flag == NOT_NORMAL for c in SENSORY_CELLS])
_UNTESTED_PLAIN = _UNTESTED & np.asarray([c.flag == NONE for c in SENSORY_CELLS])

#: This step's rule, as the explanation cites it.
RULE = Rule(
    "sensory level",
    "The sensory level is the most caudal dermatome with normal light touch and pin prick, all rostral dermatomes normal too; INT when S4-5 is normal as well.",
    "cordtrial.isncsci.sensory_level",
)


def dermatome_normal(side: Side) -> Answers:
    """Answers to "is dermatome j normal?" (row j is level j + 1, C2..S4-5): both modalities
    normal. A dermatome with neither modality testable reads as one not-testable dermatome, as
    in the reference: flagged not normal when either is ``NT*`` (``NT`` beside ``NT*``:
    abnormal, starred), else open without a star when either is a plain ``NT`` (``NT`` beside
    ``NT**``: a star on neither answer), else considered normal (``NT**`` twice)."""
    return side.memo("normal", lambda: _dermatome_normal(side))


def _dermatome_normal(side: Side) -> Answers:
    both = all_of(side.answers(SENSORY_NORMAL, "touch"), side.answers(SENSORY_NORMAL, "prick"))
    untested = side.bits(_UNTESTED, "touch") & side.bits(_UNTESTED, "prick")
    if is_false(untested):
        return both
    not_normal = untested & (
        side.bits(_UNTESTED_NOT_NORMAL, "touch") | side.bits(_UNTESTED_NOT_NORMAL, "prick")
    )
    open_ = (
        untested
        & ~not_normal
        & (side.bits(_UNTESTED_PLAIN, "touch") | side.bits(_UNTESTED_PLAIN, "prick"))
    )
    assumed = untested & ~not_normal & ~open_
    tested = ~untested
    return Answers(
        (both.y & tested) | open_,
        (both.ys & tested) | assumed,
        (both.n & tested) | open_,
        (both.ns & tested) | not_normal,
    )


def ends_to_levels(ends: Possible) -> Possible:
    """A walk from C1 that got through S4-5 ends at INT (S4-5 itself is never a level): rows
    C1..INT, the S4-5 row empty."""
    shape = (INT + 1, *np.shape(ends.plain)[1:]) if isinstance(ends.plain, np.ndarray) else None
    shape = shape or (INT + 1, *ends.star.shape[1:])
    return Possible.rows(shape, (slice(0, S4_5), ends[:S4_5]), (slice(INT, None), ends[S4_5:]))


def sensory_level(side: Side) -> Possible:
    """Possible sensory levels, rows C1..INT (``levels`` indices)."""
    return ends_to_levels(walk(dermatome_normal(side), (S4_5, side.exams.width)))


assert INT == S4_5 + 1
