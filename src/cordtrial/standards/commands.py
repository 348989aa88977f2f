"""Standards commands for the ``cordtrial`` CLI (registered by cli.py after the store's):

cordtrial export --format csv|parquet|sdtm|odm|redcap|sas|spss|stata [--out DIR] [--identified]
cordtrial import odm FILE --user USERNAME
cordtrial import redcap RECORDS.csv --user USERNAME
"""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import select

from cordtrial.store import commands as store_cli
from cordtrial.store import db

ALL = ("csv", "parquet", "sdtm", "odm", "redcap", "sas", "spss", "stata")


def _import_group(app: typer.Typer) -> typer.Typer:
    for group in app.registered_groups:
        if group.name == "import":
            return group.typer_instance
    group = typer.Typer(help="Import data files.", no_args_is_help=True)
    app.add_typer(group, name="import")
    return group


def _run_import(kind: str, file: Path, user: str, database_url: str | None) -> None:
    from cordtrial.store.models import User
    from cordtrial.store.refusals import Refusal

    from .clinical_import import import_records

    url = store_cli._url(database_url)
    store_cli._ready(url)
    try:
        if kind == "odm":
            from .odm_read import read_odm

            content = read_odm(file)
            sites, records, problems = content.sites, content.records, content.errors
        else:
            from .redcap import read_redcap

            sites, records, problems = read_redcap(file)
    except ValueError as exc:
        store_cli._fail(str(exc), 2)
    if problems:
        store_cli._fail(f"{file}: REJECTED, nothing imported:\n  " + "\n  ".join(problems[:200]), 2)
    try:
        with store_cli._progress() as prog, db.session_scope(url) as s:
            acting = s.scalar(select(User).where(User.username == user))
            if acting is None:
                store_cli._fail(f"--user: no user {user!r} in the store")
            task = prog.add_task(f"importing {file.name}", total=None)
            report = import_records(
                s,
                acting,
                sites,
                records,
                str(file),
                progress=lambda n, total: prog.update(task, completed=n, total=total),
            )
            if not report.ok:
                s.rollback()
    except Refusal as exc:
        store_cli._fail(exc.message)
    if not report.ok:
        typer.echo(report.summary(), err=True)
        raise typer.Exit(2)
    typer.echo(report.summary())


def register(app: typer.Typer) -> None:
    """Add `export` (the store's tables and every data standard) and the standard imports."""
    imports = _import_group(app)

    @app.command("export")
    def export(
        format: str = typer.Option("csv", "--format", help=", ".join(ALL)),
        out: Path = typer.Option(Path("export"), "--out", help="Output folder."),
        identified: bool = typer.Option(
            False,
            "--identified",
            help="Include identifying data (csv/parquet: identity table, audit trail; standards: free text).",
        ),
        database_url: str | None = store_cli.DB_URL,
    ) -> None:
        """Export the trial: tables (csv, parquet) or a data standard (SDTM, ODM, REDCap, SAS, SPSS, Stata); de-identified by default."""
        if format not in ALL:
            store_cli._fail(f"--format: got {format!r}; allowed: {', '.join(ALL)}")
        url = store_cli._url(database_url)
        store_cli._ready(url)
        kind = "identified" if identified else "de-identified"
        if format in ("csv", "parquet"):
            from cordtrial.store.export import export_tables

            with db.session_scope(url) as s:
                paths = export_tables(s, out, format, identified=identified)
            typer.echo(f"wrote {len(paths)} {kind} {format} tables to {out}")
            return
        from .export import write_export

        with store_cli._progress() as prog, db.session_scope(url) as s:
            prog.add_task(f"writing {format}", total=None)
            paths = write_export(format, s, out, identified=identified)
        typer.echo(f"wrote {len(paths)} {kind} {format} files to {out}")

    @imports.command("odm")
    def import_odm(
        file: Path = typer.Argument(
            ..., exists=True, dir_okay=False, help="CDISC ODM 1.3.2 file written by cordtrial"
        ),
        user: str = typer.Option(
            ..., "--user", envvar="CORDTRIAL_USER", help="Importing investigator."
        ),
        database_url: str | None = store_cli.DB_URL,
    ) -> None:
        """Import clinical data from ODM 1.3.2: all subjects or none, every exam re-classified."""
        _run_import("odm", file, user, database_url)

    @imports.command("redcap")
    def import_redcap(
        file: Path = typer.Argument(
            ...,
            exists=True,
            dir_okay=False,
            help="REDCap raw records CSV of a project built from cordtrial's dictionary",
        ),
        user: str = typer.Option(
            ..., "--user", envvar="CORDTRIAL_USER", help="Importing investigator."
        ),
        database_url: str | None = store_cli.DB_URL,
    ) -> None:
        """Import a REDCap record export: all subjects or none, every exam re-classified."""
        _run_import("redcap", file, user, database_url)
