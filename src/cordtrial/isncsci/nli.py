"""Neurological level of injury (NLI).

ISNCSCI 2019: the most rostral of the right and left sensory and motor levels, i.e. the most
caudal segment with normal sensation on both sides and antigravity (>= 3) key-muscle strength
on both sides, with normal sensory and motor function rostrally. Computed as one walk over both
sides so that a not-testable cell takes the same value for all four levels.

A star marks an NLI that rests on a cell considered normal (``**``); a cell considered not
normal (``*``) only narrows the possible values, as in the reference cases.
"""

from __future__ import annotations

from functools import cache

from .candidates import Candidates
from .exam import Exam
from .levels import is_key_muscle
from .motor_level import MUSCLE_ABOVE, MUSCLE_AT, REGION_EXITS, motor_level, muscle
from .sensory_level import S4_5, dermatome_normal, ends_to_levels
from .values import CONSIDER_NORMAL, NOT_NORMAL, Answer, motor_at_least_3, motor_normal
from .walk import all_of, drop_stars, walk


def _considered_normal_only(cell, answers) -> set[Answer]:
    return drop_stars(answers, keep=lambda a: cell.flag == CONSIDER_NORMAL)


def both_sides_normal(exam: Exam, level: int) -> set[Answer]:
    """Sensation at ``level`` normal on both sides. Where the walk is in a key-muscle region (or
    leaving one) a stop for abnormal sensation carries no star; in a non-key region it does
    when both sides stop on a flag, as the reference cases show."""
    right, left = dermatome_normal(exam.right, level), dermatome_normal(exam.left, level)
    return _both_sides(right, left, is_key_muscle(level) or level in REGION_EXITS)


@cache
def _both_sides(right: frozenset, left: frozenset, key_region: bool) -> frozenset[Answer]:
    """``both_sides_normal`` from each side's answers (few distinct pairs, so cached)."""
    if key_region:
        return drop_stars(all_of(right, left), keep=lambda a: a.yes)
    out = set()
    for r in right:
        for lt in left:
            if r.yes and lt.yes:
                out.add(Answer(True, r.star or lt.star))
            else:
                # Starred only when both sides stop on a flag: right ``NT*`` with left
                # ``NT*`` gives a starred stop, with left ``0**`` (normal there) a plain one.
                out.add(Answer(False, not r.yes and r.star and not lt.yes and lt.star))
    return frozenset(out)  # hashable, so that all_of memoises the step


def nli_step(exam: Exam, level: int, not_normal_stars: bool = False) -> set[Answer]:
    parts = [both_sides_normal(exam, level)]
    above, at = MUSCLE_ABOVE[level], MUSCLE_AT[level]
    for side in (exam.right, exam.left):
        if above is not None:
            parts.append(_muscle_answers(side.motor[above], motor_normal, not_normal_stars))
        if at is not None:
            parts.append(_muscle_answers(side.motor[at], motor_at_least_3, not_normal_stars))
    return all_of(*parts)


@cache
def _muscle_answers(cell, question, not_normal_stars: bool) -> frozenset[Answer]:
    """A key muscle's answers to ``question`` for the NLI walk: stars only from ``**`` unless
    ``not_normal_stars`` (cached per cell: the vocabulary is small)."""
    answers = question(cell)
    return frozenset(answers) if not_normal_stars else _considered_normal_only(cell, answers)


def neurological_level(exam: Exam) -> Candidates:
    ends = walk(lambda level: nli_step(exam, level), stop=S4_5)
    result = Candidates.of(ends_to_levels(ends), order=int)
    # A muscle flagged not normal (``*``) that may be >= 3 ends the NLI at its own level; the
    # reference stars that NLI only when the other side's muscles can end its motor level there
    # too (left C5 ``1*``: NLI C4,C5 with the right side intact, C4,C5* with right C6 0).
    if not any(c.flag == NOT_NORMAL for side in (exam.right, exam.left) for c in side.motor):
        return result
    flagged = walk(lambda level: nli_step(exam, level, not_normal_stars=True), stop=S4_5)
    starred = dict(Candidates.of(ends_to_levels(flagged), order=int).items)
    extra = [level for level, star in result.items if starred.get(level) and not star]
    if not extra:
        return result
    sides = (exam.right, exam.left)
    levels = [set(motor_level(side, exam.vac).values) for side in sides]

    def other_side_weak_here(level: int) -> bool:
        # The other side's motor level can be this level because of its own muscles (this one
        # not normal, or the next below 3), not because its sensation below is abnormal: left
        # T1 ``2*`` with right T2 pin prick 0 gives NLI C8,T1; with right T1 NT, C8,T1*. With
        # the muscle flagged on both sides each side is the other's (C6 ``0*`` on both: C5,C6*).
        flagged = [muscle(side, level).flag == NOT_NORMAL for side in sides]
        for i, (side, side_levels) in enumerate(zip(sides, levels, strict=True)):
            if not flagged[1 - i] or level not in side_levels:
                continue
            cell = muscle(side, level)
            if any(not a.yes for a in motor_normal(cell)):
                return True
            if is_key_muscle(level + 1):
                if any(not a.yes for a in motor_at_least_3(muscle(side, level + 1))):
                    return True
        return False

    return Candidates(
        tuple(
            (lv, star or (lv in extra and is_key_muscle(lv) and other_side_weak_here(lv)))
            for lv, star in result.items
        )
    )
