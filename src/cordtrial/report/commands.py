"""``cordtrial report``: build the trial report (one self-contained HTML file, optional PDF).

Wire into the main CLI with ``cordtrial.report.commands.register(app)``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:  # the analysis stack (pandas, statsmodels) loads only when a report runs
    from cordtrial.analysis.tables import AnalysisTables


def _load(from_dir: Path | None, database_url: str | None) -> tuple[AnalysisTables, str]:
    if from_dir is not None:
        from cordtrial.analysis.csv_io import read_tables_dir

        return read_tables_dir(from_dir), f"CSV tables in {from_dir}"
    # Imported lazily: the store (SQLAlchemy, migrations) is only needed without --from-dir.
    from cordtrial.store.db import session_scope
    from cordtrial.store.tables import analysis_tables, data_source

    with session_scope(database_url) as session:
        return analysis_tables(session), data_source(session)


def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    pdf: Annotated[bool, typer.Option("--pdf", help="Also print a PDF (needs Chromium).")] = False,
    from_dir: Annotated[
        Path | None,
        typer.Option(
            "--from-dir",
            help="Read patients.csv, exams.csv, ... from this directory instead of the database.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Database URL (default: configured).")
    ] = None,
    example: Annotated[
        bool, typer.Option("--example", help="Use the shipped SYNTHETIC example trial.")
    ] = False,
) -> None:
    """Write the trial report: trajectories, responders, natural-history comparator,
    self-controlled analyses, walking prediction, safety, power, methods and limitations."""
    from cordtrial.analysis.tables import TableContractError
    from cordtrial.report.builder import build
    from cordtrial.report.render import html_to_pdf, render_html

    console = Console(stderr=True)
    started = time.perf_counter()
    try:
        if example:
            from cordtrial.analysis.datasets import load_example

            tables, source = load_example(), "shipped synthetic example trial"
        else:
            tables, source = _load(from_dir, database_url)
    except (TableContractError, FileNotFoundError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("validating tables", total=None)
        rep = build(
            tables, data_source=source, progress=lambda msg: progress.update(task, description=msg)
        )
        progress.update(task, description="rendering HTML")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_html(rep), encoding="utf-8")
        if pdf:
            progress.update(task, description="printing PDF")
            try:
                html_to_pdf(out, out.with_suffix(".pdf"))
            except RuntimeError as exc:
                console.print(f"[yellow]PDF skipped:[/yellow] {exc}")
    for w in rep.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    console.print(
        f"wrote {out} ({out.stat().st_size // 1024} KiB, "
        f"{time.perf_counter() - started:.1f} s)"
        + (f" and {out.with_suffix('.pdf')}" if pdf and out.with_suffix(".pdf").exists() else "")
    )


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to a Typer app."""
    app.command("report")(report)
