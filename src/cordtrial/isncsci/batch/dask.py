"""The batch path on Dask DataFrame partitions, for archives beyond one machine.

>>> import dask.dataframe as dd
>>> from cordtrial.isncsci.batch.dask import classify_dask
>>> exams = dd.read_parquet("s3://registry/exams/")        # RHI columns, one exam per row
>>> results = classify_dask(exams)                          # lazy: one classify_batch per partition
>>> results.to_parquet("s3://registry/classified/")

Each partition is classified by ``classify_batch`` (column-wise, the engine's own rules), so
results equal the single-exam path row by row. Invalid rows are never dropped
silently: with the default ``errors="column"`` every input row is kept and the invalid ones
carry null results and an ``errors`` message; ``errors="raise"`` fails the computation on the
first partition with an invalid row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pandas as pd

from ..classification import RESULT_KEYS
from .frame import classify_batch


def result_meta(
    columns: Sequence[str], keep: Sequence[str] = ("id",), errors: str = "column"
) -> pd.DataFrame:
    """Empty frame with the columns and dtypes ``classify_batch`` returns for a partition."""
    names = [name for name in keep if name in columns] + list(RESULT_KEYS)
    if errors == "column":
        names.append("errors")
    return pd.DataFrame({name: pd.Series([], dtype="str") for name in names})


def classify_dask(
    frame,
    *,
    errors: Literal["raise", "column"] = "column",
    keep: Sequence[str] = ("id",),
    unknown_columns: Literal["error", "ignore"] = "error",
):
    """Lazily classify every row of a ``dask.dataframe.DataFrame`` in the RHI naming."""
    if errors not in ("raise", "column"):
        raise ValueError(f"errors: {errors!r} is not allowed; allowed: raise, column")
    meta = result_meta(list(frame.columns), keep, errors)
    return frame.map_partitions(
        _classify_partition,
        errors=errors,
        keep=tuple(keep),
        unknown_columns=unknown_columns,
        meta=meta,
    )


def _classify_partition(part: pd.DataFrame, **options) -> pd.DataFrame:
    out = classify_batch(part, **options)
    out.attrs.clear()  # Dask concatenates partitions; per-partition counts would not add up
    return out
