"""The exams (columns) of a code matrix that one group classifies, gathered in a compiled loop.

``numpy.take(codes, rows, axis=1)`` copies the one-byte codes element by element through a
general path; this loop (numba, compiled on first use and cached beside this module) gathers
each row of the matrix in turn: on the benchmark's acute table (134 x 20,000) the plain
group's 15,327 exams in 0.8 ms instead of 1.9, the others' 4,673 in 0.25 ms instead of 0.5.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, boundscheck=False)
def take_columns(codes, columns):  # pragma: no cover - compiled
    """``codes[:, columns]`` of a 2-D matrix (``columns``: valid indices, any order)."""
    out = np.empty((codes.shape[0], len(columns)), codes.dtype)
    for r in range(codes.shape[0]):
        source = codes[r]
        target = out[r]
        for k in range(len(columns)):
            target[k] = source[columns[k]]
    return out
