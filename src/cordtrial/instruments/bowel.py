"""Neurogenic Bowel Dysfunction (NBD) score, Krogh et al. 2006, Spinal Cord 44:625.

From ../shared/reference/instruments.md: 10 weighted items, total 0-47 [V]; severity bands 0-6 very
minor, 7-9 minor, 10-13 moderate, >= 14 severe [V]; item maxima 6, 7, 2, 2, 2, 6, 13, 4, 2, 3 [V].
The points of each response are tagged [R], so every item is marked unverified. Records store the
response (e.g. "daily"), not the points, so a correction of the points rescoring old records needs
no data migration.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from .definition import DerivedField, Instrument, Item, Option, ScoreDefinition, ScoreKind

SOURCE = (
    "Krogh K, Christensen P, Sabroe S, Laurberg S. Neurogenic bowel dysfunction score. "
    "Spinal Cord 2006;44:625-631 (project reference instruments.md; total, maxima and bands "
    "[V], response points [R])."
)

# Item maxima [V]; checked against the [R] response points by the tests and at import below.
ITEM_MAXIMA = (6, 7, 2, 2, 2, 6, 13, 4, 2, 3)

_R_NOTE = "response points tagged [R] in the reference; the item maximum is [V]"


def _item(item_id: str, number: str, label: str, responses: tuple[tuple[str, str, int], ...]):
    return Item(
        item_id,
        number,
        label,
        options=tuple(
            Option(v, f"{text} ({pts} points)", points=pts) for v, text, pts in responses
        ),
        verified=False,
        note=_R_NOTE,
    )


_NO_YES = lambda yes_points: (("no", "no", 0), ("yes", "yes", yes_points))  # noqa: E731

ITEMS = (
    _item(
        "defecation_frequency",
        "1",
        "Frequency of defecation",
        (
            ("daily", "daily", 0),
            ("2_to_6_per_week", "2-6 times a week", 1),
            ("less_than_weekly", "less than once a week", 6),
        ),
    ),
    _item(
        "time_per_defecation",
        "2",
        "Time per defecation",
        (
            ("under_30_min", "less than 30 minutes", 0),
            ("31_to_60_min", "31-60 minutes", 3),
            ("over_60_min", "more than 60 minutes", 7),
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
            ("less_than_weekly", "less than once a week", 0),
            ("weekly_or_more", "once a week or more", 6),
        ),
    ),
    _item(
        "faecal_incontinence_frequency",
        "7",
        "Frequency of faecal incontinence",
        (
            ("daily", "daily", 13),
            ("1_to_6_per_week", "1-6 times a week", 7),
            ("1_to_4_per_month", "1-4 times a month", 6),
            ("less_than_monthly", "less than once a month", 0),
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
        ),
    ),
    derive=_derive,
    notes=(
        "Response points are tagged [R] in the reference: all items are shown as unverified "
        "until checked against Krogh 2006.",
        "The reference gives no change threshold for the NBD score; changes are reported in "
        "points only.",
    ),
)
