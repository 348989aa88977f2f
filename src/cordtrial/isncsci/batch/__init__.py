"""Batch ISNCSCI classification for registries: whole tables of exams at once.

>>> from cordtrial.isncsci.batch import classify_batch
>>> results = classify_batch(df)  # pandas DataFrame or Arrow table in the RHI column naming

Every exam is classified column-wise in NumPy by the engine's own rules (a single exam is a
batch of one), so the results equal ``classify(Exam.from_rhi(row)).to_rhi()`` for every row.
See docs/batch.md for streaming files, ``--jobs`` and Dask.
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
