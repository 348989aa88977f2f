"""Which audit entries a caller may read.

The trail is one hash-chained log for the whole store (cordtrial.store.audit). A user bound to a
site reads only the entries about records of their site's patients (and their site's users);
identifying data (patient_identities) is shown only to roles allowed to see it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from cordtrial.store import models as m
from cordtrial.store.audit import mask_secrets

from .principal import Principal

HIDDEN = "(identifying data hidden)"

# table -> model with a patient_id column
_PATIENT_TABLES = (
    m.PatientIdentity,
    m.Injury,
    m.Eligibility,
    m.Consent,
    m.Visit,
    m.Assessment,
    m.BloodDraw,
    m.MarrowHarvest,
    m.Lot,
    m.Infusion,
    m.AdverseEvent,
    # data management (casebook)
    m.DataQuery,
    m.SourceVerification,
    m.Deviation,
    m.Confirmation,
    m.FormNotDone,
    m.DoubleEntry,
    m.CasebookLock,
)
_LOT_TABLES = (m.CulturePassage, m.ReleaseTest, m.CustodyEvent, m.LotSerum)
# child tables -> (model, parent key column, parent table)
_CHILD_TABLES = (
    (m.QueryMessage, m.QueryMessage.query_id, "data_queries"),
    (m.ExamEntry, m.ExamEntry.double_entry_id, "double_entries"),
)


def visible_keys(db: DbSession, site_id: int) -> set[tuple[str, str]]:
    """(table, record id) of every current record that belongs to the site."""
    keys: set[tuple[str, str]] = {("sites", str(site_id))}
    pids = set(db.scalars(select(m.Patient.id).where(m.Patient.site_id == site_id)))
    keys |= {("patients", str(p)) for p in pids}
    for model in _PATIENT_TABLES:
        pk = model.__table__.primary_key.columns.values()[0]
        for rid in db.scalars(select(pk).where(model.patient_id.in_(pids))):
            keys.add((model.__tablename__, str(rid)))
    lot_ids = {int(r) for t, r in keys if t == "lots"}
    for model in _LOT_TABLES:
        for rid in db.scalars(select(model.id).where(model.lot_id.in_(lot_ids))):
            keys.add((model.__tablename__, str(rid)))
    for model, parent_key, parent in _CHILD_TABLES:
        parents = {int(r) for t, r in keys if t == parent}
        for rid in db.scalars(select(model.id).where(parent_key.in_(parents))):
            keys.add((model.__tablename__, str(rid)))
    users = set(db.scalars(select(m.User.id).where(m.User.site_id == site_id)))
    keys |= {("users", str(u)) for u in users}
    by_table: dict[str, set[int]] = {}
    for t, r in keys:
        if r.isdigit():
            by_table.setdefault(t, set()).add(int(r))
    for sig in db.scalars(select(m.Signature)):
        if sig.record_id in by_table.get(sig.record_table, ()):
            keys.add(("signatures", str(sig.id)))
    names = set(db.scalars(select(m.User.username).where(m.User.site_id == site_id)))
    for ref in db.scalars(select(m.RefusalLog).where(m.RefusalLog.username.in_(names))):
        keys.add(("refusals", str(ref.id)))
    return keys


# An entry's changes are shown up to this many characters; a longer one (possible only for
# entries written before request sizes were capped) is named, not loaded into a page.
MAX_CHANGES_SHOWN = 64_000
_LIGHT = (
    m.AuditEntry.seq,
    m.AuditEntry.at,
    m.AuditEntry.actor,
    m.AuditEntry.action,
    m.AuditEntry.table_name,
    m.AuditEntry.record_id,
    m.AuditEntry.reason,
    m.AuditEntry.hash,
    func.length(m.AuditEntry.changes).label("size"),
)


def entries_for(
    db: DbSession,
    who: Principal,
    *,
    table: str | None = None,
    actor: str | None = None,
    record_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict], bool]:
    """Newest first; (entries, more available). Reads the page's rows without their changes
    first, then the changes of just those entries, so a page costs the same however long the
    trail or its entries are."""
    q = select(*_LIGHT).order_by(m.AuditEntry.seq.desc())
    if table:
        q = q.where(m.AuditEntry.table_name == table)
    if actor:
        q = q.where(m.AuditEntry.actor == actor)
    if record_id:
        q = q.where(m.AuditEntry.record_id == record_id)
    if who.site_id is None:
        rows = list(db.execute(q.offset(offset).limit(limit + 1)))
    else:
        keys = visible_keys(db, who.site_id)
        rows = []
        for row in db.execute(q):
            if (row.table_name, row.record_id) in keys:
                rows.append(row)
                if len(rows) > offset + limit:
                    break
        rows = rows[offset:]
    more = len(rows) > limit
    return _with_changes(db, rows[:limit], who), more


def iter_entries(db: DbSession, who: Principal, batch: int = 1000) -> Iterator[dict]:
    """Every entry the caller may read, oldest first, read in batches (for the CSV export)."""
    keys = visible_keys(db, who.site_id) if who.site_id is not None else None
    last = 0
    while True:
        q = select(*_LIGHT).where(m.AuditEntry.seq > last).order_by(m.AuditEntry.seq)
        rows = list(db.execute(q.limit(batch)))
        if not rows:
            return
        last = rows[-1].seq
        rows = [r for r in rows if keys is None or (r.table_name, r.record_id) in keys]
        yield from _with_changes(db, rows, who)


def _with_changes(db: DbSession, rows: list, who: Principal) -> list[dict]:
    small = [r.seq for r in rows if r.size <= MAX_CHANGES_SHOWN]
    changes = {}
    if small:
        q = select(m.AuditEntry.seq, m.AuditEntry.changes).where(m.AuditEntry.seq.in_(small))
        changes = {seq: text for seq, text in db.execute(q)}
    return [_entry(r, changes.get(r.seq), who) for r in rows]


def _entry(e, changes_json: str | None, who: Principal) -> dict:
    if changes_json is None:
        note = f"{e.size} characters; the whole entry is in `cordtrial export --identified`"
        changes = {"(too long to show)": [None, note]}
    else:
        try:
            changes = json.loads(mask_secrets(e.table_name, changes_json))
        except ValueError:
            changes = {"(unreadable)": [None, changes_json[:200]]}
    if e.table_name == "patient_identities" and not who.can("view_identity"):
        changes = {k: [HIDDEN, HIDDEN] for k in changes}
    return {
        "seq": e.seq,
        "at": e.at,
        "actor": e.actor,
        "action": e.action,
        "table": e.table_name,
        "record_id": e.record_id,
        "changes": changes,
        "reason": e.reason,
        "hash": e.hash,
    }
