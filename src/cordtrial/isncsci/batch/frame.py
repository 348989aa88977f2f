"""``classify_batch``: a pandas DataFrame or Arrow table in, the same kind out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from .table import BatchResult, RowError, classify_table, decode

STATS_KEY = "cordtrial.batch"


class BatchValidationError(ValueError):
    """Some rows could not be classified (``errors="raise"``); ``row_errors`` lists them."""

    def __init__(self, row_errors: list[RowError]) -> None:
        self.row_errors = row_errors
        shown = [line for e in row_errors[:5] for line in e.lines()]
        more = f" (and {len(row_errors) - 5} more rows)" if len(row_errors) > 5 else ""
        super().__init__(f"{len(row_errors)} row(s) not classified: " + "; ".join(shown) + more)


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """A DataFrame as an Arrow table; a column Arrow cannot type (mixed str and int, say) is
    kept as text so that each value is read as ``Exam.from_rhi`` would read ``str(value)``."""
    arrays = {}
    for name in frame.columns:
        series = frame[name]
        try:
            arrays[str(name)] = pa.Array.from_pandas(series)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays[str(name)] = pa.array(
                [None if _missing(v) else str(v) for v in series], pa.string()
            )
    return pa.table(arrays)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def classify_batch(
    table: pd.DataFrame | pa.Table | pa.RecordBatch,
    *,
    errors: Literal["raise", "skip", "column"] = "raise",
    keep: Sequence[str] = ("id",),
    unknown_columns: Literal["error", "ignore"] = "error",
) -> pd.DataFrame | pa.Table:
    """Classify every exam (row) of ``table``; return the ``keep`` columns present (``id`` by
    default) and the 25 result fields (``RESULT_KEYS``, strings), one row per exam, in order.

    ``errors="raise"`` raises ``BatchValidationError`` when any row is invalid; ``"skip"``
    leaves such rows out (a DataFrame keeps the input index, so skipped rows are visible);
    ``"column"`` keeps every row, with null results and an ``errors`` column (``field: value
    not allowed; allowed: ...``, ``; ``-joined) for the invalid ones, null for the others.
    How many rows went each way is in ``df.attrs["cordtrial.batch"]`` or the Arrow schema
    metadata under the same key. An Arrow table comes back with the result fields
    dictionary-encoded (``BatchResult.decoded`` / ``table.decode`` for plain strings).
    """
    if errors not in ("raise", "skip", "column"):
        raise ValueError(f"errors: {errors!r} is not allowed; allowed: raise, skip, column")
    if isinstance(table, pd.DataFrame):
        arrow = to_arrow(table)
        result = classify_table(arrow, keep=keep, unknown_columns=unknown_columns)
        _raise_if(result, errors)
        out = _with_error_column(result, arrow, keep) if errors == "column" else result.table
        frame = decode(out).to_pandas()
        frame.index = table.index if errors == "column" else table.index[result.positions]
        frame.attrs[STATS_KEY] = stats(result)
        return frame
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    if not isinstance(table, pa.Table):
        raise TypeError(
            f"table: {type(table).__name__} is not allowed; allowed: pandas.DataFrame, "
            "pyarrow.Table, pyarrow.RecordBatch"
        )
    result = classify_table(table, keep=keep, unknown_columns=unknown_columns)
    _raise_if(result, errors)
    if errors == "column":
        result.table = _with_error_column(result, table, keep)
    meta = {STATS_KEY: ",".join(f"{k}={v}" for k, v in stats(result).items())}
    return result.table.replace_schema_metadata(meta)


def _with_error_column(result: BatchResult, source: pa.Table, keep: Sequence[str]) -> pa.Table:
    """Every input row in order: kept columns, results (null for failed rows) and an
    ``errors`` column (null for classified rows)."""
    n = source.num_rows
    slot = np.full(n, -1, dtype=np.int64)
    slot[result.positions] = np.arange(len(result.positions))
    indices = pa.array(slot, mask=slot < 0)
    columns = {}
    for name in result.table.column_names:
        kept = name in keep and name in source.column_names
        columns[name] = source.column(name) if kept else result.table.column(name).take(indices)
    messages: list[str | None] = [None] * n
    for row_error in result.errors:
        messages[row_error.row - 1] = "; ".join(row_error.messages())  # rows numbered from 1
    columns["errors"] = pa.array(messages, pa.string())
    return pa.table(columns)


def stats(result: BatchResult) -> dict[str, int]:
    return {
        "classified": result.classified,
        "failed": result.failed,
        "plain": result.plain,
        "not_testable": result.not_testable,
        "flagged": result.flagged,
    }


def _raise_if(result: BatchResult, errors: str) -> None:
    if errors == "raise" and result.errors:
        raise BatchValidationError(result.errors)
