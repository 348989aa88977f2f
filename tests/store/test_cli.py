"""The store's CLI commands, end to end through Typer, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import typer
from sqlalchemy import create_engine, func, select, text
from typer.testing import CliRunner

from cordtrial.store import audit_anchor, db
from cordtrial.store.audit import row_state
from cordtrial.store.commands import register
from cordtrial.store.demo_records import ExamTarget, worksheet
from cordtrial.store.importer import write_csv
from cordtrial.store.models import Assessment, AuditEntry, trial_tables

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    a = typer.Typer()
    register(a)
    return a


def run(app, *args, ok=True):
    result = runner.invoke(app, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def exam_rows(n: int, patient: str = "SAP-001", seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        rhi = worksheet(ExamTarget("c6", "c6", "C", 30 + int(rng.integers(0, 5)), 10, 60, 50))
        rows.append(
            {
                "patient": patient,
                "visit": "unscheduled",
                "exam_date": f"2026-0{2 + i % 7}-1{i % 10}",
                "assessor": "Dr Test",
                "blinded": "yes" if i % 2 else "no",
                **rhi,
            }
        )
    return rows


def n_exams(url) -> int:
    with db.session_scope(url) as s:
        return s.scalar(select(func.count()).select_from(Assessment))


def test_upgrade_creates_sqlite_store_in_working_folder(app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CORDTRIAL_DATABASE_URL", raising=False)
    out = run(app, "db", "upgrade").output
    assert f"revision {db.head_revision()}" in out
    assert (tmp_path / "cordtrial.sqlite").exists()
    with create_engine(f"sqlite:///{tmp_path / 'cordtrial.sqlite'}").connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    db.dispose_engines()


def test_import_csv_and_json(app, world, tmp_path):
    csv_path = tmp_path / "exams.csv"
    write_csv(exam_rows(3), csv_path)
    out = run(
        app, "import", "exams", csv_path, "--user", "assessor", "--database-url", world.url
    ).output
    assert "imported 3 of 3" in out
    json_path = tmp_path / "exams.json"
    json_path.write_text(json.dumps({"exams": exam_rows(2, seed=1)}))
    run(app, "import", "exams", json_path, "--user", "assessor", "--database-url", world.url)
    assert n_exams(world.url) == 5
    with db.session_scope(world.url) as s:
        a = s.scalars(select(Assessment)).first()
        assert a.engine_version.startswith("cordtrial-isncsci")
        assert a.result["asiaImpairmentScale"]
        assert a.assessor_name == "Dr Test"


def test_import_is_all_or_nothing_with_bad_row_report(app, world, tmp_path):
    rows = exam_rows(4)
    rows[1]["c5RightMotor"] = "7"
    rows[2]["patient"] = "NOPE-1"
    rows[3]["visit"] = "week2"
    path = tmp_path / "bad.csv"
    write_csv(rows, path)
    result = run(
        app, "import", "exams", path, "--user", "assessor", "--database-url", world.url, ok=False
    )
    assert result.exit_code == 2
    out = result.output
    assert "REJECTED, nothing imported: 3 bad row(s) of 4" in out
    assert "row 2: c5RightMotor: got '7'" in out
    assert "row 3: patient: got 'NOPE-1'" in out
    assert "row 4: visit: got 'week2'" in out
    assert n_exams(world.url) == 0


def test_import_refuses_other_sites_patients_and_wrong_role(app, world, tmp_path):
    path = tmp_path / "remote.csv"
    write_csv(exam_rows(1, patient=world.remote_patient), path)
    result = run(
        app, "import", "exams", path, "--user", "assessor", "--database-url", world.url, ok=False
    )
    assert "a patient of the importing user's site" in result.output
    write_csv(exam_rows(1), path)
    result = run(
        app, "import", "exams", path, "--user", "monitor", "--database-url", world.url, ok=False
    )
    assert result.exit_code == 1 and "role 'monitor' may not" in result.output
    assert n_exams(world.url) == 0


def test_export_deidentified_and_identified(world, tmp_path):
    from cordtrial.cli import app  # `export` is the standards package's (tables and standards)

    out = tmp_path / "deid"
    run(app, "export", "--format", "parquet", "--out", out, "--database-url", world.url)
    names = {p.stem for p in out.iterdir()}
    assert "patient_identities" not in names and "audit_trail" not in names
    assert {"patients", "lots", "infusions", "adverse_events", "assessments"} <= names
    users = pd.read_parquet(out / "users.parquet")
    assert "password_hash" not in users.columns
    assert users["username"].str.startswith("user-").all()
    injuries = pd.read_parquet(out / "injuries.parquet")
    assert {"study_code", "synthetic"} <= set(injuries.columns)
    full = tmp_path / "full"
    run(
        app, "export", "--format", "csv", "--out", full, "--identified", "--database-url", world.url
    )
    ident = pd.read_csv(full / "patient_identities.csv")
    assert "Name of SAP-001" in set(ident["full_name"])
    assert "password_hash" not in pd.read_csv(full / "users.csv").columns
    result = run(app, "export", "--format", "xlsx", "--database-url", world.url, ok=False)
    assert "allowed: csv, parquet," in result.output


def test_audit_verify_command_detects_tampering(app, world):
    assert "audit trail OK" in run(app, "audit", "verify", "--database-url", world.url).output
    engine = create_engine(world.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE injuries SET level = 'T4'"))
    engine.dispose()
    result = run(app, "audit", "verify", "--database-url", world.url, ok=False)
    assert result.exit_code == 3
    assert "level is 'T4' but the audit trail says 'C5'" in result.output


def test_backup_restore_round_trip_and_across_databases(app, world, tmp_path):
    backup = tmp_path / "store.zip"
    run(app, "backup", backup, "--database-url", world.url)
    target = f"sqlite:///{tmp_path / 'restored.sqlite'}"
    # the audit key is not in the backup: restoring a keyed trail needs the key file
    result = run(app, "restore", backup, "--database-url", target, ok=False)
    assert "--audit-key" in result.output
    db.reset(target)
    key = str(audit_anchor.key_path(world.url))
    out = run(app, "restore", backup, "--database-url", target, "--audit-key", key).output
    assert "audit trail verified" in out
    with db.session_scope(world.url) as a, db.session_scope(target) as b:
        for table in trial_tables():  # every value, compared type-aware
            q = select(table).order_by(*table.primary_key.columns)
            rows_a = [row_state(table, r) for r in a.execute(q).mappings()]
            assert rows_a == [row_state(table, r) for r in b.execute(q).mappings()], table.name
        assert a.scalar(select(func.max(AuditEntry.seq))) > 30
    # a restored store keeps working: new entries extend the restored chain
    with db.session_scope(target) as s:
        from cordtrial.store.models import Injury, User
        from cordtrial.store.services import records

        inv = s.scalar(select(User).where(User.username == "investigator"))
        records.amend(
            inv, s, s.scalars(select(Injury)).first(), {"mechanism": "fall"}, reason="after restore"
        )
    assert "audit trail OK" in run(app, "audit", "verify", "--database-url", target).output
    # restoring twice is refused: the target is no longer empty
    result = run(app, "restore", backup, "--database-url", target, ok=False)
    assert "not empty" in result.output


def test_corrupted_backup_is_refused(app, world, tmp_path):
    import zipfile

    backup = tmp_path / "store.zip"
    run(app, "backup", backup, "--database-url", world.url)
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(backup) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "patients.jsonl":
                data = data.replace(b'"age_at_injury": 45', b'"age_at_injury": 46', 1)
            dst.writestr(item, data)
    target = f"sqlite:///{tmp_path / 'restored.sqlite'}"
    result = run(app, "restore", bad, "--database-url", target, ok=False)
    assert "patients.jsonl does not match its checksum" in result.output


# -- the first administrator ---------------------------------------------------------------------


def test_create_admin_reads_the_password_from_stdin(app, tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    weak = runner.invoke(
        app, ["users", "create-admin", "alice", "--database-url", url], input="password1234\n"
    )
    assert weak.exit_code == 1 and "password" in weak.output and "password1234" not in weak.output
    ok = runner.invoke(
        app,
        ["users", "create-admin", "alice", "--name", "Alice Admin", "--database-url", url],
        input="violet tram ledger 42\n",
    )
    assert ok.exit_code == 0, ok.output
    from cordtrial.store.models import User
    from cordtrial.store.services.users import authenticate

    with db.session_scope(url) as s:
        alice = authenticate(s, "alice", "violet tram ledger 42")
        assert (alice.role, alice.site_id, alice.display_name) == ("admin", None, "Alice Admin")
    again = runner.invoke(
        app,
        ["users", "create-admin", "bob", "--database-url", url],
        input="violet tram ledger 42\n",
    )
    assert again.exit_code == 1 and "alice" in again.output
    with db.session_scope(url) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 1


def test_create_admin_prompts_twice_on_a_terminal(tmp_path):
    """A real process on a pseudo-terminal: the password is asked for, hidden, and confirmed."""
    import os
    import pty
    import select
    import sys
    import time

    url = f"sqlite:///{tmp_path / 'tty.sqlite'}"
    args = [sys.executable, "-m", "cordtrial", "users", "create-admin", "root-admin"]
    pid, leader = pty.fork()  # the child's controlling terminal is the pseudo-terminal
    if pid == 0:  # pragma: no cover - the child process
        os.execv(sys.executable, [*args, "--database-url", url])
    seen = b""

    def read_until(text: bytes, timeout: float = 60) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while text not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if not ready:
                continue
            try:
                seen += os.read(leader, 1024)
            except OSError:  # the process ended and closed the terminal
                break
        assert text in seen, seen

    # Click prints the prompt, then turns echo off: give it a moment before typing
    read_until(b"Password:")
    time.sleep(2)
    os.write(leader, b"violet tram ledger 42\n")
    read_until(b"Repeat for confirmation:")
    time.sleep(2)
    os.write(leader, b"violet tram ledger 42\n")
    read_until(b"administrator root-admin created")
    assert os.waitpid(pid, 0)[1] == 0
    assert b"violet" not in seen  # the password was never echoed
    os.close(leader)


def test_scheduled_backups_into_a_folder_keep_the_newest(app, world, tmp_path):
    folder = tmp_path / "backups"
    for _ in range(3):
        out = run(app, "backup", f"{folder}/", "--keep", "2", "--database-url", world.url).output
        assert "audit trail head: " in out
    kept = sorted(folder.glob("cordtrial-*Z.zip"))
    assert len(kept) == 2
    head = out.split("audit trail head: ")[1].split()[0]
    verified = run(app, "audit", "verify", "--head", head, "--database-url", world.url).output
    assert "audit trail OK" in verified and "checkpoints match" in verified


def test_comments_and_flag_reasons_import_and_export(app, world, tmp_path):
    from cordtrial.cli import app as full_cli  # `export` belongs to the standards package

    rows = exam_rows(2)
    flagged = next(k for k, v in rows[0].items() if k.endswith("Motor") and v in "01234")
    rows[0][flagged] += "*"
    rows[0][f"{flagged}Reason"] = "peripheral nerve injury"
    rows[0]["comments"] = "Cast on the left forearm."
    path = tmp_path / "notes.csv"
    write_csv(rows, path)
    run(app, "import", "exams", path, "--user", "assessor", "--database-url", world.url)
    with db.session_scope(world.url) as s:
        stored = s.scalars(select(Assessment).order_by(Assessment.id)).all()[-2:]
        assert stored[0].flag_reasons == {flagged: "peripheral nerve injury"}
        assert stored[0].comments == "Cast on the left forearm."
        assert (stored[1].flag_reasons, stored[1].comments) == (None, None)
    full = tmp_path / "full"
    run(
        full_cli,
        "export",
        "--format",
        "csv",
        "--out",
        full,
        "--identified",
        "--database-url",
        world.url,
    )
    exported = pd.read_csv(full / "assessments.csv")
    assert "Cast on the left forearm." in set(exported["comments"])
    assert json.dumps({flagged: "peripheral nerve injury"}) in set(exported["flag_reasons"])
    deid = tmp_path / "deid"
    run(full_cli, "export", "--format", "csv", "--out", deid, "--database-url", world.url)
    columns = set(pd.read_csv(deid / "assessments.csv").columns)
    assert not columns & {"comments", "flag_reasons", "assessor_name"}  # free text left out
