"""The ``cordtrial`` command line: one Typer app; each capability registers its commands."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

from . import __version__
from .instruments.commands import register as register_instruments
from .report.commands import register as register_report
from .standards.commands import register as register_standards
from .store.commands import register as register_store
from .web.commands import register as register_web

app = typer.Typer(
    name="cordtrial",
    help="Clinical research platform for autologous stem-cell therapy in spinal cord injury.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class InputFormat(StrEnum):
    auto = "auto"
    native = "native"
    rhi = "rhi"


class OutputFormat(StrEnum):
    native = "native"
    rhi = "rhi"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cordtrial {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """cordtrial: ISNCSCI engine, outcome instruments, trial store, web app and honest analysis."""


@app.command()
def classify(
    input: str = typer.Argument(
        ...,
        help="Exams: a .json file (one exam or an array), a .csv file (one exam per row, RHI columns), or - for stdin.",
    ),
    output: Path | None = typer.Option(
        None,
        "-o",
        "--output",
        help="Write results here (.json, or .csv for a table); default stdout (JSON).",
    ),
    input_format: InputFormat = typer.Option(
        InputFormat.auto, "--input-format", help="auto detects native (nested) or RHI (flat) exams."
    ),
    output_format: OutputFormat = typer.Option(
        OutputFormat.native,
        "--output-format",
        help="native: nested results; rhi: the 25 reference result fields.",
    ),
    explain: bool = typer.Option(False, "--explain", help="Add the reasons for each result."),
    jobs: int | None = typer.Option(
        None, "--jobs", min=1, help="Stream in chunks on N processes (large archives)."
    ),
    chunk_size: int | None = typer.Option(
        None, "--chunk-size", min=1, help="Exams per chunk when streaming."
    ),
    no_progress: bool = typer.Option(
        False, "--no-progress", help="No progress bar when streaming."
    ),
    ignore_unknown_columns: bool = typer.Option(
        False, "--ignore-unknown-columns", help="Streaming: ignore columns that are not RHI fields."
    ),
) -> None:
    """Classify ISNCSCI exams by the 2019 rules. Exit 1 if any exam was invalid (the others are still written), 2 on usage errors."""
    from .isncsci.batch_cli import wants_stream

    if input != "-" and wants_stream(input, str(output) if output else None, jobs, chunk_size):
        _classify_stream(
            input,
            output,
            jobs,
            chunk_size,
            explain,
            input_format,
            no_progress,
            ignore_unknown_columns,
        )
        return

    from .isncsci.io import (
        InputError,
        classify_records,
        error_lines,
        read_records,
        result_record,
        write_csv,
        write_json,
    )

    try:
        if input == "-":
            text, suffix = sys.stdin.read(), ""
        else:
            path = Path(input)
            if not path.is_file():
                raise InputError(f"input file not found: {input}")
            text, suffix = path.read_text(encoding="utf-8-sig"), path.suffix.lower()
            if suffix not in (".json", ".csv"):
                raise InputError(
                    f"unsupported input type {suffix or '(none)'}: use .json, .csv or -"
                )
        if output is not None and output.suffix.lower() not in (".json", ".csv"):
            raise InputError(
                f"unsupported output type {output.suffix or '(none)'}: use .json or .csv"
            )
        records = read_records(text, suffix)
    except (InputError, OSError, UnicodeDecodeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    results, failed = [], 0
    for outcome in classify_records(records, input_format.value):
        if outcome.error is not None:
            failed += 1
            for line in error_lines(outcome, records[outcome.index]):
                typer.echo(line, err=True)
        else:
            results.append(outcome.result)

    if output is not None and output.suffix.lower() == ".csv":
        text_out = write_csv(results, explain)
    else:
        text_out = write_json([result_record(r, output_format.value, explain) for r in results])
    if output is None:
        sys.stdout.write(text_out)
    else:
        output.write_text(text_out, encoding="utf-8")
    if failed:
        typer.echo(f"{len(results)} exams classified, {failed} failed", err=True)
        raise typer.Exit(1)


def _classify_stream(
    input,
    output,
    jobs,
    chunk_size,
    explain,
    input_format,
    no_progress,
    ignore_unknown_columns,
) -> None:
    """Large archives: JSON Lines / Parquet / CSV streamed in chunks (cordtrial.isncsci.batch)."""
    from rich.console import Console

    from .isncsci.batch import UnknownColumnsError
    from .isncsci.batch_cli import DEFAULT_CHUNK_SIZE, run_stream

    if explain or input_format == InputFormat.native:
        typer.echo(
            "error: streaming (.jsonl/.parquet, --jobs, --chunk-size) reads and writes the RHI naming only, without --explain",
            err=True,
        )
        raise typer.Exit(2)
    if not Path(input).is_file():
        typer.echo(f"error: input file not found: {input}", err=True)
        raise typer.Exit(2)
    try:
        _, failed = run_stream(
            input,
            str(output) if output else None,
            jobs=jobs or 1,
            chunk_size=chunk_size or DEFAULT_CHUNK_SIZE,
            progress=not no_progress,
            console=Console(stderr=True),
            ignore_unknown_columns=ignore_unknown_columns,
        )
    except (UnknownColumnsError, ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if failed:
        raise typer.Exit(1)


register_instruments(app)
register_store(app)
register_standards(app)
register_report(app)
register_web(app)
