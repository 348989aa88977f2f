"""Per-code answers read from a code matrix by comparisons.

A rule's answer for each vocabulary code is a table (``values.answer_table``); reading it for a
matrix of codes by indexing would gather every element, which costs more than the rest of the
classification. Codes are small and ordered (plain grades first, NT, then flags), so each table
row is read instead as a few comparisons ("code == 2", "code < 3"), chosen for the codes that
can occur in the exams at hand: a table row that is the same for all of them becomes a
constant (``answers.Const``), so exams without flags or NT pay nothing for those rules.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np

from .answers import FALSE, TRUE, Answers, Bits, Const, pack

Reader = Callable[[np.ndarray], Bits]


def _ranges(codes: list[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive codes, as (first, last)."""
    runs: list[tuple[int, int]] = []
    for code in codes:
        if runs and runs[-1][1] == code - 1:
            runs[-1] = (runs[-1][0], code)
        else:
            runs.append((code, code))
    return runs


def _range_reader(first: int, last: int, limit: int) -> tuple[int, Reader]:
    """(cost in array operations, reader) of "first <= code <= last" among codes < limit."""
    if first == last:
        return 1, lambda c: c == first
    if first == 0:
        return 1, lambda c: c <= last
    if last == limit - 1:
        return 1, lambda c: c >= first
    return 2, _between(first, last)


def _between(first: int, last: int) -> Reader:
    """Whether first <= code <= last, as one subtraction and one unsigned comparison (codes below
    ``first`` wrap to large values) instead of two comparisons and an AND: codes are int8."""
    span, start = np.uint8(last - first), np.int8(first)

    def read(c: np.ndarray) -> np.ndarray:
        if c.dtype != np.int8:
            return (c >= first) & (c <= last)
        return (c - start).view(np.uint8) <= span

    return read


def _reader(codes: list[int], limit: int) -> tuple[int, Reader]:
    parts = [_range_reader(a, b, limit) for a, b in _ranges(codes)]
    cost = sum(c for c, _ in parts) + len(parts) - 1
    if len(parts) == 1:
        return cost, parts[0][1]

    def read(c: np.ndarray) -> np.ndarray:
        out = parts[0][1](c)
        for _, part in parts[1:]:
            out = out | part(c)
        return out

    return cost, read


@cache
def plan(row: tuple[bool, ...], limit: int) -> Reader | Const:
    """How to read one table row (True per code) for codes below ``limit``: comparisons, or
    the constant that every code below ``limit`` gives."""
    true = [c for c in range(limit) if row[c]]
    false = [c for c in range(limit) if not row[c]]
    if not true:
        return FALSE
    if not false:
        return TRUE
    cost, read = _reader(true, limit)
    negated_cost, negated = _reader(false, limit)
    if negated_cost + 1 < cost:
        return lambda c: ~negated(c)
    return read


def read(
    row: np.ndarray, codes: np.ndarray, limit: int, packed: bool = True, cache: dict | None = None
) -> Bits:
    """``row[codes]`` for codes below ``limit``, by comparisons (or a constant), packed along
    the exams (``answers.pack``) unless ``packed=False``.

    ``cache``: results already read from these ``codes``, kept by the caller as long as the
    codes. Many questions share their answer for the codes at hand ("code == 2" is a row of
    several tables): each is read once (about half of a pass's reads repeat one). A result
    may so be returned to several callers, which, as everywhere, never write to it."""
    key = (id(row), limit)
    reader = _READERS.get(key)
    if reader is None:
        reader = _READERS[key] = _planned(row, limit)
        _KEEP.append(row)  # keeps the id valid
    return _read(reader, codes, packed, cache)


def lookup(table: np.ndarray, codes: np.ndarray, limit: int, cache: dict | None = None) -> Answers:
    """The answers of a (4, vocabulary) table for each code (codes below ``limit``), packed
    (``cache``: see ``read``)."""
    key = (id(table), limit)
    readers = _TABLE_READERS.get(key)
    if readers is None:
        readers = _TABLE_READERS[key] = tuple(_planned(row, limit) for row in table)
        _KEEP.append(table)  # keeps the id valid
    y, ys, n, ns = readers
    return Answers(
        _read(y, codes, True, cache),
        _read(ys, codes, True, cache),
        _read(n, codes, True, cache),
        _read(ns, codes, True, cache),
    )


def _planned(row: np.ndarray, limit: int) -> Reader | Const:
    # One reader per table row as far as the codes at hand go: equal rows share it.
    return plan(tuple(bool(v) for v in row[:limit]), limit)


def _read(reader: Reader | Const, codes: np.ndarray, packed: bool, cache: dict | None) -> Bits:
    if isinstance(reader, Const):
        return reader
    if cache is not None:
        out = cache.get((reader, packed))
        if out is not None:
            return out
    out = reader(codes)
    if packed:
        out = pack(out)
    if cache is not None:
        out.flags.writeable = False  # shared (see ``read``): a write would change other answers
        cache[(reader, packed)] = out
    return out


_READERS: dict[tuple[int, int], Reader | Const] = {}
_TABLE_READERS: dict[tuple[int, int], tuple[Reader | Const, ...]] = {}
_KEEP: list[np.ndarray] = []
