"""Zones of partial preservation (ZPP), per side.

ISNCSCI 2019: the sensory ZPP of a side is recorded when that side has no sensation at S4-5 and
deep anal pressure is absent; the motor ZPP when voluntary anal contraction is absent (it may be
recorded in incomplete injuries too). It is the most caudal segment with any preserved function
on that side. The motor ZPP counts key muscles with motor function below the motor level (with
none, it is the motor level itself), and the lowest non-key muscle with motor function where
the reference does (see ``_motor_zpp``). Where the ZPP does not apply: ``NA``. Star placement
follows the reference; docs/isncsci-differential.md lists each rule with its probe exams.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache, lru_cache

from .candidates import Candidates
from .exam import Exam, ExamSide
from .levels import INDEX, INT, KEY_MUSCLES
from .motor_level import muscle
from .sensory_level import dermatome_normal
from .values import (
    CONSIDER_NORMAL,
    YES,
    Answer,
    Cell,
    binary,
    motor_present,
    negate,
    sensation_present,
)
from .walk import all_of

NA = -1  # sorts before every level, as the reference lists it first
S3 = INDEX["S3"]
S4_5_DERMATOME = INDEX["S4_5"] - 1
KEY_INDICES_DESC = sorted((INDEX[m] for m in KEY_MUSCLES), reverse=True)


def _order(value: object) -> int:
    return value  # type: ignore[return-value]


def scan_up(levels, present, floor: tuple[int, bool] | None):
    """Walk from the most caudal level upward; every level that may have function is a
    candidate; the first that surely has it ends the scan. ``floor`` ends it otherwise."""
    found: list[tuple[int, bool]] = []
    carried = {False}
    for level in levels:
        answers = present(level)
        nxt = set()
        for star in carried:
            for a in answers:
                if a.yes:
                    found.append((level, star or a.star))
                else:
                    nxt.add(star or a.star)
        carried = nxt
        if not carried:
            return found
    if floor is not None:
        found.extend((floor[0], star or floor[1]) for star in carried)
    return found


def sensory_zpp(exam: Exam, side: ExamSide) -> Candidates:
    applies = all_of(
        negate(sensation_present(side.light_touch[S4_5_DERMATOME])),
        negate(sensation_present(side.pin_prick[S4_5_DERMATOME])),
        negate(binary(exam.dap)),
    )
    out: list[tuple[int, bool]] = [(NA, False)] if any(not a.yes for a in applies) else []
    if any(a.yes for a in applies):

        def present(level: int):
            return _dermatome_present(side.light_touch[level - 1], side.pin_prick[level - 1])

        # C1 is presumed intact, so a scan that finds nothing below ends there; as in the
        # reference, without a star even past a dermatome that may lack sensation only by
        # assumption (T4 pin prick ``0*`` in an otherwise absent side: C1,T4*).
        found = scan_up(range(S3, 0, -1), present, floor=(0, False))
        out += [(level, star and level > 0) for level, star in found]
    return Candidates.of(out, order=_order)


@cache  # per pair of cells: the vocabulary is small
def _dermatome_present(light_touch: Cell, pin_prick: Cell) -> frozenset[Answer]:
    """Sensation (either modality) present in a dermatome, for the sensory ZPP scan."""
    both = (_zpp_sensation(light_touch), _zpp_sensation(pin_prick))
    # A not-testable modality leaves the dermatome open without a star, whatever a flag on
    # the other says (reference: T12 light touch ``0*`` and pin prick NT below T11 give ZPP
    # T11,T12, not T11*,T12).
    if any(Answer(True) in a and Answer(False) in a for a in both):
        return frozenset(Answer(a.yes) for a in _any_of(*both))
    return frozenset(_any_of(*both))


def _zpp_sensation(cell):
    """Sensation present, for the ZPP scan: a cell considered normal (``**``) is present
    without a star, as in the reference (T12 pin prick ``0**`` below T11 gives ZPP T12)."""
    return YES if cell.flag == CONSIDER_NORMAL else sensation_present(cell)


def motor_zpp(
    exam: Exam,
    side: ExamSide,
    motor_levels: Candidates,
    complete: Candidates,
    grades: tuple[str, ...] | None = None,
) -> Candidates:
    """Motor ZPP candidates.

    Stars follow the reference: a star from the scan (a ``0*`` muscle that may have function)
    stays; a ZPP that ends at a starred motor level is starred only for the most rostral motor
    level candidate and only when the exam read literally (flags dropped) cannot give it
    (``3**`` at L3 considered normal gives motor level S1* but ZPP S1, the most caudal muscle
    with function either way; ``2**`` at T1 gives T12*, reference case 117). Read literally, a
    cell not testable but considered normal (``NT**``) is not normal: T5 and T6 ``NT**`` below
    T4 give motor level T6* and ZPP T6* (as ``0**`` does), where an ``NT`` would allow T6
    literally. A value reached both with and without a star keeps it (reference case 107:
    ``L4,L5*``).
    """
    del complete  # the non-key rule consults the grade with VAC absent (_non_key_for_zpp)
    # ``grades``: the exam's AIS values when already known and VAC is not NT (same question).
    plain: frozenset = frozenset()
    first = motor_levels.items[0] if motor_levels.items else None
    if first is not None and first[1]:
        from .ais import strip_flags
        from .motor_level import motor_level

        literal = strip_flags(exam, untested_not_normal=True)
        plain_side = literal.right if side is exam.right else literal.left
        levels = motor_level(plain_side, literal.vac, flagged_stops=False)
        plain = frozenset(
            v for v, _ in _motor_zpp(literal, plain_side, levels, frozenset(), key_too=True)
        )
    merged: dict[object, bool] = {}
    for value, star in _motor_zpp(exam, side, motor_levels, plain, grades=grades):
        merged[value] = merged.get(value, False) or star
    return Candidates(tuple(sorted(merged.items(), key=lambda kv: _order(kv[0]))))


def _motor_zpp(
    exam: Exam,
    side: ExamSide,
    motor_levels: Candidates,
    plain: frozenset,
    key_too: bool = False,
    grades: tuple[str, ...] | None = None,
) -> list[tuple[int, bool]]:
    """(ZPP, star) pairs; ``plain``: the ZPP values of the literal exam (see motor_zpp);
    ``key_too``: list the key-muscle ZPP also where the non-key muscle replaces it (for the
    literal exam, whose grade may differ: C8 ``1**`` with a non-key L4 gives D* and ZPP T1,
    literally C and L4, and the reference's T1 is unstarred)."""
    vac = binary(exam.vac)
    out: list[tuple[int, bool]] = [(NA, False)] if any(a.yes for a in vac) else []
    if any(not a.yes for a in vac):
        non_key, key_zpp_too = _non_key_for_zpp(exam, side, grades)
        for rank, (level, star) in enumerate(motor_levels.items):
            if level >= INT:
                continue
            below = [k for k in KEY_INDICES_DESC if k > level]
            kept = star and rank == 0 and level not in plain
            floor = (level, kept or _assumed_normal_at(side, level))
            found = scan_up(below, lambda k: motor_present(muscle(side, k)), floor=floor)
            for zpp, zpp_star in found:
                # The lowest non-key muscle with function extends the motor ZPP only when it lies
                # more than three levels below the segment the key muscles give (matches the
                # reference: ML C4 with C6=1 and non-key C8 -> C6; non-key T1 -> C6; S1 -> S1).
                if non_key is not None and non_key > zpp + 3:
                    out.append((non_key, False))
                    if key_zpp_too or key_too:
                        out.append((zpp, zpp_star))
                else:
                    out.append((zpp, zpp_star))
    return out


def _assumed_normal_at(side: ExamSide, level: int) -> bool:
    """Does the motor level ``level`` rest on its own dermatome, a recorded grade considered
    normal (``0**``, ``1**``; not ``NT**``: T2 NT and T3 ``NT**`` below T1 give ZPP T1,T3)?
    Only at a level without a key muscle, where the motor level follows sensation: there the
    reference stars the ZPP at any motor level candidate (T5 NT and T6 ``0**`` below T5: ZPP
    T4,T6*), even where the motor level itself is unstarred (S2 light touch ``1**`` and pin
    prick NT: motor level S1,S2, ZPP S1,S2*), where a star from a flag further up stays only
    on the most rostral candidate (T5 ``0**`` and T8 NT below T9: T7*,T9)."""
    if level in KEY_INDICES_DESC or not 0 < level <= S3:
        return False
    cells = (side.light_touch[level - 1], side.pin_prick[level - 1])
    recorded = any(c.grade is not None and c.flag == CONSIDER_NORMAL for c in cells)
    return recorded and Answer(True, True) in dermatome_normal(side, level)


def _non_key_for_zpp(
    exam: Exam, side: ExamSide, grades: tuple[str, ...] | None = None
) -> tuple[int | None, bool]:
    """The side's lowest non-key muscle with function when the motor ZPP may use it, and
    whether the key-muscle ZPP remains possible too.

    ISNCSCI 2019 uses non-key muscle function to tell AIS B from C; the reference extends the
    motor ZPP with it only when the grade may be C (not in A, B or D only) and the muscle is
    named at a key-muscle level (C5-T1, L2-S1), and then lists the non-key ZPP alone, also
    where flags leave the grade open (S4-5 ``0*``: A*,C, ZPP the non-key muscle). The motor ZPP
    applies only without VAC, so the grade consulted is the one with VAC absent. Where plain
    not-testable cells leave the grade open between C and another grade, the key-muscle ZPP
    is possible too and listed beside it (the reference lists only the non-key one; see
    docs/isncsci-differential.md, 1a): the caller unites the completions of the NT cells, so
    this happens only beyond ``MAX_ZPP_COMPLETIONS`` of them.
    """
    non_key = side.lowest_non_key_muscle
    if non_key is None or non_key not in KEY_INDICES_DESC:
        return None, True
    if exam.vac == "NT":
        exam, grades = replace(exam, vac="No"), None
    if grades is None:
        grades = _grades(exam)
    if "C" not in grades:
        return None, True
    return non_key, len(grades) > 1 and has_plain_nt(exam)


def has_plain_nt(exam: Exam) -> bool:
    """Is any cell, VAC or DAP a plain ``NT`` (one that NT completions fill in)?"""
    return "NT" in (exam.vac, exam.dap) or any(
        c.grade is None and not c.flag
        for s in (exam.right, exam.left)
        for cells in (s.light_touch, s.pin_prick, s.motor)
        for c in cells
    )


@lru_cache(maxsize=256)
def _grades(exam: Exam) -> tuple[str, ...]:
    """The exam's AIS grades; cached because both sides' motor ZPP ask for them."""
    from .ais import asia_impairment_scale
    from .completeness import injury_complete
    from .motor_level import motor_level
    from .nli import neurological_level

    levels = {name: motor_level(exam.side(name), exam.vac) for name in ("right", "left")}
    return asia_impairment_scale(
        exam, injury_complete(exam), neurological_level(exam), levels
    ).values


def _any_of(*questions) -> set[Answer]:
    return {Answer(not a.yes, a.star) for a in all_of(*(negate(q) for q in questions))}


def zpp_name(value: object) -> str:
    from .levels import level_name

    return "NA" if value == NA else level_name(value)  # type: ignore[arg-type]
