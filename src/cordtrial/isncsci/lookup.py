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
    return _costed_plan(row, limit)[1]


def _costed_plan(row: tuple[bool, ...], limit: int) -> tuple[int, Reader | Const]:
    """(array operations, ``plan``)."""
    true = [c for c in range(limit) if row[c]]
    false = [c for c in range(limit) if not row[c]]
    if not true:
        return 0, FALSE
    if not false:
        return 0, TRUE
    cost, read = _reader(true, limit)
    negated_cost, negated = _reader(false, limit)
    if negated_cost + 1 < cost:
        return negated_cost + 1, lambda c: ~negated(c)
    return cost, read


class _Patched:
    """A table row read for codes some of which are flagged (codes from ``flagged_from`` on):
    where flagged cells are few, the row is read by the comparisons for the unflagged codes
    alone (``base``, usually one) and the flagged cells are looked up one by one; where they
    are many, by the comparisons for every code (``full``). A flagged code scatters a row's
    answers over several ranges of codes (``2`` and ``2*`` and ``2**`` are apart), so the
    full comparisons cost several array operations where ``base`` costs one."""

    __slots__ = ("base", "flagged_from", "full", "table")

    def __init__(
        self, full: Reader, base: Reader | Const, row: tuple[bool, ...], flagged_from: int
    ) -> None:
        self.full, self.base, self.flagged_from = full, base, flagged_from
        self.table = np.asarray(row, dtype=bool)

    def __call__(self, codes: np.ndarray, cache: dict | None) -> np.ndarray:
        cells = _flagged_cells(codes, self.flagged_from, cache)
        if cells is None:
            return self.full(codes)
        positions, values = cells
        base = self.base
        if isinstance(base, Const):
            out = np.full(codes.shape, base.value)
        else:
            out = np.ascontiguousarray(base(codes))
        out.reshape(-1)[positions] = self.table[values]
        return out


@cache
def _patched(row: tuple[bool, ...], limit: int, flagged_from: int) -> Reader | Const | _Patched:
    """``plan`` of a row for codes below ``limit``, of which those from ``flagged_from`` on
    are flagged: patched (``_Patched``) where that costs fewer array operations."""
    cost, full = _costed_plan(row, limit)
    base_cost, base = _costed_plan(row[:flagged_from], flagged_from)
    if isinstance(full, Const) or cost <= max(base_cost, 1):
        return full
    return _Patched(full, base, row, flagged_from)


#: Flagged cells are looked up one by one up to one cell in this many of a block.
_FEW_FLAGGED = 32


def _flagged_cells(
    codes: np.ndarray, flagged_from: int, cache: dict | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """(flat positions, codes) of the flagged cells of a block, None where they are many;
    found once per block (``cache``)."""
    key = ("flagged cells", flagged_from)
    if cache is not None and key in cache:
        return cache[key]
    flat = codes.reshape(-1)
    positions = np.flatnonzero(flat >= flagged_from)
    cells = None if len(positions) * _FEW_FLAGGED > len(flat) else (positions, flat[positions])
    if cache is not None:
        cache[key] = cells
    return cells


def read(
    row: np.ndarray,
    codes: np.ndarray,
    limit: int,
    packed: bool = True,
    cache: dict | None = None,
    flagged_from: int | None = None,
) -> Bits:
    """``row[codes]`` for codes below ``limit``, by comparisons (or a constant), packed along
    the exams (``answers.pack``) unless ``packed=False``.

    ``cache``: results already read from these ``codes``, kept by the caller as long as the
    codes. Many questions share their answer for the codes at hand ("code == 2" is a row of
    several tables): each is read once (about half of a pass's reads repeat one). A result
    may so be returned to several callers, which, as everywhere, never write to it.
    ``flagged_from``: the first flagged code of the vocabulary, where the few flagged cells
    may be looked up apart (``_Patched``; needs ``cache``)."""
    first = flagged_from if cache is not None else None
    key = (id(row), limit, first)
    reader = _READERS.get(key)
    if reader is None:
        reader = _READERS[key] = _planned(row, limit, first)
        _KEEP.append(row)  # keeps the id valid
    return _read(reader, codes, packed, cache)


def lookup(
    table: np.ndarray,
    codes: np.ndarray,
    limit: int,
    cache: dict | None = None,
    flagged_from: int | None = None,
) -> Answers:
    """The answers of a (4, vocabulary) table for each code (codes below ``limit``), packed
    (``cache``, ``flagged_from``: see ``read``)."""
    first = flagged_from if cache is not None else None
    key = (id(table), limit, first)
    readers = _TABLE_READERS.get(key)
    if readers is None:
        readers = _TABLE_READERS[key] = tuple(_planned(row, limit, first) for row in table)
        _KEEP.append(table)  # keeps the id valid
    y, ys, n, ns = readers
    return Answers(
        _read(y, codes, True, cache),
        _read(ys, codes, True, cache),
        _read(n, codes, True, cache),
        _read(ns, codes, True, cache),
    )


def _planned(row: np.ndarray, limit: int, flagged_from: int | None) -> Reader | Const | _Patched:
    # One reader per table row as far as the codes at hand go: equal rows share it.
    values = tuple(bool(v) for v in row[:limit])
    if flagged_from is None or limit <= flagged_from:
        return plan(values, limit)
    return _patched(values, limit, flagged_from)


def _read(
    reader: Reader | Const | _Patched, codes: np.ndarray, packed: bool, cache: dict | None
) -> Bits:
    if isinstance(reader, Const):
        return reader
    if cache is not None:
        out = cache.get((reader, packed))
        if out is not None:
            return out
    out = reader(codes, cache) if isinstance(reader, _Patched) else reader(codes)
    if packed:
        out = pack(out)
    if cache is not None:
        out.flags.writeable = False  # shared (see ``read``): a write would change other answers
        cache[(reader, packed)] = out
    return out


_READERS: dict[tuple[int, int, int | None], Reader | Const | _Patched] = {}
_TABLE_READERS: dict[tuple[int, int, int | None], tuple[Reader | Const | _Patched, ...]] = {}
_KEEP: list[np.ndarray] = []
