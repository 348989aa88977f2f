"""Backup and restore, database-independent (SQLite <-> PostgreSQL).

A backup is a zip: ``manifest.json`` (format, schema revision, time, row counts, SHA-256 of each
table file) and one JSON-lines file per table, read in one consistent snapshot. Restore goes
into an upgraded, empty store of the same schema revision, checks every checksum first, inserts
rows verbatim (the audit trail included, so its hash chain carries over), and then verifies the
audit trail against the restored tables.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Date, func, insert, select, text
from sqlalchemy.orm import Session

from . import audit
from . import audit_anchor as anchor
from .models import trial_tables
from .types import UTCDateTime, utcnow

FORMAT = "cordtrial-backup/1"


class BackupError(RuntimeError):
    """The backup cannot be written or restored."""


def _encode(col, value):
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _decode(col, value):
    if value is None:
        return None
    t = col.type
    if isinstance(t, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(t, Date):
        return date.fromisoformat(value)
    return value


def write_backup(session: Session, path: str | Path, revision: str | None) -> dict:
    """Write every table of the store to ``path``; return the manifest."""
    path = Path(path)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
    manifest = {
        "format": FORMAT,
        "revision": revision,
        "created_at": utcnow().isoformat(),
        "dialect": conn.dialect.name,
        "tables": {},
    }
    tmp = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for table in trial_tables():
            lines = []
            for row in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings():
                lines.append(
                    json.dumps(
                        {c.name: _encode(c, row[c.name]) for c in table.columns},
                        sort_keys=True,
                        ensure_ascii=False,
                    )
                )
            data = ("\n".join(lines) + ("\n" if lines else "")).encode()
            zf.writestr(f"{table.name}.jsonl", data)
            manifest["tables"][table.name] = {
                "rows": len(lines),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        head = audit.head_of(conn)
        manifest["audit_head"] = {"seq": head[0], "hash": head[1]} if head else None
        zf.writestr("manifest.json", json.dumps(manifest, indent=2))
    tmp.replace(path)  # a half-written backup never carries the final name
    return manifest


def timestamped_name() -> str:
    """A backup file name that sorts by time: cordtrial-YYYYMMDDTHHMMSS.ffffffZ.zip (UTC)."""
    return f"cordtrial-{utcnow():%Y%m%dT%H%M%S.%f}Z.zip"


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` timestamped backups in ``folder``; return the deleted."""
    backups = sorted(Path(folder).glob("cordtrial-*Z.zip"))
    old = backups[:-keep] if keep else backups
    for path in old:
        path.unlink()
    return old


def restore_backup(
    session: Session, path: str | Path, revision: str | None, audit_key: Path | None = None
) -> audit.VerifyReport:
    """Load a backup into an empty store at the same schema revision (the caller commits).

    A trail written under an audit key needs that key (it is not in the backup, by design):
    ``audit_key`` is the source store's key file, copied to this store's key place unless the
    key is already there."""
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BackupError(f"{path}: not a cordtrial backup ({exc})") from None
    with zf:
        try:
            manifest = json.loads(zf.read("manifest.json"))
        except KeyError:
            raise BackupError(f"{path}: no manifest.json; not a cordtrial backup") from None
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{path}: format {manifest.get('format')!r}; expected {FORMAT}")
        if manifest.get("revision") != revision:
            raise BackupError(
                f"{path}: schema revision {manifest.get('revision')!r} but the "
                f"store is at {revision!r}; upgrade both to the same revision"
            )
        for table in trial_tables():
            if session.scalar(select(func.count()).select_from(table)):
                raise BackupError(
                    f"the target store is not empty (table {table.name} has rows); "
                    "restore into a new, upgraded database"
                )
        payload = {}
        for table in trial_tables():
            entry = manifest["tables"].get(table.name)
            if entry is None:
                raise BackupError(f"{path}: table {table.name} missing from the backup")
            data = zf.read(f"{table.name}.jsonl")
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                raise BackupError(
                    f"{path}: {table.name}.jsonl does not match its checksum (corrupted or altered)"
                )
            payload[table.name] = data
    conn = session.connection()
    for table in trial_tables():
        rows = [
            {c.name: _decode(c, json.loads(line)[c.name]) for c in table.columns}
            for line in payload[table.name].decode().splitlines()
            if line
        ]
        if rows:
            conn.execute(insert(table), rows)
        if table.name == "audit_trail" and any(r["mac"] for r in rows):
            _install_key(audit.store_url(conn), audit_key)
        if conn.dialect.name == "postgresql" and rows and "id" in table.c:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM {table.name}))"
                )
            )
    return audit.verify(session)


def _install_key(url: str, source: Path | None) -> None:
    target = anchor.key_path(url)
    if source is None:
        if target.exists():
            return
        raise BackupError(
            "the backup's audit trail is signed with an audit key, which backups never hold: "
            "give the source store's key file with --audit-key FILE"
        )
    data = Path(source).read_bytes()
    if target.exists() and target.read_bytes() != data:
        raise BackupError(f"a different audit key already exists at {target}; move it aside first")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    target.chmod(0o600)
    anchor.forget_keys()
