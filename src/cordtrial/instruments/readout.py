"""A stored instrument record as a person reads it: every answer in words, every score with
its range, derived fields in words, and the items that are missing.

Pure: takes the definition the record was entered under (see versions.py), the record and its
stored score, so every page that shows a stored record reads it the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .definition import Instrument, Item, ItemKind, ScoreKind, Verification


@dataclass(frozen=True, slots=True)
class AnswerLine:
    item_id: str
    number: str
    label: str
    answer: str | None  # None: not assessed
    points: int | None  # contribution to the scores, when the item is scored
    verification: Verification  # of the item as a whole
    answer_verified: bool  # False when the item or the chosen answer is unverified
    stand_in_wording: bool = False  # the answer's text is a labelled stand-in, not the source's


@dataclass(frozen=True, slots=True)
class ScoreLine:
    score_id: str
    label: str
    value: int | None  # None: not computed because items are missing
    minimum: int
    maximum: int
    kind: ScoreKind
    higher_is_better: bool
    is_part: bool  # a part of another subscale (shown indented)
    meaning: str | None  # words for a level score (WISCI II)
    missing: tuple[str, ...]  # numbers of the missing items it needs


@dataclass(frozen=True, slots=True)
class DerivedLine:
    field_id: str
    label: str
    text: str
    verified: bool


@dataclass(frozen=True, slots=True)
class Readout:
    instrument: Instrument
    answers: tuple[AnswerLine, ...]
    scores: tuple[ScoreLine, ...]
    derived: tuple[DerivedLine, ...]
    missing: tuple[AnswerLine, ...]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def scored(self) -> bool:
        return bool(self.instrument.scores)


def answer_text(item: Item, value: Any) -> str:
    """The stored value of one item in words (the option's wording, or a count with unit)."""
    if item.kind is ItemKind.COUNT:
        return f"{value} {item.unit}".strip()
    if item.kind is ItemKind.MULTI_CHOICE:
        return "; ".join(_option_text(item, v) for v in value)
    return _option_text(item, value)


def _option_text(item: Item, value: Any) -> str:
    try:
        return item.option(value).meaning
    except KeyError:  # a value the definition does not know: show it, never hide it
        return f"{value!r} (not an answer of this definition)"


def _answer_verified(item: Item, value: Any) -> bool:
    if not item.verified:
        return False
    values = value if item.kind is ItemKind.MULTI_CHOICE else [value]
    if item.kind is ItemKind.COUNT:
        return True
    try:
        return all(item.option(v).verified for v in values)
    except KeyError:
        return False


def _stand_in(item: Item, value: Any) -> bool:
    if item.kind is ItemKind.COUNT:
        return False
    values = value if item.kind is ItemKind.MULTI_CHOICE else [value]
    return any(not o.meaning_from_reference for o in item.options if o.value in values)


def _points(item: Item, value: Any) -> int | None:
    if item.point_range is None:
        return None
    try:
        return item.option(value).score_points
    except KeyError:
        return None


def _answer_line(item: Item, value: Any) -> AnswerLine:
    if value is None:
        return AnswerLine(item.id, item.number, item.label, None, None, item.verification, True)
    return AnswerLine(
        item.id,
        item.number,
        item.label,
        answer_text(item, value),
        _points(item, value),
        item.verification,
        _answer_verified(item, value),
        _stand_in(item, value),
    )


def readout(
    instrument: Instrument, record: Mapping[str, Any], result: Mapping[str, Any]
) -> Readout:
    """Read ``record`` (as stored) and its stored ``result`` with ``instrument``."""
    answers = tuple(_answer_line(item, record.get(item.id)) for item in instrument.items)
    by_id = {a.item_id: a for a in answers}
    stored_scores = dict(result.get("scores") or {})
    total_def = instrument.total_definition
    scores = []
    for s in instrument.scores:
        value = result.get("total") if s is total_def else stored_scores.get(s.id)
        meaning = None
        if s.kind is ScoreKind.LEVEL and value is not None:
            meaning = by_id[s.item_ids[0]].answer
        scores.append(
            ScoreLine(
                s.id,
                s.label,
                value,
                s.minimum,
                s.maximum,
                s.kind,
                s.higher_is_better,
                s.parent is not None,
                meaning,
                tuple(by_id[i].number for i in s.item_ids if by_id[i].answer is None),
            )
        )
    stored_derived = dict(result.get("derived") or {})
    derived = tuple(
        DerivedLine(d.id, d.label, d.describe(stored_derived.get(d.id)), d.verified)
        for d in instrument.derived_fields
    )
    missing = tuple(a for a in answers if a.answer is None)
    return Readout(instrument, answers, tuple(scores), derived, missing)
