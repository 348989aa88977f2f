"""One compiled pass over a packed result: each exam's set of values as one 64-bit word.

Rendering a result field keys the exams that list several values or stars by their whole set
(``render``). Unpacking every row of the result to build those keys costs more than the rest
of rendering; this loop reads the packed rows once and touches only the set bits (a result has
a value or two per exam). Compiled on first use (numba) and cached beside this module.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, boundscheck=False)
def set_words(present, starred):  # pragma: no cover - compiled
    """Per exam (bit j of byte b of a packed row is exam 8b + j, padding included): bit i of
    its word where row i (< 32) of ``present`` has it, bit 32 + i where ``starred`` does."""
    rows, width = present.shape
    out = np.zeros(8 * width, dtype=np.uint64)
    for i in range(rows):
        for b in range(width):
            p = np.uint64(present[i, b])
            s = np.uint64(starred[i, b])
            if p | s:
                for j in range(8):
                    bit_p = (p >> np.uint64(j)) & np.uint64(1)
                    bit_s = (s >> np.uint64(j)) & np.uint64(1)
                    out[8 * b + j] |= (bit_p << np.uint64(i)) | (bit_s << np.uint64(32 + i))
    return out
