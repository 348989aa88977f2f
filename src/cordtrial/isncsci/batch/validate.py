"""Vectorised validation of an exam table: value membership per column.

Every cell column is encoded against the engine's value vocabulary
(``cordtrial.isncsci.values``) into one row of an int8 code matrix. The code of a plain value
is its grade (sensory ``0``-``2``, motor ``0``-``5``) or, for VAC/DAP, 0 for ``Yes`` and 1 for
``No``, because the vocabularies list those values first. A row (exam) is

- *plain* when every cell holds a plain value (a non-key muscle may be recorded): the
  vectorised classifier for plain exams takes it;
- *open* when no cell carries a ``*``/``**`` flag and some cell or VAC/DAP is ``NT`` (a
  non-key muscle may be recorded): the vectorised classifier for not-testable cells takes it;
- *bad* when any field is missing or not allowed: it gets the ``FieldError`` list that
  ``Exam.from_rhi`` would raise (same fields, values, allowed text and order; tested);
- otherwise valid but flagged (classified with the open rows, see ``table``).

Encoding avoids per-value Python work: a text column is read straight from its Arrow buffers
in one compiled pass (``byte_codes``: a one-byte value, the usual digit, by subtracting "0"
from its byte; a longer one packed into an integer and matched among the vocabulary's); only
values that match nothing (padded, empty, not allowed) are read one by one, as text.
Dictionary-encoded columns look up only their few distinct values; integer columns are read as
numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..exam import FieldError
from ..levels import INDEX, level_name
from ..values import BINARY_VALUES, MOTOR_VALUES, SENSORY_VALUES
from .byte_codes import INVALID, UNREAD
from .columns import (
    CELL_ORDER,
    DAP_KEY,
    DAP_ROW,
    INPUT_COLUMNS,
    MOTOR,
    NON_KEY_COLUMNS,
    PRICK,
    SIDE_OFFSET,
    TOUCH,
    VAC_KEY,
    VAC_ROW,
)

# (vocabulary, number of plain values at its start, the kind named in error messages); the kind
# and allowed text follow Exam.from_rhi so that batch and single errors read the same.
_SENSORY = (SENSORY_VALUES, 3, "sensory")
_MOTOR = (MOTOR_VALUES, 6, "motor")
_VAC = (BINARY_VALUES, 2, "voluntary anal contraction")
_DAP = (BINARY_VALUES, 2, "deep anal pressure")

#: Vocabulary of every cell column.
CELL_VOCABULARY: dict[str, tuple[tuple[str, ...], int, str]] = {
    **{key: _SENSORY for side in TOUCH for key in (*TOUCH[side], *PRICK[side])},
    **{key: _MOTOR for side in MOTOR for key in MOTOR[side]},
    VAC_KEY: _VAC,
    DAP_KEY: _DAP,
}

# A non-key muscle is named by a level from C5 to S1 (as Exam.from_rhi reads it).
_FIRST_NON_KEY = INDEX["C5"]
_NON_KEY_NAMES = tuple(level_name(i) for i in range(_FIRST_NON_KEY, INDEX["S1"] + 1))
_NON_KEY_ALLOWED = f"a level {', '.join(_NON_KEY_NAMES)} or empty"
_NON_KEY_EMPTY = ("", "None", "null")


def _allowed(column: str) -> str:
    vocabulary, _, kind = CELL_VOCABULARY[column]
    return f"{kind}: {', '.join(vocabulary)}"


def _digit_table(vocabulary: tuple[str, ...]) -> dict[int, int]:
    return {int(v): code for code, v in enumerate(vocabulary) if v.isdigit()}


def _digits(vocabulary: tuple[str, ...]) -> int:
    """How many one-byte values the vocabulary has; they are its first values, the digits
    "0", "1", ... in order (so a digit's code is its value)."""
    single = [v for v in vocabulary if len(v) == 1]
    assert single == [str(i) for i in range(len(single))] == list(vocabulary[: len(single)])
    return len(single)


_DIGITS = {id(v): _digits(v) for v in (SENSORY_VALUES, MOTOR_VALUES, BINARY_VALUES)}


@dataclass
class Validation:
    """Codes and row classes of one table (see the module docstring)."""

    codes: np.ndarray  # int8 (len(CELL_ORDER), rows); INVALID where missing or not allowed
    plain: np.ndarray  # bool per row
    open: np.ndarray  # bool per row
    bad: np.ndarray  # bool per row
    non_key: np.ndarray  # int8 (2, rows): level index of each side's non-key muscle, NO_NON_KEY
    errors: dict[int, list[FieldError]] = field(default_factory=dict)  # row position -> errors


def _array(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def _text_codes(array: pa.Array, vocabulary: tuple[str, ...], out: np.ndarray) -> bool:
    """Codes of a string column into ``out`` straight from its Arrow buffers; False (and
    ``out`` untouched) for a column that is not text.

    One compiled pass (``byte_codes.cell_codes``) codes the one-byte values (the plain digits,
    whose codes are their values: ``_DIGITS``) and the exact values of 2-4 bytes ("NT", "0*",
    "Yes"); the values it leaves (padded, empty, nulls, not allowed) are read as
    ``Exam.from_rhi`` reads them (``_read_text``)."""
    width = _OFFSET_WIDTH.get(array.type.id)
    n = len(array)
    if width is None or n == 0:
        return False
    _, offsets_buffer, data = array.buffers()
    offsets = np.frombuffer(
        offsets_buffer, dtype=np.int64 if width == 8 else np.int32, count=n + 1,
        offset=array.offset * width,
    )  # fmt: skip
    # A column of nulls and empty strings has no data bytes; one zero byte stands in for them.
    raw = np.frombuffer(data, dtype=np.uint8) if data else _NO_BYTES
    keys, codes = _WORDS[id(vocabulary)]
    unread = _cell_codes()(offsets, raw, keys, codes, _DIGITS[id(vocabulary)], out)
    if array.null_count:  # a null is INVALID, whatever bytes its slot holds
        out[~array.is_valid().to_numpy(zero_copy_only=False)] = INVALID
    if unread:
        rows = np.flatnonzero(out == UNREAD)
        if len(rows):
            out[rows] = _read_text(array, rows, vocabulary)
    return True


@cache
def _cell_codes():
    """The compiled kernel, imported on first use (numba's import and cache loading take a
    fraction of a second that the single-exam path and the web app need not pay)."""
    from .byte_codes import cell_codes

    return cell_codes


def _words(vocabulary: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(keys, codes) of the vocabulary's values of 2 to 4 bytes, packed (``_packed``) as
    ``byte_codes.cell_codes`` packs each value."""
    codes = [code for code, v in enumerate(vocabulary) if 2 <= len(v.encode()) <= 4]
    return _packed([vocabulary[c] for c in codes]), np.asarray(codes, np.int8)


_OFFSET_WIDTH = {pa.string().id: 4, pa.large_string().id: 8}  # bytes per offset
_NO_BYTES = np.zeros(1, np.uint8)


def _read_text(array: pa.Array, rows: np.ndarray, vocabulary: tuple[str, ...]) -> np.ndarray:
    """Codes of the values ``rows`` of a text column read as ``Exam.from_rhi`` reads them:
    stripped, and INVALID for nulls and values not allowed."""
    if len(rows) > _FEW:  # many: Arrow kernels cost less than a Python loop
        return _encode_general(array.take(pa.array(rows)), vocabulary)
    lookup = _CODES[id(vocabulary)]
    values = array.take(pa.array(rows)).cast(pa.large_binary()).to_pylist()
    return np.asarray(
        [
            INVALID if v is None else lookup.get(v.decode(errors="replace").strip(), INVALID)
            for v in values
        ],
        np.int8,
    )


def _pack(raw: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each value of up to four bytes as one integer (its bytes, then its length); longer
    values get a key no vocabulary value has."""
    packed = np.zeros(len(starts), dtype=np.int64)
    last = len(raw) - 1
    for i in range(4):
        byte = raw[np.minimum(starts + i, last)].astype(np.int64)
        packed = (packed << 8) | np.where(lengths > i, byte, 0)
    return np.where(lengths <= 4, (packed << 3) | lengths, -1)


def _packed(words: list[str]) -> np.ndarray:
    """Each word packed like ``_pack`` (the key a column value spelt so gets)."""
    encoded = [w.encode() for w in words]
    flat = np.frombuffer(b"".join(encoded) or b"\0", dtype=np.uint8)
    lengths = np.array([len(w) for w in encoded], dtype=np.int64)
    return _pack(flat, np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64), lengths)


_FEW = 256  # up to this many values are read one by one (cheaper than Arrow kernels)
_VOCABULARIES = (SENSORY_VALUES, MOTOR_VALUES, BINARY_VALUES)
_CODES = {id(v): {value: code for code, value in enumerate(v)} for v in _VOCABULARIES}
_WORDS = {id(v): _words(v) for v in _VOCABULARIES}
assert all(len(v.encode()) <= 4 for v in _VOCABULARIES for v in v)  # every value is packed


def encode(
    column: pa.ChunkedArray | pa.Array, vocabulary: tuple[str, ...], out: np.ndarray | None = None
) -> np.ndarray:
    """int8 code of each value of a cell column (into ``out`` when given); INVALID where
    ``Exam.from_rhi`` would reject ``str(value).strip()`` (missing, not in the vocabulary,
    ``bool`` or float values)."""
    out = np.empty(len(column), dtype=np.int8) if out is None else out
    array = _array(column)
    if _text_codes(array, vocabulary, out):
        return out
    out[:] = _encode_general(array, vocabulary)
    return out


def _encode_general(array: pa.Array, vocabulary: tuple[str, ...]) -> np.ndarray:
    kind = array.type
    n = len(array)
    if pa.types.is_integer(kind):
        # Through int64 (unsigned columns cannot hold the -1 for nulls; values past int64 wrap
        # to negatives, which are no grade either).
        values = pc.cast(array, pa.int64(), safe=False).fill_null(-1)
        values = values.to_numpy(zero_copy_only=False)
        out = np.full(n, INVALID, dtype=np.int8)
        for digit, code in _digit_table(vocabulary).items():
            out[values == digit] = code
        return out
    if pa.types.is_decimal(kind):
        # ``str(Decimal("5"))`` is "5", as Exam.from_rhi reads it; Arrow's text is the same.
        return _encode_general(pc.cast(array, pa.string()), vocabulary)
    if not pa.types.is_dictionary(kind):
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            return np.full(n, INVALID, dtype=np.int8)  # null, bool, float and other types
        array = pc.dictionary_encode(array)
    dictionary = array.dictionary
    if not (pa.types.is_string(dictionary.type) or pa.types.is_large_string(dictionary.type)):
        return _encode_general(array.dictionary_decode(), vocabulary)
    lookup = pc.index_in(
        pc.utf8_trim_whitespace(dictionary), value_set=pa.array(vocabulary, pa.string())
    )
    table = np.append(lookup.fill_null(INVALID).to_numpy(zero_copy_only=False), INVALID)
    indices = pc.cast(array.indices, pa.int32()).fill_null(len(dictionary))
    indices = indices.to_numpy(zero_copy_only=False)
    return table.astype(np.int8)[indices]


NO_NON_KEY = -1


def _non_key(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(empty, invalid, level) of a non-key muscle column, read as Exam.from_rhi reads it:
    masks of empty and of rejected values, and the level index of each valid one
    (``NO_NON_KEY`` elsewhere).

    A text column is read from its buffers: empty values need no work, and values spelt
    exactly as a level name (``C5``, ``c5``) or ``None``/``null`` are packed like cell values
    and looked up; only other spellings (padded, ``s4-5``, rejected) take Arrow kernels."""
    array = _array(column)
    kind = array.type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return _non_key_general(array)
    n = len(array)
    width = 8 if pa.types.is_large_string(kind) else 4
    _, offsets_buffer, data = array.buffers()
    offsets = np.frombuffer(
        offsets_buffer, dtype=np.int64 if width == 8 else np.int32, count=n + 1,
        offset=array.offset * width,
    )  # fmt: skip
    empty = np.ones(n, dtype=bool)
    invalid = np.zeros(n, dtype=bool)
    level = np.full(n, NO_NON_KEY, dtype=np.int8)
    if n == 0 or offsets[-1] == offsets[0]:
        return empty, invalid, level  # every value empty or null
    lengths = offsets[1:] - offsets[:-1]
    rows = np.flatnonzero(lengths)
    if array.null_count:  # a null is empty
        rows = rows[_valid_at(array, rows)]
    raw = np.frombuffer(data, dtype=np.uint8)
    keys, values = _NON_KEY_PACKED
    packed = _pack(raw, offsets[rows], lengths[rows])
    position = np.minimum(np.searchsorted(keys, packed), len(keys) - 1)
    found = keys[position] == packed
    level[rows[found]] = values[position[found]]
    empty[rows[found]] = values[position[found]] == NO_NON_KEY  # "None", "null"
    rows = rows[~found]
    if len(rows):
        empty[rows], invalid[rows], level[rows] = _non_key_general(array.take(pa.array(rows)))
    return empty, invalid, level


def _valid_at(array: pa.Array, rows: np.ndarray) -> np.ndarray:
    """Is each of ``rows`` not null (read from the validity bitmap)?"""
    bitmap = array.buffers()[0]
    if bitmap is None:
        return np.ones(len(rows), dtype=bool)
    at = rows + array.offset
    bits = np.frombuffer(bitmap, dtype=np.uint8)
    return (bits[at >> 3] >> (at & 7).astype(np.uint8)) & 1 == 1


def _non_key_vocabulary() -> tuple[np.ndarray, np.ndarray]:
    """(sorted packed keys, level) of the exact spellings ``_non_key`` looks up: the level
    names and their lower case (level index) and the empty words (``NO_NON_KEY``)."""
    words = {w: NO_NON_KEY for w in _NON_KEY_EMPTY if w}
    for name in _NON_KEY_NAMES:
        words[name] = words[name.lower()] = INDEX[name]
    keys = _packed(list(words))
    order = np.argsort(keys)
    return keys[order], np.asarray(list(words.values()), dtype=np.int8)[order]


_NON_KEY_PACKED = _non_key_vocabulary()


def _non_key_general(array: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_non_key`` for any column type, by Arrow kernels."""
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    n = len(array)
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.utf8_trim_whitespace(array)
    elif pa.types.is_integer(kind):
        text = pc.cast(array, pa.string())  # str(5) is "5": never a level
    else:
        missing = ~array.is_valid().to_numpy(zero_copy_only=False)
        level = np.full(n, NO_NON_KEY, dtype=np.int8)
        return missing, ~missing, level  # null type: empty; bool/float values: rejected
    empty = pc.or_kleene(
        pc.is_null(text), pc.is_in(text, value_set=pa.array(_NON_KEY_EMPTY, pa.string()))
    ).to_numpy(zero_copy_only=False)
    name = pc.replace_substring(pc.utf8_upper(text), "-", "_")
    position = pc.index_in(name, value_set=pa.array(_NON_KEY_NAMES, pa.string()))
    position_np = position.fill_null(-1).to_numpy(zero_copy_only=False)
    valid_np = position_np >= 0
    level = np.where(valid_np, position_np + _FIRST_NON_KEY, NO_NON_KEY).astype(np.int8)
    assert len(empty) == n
    return empty, ~empty & ~valid_np, level


def validate(table: pa.Table) -> Validation:
    """Encode and check every input column of ``table`` (columns it lacks count as missing)."""
    n = table.num_rows
    names = set(table.column_names)
    codes = np.empty((len(CELL_ORDER), n), dtype=np.int8)
    for i, column in enumerate(CELL_ORDER):
        if column in names:
            encode(table.column(column), CELL_VOCABULARY[column][0], out=codes[i])
        else:
            codes[i] = INVALID
    # Whole-matrix checks first (one reduction per block of columns); the per-column error
    # listing below only runs for the rare tables that have a bad cell.
    plain = np.ones(n, dtype=bool)
    unflagged = np.ones(n, dtype=bool)
    for block, nt in _BLOCKS:
        highest = codes[block].max(axis=0)
        plain &= highest < nt
        unflagged &= highest <= nt
    bad = codes.min(axis=0) < 0 if n else np.zeros(0, dtype=bool)
    non_key: dict[str, np.ndarray] = {}
    levels = np.full((len(NON_KEY_COLUMNS), n), NO_NON_KEY, dtype=np.int8)
    for i, column in enumerate(NON_KEY_COLUMNS):
        if column in names:
            _, non_key[column], levels[i] = _non_key(table.column(column))
            bad |= non_key[column]
    plain &= ~bad
    open_ = unflagged & ~plain & ~bad
    problems: list[tuple[np.ndarray, str]] = []  # (rows, column) in Exam.from_rhi order
    if bad.any():
        row_of = {column: i for i, column in enumerate(CELL_ORDER)}
        for column in INPUT_COLUMNS:
            if column in NON_KEY_COLUMNS:
                invalid = non_key.get(column)
            else:
                invalid = codes[row_of[column]] < 0
            if invalid is not None and invalid.any():
                problems.append((np.flatnonzero(invalid), column))
    return Validation(codes, plain, open_, bad, levels, _field_errors(table, problems))


# Row blocks of the code matrix and the code of NT in each, which follows the plain values
# (see columns.CELL_ORDER and the vocabularies in values.py): codes below it are plain, codes
# above it flagged.
_BLOCKS = tuple(
    (slice(offset + a, offset + b), nt)
    for offset in SIDE_OFFSET.values()
    for a, b, nt in ((0, 56, _SENSORY[1]), (56, 66, _MOTOR[1]))
) + ((slice(VAC_ROW, DAP_ROW + 1), _VAC[1]),)
assert all(v[n] == "NT" for v, n, _ in (_SENSORY, _MOTOR, _VAC, _DAP))


def _field_errors(
    table: pa.Table, problems: list[tuple[np.ndarray, str]]
) -> dict[int, list[FieldError]]:
    errors: dict[int, list[FieldError]] = {}
    for rows, column in problems:
        present = column in table.column_names
        values = table.column(column).take(pa.array(rows)).to_pylist() if present else None
        allowed = _NON_KEY_ALLOWED if column in NON_KEY_COLUMNS else _allowed(column)
        for i, row in enumerate(rows.tolist()):
            value = values[i] if values is not None else None
            errors.setdefault(row, []).append(FieldError(column, value, allowed))
    return errors
