"""Hypothesis strategies for ISNCSCI exams in the flat RHI naming (for property tests).

Hypothesis is a development dependency: import this module only from tests.

- `rhi_exams()`: clinically shaped exams from the same builder as `synthetic.generate_exams`,
  with every choice drawn through Hypothesis so that a failing exam shrinks towards an all
  normal exam with no NT cells, flags or non-key muscle.
- `arbitrary_rhi_exams()`: every cell drawn independently from the whole value vocabulary, for
  invariants that must hold for any valid exam (validation, round trips, totals).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from itertools import accumulate
from typing import TypeVar

from hypothesis import strategies as st

from cordtrial.isncsci.synthetic import (
    DEFAULT_PATTERN_WEIGHTS,
    DERMATOMES,
    KEY_MUSCLES,
    NON_KEY_LEVELS,
    SIDES,
    GeneratorSettings,
    build_exam,
)

T = TypeVar("T")

# The whole vocabulary of ../shared/isncsci/README.md: a normal grade (2, 5) takes no flag.
SENSORY_VALUES: tuple[str, ...] = (
    ("0", "1", "2", "NT") + ("0*", "1*", "NT*") + ("0**", "1**", "NT**")
)
MOTOR_VALUES: tuple[str, ...] = (
    ("0", "1", "2", "3", "4", "5", "NT")
    + ("0*", "1*", "2*", "3*", "4*", "NT*")
    + ("0**", "1**", "2**", "3**", "4**", "NT**")
)
ANAL_VALUES: tuple[str, ...] = ("Yes", "No", "NT")

_RESOLUTION = 10_000  # granularity of weighted choices and probabilities


class HypothesisSource:
    """`synthetic._Source` that draws from Hypothesis; every choice shrinks to its first option
    and every `chance` to False."""

    def __init__(self, draw: st.DrawFn) -> None:
        self._draw = draw

    def chance(self, p: float) -> bool:
        if p <= 0:
            return False
        if p >= 1:
            return True
        return self._draw(st.integers(0, _RESOLUTION - 1)) >= round((1 - p) * _RESOLUTION)

    def integer(self, lo: int, hi: int) -> int:
        return self._draw(st.integers(lo, hi))

    def pick(self, options: Sequence[T], weights: Sequence[float] | None = None) -> T:
        if weights is None:
            return options[self._draw(st.integers(0, len(options) - 1))]
        bounds = list(accumulate(weights))
        target = self._draw(st.integers(0, _RESOLUTION - 1)) * bounds[-1] / _RESOLUTION
        return options[min(bisect.bisect_right(bounds, target), len(options) - 1)]


@st.composite
def rhi_exams(
    draw: st.DrawFn,
    *,
    nt_rate: float = 0.15,
    flag_rate: float = 0.10,
    nonkey_rate: float = 0.15,
    anal_nt_rate: float = 0.03,
    pattern_weights: dict[str, float] | None = None,
) -> dict[str, str]:
    """Clinically shaped exams (see `synthetic.generate_exams` for the parameters); no `id`."""
    settings = GeneratorSettings(
        nt_rate=nt_rate,
        flag_rate=flag_rate,
        nonkey_rate=nonkey_rate,
        anal_nt_rate=anal_nt_rate,
        pattern_weights=tuple((pattern_weights or DEFAULT_PATTERN_WEIGHTS).items()),
    )
    return build_exam(HypothesisSource(draw), settings)


@st.composite
def arbitrary_rhi_exams(draw: st.DrawFn, *, nt: bool = True, flags: bool = True) -> dict[str, str]:
    """Any valid exam: each cell independent over the vocabulary (optionally without NT or
    flags). Unlike `rhi_exams` these rarely look like a real injury."""

    def allowed(values: tuple[str, ...]) -> list[str]:
        return [
            v for v in values if (nt or not v.startswith("NT")) and (flags or not v.endswith("*"))
        ]

    sensory, motor = allowed(SENSORY_VALUES), allowed(MOTOR_VALUES)
    anal = [v for v in ANAL_VALUES if nt or v != "NT"]
    exam = {"analContraction": draw(st.sampled_from(anal))}
    exam["analSensation"] = draw(st.sampled_from(anal))
    for derm in DERMATOMES:
        for kind in ("Touch", "Prick"):
            for side in SIDES:
                exam[f"{derm}{side}{kind}"] = draw(st.sampled_from(sensory))
        if derm in KEY_MUSCLES:
            for side in SIDES:
                exam[f"{derm}{side}Motor"] = draw(st.sampled_from(motor))
    for side in SIDES:
        level = draw(st.none() | st.sampled_from(NON_KEY_LEVELS))
        if level is not None:
            exam[f"{side.lower()}LowestNonKeyMuscleWithMotorFunction"] = level
    return exam
