"""Complete or incomplete injury.

ISNCSCI 2019: an injury is complete when there is no sacral sparing: no light touch or pin prick
sensation at S4-5 on either side, no deep anal pressure (DAP) and no voluntary anal contraction
(VAC). Anything preserved there makes it incomplete.
"""

from __future__ import annotations

from .candidates import Candidates
from .exam import Exam
from .levels import INDEX
from .values import CONSIDER_NORMAL, NOT_NORMAL, binary, negate, sensation_present
from .walk import all_of

S4_5_DERMATOME = INDEX["S4_5"] - 1  # index into a side's sensory tuples


def sacral_cells(exam: Exam):
    for side in (exam.right, exam.left):
        yield side.light_touch[S4_5_DERMATOME]
        yield side.pin_prick[S4_5_DERMATOME]


def sacral_sensory_sparing(exam: Exam) -> set:
    """Answers to "is S4-5 sensation or deep anal pressure preserved?" (sensory incomplete
    without counting VAC; AIS B needs it, since without VAC only it makes an injury incomplete)."""
    absent = [negate(sensation_present(cell)) for cell in sacral_cells(exam)]
    return set(negate(all_of(*absent, negate(binary(exam.dap)))))


def injury_complete(exam: Exam) -> Candidates:
    """``C`` and/or ``I``.

    Stars follow the reference. The result is open through a not-testable observation (S4-5
    ``NT``/``NT*``, VAC or DAP ``NT``): no star (S4-5 ``0*`` with VAC NT, or beside an S4-5
    ``NT``: "C,I"). Open only through S4-5 cells recorded ``0*`` (sensation may be present
    without the other condition): both starred ("C*,I*"). Incomplete only through cells
    considered normal (``0**``): "I*", unless another S4-5 cell may have sensation (``0**``
    beside ``0*``: "I").
    """
    cells = list(sacral_cells(exam))
    absent = [negate(sensation_present(cell)) for cell in cells]
    answers = all_of(*absent, negate(binary(exam.dap)), negate(binary(exam.vac)))
    can_be = {a.yes for a in answers}
    open_plain = "NT" in (exam.vac, exam.dap) or any(
        c.grade is None and c.flag != CONSIDER_NORMAL for c in cells
    )
    open_flag = any(c.grade == 0 and c.flag == NOT_NORMAL for c in cells)
    if can_be == {True, False}:
        star = open_flag and not open_plain
        return Candidates((("C", star), ("I", star)))
    if True in can_be:
        return Candidates.single("C")
    # Incomplete for sure: starred only when every way to sacral sparing rests on a flag.
    return Candidates.single("I", all(a.star for a in answers) and not open_flag)
