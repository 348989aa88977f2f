"""Which audit entries a caller may read.

The trail is one hash-chained log for the whole store (cordtrial.store.audit). A user bound to a
site reads only the entries about records of their site's patients (and their site's users);
identifying data (patient_identities) is shown only to roles allowed to see it.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from cordtrial.store import models as m

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
)
_LOT_TABLES = (m.CulturePassage, m.ReleaseTest, m.CustodyEvent)


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
    """Newest first; (entries, more available)."""
    q = select(m.AuditEntry).order_by(m.AuditEntry.seq.desc())
    if table:
        q = q.where(m.AuditEntry.table_name == table)
    if actor:
        q = q.where(m.AuditEntry.actor == actor)
    if record_id:
        q = q.where(m.AuditEntry.record_id == record_id)
    keys = visible_keys(db, who.site_id) if who.site_id is not None else None
    out: list[dict] = []
    skipped = 0
    more = False
    for e in db.scalars(q):
        if keys is not None and (e.table_name, e.record_id) not in keys:
            continue
        if skipped < offset:
            skipped += 1
            continue
        if len(out) == limit:
            more = True
            break
        out.append(_entry(e, who))
    return out, more


def _entry(e: m.AuditEntry, who: Principal) -> dict:
    try:
        changes = json.loads(e.changes)
    except ValueError:
        changes = {"(unreadable)": [None, e.changes]}
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
