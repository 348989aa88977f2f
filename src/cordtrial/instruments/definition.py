"""Generic instrument definitions and the validate/score machinery shared by every instrument.

An instrument is data (items, options, scores) plus two optional hooks for what plain data cannot
say: cross-item rules and derived fields. A record is a JSON-style dict ``{item_id: value}``.
A missing item is an absent key (``None`` is accepted as "not assessed" and dropped); it is never
imputed, so a score exists only when every item it sums is present.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ItemKind(StrEnum):
    CHOICE = "choice"  # exactly one option value
    MULTI_CHOICE = "multi_choice"  # a non-empty list of distinct option values
    COUNT = "count"  # a whole number in [minimum, maximum]


class Verification(StrEnum):
    VERIFIED = "verified"
    PARTLY_UNVERIFIED = "partly unverified"
    UNVERIFIED = "unverified"


class Evidence(StrEnum):
    """How one part of a definition was checked (the reference's tags [V], [V2], [R])."""

    VERIFIED = "verified"  # checked against a primary or authoritative source [V]
    SECONDARY = "secondary"  # checked against a secondary source only [V2]
    UNVERIFIED = "unverified"  # not checked [R], or a labelled stand-in


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a definition (item set, points, bands, wording...) with its source and how
    it was checked; `cordtrial instruments show` and docs/instruments.md list them."""

    name: str
    evidence: Evidence
    source: str
    note: str = ""


class ScoreKind(StrEnum):
    TOTAL = "total"
    SUBSCALE = "subscale"
    LEVEL = "level"  # a single ordinal level reported on its own (WISCI II)


@dataclass(frozen=True, slots=True)
class Option:
    """One allowed answer of an item: the stored value and the text a clinician picks."""

    value: int | str
    meaning: str
    # Contribution to scores. None means "the value itself" for integer options.
    points: int | None = None
    # False when the reference tags this answer (or its points) [R].
    verified: bool = True
    # False when the reference gives no wording for this answer and ours is a placeholder.
    meaning_from_reference: bool = True
    # Multi-choice only: may not be combined with other answers ("none", "unknown").
    exclusive: bool = False
    note: str = ""

    @property
    def score_points(self) -> int | None:
        if self.points is not None:
            return self.points
        if isinstance(self.value, int):
            return self.value
        return None


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    number: str  # as printed on the published form, e.g. "2A"
    label: str
    kind: ItemKind = ItemKind.CHOICE
    options: tuple[Option, ...] = ()
    minimum: int | None = None  # COUNT items only
    maximum: int | None = None
    unit: str = ""
    # False when the reference tags the item [R]; see also Option.verified.
    verified: bool = True
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind is ItemKind.COUNT:
            if self.options or self.minimum is None or self.maximum is None:
                raise ValueError(f"count item {self.id!r} needs minimum and maximum, no options")
            if self.minimum > self.maximum:
                raise ValueError(f"count item {self.id!r}: minimum > maximum")
            return
        if not self.options:
            raise ValueError(f"item {self.id!r} has no options")
        values = [o.value for o in self.options]
        if len(set(values)) != len(values):
            raise ValueError(f"item {self.id!r} has duplicate option values")
        if len({type(v) for v in values}) != 1:
            raise ValueError(f"item {self.id!r} mixes integer and text option values")
        if any(isinstance(v, bool) for v in values):
            raise ValueError(f"item {self.id!r}: option values must not be booleans")
        if self.kind is ItemKind.CHOICE and any(o.exclusive for o in self.options):
            raise ValueError(f"item {self.id!r}: 'exclusive' only applies to multi-choice items")

    @property
    def allowed_values(self) -> tuple[int | str, ...]:
        return tuple(o.value for o in self.options)

    @property
    def integer_valued(self) -> bool:
        return self.kind is ItemKind.COUNT or isinstance(self.options[0].value, int)

    def option(self, value: int | str) -> Option:
        for o in self.options:
            if o.value == value and type(o.value) is type(value):
                return o
        raise KeyError(f"{self.id}: no option {value!r}")

    @property
    def verification(self) -> Verification:
        if not self.verified:
            return Verification.UNVERIFIED
        if any(not o.verified for o in self.options):
            return Verification.PARTLY_UNVERIFIED
        return Verification.VERIFIED

    @property
    def point_range(self) -> tuple[int, int] | None:
        """Smallest and largest score contribution, or None if the item is not scored."""
        if self.kind is not ItemKind.CHOICE:
            return None
        points = [o.score_points for o in self.options]
        if any(p is None for p in points):
            return None
        return min(points), max(points)  # type: ignore[type-var]

    def allowed_text(self) -> str:
        if self.kind is ItemKind.COUNT:
            unit = f" ({self.unit})" if self.unit else ""
            return f"a whole number from {self.minimum} to {self.maximum}{unit}"
        listed = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in self.allowed_values)
        if self.kind is ItemKind.MULTI_CHOICE:
            return f"a non-empty list of distinct values from: {listed}"
        return listed

    def check(self, value: Any) -> tuple[Any, str | None]:
        """Return (normalised value, None) or (value, reason it is not allowed)."""
        if self.kind is ItemKind.COUNT:
            n = _as_int(value)
            if n is None:
                return value, "not a whole number"
            if not (self.minimum <= n <= self.maximum):  # type: ignore[operator]
                return value, "out of range"
            return n, None
        if self.kind is ItemKind.CHOICE:
            v = self._coerce(value)
            if v is None:
                return value, "not an allowed value"
            return v, None
        # MULTI_CHOICE
        if not isinstance(value, list | tuple):
            return value, "not a list"
        if not value:
            return value, "empty list (omit the item if it was not assessed)"
        coerced = [self._coerce(v) for v in value]
        bad = [v for v, c in zip(value, coerced, strict=True) if c is None]
        if bad:
            return value, f"contains values that are not allowed: {bad!r}"
        if len(set(coerced)) != len(coerced):
            return value, "contains a value more than once"
        exclusive = [c for c in coerced if self.option(c).exclusive]  # type: ignore[arg-type]
        if exclusive and len(coerced) > 1:
            return value, f"{exclusive[0]!r} cannot be combined with other answers"
        return coerced, None

    def _coerce(self, value: Any) -> int | str | None:
        if self.integer_valued:
            n = _as_int(value)
            return n if n is not None and n in self.allowed_values else None
        return value if isinstance(value, str) and value in self.allowed_values else None


def _as_int(value: Any) -> int | None:
    """Accept ints and integral floats (JSON may give 2.0); reject booleans and text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _is_int_text(text: str) -> bool:
    return text.isascii() and text.lstrip("+-").isdigit()


@dataclass(frozen=True, slots=True)
class ItemError:
    """One problem in a record: which item, the value given and what is allowed."""

    item_id: str
    value: Any
    allowed: str
    message: str

    def __str__(self) -> str:
        return f"{self.item_id}: {self.message}: got {self.value!r}; allowed: {self.allowed}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item_id,
            "value": self.value,
            "allowed": self.allowed,
            "message": self.message,
        }


class InstrumentValidationError(ValueError):
    def __init__(self, instrument_id: str, errors: Sequence[ItemError]):
        self.instrument_id = instrument_id
        self.errors: list[ItemError] = list(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.errors)
        head = f"invalid {self.instrument_id} record ({n} error{'s' if n != 1 else ''}):"
        return "\n".join([head, *(f"  - {e}" for e in self.errors)])


@dataclass(frozen=True, slots=True)
class ScoreDefinition:
    id: str
    label: str
    item_ids: tuple[str, ...]
    minimum: int
    maximum: int
    kind: ScoreKind = ScoreKind.SUBSCALE
    higher_is_better: bool = True
    parent: str | None = None  # e.g. a mobility sub-part inside the mobility subscale
    note: str = ""


@dataclass(frozen=True, slots=True)
class DerivedField:
    id: str
    label: str
    description: str
    values: str  # what the field can hold, for docs and forms
    verified: bool = True
    note: str = ""
    # Words for the stored values, as a person reads them (e.g. "moderate (10-13)").
    value_labels: tuple[tuple[Any, str], ...] = ()

    def describe(self, value: Any) -> str:
        for v, text in self.value_labels:
            if v == value and type(v) is type(value):
                return text
        return "not computed" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class ChangeThresholds:
    """Published change thresholds for one score (points in the 'better' direction)."""

    score_id: str
    small: int | None
    substantial: int | None
    source: str
    mcid_min: int | None = None  # anchor-based MCID varies by population: a range
    mcid_max: int | None = None
    mcid_source: str = ""


@dataclass(frozen=True, slots=True)
class RecordRule:
    """A rule across items; check returns the errors (empty when the record satisfies it)."""

    id: str
    description: str
    check: Callable[[Mapping[str, Any]], list[ItemError]]
    verified: bool = True
    # The same rule as a JSON Schema fragment, when JSON Schema can express it.
    json_schema: dict[str, Any] | None = None


Deriver = Callable[[Mapping[str, Any], Mapping[str, int | None]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ScoreResult:
    instrument: str
    total: int | None  # None when the instrument has no total or an item is missing
    scores: dict[str, int | None]  # every defined score but the total (None if incomplete)
    derived: dict[str, Any]
    missing_items: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing_items

    def to_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "total": self.total,
            "scores": dict(self.scores),
            "derived": dict(self.derived),
            "missing_items": list(self.missing_items),
            "complete": self.complete,
        }


@dataclass(frozen=True)
class Instrument:
    id: str
    name: str
    short_name: str
    description: str
    source: str
    items: tuple[Item, ...]
    scores: tuple[ScoreDefinition, ...] = ()
    derived_fields: tuple[DerivedField, ...] = ()
    change_thresholds: tuple[ChangeThresholds, ...] = ()
    record_rules: tuple[RecordRule, ...] = ()
    derive: Deriver | None = None
    notes: tuple[str, ...] = ()
    # Source and checking state of each part of the definition.
    parts: tuple[Part, ...] = ()
    # Bump when items, options, their meaning or points change: every stored record keeps the
    # version it was entered under (``version_tag``), so a correction never silently changes
    # what an old record means (see versions.py for the superseded definitions).
    definition_version: str = "1"
    _by_id: dict[str, Item] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id = {i.id: i for i in self.items}
        if len(by_id) != len(self.items):
            raise ValueError(f"{self.id}: duplicate item ids")
        object.__setattr__(self, "_by_id", by_id)
        if sum(s.kind is ScoreKind.TOTAL for s in self.scores) > 1:
            raise ValueError(f"{self.id}: more than one total")
        score_ids = {s.id for s in self.scores}
        for s in self.scores:
            self._check_score_range(s)
            if s.parent is not None and s.parent not in score_ids:
                raise ValueError(f"{self.id}: score {s.id!r} has unknown parent {s.parent!r}")
        for t in self.change_thresholds:
            if t.score_id not in score_ids:
                raise ValueError(f"{self.id}: thresholds for unknown score {t.score_id!r}")

    def _check_score_range(self, s: ScoreDefinition) -> None:
        # The declared ranges come from the reference; checking them against the item
        # definitions catches a wrong option set or points at import time.
        lo = hi = 0
        for item_id in s.item_ids:
            if item_id not in self._by_id:
                raise ValueError(f"{self.id}: score {s.id!r} uses unknown item {item_id!r}")
            rng = self._by_id[item_id].point_range
            if rng is None:
                raise ValueError(f"{self.id}: score {s.id!r} uses unscored item {item_id!r}")
            lo, hi = lo + rng[0], hi + rng[1]
        if (lo, hi) != (s.minimum, s.maximum):
            raise ValueError(
                f"{self.id}: score {s.id!r} declared {s.minimum}-{s.maximum} "
                f"but its items give {lo}-{hi}"
            )

    # -- lookup ------------------------------------------------------------------------------

    @property
    def version_tag(self) -> str:
        """Identifies the definition a record was entered under, e.g. "wisci2@2"."""
        return f"{self.id}@{self.definition_version}"

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.items)

    def item(self, item_id: str) -> Item:
        try:
            return self._by_id[item_id]
        except KeyError:
            raise KeyError(
                f"{self.id} has no item {item_id!r}; items: {', '.join(self.item_ids)}"
            ) from None

    def score_definition(self, score_id: str) -> ScoreDefinition:
        for s in self.scores:
            if s.id == score_id:
                return s
        raise KeyError(f"{self.id} has no score {score_id!r}")

    @property
    def total_definition(self) -> ScoreDefinition | None:
        return next((s for s in self.scores if s.kind is ScoreKind.TOTAL), None)

    def thresholds_for(self, score_id: str) -> ChangeThresholds | None:
        return next((t for t in self.change_thresholds if t.score_id == score_id), None)

    @property
    def verification(self) -> Verification:
        states = {i.verification for i in self.items}
        if states == {Verification.VERIFIED}:
            return Verification.VERIFIED
        if states == {Verification.UNVERIFIED}:
            return Verification.UNVERIFIED
        return Verification.PARTLY_UNVERIFIED

    # -- validate / score ---------------------------------------------------------------------

    def parse_form(self, fields: Mapping[str, str | Sequence[str]]) -> dict[str, Any]:
        """Turn HTML form text into a record for ``validate``: blank means not assessed,
        digits become integers for integer-valued items. Nothing is rejected here, so
        ``validate`` reports every bad value with the text the user typed."""
        record: dict[str, Any] = {}
        for key, raw in fields.items():
            item = self._by_id.get(key)
            if isinstance(raw, str):
                text = raw.strip()
                if text == "":
                    continue
                if item is not None and item.integer_valued and _is_int_text(text):
                    record[key] = int(text)
                else:
                    record[key] = text
            else:
                values = [v.strip() for v in raw if v.strip()]
                if values:
                    record[key] = values
        return record

    def validate(self, record: Any) -> dict[str, Any]:
        """Return the normalised record, or raise InstrumentValidationError listing every problem.

        Normalisation: ``None`` values are dropped (not assessed), integral floats become ints,
        multi-choice tuples become lists. Items are returned in definition order.
        """
        if not isinstance(record, Mapping):
            raise InstrumentValidationError(
                self.id,
                [
                    ItemError(
                        "<record>",
                        record,
                        "an object mapping item ids to values",
                        "a record must be an object",
                    )
                ],
            )
        errors: list[ItemError] = []
        for key in record:
            if key not in self._by_id:
                errors.append(
                    ItemError(
                        str(key),
                        record[key],
                        "item ids: " + ", ".join(self.item_ids),
                        "unknown item",
                    )
                )
        clean: dict[str, Any] = {}
        for item in self.items:
            if item.id not in record or record[item.id] is None:
                continue
            value, problem = item.check(record[item.id])
            if problem is None:
                clean[item.id] = value
            else:
                errors.append(ItemError(item.id, record[item.id], item.allowed_text(), problem))
        # Cross-item rules see only the values that passed their own checks.
        for rule in self.record_rules:
            errors.extend(rule.check(clean))
        if errors:
            raise InstrumentValidationError(self.id, errors)
        return clean

    def score(self, record: Any) -> ScoreResult:
        clean = self.validate(record)
        values: dict[str, int | None] = {}
        for s in self.scores:
            if all(i in clean for i in s.item_ids):
                values[s.id] = sum(
                    self._by_id[i].option(clean[i]).score_points  # type: ignore[misc]
                    for i in s.item_ids
                )
            else:
                values[s.id] = None
        total_def = self.total_definition
        total = values.pop(total_def.id) if total_def else None
        derived = self.derive(clean, {**values, "total": total}) if self.derive else {}
        missing = tuple(i for i in self.item_ids if i not in clean)
        return ScoreResult(self.id, total, values, derived, missing)
