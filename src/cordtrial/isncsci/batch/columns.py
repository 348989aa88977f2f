"""Column layout of an exam table in the flat RHI naming (../shared/isncsci/README.md).

A batch is a table with one exam per row and one column per RHI field; validation encodes it
into the engine's code matrix (``cordtrial.isncsci.codes``), one column per exam.
"""

from __future__ import annotations

from ..codes import CELL_ORDER, DAP_ROW, KEY_LEVELS, SIDE_OFFSET, VAC_ROW, side_blocks
from ..exam import CELL_KEYS, DAP_KEY, METADATA_KEYS, VAC_KEY, motor_key, non_key_key, sensory_key
from ..levels import INT, KEY_MUSCLES, LEVELS, SENSORY_LEVELS, SIDES

#: Non-key muscle columns (optional; empty means none recorded).
NON_KEY_COLUMNS: tuple[str, ...] = tuple(non_key_key(side) for side in SIDES)

#: Every input column the engine reads, in the order ``Exam.from_rhi`` reports errors.
INPUT_COLUMNS: tuple[str, ...] = tuple(
    key
    for side in SIDES
    for key in (
        *(
            sensory_key(level, side, modality)
            for level in SENSORY_LEVELS
            for modality in ("Touch", "Prick")
        ),
        *(motor_key(level, side) for level in KEY_MUSCLES),
        non_key_key(side),
    )
) + (VAC_KEY, DAP_KEY)

#: Columns the engine ignores (carried, like ``id``, or dropped).
METADATA_COLUMNS = METADATA_KEYS

# Per side: the 28 dermatome columns (C2..S4-5) for each modality and the 10 key muscles, in
# rostral-to-caudal order. Dermatome column j is level index j + 1.
TOUCH = {side: tuple(sensory_key(lv, side, "Touch") for lv in SENSORY_LEVELS) for side in SIDES}
PRICK = {side: tuple(sensory_key(lv, side, "Prick") for lv in SENSORY_LEVELS) for side in SIDES}
MOTOR = {side: tuple(motor_key(lv, side) for lv in KEY_MUSCLES) for side in SIDES}

# The code matrix's layout is the engine's (``cordtrial.isncsci.codes``).
#: Display names by level index, INT past S4-5 (as ``levels.level_name``).
LEVEL_NAMES: tuple[str, ...] = (*LEVELS, "INT")
assert len(LEVEL_NAMES) == INT + 1

__all__ = [
    "CELL_KEYS",
    "CELL_ORDER",
    "DAP_KEY",
    "DAP_ROW",
    "INPUT_COLUMNS",
    "KEY_LEVELS",
    "LEVEL_NAMES",
    "METADATA_COLUMNS",
    "MOTOR",
    "NON_KEY_COLUMNS",
    "PRICK",
    "SIDE_OFFSET",
    "side_blocks",
    "TOUCH",
    "VAC_KEY",
    "VAC_ROW",
]
