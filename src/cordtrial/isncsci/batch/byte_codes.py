"""One compiled pass over a text column's Arrow buffers: the code of each cell value.

A table of exams has 134 cell columns of mostly one-byte grades; numpy needs several passes
over each column's offsets (lengths, "which are longer", gathers), and the offsets are most of
the memory read. This loop reads each value's offsets and bytes once (numba, compiled on first
use and cached beside this module). Values it cannot match exactly (padded, empty, nulls' slots,
not allowed) are left to the caller, which reads them as ``Exam.from_rhi`` does.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Code of a value that must be read as text by the caller.
UNREAD = -2
#: Code of a value that is not allowed.
INVALID = -1


#: Values read as one block when their bytes are contiguous one-byte values.
_BLOCK = 8


@njit(cache=True, nogil=True, boundscheck=False)
def cell_codes(offsets, data, keys, codes, digits, out):  # pragma: no cover - compiled
    """Per value ``i`` (between ``offsets[i]`` and ``offsets[i + 1]`` of ``data``): a one-byte
    value ``"0"``.. is its digit when below ``digits`` (else INVALID, as no one-byte text
    strips to a longer value); a value of 2-4 bytes is ``codes[k]`` where ``keys[k]`` is its
    key (its bytes zero-padded to four, then its length in the low 3 bits: ``validate._pack``);
    anything else is UNREAD. Returns how many are UNREAD.

    Most columns are runs of one-byte grades: where the next ``_BLOCK`` values are one byte
    each (eight values over eight bytes is not enough: an empty value beside "12"), they are
    read as one block without a branch per value (the 134 columns of the benchmark's acute
    table: 2.6 ms instead of 4.0 value by value); a block with anything else is read again
    value by value."""
    n = out.shape[0]
    unread = 0
    i = 0
    while i < n:
        if i + _BLOCK <= n:
            start = offsets[i]
            bad = 0
            for k in range(1, _BLOCK + 1):  # each value one byte: the offsets step by one
                bad |= np.uint64(offsets[i + k] - start - k)
            if not bad:
                for k in range(_BLOCK):
                    digit = np.int64(data[start + k]) - 48
                    out[i + k] = digit
                    bad |= np.uint64(digit) >= np.uint64(digits)  # below "0" wraps: large
                if not bad:
                    i += _BLOCK
                    continue
        stop = min(i + _BLOCK, n)
        while i < stop:
            start = offsets[i]
            length = offsets[i + 1] - start
            if length == 1:
                digit = np.int64(data[start]) - 48
                out[i] = digit if 0 <= digit < digits else INVALID
                i += 1
                continue
            found = UNREAD
            if 2 <= length <= 4:
                key = np.int64(0)
                for j in range(4):
                    key <<= 8
                    if j < length:
                        key |= np.int64(data[start + j])
                key = (key << 3) | length
                for k in range(keys.shape[0]):
                    if keys[k] == key:
                        found = codes[k]
                        break
            out[i] = found
            if found == UNREAD:
                unread += 1
            i += 1
    return unread
