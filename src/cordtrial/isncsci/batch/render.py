"""Results of many exams as text columns: each result field as (index per exam, strings).

A result is usually one value without a star, rendered by its row index alone; only exams whose
result lists several values or stars (NT cells, flags) are keyed by their whole set of values
and rendered once per distinct set, like ``Candidates.render``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..classification import NAMES
from ..sides import Result
from ..totals import ND_CODE

#: A result column as (index per exam, the strings the indices point to).
Coded = tuple[np.ndarray, tuple[str, ...]]

NUMBER_NAMES: tuple[str, ...] = (*(str(i) for i in range(225)), "ND")  # totals are 0..224
_ND = len(NUMBER_NAMES) - 1


def render_total(values: np.ndarray) -> Coded:
    return np.where(values == ND_CODE, _ND, values).astype(np.int16), NUMBER_NAMES


def render(key: str, result: Result) -> Coded:
    """One result field (``classification.VALUES`` rows) of every exam."""
    present, starred = result.present, result.starred
    names = NAMES[key]
    n = present.shape[1]
    index = np.zeros(n, dtype=np.uint8)
    seen = np.zeros(n, dtype=bool)
    several = np.zeros(n, dtype=bool)
    for row in range(present.shape[0]):
        here = present[row]
        several |= here & seen
        seen |= here
        index += here.view(np.uint8) * np.uint8(row)
    special = np.flatnonzero(several | ~seen | starred.any(axis=0))
    if not len(special):
        return index, names
    # Exams with several values or stars: one key per set, two bits per value.
    keys = np.zeros(len(special), dtype=np.uint64)
    for row in range(present.shape[0]):
        keys |= present[row, special].astype(np.uint64) << np.uint64(2 * row)
        keys |= starred[row, special].astype(np.uint64) << np.uint64(2 * row + 1)
    distinct, which = np.unique(keys, return_inverse=True)
    strings = tuple(_joined(int(k), names) for k in distinct.tolist())
    out = index.astype(np.int32)
    out[special] = len(names) + which
    return out, names + strings


@lru_cache(maxsize=65_536)  # the same few hundred sets recur from chunk to chunk
def _joined(key: int, names: tuple[str, ...]) -> str:
    return ",".join(
        name + ("*" if key >> (2 * i + 1) & 1 else "")
        for i, name in enumerate(names)
        if key >> (2 * i) & 1
    )
