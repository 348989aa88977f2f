"""Results of many exams as text columns: each result field as (index per exam, strings).

A result is usually one value without a star, rendered by its row index alone; only exams whose
result lists several values or stars (NT cells, flags) are keyed by their whole set of values
and rendered once per distinct set, like ``Candidates.render``. Both come from one compiled
pass over the packed result (``coded_sets``).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from ..classification import NAMES
from ..sides import Result
from ..totals import ND_CODE

#: A result column as (index per exam, the strings the indices point to).
Coded = tuple[np.ndarray, tuple[str, ...]]

NUMBER_NAMES: tuple[str, ...] = (*(str(i) for i in range(225)), "ND")  # totals are 0..224
_ND = len(NUMBER_NAMES) - 1


def render_totals(values: list[np.ndarray], out: np.ndarray) -> tuple[str, ...]:
    """Totals per exam (one array per field; ``totals.ND_CODE`` where not determined) as
    indices into ``NUMBER_NAMES``, into the rows of ``out`` (int32, the dictionary index type
    of the result table); returns ``NUMBER_NAMES``."""
    for row, total in zip(out, values, strict=True):
        np.copyto(row, total)
    out[out == ND_CODE] = _ND
    return NUMBER_NAMES


def render(key: str, result: Result, n: int, out: np.ndarray | None = None) -> Coded:
    """One result field (``classification.VALUES`` rows, packed) of ``n`` exams (the index
    into ``out``, int32, when given)."""
    names = NAMES[key]
    assert result.present.shape[0] <= 32  # a set is keyed by one 64-bit word
    index = np.empty(n, np.int32) if out is None else out
    assert index.dtype == np.int32 and index.shape == (n,)
    keys = _coded_sets()(result.present, result.starred, n, len(names), index)
    if not len(keys):
        return index, names
    rendered = _JOINED.get(names) or _JOINED.setdefault(names, _Rendered(names))
    return index, names + tuple(rendered.strings(keys))


@cache
def _coded_sets():
    """The compiled kernel, imported on first use (like ``validate._cell_codes``)."""
    from .coded_sets import coded_sets

    return coded_sets


class _Rendered:
    """The sets of one field's values rendered so far, by key (sorted: a chunk's sets are
    looked up at once, and only new ones are rendered; the same sets recur from chunk to
    chunk). Chunks may be rendered in several threads (``batch.dask``): the keys and their
    texts are replaced together, as one tuple, never changed in place."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.known: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.uint64), np.zeros(0, object))

    def strings(self, keys: np.ndarray) -> np.ndarray:
        """The text of each set of ``keys`` (sorted, distinct; ``coded_sets``), as ``_joined``
        writes it."""
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


def _joined(key: int, names: tuple[str, ...]) -> str:
    """The set ``key`` (``coded_sets``) as ``Candidates.render`` writes it: the values in
    order, comma-separated, each with its star."""
    parts = []
    for i, name in enumerate(names):
        if key >> i & 1:
            parts.append(name + "*" if key >> (32 + i) & 1 else name)
    return ",".join(parts)
