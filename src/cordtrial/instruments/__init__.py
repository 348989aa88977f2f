"""Functional outcome instruments: definitions, validation, scoring, change and JSON Schema.

Every consumer (store, web forms, analysis) uses these definitions. Records are JSON dicts
``{item_id: value}``; see docs/instruments.md for each instrument and its source.
"""

from __future__ import annotations

from .bladder import LUTF
from .bowel import NBD, NbdSeverity
from .change import (
    ChangeCategory,
    InstrumentChange,
    ResponderCount,
    ResponderCriterion,
    ScoreChange,
    compare,
    count_responders,
)
from .definition import (
    ChangeThresholds,
    DerivedField,
    Evidence,
    Instrument,
    InstrumentValidationError,
    Item,
    ItemError,
    ItemKind,
    Option,
    Part,
    ScoreDefinition,
    ScoreKind,
    ScoreResult,
    Verification,
)
from .schema import json_schema
from .scim import SCIM3
from .versions import CORRECTIONS, Correction, ReviewFlag, definition_for, review_flags
from .versions import CURRENT as INSTRUMENTS
from .wisci import WISCI2


def get_instrument(name: str) -> Instrument:
    """Look an instrument up by id ("scim3", "wisci2", "nbd", "lutf")."""
    try:
        return INSTRUMENTS[name]
    except KeyError:
        raise KeyError(f"unknown instrument {name!r}; known: {', '.join(INSTRUMENTS)}") from None


def validate(name: str, record: object) -> dict:
    """Validate a record of the named instrument; returns the normalised record."""
    return get_instrument(name).validate(record)


def score(name: str, record: object) -> ScoreResult:
    """Validate and score a record of the named instrument."""
    return get_instrument(name).score(record)


__all__ = [
    "CORRECTIONS",
    "INSTRUMENTS",
    "LUTF",
    "NBD",
    "SCIM3",
    "WISCI2",
    "ChangeCategory",
    "ChangeThresholds",
    "Correction",
    "DerivedField",
    "Evidence",
    "Instrument",
    "InstrumentChange",
    "InstrumentValidationError",
    "Item",
    "ItemError",
    "ItemKind",
    "NbdSeverity",
    "Option",
    "Part",
    "ResponderCount",
    "ResponderCriterion",
    "ReviewFlag",
    "ScoreChange",
    "ScoreDefinition",
    "ScoreKind",
    "ScoreResult",
    "Verification",
    "compare",
    "count_responders",
    "definition_for",
    "get_instrument",
    "json_schema",
    "review_flags",
    "score",
    "validate",
]
