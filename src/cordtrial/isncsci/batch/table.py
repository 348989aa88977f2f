"""Classify a table of exams column-wise: validation, then the ISNCSCI rules on every exam.

The rules are the single-exam engine's own (``cordtrial.isncsci``: a single exam is a batch of
one). Valid rows are classified in two groups that the same code handles: plain rows (every
cell a plain grade), and rows with not-testable cells or ``*``/``**`` flags; a group without
flags or NT cells skips the parts of the rules only they need (``answers.Const``), so
splitting keeps the common case fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from ..classification import NAMES, RESULT_KEYS, TOTAL_KEYS, classify_exams
from ..exam import FieldError
from ..sides import Exams
from .columns import INPUT_COLUMNS, METADATA_COLUMNS
from .render import NUMBER_NAMES, render, render_totals
from .validate import NO_NON_KEY, validate

_KNOWN = frozenset(INPUT_COLUMNS) | METADATA_COLUMNS
assert RESULT_KEYS[: len(TOTAL_KEYS)] == TOTAL_KEYS  # a part's first index rows are totals


@dataclass(frozen=True)
class RowError:
    """A row that could not be classified: its 1-based data row number, its ``id`` if the table
    has one, and every offending field as ``Exam.from_rhi`` reports it."""

    row: int
    id: Any
    errors: tuple[FieldError, ...]

    def messages(self) -> list[str]:
        """One message per field: ``field: value not allowed; allowed: ...``."""
        return [f"{e.field}: {e.value!r} not allowed; allowed: {e.allowed}" for e in self.errors]

    def lines(self) -> list[str]:
        """One report line per field: ``row N: field: value not allowed; allowed: ...``."""
        return [f"row {self.row}: {message}" for message in self.messages()]


class UnknownColumnsError(ValueError):
    """The table has columns that are neither RHI fields nor metadata (``id``, ``group``...)."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        allowed = "RHI exam fields (docs/isncsci.md) or metadata: " + ", ".join(
            sorted(METADATA_COLUMNS)
        )
        self.errors = [FieldError(c, None, allowed) for c in self.columns]
        super().__init__(
            f"unknown column(s) {', '.join(self.columns)}; allowed: {allowed} "
            "(or ignore them with unknown_columns='ignore' / --ignore-unknown-columns)"
        )

    def __reduce__(self):
        # Rebuilt from the column list when it crosses a process boundary (--jobs).
        return (type(self), (self.columns,))


@dataclass
class BatchResult:
    """Outcome of classifying one table."""

    # Classified rows in input order: carried columns, then RESULT_KEYS (dictionary-encoded
    # strings; ``decoded`` for plain string columns).
    table: pa.Table
    positions: np.ndarray  # 0-based input position of each classified row
    errors: list[RowError] = field(default_factory=list)
    plain: int = 0  # classified rows with plain grades only
    not_testable: int = 0  # ... with NT cells (or VAC/DAP NT) but no flag
    flagged: int = 0  # ... with a ``*``/``**`` flag

    @property
    def classified(self) -> int:
        return self.table.num_rows

    def decoded(self) -> pa.Table:
        """The result table with plain string columns."""
        return decode(self.table)

    @property
    def failed(self) -> int:
        return len(self.errors)


def decode(table: pa.Table) -> pa.Table:
    """A table with its dictionary-encoded columns as plain values."""
    fields = [
        pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def check_columns(
    names: Sequence[str], unknown_columns: Literal["error", "ignore"] = "error"
) -> None:
    if unknown_columns not in ("error", "ignore"):
        raise ValueError(
            f"unknown_columns: {unknown_columns!r} is not allowed; allowed: error, ignore"
        )
    unknown = [name for name in names if name not in _KNOWN]
    if unknown and unknown_columns == "error":
        raise UnknownColumnsError(unknown)


def classify_table(
    table: pa.Table,
    *,
    first_row: int = 1,
    row_numbers: np.ndarray | None = None,
    keep: Sequence[str] = ("id",),
    row_column: str | None = None,
    unknown_columns: Literal["error", "ignore"] = "error",
) -> BatchResult:
    """Classify every row of an Arrow table of exams in the RHI naming.

    ``first_row`` is the data row number of the table's first row (for error reports of a
    chunk), or ``row_numbers`` gives each row's number; ``keep`` names input columns copied to
    the output when present; ``row_column``, if given, adds the data row number under that name
    as the first output column.
    """
    check_columns(table.column_names, unknown_columns)
    table = _without_views(table)
    n = table.num_rows
    numbers = (
        np.arange(first_row, first_row + n, dtype=np.int64)
        if row_numbers is None
        else np.asarray(row_numbers, dtype=np.int64)
    )
    if len(numbers) != n:
        raise ValueError(f"row_numbers: {len(numbers)} numbers for {n} rows; expected one per row")
    checked = validate(table)
    flagged = ~checked.plain & ~checked.open & ~checked.bad
    plain, special = np.flatnonzero(checked.plain), np.flatnonzero(checked.open | flagged)
    positions = np.flatnonzero(~checked.bad)
    parts = [_classify(checked, special, n)] if len(special) else []
    if len(plain) and len(special) <= n * _FEW_SPECIAL:
        # Nearly all rows plain: they are classified where they are, in the whole code matrix, the
        # other rows filled with a plain exam whose results are replaced (or dropped): the
        # plain rows are neither copied out nor merged back. The filling keeps the matrix
        # plain, so the rules skip their NT and flag parts (``answers.Const``).
        _fill_with_plain(checked, np.flatnonzero(~checked.plain))
        parts.insert(0, _classify(checked, None, n))
    elif len(plain):
        parts.insert(0, _classify(checked, plain, n))
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    if row_column is not None:
        columns[row_column] = pa.array(numbers[positions], pa.int64())
    everything = len(positions) == n
    for name in keep:
        if name in table.column_names:
            column = table.column(name)
            columns[name] = column if everything else column.take(pa.array(positions))
    merged = _merge(RESULT_KEYS, parts, n, None if everything else positions)
    columns.update(zip(RESULT_KEYS, merged, strict=True))
    ids = table.column("id") if "id" in table.column_names else None
    errors = [
        RowError(int(numbers[pos]), ids[pos].as_py() if ids is not None else None, tuple(errs))
        for pos, errs in sorted(checked.errors.items())
    ]
    return BatchResult(
        table=pa.table(columns),
        positions=positions,
        errors=errors,
        plain=len(plain),
        not_testable=int(checked.open.sum()),
        flagged=int(flagged.sum()),
    )


#: Up to this share of rows with NT cells or flags, the plain rows are classified in place
#: (classifying the other rows' stand-ins costs less than copying and merging the plain rows;
#: at 23 % of such rows, the acute profile, it costs about as much).
_FEW_SPECIAL = 0.1


@dataclass
class _Part:
    """Rows classified together (None: every row of the table, in order) and their result
    fields: per field, an index per row into the field's strings (its own names, then the
    sets of values that this part lists, ``render``)."""

    rows: np.ndarray | None
    indices: np.ndarray  # int32 (fields, rows)
    names: list[tuple[str, ...]]  # per field


def _classify(checked, rows: np.ndarray | None, n: int) -> _Part:
    """Classify the exams ``rows`` (None: all ``n``) of a validated table (one group)."""
    if rows is not None and len(rows) == n:
        rows = None  # every row, in order
    codes = checked.codes if rows is None else _gather().take_columns(checked.codes, rows)
    non_key = checked.non_key if rows is None else np.take(checked.non_key, rows, axis=1)
    results = classify_exams(Exams(codes, non_key))
    count = n if rows is None else len(rows)
    indices = np.empty((len(RESULT_KEYS), count), np.int32)
    totals = render_totals([results[key] for key in TOTAL_KEYS], indices[: len(TOTAL_KEYS)])
    names = [totals] * len(TOTAL_KEYS)
    for k, key in enumerate(RESULT_KEYS[len(TOTAL_KEYS) :], start=len(TOTAL_KEYS)):
        names.append(render(key, results[key], count, out=indices[k])[1])
    return _Part(rows, indices, names)


@cache
def _gather():
    """The compiled kernels, imported on first use (like ``validate._cell_codes``)."""
    from . import gather

    return gather


def _fill_with_plain(checked, rows: np.ndarray) -> None:
    """Overwrite the exams ``rows`` of a validation with a plain exam (every cell,
    VAC and DAP code 0, no non-key muscle), after they were taken out to be classified."""
    checked.codes[:, rows] = 0
    checked.non_key[:, rows] = NO_NON_KEY


def _without_views(table: pa.Table) -> pa.Table:
    """String and binary *view* columns as ordinary ones (several Arrow kernels used here do
    not take views; the values are the same)."""
    if not any(kind.id in _VIEW_IDS for kind in table.schema.types):
        return table
    for i, column in enumerate(table.columns):
        if pa.types.is_string_view(column.type):
            table = table.set_column(i, table.field(i).name, column.cast(pa.large_string()))
        elif pa.types.is_binary_view(column.type):
            table = table.set_column(i, table.field(i).name, column.cast(pa.large_binary()))
    return table


_VIEW_IDS = frozenset({pa.string_view().id, pa.binary_view().id})


def _merge(
    keys: Sequence[str], parts: list[_Part], n: int, positions: np.ndarray | None
) -> list[pa.Array]:
    """The result columns ``keys`` of the ``n`` input rows from the groups' parts (a part of
    every row, in order, comes first), keeping the rows at ``positions`` (None: all). Every
    row is in one part or not kept. Each part's names of a field start with the field's own
    (``render``); only the sets a later part adds are renumbered."""
    if parts and parts[0].rows is None:
        indices = parts[0].indices  # its rows are overwritten by the other parts' below
    else:  # each kept row is written by its part; without parts, zeros keep indices valid
        indices = (np.empty if parts else np.zeros)((len(keys), n), dtype=np.int32)
    names = list(parts[0].names) if parts else [_base(key) for key in keys]
    numbers: list[dict[str, int] | None] = [None] * len(keys)
    for i, part in enumerate(parts):
        if i:  # the first part's names are taken as they are
            names = [
                _renumbered(len(_base(key)), names[k], part, k, numbers)
                for k, key in enumerate(keys)
            ]
        if part.rows is not None:
            _gather().put_columns(indices, part.rows, part.indices)
    if positions is not None:
        indices = _gather().take_columns(indices, positions)
    return [_decoded(indices[k], names[k]) for k in range(len(keys))]


def _renumbered(
    base: int, names: tuple[str, ...], part: _Part, k: int, numbers: list[dict[str, int] | None]
) -> tuple[str, ...]:
    """The names of field ``k`` once ``part`` is merged after parts whose names are ``names``
    (each starting with the field's ``base`` own names): the sets ``part`` adds that are new
    appended, its indices of field ``k`` renumbered in place where earlier parts brought
    sets. ``numbers[k]``: each set's first number, made once a second part brings sets."""
    added = part.names[k][base:]
    if not added:
        return names
    if len(names) == base:  # the first part with sets: numbered as they are
        return part.names[k]
    if numbers[k] is None:
        numbers[k] = {}
        for i, text in enumerate(names[base:]):
            numbers[k].setdefault(text, base + i)
    known = numbers[k]
    extras = list(names[base:])
    renumbered = []
    for text in added:
        if text not in known:
            known[text] = base + len(extras)
            extras.append(text)
        renumbered.append(known[text])
    remap = np.concatenate([np.arange(base, dtype=np.int32), np.asarray(renumbered, np.int32)])
    part.indices[k] = remap[part.indices[k]]
    return names[:base] + tuple(extras)


def _decoded(index: np.ndarray, names: tuple[str, ...]) -> pa.DictionaryArray:
    """Strings ``names[index]`` as an Arrow dictionary array (the strings are not repeated
    per row; Arrow and pandas read it as text, and writers decode it where they must)."""
    indices = pa.array(index.astype(np.int32, copy=False))
    # Not checked again: every index was made for ``names`` (render, _merge).
    return pa.DictionaryArray.from_arrays(indices, _dictionary(names), safe=False)


def _base(key: str) -> tuple[str, ...]:
    """The field's own names (a part's names begin with them)."""
    return NUMBER_NAMES if key in TOTAL_KEYS else NAMES[key]


@lru_cache(maxsize=64)
def _dictionary(names: tuple[str, ...]) -> pa.Array:
    return pa.array(names, pa.string())
