"""Results of many exams as text columns: each result field as (index per exam, strings).

A result is usually one value without a star, rendered by its row index alone; only exams whose
result lists several values or stars (NT cells, flags) are keyed by their whole set of values
and rendered once per distinct set, like ``Candidates.render``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..answers import unpack
from ..classification import NAMES
from ..sides import Result
from ..totals import ND_CODE

#: A result column as (index per exam, the strings the indices point to).
Coded = tuple[np.ndarray, tuple[str, ...]]

NUMBER_NAMES: tuple[str, ...] = (*(str(i) for i in range(225)), "ND")  # totals are 0..224
_ND = len(NUMBER_NAMES) - 1


def render_total(values: np.ndarray) -> Coded:
    return np.where(values == ND_CODE, _ND, values).astype(np.int16), NUMBER_NAMES


def render(key: str, result: Result, n: int) -> Coded:
    """One result field (``classification.VALUES`` rows, packed) of ``n`` exams."""
    present, starred = result.present, result.starred
    names = NAMES[key]
    rows = present.shape[0]
    seen = np.zeros_like(present[0])
    several = np.zeros_like(present[0])
    for row in range(rows):
        several |= present[row] & seen
        seen |= present[row]
    special = unpack(several | ~seen | np.bitwise_or.reduce(starred, axis=0), n)
    # The index of a single value, bit by bit: bit k is set where a row with bit k is present.
    index = np.zeros(n, dtype=np.uint8)
    for bit in range(max(rows - 1, 1).bit_length()):
        with_bit = [row for row in range(rows) if row >> bit & 1]
        if with_bit:
            plane = unpack(np.bitwise_or.reduce(present[with_bit], axis=0), n)
            index |= plane.view(np.uint8) << np.uint8(bit)
    columns = np.flatnonzero(special)
    if not len(columns):
        return index, names
    # Exams with several values, stars or none: one key per set, two bits per value.
    flags = (unpack(present, n)[:, columns], unpack(starred, n)[:, columns])
    keys = np.zeros(len(columns), dtype=np.uint64)
    for row in range(rows):
        keys |= flags[0][row].astype(np.uint64) << np.uint64(2 * row)
        keys |= flags[1][row].astype(np.uint64) << np.uint64(2 * row + 1)
    distinct, which = np.unique(keys, return_inverse=True)
    strings = tuple(_joined(int(k), names) for k in distinct.tolist())
    out = index.astype(np.int32)
    out[columns] = len(names) + which
    return out, names + strings


@lru_cache(maxsize=65_536)  # the same few hundred sets recur from chunk to chunk
def _joined(key: int, names: tuple[str, ...]) -> str:
    return ",".join(
        name + ("*" if key >> (2 * i + 1) & 1 else "")
        for i, name in enumerate(names)
        if key >> (2 * i) & 1
    )
