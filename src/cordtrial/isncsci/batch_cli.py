"""``cordtrial classify`` for large inputs: stream a file of exams through the batch path.

The lead's CLI (src/cordtrial/cli.py) calls ``run_stream`` when the input or output is JSON
Lines or Parquet or when ``--jobs``/``--chunk-size`` are given. Results are written chunk by
chunk; bad records are reported on stderr as ``row N: field: value not allowed; allowed: ...``
and skipped, and a summary says how many were classified and how many failed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import pyarrow as pa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .batch.parallel import ROW_COLUMN, classify_chunks
from .batch.stream import Writer, count_records, format_of, read_chunks
from .classification import RESULT_KEYS

DEFAULT_CHUNK_SIZE = 50_000


#: Suffixes that always take the streaming path (the small-file CLI reads JSON and CSV).
STREAM_SUFFIXES = frozenset({".jsonl", ".ndjson", ".parquet", ".pq"})


def wants_stream(
    input_path: str, output_path: str | None, jobs: int | None, chunk_size: int | None
) -> bool:
    """Whether ``cordtrial classify`` should use ``run_stream``: a JSON Lines or Parquet input
    or output, or ``--jobs``/``--chunk-size`` given."""
    paths = [input_path] + ([output_path] if output_path else [])
    return (
        any(Path(p).suffix.lower() in STREAM_SUFFIXES for p in paths)
        or jobs is not None
        or chunk_size is not None
    )


def output_format(input_path: str, output_path: str | None) -> str:
    """Format of the output: from its suffix, else CSV for CSV input and JSON Lines otherwise
    (stdout)."""
    if output_path is not None:
        return format_of(output_path)
    return "csv" if format_of(input_path) == "csv" else "jsonl"


def run_stream(
    input_path: str,
    output_path: str | None,
    *,
    jobs: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool = True,
    console: Console | None = None,
    ignore_unknown_columns: bool = False,
    errors: TextIO | None = None,
) -> tuple[int, int]:
    """Classify every exam of ``input_path`` (CSV, JSON Lines or Parquet, by suffix) into
    ``output_path`` (same formats; None: stdout). Returns (classified, failed).

    Each output row has ``row`` (the input record number), ``id`` when the input has one, and
    the 25 result fields. ``progress`` shows a Rich progress bar when ``console`` is a terminal;
    the summary goes to ``console`` (give one on stderr when the output is stdout), bad-record
    lines to ``errors`` (default stderr). Raises ``UnknownColumnsError`` for columns that are
    neither RHI fields nor metadata unless ``ignore_unknown_columns``, and ``ValueError`` for a
    bad path, format, ``jobs`` or ``chunk_size``.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs: {jobs!r} is not allowed; expected an integer >= 1")
    console = console or Console(stderr=True)
    show_bar = progress and console.is_terminal
    out_format = output_format(input_path, output_path)
    total = count_records(input_path)
    chunks = read_chunks(input_path, chunk_size)
    writer = Writer(output_path, out_format)
    classified = failed = 0
    kinds = [0, 0, 0]
    unknown = "ignore" if ignore_unknown_columns else "error"
    bar = Progress(
        TextColumn("classifying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not show_bar,
        redirect_stdout=False,  # results may be going to stdout
        redirect_stderr=False,
    )

    def report(line: str) -> None:
        if errors is not None:
            print(line, file=errors)
        elif show_bar and console.stderr:
            console.print(line, markup=False, highlight=False, soft_wrap=True)  # above the bar
        else:
            print(line, file=sys.stderr)

    try:
        with bar:
            task = bar.add_task("exams", total=total)
            for result in classify_chunks(chunks, jobs=jobs, unknown_columns=unknown):
                writer.write(result.table)
                for row_error in result.errors:
                    for line in row_error.lines():
                        report(line)
                classified += result.table.num_rows
                failed += len(result.errors)
                kinds = [a + b for a, b in zip(kinds, result.kinds, strict=True)]
                bar.advance(task, result.rows)
    except BaseException:
        writer.close()  # keep what was written; create nothing if nothing was
        raise
    writer.close(empty_schema=_empty_schema())
    console.print(
        f"classified {classified:,} exam(s), failed {failed:,} "
        f"(plain {kinds[0]:,}, with NT cells {kinds[1]:,}, with flags {kinds[2]:,})",
        highlight=False,
        soft_wrap=True,
    )
    return classified, failed


def _empty_schema() -> pa.Schema:
    return pa.schema([(ROW_COLUMN, pa.int64()), *((k, pa.string()) for k in RESULT_KEYS)])


def main(argv: list[str] | None = None) -> int:
    """``python -m cordtrial.isncsci.batch_cli INPUT [-o OUTPUT] [--jobs N] [--chunk-size N]``:
    the streaming classifier without the rest of the CLI (used by benchmarks/bench_batch.py).
    Exit status 0 when every exam was classified, 1 when some failed, 2 on a usage error."""
    import argparse

    from .batch.table import UnknownColumnsError

    parser = argparse.ArgumentParser(prog="python -m cordtrial.isncsci.batch_cli")
    parser.add_argument("input")
    parser.add_argument("-o", "--output")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--ignore-unknown-columns", action="store_true")
    args = parser.parse_args(argv)
    try:
        _, failed = run_stream(
            args.input,
            args.output,
            jobs=args.jobs,
            chunk_size=args.chunk_size,
            progress=not args.no_progress,
            console=Console(stderr=True),
            ignore_unknown_columns=args.ignore_unknown_columns,
        )
    except (UnknownColumnsError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
