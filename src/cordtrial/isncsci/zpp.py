"""Zones of partial preservation (ZPP), per side.

ISNCSCI 2019: the sensory ZPP of a side is recorded when that side has no sensation at S4-5 and
deep anal pressure is absent; the motor ZPP when voluntary anal contraction is absent (it may be
recorded in incomplete injuries too). It is the most caudal segment with any preserved function
on that side. The motor ZPP counts key muscles and a non-key muscle with motor function below
the motor level; with none, it is the motor level itself. Where the ZPP does not apply: ``NA``.
"""

from __future__ import annotations

from .candidates import Candidates
from .exam import Exam, ExamSide
from .levels import INDEX, INT, KEY_MUSCLES
from .motor_level import muscle
from .values import Answer, binary, motor_present, negate, sensation_present
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
            i = level - 1
            return _any_of(
                sensation_present(side.light_touch[i]), sensation_present(side.pin_prick[i])
            )

        # C1 is presumed intact, so a scan that finds nothing below ends there.
        out += scan_up(range(S3, 0, -1), present, floor=(0, False))
    return Candidates.of(out, order=_order)


def motor_zpp(
    exam: Exam, side: ExamSide, motor_levels: Candidates, complete: Candidates
) -> Candidates:
    vac = binary(exam.vac)
    out: list[tuple[int, bool]] = [(NA, False)] if any(a.yes for a in vac) else []
    if any(not a.yes for a in vac):
        non_key = _non_key_for_zpp(exam, side, complete)
        for level, star in motor_levels.items:
            if level >= INT:
                continue
            below = [k for k in KEY_INDICES_DESC if k > level]
            found = scan_up(below, lambda k: motor_present(muscle(side, k)), floor=(level, star))
            for zpp, zpp_star in found:
                # The lowest non-key muscle with function extends the motor ZPP only when it lies
                # more than three levels below the segment the key muscles give (matches the
                # reference: ML C4 with C6=1 and non-key C8 -> C6; non-key T1 -> C6; S1 -> S1).
                if non_key is not None and non_key > zpp + 3:
                    out.append((non_key, False))
                else:
                    out.append((zpp, zpp_star))
    return Candidates.of(out, order=_order)


def _non_key_for_zpp(exam: Exam, side: ExamSide, complete: Candidates) -> int | None:
    """The side's lowest non-key muscle with function, when the motor ZPP may use it.

    ISNCSCI 2019 uses non-key muscle function to tell AIS B from C; the reference extends the
    motor ZPP with it only when the grade may be C (not in A, B or D only) and the muscle is
    named at a key-muscle level (C5-T1, L2-S1).
    """
    from .ais import asia_impairment_scale
    from .motor_level import motor_level
    from .nli import neurological_level

    non_key = side.lowest_non_key_muscle
    if non_key is None or non_key not in KEY_INDICES_DESC:
        return None
    levels = {
        name: motor_level(s, exam.vac) for name, s in (("right", exam.right), ("left", exam.left))
    }
    grades = asia_impairment_scale(exam, complete, neurological_level(exam), levels)
    return non_key if "C" in grades.values else None


def _any_of(*questions) -> set[Answer]:
    return {Answer(not a.yes, a.star) for a in all_of(*(negate(q) for q in questions))}


def zpp_name(value: object) -> str:
    from .levels import level_name

    return "NA" if value == NA else level_name(value)  # type: ignore[arg-type]
