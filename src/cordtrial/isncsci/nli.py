"""Neurological level of injury (NLI).

ISNCSCI 2019: the most rostral of the right and left sensory and motor levels, i.e. the most
caudal segment with normal sensation on both sides and antigravity (>= 3) key-muscle strength
on both sides, with normal sensory and motor function rostrally. Computed as one walk over both
sides so that a not-testable cell takes the same value for all four levels.

A star marks an NLI that rests on a cell considered normal (``**``); a cell considered not
normal (``*``) only narrows the possible values, as in the reference cases.
"""

from __future__ import annotations

from .candidates import Candidates
from .exam import Exam
from .levels import is_key_muscle
from .motor_level import REGION_EXITS, motor_level, muscle
from .sensory_level import S4_5, dermatome_normal, ends_to_levels
from .values import CONSIDER_NORMAL, NOT_NORMAL, Answer, motor_at_least_3, motor_normal
from .walk import all_of, drop_stars, walk


def _considered_normal_only(cell, answers) -> set[Answer]:
    return drop_stars(answers, keep=lambda a: cell.flag == CONSIDER_NORMAL)


def both_sides_normal(exam: Exam, level: int) -> set[Answer]:
    """Sensation at ``level`` normal on both sides. Where the walk is in a key-muscle region (or
    leaving one) a stop for abnormal sensation carries no star; in a non-key region it does
    when both sides rest on a flag, as the reference cases show."""
    right, left = (dermatome_normal(side, level) for side in (exam.right, exam.left))
    if is_key_muscle(level) or level in REGION_EXITS:
        return drop_stars(all_of(right, left), keep=lambda a: a.yes)
    out = set()
    for r in right:
        for lt in left:
            if r.yes and lt.yes:
                out.add(Answer(True, r.star or lt.star))
            else:
                out.add(Answer(False, r.star and lt.star))
    return out


def nli_step(exam: Exam, level: int, not_normal_stars: bool = False) -> set[Answer]:
    keep = (lambda cell, answers: set(answers)) if not_normal_stars else _considered_normal_only
    parts = [both_sides_normal(exam, level)]
    for side in (exam.right, exam.left):
        if is_key_muscle(level - 1):
            cell = muscle(side, level - 1)
            parts.append(keep(cell, motor_normal(cell)))
        if is_key_muscle(level):
            cell = muscle(side, level)
            parts.append(keep(cell, motor_at_least_3(cell)))
    return all_of(*parts)


def neurological_level(exam: Exam) -> Candidates:
    ends = walk(lambda level: nli_step(exam, level), stop=S4_5)
    result = Candidates.of(ends_to_levels(ends), order=int)
    # A muscle flagged not normal (``*``) that may be >= 3 ends the NLI at its own level; the
    # reference stars that NLI only when both motor levels can be that level (left C5 ``1*``:
    # NLI C4,C5 with the right side intact, C4,C5* when the right motor level is C5 too).
    if not any(c.flag == NOT_NORMAL for side in (exam.right, exam.left) for c in side.motor):
        return result
    flagged = walk(lambda level: nli_step(exam, level, not_normal_stars=True), stop=S4_5)
    starred = dict(Candidates.of(ends_to_levels(flagged), order=int).items)
    extra = [level for level, star in result.items if starred.get(level) and not star]
    if not extra:
        return result
    both = set(motor_level(exam.right, exam.vac).values) & set(
        motor_level(exam.left, exam.vac).values
    )
    return Candidates(tuple((lv, star or lv in both and lv in extra) for lv, star in result.items))
