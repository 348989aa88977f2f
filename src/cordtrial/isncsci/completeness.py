"""Complete or incomplete injury.

ISNCSCI 2019: an injury is complete when there is no sacral sparing: no light touch or pin prick
sensation at S4-5 on either side, no deep anal pressure (DAP) and no voluntary anal contraction
(VAC). Anything preserved there makes it incomplete.
"""

from __future__ import annotations

from .candidates import Candidates
from .exam import Exam
from .levels import INDEX
from .values import binary, negate, sensation_present
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
    """``C`` and/or ``I``."""
    absent = [negate(sensation_present(cell)) for cell in sacral_cells(exam)]
    answers = all_of(*absent, negate(binary(exam.dap)), negate(binary(exam.vac)))
    # With an anal observation not testable the result is open anyway; the reference then
    # lists C without a star even when it also rests on a flagged S4-5 cell (S4-5 ``0*`` with
    # VAC NT gives "C,I", with VAC No "C*,I*").
    open_anal = "NT" in (exam.vac, exam.dap)
    return Candidates.of(
        (("C", a.star and not open_anal) if a.yes else ("I", a.star) for a in answers),
        order="CI".index,
    )
