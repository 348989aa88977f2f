"""Sensory level, per side.

ISNCSCI 2019: the sensory level is the most caudal dermatome with normal light touch AND pin
prick sensation, all rostral dermatomes being normal too. C1 is presumed normal; when S4-5 is
normal as well the side is intact (INT).
"""

from __future__ import annotations

from functools import cache

from .candidates import Candidates
from .exam import ExamSide
from .levels import INDEX, INT
from .values import (
    EITHER,
    NONE,
    NOT_NORMAL,
    SENSORY_VALUES,
    Answer,
    Cell,
    parse_cell,
    sensory_normal,
)
from .walk import all_of, walk

S4_5 = INDEX["S4_5"]


def dermatome_normal(side: ExamSide, level: int) -> frozenset:
    """Answers to "is dermatome ``level`` normal on this side?" (both modalities)."""
    return _dermatomes(side)[level - 1]


#: Per side object: (the side, every dermatome's answers). The sensory level, motor level and
#: NLI walks ask about the same side object many times; keying by identity avoids hashing the
#: whole side, and holding the side keeps its id from being reused while the entry lives.
_DERMATOMES: dict[int, tuple[ExamSide, tuple[frozenset, ...]]] = {}
_DERMATOMES_MAX = 1024


def _dermatomes(side: ExamSide) -> tuple[frozenset, ...]:
    entry = _DERMATOMES.get(id(side))
    if entry is not None and entry[0] is side:
        return entry[1]
    answers = tuple(
        _VOCABULARY_PAIRS.get((id(lt), id(pp))) or _both_normal(lt, pp)
        for lt, pp in zip(side.light_touch, side.pin_prick, strict=False)
    )
    if len(_DERMATOMES) >= _DERMATOMES_MAX:
        _DERMATOMES.clear()
    _DERMATOMES[id(side)] = (side, answers)
    return answers


@cache
def _both_normal(light_touch: Cell, pin_prick: Cell) -> frozenset:
    if light_touch.grade is None and pin_prick.grade is None:
        return _untested_dermatome(light_touch.flag, pin_prick.flag)
    return frozenset(all_of(sensory_normal(light_touch), sensory_normal(pin_prick)))


def _untested_dermatome(*flags: int) -> frozenset:
    """A dermatome with neither modality testable reads as one not-testable dermatome, as in
    the reference: flagged not normal when either is ``NT*`` (``NT`` beside ``NT*``: abnormal,
    starred), else open without a star when either is a plain ``NT`` (``NT`` beside ``NT**``:
    a star on neither answer), else considered normal (``NT**`` twice)."""
    if NOT_NORMAL in flags:
        return frozenset({Answer(False, True)})
    if NONE in flags:
        return frozenset(EITHER)
    return frozenset({Answer(True, True)})


#: The sensory vocabulary's own cell objects (``parse_cell`` returns these; ``Exam.from_rhi``
#: reads every cell as one of them), kept alive here so that their ids stay theirs.
_VOCABULARY = tuple(parse_cell(text) for text in SENSORY_VALUES)
#: ``_both_normal`` for every pair of vocabulary cells, by identity: hashing a Cell runs Python
#: code, an id does not. Other equal cells (built elsewhere) fall back to ``_both_normal``.
_VOCABULARY_PAIRS = {
    (id(lt), id(pp)): _both_normal(lt, pp) for lt in _VOCABULARY for pp in _VOCABULARY
}


def ends_to_levels(ends: list[tuple[int, bool]]) -> list[tuple[int, bool]]:
    """A walk that got through S4-5 ends at INT (S4-5 itself is never reported as a level)."""
    return [(INT if level == S4_5 else level, star) for level, star in ends]


def sensory_level(side: ExamSide) -> Candidates:
    dermatomes = _dermatomes(side)
    ends = walk(lambda level: dermatomes[level - 1], stop=S4_5)
    return Candidates.of(ends_to_levels(ends), order=int)
