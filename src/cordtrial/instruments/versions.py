"""Definition versions: every definition a stored record may have been entered under, and the
corrections that changed what some stored values mean.

A record keeps the version tag of the definition it was entered under ("wisci2@1"). Old
definitions stay here so such a record is shown with the wording the assessor saw, and a
``Correction`` names the stored values whose meaning changed, so they can be found and reviewed
rather than silently read under the new definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .bladder import LUTF
from .bowel import NBD
from .definition import Instrument
from .scim import SCIM3
from .wisci import SWAPPED_IN_V1, WISCI2, WISCI2_V1

CURRENT: dict[str, Instrument] = {i.id: i for i in (SCIM3, WISCI2, NBD, LUTF)}

# Every definition ever released, current and superseded, by version tag.
DEFINITIONS: dict[str, Instrument] = {
    i.version_tag: i for i in (SCIM3, WISCI2_V1, WISCI2, NBD, LUTF)
}


@dataclass(frozen=True, slots=True)
class Correction:
    """A fix of a definition after which some stored values mean something else."""

    id: str
    instrument: str
    affected_versions: tuple[str, ...]  # version tags whose records may be affected
    fixed_in: str  # version tag of the corrected definition
    items: tuple[str, ...]
    values: tuple[int | str, ...]  # stored values whose wording changed
    summary: str
    action: str  # what the reviewer does about an affected record

    def affects(self, version_tag: str | None) -> bool:
        return version_tag in self.affected_versions


WISCI_18_19 = Correction(
    id="wisci2-levels-18-19",
    instrument="wisci2",
    affected_versions=(WISCI2_V1.version_tag,),
    fixed_in=WISCI2.version_tag,
    items=("self_selected", "maximum"),
    values=SWAPPED_IN_V1,
    summary=(
        "WISCI II levels 18 and 19 carried each other's wording in definition wisci2@1. Only "
        "the level number is stored, so a level 18 or 19 entered under wisci2@1 may mean "
        "either level."
    ),
    action=(
        "Check the source document: 18 is no devices, with braces, no assistance; 19 is one "
        "cane or crutch, no braces, no assistance (published order). Re-enter the level under "
        "the current definition with the reason."
    ),
)

CORRECTIONS: tuple[Correction, ...] = (WISCI_18_19,)


def definition_for(version_tag: str | None) -> Instrument | None:
    """The definition a record was entered under, or None for a tag this release does not know."""
    return DEFINITIONS.get(version_tag or "")


def current_tag(instrument_id: str) -> str:
    return CURRENT[instrument_id].version_tag


def affected_tags() -> tuple[str, ...]:
    """Version tags with at least one correction (records under them may need review)."""
    return tuple(sorted({t for c in CORRECTIONS for t in c.affected_versions}))


@dataclass(frozen=True, slots=True)
class ReviewFlag:
    """One item of one stored record whose meaning a correction changed."""

    correction: Correction
    item_id: str
    item_label: str
    value: int | str
    meaning_entered: str  # the option's wording under the record's own definition
    meaning_now: str  # the same value's wording under the current definition

    def describe(self) -> str:
        return (
            f"{self.item_label}: {self.value} (entered as {self.meaning_entered!r}; "
            f"now {self.meaning_now!r})"
        )


def review_flags(version_tag: str | None, record: Mapping[str, Any]) -> tuple[ReviewFlag, ...]:
    """The items of a record, entered under ``version_tag``, that a correction affects."""
    entered = definition_for(version_tag)
    flags = []
    for c in CORRECTIONS:
        if entered is None or not c.affects(version_tag):
            continue
        now = CURRENT[c.instrument]
        for item_id in c.items:
            value = record.get(item_id)
            if value is None or value not in c.values or isinstance(value, bool):
                continue
            flags.append(
                ReviewFlag(
                    c,
                    item_id,
                    entered.item(item_id).label.split(":")[0],
                    value,
                    entered.item(item_id).option(value).meaning,
                    now.item(item_id).option(value).meaning,
                )
            )
    return tuple(flags)


def review_text(version_tag: str | None, record: Mapping[str, Any]) -> str:
    """One line for exports: "wisci2-levels-18-19: maximum=19; self_selected=18" or ""."""
    flags = review_flags(version_tag, record)
    if not flags:
        return ""
    by_correction: dict[str, list[str]] = {}
    for f in flags:
        by_correction.setdefault(f.correction.id, []).append(f"{f.item_id}={f.value}")
    return "; ".join(f"{cid}: {', '.join(items)}" for cid, items in by_correction.items())
