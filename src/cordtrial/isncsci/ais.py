"""ASIA Impairment Scale (AIS) grade.

ISNCSCI 2019:
- A: complete (no sacral sparing).
- B: sensory incomplete, motor complete: no VAC and no motor function more than three levels
  below the motor level on either side (key or non-key muscles, 2019 rule).
- C: motor incomplete and fewer than half of the key muscles below the single neurological level
  of injury (NLI) graded >= 3.
- D: motor incomplete and at least half of those key muscles graded >= 3.
- E: sensation and motor function normal in all segments (NLI intact).
Motor incomplete: VAC, or sacral sensory sparing with motor function more than three levels
below the motor level on that side.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from .candidates import Candidates
from .completeness import sacral_sensory_sparing
from .exam import Exam, ExamSide
from .levels import INDEX, INT, KEY_MUSCLES
from .motor_level import muscle
from .nli import neurological_level
from .values import CONSIDER_NORMAL, NOT_NORMAL, YES, Answer, Cell, binary, motor_present

KEY_INDICES = [INDEX[m] for m in KEY_MUSCLES]


def _function_for_grade(cell) -> tuple[Answer, ...]:
    """Motor function present, as the AIS uses it: a recorded 0* counts as no function only
    by assumption (the star goes with "none")."""
    answers = motor_present(cell)
    if cell.flag == 1 and cell.grade == 0:
        return (Answer(True), Answer(False, True))
    return answers


def function_far_below(side: ExamSide, motor_level: int) -> set[Answer]:
    """Answers to "is there motor function more than three levels below ``motor_level``?".

    The 2019 rule counts non-key muscle function too; like the reference, only a non-key muscle
    named at a key-muscle level is compared. Levels are taken rostral to caudal and the first
    with function decides, the key muscle before a non-key muscle at the same level: so a
    flagged ``0**`` key muscle far below stars the answer unless plain function (key or
    non-key) lies above it (reference: key L4 ``0**`` with non-key L2 -> C, with non-key L4
    or L5 -> C*).
    """
    if motor_level >= INT:
        return {Answer(False)}
    limit = motor_level + 3
    non_key = side.lowest_non_key_muscle
    outcomes = {Answer(False)}
    for k in KEY_INDICES:
        if k <= limit:
            continue
        combined = set()
        for acc in outcomes:
            for a in _function_for_grade(muscle(side, k)):
                if acc.yes:
                    combined.add(acc)
                elif a.yes:
                    combined.add(a)
                else:
                    combined.add(Answer(False, acc.star or a.star))
        outcomes = combined
        if k == non_key:
            outcomes = {a if a.yes else Answer(True, a.star) for a in outcomes}
    return outcomes


def motor_incomplete(
    exam: Exam, motor_levels: dict[str, Candidates], without_vac: bool = True
) -> set[Answer]:
    """Answers to "is the injury motor incomplete?" given an incomplete injury.

    ``without_vac=False``: the injury can be incomplete only through VAC (no S4-5 sensation or
    DAP possible), so the branches where VAC is absent are impossible and not followed.
    """
    sides = []
    for name, side in (("right", exam.right), ("left", exam.left)):
        answers: set[Answer] = set()
        for rank, level in enumerate(motor_levels[name].values):
            for a in function_far_below(side, level):
                # As in the reference, function far below (and so its star) is taken at the
                # most rostral motor level candidate (right C6 ``2*``, T1 ``0**``: motor
                # level C5,C6*, AIS D*; right C5 NT, C6 0, T1 ``0**``: C4,C5, D), "none" at
                # any candidate (it gives B).
                if rank == 0 or not a.yes:
                    answers.add(a)
        sides.append(answers)
    # Function far below on the right OR on the left, OR voluntary anal contraction.
    outcomes = set()
    for r in sides[0]:
        for left in sides[1]:
            for vac in binary(exam.vac):
                if not vac.yes and not without_vac:
                    continue
                if vac.yes:
                    outcomes.add(Answer(True, vac.star))
                elif r.yes or left.yes:
                    # A side whose function far below rests on a flag (``0**``) stars the
                    # result even when the other side has plain function far below, as the
                    # reference does (symmetrically); VAC decides without a star.
                    outcomes.add(Answer(True, (r.yes and r.star) or (left.yes and left.star)))
                else:
                    outcomes.add(Answer(False, r.star or left.star))
    return outcomes


def _strength_kind(cell) -> str:
    """How a key muscle below the NLI counts towards "graded >= 3" for C versus D.

    ``yes``/``no``: fixed; ``open``: not testable, either way without a star (``NT*`` too: a
    non-SCI condition says nothing about the grade); ``assumed``: a recorded grade below 3
    considered normal (``**``), counted as >= 3; ``flagged``: a recorded grade below 3 from a
    non-SCI condition (``*``), which may be either.
    """
    if cell.grade is not None and cell.grade >= 3:
        return "yes"
    if cell.flag == CONSIDER_NORMAL:
        return "yes" if cell.grade is None else "assumed"
    if cell.grade is None:
        return "open"
    return "flagged" if cell.flag == NOT_NORMAL else "no"


def c_or_d(exam: Exam, nli: int) -> list[tuple[str, bool]]:
    """The possible grades C/D at this NLI: D when at least half of the key muscles below the
    NLI (both sides) are graded >= 3 (ISNCSCI 2019).

    A grade is starred when it rests on a flagged grade: when, whatever the not-testable
    muscles are taken to be, the flagged ones (``*`` and ``**`` below 3) could change it. This
    matches the reference: ``0**`` with three 5s and six 0s is ``C`` (four or three of ten, C
    either way); five ``2**`` is ``D*``; ``2*`` with four 5s is ``C*,D*``; ``NT*`` is plain NT.
    """
    cells = [muscle(side, k) for k in KEY_INDICES if k > nli for side in (exam.right, exam.left)]
    kinds = [_strength_kind(cell) for cell in cells]
    yes, open_, assumed, flagged = (kinds.count(k) for k in ("yes", "open", "assumed", "flagged"))
    total = len(cells)
    lowest, highest = yes + assumed, yes + assumed + open_ + flagged
    grades = []
    if 2 * highest >= total:
        grades.append(("D", 2 * (yes + open_) < total))
    if 2 * lowest < total:
        grades.append(("C", 2 * (yes + assumed + flagged) >= total))
    return grades


def asia_impairment_scale(
    exam: Exam,
    complete: Candidates,
    nli: Candidates,
    motor_levels: dict[str, Candidates],
) -> Candidates:
    grades: list[tuple[str, bool]] = []
    for value, star in complete.items:
        if value == "C":
            grades.append(("A", star))
    incomplete = [star for value, star in complete.items if value == "I"]
    if not incomplete:
        return Candidates.of(grades, order="ABCDE".index)
    # B is sensory incomplete without VAC: S4-5 sensation or DAP must be preserved.
    sparing = [a.star for a in sacral_sensory_sparing(exam) if a.yes]
    motor = motor_incomplete(exam, motor_levels, without_vac=bool(sparing))
    # B: not motor incomplete, with sacral sensory sparing. It rests on a flag when the
    # sparing does, or when "no function far below" does along any motor level candidate (a
    # ``0*`` muscle taken as without function: right L3 NT and S1 ``0*`` give B*,D), or when a
    # muscle considered normal (``0**``) gives function far below some candidate: it moves the
    # motor level past itself and so decides B against C (right T1 NT and L2 ``0**``: motor
    # level C8,T1,S3*, AIS B*,D*). With VAC not testable motor completeness is open anyway; the
    # reference then stars B only for flagged sacral sparing (S4-5 ``0*``: A,B*,C).
    b_star = None
    none = [a.star for a in motor if not a.yes]
    if none and sparing:
        assumed = any(
            a.yes and a.star
            for name in ("right", "left")
            for level in motor_levels[name].values
            for a in function_far_below(exam.side(name), level)
        )
        b_star = min(sparing) or ((any(none) or assumed) and exam.vac != "NT")
    # E: normal everywhere, which needs both motor levels intact too (they require VAC).
    intact_motor = all(INT in motor_levels[side].values for side in ("right", "left"))
    per_nli = []
    for level, star in nli.items:
        at_level: list[tuple[str, bool]] = []
        if level >= INT and intact_motor:
            at_level.append(("E", star))
        if b_star is not None:
            at_level.append(("B", b_star))
        for a in motor:
            if a.yes and level < INT:
                # Motor incomplete implies incomplete: a star on "incomplete" alone does not
                # carry to C/D (reference: S4-5 ``0*`` with function far below gives A*,C).
                for grade, c_star in c_or_d(exam, level):
                    at_level.append((grade, a.star or c_star))
        # At one NLI a grade reached with and without a flag does not rest on it (VAC NT:
        # C by VAC and C* by a ``0**`` muscle far below gives C).
        per_nli.append(Candidates.of(at_level, order="ABCDE".index).items)
    grades += [item for items in per_nli for item in items]
    return _star_where_literal_differs(exam, _starred_wins(grades))


def _starred_wins(grades: list[tuple[str, bool]]) -> Candidates:
    """Merge the grades reached at different NLI candidates (and A) as the reference does: C is starred when it is starred along any path (NLI C6
    where a flagged muscle decides C or D, NLI L1 plain C: ``C*``); every other grade only
    when starred along all of them (reference case 130: ``B*,C*,D``, D plain at NLI C1 and
    starred at NLI C8)."""
    merged: dict[str, bool] = {}
    for grade, star in grades:
        if grade == "C":
            merged[grade] = merged.get(grade, False) or star
        else:
            merged[grade] = merged.get(grade, True) and star
    return Candidates(tuple(sorted(merged.items(), key=lambda kv: "ABCDE".index(kv[0]))))


def _star_where_literal_differs(exam: Exam, grades: Candidates) -> Candidates:
    """Star C or D when the exam read literally (flags dropped) cannot give it at its NLI.

    A flag can move the NLI and so the key muscles counted: ``0**`` at C4 taken as normal gives
    NLI T12* and C where the literal NLI C3 gives D, so C rests on the flag; the reference marks
    it ``C*``. A flag that moves the NLI without changing the grade leaves it unstarred
    (reference case 108). Only the C/D count is checked so: a flag that moves a motor level
    and so decides B against C leaves B unstarred in the reference (case 117).
    """
    if not any(g in "CD" and not star for g, star in grades.items):
        return grades
    if not has_flags(exam):
        return grades  # the literal exam is the exam itself
    literal = strip_flags(exam)
    possible = {
        grade
        for level in neurological_level(literal)
        if level < INT
        for grade, _ in c_or_d(literal, level)
    }
    return Candidates(
        tuple((g, star or (g in "CD" and g not in possible)) for g, star in grades.items)
    )


def has_flags(exam: Exam) -> bool:
    """Does any cell carry a ``*``/``**`` flag? (Exactly when ``strip_flags`` changes the exam.)"""
    return any(
        c.flag
        for s in (exam.right, exam.left)
        for cells in (s.light_touch, s.pin_prick, s.motor)
        for c in cells
    )


@lru_cache(maxsize=256)
def strip_flags(exam: Exam, untested_not_normal: bool = False) -> Exam:
    """The exam with every ``*``/``**`` flag dropped (the recorded grades as they are).

    ``untested_not_normal``: read ``NT**`` as ``NT*`` instead (not testable, so read literally
    nothing says it is normal); the motor ZPP's literal reading does so (see zpp.motor_zpp).
    Cached: the AIS and both sides' motor ZPP ask for the same literal exam."""

    def literal(c: Cell) -> Cell:
        if untested_not_normal and c.grade is None and c.flag == CONSIDER_NORMAL:
            return _NT_NOT_NORMAL
        return Cell(c.grade)

    def side(s: ExamSide) -> ExamSide:
        plain = [
            tuple(literal(c) if c.flag else c for c in cells)
            for cells in (s.light_touch, s.pin_prick, s.motor)
        ]
        return replace(s, light_touch=plain[0], pin_prick=plain[1], motor=plain[2])

    return replace(exam, right=side(exam.right), left=side(exam.left))


_NT_NOT_NORMAL = Cell(None, NOT_NORMAL)

__all__ = ["YES", "asia_impairment_scale"]
