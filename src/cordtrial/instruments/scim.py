"""SCIM III, the Spinal Cord Independence Measure version III.

Items, allowed scores, subscales and the mobility level meanings follow the project reference
(../shared/reference/instruments.md, SCIM III section, tagged [V]; sources named there: SRALab
Rehabilitation Measures Database, NINDS CDE, RHSCIR clinical form). Change thresholds: Scivoletto
2013 (small >= 4, substantial >= 10) and anchor-based MCID 12-45 (Corallo 2017), both from
../shared/reference/natural-history.md section 5.

The reference gives per-score wording only for the mobility items 12-14. For every other item the
option text is a placeholder that says where the score sits on the item's scale; it is flagged
``meaning_from_reference=False`` so forms can show that the published wording must be consulted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .definition import (
    ChangeThresholds,
    DerivedField,
    Evidence,
    Instrument,
    Item,
    Option,
    Part,
    ScoreDefinition,
    ScoreKind,
)

SCORING_SOURCES = (
    "SRALab Rehabilitation Measures Database; NINDS Common Data Elements (Spinal Cord Injury); "
    "RHSCIR SCIM III clinical form"
)

SOURCE = (
    "Spinal Cord Independence Measure version III (SCIM III). Items, points of every option, "
    f"subscales and maxima checked against: {SCORING_SOURCES} (project reference "
    "instruments.md, [V]). The published option wording is not reproduced (no licence "
    "recorded): other than items 12-14, option texts are labelled stand-ins."
)

# Reference: "Level meanings for the mobility items 12-14" (instruments.md, SCIM III section).
MOBILITY_LEVELS: dict[int, str] = {
    0: "total assistance",
    1: "electric wheelchair, or partial help with a manual wheelchair",
    2: "independent in a manual wheelchair",
    3: "walks with supervision",
    4: "walks with a walking frame or crutches (swing-through gait)",
    5: "walks with crutches or two canes (reciprocal gait)",
    6: "walks with one cane",
    7: "walks with a leg orthosis only",
    8: "walks without aids",
}

# Reference: "Item 12 >= 4 is 'walks indoors'".
WALKS_INDOORS_MIN_LEVEL = 4


def _placeholder_options(scores: tuple[int, ...]) -> tuple[Option, ...]:
    """Honest placeholder wording for items whose per-score text the reference does not give:
    it only says where the score sits on the item's scale."""
    n = len(scores)
    texts = {scores[0]: "lowest (most assistance)", scores[-1]: "highest (independent)"}
    ordinals = {2: "2nd", 3: "3rd"}
    return tuple(
        Option(
            s,
            f"{s}: "
            + texts.get(s, f"intermediate, {ordinals.get(rank, f'{rank}th')} of {n} levels"),
            meaning_from_reference=False,
            note="published wording not in the project reference; see the SCIM III form",
        )
        for rank, s in enumerate(scores, start=1)
    )


def _mobility_options() -> tuple[Option, ...]:
    return tuple(Option(level, f"{level}: {text}") for level, text in MOBILITY_LEVELS.items())


def _item(item_id: str, number: str, label: str, scores: tuple[int, ...]) -> Item:
    return Item(item_id, number, label, options=_placeholder_options(scores))


ITEMS: tuple[Item, ...] = (
    _item("feeding", "1", "Feeding", (0, 1, 2, 3)),
    _item("bathing_upper", "2A", "Bathing, upper body", (0, 1, 2, 3)),
    _item("bathing_lower", "2B", "Bathing, lower body", (0, 1, 2, 3)),
    _item("dressing_upper", "3A", "Dressing, upper body", (0, 1, 2, 3, 4)),
    _item("dressing_lower", "3B", "Dressing, lower body", (0, 1, 2, 3, 4)),
    _item("grooming", "4", "Grooming", (0, 1, 2, 3)),
    _item("respiration", "5", "Respiration", (0, 2, 4, 6, 8, 10)),
    _item("bladder", "6", "Sphincter management, bladder", (0, 3, 6, 9, 11, 13, 15)),
    _item("bowel", "7", "Sphincter management, bowel", (0, 5, 8, 10)),
    _item("toilet", "8", "Use of toilet", (0, 1, 2, 4, 5)),
    _item("bed_mobility", "9", "Bed mobility and pressure-sore prevention", (0, 2, 4, 6)),
    _item("transfer_bed_wheelchair", "10", "Transfers bed-wheelchair", (0, 1, 2)),
    _item("transfer_wheelchair_toilet", "11", "Transfers wheelchair-toilet-tub", (0, 1, 2)),
    Item("mobility_indoors", "12", "Mobility indoors", options=_mobility_options()),
    Item(
        "mobility_moderate",
        "13",
        "Mobility for moderate distances (10-100 m)",
        options=_mobility_options(),
    ),
    Item(
        "mobility_outdoors",
        "14",
        "Mobility outdoors (more than 100 m)",
        options=_mobility_options(),
    ),
    _item("stairs", "15", "Stair management", (0, 1, 2, 3)),
    _item("transfer_wheelchair_car", "16", "Transfers wheelchair-car", (0, 1, 2)),
    _item("transfer_ground_wheelchair", "17", "Transfers ground-wheelchair", (0, 1)),
)

_IDS = tuple(i.id for i in ITEMS)
SELF_CARE = _IDS[0:6]  # items 1-4
RESPIRATION_SPHINCTER = _IDS[6:10]  # items 5-8
MOBILITY = _IDS[10:19]  # items 9-17
MOBILITY_ROOM_TOILET = _IDS[10:13]  # items 9-11
MOBILITY_INDOORS_OUTDOORS = _IDS[13:19]  # items 12-17

SCORES: tuple[ScoreDefinition, ...] = (
    ScoreDefinition("total", "SCIM III total", _IDS, 0, 100, kind=ScoreKind.TOTAL),
    ScoreDefinition("self_care", "Self-care (items 1-4)", SELF_CARE, 0, 20),
    ScoreDefinition(
        "respiration_sphincter",
        "Respiration and sphincter management (items 5-8)",
        RESPIRATION_SPHINCTER,
        0,
        40,
    ),
    ScoreDefinition("mobility", "Mobility (items 9-17)", MOBILITY, 0, 40),
    ScoreDefinition(
        "mobility_room_toilet",
        "Mobility in room and toilet (items 9-11)",
        MOBILITY_ROOM_TOILET,
        0,
        10,
        parent="mobility",
    ),
    ScoreDefinition(
        "mobility_indoors_outdoors",
        "Mobility indoors and outdoors (items 12-17)",
        MOBILITY_INDOORS_OUTDOORS,
        0,
        30,
        parent="mobility",
    ),
)


def _derive(record: Mapping[str, Any], scores: Mapping[str, int | None]) -> dict[str, Any]:
    level = record.get("mobility_indoors")
    return {"walks_indoors": None if level is None else level >= WALKS_INDOORS_MIN_LEVEL}


SCIM3 = Instrument(
    id="scim3",
    name="Spinal Cord Independence Measure, version III",
    short_name="SCIM III",
    description=(
        "19 items on self-care, respiration and sphincter management, and mobility; "
        "total 0-100, higher is more independent."
    ),
    source=SOURCE,
    items=ITEMS,
    scores=SCORES,
    derived_fields=(
        DerivedField(
            "walks_indoors",
            "Walks indoors",
            "SCIM III item 12 (mobility indoors) >= 4: walks indoors, with or without aids.",
            "true, false, or null when item 12 is missing",
            verified=False,
            value_labels=(
                (True, "yes (item 12 at level 4 or more)"),
                (False, "no (item 12 below level 4)"),
            ),
            note=(
                "The threshold is in the SCIM III reference, but its use as the outcome of the "
                "van Middendorp walking rule is tagged [R] (unverified)."
            ),
        ),
    ),
    change_thresholds=(
        ChangeThresholds(
            "total",
            small=4,
            substantial=10,
            source="Scivoletto 2013 (natural-history.md section 5, [V])",
            mcid_min=12,
            mcid_max=45,
            mcid_source=(
                "Corallo 2017 anchor-based MCID: 12 (complete tetraplegia) to 45 "
                "(incomplete thoracic) (natural-history.md section 5, [V])"
            ),
        ),
    ),
    derive=_derive,
    notes=(
        "Per-score wording is from the reference only for items 12-14; other items show "
        "placeholder text, flagged as not from the reference.",
    ),
    parts=(
        Part("19 items and the points of every option", Evidence.VERIFIED, SCORING_SOURCES),
        Part(
            "subscales and maxima: self-care 0-20, respiration and sphincter management 0-40, "
            "mobility 0-40 (room and toilet 0-10, indoors and outdoors 0-30), total 0-100",
            Evidence.VERIFIED,
            SCORING_SOURCES,
        ),
        Part(
            "meaning of the levels of the mobility items 12-14",
            Evidence.VERIFIED,
            "project reference instruments.md (SCIM III, [V])",
        ),
        Part(
            "option wording of the other 16 items",
            Evidence.UNVERIFIED,
            "labelled stand-in written for this project",
            "says only where an option sits on the item's scale; the published wording stays "
            "out until a licence for it is recorded",
        ),
        Part(
            "walks indoors = item 12 at 4 or more",
            Evidence.VERIFIED,
            "project reference instruments.md (SCIM III, [V])",
        ),
        Part(
            "walks indoors as the outcome of the van Middendorp walking rule",
            Evidence.UNVERIFIED,
            "project reference instruments.md (tagged [R])",
        ),
        Part(
            "change thresholds of the total: small >= 4, substantial >= 10",
            Evidence.VERIFIED,
            "Scivoletto 2013 (natural-history.md section 5, [V])",
        ),
        Part(
            "anchor-based MCID of the total: 12 to 45 by population",
            Evidence.VERIFIED,
            "Corallo 2017 (natural-history.md section 5, [V])",
        ),
    ),
)
