"""Change between two scorings of one instrument, classified by published thresholds.

Thresholds live on the instrument (SCIM III total: >= 4 small, >= 10 substantial, Scivoletto 2013;
anchor-based MCID 12-45, Corallo 2017). "Improvement" is measured in the instrument's better
direction (NBD: lower is better), so a positive improvement is always good. The published
thresholds are for improvement; a worsening is reported by its sign, never classified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .definition import ChangeThresholds, Instrument, ScoreResult


class ChangeCategory(StrEnum):
    SUBSTANTIAL = "substantial"  # improvement >= the substantial threshold
    SMALL = "small"  # improvement >= the small threshold, below substantial
    BELOW_THRESHOLD = "below_threshold"  # less than small, including no change and worsening


class ResponderCriterion(StrEnum):
    SMALL = "small"  # improvement at least the small threshold
    SUBSTANTIAL = "substantial"
    MCID_MIN = "mcid_min"  # at least the lowest published MCID (most lenient)
    MCID_MAX = "mcid_max"  # at least the highest published MCID (strictest)


def parse_criterion(criterion: ResponderCriterion | str) -> ResponderCriterion:
    try:
        return ResponderCriterion(criterion)
    except ValueError:
        allowed = ", ".join(c.value for c in ResponderCriterion)
        raise ValueError(f"unknown responder criterion {criterion!r}; allowed: {allowed}") from None


@dataclass(frozen=True, slots=True)
class ScoreChange:
    score_id: str
    before: int | None
    after: int | None
    delta: int | None  # after - before; None if either is missing
    improvement: int | None  # delta signed so that positive is better
    category: ChangeCategory | None  # None when not computable or no thresholds exist
    reaches_mcid_min: bool | None
    reaches_mcid_max: bool | None
    thresholds: ChangeThresholds | None

    @property
    def computable(self) -> bool:
        return self.delta is not None

    def meets(self, criterion: ResponderCriterion | str) -> bool | None:
        """True/False for a computable change with the needed threshold; None otherwise."""
        criterion = parse_criterion(criterion)
        t = self.thresholds
        if self.improvement is None or t is None:
            return None
        bound = {
            ResponderCriterion.SMALL: t.small,
            ResponderCriterion.SUBSTANTIAL: t.substantial,
            ResponderCriterion.MCID_MIN: t.mcid_min,
            ResponderCriterion.MCID_MAX: t.mcid_max,
        }[criterion]
        return None if bound is None else self.improvement >= bound

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score_id,
            "before": self.before,
            "after": self.after,
            "delta": self.delta,
            "improvement": self.improvement,
            "category": None if self.category is None else self.category.value,
            "reaches_mcid_min": self.reaches_mcid_min,
            "reaches_mcid_max": self.reaches_mcid_max,
        }


@dataclass(frozen=True, slots=True)
class InstrumentChange:
    instrument: str
    scores: dict[str, ScoreChange]  # keyed by score id, the total under "total"
    derived_before: dict[str, Any]
    derived_after: dict[str, Any]

    @property
    def total(self) -> ScoreChange | None:
        return self.scores.get("total")

    def to_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "scores": {k: v.to_dict() for k, v in self.scores.items()},
            "derived_before": dict(self.derived_before),
            "derived_after": dict(self.derived_after),
        }


def classify(improvement: int, thresholds: ChangeThresholds) -> ChangeCategory | None:
    """Category of an improvement (positive = better); None if no small/substantial threshold."""
    if thresholds.substantial is not None and improvement >= thresholds.substantial:
        return ChangeCategory.SUBSTANTIAL
    if thresholds.small is None:
        return None
    if improvement >= thresholds.small:
        return ChangeCategory.SMALL
    return ChangeCategory.BELOW_THRESHOLD


def _as_result(instrument: Instrument, x: ScoreResult | Mapping[str, Any]) -> ScoreResult:
    if isinstance(x, ScoreResult):
        if x.instrument != instrument.id:
            raise ValueError(f"expected a {instrument.id} score, got one for {x.instrument}")
        return x
    return instrument.score(x)


def compare(
    instrument: Instrument,
    before: ScoreResult | Mapping[str, Any],
    after: ScoreResult | Mapping[str, Any],
) -> InstrumentChange:
    """Change of every score from ``before`` to ``after`` (records are validated and scored)."""
    b, a = _as_result(instrument, before), _as_result(instrument, after)
    out: dict[str, ScoreChange] = {}
    for s in instrument.scores:
        vb = b.total if s.id == "total" else b.scores.get(s.id)
        va = a.total if s.id == "total" else a.scores.get(s.id)
        t = instrument.thresholds_for(s.id)
        if vb is None or va is None:
            out[s.id] = ScoreChange(s.id, vb, va, None, None, None, None, None, t)
            continue
        delta = va - vb
        improvement = delta if s.higher_is_better else -delta
        out[s.id] = ScoreChange(
            s.id,
            vb,
            va,
            delta,
            improvement,
            classify(improvement, t) if t else None,
            None if t is None or t.mcid_min is None else improvement >= t.mcid_min,
            None if t is None or t.mcid_max is None else improvement >= t.mcid_max,
            t,
        )
    return InstrumentChange(instrument.id, out, dict(b.derived), dict(a.derived))


@dataclass(frozen=True, slots=True)
class ResponderCount:
    criterion: ResponderCriterion
    responders: int
    evaluable: int  # changes where the criterion could be decided
    not_evaluable: int  # missing before/after score, or no such threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion.value,
            "responders": self.responders,
            "evaluable": self.evaluable,
            "not_evaluable": self.not_evaluable,
        }


def count_responders(
    changes: Iterable[ScoreChange], criterion: ResponderCriterion | str
) -> ResponderCount:
    """Count changes meeting a criterion, keeping the not-evaluable ones visible."""
    criterion = parse_criterion(criterion)
    responders = evaluable = not_evaluable = 0
    for c in changes:
        met = c.meets(criterion)
        if met is None:
            not_evaluable += 1
        else:
            evaluable += 1
            responders += met
    return ResponderCount(criterion, responders, evaluable, not_evaluable)
