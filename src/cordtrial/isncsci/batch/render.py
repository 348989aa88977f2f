"""Results of many exams as text columns: each result field as (index per exam, strings).

A result is usually one value without a star, rendered by its row index alone; only exams whose
result lists several values or stars (NT cells, flags) are keyed by their whole set of values
and rendered once per distinct set, like ``Candidates.render``.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from ..answers import columns_of, prefix_or, row_words, unpack
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
    # Exams with several values, stars or none: one key per set, and each set rendered once.
    keys = set_keys(present, starred, columns)
    which, distinct = pd.factorize(keys, sort=True)  # hashed: costs less than np.unique
    rendered = _JOINED.get(names) or _JOINED.setdefault(names, _Rendered(names))
    strings = rendered.strings(distinct)
    out = index.astype(np.int32)
    out[columns] = len(names) + which
    return out, names + tuple(strings)


#: Per row count: for each bit of a row index, the rows whose index has that bit.
_BIT_ROWS = {
    rows: [np.asarray([r for r in range(rows) if r >> bit & 1])
           for bit in range(max(rows - 1, 1).bit_length())]
    for rows in range(2, 33)
}  # fmt: skip


class _Rendered:
    """The sets of one field's values rendered so far, by key (sorted: a chunk's sets are
    looked up at once, and only new ones are rendered; the same sets recur from chunk to
    chunk). Chunks may be rendered in several threads (``batch.dask``): the keys and their
    texts are replaced together, as one tuple, never changed in place."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.known: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.uint64), np.zeros(0, object))

    def strings(self, keys: np.ndarray) -> np.ndarray:
        """The text of each set of ``keys`` (sorted, distinct), as ``_joined`` writes it."""
        known_keys, known_texts = self.known
        at = np.searchsorted(known_keys, keys)
        found = at < len(known_keys)
        found[found] = known_keys[at[found]] == keys[found]
        if found.all():
            return known_texts[at]
        if len(known_keys) + np.count_nonzero(~found) > _MAX_JOINED:
            known_keys, known_texts = known_keys[:0], known_texts[:0]  # start over with these
            found[:] = False
        new = keys[~found]
        texts = np.asarray([_joined(k, self.names) for k in new.tolist()], dtype=object)
        merged = np.concatenate([known_keys, new])
        order = np.argsort(merged)
        known_keys, known_texts = merged[order], np.concatenate([known_texts, texts])[order]
        self.known = (known_keys, known_texts)
        return known_texts[np.searchsorted(known_keys, keys)]


#: Rendered sets per field (by its names).
_JOINED: dict[tuple[str, ...], _Rendered] = {}
_MAX_JOINED = 65_536


def set_keys(present: np.ndarray, starred: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The set of values of each exam of ``columns`` (packed rows, at most 32) as one word:
    bit i where value i is present, bit 32 + i where it is starred. Many exams: one compiled
    scan of every packed row (``set_words``); few: their bits alone."""
    assert present.shape[0] <= 32
    if len(columns) > present.shape[-1] // 2:  # more than one exam in 16
        return _set_words()(present, starred)[columns]
    return row_words(columns_of(present, columns)) | (
        row_words(columns_of(starred, columns)) << np.uint64(32)
    )


@cache
def _set_words():
    """The compiled kernel, imported on first use (like ``validate._cell_codes``)."""
    from .set_words import set_words

    return set_words


def _joined(key: int, names: tuple[str, ...]) -> str:
    """The set ``key`` (``set_words``) as ``Candidates.render`` writes it: the values in
    order, comma-separated, each with its star."""
    parts = []
    for i, name in enumerate(names):
        if key >> i & 1:
            parts.append(name + "*" if key >> (32 + i) & 1 else name)
    return ",".join(parts)
