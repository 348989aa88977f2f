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
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Integer, event, insert, inspect, select, text
from sqlalchemy.orm import Session

from .types import UTCDateTime, utcnow

GENESIS = "0" * 64
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
    append_entries(session.connection(), entries)


def append_entries(conn, entries: list[dict[str, Any]]) -> None:
    """Chain and insert entries ({at, actor, action, table_name, record_id, changes, reason});
    also used by data migrations, whose changes must be in the trail like any other."""
    from .models import AuditEntry

    if conn.dialect.name == "postgresql":
        # Serialise writers so two transactions cannot both extend the same last entry.
        conn.execute(text("SELECT pg_advisory_xact_lock(72657)"))
    last = conn.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    rows = []
    for e in entries:
        seq += 1
        e = {**e, "seq": seq, "prev_hash": prev}
        e["hash"] = prev = entry_hash(e)
        rows.append(e)
    conn.execute(insert(AuditEntry.__table__), rows)


# -- verification ------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    entries: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, max_problems: int = 50) -> VerifyReport:
    """Check the chain, then check every audited table against the replayed trail."""
    from .models import AUDITED_MODELS, AuditEntry

    report = VerifyReport()
    prev, expected_seq = GENESIS, 1
    state: dict[tuple[str, str], dict[str, Any] | None] = {}

    def problem(msg: str) -> None:
        if len(report.problems) < max_problems:
            report.problems.append(msg)

    table = AuditEntry.__table__
    for row in session.connection().execute(select(table).order_by(table.c.seq)).mappings():
        report.entries += 1
        e = dict(row)
        if e["seq"] != expected_seq:
            problem(f"audit entry seq {e['seq']}: expected seq {expected_seq} (entry missing)")
        if e["prev_hash"] != prev:
            problem(f"audit entry seq {e['seq']}: previous-hash link broken")
        if entry_hash(e) != e["hash"]:
            problem(f"audit entry seq {e['seq']}: content does not match its hash (altered)")
        prev, expected_seq = e["hash"], e["seq"] + 1
        key = (e["table_name"], e["record_id"])
        try:
            changes = json.loads(e["changes"])
        except ValueError:
            problem(f"audit entry seq {e['seq']}: changes are not valid JSON")
            continue
        if e["action"] == "create":
            state[key] = {k: v[1] for k, v in changes.items()}
        elif e["action"] == "update":
            current = state.get(key)
            if current is None:
                problem(f"audit entry seq {e['seq']}: update of unknown {key[0]} {key[1]}")
                continue
            current.update({k: v[1] for k, v in changes.items()})
        elif e["action"] == "delete":
            state[key] = None
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
    return report
