"""Adverse events: CTCAE v5.0 or protocol grade, seriousness, relatedness to the product and to
each procedure, expectedness (from the protocol's list unless stated), onset, resolution, outcome
(instruments.md, "Safety grading")."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AE_OUTCOMES, RELATEDNESS, AdverseEvent, Patient, User
from ..protocol import Protocol
from ..protocol_versions import protocol_on
from . import plausibility
from .base import READ_ROLES, check, require_role, require_site
from .fields import check_text
from .timing import check_event_day

AE_ROLES = ("investigator",)


def record_adverse_event(
    user: User,
    session: Session,
    patient: Patient,
    *,
    term: str,
    grade: int,
    serious: bool,
    onset_date: date,
    grade_scale: str = "CTCAE v5.0",
    related_product: str = "not related",
    related_harvest: str = "not related",
    related_blood_draw: str = "not related",
    related_infusion: str = "not related",
    expected: bool | None = None,
    resolution_date: date | None = None,
    outcome: str | None = None,
    protocol: Protocol | None = None,
    confirm: Collection[str] = (),
) -> AdverseEvent:
    """Record an event; an onset before the consent needs ``ae_before_consent`` in
    ``confirm`` (services.plausibility); onset in the future or before the injury is refused."""
    protocol = protocol or protocol_on(session, onset_date)
    require_role(session, user, AE_ROLES, "record an adverse event")
    require_site(session, user, patient, "record an adverse event")
    row = AdverseEvent(
        patient_id=patient.id,
        term=term.strip() if isinstance(term, str) else term,
        grade_scale=grade_scale,
        grade=grade,
        serious=bool(serious),
        related_product=related_product,
        related_harvest=related_harvest,
        related_blood_draw=related_blood_draw,
        related_infusion=related_infusion,
        expected=bool(expected),
        onset_date=onset_date,
        resolution_date=resolution_date,
        outcome=outcome,
        reported_by_id=user.id,
    )
    validate_adverse_event(session, user, patient, row)
    checked = plausibility.check_adverse_event(
        user, session, patient, onset=onset_date, confirm=confirm
    )
    if expected is None:  # from the protocol's list of expected events
        row.expected = protocol.is_expected(row.term)
    session.add(row)
    session.flush()
    checked.store(user, session, row)
    return row


def validate_adverse_event(
    session: Session, user: User, patient: Patient, row: AdverseEvent
) -> None:
    """The grading rules of an event (instruments.md, "Safety grading"); also after a
    correction. An event may be reported after the end of study (safety follow-up), never
    before it happened."""
    check_event_day(session, user, patient, "onset_date", row.onset_date, on_study=False)
    check_text(session, user, "term", row.term, "the event term")
    check(
        session,
        user,
        row.grade_scale in ("CTCAE v5.0", "protocol"),
        "grade_scale",
        row.grade_scale,
        "CTCAE v5.0, protocol",
    )
    grade = row.grade
    check(
        session,
        user,
        isinstance(grade, int) and not isinstance(grade, bool) and 1 <= grade <= 5,
        "grade",
        grade,
        "1-5 (1 mild, 2 moderate, 3 severe, 4 life-threatening, 5 death)",
    )
    for name in ("related_product", "related_harvest", "related_blood_draw", "related_infusion"):
        value = getattr(row, name)
        check(session, user, value in RELATEDNESS, name, value, ", ".join(RELATEDNESS))
    check(
        session,
        user,
        row.outcome is None or row.outcome in AE_OUTCOMES,
        "outcome",
        row.outcome,
        ", ".join(AE_OUTCOMES),
    )
    check(
        session,
        user,
        grade != 5 or row.outcome == "fatal",
        "outcome",
        row.outcome,
        "'fatal' for a grade 5 event",
    )
    check(
        session, user, grade != 5 or row.serious, "serious", row.serious, "true for a grade 5 event"
    )
    if row.resolution_date is not None:
        check(
            session,
            user,
            row.resolution_date >= row.onset_date,
            "resolution_date",
            row.resolution_date.isoformat(),
            f"on or after onset {row.onset_date.isoformat()}",
        )


def for_patient(user: User, session: Session, patient: Patient) -> list[AdverseEvent]:
    require_role(session, user, READ_ROLES, "view adverse events")
    require_site(session, user, patient, "view adverse events")
    return list(
        session.scalars(
            select(AdverseEvent)
            .where(AdverseEvent.patient_id == patient.id)
            .order_by(AdverseEvent.onset_date)
        )
    )
