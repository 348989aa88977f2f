"""Motor level, per side.

ISNCSCI 2019: the motor level is the most caudal key muscle graded >= 3 with every key muscle
above it graded 5. Where no key muscle can be tested (C1-C4, T2-L1, S2-S5) the motor level is
presumed to follow the sensory level, provided the testable motor function above is normal:
so the walk may enter C2-C4 and T2-L1 and S2-S3 only while sensation is normal there, and may
leave a key-muscle region (T1 -> T2, S1 -> S2) only if the last key muscle is 5 and sensation
is normal throughout the region just left.
"""

from __future__ import annotations

from functools import cache

from .candidates import Candidates
from .exam import ExamSide
from .levels import INDEX, INT, KEY_MUSCLES
from .sensory_level import S4_5, dermatome_normal, ends_to_levels
from .values import Answer, binary, motor_at_least_3, motor_normal, sensory_normal
from .walk import all_of, drop_stars, walk

C5, T2, L2, S2 = INDEX["C5"], INDEX["T2"], INDEX["L2"], INDEX["S2"]
_REGION_START = {T2: C5, S2: L2}  # first non-key level -> first level of the key region above
REGION_EXITS = frozenset(_REGION_START)


def muscle(side: ExamSide, level: int):
    return side.motor[_MUSCLE_INDEX[level]]


_MUSCLE_INDEX = {INDEX[m]: i for i, m in enumerate(KEY_MUSCLES)}
#: Per level index: the index in ``side.motor`` of the key muscle at the level just above / at
#: the level itself, or None (a lookup instead of ``is_key_muscle`` + ``muscle`` per step).
MUSCLE_ABOVE = tuple(_MUSCLE_INDEX.get(level - 1) for level in range(INT + 1))
MUSCLE_AT = tuple(_MUSCLE_INDEX.get(level) for level in range(INT + 1))


@cache  # called with the frozen answer sets of a dermatome or region: few distinct ones
def _yes_stars_only(answers: frozenset[Answer]) -> frozenset[Answer]:
    return drop_stars(answers, keep=lambda a: a.yes)


def region_sensation(side: ExamSide, level: int, flagged_stops: bool = True) -> set[Answer]:
    """May the motor level follow the sensory level into non-key ``level``?

    Inside a non-key region the dermatome entered decides, with its star. Leaving a key-muscle
    region (T1 -> T2, S1 -> S2) needs normal sensation through the whole region just left;
    there a stop for abnormal sensation does not rest on a flag of the motor exam, so only
    assumed-normal (``**``) stars count.
    """
    first = _REGION_START.get(level)
    if first is None:
        answers = dermatome_normal(side, level)
        return answers if flagged_stops else _yes_stars_only(answers)
    return _region_exit(side, level, first)


#: Per (side object, exit level): (the side, answers); identity-keyed like the dermatome
#: answers in sensory_level, since each motor-level walk of a side asks the same question.
_EXITS: dict[tuple[int, int], tuple[ExamSide, frozenset[Answer]]] = {}


def _region_exit(side: ExamSide, level: int, first: int) -> frozenset[Answer]:
    entry = _EXITS.get((id(side), level))
    if entry is not None and entry[0] is side:
        return entry[1]
    # Each modality of each dermatome of the region, so that a not-testable one counts even
    # beside a flagged one in the same dermatome (L2 light touch NT, pin prick ``0**``).
    region = [
        sensory_normal(cells[k - 1])
        for k in range(first, level + 1)
        for cells in (side.light_touch, side.pin_prick)
    ]
    answers = _yes_stars_only(_plain_if_open(region, all_of(*region)))
    if len(_EXITS) >= 1024:
        _EXITS.clear()
    _EXITS[(id(side), level)] = (side, answers)
    return answers


def _plain_if_open(parts, combined: set[Answer]) -> set[Answer]:
    """At a region exit, a not-testable dermatome of the region (plain yes or no) leaves the
    yes unstarred even where another dermatome is considered normal (``**``), as in the
    reference: left C6 pin prick NT and T1 pin prick ``1**`` give motor level T1,INT; right L2
    pin prick ``0**`` and S2 pin prick NT give S1,INT, as do L2 light touch NT and pin prick
    ``0**`` (with the NT outside the region, at T3, C6 ``0**`` gives T2*,INT*)."""
    if any(Answer(True) in p and Answer(False) in p for p in parts):
        return frozenset(Answer(a.yes, a.star and not a.yes) for a in combined)
    return combined


def motor_step(side: ExamSide, vac: str, level: int, flagged_stops: bool = True) -> set[Answer]:
    """May the motor-level walk enter ``level`` on this side?"""
    if level == S4_5:
        return _with_vac(region_sensation(side, level, flagged_stops), vac)
    parts = []
    above, at = MUSCLE_ABOVE[level], MUSCLE_AT[level]
    if above is not None:
        parts.append(motor_normal(side.motor[above]))
    if at is not None:
        parts.append(motor_at_least_3(side.motor[at]))
    else:
        parts.append(region_sensation(side, level, flagged_stops))
    return all_of(*parts)


@cache
def _with_vac(sensation: frozenset[Answer], vac: str) -> frozenset[Answer]:
    """Past S4-5 the side is motor-intact only with voluntary anal contraction (the S4-5 motor
    function) besides normal S4-5 sensation. The star is the sensation's either way, as in
    the reference: S4-5 pin prick ``0**`` or ``NT*`` with VAC No gives motor level S3*."""
    return frozenset(Answer(s.yes and v.yes, s.star) for s in sensation for v in binary(vac))


def motor_level(side: ExamSide, vac: str, flagged_stops: bool = True) -> Candidates:
    """Motor level candidates. ``flagged_stops=False`` leaves unstarred a level where the walk
    stopped only because a not-testable dermatome was assumed abnormal (``NT*``); the motor
    ZPP, which ends at the motor level, uses it so (reference case 87)."""
    ends = walk(lambda level: motor_step(side, vac, level, flagged_stops), stop=S4_5)
    return Candidates.of(ends_to_levels(ends), order=int)
