"""Store commands for the ``cordtrial`` CLI; the CLI calls :func:`register`.

    cordtrial db upgrade
    cordtrial import exams FILE --user USERNAME
    cordtrial backup FILE / cordtrial restore FILE
    cordtrial demo-data [--seed N] [--reset]
    cordtrial audit verify

Every command takes ``--database-url`` (default: CORDTRIAL_DATABASE_URL, else
./cordtrial.sqlite).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import select

from . import audit, db
from . import audit_anchor as anchor
from .config import ConfigError, redact
from .refusals import Refusal

DB_URL = typer.Option(
    None,
    "--database-url",
    envvar="CORDTRIAL_DATABASE_URL",
    help="Database URL (default ./cordtrial.sqlite).",
)
console = Console(stderr=True)


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    )


def _url(url: str | None) -> str:
    try:
        return db.database_url(url)
    except ConfigError as exc:
        _fail(str(exc))


def _ready(url: str) -> None:
    if not db.is_initialised(url):
        _fail(f"no cordtrial store at {redact(url)}; run `cordtrial db upgrade` first")


def register(app: typer.Typer) -> None:
    """Add the store's commands to the application."""
    db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
    import_app = typer.Typer(help="Import data files.", no_args_is_help=True)
    audit_app = typer.Typer(help="Audit trail.", no_args_is_help=True)
    users_app = typer.Typer(
        help="Accounts (the rest is done in the web app).", no_args_is_help=True
    )
    app.add_typer(users_app, name="users")
    app.add_typer(db_app, name="db")
    app.add_typer(import_app, name="import")
    app.add_typer(audit_app, name="audit")

    @db_app.command("upgrade")
    def db_upgrade(database_url: str | None = DB_URL) -> None:
        """Create the store or bring its schema up to date (SQLite file created on first use)."""
        url = _url(database_url)
        db.upgrade(url)
        typer.echo(f"store at {redact(url)} is at schema revision {db.current_revision(url)}")

    @import_app.command("exams")
    def import_exams(
        file: Path = typer.Argument(
            ..., exists=True, dir_okay=False, help="RHI exams, .csv or .json"
        ),
        user: str = typer.Option(
            ...,
            "--user",
            envvar="CORDTRIAL_USER",
            help="Importing user (assessor or investigator).",
        ),
        database_url: str | None = DB_URL,
    ) -> None:
        """Import ISNCSCI exams: all rows or none, with a report of bad rows."""
        from .importer import ImportFileError
        from .importer import import_exams as run
        from .models import User

        url = _url(database_url)
        _ready(url)
        tasks: dict[str, int] = {}
        try:
            with _progress() as prog, db.session_scope(url) as s:
                acting = s.scalar(select(User).where(User.username == user))
                if acting is None:
                    _fail(f"--user: no user {user!r} in the store")

                def step(phase: str, done: int, total: int) -> None:
                    if phase not in tasks:
                        tasks[phase] = prog.add_task(f"{phase} {file.name}", total=total)
                    prog.update(tasks[phase], completed=done)
                    if not console.is_terminal and done % 100 == 0:
                        typer.echo(f"{phase} {done}/{total}", err=True)

                report = run(s, acting, file, progress=step)
                if not report.ok:
                    s.rollback()
        except ImportFileError as exc:
            _fail(str(exc))
        except Refusal as exc:
            _fail(exc.message)
        if not report.ok:
            typer.echo(report.summary(), err=True)
            raise typer.Exit(2)
        typer.echo(report.summary())

    @app.command("backup")
    def backup(
        file: Path = typer.Argument(
            ...,
            help="Backup file to write (a .zip name), or a folder (any other name): then a "
            "file named by the UTC time is written there (for scheduled backups).",
        ),
        keep: int = typer.Option(
            None,
            "--keep",
            min=1,
            help="With a folder: keep only the newest N backups in it.",
        ),
        database_url: str | None = DB_URL,
    ) -> None:
        """Write a consistent, checksummed backup of the whole store (not the audit key)."""
        from .backup import prune_backups, timestamped_name, write_backup

        url = _url(database_url)
        _ready(url)
        folder = file.is_dir() or file.suffix.lower() != ".zip"
        target = file / timestamped_name() if folder else file
        target.parent.mkdir(parents=True, exist_ok=True)
        with db.session_scope(url) as s:
            manifest = write_backup(s, target, db.current_revision(url))
        rows = sum(t["rows"] for t in manifest["tables"].values())
        typer.echo(f"backed up {rows} rows from {len(manifest['tables'])} tables to {target}")
        head = manifest["audit_head"]
        if head:
            anchor.write_checkpoint(url, head["seq"], head["hash"])
            typer.echo(
                f"audit trail head: {head['seq']}:{head['hash']} (check it later with "
                "`cordtrial audit verify --head SEQ:HASH`)"
            )
        if keep and folder:
            for old in prune_backups(file, keep):
                typer.echo(f"removed old backup {old.name}")

    @app.command("restore")
    def restore(
        file: Path = typer.Argument(..., exists=True, dir_okay=False),
        audit_key: Path = typer.Option(
            None,
            "--audit-key",
            exists=True,
            dir_okay=False,
            help="The source store's audit key file (backups never hold it).",
        ),
        database_url: str | None = DB_URL,
    ) -> None:
        """Restore a backup into an empty store (upgraded here if new)."""
        from .backup import BackupError, restore_backup

        url = _url(database_url)
        db.upgrade(url)
        try:
            with db.session_scope(url) as s:
                report = restore_backup(s, file, db.current_revision(url), audit_key)
                if not report.ok:
                    s.rollback()
        except BackupError as exc:
            _fail(str(exc))
        if not report.ok:
            _fail(
                "restored data fail the audit check; nothing restored:\n  "
                + "\n  ".join(report.problems)
            )
        typer.echo(f"restored {report.rows} rows; audit trail verified ({report.entries} entries)")

    @app.command("demo-data")
    def demo_data(
        seed: int = typer.Option(2021, "--seed", help="Random seed (same seed, same trial)."),
        reset: bool = typer.Option(False, "--reset", help="Drop EVERYTHING in the store first."),
        database_url: str | None = DB_URL,
    ) -> None:
        """Seed a SYNTHETIC demo trial: the 13-patient case series (natural-history recovery, no
        real data) and patients at every stage of the pipeline, dated back from today."""
        from .demo import DemoError, demo_size, demo_usernames, seed_demo

        url = _url(database_url)
        if reset:
            db.reset(url)
        db.upgrade(url)
        try:
            with _progress() as prog, db.session_scope(url) as s:
                task = prog.add_task("seeding synthetic trial", total=demo_size())
                passwords = seed_demo(s, seed=seed, progress=lambda _msg: prog.advance(task))
        except DemoError as exc:
            _fail(str(exc))
        table = Table(title="Demo accounts (SYNTHETIC trial; shown once)")
        for col in ("role", "usernames", "password"):
            table.add_column(col)
        for role, names in demo_usernames().items():
            table.add_row(role, ", ".join(names), passwords[role])
        Console().print(table)

    @users_app.command("create-admin")
    def create_admin(
        username: str = typer.Argument(..., help="User name of the new administrator."),
        display_name: str = typer.Option(
            None, "--name", help="The person's full name (default: the user name)."
        ),
        database_url: str | None = DB_URL,
    ) -> None:
        """Create the first administrator (for every site) on a store that has none.

        The password is read from standard input when it is not a terminal (one line), else
        asked for twice; the login's password rules apply."""
        import sys

        from .models import User
        from .services.users import create_user

        url = _url(database_url)
        db.upgrade(url)
        with db.session_scope(url) as s:
            existing = s.scalar(select(User.username).where(User.role == "admin", User.active))
        if existing is not None:
            _fail(
                f"an active administrator exists ({existing}); administrators are added in the "
                "web app (Administration > Accounts)"
            )
        if sys.stdin.isatty():
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        try:
            with db.session_scope(url) as s:
                create_user(
                    None,
                    s,
                    username=username,
                    display_name=display_name or username,
                    role="admin",
                    site=None,
                    password=password,
                )
        except Refusal as exc:
            _fail(exc.message.replace("***", "(hidden)"))
        typer.echo(f"administrator {username} created; log in at the web app (cordtrial serve)")

    @audit_app.command("verify")
    def audit_verify(
        head: str = typer.Option(
            None,
            "--head",
            help="SEQ:HASH of the chain head printed earlier (by a backup or a report); it "
            "must still be in the trail.",
        ),
        database_url: str | None = DB_URL,
    ) -> None:
        """Check the hash chain, its anchors (audit key MACs, checkpoints) and every table."""
        expect = None
        if head:
            seq, _, digest = head.partition(":")
            if not (seq.isdigit() and len(digest) == 64):
                _fail(f"--head: got {head!r}; allowed: SEQ:HASH as printed by backup or report")
            expect = (int(seq), digest)
        url = _url(database_url)
        _ready(url)
        with db.session_scope(url) as s:
            report = audit.verify(s, expect_head=expect)
        for note in report.notes:
            typer.echo(f"  {note}")
        if report.ok:
            typer.echo(f"audit trail OK: {report.entries} entries, {report.rows} rows checked")
            return
        typer.echo(f"audit trail FAILED ({report.entries} entries, {report.rows} rows):", err=True)
        for p in report.problems:
            typer.echo(f"  {p}", err=True)
        raise typer.Exit(3)

    @audit_app.command("checkpoint")
    def audit_checkpoint(database_url: str | None = DB_URL) -> None:
        """Write the chain head to the checkpoint file (e.g. from cron, beside the server's)."""
        url = _url(database_url)
        _ready(url)
        with db.session_scope(url) as s:
            report = audit.verify(s)
        if not report.ok:
            for p in report.problems:
                typer.echo(f"  {p}", err=True)
            _fail("the trail does not verify; no checkpoint written", 3)
        if report.head is None:
            typer.echo("the audit trail is empty; nothing to checkpoint")
            return
        if anchor.write_checkpoint(url, *report.head) is None:
            _fail("the store has no audit key yet; no checkpoint written")
        typer.echo(f"checkpoint written: {report.head[0]}:{report.head[1]}")
