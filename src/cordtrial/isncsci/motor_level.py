"""Motor level, per side.

ISNCSCI 2019: the motor level is the most caudal key muscle graded >= 3 with every key muscle
above it graded 5. Where no key muscle can be tested (C1-C4, T2-L1, S2-S5) the motor level is
presumed to follow the sensory level, provided the testable motor function above is normal:
so the walk may enter C2-C4 and T2-L1 and S2-S3 only while sensation is normal there, and may
leave a key-muscle region (T1 -> T2, S1 -> S2) only if the last key muscle is 5 and sensation
is normal throughout the region just left. Past S4-5 the side is motor-intact only with
voluntary anal contraction (the S4-5 motor function), besides normal S4-5 sensation.
"""

from __future__ import annotations

import numpy as np

from .answers import Answers, all_along, all_of, any_rows, assemble, is_false
from .codes import KEY_LEVELS
from .levels import INDEX
from .rule import Rule
from .sensory_level import S4_5, dermatome_normal, ends_to_levels
from .sides import Possible, Side
from .values import BINARY, MOTOR_AT_LEAST_3, MOTOR_NORMAL, SENSORY_NORMAL
from .walk import walk

C5, T2, L2, S2 = INDEX["C5"], INDEX["T2"], INDEX["L2"], INDEX["S2"]
#: First non-key level after a key-muscle region -> the region's first level.
REGION_START = {T2: C5, S2: L2}
REGION_EXITS = frozenset(REGION_START)
#: Rows of a walk's steps (step row i enters level i + 1).
KEY_ROWS = np.asarray(KEY_LEVELS) - 1  # steps into a key-muscle level
ABOVE_ROWS = np.asarray(KEY_LEVELS)  # steps into the level below a key muscle

#: This step's rule, as the explanation cites it.
RULE = Rule(
    "motor level",
    "The motor level is the most caudal key muscle graded at least 3 with every key muscle above it graded 5; where no key muscle can be tested it follows the sensory level; INT needs voluntary anal contraction.",
    "cordtrial.isncsci.motor_level",
)


def region_exit(side: Side, level: int) -> Answers:
    """May the motor level leave a key-muscle region into ``level`` (T2, S2)? Sensation must be
    normal in each modality of each dermatome of the region just left and at ``level``; there
    a stop for abnormal sensation does not rest on a flag of the motor exam, so only assumed
    normal (``**``) stars count. A not-testable dermatome of the region (plain yes or no)
    leaves the yes unstarred even where another dermatome is considered normal (``**``), as
    in the reference: left C6 pin prick NT and T1 pin prick ``1**`` give motor level T1,INT;
    right L2 pin prick ``0**`` and S2 pin prick NT give S1,INT, as do L2 light touch NT and pin
    prick ``0**`` (with the NT outside the region, at T3, C6 ``0**`` gives T2*,INT*).
    """
    rows = slice(REGION_START[level] - 1, level)
    parts = [side.answers(SENSORY_NORMAL, block)[rows] for block in ("touch", "prick")]
    combined = all_of(all_along(parts[0]), all_along(parts[1])).unstarred_no()
    open_ = any_rows(parts[0].y & parts[0].n) | any_rows(parts[1].y & parts[1].n)
    return Answers(
        combined.y | (open_ & combined.ys), combined.ys & ~open_, combined.n, combined.ns
    )


def motor_steps(side: Side, vac: np.ndarray, flagged_stops: bool = True) -> Answers:
    """May the motor-level walk enter level i + 1 (row i)? ``flagged_stops=False``: a stop for
    abnormal sensation inside a non-key region carries no star (see ``motor_level``)."""
    sensation = dermatome_normal(side)
    if not flagged_stops:
        sensation = sensation.unstarred_no()
    muscle_ok = side.answers(MOTOR_AT_LEAST_3, "motor")
    above_normal = side.answers(MOTOR_NORMAL, "motor")
    exits = [(level - 1, region_exit(side, level)) for level in sorted(REGION_EXITS)]
    # The level below a key muscle: that muscle normal, and the level's own question (the next
    # key muscle, or a region exit).
    shape = (S4_5, side.exams.width)
    below = assemble(sensation, [(KEY_ROWS, muscle_ok), *exits], shape)
    patches = [
        (KEY_ROWS, muscle_ok),
        *exits,
        (ABOVE_ROWS, all_of(above_normal, below[ABOVE_ROWS])),
        (S4_5 - 1, _with_vac(sensation[S4_5 - 1], side.exams.binary(BINARY, vac))),
    ]
    return assemble(sensation, patches, shape)


def _with_vac(sensation: Answers, vac: Answers) -> Answers:
    """The step past S4-5: normal S4-5 sensation and VAC. The star is the sensation's either
    way, as in the reference: S4-5 pin prick ``0**`` or ``NT*`` with VAC No gives motor level
    S3*."""
    return Answers(
        sensation.y & vac.y,
        sensation.ys & vac.y,
        sensation.n | (sensation.y & vac.n),
        sensation.ns | (sensation.ys & vac.n),
    )


def motor_level(side: Side, vac: np.ndarray, flagged_stops: bool = True) -> Possible:
    """Possible motor levels, rows C1..INT. ``flagged_stops=False`` leaves unstarred a level
    where the walk stopped only because a not-testable dermatome was assumed abnormal
    (``NT*``); the motor ZPP, which ends at the motor level, uses it so (reference case 87)."""
    if not flagged_stops and is_false(dermatome_normal(side).ns):
        flagged_stops = True  # no stop rests on a flag (no flags here): the same walk
    return side.memo(
        ("motor level", flagged_stops),
        lambda: ends_to_levels(
            walk(motor_steps(side, vac, flagged_stops), (S4_5, side.exams.width))
        ),
    )
