"""Chunked readers and writers for exam files: CSV, JSON Lines and Parquet (via pyarrow).

A reader yields ``Chunk``s of at most ``chunk_size`` rows with the record number of each row
(1-based: the n-th data row of a CSV after its header, the n-th non-blank line of a JSON Lines
file, the n-th row of a Parquet file), so memory stays bounded by the chunk size whatever the
file size, and every error report names the record it is about. Records that cannot even be
read as a row (a CSV line with the wrong number of fields, a JSON line that is not an object)
come out as ``RowError``s of the chunk instead of stopping the run.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from ..exam import FieldError
from .columns import INPUT_COLUMNS
from .table import RowError, decode

FORMATS = ("csv", "jsonl", "parquet")
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
             ".pq": "parquet"}  # fmt: skip
# Every column the engine reads, and the metadata kept, is read as text: a cell is a word of the
# RHI vocabulary, never a number to infer (Exam.from_rhi reads str(value) in any case).
_TEXT_COLUMNS = {name: pa.string() for name in (*INPUT_COLUMNS, "id", "group")}
_BYTES_PER_ROW = 600  # rough size of one CSV exam row, to size pyarrow's read blocks


def format_of(path: str | Path, given: str | None = None) -> str:
    """The file format named by ``given`` or by the path's suffix."""
    if given is not None:
        if given not in FORMATS:
            raise ValueError(f"format: {given!r} is not allowed; allowed: {', '.join(FORMATS)}")
        return given
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(
            f"file {str(path)!r}: suffix {suffix!r} is not allowed; allowed: "
            f"{', '.join(sorted(_SUFFIXES))} (or name the format)"
        )
    return _SUFFIXES[suffix]


@dataclass
class Chunk:
    table: pa.Table
    records: np.ndarray  # record number of each row of ``table``
    unreadable: list[RowError] = field(default_factory=list)  # records that are not rows


def read_chunks(path: str | Path, chunk_size: int, fmt: str | None = None) -> Iterator[Chunk]:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size: {chunk_size!r} is not allowed; expected an integer >= 1")
    kind = format_of(path, fmt)
    if kind == "csv":
        return _read_csv(Path(path), chunk_size)
    if kind == "jsonl":
        return _read_jsonl(Path(path), chunk_size)
    return _read_parquet(Path(path), chunk_size)


def count_records(path: str | Path, fmt: str | None = None) -> int | None:
    """Rows in the file when known without reading it (Parquet metadata), else None."""
    if format_of(path, fmt) == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    return None


def _read_parquet(path: Path, chunk_size: int) -> Iterator[Chunk]:
    # Memory is bounded by the chunk and by the file's row-group size (pyarrow reads a column
    # chunk of a row group at a time); cordtrial writes row groups of one output chunk.
    source = pq.ParquetFile(path)
    start = 1
    for batch in source.iter_batches(batch_size=chunk_size):
        table = pa.Table.from_batches([batch])
        yield Chunk(table, np.arange(start, start + table.num_rows))
        start += table.num_rows


def _read_csv(path: Path, chunk_size: int) -> Iterator[Chunk]:
    skipped: dict[int, str] = {}  # data row number -> its text

    def invalid(row: pacsv.InvalidRow) -> str:
        skipped[(row.number or 0) - 1] = row.text  # line 1 is the header
        return "skip"

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            use_threads=False, block_size=max(1 << 20, chunk_size * _BYTES_PER_ROW)
        ),
        parse_options=pacsv.ParseOptions(invalid_row_handler=invalid),
        convert_options=pacsv.ConvertOptions(
            column_types=_TEXT_COLUMNS, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )
    width = len(reader.schema)
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    next_record = 1

    def emit(batches: list[pa.RecordBatch]) -> Chunk:
        nonlocal next_record
        table = pa.Table.from_batches(batches, schema=reader.schema)
        records, bad = [], []
        while len(records) < table.num_rows:
            if next_record in skipped:
                bad.append(_unreadable(next_record, skipped.pop(next_record), width))
            else:
                records.append(next_record)
            next_record += 1
        return Chunk(table, np.asarray(records, dtype=np.int64), bad)

    for batch in reader:
        pending.append(batch)
        pending_rows += batch.num_rows
        while pending_rows >= chunk_size:
            table = pa.Table.from_batches(pending, schema=reader.schema)
            head, rest = table.slice(0, chunk_size), table.slice(chunk_size)
            yield emit(head.to_batches())
            pending = rest.to_batches()
            pending_rows = rest.num_rows
    if pending_rows or skipped:
        chunk = emit(pending)
        chunk.unreadable += [_unreadable(n, t, width) for n, t in sorted(skipped.items())]
        yield chunk


def _unreadable(record: int, text: str, width: int) -> RowError:
    shown = text if len(text) <= 60 else text[:57] + "..."
    return RowError(record, None, (FieldError("row", shown, f"{width} comma-separated fields"),))


def _read_jsonl(path: Path, chunk_size: int) -> Iterator[Chunk]:
    """Blocks of ``chunk_size`` non-blank lines; each block is parsed by Arrow's JSON reader
    with the RHI fields typed as text, and only a block that Arrow rejects (a line that is not
    an object, a number or boolean in an RHI field) is parsed line by line, so that every bad
    line is reported on its own and numbers are read as ``str(number)``."""
    block: list[bytes] = []
    first = 1
    with path.open("rb") as lines:
        for line in lines:
            if not line.strip():
                continue
            block.append(line if line.endswith(b"\n") else line + b"\n")
            if len(block) == chunk_size:
                yield _jsonl_block(block, first)
                first += len(block)
                block = []
    if block:
        yield _jsonl_block(block, first)


_JSON_TEXT = pa.schema([(name, pa.string()) for name in INPUT_COLUMNS])


def _jsonl_block(block: list[bytes], first: int) -> Chunk:
    try:
        table = pajson.read_json(
            io.BytesIO(b"".join(block)),
            read_options=pajson.ReadOptions(use_threads=False),
            parse_options=pajson.ParseOptions(
                explicit_schema=_JSON_TEXT, unexpected_field_behavior="infer"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return _jsonl_lines(block, first)
    if table.num_rows == len(block):
        return Chunk(table, np.arange(first, first + len(block)))
    return _jsonl_lines(block, first)


def _jsonl_lines(block: list[bytes], first: int) -> Chunk:
    rows: list[dict[str, Any]] = []
    records: list[int] = []
    bad: list[RowError] = []
    for record, line in enumerate(block, start=first):
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            row = None
        if not isinstance(row, dict):
            text = line.decode("utf-8", "replace").strip()
            shown = text[:57] + ("..." if len(text) > 57 else "")
            allowed = "a JSON object of RHI fields on one line"
            bad.append(RowError(record, None, (FieldError("line", shown, allowed),)))
            continue
        rows.append(row)
        records.append(record)
    return Chunk(_rows_to_table(rows), np.asarray(records, dtype=np.int64), bad)


def _rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """JSON objects as a table of text columns (missing keys are null). Numbers become their
    text as ``Exam.from_rhi`` reads them (``str(2)``); other JSON values (true, 2.5, lists)
    keep their JSON text, so they are reported as not allowed with that text."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return pa.table({name: pa.array([_text(row.get(name)) for row in rows], pa.string())
                     for name in names})  # fmt: skip


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value)


class Writer:
    """Writes result tables chunk by chunk to a CSV, JSON Lines or Parquet file, or stdout."""

    def __init__(self, path: str | Path | None, fmt: str) -> None:
        self.format = fmt
        self.path = path
        self._stream: IO[Any] | None = None
        self._writer: Any = None
        self._schema: pa.Schema | None = None

    def write(self, table: pa.Table) -> None:
        table = decode(table)  # result fields as plain strings, one schema for every chunk
        if self._schema is None:
            self._schema = table.schema
            self._open()
        table = table.cast(self._schema)
        if self.format == "parquet":
            self._writer.write_table(table)
        elif self.format == "csv":
            self._writer.write_table(table)
        else:
            if table.num_rows:
                text = table.to_pandas().to_json(orient="records", lines=True, force_ascii=False)
                self._stream.write(text if text.endswith("\n") else text + "\n")  # type: ignore[union-attr]

    def _open(self) -> None:
        if self.format == "parquet":
            if self.path is None:
                raise ValueError("output: Parquet needs a file path; allowed: a .parquet path")
            self._writer = pq.ParquetWriter(self.path, self._schema)
        elif self.format == "csv":
            sink = sys.stdout.buffer if self.path is None else pa.OSFile(str(self.path), "wb")
            self._stream = sink
            self._writer = pacsv.CSVWriter(sink, self._schema)
        else:
            self._stream = (
                sys.stdout if self.path is None else open(self.path, "w", encoding="utf-8")  # noqa: SIM115
            )

    def close(self, empty_schema: pa.Schema | None = None) -> None:
        if self._schema is None and empty_schema is not None:
            self._schema = empty_schema
            self._open()
            if self.format == "csv" or self.format == "parquet":
                self._writer.write_table(empty_schema.empty_table())
        if self._writer is not None and self.format in ("csv", "parquet"):
            self._writer.close()
        if self._stream is not None and self.path is not None:
            self._stream.close()
        elif self._stream is not None:
            self._stream.flush()
