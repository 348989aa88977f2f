"""Batch ISNCSCI classification for registries: whole tables of exams at once.

>>> from cordtrial.isncsci.batch import classify_batch
>>> results = classify_batch(df)  # pandas DataFrame or Arrow table in the RHI column naming

Plain exams are classified column-wise in NumPy (``vectorised``); every other row goes through
the single-exam engine, so the results equal ``classify(Exam.from_rhi(row)).to_rhi()`` for every
row. See docs/batch.md for streaming files, ``--jobs`` and Dask.
"""

from .frame import BatchValidationError, classify_batch
from .table import BatchResult, RowError, UnknownColumnsError, classify_table

__all__ = [
    "BatchResult",
    "BatchValidationError",
    "RowError",
    "UnknownColumnsError",
    "classify_batch",
    "classify_table",
]
