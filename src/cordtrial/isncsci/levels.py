"""Segment levels of the ISNCSCI worksheet.

The standard (ISNCSCI, revised 2019, American Spinal Injury Association) examines 28 dermatomes
(C2 to S4-5) for light touch and pin prick and 10 key muscles (C5-T1, L2-S1) per side. Levels are
handled as indices into ``LEVELS`` so that "more caudal" is simply "larger index".
"""

from __future__ import annotations

LEVELS: tuple[str, ...] = (
    "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8",
    "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12",
    "L1", "L2", "L3", "L4", "L5",
    "S1", "S2", "S3", "S4_5",
)  # fmt: skip

#: Pseudo-level past S4-5: "intact" (every segment normal).
INT = len(LEVELS)

SENSORY_LEVELS: tuple[str, ...] = LEVELS[1:]
KEY_MUSCLES: tuple[str, ...] = ("C5", "C6", "C7", "C8", "T1", "L2", "L3", "L4", "L5", "S1")
UPPER_KEY_MUSCLES = KEY_MUSCLES[:5]
LOWER_KEY_MUSCLES = KEY_MUSCLES[5:]
SIDES: tuple[str, ...] = ("right", "left")

INDEX: dict[str, int] = {name: i for i, name in enumerate(LEVELS)}
KEY_INDICES: frozenset[int] = frozenset(INDEX[m] for m in KEY_MUSCLES)


def level_name(index: int) -> str:
    """Display name of a level index as the reference results write it (``INT`` past S4-5)."""
    return "INT" if index >= INT else LEVELS[index]


def parse_level(text: str) -> int:
    """Index of a level name, accepting ``S4-5``/``S45`` spellings and any case."""
    key = text.strip().upper().replace("-", "_")
    if key == "S45":
        key = "S4_5"
    if key not in INDEX:
        raise ValueError(text)
    return INDEX[key]


def is_key_muscle(index: int) -> bool:
    return index in KEY_INDICES
