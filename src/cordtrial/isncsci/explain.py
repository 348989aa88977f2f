"""Plain-language reasons for each classification result.

For clinicians learning the standard and monitors checking a worksheet: every sentence names the
cells that decide the result, e.g. "right motor level C6: C5 graded 5 and C6 graded 3 (>= 3);
C7 graded 2 (< 3)". Results left open by not-testable cells name those cells.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .levels import INDEX, INT, KEY_MUSCLES, LEVELS, SENSORY_LEVELS, is_key_muscle, level_name

if TYPE_CHECKING:
    from .candidates import Candidates
    from .classification import Classification
    from .exam import Exam, ExamSide

SIDE_NAMES = ("right", "left")
_KEY_INDEX = {INDEX[m]: i for i, m in enumerate(KEY_MUSCLES)}


def _sens(side: ExamSide, level: int) -> str:
    i = level - 1
    return f"{level_name(level)} light touch {side.light_touch[i].text}, pin prick {side.pin_prick[i].text}"


def _motor(side: ExamSide, level: int) -> str:
    return f"{level_name(level)} graded {side.motor[_KEY_INDEX[level]].text}"


def _open(name: str, result: Candidates, why: str) -> str:
    return f"{name} could be {_render_levels(result)}: {why}"


def _render_levels(result: Candidates) -> str:
    from .zpp import zpp_name

    return result.render(zpp_name)


def _nt_cells(exam: Exam) -> list[str]:
    return [key for key, value in exam.to_rhi().items() if str(value).startswith("NT")]


def _flag_note(result: Candidates) -> str:
    return " (* rests on a value flagged as due to a non-SCI condition)" if result.starred else ""


def explain_sensory(name: str, side: ExamSide, result: Candidates) -> str:
    label = f"{name} sensory level"
    if not result.determined:
        return _open(label, result, "not-testable dermatomes could be normal or not")
    level = result.values[0]
    if level >= INT:
        return f"{label} INT: light touch and pin prick normal (2) in every dermatome C2 to S4-5{_flag_note(result)}"
    first = f"normal from C2 to {level_name(level)}" if level > 0 else "C1 presumed normal"
    return f"{label} {level_name(level)}: sensation {first}; {_sens(side, level + 1)} is not normal{_flag_note(result)}"


def explain_motor(name: str, side: ExamSide, result: Candidates, sensory: Candidates) -> str:
    label = f"{name} motor level"
    if not result.determined:
        return _open(label, result, "not-testable cells leave key-muscle grades or sensation open")
    level = result.values[0]
    note = _flag_note(result)
    if level >= INT:
        return f"{label} INT: every key muscle graded 5, sensation intact and voluntary anal contraction present{note}"
    name_ = level_name(level)
    if is_key_muscle(level):
        above = [
            LEVELS[k]
            for k in sorted(_KEY_INDEX)
            if k < level and (k >= INDEX["L2"]) == (level >= INDEX["L2"])
        ]
        rostral = f"{', '.join(above)} graded 5 and " if above else ""
        nxt = level + 1
        grade = side.motor[_KEY_INDEX[level]].grade
        if grade is not None and grade < 5:
            stop = "; below 5 itself, so no more caudal level qualifies"
        elif is_key_muscle(nxt):
            stop = f"; {_motor(side, nxt)}" if side.motor[_KEY_INDEX[nxt]].grade != 5 else ""
        else:
            stop = "; caudal to it sensation is not intact" if nxt <= INDEX["S4_5"] else ""
        return f"{label} {name_}: {rostral}{_motor(side, level)} (>= 3){stop}{note}"
    return (
        f"{label} {name_}: no key muscle to test at {name_}, so the motor level follows the sensory "
        f"level ({_render_levels(sensory)}) where the key muscles above are graded 5{note}"
    )


def explain_nli(c: Classification) -> str:
    parts = ", ".join(
        f"{kind} {side} {c_.render(level_name)}"
        for kind, levels in (("sensory", c.sensory_level), ("motor", c.motor_level))
        for side, c_ in levels.items()
    )
    if not c.neurological_level.determined:
        return _open(
            "NLI", c.neurological_level, f"the most rostral of {parts}, some of which are open"
        )
    return f"NLI {c.neurological_level.render(level_name)}: the most rostral of {parts}"


def explain_completeness(exam: Exam, c: Classification) -> str:
    sacral = INDEX["S4_5"]
    cells = "; ".join(f"{s} S4-5 {_sens(exam.side(s), sacral)[5:]}" for s in SIDE_NAMES)
    facts = f"{cells}; deep anal pressure {exam.dap}; voluntary anal contraction {exam.vac}"
    verdict = c.injury_complete.render()
    if verdict == "C":
        return f"complete (C): no sacral sparing ({facts})"
    if verdict == "I":
        return f"incomplete (I): sacral sparing present ({facts})"
    return f"complete or incomplete ({verdict}): sacral sparing depends on not-testable observations ({facts})"


def explain_ais(exam: Exam, c: Classification) -> str:
    grades = c.ais.render()
    if not c.ais.determined:
        return f"AIS could be {grades}: it depends on not-testable or flagged cells ({', '.join(_nt_cells(exam)[:8]) or 'flags'})"
    grade = c.ais.values[0]
    if grade == "A":
        return "AIS A: complete injury, no sensory or motor function preserved in S4-5"
    if grade == "E":
        return "AIS E: sensation and motor function normal in all segments"
    motor_levels = ", ".join(f"{s} {c.motor_level[s].render(level_name)}" for s in SIDE_NAMES)
    if grade == "B":
        return (
            "AIS B, not C: sensory incomplete, but no voluntary anal contraction and no motor "
            f"function more than three levels below the motor level on either side ({motor_levels})"
        )
    nli = c.neurological_level.values[0]
    below = [k for k in sorted(_KEY_INDEX) if k > nli]
    strong = sum(
        1
        for k in below
        for s in SIDE_NAMES
        if (g := exam.side(s).motor[_KEY_INDEX[k]].grade) is not None and g >= 3
    )
    why = (
        "voluntary anal contraction"
        if exam.vac == "Yes"
        else (
            f"sacral sensory sparing and motor function more than three levels below the motor level ({motor_levels})"
        )
    )
    total = 2 * len(below)
    if grade == "C":
        return f"AIS C, not D: motor incomplete ({why}); {strong} of {total} key muscles below NLI {level_name(nli)} have grade >= 3 (fewer than half)"
    return f"AIS D, not C: motor incomplete ({why}); {strong} of {total} key muscles below NLI {level_name(nli)} have grade >= 3 (at least half)"


def explain_zpp(exam: Exam, c: Classification) -> list[str]:
    out = []
    for s in SIDE_NAMES:
        sz, mz = c.sensory_zpp[s], c.motor_zpp[s]
        out.append(
            f"{s} sensory ZPP {_render_levels(sz)}: "
            + (
                "not applicable (S4-5 sensation or deep anal pressure present)"
                if sz.values == (-1,)
                else "the most caudal dermatome with any sensation, recorded because this side has no S4-5 sensation and no deep anal pressure"
            )
        )
        out.append(
            f"{s} motor ZPP {_render_levels(mz)}: "
            + (
                "not applicable (voluntary anal contraction present)"
                if mz.values == (-1,)
                else "the most caudal segment with motor function (or the motor level), recorded because voluntary anal contraction is absent"
            )
        )
    return out


def explain_totals(c: Classification) -> str:
    t = c.totals

    def nd(value: int | None) -> str:
        return "ND" if value is None else str(value)

    return (
        f"totals: upper extremity motor {nd(t.upper_motor)}, lower extremity motor "
        f"{nd(t.lower_motor)}, light touch {nd(t.light_touch)}, pin prick {nd(t.pin_prick)}"
    )


def explain(c: Classification) -> list[str]:
    """Reasons for every result of ``c``, one sentence each, in worksheet order, each ending
    with a citation of the rule it applies (``rules.Rule.citation``)."""
    from . import ais, completeness, motor_level, nli, sensory_level, totals, zpp

    exam = c.exam
    lines = [(explain_totals(c), totals.RULE)]
    for s in SIDE_NAMES:
        lines.append((explain_sensory(s, exam.side(s), c.sensory_level[s]), sensory_level.RULE))
    for s in SIDE_NAMES:
        line = explain_motor(s, exam.side(s), c.motor_level[s], c.sensory_level[s])
        lines.append((line, motor_level.RULE))
    lines.append((explain_nli(c), nli.RULE))
    lines.append((explain_completeness(exam, c), completeness.RULE))
    lines.append((explain_ais(exam, c), ais.RULE))
    for line in explain_zpp(exam, c):
        lines.append((line, zpp.SENSORY_RULE if " sensory ZPP " in line else zpp.MOTOR_RULE))
    return [f"{line} {rule.citation('*' in line)}" for line, rule in lines]


__all__ = ["SENSORY_LEVELS", "explain"]
