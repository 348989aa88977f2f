"""WISCI II, the Walking Index for Spinal Cord Injury II (ordinal levels 0-20).

Level texts and their tags follow ../shared/reference/instruments.md (WISCI II section): levels
0-15 are tagged [V], levels 16-20 [R] and are therefore marked unverified. The level is the
highest at which the person walks 10 m safely; the record keeps both the self-selected and the
maximum level (the reference notes that EMSCI reports the maximum, tagged [R]).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .definition import (
    Instrument,
    Item,
    ItemError,
    Option,
    RecordRule,
    ScoreDefinition,
    ScoreKind,
)

SOURCE = (
    "Walking Index for Spinal Cord Injury II (WISCI II): 21 ordinal levels of devices, braces "
    "and physical assistance needed to walk 10 m (project reference instruments.md; levels "
    "0-15 [V], 16-20 [R])."
)

# (level text, verified) from the reference table.
LEVELS: dict[int, tuple[str, bool]] = {
    0: ("unable to stand and/or take part in assisted walking", True),
    1: ("parallel bars, braces, 2 persons, less than 10 m", True),
    2: ("parallel bars, braces, 2 persons, 10 m", True),
    3: ("parallel bars, braces, 1 person", True),
    4: ("parallel bars, no braces, 1 person", True),
    5: ("parallel bars, braces, no assistance", True),
    6: ("walker, braces, 1 person", True),
    7: ("two crutches, braces, 1 person", True),
    8: ("walker, no braces, 1 person", True),
    9: ("walker, braces, no assistance", True),
    10: ("one cane/crutch, braces, 1 person", True),
    11: ("two crutches, no braces, 1 person", True),
    12: ("two crutches, braces, no assistance", True),
    13: ("walker, no braces, no assistance", True),
    14: ("one cane/crutch, no braces, 1 person", True),
    15: ("one cane/crutch, braces, no assistance", True),
    16: ("two crutches, no braces, no assistance", False),
    17: ("no devices, no braces, 1 person", False),
    18: ("one cane/crutch, no braces, no assistance", False),
    19: ("no devices, braces, no assistance", False),
    20: ("no devices, no braces, no assistance", False),
}


def _options() -> tuple[Option, ...]:
    return tuple(
        Option(
            level,
            f"{level}: {text}",
            verified=verified,
            note="" if verified else "level text tagged [R] in the reference",
        )
        for level, (text, verified) in LEVELS.items()
    )


ITEMS = (
    Item(
        "self_selected",
        "self-selected",
        "Self-selected level: the level the person uses by preference to walk 10 m safely",
        options=_options(),
    ),
    Item(
        "maximum",
        "maximum",
        "Maximum level: the highest level at which the person can walk 10 m safely",
        options=_options(),
        note="EMSCI reports the maximum level (tagged [R] in the reference).",
    ),
)


def _self_selected_not_above_maximum(record: Mapping[str, Any]) -> list[ItemError]:
    # By definition the maximum is the highest level achievable, so a self-selected level
    # above it means one of the two was mis-entered.
    sel, mx = record.get("self_selected"), record.get("maximum")
    if sel is None or mx is None or sel <= mx:
        return []
    return [
        ItemError(
            "self_selected",
            sel,
            f"a level from 0 to the maximum level ({mx})",
            "self-selected level is above the maximum level",
        )
    ]


# JSON Schema cannot compare two properties, so "self_selected <= maximum" is spelled out once
# per possible maximum level.
_ORDER_SCHEMA = {
    "allOf": [
        {
            "if": {"properties": {"maximum": {"const": level}}, "required": ["maximum"]},
            "then": {"properties": {"self_selected": {"enum": [*range(level + 1), None]}}},
        }
        for level in LEVELS
    ]
}

WISCI2 = Instrument(
    id="wisci2",
    name="Walking Index for Spinal Cord Injury II",
    short_name="WISCI II",
    description=(
        "Ordinal walking level 0-20 (higher needs fewer devices, braces and helpers); "
        "self-selected and maximum level are recorded separately. There is no total."
    ),
    source=SOURCE,
    items=ITEMS,
    scores=(
        ScoreDefinition(
            "self_selected", "Self-selected level", ("self_selected",), 0, 20, kind=ScoreKind.LEVEL
        ),
        ScoreDefinition("maximum", "Maximum level", ("maximum",), 0, 20, kind=ScoreKind.LEVEL),
    ),
    record_rules=(
        RecordRule(
            "self_selected_not_above_maximum",
            "The self-selected level cannot be above the maximum level (the maximum is by "
            "definition the highest level the person achieves).",
            _self_selected_not_above_maximum,
            json_schema=_ORDER_SCHEMA,
        ),
    ),
    notes=(
        "Levels 16-20 are tagged [R] in the reference and shown as unverified.",
        "The reference gives no published change threshold for WISCI II; changes are "
        "reported in levels only.",
    ),
)
