"""Possible answers to a yes/no question, for many exams at once.

Every classification step asks yes/no questions of the worksheet ("is this dermatome normal?",
"is this muscle graded >= 3?"). For a plain grade the answer is fixed; a not-testable cell
allows both; a ``*``/``**`` flag turns an answer into an assumption, and results that rest on
an assumption are starred. ``Answers`` holds, for each exam (one column per exam, any leading
shape such as one row per level), which of the four answers are possible: yes, yes resting on
a flag (``ys``), no, no resting on a flag (``ns``).

The single exam is a batch of one, so these arrays are the only form the rules take. They are
packed: the last axis holds 8 exams per byte (``pack``), so each operation touches an eighth
of the memory a boolean per exam would. Where a group of exams cannot have an answer at all
(no flag in any of them: no starred answers) the field is the constant ``FALSE`` instead of an
array, and every operation on it folds, so exams without flags or NT cells cost only the plain
part of each rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class Const:
    """The same boolean for every exam and row. Operators fold it away: ``FALSE & x`` is
    ``FALSE``, ``TRUE & x`` is ``x``, and numpy arrays defer to it (``__array_ufunc__``)."""

    __array_ufunc__ = None
    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __and__(self, other):
        return other if self.value else self

    __rand__ = __and__

    def __or__(self, other):
        return self if self.value else other

    __ror__ = __or__

    def __invert__(self) -> Const:
        return TRUE if not self.value else FALSE

    def __bool__(self) -> bool:
        raise TypeError("a Const is not a truth value; use .value")

    def __getitem__(self, index) -> Const:
        return self

    def any(self, axis=None) -> Const:
        return self

    all = any

    def copy(self) -> Const:
        return self

    def __repr__(self) -> str:
        return f"Const({self.value})"


TRUE, FALSE = Const(True), Const(False)
Bits = np.ndarray | Const


def pack(flags: np.ndarray) -> np.ndarray:
    """Booleans per exam (last axis) packed 8 exams to a byte."""
    return np.packbits(flags, axis=-1, bitorder="little")


def unpack(bits: Bits, n: int, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Packed bits (or a constant, of packed ``shape``) as booleans for ``n`` exams."""
    if isinstance(bits, Const):
        return np.full((*(shape or ())[:-1], n), bits.value, dtype=bool)
    return np.unpackbits(bits, axis=-1, count=n, bitorder="little").view(bool)


def columns_of(bits: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The bits of exams ``columns`` (packed rows, any leading shape) as booleans, one column
    per exam: a few exams read without unpacking every exam (many: by unpacking, which then
    costs less)."""
    if len(columns) > bits.shape[-1]:
        return np.unpackbits(bits, axis=-1, bitorder="little")[..., columns].view(bool)
    return (bits[..., columns >> 3] >> (columns & 7).astype(np.uint8)) & 1 == 1


def row_words(values: np.ndarray) -> np.ndarray:
    """Each column of ``values`` (booleans, at most 64 rows) as one 64-bit word, bit ``r``
    from row ``r``: a set of rows that sorts, compares and reduces as one number. (Built a
    byte at a time from whole rows: packing along the rows, or a transposed copy, costs
    several times more.)"""
    rows, columns = values.shape
    assert rows <= 64
    words = np.zeros((8, columns), dtype=np.uint8)  # byte k of each column's word
    for row, value in enumerate(values.view(np.uint8)):
        words[row >> 3] |= value << np.uint8(row & 7)
    return np.ascontiguousarray(words.T).view(np.uint64)[:, 0]


def word_rows(words: np.ndarray, rows: int) -> np.ndarray:
    """The first ``rows`` bits of each word as booleans, one column per word (``row_words``
    undone)."""
    bits = np.unpackbits(words.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    return bits[:, :rows].T.astype(bool)


def head(bits: np.ndarray, n: int) -> np.ndarray:
    """The packed bits of the first ``n`` exams alone (a copy; the padding bits of the last
    byte cleared)."""
    out = bits[..., : (n + 7) // 8].copy()
    if n % 8:
        out[..., -1] &= np.uint8((1 << (n % 8)) - 1)
    return out


def with_columns(bits: np.ndarray, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A copy of packed ``bits`` with the bits of exams ``columns`` (increasing) set to
    ``values`` (booleans, one column per exam). Few exams: only the bytes holding them are
    changed, each by one mask to clear and one to set (the exams sharing a byte combined);
    many: every exam unpacked, which then costs less."""
    assert len(columns) < 2 or (columns[1:] > columns[:-1]).all()
    if len(columns) > bits.shape[-1]:
        block = np.unpackbits(bits, axis=-1, bitorder="little")
        block[..., columns] = values
        return np.packbits(block, axis=-1, bitorder="little")
    out = bits.copy()
    if not len(columns):
        return out
    byte = columns >> 3
    bit = np.left_shift(np.uint8(1), (columns & 7).astype(np.uint8))
    starts = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])  # per byte touched
    clear = np.bitwise_or.reduceat(bit, starts)
    put = np.bitwise_or.reduceat(np.where(values, bit, np.uint8(0)), starts, axis=-1)
    at = byte[starts]
    out[..., at] = (out[..., at] & ~clear) | put
    return out


def materialise(bits: Bits, shape: tuple[int, ...]) -> np.ndarray:
    """``bits`` as a packed array of ``shape`` (not a copy when it already is one: do not
    write to it, see ``writable``)."""
    if isinstance(bits, Const):
        return np.full(shape, 255 if bits.value else 0, dtype=np.uint8)
    if bits.shape == shape:
        return bits
    return np.broadcast_to(bits, shape).copy()


def writable(bits: Bits, shape: tuple[int, ...]) -> np.ndarray:
    """``bits`` as a new boolean array of ``shape``."""
    out = materialise(bits, shape)
    return out.copy() if out is bits else out


def is_false(bits: Bits) -> bool:
    return isinstance(bits, Const) and not bits.value


#: Up to this many bytes per row (16,384 exams) a running reduction is one numpy call on the
#: rows as 64-bit words; for longer rows a loop over the rows is faster (numpy's accumulate
#: along the first axis is not vectorised across a row, so it pays per element: words have an
#: eighth of the bytes' elements).
_FEW_BYTES = 2048


def prefix_and(rows: Bits) -> Bits:
    """Row i: all of rows 0..i (a running AND down the first axis)."""
    return _running(rows, np.bitwise_and)


def prefix_or(rows: Bits) -> Bits:
    """Row i: any of rows 0..i."""
    return _running(rows, np.bitwise_or)


def _running(rows: Bits, op: np.ufunc) -> Bits:
    """A new array (for up to ``_FEW_BYTES`` a row, a view of a buffer padded to whole
    words: not C-contiguous when the width is not a multiple of 8)."""
    if isinstance(rows, Const):
        return rows
    assert rows.ndim >= 2 and rows.dtype == np.uint8, (rows.shape, rows.dtype)  # packed rows
    width = rows.shape[-1]
    if width <= _FEW_BYTES:
        # The pad bytes are left as they are: AND/OR work bit by bit, so they reach no other.
        padded = np.empty((*rows.shape[:-1], -(-width // 8) * 8), dtype=np.uint8)
        padded[..., :width] = rows
        words = padded.view(np.uint64)
        op.accumulate(words, axis=0, out=words)
        return padded[..., :width]
    out = rows.copy()
    for i in range(1, len(out)):
        op(out[i - 1], out[i], out=out[i])
    return out


def first_rows(rows: np.ndarray) -> np.ndarray:
    """Per exam, only its first set row (packed bits)."""
    return rows & ~shifted(prefix_or(rows), False, rows.shape)


def groups_any(rows: np.ndarray, bounds: Sequence[tuple[int, int]]) -> np.ndarray:
    """Per group of consecutive rows (start, stop): is any of its rows True?"""
    out = np.empty((len(bounds), *rows.shape[1:]), dtype=np.uint8)
    for g, (start, stop) in enumerate(bounds):
        np.bitwise_or.reduce(rows[start:stop], axis=0, out=out[g])
    return out


def any_rows(bits: Bits, axis: int = 0) -> Bits:
    """Per exam: is any row set (packed bits)?"""
    return bits if isinstance(bits, Const) else np.bitwise_or.reduce(bits, axis=axis)


def all_rows(bits: Bits, axis: int = 0) -> Bits:
    """Per exam: is every row set (packed bits)?"""
    return bits if isinstance(bits, Const) else np.bitwise_and.reduce(bits, axis=axis)


def exists(bits: Bits) -> bool:
    """Is any bit set (the packing's padding bits are never set by comparisons or ``|``/``&``
    of them; callers avoid asking after ``~``)?"""
    return bits.value if isinstance(bits, Const) else bool(bits.any())


def shifted(rows: Bits, first: bool, shape: tuple[int, ...]) -> Bits:
    """Rows (of ``shape``) moved down by one, ``first`` in row 0 (the state before each row)."""
    if isinstance(rows, Const) and rows.value == first:
        return rows
    rows = materialise(rows, shape)
    out = np.empty(shape, dtype=np.uint8)
    out[0] = 255 if first else 0
    out[1:] = rows[:-1]
    return out


def assemble(base: Answers, patches: Sequence[tuple[object, Answers]], shape) -> Answers:
    """``base`` with ``patches`` (index, answers) written over it, as arrays of ``shape``; a
    field stays ``FALSE`` where the base and every patch leave it so."""
    fields = []
    for name in ("y", "ys", "n", "ns"):
        parts = [getattr(base, name), *(getattr(p, name) for _, p in patches)]
        if all(is_false(v) for v in parts):
            fields.append(FALSE)
            continue
        out = writable(parts[0], shape)
        for (index, _), value in zip(patches, parts[1:], strict=True):
            out[index] = (255 if value.value else 0) if isinstance(value, Const) else value
        fields.append(out)
    return Answers(*fields)


class Answers:
    """Possible answers per exam: boolean arrays of one shape (or ``Const``s)."""

    __slots__ = ("n", "ns", "y", "ys")

    def __init__(self, y: Bits, ys: Bits, n: Bits, ns: Bits) -> None:
        self.y, self.ys, self.n, self.ns = y, ys, n, ns

    def __getitem__(self, index) -> Answers:
        return Answers(self.y[index], self.ys[index], self.n[index], self.ns[index])

    @property
    def fields(self) -> tuple[Bits, Bits, Bits, Bits]:
        return self.y, self.ys, self.n, self.ns

    @property
    def yes(self) -> Bits:
        return self.y | self.ys

    @property
    def no(self) -> Bits:
        return self.n | self.ns

    @property
    def starred(self) -> bool:
        """Can any answer rest on a flag (is either starred field not constant False)?"""
        return not (is_false(self.ys) and is_false(self.ns))

    def negated(self) -> Answers:
        return Answers(self.n, self.ns, self.y, self.ys)

    def unstarred_no(self) -> Answers:
        """Stars kept on "yes" only (a stop that does not rest on a flag)."""
        return Answers(self.y, self.ys, self.n | self.ns, FALSE)

    def unstarred(self) -> Answers:
        return Answers(self.y | self.ys, FALSE, self.n | self.ns, FALSE)


YES = Answers(TRUE, FALSE, FALSE, FALSE)
NO = Answers(FALSE, FALSE, TRUE, FALSE)


def all_of(a: Answers, b: Answers) -> Answers:
    """Answers to "are both yes?": yes rests on a flag when either part does; no rests on a
    flag only when every failing part does (a plain failing part decides on its own)."""
    a_yes, b_yes = a.yes, b.yes
    return Answers(
        a.y & b.y,
        (a.ys & b_yes) | (a_yes & b.ys),
        a.n | b.n,
        (a.ns & (b_yes | b.ns)) | (b.ns & (a_yes | a.ns)),
    )


def all_along(parts: Answers, axis: int = 0) -> Answers:
    """``all_of`` over every part along ``axis`` (the same rule, as one reduction)."""
    yes = parts.yes
    return Answers(
        all_rows(parts.y, axis),
        all_rows(yes, axis) & any_rows(parts.ys, axis),
        any_rows(parts.n, axis),
        any_rows(parts.ns, axis) & all_rows(yes | parts.ns, axis),
    )


def any_of(a: Answers, b: Answers) -> Answers:
    """Answers to "is either yes?" (``all_of`` of the negations, negated)."""
    return all_of(a.negated(), b.negated()).negated()


def stack(parts: Sequence[Answers], shape: tuple[int, ...]) -> Answers:
    """Answers of ``shape`` (or constants) stacked along a new first axis."""
    fields = []
    for name in ("y", "ys", "n", "ns"):
        values = [getattr(p, name) for p in parts]
        if all(is_false(v) for v in values):
            fields.append(FALSE)
        else:
            fields.append(np.stack([materialise(v, shape) for v in values]))
    return Answers(*fields)
