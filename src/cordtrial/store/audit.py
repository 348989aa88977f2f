"""The audit trail: append-only and hash-chained.

Every insert, update and delete of an audited model made through an :class:`AuditedSession` is
recorded by a flush hook with who (the acting user), when (UTC), the old and new value of each
changed field and the reason (ALCOA+, 21 CFR Part 11 / EU GMP Annex 11; cell-product.md).

Each entry's ``hash`` is SHA-256 over the canonical JSON of its content together with the previous
entry's hash, so editing, deleting or reordering entries breaks the chain. Because entries hold
full old/new values, replaying the trail rebuilds every audited row; :func:`verify` compares the
replay with the tables, so a row changed behind the application's back (direct SQL) is detected
too. Database triggers (see the migrations) refuse UPDATE and DELETE on the trail itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Integer, event, insert, inspect, select, text
from sqlalchemy.orm import Session

from . import audit_anchor as anchor
from .types import UTCDateTime, utcnow

GENESIS = "0" * 64
# Secret columns (models: info "secret") are recorded as this mark and a fingerprint (a SHA-256
# of the salted hash), never the value: the trail says a password changed without holding
# anything an attacker could test passwords against, and `verify` still detects a hash
# replaced behind the application's back.
SECRET_MARK = "secret:sha256:"
SECRET_SHOWN = "(secret: not shown)"
_HEAD = "cordtrial_audit_head"
_ACTOR = "cordtrial_audit_actor"
_REASON = "cordtrial_audit_reason"
_OBJ_REASONS = "cordtrial_audit_object_reasons"
_OLD = "cordtrial_audit_old_rows"
_QUEUE = "cordtrial_audit_queue"


class AuditedSession(Session):
    """A session whose flushes are written to the audit trail."""


def set_actor(session: Session, username: str) -> None:
    """Who the following changes are attributed to."""
    session.info[_ACTOR] = username


def actor_of(session: Session) -> str:
    return session.info.get(_ACTOR, "system")


@contextmanager
def acting(session: Session, username: str, reason: str | None = None) -> Iterator[Session]:
    """Attribute changes flushed inside the block to ``username`` with an optional reason."""
    old = session.info.get(_ACTOR), session.info.get(_REASON)
    session.info[_ACTOR] = username
    session.info[_REASON] = reason
    try:
        yield session
        session.flush()
    finally:
        session.info[_ACTOR], session.info[_REASON] = old


def set_reason(session: Session, obj: object, reason: str) -> None:
    """The reason recorded with the next audited change of ``obj``."""
    session.info.setdefault(_OBJ_REASONS, {})[id(obj)] = reason


# -- canonical values -------------------------------------------------------------------------


def canonical_value(column, value: Any) -> Any:
    """A column value as a JSON value that is the same before storing and after loading."""
    if value is None:
        return None
    if column.info.get("secret"):
        return secret_fingerprint(value)
    t = column.type
    if isinstance(t, UTCDateTime):
        return value.isoformat()
    if isinstance(t, Date) and not isinstance(t, UTCDateTime):
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(t, Boolean):
        return bool(value)
    if isinstance(t, Float):
        return float(value)
    if isinstance(t, Integer):
        return int(value)
    if isinstance(t, JSON):
        return json.loads(canonical_json(value))
    return value if isinstance(value, str) else str(value)


def secret_fingerprint(value: Any) -> str | None:
    """The audit trail's stand-in for a secret value (idempotent)."""
    if value is None:
        return None
    text = str(value)
    if text.startswith(SECRET_MARK):
        return text
    return SECRET_MARK + hashlib.sha256(f"cordtrial-secret\0{text}".encode()).hexdigest()


def _secret_names(table_name: str) -> frozenset[str]:
    from .models import Base, secret_columns

    table = Base.metadata.tables.get(table_name)
    return secret_columns(table) if table is not None else frozenset()


def mask_secrets(table_name: str, changes: str) -> str:
    """An entry's changes (canonical JSON) with secret values replaced by SECRET_SHOWN: for
    reading and exporting the trail. Entries written before secrets were fingerprinted hold
    the values themselves; they stay in the chain (it cannot be edited) but are never shown."""
    names = _secret_names(table_name)
    if not names:
        return changes
    try:
        data = json.loads(changes)
    except ValueError:
        return changes
    for name in names & data.keys():
        data[name] = [None if v is None else SECRET_SHOWN for v in data[name]]
    return canonical_json(data)


def canonical_json(obj: Any) -> str:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )


def _default(o: Any) -> Any:
    if isinstance(o, datetime | date):
        return o.isoformat()
    raise TypeError(f"not JSON serialisable: {o!r}")


def row_state(table, row_mapping) -> dict[str, Any]:
    return {c.name: canonical_value(c, row_mapping[c.name]) for c in table.columns}


def _object_state(obj) -> dict[str, Any]:
    table = obj.__table__
    return {c.name: canonical_value(c, getattr(obj, _attr_name(obj, c))) for c in table.columns}


def _attr_name(obj, column) -> str:
    return obj.__mapper__.get_property_by_column(column).key


def _record_id(obj) -> str:
    return "/".join(str(getattr(obj, _attr_name(obj, c))) for c in obj.__table__.primary_key)


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of an entry's content and its predecessor's hash."""
    content = {
        k: entry[k]
        for k in (
            "seq",
            "at",
            "actor",
            "action",
            "table_name",
            "record_id",
            "changes",
            "reason",
            "prev_hash",
        )
    }
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


# -- the flush hook ----------------------------------------------------------------------------


def _audited(obj) -> bool:
    from .models import AUDITED_MODELS

    return isinstance(obj, AUDITED_MODELS)


@event.listens_for(AuditedSession, "before_flush")
def _before_flush(session: Session, _ctx, _instances) -> None:
    # Old values are read from the database itself: attribute history is empty for columns
    # that were expired (e.g. after a commit) when they were changed.
    olds = session.info.setdefault(_OLD, {})
    conn = session.connection()
    for obj in list(session.dirty) + list(session.deleted):
        if not _audited(obj) or id(obj) in olds:
            continue
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        table = obj.__table__
        pk_values = inspect(obj).identity
        if pk_values is None:
            continue
        cond = [c == v for c, v in zip(table.primary_key.columns, pk_values, strict=True)]
        row = conn.execute(select(table).where(*cond)).mappings().first()
        if row is not None:
            olds[id(obj)] = row_state(table, row)


@event.listens_for(AuditedSession, "after_flush")
def _after_flush(session: Session, _ctx) -> None:
    olds = session.info.pop(_OLD, {})
    reasons = session.info.get(_OBJ_REASONS, {})
    default_reason = session.info.get(_REASON)
    entries: list[dict[str, Any]] = []
    at = utcnow().isoformat()

    def add(obj, action: str, changes: dict[str, Any]) -> None:
        from .models import RefusalLog

        actor = obj.username if isinstance(obj, RefusalLog) else actor_of(session)
        entries.append(
            {
                "at": at,
                "actor": actor,
                "action": action,
                "table_name": obj.__tablename__,
                "record_id": _record_id(obj),
                "changes": canonical_json(changes),
                "reason": reasons.pop(id(obj), default_reason),
            }
        )

    for obj in session.new:
        if _audited(obj):
            add(obj, "create", {k: [None, v] for k, v in _object_state(obj).items()})
    for obj in session.dirty:
        if _audited(obj) and id(obj) in olds:
            old, new = olds[id(obj)], _object_state(obj)
            changes = {k: [old[k], new[k]] for k in new if old.get(k) != new[k]}
            if changes:
                add(obj, "update", changes)
    for obj in session.deleted:
        if _audited(obj) and id(obj) in olds:
            add(obj, "delete", {k: [v, None] for k, v in olds[id(obj)].items()})
    if entries:
        _append(session, entries)


def _append(session: Session, entries: list[dict[str, Any]]) -> None:
    conn = session.connection()
    session.info[_HEAD] = (store_url(conn), *append_entries(conn, entries))


def append_entries(conn, entries: list[dict[str, Any]]) -> tuple[int, str]:
    """Chain and insert entries ({at, actor, action, table_name, record_id, changes, reason});
    also used by data migrations, whose changes must be in the trail like any other. Returns
    the new head (seq, hash)."""
    from .models import AuditEntry

    if conn.dialect.name == "postgresql":
        # Serialise writers so two transactions cannot both extend the same last entry.
        conn.execute(text("SELECT pg_advisory_xact_lock(72657)"))
    last = conn.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    key = _key_for(conn, seq + 1)
    rows = []
    for e in entries:
        seq += 1
        e = {**e, "seq": seq, "prev_hash": prev}
        e["hash"] = prev = entry_hash(e)
        e["mac"] = key.mac(e["hash"])
        rows.append(e)
    conn.execute(insert(AuditEntry.__table__), rows)
    return seq, prev


def head_of(conn) -> tuple[int, str] | None:
    """The newest entry's (seq, hash), as printed by backups and reports."""
    from .models import AuditEntry

    last = conn.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (last.seq, last.hash) if last else None


def anchor_head(session: Session) -> str | None:
    """Checkpoint the chain's head now and return it as SEQ:HASH (for a report or a backup to
    print, so `cordtrial audit verify --head` can later show the trail still holds it)."""
    conn = session.connection()
    head = head_of(conn)
    if head is None:
        return None
    anchor.write_checkpoint(store_url(conn), *head)
    return f"{head[0]}:{head[1]}"


def store_url(conn) -> str:
    return conn.engine.url.render_as_string(hide_password=False)


def _key_for(conn, next_seq: int) -> anchor.AuditKey:
    """The store's audit key, created with the first entry that needs one. A missing key for a
    trail that already has keyed entries is an error: it must be restored, not replaced."""
    from .models import AuditEntry

    url = store_url(conn)
    key = anchor.load_key(url)
    if key is not None:
        return key
    keyed = conn.execute(select(AuditEntry.seq).where(AuditEntry.mac.is_not(None)).limit(1)).first()
    if keyed is not None:
        raise anchor.AnchorError(
            f"the audit key file {anchor.key_path(url)} is missing, but the audit trail has "
            f"entries signed with a key: restore the key file (or point {anchor.KEY_ENV} at it)"
        )
    return anchor.create_key(url, next_seq)


@event.listens_for(AuditedSession, "after_commit")
def _after_commit(session: Session) -> None:
    head = session.info.pop(_HEAD, None)
    if head is not None:
        anchor.note_head(*head)


@event.listens_for(AuditedSession, "after_soft_rollback")
def _after_rollback(session: Session, _previous) -> None:
    session.info.pop(_HEAD, None)


# -- verification ------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    entries: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was checked beyond the chain
    head: tuple[int, str] | None = None  # (seq, hash) of the newest entry

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    session: Session, max_problems: int = 50, expect_head: tuple[int, str] | None = None
) -> VerifyReport:
    """Check the chain and its anchors (MACs, checkpoints, an expected head), then check every
    audited table against the replayed trail."""
    from .models import AUDITED_MODELS, AuditEntry

    report = VerifyReport()
    prev, expected_seq = GENESIS, 1
    state: dict[tuple[str, str], dict[str, Any] | None] = {}
    url = store_url(session.connection())
    key = anchor.load_key(url)
    checkpoints, read_problems = anchor.read_checkpoints(url)
    by_seq: dict[int, list[dict]] = {}
    for cp in checkpoints:
        by_seq.setdefault(cp["seq"], []).append(cp)
    if expect_head is not None:  # a head printed earlier (report, backup), checked like one
        by_seq.setdefault(expect_head[0], []).append(
            {"seq": expect_head[0], "hash": expect_head[1], "at": "the expected head"}
        )
    macs = keyed_without_key = 0
    secret_names = {m.__tablename__: _secret_names(m.__tablename__) for m in AUDITED_MODELS}

    def problem(msg: str) -> None:
        if len(report.problems) < max_problems:
            report.problems.append(msg)

    for msg in read_problems:
        problem(msg)
    table = AuditEntry.__table__
    for row in session.connection().execute(select(table).order_by(table.c.seq)).mappings():
        report.entries += 1
        e = dict(row)
        seq = e["seq"]
        if seq != expected_seq:
            problem(f"audit entry seq {seq}: expected seq {expected_seq} (entry missing)")
        if e["prev_hash"] != prev:
            problem(f"audit entry seq {seq}: previous-hash link broken")
        if entry_hash(e) != e["hash"]:
            problem(f"audit entry seq {seq}: content does not match its hash (altered)")
        if key is None and e["mac"] is not None:
            keyed_without_key += 1
        if key is not None and seq >= key.since_seq:
            if e["mac"] is None or not hmac.compare_digest(e["mac"], key.mac(e["hash"])):
                problem(
                    f"audit entry seq {seq}: its MAC does not match the audit key "
                    "(rewritten and re-hashed?)"
                )
            else:
                macs += 1
        for cp in by_seq.pop(seq, []):
            if cp["hash"] != e["hash"]:
                problem(
                    f"audit entry seq {seq}: differs from the checkpoint of {cp['at']} "
                    "(rewritten after it?)"
                )
        prev, expected_seq = e["hash"], seq + 1
        key_ = (e["table_name"], e["record_id"])
        try:
            changes = json.loads(e["changes"])
        except ValueError:
            problem(f"audit entry seq {seq}: changes are not valid JSON")
            continue
        new = {
            k: secret_fingerprint(v[1]) if k in secret_names.get(key_[0], ()) else v[1]
            for k, v in changes.items()
        }
        if e["action"] == "create":
            state[key_] = new
        elif e["action"] == "update":
            current = state.get(key_)
            if current is None:
                problem(f"audit entry seq {seq}: update of unknown {key_[0]} {key_[1]}")
                continue
            current.update(new)
        elif e["action"] == "delete":
            state[key_] = None
    report.head = (expected_seq - 1, prev) if report.entries else None
    for seq in sorted(by_seq):
        problem(
            f"checkpoint of {by_seq[seq][0]['at']} names entry seq {seq}, which is not in the "
            "trail (entries removed?)"
        )
    if keyed_without_key:
        problem(
            f"{keyed_without_key} entries carry a MAC but the audit key file "
            f"{anchor.key_path(url)} is missing: they cannot be checked (restore the key)"
        )
    _check_anchors(report, key, checkpoints, macs, problem)
    _check_tables(session, state, report, problem)
    return report


def _check_anchors(report, key, checkpoints, macs, problem) -> None:
    if key is None:
        report.notes.append(
            "not anchored: no audit key file, so a re-hashed chain would not be detected"
        )
    else:
        for cp in checkpoints:
            if not hmac.compare_digest(cp["mac"], key.checkpoint_mac(cp["seq"], cp["hash"])):
                problem(f"checkpoint file line {cp['line']}: its MAC does not match the audit key")
        report.notes.append(
            f"audit key {key.path}: {macs} entries from seq {key.since_seq} on carry a valid MAC"
        )
        if key.since_seq > 1:
            report.notes.append(
                f"entries 1-{key.since_seq - 1} were written before the key existed (no MAC)"
            )
    if checkpoints:
        newest = max(checkpoints, key=lambda c: c["seq"])
        report.notes.append(
            f"{len(checkpoints)} checkpoints match the trail; the newest ({newest['at']}) "
            f"covers up to seq {newest['seq']}"
        )
    else:
        report.notes.append("no checkpoints yet")


def _check_tables(session, state, report, problem) -> None:
    from .models import AUDITED_MODELS

    conn = session.connection()
    for model in AUDITED_MODELS:
        t = model.__table__
        seen = set()
        for row in conn.execute(select(t)).mappings():
            report.rows += 1
            rid = "/".join(str(row[c.name]) for c in t.primary_key.columns)
            seen.add(rid)
            expected = state.get((t.name, rid))
            actual = row_state(t, row)
            if expected is None:
                problem(f"{t.name} {rid}: row not in the audit trail (inserted directly?)")
                continue
            for col, val in actual.items():
                if expected.get(col) != val:
                    problem(
                        f"{t.name} {rid}: {col} is {val!r} but the audit trail says "
                        f"{expected.get(col)!r} (changed outside the application?)"
                    )
        for (tname, rid), st in state.items():
            if tname == t.name and st is not None and rid not in seen:
                problem(f"{tname} {rid}: row missing but the audit trail has no delete")
