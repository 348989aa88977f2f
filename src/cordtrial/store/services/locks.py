"""Locks: an investigator signs off a patient's casebook (once its queries are closed), which
locks it; a trial-level data lock before the final analysis covers every casebook. A locked
casebook refuses every change (store/casebook_guard.py) until an audited unlock with a reason.

Record and form locking with the investigator's e-signature after re-authentication is what
REDCap and OpenClinica do (standards.md); the signature re-authenticates like every other
(21 CFR 11.200) and binds to a SHA-256 of the casebook's records as locked.
"""

from __future__ import annotations

import hashlib
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.casebook.grid import lock_note

from ..audit import canonical_json, row_state, set_reason
from ..models import CasebookLock, DataLock, DataQuery, DoubleEntry, Patient, Site, User
from ..types import utcnow
from .base import check, deny, reauthenticate, require_role, require_site, require_text
from .data_queries import OPEN_STATES
from .trial_records import records_of

LOCK_ROLES = ("investigator",)
UNLOCK_ROLES = ("investigator", "admin")
TRIAL_ROLES = ("admin",)
MEANING = "casebook reviewed and approved by the investigator"
TRIAL_PURPOSE = "data locked for the final analysis"


def casebook_lock(session: Session, patient: Patient) -> CasebookLock | None:
    """The patient's current lock, or None."""
    return session.scalar(
        select(CasebookLock).where(
            CasebookLock.patient_id == patient.id, CasebookLock.unlocked_at.is_(None)
        )
    )


def trial_lock(session: Session) -> DataLock | None:
    return session.scalar(select(DataLock).where(DataLock.unlocked_at.is_(None)))


def lock_note_for(session: Session, patient: Patient) -> str | None:
    """ "casebook locked on <date> by <user>" (or the trial's data lock), None when not locked:
    what pages show instead of a correction form."""
    lock = casebook_lock(session, patient)
    if lock is not None:
        return lock_note(lock.locked_at, lock.signer_name)
    data_lock = trial_lock(session)
    if data_lock is not None:
        return lock_note(data_lock.locked_at, data_lock.signer_name, trial=True)
    return None


def casebook_content(session: Session, patient: Patient) -> tuple[str, int]:
    """(SHA-256 over the casebook's records as stored, how many records)."""
    rows = [
        {"table": r.__tablename__, "row": row_state(r.__table__, _mapping(r))}
        for _, r in records_of(session, [patient.id])
    ]
    digest = hashlib.sha256(canonical_json(rows).encode()).hexdigest()
    return digest, len(rows)


def _mapping(record) -> dict:
    return {
        c.name: getattr(record, record.__mapper__.get_property_by_column(c).key)
        for c in record.__table__.columns
    }


def lock_casebook(user: User, session: Session, patient: Patient, *, password: str) -> CasebookLock:
    """The investigator's signed lock: refused while queries are unresolved or an exam awaits
    its second entry or reconciliation."""
    require_role(session, user, LOCK_ROLES, "lock a casebook")
    require_site(session, user, patient, "lock a casebook")
    if casebook_lock(session, patient) is not None:
        deny(session, user, "already_locked", f"the casebook of {patient.study_code} is locked")
    unresolved = session.scalar(
        select(DataQuery.id)
        .where(DataQuery.patient_id == patient.id, DataQuery.status.in_(OPEN_STATES))
        .limit(1)
    )
    if unresolved is not None:
        deny(
            session,
            user,
            "queries_open",
            f"the casebook of {patient.study_code} has queries not closed: the monitor closes "
            "them before it can be signed off",
            patient=patient.study_code,
        )
    pending = session.scalar(
        select(DoubleEntry.id)
        .where(DoubleEntry.patient_id == patient.id, DoubleEntry.status != "reconciled")
        .limit(1)
    )
    if pending is not None:
        deny(
            session,
            user,
            "double_entry_pending",
            f"the casebook of {patient.study_code} has an exam awaiting its second entry or "
            "reconciliation",
            patient=patient.study_code,
        )
    reauthenticate(session, user, password, "sign off the casebook")
    digest, n = casebook_content(session, patient)
    lock = CasebookLock(
        patient_id=patient.id,
        locked_by_id=user.id,
        signer_name=user.display_name,
        meaning=MEANING,
        content_hash=digest,
        records=n,
    )
    session.add(lock)
    session.flush()
    return lock


def unlock_casebook(user: User, session: Session, patient: Patient, *, reason: str) -> CasebookLock:
    require_role(session, user, UNLOCK_ROLES, "unlock a casebook")
    require_site(session, user, patient, "unlock a casebook")
    why = require_text(session, user, reason, "reason", "why the casebook is unlocked")
    current = trial_lock(session)
    if current is not None:
        deny(
            session,
            user,
            "trial_locked",
            f"the trial's data are locked (data lock {current.id}): unlock them first",
        )
    lock = casebook_lock(session, patient)
    if lock is None:
        deny(session, user, "not_locked", f"the casebook of {patient.study_code} is not locked")
    lock.unlocked_at, lock.unlocked_by_id, lock.unlock_reason = utcnow(), user.id, why
    set_reason(session, lock, why)
    session.flush()
    return lock


def _sponsor_admin(session: Session, user: User, action: str) -> None:
    require_role(session, user, TRIAL_ROLES, action)
    if user.site_id is not None:
        deny(
            session,
            user,
            "role_not_allowed",
            f"{action}: only an administrator of the whole trial (no site) may do this",
        )


def lock_trial(
    user: User, session: Session, *, password: str, purpose: str = TRIAL_PURPOSE
) -> DataLock:
    """Lock every casebook's data for the final analysis; refused unless every patient's
    casebook is signed off and locked."""
    _sponsor_admin(session, user, "lock the trial's data")
    purpose = require_text(session, user, purpose, "purpose", "what the lock is for")
    if trial_lock(session) is not None:
        deny(session, user, "already_locked", "the trial's data are already locked")
    patients = list(session.scalars(select(Patient).order_by(Patient.study_code)))
    check(session, user, bool(patients), "patients", 0, "at least one patient to lock")
    locks = {
        lk.patient_id: lk
        for lk in session.scalars(select(CasebookLock).where(CasebookLock.unlocked_at.is_(None)))
    }
    missing = [p.study_code for p in patients if p.id not in locks]
    if missing:
        shown = ", ".join(missing[:20]) + (
            f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        )
        deny(
            session,
            user,
            "casebooks_not_locked",
            f"every casebook must be signed off and locked first; not locked: {shown}",
            patients=missing,
        )
    reauthenticate(session, user, password, "lock the trial's data")
    counts = Counter(r.__tablename__ for _, r in records_of(session, [p.id for p in patients]))
    sites = {s.id: s.code for s in session.scalars(select(Site))}
    scope = {
        "patients": [p.study_code for p in patients],
        "sites": sorted({sites[p.site_id] for p in patients}),
        "records": dict(sorted(counts.items())),
        "casebook_locks": {p.study_code: locks[p.id].id for p in patients},
    }
    digest = hashlib.sha256(
        canonical_json([[p.study_code, locks[p.id].content_hash] for p in patients]).encode()
    ).hexdigest()
    lock = DataLock(
        locked_by_id=user.id,
        signer_name=user.display_name,
        purpose=purpose,
        scope=scope,
        content_hash=digest,
    )
    session.add(lock)
    session.flush()
    return lock


def unlock_trial(user: User, session: Session, *, reason: str) -> DataLock:
    _sponsor_admin(session, user, "unlock the trial's data")
    why = require_text(session, user, reason, "reason", "why the trial's data are unlocked")
    lock = trial_lock(session)
    if lock is None:
        deny(session, user, "not_locked", "the trial's data are not locked")
    lock.unlocked_at, lock.unlocked_by_id, lock.unlock_reason = utcnow(), user.id, why
    set_reason(session, lock, why)
    session.flush()
    return lock


def lock_statement(session: Session) -> str:
    """One sentence for a report: the current data lock (its date and which data), or that
    the data are not locked."""
    lock = trial_lock(session)
    if lock is None:
        return "data not locked (live data at the time of the report)"
    scope = lock.scope or {}
    n = len(scope.get("patients", []))
    records = sum((scope.get("records") or {}).values())
    return (
        f"data lock {lock.id} of {lock.locked_at:%Y-%m-%d %H:%M} UTC by {lock.signer_name} "
        f"({lock.purpose}): the signed-off casebooks of {n} patient{'s' * (n != 1)} at "
        f"site{'s' * (len(scope.get('sites', [])) != 1)} {', '.join(scope.get('sites', []))}, "
        f"{records} records, content SHA-256 {lock.content_hash[:16]}…"
    )
