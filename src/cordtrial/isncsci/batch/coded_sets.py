"""One compiled pass over a packed result field: each exam's index into the field's strings.

A result field is packed rows, one per value (``classification.VALUES``), 8 exams a byte.
Most exams have one value without a star: their index is that value's row. The others
(several values, a star, or none) are keyed by their whole set of values, and exams with the
same set share one index after the field's own names. numpy needed a dozen passes over the
packed rows for this plus a hash factorisation; this loop reads each byte of the packed rows
once (numba, compiled on first use and cached beside this module).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Per byte, the position of its lowest set bit.
_LOWEST_BIT = np.asarray([0] + [(v & -v).bit_length() - 1 for v in range(1, 256)], np.uint8)
#: Per byte, its 8 bits spread over the 8 bytes of a word (byte j holds bit j).
_SPREAD = np.asarray(
    [sum(((v >> j) & 1) << (8 * j) for j in range(8)) for v in range(256)], np.uint64
)


@njit(cache=True, nogil=True, boundscheck=False)
def coded_sets(present, starred, n, first, index):  # pragma: no cover - compiled
    """Into ``index`` (int32, ``n``), per exam of a packed result (at most 32 rows): an exam
    with exactly one present, unstarred row gets that row; any other gets ``first + k`` for
    its set's place ``k`` among the returned keys, sorted and distinct. A set's key has bit i
    where row i is present and bit 32 + i where it is starred."""
    rows, width = present.shape
    special = np.empty(8 * width, np.int64)  # exams keyed by set, in order
    words = np.empty(8 * width, np.uint64)  # their keys
    m = 0
    for b in range(width):
        # Per byte (8 exams): the rows seen so far, a row after a seen one, any star; and each
        # exam's row number, summed byte-wise (right for an exam with one row).
        seen = np.uint8(0)
        several = np.uint8(0)
        star = np.uint8(0)
        row_sum = np.uint64(0)
        for i in range(rows):
            p = present[i, b]
            several = np.uint8(several | (seen & p))
            seen = np.uint8(seen | p)
            star = np.uint8(star | starred[i, b])
            row_sum |= _SPREAD[p] * np.uint64(i)
        for j in range(min(8, n - 8 * b)):
            index[8 * b + j] = np.int32((row_sum >> np.uint64(8 * j)) & np.uint64(255))
        odd = np.uint8((several | (seen ^ np.uint8(255)) | star) & 255)
        while odd:
            j = _LOWEST_BIT[odd]
            odd = np.uint8(odd & (odd - np.uint8(1)))
            e = 8 * b + j
            if e >= n:  # the padding bits of the last byte
                break
            key = np.uint64(0)
            for i in range(rows):
                if (present[i, b] >> j) & 1:
                    key |= np.uint64(1) << np.uint64(i)
                    if (starred[i, b] >> j) & 1:
                        key |= np.uint64(1) << np.uint64(32 + i)
            words[m] = key
            special[m] = e
            m += 1
    if m == 0:
        return np.zeros(0, np.uint64)
    which, distinct = _factorize(words[:m])
    order = np.argsort(distinct)
    rank = np.empty(len(distinct), np.int32)
    for r in range(len(distinct)):
        rank[order[r]] = r
    for k in range(m):
        index[special[k]] = first + rank[which[k]]
    return distinct[order]


@njit(cache=True, nogil=True, boundscheck=False)
def _factorize(words):  # pragma: no cover - compiled
    """(number of each word's distinct value, the distinct values in order of first sight),
    by an open-addressing hash table of at least twice as many slots as words."""
    m = len(words)
    bits = 4
    while (1 << bits) < 2 * m:
        bits += 1
    size = 1 << bits
    slots = np.full(size, -1, np.int64)
    distinct = np.empty(m, np.uint64)
    which = np.empty(m, np.int64)
    d = 0
    for k in range(m):
        word = words[k]
        # Fibonacci hashing: the top bits of the word times 2^64 / golden ratio.
        at = np.int64((word * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - bits))
        while True:
            slot = slots[at]
            if slot < 0:  # a new value
                slots[at] = d
                distinct[d] = word
                which[k] = d
                d += 1
                break
            if distinct[slot] == word:
                which[k] = slot
                break
            at = (at + 1) & (size - 1)
    return which, distinct[:d]
