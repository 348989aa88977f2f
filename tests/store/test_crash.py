"""Kill an import mid-file (SIGKILL): nothing committed is lost, nothing half-written remains."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from sqlalchemy import create_engine, func, select, text

from cordtrial.store import audit, db
from cordtrial.store.importer import write_csv
from cordtrial.store.models import Assessment, AuditEntry

from .test_cli import exam_rows

CLI = (
    "import sys, typer; from cordtrial.store.commands import register; "
    "app = typer.Typer(); register(app); app()"
)


def _counts(url):
    with db.session_scope(url) as s:
        return (
            s.scalar(select(func.count()).select_from(Assessment)),
            s.scalar(select(func.count()).select_from(AuditEntry)),
        )


def _import(url, path):
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            CLI,
            "import",
            "exams",
            str(path),
            "--user",
            "assessor",
            "--database-url",
            url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_sigkill_during_import(world, tmp_path):
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    write_csv(exam_rows(4), small)
    write_csv(exam_rows(600, seed=7), big)
    done = _import(world.url, small)
    assert done.wait(timeout=120) == 0, done.stderr.read()
    committed = _counts(world.url)
    assert committed[0] == 4

    proc = _import(world.url, big)
    writing = None
    for line in proc.stderr:  # progress lines: "checking N/600", then "writing N/600"
        if line.startswith("writing "):
            writing = line.strip()
            break
    assert writing is not None, "import never reached the writing phase"
    proc.send_signal(signal.SIGKILL)  # mid-transaction: rows flushed, not committed
    assert proc.wait(timeout=60) == -signal.SIGKILL
    db.dispose_engines()

    assert _counts(world.url) == committed  # the committed import is intact, the killed one gone
    engine = create_engine(world.url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    engine.dispose()
    with db.session_scope(world.url) as s:
        report = audit.verify(s)
        assert report.ok, report.problems
    # the store is usable at once: the same file imports completely afterwards
    again = _import(world.url, small)
    assert again.wait(timeout=120) == 0, again.stderr.read()
    assert _counts(world.url)[0] == 8
