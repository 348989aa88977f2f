"""Columns (exams) of a matrix gathered and scattered in compiled loops.

A table's exams are classified in groups: each group's columns are gathered from the code
matrix, and its result columns scattered back into the table's order. numpy does both along
the columns element by element through a general path; these loops (numba, compiled on first
use and cached beside this module) go row by row: on the benchmark's acute table (134 x 20,000
codes) the plain group's 15,327 exams are gathered in 0.8 ms instead of 1.9.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, boundscheck=False)
def take_columns(matrix, columns):  # pragma: no cover - compiled
    """``matrix[:, columns]`` of a 2-D matrix (``columns``: valid indices, any order)."""
    out = np.empty((matrix.shape[0], len(columns)), matrix.dtype)
    for r in range(matrix.shape[0]):
        source = matrix[r]
        target = out[r]
        for k in range(len(columns)):
            target[k] = source[columns[k]]
    return out


@njit(cache=True, nogil=True, boundscheck=False)
def put_columns(matrix, columns, values):  # pragma: no cover - compiled
    """``matrix[:, columns] = values`` (``columns``: valid, distinct indices)."""
    for r in range(matrix.shape[0]):
        source = values[r]
        target = matrix[r]
        for k in range(len(columns)):
            target[columns[k]] = source[k]
