"""The rostral-to-caudal walk shared by the sensory level, motor level and NLI.

Each of those results is "the most caudal level reached by walking down from C1 while every step
is allowed". A step's question may have several answers (NT cells) and an answer may rest on a
flagged cell (star). The walk follows every answer, carrying whether the path so far rests on a
flag; because only that one bit of history matters, the set of paths is at most two per level,
so the walk is linear in the number of levels even when every cell is NT.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .levels import INT
from .values import Answer

#: A step question: the possible answers to "may the walk enter level i?".
Step = Callable[[int], Iterable[Answer]]


def walk(step: Step, start: int = 0, stop: int = INT) -> list[tuple[int, bool]]:
    """Every (level index, starred) where a walk from ``start`` can end.

    ``step(i)`` answers whether the walk may move into level ``i`` (``start < i <= stop``);
    reaching ``stop`` ends the walk there.
    """
    ends: list[tuple[int, bool]] = []
    paths = {False}  # star carried by the paths still walking
    for level in range(start + 1, stop + 1):
        answers = step(level)
        moving: set[bool] = set()
        for carried in paths:
            for answer in answers:
                if answer.yes:
                    moving.add(carried or answer.star)
                else:
                    ends.append((level - 1, carried or answer.star))
        paths = moving
        if not paths:
            return ends
    ends.extend((stop, star) for star in paths)
    return ends


#: ``all_of`` results by their questions. Each question is one of a handful of answer sets
#: (the cached per-cell tuples, or frozensets built from them), so the same combinations recur
#: across levels and exams; the bound only guards against pathological growth.
_ALL_OF: dict[tuple, frozenset[Answer]] = {}
_ALL_OF_MAX = 20_000  # a run of 4,500 mixed exams fills about 650


def all_of(*questions: Iterable[Answer]) -> frozenset[Answer]:
    """Answers to "are all of these yes?" given each question's possible answers.

    Yes rests on a flag when any part does; no rests on a flag only when every failing part
    does (a plain failing part decides on its own).
    """
    try:
        cached = _ALL_OF.get(questions)
    except TypeError:  # a question given as a mutable set or a generator: not memoised
        return frozenset(_all_of(questions))
    if cached is not None:
        return cached
    result = frozenset(_all_of(questions))
    if len(_ALL_OF) >= _ALL_OF_MAX:
        _ALL_OF.clear()
    _ALL_OF[questions] = result
    return result


def _all_of(questions) -> set[Answer]:
    questions = [tuple(q) for q in questions]
    if all(len(q) == 1 for q in questions):
        # Fast path, the usual case: every part has one answer (no NT cell involved).
        parts = [q[0] for q in questions]
        failing = [a for a in parts if not a.yes]
        if failing:
            return {Answer(False, all(a.star for a in failing))}
        return {Answer(True, any(a.star for a in parts))}
    outcomes = {Answer(True, False)}
    for answers in questions:
        combined = set()
        for acc in outcomes:
            for a in answers:
                if acc.yes and a.yes:
                    combined.add(Answer(True, acc.star or a.star))
                elif acc.yes:
                    combined.add(Answer(False, a.star))
                elif a.yes:
                    combined.add(acc)
                else:
                    combined.add(Answer(False, acc.star and a.star))
        outcomes = combined
    return outcomes


def drop_stars(answers: Iterable[Answer], keep: Callable[[Answer], bool]) -> frozenset[Answer]:
    """The same answers with stars kept only where ``keep`` says the step's result uses them
    (frozen, so that ``all_of`` can memoise questions built from it)."""
    return frozenset(Answer(a.yes, a.star and keep(a)) for a in answers)
