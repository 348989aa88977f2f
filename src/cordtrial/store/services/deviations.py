"""Protocol deviations: recorded with the visit when an assessment is saved outside its window
(the user confirms and gives the reason), or reported by hand; reviewed and closed (or
re-opened) with a note. Every change is in the audit trail."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import set_reason
from ..models import DEVIATION_KINDS, VISIT_CODES, Deviation, Patient, User
from ..rules import deviation_change
from ..types import utcnow
from .base import READ_ROLES, check, deny, require_role, require_site, require_text

# Who reports and reviews deviations by hand: the site's investigator, the monitor, and a
# sponsor-level administrator acting as data manager.
DEVIATION_ROLES = ("investigator", "monitor", "admin")
KIND_LABELS = {
    "visit_out_of_window": "visit out of window",
    "missed_visit": "missed visit",
    "procedure": "procedure not as in the protocol",
    "eligibility": "eligibility",
    "other": "other",
}


def record_visit_deviation(
    user: User,
    session: Session,
    patient: Patient,
    *,
    visit_code: str,
    days_outside: int,
    description: str,
    reason: str,
    record,
) -> Deviation:
    """The deviation of a visit saved outside its window, by whoever saved it (the reason is
    the one they gave when confirming)."""
    row = Deviation(
        patient_id=patient.id,
        kind="visit_out_of_window",
        visit_code=visit_code,
        description=description,
        days_outside=days_outside,
        record_table=record.__tablename__,
        record_id=record.id,
        reason=reason,
        status="open",
        reported_by_id=user.id,
    )
    session.add(row)
    session.flush()
    return row


# Recorded with a record that departs from the protocol when it is saved (no one confirms it:
# the event happened); why it happened goes into the review's resolution.
AUTO_REASON = "not given: recorded when the record was saved; the review's resolution says why"


def sync_record_deviation(
    user: User, session: Session, patient: Patient, record, *, kind: str, description: str | None
) -> Deviation | None:
    """The deviation recorded with ``record`` (one per record and kind), made or updated to
    ``description`` (rules.deviation_change: idempotent, never dropped by a correction)."""
    row = session.scalar(
        select(Deviation).where(
            Deviation.record_table == record.__tablename__,
            Deviation.record_id == record.id,
            Deviation.kind == kind,
        )
    )
    change = deviation_change(row.description if row else None, description)
    if change == "create":
        row = Deviation(
            patient_id=patient.id,
            kind=kind,
            description=description,
            record_table=record.__tablename__,
            record_id=record.id,
            reason=AUTO_REASON,
            status="open",
            reported_by_id=user.id,
        )
        session.add(row)
    elif change == "update":
        row.description = description
        if row.status == "closed":  # what was reviewed is no longer what happened
            row.status, row.closed_by_id, row.closed_at, row.resolution = "open", None, None, None
        set_reason(session, row, f"the {record.__tablename__} record was changed")
    return row


def report(
    user: User,
    session: Session,
    patient: Patient,
    *,
    kind: str,
    description: str,
    reason: str,
    visit_code: str | None = None,
) -> Deviation:
    require_role(session, user, DEVIATION_ROLES, "report a protocol deviation")
    require_site(session, user, patient, "report a protocol deviation")
    check(session, user, kind in DEVIATION_KINDS, "kind", kind, ", ".join(DEVIATION_KINDS))
    check(
        session,
        user,
        visit_code is None or visit_code in VISIT_CODES,
        "visit_code",
        visit_code,
        ", ".join(VISIT_CODES) + " or none",
    )
    row = Deviation(
        patient_id=patient.id,
        kind=kind,
        visit_code=visit_code,
        description=require_text(session, user, description, "description", "what happened"),
        reason=require_text(session, user, reason, "reason", "why it happened"),
        status="open",
        reported_by_id=user.id,
    )
    session.add(row)
    session.flush()
    return row


def _transition(user, session, dev: Deviation, want: str, action: str) -> Patient:
    require_role(session, user, DEVIATION_ROLES, f"{action} a protocol deviation")
    patient = session.get(Patient, dev.patient_id)
    require_site(session, user, patient, f"{action} a protocol deviation")
    came_from = "open" if want == "closed" else "closed"
    if dev.status != came_from:
        deny(
            session,
            user,
            "deviation_transition",
            f"deviation {dev.id} is {dev.status}: only a {came_from} deviation can be "
            f"{'closed' if want == 'closed' else 're-opened'}",
            deviation=dev.id,
            status=dev.status,
        )
    return patient


def close(user: User, session: Session, dev: Deviation, *, resolution: str) -> Deviation:
    """Reviewed and closed, with what was concluded or done."""
    _transition(user, session, dev, "closed", "close")
    dev.resolution = require_text(session, user, resolution, "resolution", "what was concluded")
    dev.status, dev.closed_by_id, dev.closed_at = "closed", user.id, utcnow()
    session.flush()
    return dev


def reopen(user: User, session: Session, dev: Deviation, *, reason: str) -> Deviation:
    _transition(user, session, dev, "open", "re-open")
    why = require_text(session, user, reason, "reason", "why it is re-opened")
    dev.status, dev.closed_by_id, dev.closed_at, dev.resolution = "open", None, None, None
    set_reason(session, dev, why)
    session.flush()
    return dev


def get(user: User, session: Session, deviation_id: int) -> tuple[Deviation, Patient]:
    require_role(session, user, READ_ROLES, "view a protocol deviation")
    dev = session.get(Deviation, deviation_id)
    if dev is None:
        deny(session, user, "not_found", f"no deviation with id {deviation_id}")
    patient = session.get(Patient, dev.patient_id)
    require_site(session, user, patient, "view a protocol deviation")
    return dev, patient


def list_for(
    user: User,
    session: Session,
    *,
    status: str | None = None,
    kind: str | None = None,
    patient: Patient | None = None,
) -> list[tuple[Deviation, Patient]]:
    """Deviations the user may see (their site's), newest first."""
    require_role(session, user, READ_ROLES, "view protocol deviations")
    q = select(Deviation, Patient).join(Patient, Patient.id == Deviation.patient_id)
    if user.site_id is not None:
        q = q.where(Patient.site_id == user.site_id)
    if status:
        q = q.where(Deviation.status == status)
    if kind:
        q = q.where(Deviation.kind == kind)
    if patient is not None:
        q = q.where(Deviation.patient_id == patient.id)
    rows = session.execute(q.order_by(Deviation.reported_at.desc(), Deviation.id.desc()))
    return [(d, p) for d, p in rows]
