"""Classify a stream of chunks on several cores (``--jobs N``).

Chunks go to a ``ProcessPoolExecutor`` (processes: NumPy releases the GIL only inside each
operation, and a chunk's classification is thousands of them) with at most ``2 * jobs`` chunks
in flight, so memory stays bounded by a few
chunks per worker however long the input; results come back in input order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

from .stream import Chunk
from .table import RowError, classify_table

ROW_COLUMN = "row"


@dataclass
class ChunkResult:
    table: pa.Table  # row, id (when the input has one), the 25 result fields
    errors: list[RowError] = field(default_factory=list)  # in record order
    rows: int = 0  # records in the chunk, classified or not
    kinds: tuple[int, int, int] = (0, 0, 0)  # classified rows: plain, with NT, with flags


def classify_chunk(
    chunk: Chunk, unknown_columns: Literal["error", "ignore"] = "error"
) -> ChunkResult:
    """One chunk of a file: its result table (ids as text) and every error of its records."""
    table = chunk.table
    if "id" in table.column_names and table.schema.field("id").type != pa.string():
        table = table.set_column(
            table.column_names.index("id"), "id", table.column("id").cast(pa.string())
        )
    result = classify_table(
        table,
        row_numbers=chunk.records,
        keep=("id",),
        row_column=ROW_COLUMN,
        unknown_columns=unknown_columns,
    )
    errors = sorted(result.errors + chunk.unreadable, key=lambda e: e.row)
    return ChunkResult(
        result.table,
        errors,
        table.num_rows + len(chunk.unreadable),
        (result.plain, result.not_testable, result.flagged),
    )


def classify_chunks(
    chunks: Iterable[Chunk],
    jobs: int = 1,
    unknown_columns: Literal["error", "ignore"] = "error",
) -> Iterator[ChunkResult]:
    """Results of ``chunks`` in order, computed here (``jobs=1``) or by ``jobs`` processes."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs: {jobs!r} is not allowed; expected an integer >= 1")
    if jobs == 1:
        for chunk in chunks:
            yield classify_chunk(chunk, unknown_columns)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        pending: deque[Future[ChunkResult]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(classify_chunk, chunk, unknown_columns))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
