"""Classify a table of exams: column-wise where there is no flag, the single-exam engine for
the rest.

The single-exam path (``classify(Exam.from_rhi(row)).to_rhi()``) is the source of truth. Plain
rows (``vectorised``) and rows with not-testable cells but no flag (``not_testable``,
``non_key``), together the bulk of real archives, are classified column-wise and checked against
it by the property and equality tests in tests/isncsci/test_batch*.py. The rest (``*``/``**``
flags) are classified by it one by one, so the batch result equals it by construction there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from ..classification import RESULT_KEYS, classify
from ..exam import Exam, ExamValidationError, FieldError
from .columns import INPUT_COLUMNS, METADATA_COLUMNS
from .not_testable import classify_open
from .validate import validate
from .vectorised import classify_plain

_KNOWN = frozenset(INPUT_COLUMNS) | METADATA_COLUMNS


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

    table: pa.Table  # classified rows in input order: carried columns, then RESULT_KEYS
    positions: np.ndarray  # 0-based input position of each classified row
    errors: list[RowError] = field(default_factory=list)
    vectorised: int = 0  # rows classified column-wise
    single: int = 0  # rows sent to the single-exam engine (including those it rejected)

    @property
    def classified(self) -> int:
        return self.table.num_rows

    @property
    def failed(self) -> int:
        return len(self.errors)


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
    parts, handed_back = [], []
    for classifier, rows in ((classify_plain, checked.plain), (classify_open, checked.open)):
        part, back = _vectorised(classifier, np.flatnonzero(rows), checked, n)
        parts += [part] if part is not None else []
        handed_back.append(back)

    single_rows = np.flatnonzero(~checked.plain & ~checked.open & ~checked.bad)
    single_rows = np.sort(np.concatenate([single_rows, *handed_back]))
    row_errors = {pos: tuple(errs) for pos, errs in checked.errors.items()}
    single_ok, single_results = _classify_one_by_one(table, single_rows, row_errors)

    vectorised = sum(len(part.rows) for part in parts)
    positions = np.sort(np.concatenate([part.rows for part in parts] + [single_ok]))
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    if row_column is not None:
        columns[row_column] = pa.array(numbers[positions], pa.int64())
    everything = len(positions) == n
    for name in keep:
        if name in table.column_names:
            column = table.column(name)
            columns[name] = column if everything else column.take(pa.array(positions))
    in_order = len(parts) == 1 and len(single_ok) == 0  # one vectorised part: input order
    slots = [None if in_order else np.searchsorted(positions, part.rows) for part in parts]
    single_slots = np.searchsorted(positions, single_ok)
    for key in RESULT_KEYS:
        coded = [(*part.column(key), slot) for part, slot in zip(parts, slots, strict=True)]
        strings = [r[key] for r in single_results]
        columns[key] = _merge(coded, strings, single_slots, len(positions))
    ids = table.column("id") if "id" in table.column_names else None
    errors = [
        RowError(int(numbers[pos]), ids[pos].as_py() if ids is not None else None, errs)
        for pos, errs in sorted(row_errors.items())
    ]
    return BatchResult(
        table=pa.table(columns),
        positions=positions,
        errors=errors,
        vectorised=vectorised,
        single=len(single_rows),
    )


@dataclass
class _Part:
    """Rows classified column-wise and their results (``kept``: which of the classifier's
    columns they are, None when all)."""

    rows: np.ndarray
    results: dict[str, tuple[np.ndarray, tuple[str, ...]]]
    kept: np.ndarray | None

    def column(self, key: str) -> tuple[np.ndarray, tuple[str, ...]]:
        index, names = self.results[key]
        return (index if self.kept is None else index[self.kept]), names


def _vectorised(classifier, rows: np.ndarray, checked, n: int) -> tuple[_Part | None, np.ndarray]:
    """Run a column-wise classifier (``classify_plain``/``classify_open``) on ``rows``: (the
    part it classified, or None for no rows; the rows it handed back to the single path)."""
    if len(rows) == 0:
        return None, rows
    results, back = classifier(_columns(checked.codes, rows, n), _columns(checked.non_key, rows, n))
    if not back.any():
        return _Part(rows, results, None), rows[back]
    return _Part(rows[~back], results, ~back), rows[back]


def _without_views(table: pa.Table) -> pa.Table:
    """String and binary *view* columns as ordinary ones (several Arrow kernels used here do
    not take views; the values are the same)."""
    for i, column in enumerate(table.columns):
        if pa.types.is_string_view(column.type):
            table = table.set_column(i, table.field(i).name, column.cast(pa.large_string()))
        elif pa.types.is_binary_view(column.type):
            table = table.set_column(i, table.field(i).name, column.cast(pa.large_binary()))
    return table


def _classify_one_by_one(
    table: pa.Table, rows: np.ndarray, row_errors: dict[int, tuple[FieldError, ...]]
) -> tuple[np.ndarray, list[dict[str, str]]]:
    """The single-exam engine on ``rows``: (positions classified, their results); rejected
    rows are added to ``row_errors``."""
    done: list[int] = []
    results: list[dict[str, str]] = []
    if len(rows) == 0:
        return np.asarray(done, dtype=np.int64), results
    used = [c for c in table.column_names if c in _KNOWN and c != "totals"]
    records = table.select(used).take(pa.array(rows)).to_pylist()
    for pos, record in zip(rows.tolist(), records, strict=True):
        try:
            results.append(classify(Exam.from_rhi(record)).to_rhi())
        except ExamValidationError as exc:
            row_errors[pos] = tuple(exc.errors)
            continue
        done.append(pos)
    return np.asarray(done, dtype=np.int64), results


def _columns(matrix: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """The columns (exams) ``rows`` of a per-row matrix, without a copy when that is all."""
    return matrix if len(rows) == n else np.take(matrix, rows, axis=1)


def _merge(
    coded: list[tuple[np.ndarray, tuple[str, ...], np.ndarray | None]],
    single: list[str],
    single_slots: np.ndarray,
    n: int,
) -> pa.Array:
    """One result column of ``n`` rows from vectorised parts (``names[index]`` at ``slots``;
    None: every row, in order) and single-path strings at ``single_slots``, decoded in a
    single Arrow take."""
    if not single and len(coded) == 1 and coded[0][2] is None:
        index, names, _ = coded[0]
        return _dictionary(names).take(pa.array(index))
    known: dict[str, int] = {}
    combined = np.empty(n, dtype=np.int32)
    for index, names, slots in coded:
        remap = np.fromiter((known.setdefault(v, len(known)) for v in names), np.int32, len(names))
        combined[slice(None) if slots is None else slots] = remap[index]
    if single:
        combined[single_slots] = np.fromiter(
            (known.setdefault(v, len(known)) for v in single), np.int32, len(single)
        )
    return _dictionary(tuple(known)).take(pa.array(combined))


@lru_cache(maxsize=64)
def _dictionary(names: tuple[str, ...]) -> pa.Array:
    return pa.array(names, pa.string())
