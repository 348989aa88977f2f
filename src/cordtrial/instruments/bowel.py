"""Neurogenic Bowel Dysfunction (NBD) score, Krogh et al. 2006, Spinal Cord 44:625.

Checked (NINDS Common Data Elements NBD score page; Erdem et al. 2017): the 10 item names, item
maxima 6, 7, 2, 2, 2, 6, 13, 4, 2, 3, total 0-47 and the severity bands 0-6 very minor, 7-9
minor, 10-13 moderate, >= 14 severe. The points of the no/yes items and of the lowest and highest
answers follow from those maxima (and the total's minimum 0). Not found in any source and so
marked unverified: the points of the middle answers of items 1, 2 and 7 and the answer
categories of item 6; the primary source to check them against is Krogh et al. 2006.
Records store the response (e.g. "daily"), not the points, so a correction of the points
rescoring old records needs no data migration (but does need a new definition version).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from .definition import (
    DerivedField,
    Evidence,
    Instrument,
    Item,
    Option,
    Part,
    ScoreDefinition,
    ScoreKind,
)

PRIMARY = (
    "Krogh K, Christensen P, Sabroe S, Laurberg S. Neurogenic bowel dysfunction score. "
    "Spinal Cord 2006;44:625-631"
)
CHECKED = "NINDS Common Data Elements, NBD score page; Erdem et al. 2017 (Spinal Cord)"

SOURCE = (
    f"{PRIMARY}. Item names, maxima, total 0-47 and severity bands checked against: {CHECKED}. "
    "Points of the middle answers of items 1, 2 and 7 and the answer categories of item 6 are "
    "unverified until checked against Krogh 2006."
)

# Item maxima [V]; checked against the response points by the tests and at import below.
ITEM_MAXIMA = (6, 7, 2, 2, 2, 6, 13, 4, 2, 3)

_MIDDLE = "points of this middle answer not found in any source; to check against Krogh 2006"
_ITEM6 = "answer categories not found in any source; to check against Krogh 2006"


def _item(
    item_id: str,
    number: str,
    label: str,
    responses: tuple[tuple[str, str, int, bool], ...],
    note: str = "",
) -> Item:
    """responses: (stored value, wording, points, checked)."""
    return Item(
        item_id,
        number,
        label,
        options=tuple(
            Option(v, text, points=pts, verified=ok, note="" if ok else note or _MIDDLE)
            for v, text, pts, ok in responses
        ),
        note=note,
    )


_NO_YES = lambda yes_points: (("no", "no", 0, True), ("yes", "yes", yes_points, True))  # noqa: E731

ITEMS = (
    _item(
        "defecation_frequency",
        "1",
        "Frequency of defecation",
        (
            ("daily", "daily", 0, True),
            ("2_to_6_per_week", "2-6 times a week", 1, False),
            ("less_than_weekly", "less than once a week", 6, True),
        ),
    ),
    _item(
        "time_per_defecation",
        "2",
        "Time per defecation",
        (
            ("under_30_min", "less than 30 minutes", 0, True),
            ("31_to_60_min", "31-60 minutes", 3, False),
            ("over_60_min", "more than 60 minutes", 7, True),
        ),
    ),
    _item(
        "autonomic_symptoms",
        "3",
        "Uneasiness, headache or sweating during defecation",
        _NO_YES(2),
    ),
    _item("constipation_tablets", "4", "Regular tablets against constipation", _NO_YES(2)),
    _item("constipation_drops", "5", "Regular drops against constipation", _NO_YES(2)),
    _item(
        "digital_stimulation",
        "6",
        "Digital stimulation or evacuation",
        (
            ("less_than_weekly", "less than once a week", 0, False),
            ("weekly_or_more", "once a week or more", 6, False),
        ),
        note=_ITEM6,
    ),
    _item(
        "faecal_incontinence_frequency",
        "7",
        "Frequency of faecal incontinence",
        (
            ("daily", "daily", 13, True),
            ("1_to_6_per_week", "1-6 times a week", 7, False),
            ("1_to_4_per_month", "1-4 times a month", 6, False),
            ("less_than_monthly", "less than once a month", 0, True),
        ),
    ),
    _item(
        "incontinence_medication",
        "8",
        "Medication against faecal incontinence",
        _NO_YES(4),
    ),
    _item("flatus_incontinence", "9", "Flatus incontinence", _NO_YES(2)),
    _item("perianal_skin_problems", "10", "Perianal skin problems", _NO_YES(3)),
)

if tuple(i.point_range[1] for i in ITEMS) != ITEM_MAXIMA:  # type: ignore[index]
    raise ValueError("NBD response points disagree with the verified item maxima")


class NbdSeverity(StrEnum):
    VERY_MINOR = "very_minor"
    MINOR = "minor"
    MODERATE = "moderate"
    SEVERE = "severe"


# Lower bound of each band [V]: 0-6 very minor, 7-9 minor, 10-13 moderate, >= 14 severe.
SEVERITY_BANDS: tuple[tuple[int, NbdSeverity], ...] = (
    (14, NbdSeverity.SEVERE),
    (10, NbdSeverity.MODERATE),
    (7, NbdSeverity.MINOR),
    (0, NbdSeverity.VERY_MINOR),
)


def severity(total: int) -> NbdSeverity:
    """Severity band of a complete NBD total (0-47)."""
    if isinstance(total, bool) or not isinstance(total, int) or not 0 <= total <= 47:
        raise ValueError(f"NBD total must be a whole number from 0 to 47, got {total!r}")
    return next(band for lower, band in SEVERITY_BANDS if total >= lower)


def _derive(record: Mapping[str, Any], scores: Mapping[str, int | None]) -> dict[str, Any]:
    total = scores["total"]
    return {"severity": None if total is None else severity(total).value}


NBD = Instrument(
    id="nbd",
    name="Neurogenic Bowel Dysfunction score",
    short_name="NBD",
    description="10 weighted items, total 0-47; lower is better. Severity band from the total.",
    source=SOURCE,
    items=ITEMS,
    scores=(
        ScoreDefinition(
            "total",
            "NBD total",
            tuple(i.id for i in ITEMS),
            0,
            47,
            kind=ScoreKind.TOTAL,
            higher_is_better=False,
        ),
    ),
    derived_fields=(
        DerivedField(
            "severity",
            "Severity band",
            "0-6 very minor, 7-9 minor, 10-13 moderate, 14 or more severe (Krogh 2006).",
            "very_minor, minor, moderate, severe, or null when the total is incomplete",
            value_labels=(
                ("very_minor", "very minor (0-6)"),
                ("minor", "minor (7-9)"),
                ("moderate", "moderate (10-13)"),
                ("severe", "severe (14 or more)"),
            ),
        ),
    ),
    derive=_derive,
    notes=(
        "The points of the middle answers of items 1, 2 and 7 and the answer categories of "
        "item 6 are shown as unverified until checked against Krogh 2006.",
        "The reference gives no change threshold for the NBD score; changes are reported in "
        "points only.",
    ),
    parts=(
        Part(
            "10 item names and item maxima 6, 7, 2, 2, 2, 6, 13, 4, 2, 3",
            Evidence.VERIFIED,
            CHECKED,
        ),
        Part("total 0-47, lower is better", Evidence.VERIFIED, CHECKED),
        Part(
            "severity bands: 0-6 very minor, 7-9 minor, 10-13 moderate, 14 or more severe",
            Evidence.VERIFIED,
            CHECKED,
        ),
        Part(
            "points of the no/yes items (3, 4, 5, 8, 9, 10) and of the lowest and highest "
            "answers of items 1, 2 and 7",
            Evidence.VERIFIED,
            CHECKED,
            "they follow from the checked item maxima and the total's minimum 0",
        ),
        Part(
            "points of the middle answers of items 1, 2 and 7",
            Evidence.UNVERIFIED,
            PRIMARY,
            "not found in any source checked; Krogh 2006 is the primary source to check",
        ),
        Part(
            "answer categories of item 6 (less than once a week / once a week or more)",
            Evidence.UNVERIFIED,
            PRIMARY,
            "not found in any source checked; Krogh 2006 is the primary source to check",
        ),
    ),
)
