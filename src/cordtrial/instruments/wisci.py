"""WISCI II, the Walking Index for Spinal Cord Injury II (ordinal levels 0-20).

Level order and wording: Ditunno PL, Ditunno JF Jr. Walking index for spinal cord injury
(WISCI II): scale revision. Spinal Cord 2001;39:654-656 (the primary table; not yet retrieved).
Levels 0-15 were checked against the NINDS Common Data Elements WISCI II scoring table and
levels 16-20 against the validated self-report WISCI decision tree of Ben et al. (Spinal Cord
2024); both are secondary sources, so levels 16-20 stay marked unverified until the primary
table is checked (../shared/reference/instruments.md, WISCI II section).

Definition version 1 had levels 18 and 19 in swapped order; version 2 (this one) has the
published order. Records keep the version they were entered under, and version 1 stays defined
(``WISCI2_V1``) so that old records are shown as they were entered (see versions.py).

The level is the highest at which the person walks 10 m safely; the record keeps both the
self-selected and the maximum level (the reference notes that EMSCI reports the maximum, [R]).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .definition import (
    Evidence,
    Instrument,
    Item,
    ItemError,
    Option,
    Part,
    RecordRule,
    ScoreDefinition,
    ScoreKind,
)

PRIMARY = "Ditunno PL, Ditunno JF Jr. Spinal Cord 2001;39:654-656 (WISCI II scale revision)"
NINDS_CDE = "NINDS Common Data Elements, Spinal Cord Injury: WISCI II scoring table"
BEN_2024 = "Ben et al., Spinal Cord 2024: validated self-report WISCI decision tree"

SOURCE = (
    "Walking Index for Spinal Cord Injury II (WISCI II): 21 ordinal levels of devices, braces "
    f"and physical assistance needed to walk 10 m. Primary: {PRIMARY} (not yet retrieved). "
    "Checked against secondary sources: levels 0-15 the NINDS CDE scoring table, levels 16-20 "
    "Ben et al. 2024; levels 16-20 are marked unverified until checked against the primary."
)

# (level text, verified) in the published order. Verified means checked against a source
# (0-15: NINDS CDE table); 16-20 agree with Ben et al. 2024 but are kept unverified until the
# primary table (Ditunno & Ditunno 2001) is checked.
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
    18: ("no devices, braces, no assistance", False),
    19: ("one cane/crutch, no braces, no assistance", False),
    20: ("no devices, no braces, no assistance", False),
}

# Definition version 1 (superseded): levels 18 and 19 carried each other's wording. Kept so
# records entered under it are shown with the wording the assessor saw.
SWAPPED_IN_V1 = (18, 19)
LEVELS_V1: dict[int, tuple[str, bool]] = {
    **LEVELS,
    18: LEVELS[19],
    19: LEVELS[18],
}

_UNVERIFIED_NOTE = (
    "level tagged [R] in the reference: agrees with Ben et al. 2024 (secondary); unverified "
    "until checked against Ditunno & Ditunno 2001"
)


def _options(levels: Mapping[int, tuple[str, bool]]) -> tuple[Option, ...]:
    return tuple(
        Option(
            level,
            f"{level}: {text}",
            verified=verified,
            note="" if verified else _UNVERIFIED_NOTE,
        )
        for level, (text, verified) in levels.items()
    )


def _items(levels: Mapping[int, tuple[str, bool]]) -> tuple[Item, ...]:
    return (
        Item(
            "self_selected",
            "self-selected",
            "Self-selected level: the level the person uses by preference to walk 10 m safely",
            options=_options(levels),
        ),
        Item(
            "maximum",
            "maximum",
            "Maximum level: the highest level at which the person can walk 10 m safely",
            options=_options(levels),
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

PARTS = (
    Part(
        "levels 0-15: order and wording",
        Evidence.SECONDARY,
        NINDS_CDE,
        f"primary table: {PRIMARY}, not yet retrieved",
    ),
    Part(
        "levels 16-20: order and wording",
        Evidence.UNVERIFIED,
        PRIMARY,
        "the order (18 = no devices, braces, no assistance; 19 = one cane/crutch, no braces, "
        f"no assistance) agrees with {BEN_2024}; unverified until the primary table is checked",
    ),
    Part(
        "self-selected and maximum level both recorded; EMSCI reports the maximum",
        Evidence.UNVERIFIED,
        "project reference instruments.md (tagged [R])",
    ),
)


def _wisci(levels: Mapping[int, tuple[str, bool]], version: str, *notes: str) -> Instrument:
    return Instrument(
        id="wisci2",
        name="Walking Index for Spinal Cord Injury II",
        short_name="WISCI II",
        description=(
            "Ordinal walking level 0-20 (higher needs fewer devices, braces and helpers); "
            "self-selected and maximum level are recorded separately. There is no total."
        ),
        source=SOURCE,
        items=_items(levels),
        scores=(
            ScoreDefinition(
                "self_selected",
                "Self-selected level",
                ("self_selected",),
                0,
                20,
                kind=ScoreKind.LEVEL,
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
            *notes,
            "Levels 16-20 are shown as unverified until checked against Ditunno & Ditunno 2001.",
            "The reference gives no published change threshold for WISCI II; changes are "
            "reported in levels only.",
        ),
        parts=PARTS,
        definition_version=version,
    )


WISCI2 = _wisci(LEVELS, "2")

WISCI2_V1 = _wisci(
    LEVELS_V1,
    "1",
    "Superseded: in this version levels 18 and 19 carried each other's wording (fixed in "
    "wisci2@2). Records entered under it at level 18 or 19 need review.",
)
