"""The rostral-to-caudal walk shared by the sensory level, motor level and NLI, and the scan
shared by the zones of partial preservation.

Each level result is "the most caudal level reached by walking down from C1 while every step is
allowed". A step's question may have several answers (NT cells) and an answer may rest on a
flag (star). The walk follows every answer, carrying whether the path so far rests on a flag;
only that one bit of history matters, so for every exam and level two facts suffice: a path
without a star is still walking, a path with one is. Both come from running reductions along
the levels, for all exams at once.
"""

from __future__ import annotations

from .answers import FALSE, Answers, is_false, materialise, prefix_and, prefix_or, shifted
from .sides import Possible


def scan(steps: Answers, shape: tuple[int, ...]) -> tuple[Possible, Possible]:
    """Go through ``steps`` (rows in order) while the answer is "no"; every row where the
    answer may be "yes" is a place the scan can stop.

    Returns (stops, past): ``stops`` per row, and ``past`` per row: a path is still going
    after that row (the last row: the scan got through every row). A path carries a star once
    it passed a "no" resting on a flag; a stop is starred when its path or its "yes" is.
    ``shape``: the rows and exams (the answers may be constants).
    """
    plain = prefix_and(materialise(steps.n, shape))  # plain paths past each row
    starred = FALSE if is_false(steps.ns) else prefix_and(steps.no) & prefix_or(steps.ns)
    before_plain = shifted(plain, True, shape)
    before_star = shifted(starred, False, shape)
    stops = Possible(
        before_plain & steps.y,
        (before_plain & steps.ys) | (before_star & steps.yes),
    )
    return stops, Possible(plain, starred)


def walk(steps: Answers, shape: tuple[int, ...]) -> Possible:
    """Where a walk can end: ``steps`` row i answers "may the walk enter level start + i + 1?"
    (levels in order); the result has one row more, row i = the walk ends at level start + i
    (the last row: it went through every step)."""
    stops, past = scan(steps.negated(), shape)
    ends = shape[0] + 1, *shape[1:]
    return Possible.rows(ends, (slice(0, shape[0]), stops), (slice(shape[0], None), past[-1:]))
