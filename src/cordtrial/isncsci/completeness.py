"""Complete or incomplete injury.

ISNCSCI 2019: an injury is complete when there is no sacral sparing: no light touch or pin prick
sensation at S4-5 on either side, no deep anal pressure (DAP) and no voluntary anal contraction
(VAC). Anything preserved there makes it incomplete.
"""

from __future__ import annotations

import numpy as np

from .answers import Answers, all_of, materialise
from .rule import Rule
from .sides import Exams, Result
from .values import BINARY, CONSIDER_NORMAL, NOT_NORMAL, SENSATION_PRESENT, SENSORY_CELLS

S4_5_ROW = 27  # the S4-5 dermatome's row in a side's sensory block

_OPEN = np.asarray([c.grade is None and c.flag != CONSIDER_NORMAL for c in SENSORY_CELLS])
_ZERO_NOT_NORMAL = np.asarray([c.grade == 0 and c.flag == NOT_NORMAL for c in SENSORY_CELLS])
_BINARY_OPEN = np.asarray([False, False, True])  # Yes, No, NT

#: This step's rule, as the explanation cites it.
RULE = Rule(
    "completeness",
    "An injury is complete when there is no sacral sparing: no S4-5 light touch or pin prick on either side, no deep anal pressure and no voluntary anal contraction.",
    "cordtrial.isncsci.completeness",
)


def _sacral(exams: Exams, table: np.ndarray) -> list[Answers]:
    """A question's answers for the four S4-5 cells (right touch, prick, left touch, prick)."""
    return [
        side.answers(table, block)[S4_5_ROW] for side in exams.sides for block in ("touch", "prick")
    ]


def _sacral_bits(exams: Exams, row: np.ndarray):
    out = None
    for side in exams.sides:
        for block in ("touch", "prick"):
            bits = side.bits(row, block)[S4_5_ROW]
            out = bits if out is None else out | bits
    return out


def _all(parts: list[Answers]) -> Answers:
    out = parts[0]
    for part in parts[1:]:
        out = all_of(out, part)
    return out


def sacral_sensory_sparing(exams: Exams) -> Answers:
    """Is S4-5 sensation or deep anal pressure preserved? (sensory incomplete without counting
    VAC; AIS B needs it, since without VAC only it makes an injury incomplete)."""
    absent = [a.negated() for a in _sacral(exams, SENSATION_PRESENT)]
    return _all([*absent, exams.binary(BINARY, exams.dap).negated()]).negated()


def injury_complete(exams: Exams) -> Result:
    """Rows ``C``, ``I``.

    Stars follow the reference. The result is open through a not-testable observation (S4-5
    ``NT``/``NT*``, VAC or DAP ``NT``): no star (S4-5 ``0*`` with VAC NT, or beside an S4-5
    ``NT``: "C,I"). Open only through S4-5 cells recorded ``0*`` (sensation may be present
    without the other condition): both starred ("C*,I*"). Incomplete only through cells
    considered normal (``0**``): "I*", unless another S4-5 cell may have sensation (``0**``
    beside ``0*``: "I").
    """
    return exams.memo("complete", lambda: _complete(exams))


def _complete(exams: Exams) -> Result:
    absent = [a.negated() for a in _sacral(exams, SENSATION_PRESENT)]
    anal = [exams.binary(BINARY, codes).negated() for codes in (exams.dap, exams.vac)]
    answers = _all([*absent, *anal])
    can_c, can_i = answers.yes, answers.no
    anal_open = exams.binary_bits(_BINARY_OPEN, exams.vac) | exams.binary_bits(
        _BINARY_OPEN, exams.dap
    )
    open_plain = anal_open | _sacral_bits(exams, _OPEN)
    open_flag = _sacral_bits(exams, _ZERO_NOT_NORMAL)
    star = can_c & can_i & open_flag & ~open_plain
    i_star = star | (can_i & ~can_c & ~answers.n & ~open_flag)
    shape = (exams.width,)
    return Result(
        np.stack([materialise(can_c, shape), materialise(can_i, shape)]),
        np.stack([materialise(star, shape), materialise(i_star, shape)]),
    )
