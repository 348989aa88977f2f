"""Double data entry of the ISNCSCI worksheet (on when the protocol lists "isncsci" in
``double_data_entry``): two independent entries by different people, then a third person
compares them cell by cell and resolves each discrepancy; only the reconciled exam is stored as
the assessment and classified (the entries never are).

Every step is audited (the entries, the reconciliation with each discrepancy's two values and
the value chosen). Entrants never see each other's values before reconciliation.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.casebook.reconcile import META_FIELDS, Discrepancy, discrepancies, reconciled

from ..models import Assessment, DoubleEntry, ExamEntry, Patient, User
from ..protocol import Protocol
from ..protocol_versions import protocol_on
from ..types import utcnow
from . import assessments
from .base import READ_ROLES, deny, require_role, require_site

ENTRY_ROLES = assessments.ASSESS_ROLES
FORM = "isncsci"


def refuse_single_entry(user: User, session: Session, protocol: Protocol | None = None) -> None:
    """An exam entered once where the protocol asks for double entry is refused."""
    protocol = protocol or protocol_on(session)
    if protocol.requires_double_entry(FORM):
        deny(
            session,
            user,
            "double_entry_required",
            "the protocol asks for double data entry of ISNCSCI exams: enter it as a first or "
            "second entry (POST .../isncsci-entries); a third person reconciles the two",
        )


def pending(session: Session, patient: Patient, visit_code: str) -> DoubleEntry | None:
    return session.scalar(
        select(DoubleEntry).where(
            DoubleEntry.patient_id == patient.id,
            DoubleEntry.visit_code == visit_code,
            DoubleEntry.status != "reconciled",
        )
    )


def enter_exam(
    user: User,
    session: Session,
    patient: Patient,
    *,
    visit_code: str,
    assessed_on: date,
    rhi: dict[str, Any],
    assessor_name: str,
    blinded: bool,
) -> ExamEntry:
    """The first entry of an exam at a visit, or the second by another person."""
    assessments.check_heading(
        session, user, patient, visit_code, assessed_on, assessor_name, "enter an ISNCSCI exam"
    )
    entered, _, _ = assessments._evaluated_exam(session, user, rhi)  # validated, not kept
    de = pending(session, patient, visit_code)
    if de is None:
        de = DoubleEntry(patient_id=patient.id, visit_code=visit_code, status="awaiting_second")
        session.add(de)
        session.flush()
        number = 1
    else:
        if de.status != "awaiting_second":
            deny(
                session,
                user,
                "double_entry_complete",
                f"both entries of the {visit_code} exam of {patient.study_code} are made: a "
                "third person reconciles them",
                double_entry=de.id,
            )
        if de.entries[0].entered_by_id == user.id:
            deny(
                session,
                user,
                "same_person",
                "the second entry must be made by another person than the first",
                double_entry=de.id,
            )
        number = 2
        de.status = "awaiting_reconciliation"
    row = ExamEntry(
        double_entry_id=de.id,
        entry_number=number,
        assessed_on=assessed_on,
        assessor_name=assessor_name.strip(),
        blinded=bool(blinded),
        data=entered,
        entered_by_id=user.id,
    )
    session.add(row)
    session.flush()
    session.refresh(de)
    return row


def get(user: User, session: Session, double_entry_id: int) -> tuple[DoubleEntry, Patient]:
    require_role(session, user, READ_ROLES, "view a double entry")
    de = session.get(DoubleEntry, double_entry_id)
    if de is None:
        deny(session, user, "not_found", f"no double entry with id {double_entry_id}")
    patient = session.get(Patient, de.patient_id)
    require_site(session, user, patient, "view a double entry")
    return de, patient


def values_of(entry: ExamEntry) -> dict[str, Any]:
    """An entry's heading and cells as one mapping (what is compared)."""
    return {
        "assessed_on": entry.assessed_on.isoformat(),
        "assessor_name": entry.assessor_name,
        "blinded": entry.blinded,
        **(entry.data or {}),
    }


def compare(de: DoubleEntry, order: tuple[str, ...] = ()) -> list[Discrepancy]:
    """The cells (and heading fields) in which the two entries differ."""
    first, second = (values_of(e) for e in de.entries)
    return discrepancies(first, second, META_FIELDS + tuple(order))


def may_see_values(user: User, de: DoubleEntry) -> bool:
    """Entrants do not see the other entry before reconciliation (independent entry)."""
    if de.status == "reconciled":
        return True
    return user.id not in {e.entered_by_id for e in de.entries}


def reconcile(
    user: User,
    session: Session,
    de: DoubleEntry,
    *,
    chosen: dict[str, Any],
    confirm: Collection[str] = (),
    deviation_reason: str | None = None,
    protocol: Protocol | None = None,
) -> Assessment:
    """A third person resolves every discrepancy; the reconciled exam is stored and classified
    (assessments.record_isncsci: its plausibility rules apply here)."""
    require_role(session, user, ENTRY_ROLES, "reconcile a double entry")
    patient = session.get(Patient, de.patient_id)
    require_site(session, user, patient, "reconcile a double entry")
    if de.status != "awaiting_reconciliation":
        deny(
            session,
            user,
            "double_entry_transition",
            f"double entry {de.id} is {de.status.replace('_', ' ')}: only an exam with both "
            "entries can be reconciled",
            double_entry=de.id,
            status=de.status,
        )
    if user.id in {e.entered_by_id for e in de.entries}:
        deny(
            session,
            user,
            "third_person_required",
            "the reconciliation is made by a third person, not by one of the two who entered it",
            double_entry=de.id,
        )
    first, second = (values_of(e) for e in de.entries)
    merged, unresolved = reconciled(first, second, chosen)
    if unresolved:
        deny(
            session,
            user,
            "invalid_input",
            f"resolve every discrepancy: {', '.join(unresolved)}",
            errors=[
                {"field": f, "value": None, "allowed": "the value read from the source document"}
                for f in unresolved
            ],
        )
    heading = {k: merged.pop(k, None) for k in META_FIELDS}
    try:
        on = date.fromisoformat(str(heading["assessed_on"]))
    except ValueError:
        deny(
            session,
            user,
            "invalid_input",
            "assessed_on: a date YYYY-MM-DD",
            field="assessed_on",
            value=heading["assessed_on"],
            allowed="a date YYYY-MM-DD",
        )
    blinded = heading["blinded"] in (True, "true", "True", "on", "yes")
    row = assessments.record_isncsci(
        user,
        session,
        patient,
        visit_code=de.visit_code,
        assessed_on=on,
        rhi=merged,
        assessor_name=str(heading["assessor_name"] or ""),
        blinded=blinded,
        confirm=confirm,
        deviation_reason=deviation_reason,
        protocol=protocol,
    )
    de.status, de.assessment_id = "reconciled", row.id
    de.resolved_by_id, de.resolved_at = user.id, utcnow()
    de.resolution = {
        d.field: {"entry1": d.first, "entry2": d.second, "value": chosen.get(d.field)}
        for d in discrepancies(first, second)
    }
    session.flush()
    return row


def list_for(
    user: User, session: Session, *, status: str | None = None
) -> list[tuple[DoubleEntry, Patient]]:
    require_role(session, user, READ_ROLES, "view double entries")
    q = select(DoubleEntry, Patient).join(Patient, Patient.id == DoubleEntry.patient_id)
    if user.site_id is not None:
        q = q.where(Patient.site_id == user.site_id)
    if status == "pending":
        q = q.where(DoubleEntry.status != "reconciled")
    elif status:
        q = q.where(DoubleEntry.status == status)
    return [(d, p) for d, p in session.execute(q.order_by(DoubleEntry.created_at, DoubleEntry.id))]
