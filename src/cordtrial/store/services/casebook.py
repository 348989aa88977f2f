"""One patient's casebook read from the store (the grid itself: cordtrial.casebook.grid), and
marking a scheduled form "not done" with a reason."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.casebook.forms import FORMS
from cordtrial.casebook.grid import Casebook, RecordRef, StudyEnd, build

from ..models import Confirmation, DoubleEntry, FormNotDone, Patient, Signature, User
from ..protocol import Protocol
from ..protocol_versions import protocol_on
from ..record_refs import record_date
from ..signatures import status as signature_status
from . import data_queries, locks, plausibility, sdv
from .base import READ_ROLES, check, deny, require_role, require_site, require_text
from .timing import site_today
from .trial_records import records_of

NOT_DONE_ROLES = ("investigator", "assessor")
# Record tables that are one step of the casebook (assessments are their kind's form).
_STEP_OF_TABLE = {
    "injuries": "injury",
    "eligibility": "eligibility",
    "consents": "consent",
    "blood_draws": "blood_draw",
    "marrow_harvests": "harvest",
    "lots": "lot",
    "infusions": "infusion",
}
_RELEASED = ("released", "dispensed", "infused")


def form_of(record) -> str:
    """The casebook form a record belongs to ("isncsci", "consent", ... or its table)."""
    table = record.__tablename__
    if table == "assessments":
        return record.kind
    return _STEP_OF_TABLE.get(table, table)


def record_refs(session: Session, patient: Patient) -> list[RecordRef]:
    """Every trial record of the patient, summarised for the casebook."""
    records = [r for _, r in records_of(session, [patient.id])]
    verified = sdv.verified_keys(session, [patient.id])
    queries = data_queries.unresolved_counts(session, [patient.id])
    signed_ids = set()
    for table in ("assessments", "infusions", "lots"):
        ids = [r.id for r in records if r.__tablename__ == table]
        signed_ids |= {
            (table, i)
            for i in session.scalars(
                select(Signature.record_id).where(
                    Signature.record_table == table, Signature.record_id.in_(ids)
                )
            )
        }
    incomplete = {
        c.record_id
        for c in session.scalars(
            select(Confirmation).where(
                Confirmation.patient_id == patient.id,
                Confirmation.record_table == "assessments",
                Confirmation.rule == "instrument_incomplete",
            )
        )
    }
    out = []
    for record in records:
        table, key = record.__tablename__, (record.__tablename__, record.id)
        signed = key in signed_ids and all(st.valid for st in signature_status(session, record))
        note = ""
        done = True
        if table == "lots":
            done = record.status in _RELEASED
            note = record.status
        elif table == "assessments" and record.id in incomplete:
            note = "saved incomplete"
        out.append(
            RecordRef(
                form=form_of(record),
                table=table,
                id=record.id,
                on=record_date(record),
                visit=getattr(record, "visit_code", None),
                signed=signed,
                verified=key in verified,
                open_queries=queries[key],
                done=done,
                note=note,
            )
        )
    return out


def casebook_for(
    user: User,
    session: Session,
    patient: Patient,
    *,
    protocol: Protocol | None = None,
    today: date | None = None,
) -> Casebook:
    require_role(session, user, READ_ROLES, "view a casebook")
    require_site(session, user, patient, "view a casebook")
    # "today" is the patient's site's calendar day: a visit due today in Tokyo is due there
    today = today or site_today(patient.site)
    return _build(session, patient, protocol or protocol_on(session), today)


def _build(session: Session, patient: Patient, protocol: Protocol, today: date) -> Casebook:
    not_done = {
        (n.visit_code, n.form): n.reason
        for n in session.scalars(select(FormNotDone).where(FormNotDone.patient_id == patient.id))
    }
    pending = {
        d.visit_code: d.status
        for d in session.scalars(
            select(DoubleEntry).where(
                DoubleEntry.patient_id == patient.id, DoubleEntry.status != "reconciled"
            )
        )
    }
    locked = (
        locks.casebook_lock(session, patient) is not None or locks.trial_lock(session) is not None
    )
    return build(
        protocol,
        plausibility.anchors_for(session, patient),
        record_refs(session, patient),
        today=today,
        not_done=not_done,
        double_entries=pending,
        locked=locked,
        ended=study_end(patient),
    )


def study_end(patient: Patient) -> StudyEnd | None:
    """The patient's end of study as the casebook needs it (None while in the study)."""
    if patient.ended_on is None:
        return None
    return StudyEnd(patient.ended_on, (patient.end_reason or "").replace("_", " "))


def casebooks(
    user: User, session: Session, *, protocol: Protocol | None = None, today: date | None = None
) -> list[tuple[Patient, Casebook]]:
    """Every visible patient's casebook (the worklists read them)."""
    require_role(session, user, READ_ROLES, "view casebooks")
    q = select(Patient).order_by(Patient.study_code)
    if user.site_id is not None:
        q = q.where(Patient.site_id == user.site_id)
    protocol = protocol or protocol_on(session)
    return [
        (p, _build(session, p, protocol, today or site_today(p.site))) for p in session.scalars(q)
    ]


def mark_not_done(
    user: User,
    session: Session,
    patient: Patient,
    *,
    visit_code: str,
    form: str,
    reason: str,
    protocol: Protocol | None = None,
) -> FormNotDone:
    """A scheduled form that will not be done (e.g. the patient declined), and why."""
    protocol = protocol or protocol_on(session)
    require_role(session, user, NOT_DONE_ROLES, "mark a form not done")
    require_site(session, user, patient, "mark a form not done")
    visit = protocol.visit(visit_code)
    check(
        session,
        user,
        visit is not None,
        "visit_code",
        visit_code,
        ", ".join(v.code for v in protocol.visits),
    )
    check(
        session,
        user,
        form in visit.forms,
        "form",
        form,
        f"a form the protocol schedules at {visit_code}: {', '.join(visit.forms)}",
    )
    why = require_text(session, user, reason, "reason", "why the form will not be done")
    refs = [r for r in record_refs(session, patient) if r.form == form and r.visit == visit_code]
    if refs:
        deny(
            session,
            user,
            "form_done",
            f"{FORMS[form].label} at {visit_code} is already recorded: it cannot be not done",
        )
    taken = session.scalar(
        select(FormNotDone.id).where(
            FormNotDone.patient_id == patient.id,
            FormNotDone.visit_code == visit_code,
            FormNotDone.form == form,
        )
    )
    if taken is not None:
        deny(
            session,
            user,
            "already_not_done",
            f"{FORMS[form].label} at {visit_code} is already marked not done",
        )
    row = FormNotDone(
        patient_id=patient.id, visit_code=visit_code, form=form, reason=why, recorded_by_id=user.id
    )
    session.add(row)
    session.flush()
    return row
