"""Results of many exams as text columns: each result field as (index per exam, strings).

A result is usually one value without a star, rendered by its row index alone; only exams whose
result lists several values or stars (NT cells, flags) are keyed by their whole set of values
and rendered once per distinct set, like ``Candidates.render``.
"""

from __future__ import annotations

import numpy as np

from ..answers import prefix_or, unpack
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
    # Per exam: was a value seen in an earlier row (running OR), so "several" is a present row
    # after a seen one; "special" exams list several values, a star or none.
    seen = prefix_or(present)
    several = np.bitwise_or.reduce(present[1:] & seen[:-1], axis=0)
    special = several | ~seen[-1] | np.bitwise_or.reduce(starred, axis=0)
    # The index of a single value, bit by bit: bit k is set where a row with bit k is present.
    planes = unpack(
        np.stack([np.bitwise_or.reduce(present[r], axis=0) for r in _BIT_ROWS[rows]]), n
    )
    index = planes[0].view(np.uint8).copy()
    for bit in range(1, len(planes)):
        index |= planes[bit].view(np.uint8) << np.uint8(bit)
    columns = np.flatnonzero(unpack(special, n))
    if not len(columns):
        return index, names
    # Exams with several values, stars or none: one key per set, two bits per value (present,
    # starred), packed into a 64-bit integer per exam.
    bits = np.zeros((len(columns), 64), dtype=bool)
    bits[:, 0 : 2 * rows : 2] = unpack(present, n)[:, columns].T
    bits[:, 1 : 2 * rows : 2] = unpack(starred, n)[:, columns].T
    keys = np.packbits(bits, axis=-1, bitorder="little").view("<u8")[:, 0]
    distinct, which = np.unique(keys, return_inverse=True)
    known = _JOINED.setdefault(names, {})
    if len(known) > _MAX_JOINED:
        known.clear()
    strings = tuple(
        [
            known[k] if k in known else known.setdefault(k, _joined(k, names))
            for k in distinct.tolist()
        ]
    )
    out = index.astype(np.int32)
    out[columns] = len(names) + which
    return out, names + strings


#: Per row count: for each bit of a row index, the rows whose index has that bit.
_BIT_ROWS = {
    rows: [np.asarray([r for r in range(rows) if r >> bit & 1])
           for bit in range(max(rows - 1, 1).bit_length())]
    for rows in range(2, 33)
}  # fmt: skip


#: Rendered sets per field's names (a dict keyed by the set alone: hashing the names for
#: every lookup would cost more than the lookup); the same sets recur from chunk to chunk.
_JOINED: dict[tuple[str, ...], dict[int, str]] = {}
_MAX_JOINED = 65_536


def _joined(key: int, names: tuple[str, ...]) -> str:
    """The set ``key`` (bit 2i: value i present, bit 2i + 1: starred) as ``Candidates.render``
    writes it: the values in order, comma-separated, each with its star."""
    parts = []
    for name in names:
        if not key:
            break
        if key & 1:
            parts.append(name + "*" if key & 2 else name)
        key >>= 2
    return ",".join(parts)
