"""Adverse events: CTCAE v5.0 or protocol grade, seriousness, relatedness to the product and to
each procedure, expectedness (from the protocol's list unless stated), onset, resolution, outcome
(instruments.md, "Safety grading")."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AE_OUTCOMES, RELATEDNESS, AdverseEvent, Patient, User
from ..protocol import Protocol, default_protocol
from . import plausibility
from .base import READ_ROLES, check, require_role, require_site

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
    ``confirm`` (services.plausibility); onset after tomorrow or before the injury is refused."""
    protocol = protocol or default_protocol()
    require_role(session, user, AE_ROLES, "record an adverse event")
    require_site(session, user, patient, "record an adverse event")
    check(session, user, bool(term and term.strip()), "term", term, "the event term")
    check(
        session,
        user,
        grade_scale in ("CTCAE v5.0", "protocol"),
        "grade_scale",
        grade_scale,
        "CTCAE v5.0, protocol",
    )
    check(
        session,
        user,
        isinstance(grade, int) and 1 <= grade <= 5,
        "grade",
        grade,
        "1-5 (1 mild, 2 moderate, 3 severe, 4 life-threatening, 5 death)",
    )
    for name, value in (
        ("related_product", related_product),
        ("related_harvest", related_harvest),
        ("related_blood_draw", related_blood_draw),
        ("related_infusion", related_infusion),
    ):
        check(session, user, value in RELATEDNESS, name, value, ", ".join(RELATEDNESS))
    check(
        session,
        user,
        outcome is None or outcome in AE_OUTCOMES,
        "outcome",
        outcome,
        ", ".join(AE_OUTCOMES),
    )
    check(
        session,
        user,
        grade != 5 or outcome == "fatal",
        "outcome",
        outcome,
        "'fatal' for a grade 5 event",
    )
    check(session, user, grade != 5 or serious, "serious", serious, "true for a grade 5 event")
    if resolution_date is not None:
        check(
            session,
            user,
            resolution_date >= onset_date,
            "resolution_date",
            resolution_date.isoformat(),
            f"on or after onset {onset_date.isoformat()}",
        )
    checked = plausibility.check_adverse_event(
        user, session, patient, onset=onset_date, confirm=confirm
    )
    row = AdverseEvent(
        patient_id=patient.id,
        term=term.strip(),
        grade_scale=grade_scale,
        grade=grade,
        serious=bool(serious),
        related_product=related_product,
        related_harvest=related_harvest,
        related_blood_draw=related_blood_draw,
        related_infusion=related_infusion,
        expected=protocol.is_expected(term) if expected is None else bool(expected),
        onset_date=onset_date,
        resolution_date=resolution_date,
        outcome=outcome,
        reported_by_id=user.id,
    )
    session.add(row)
    session.flush()
    checked.store(user, session, row)
    return row


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
