"""Patients, their injury, eligibility, consent and visit schedule; site-scoped queries."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..models import Consent, Eligibility, Injury, Patient, PatientIdentity, Site, User, Visit
from ..protocol import Protocol, default_protocol
from .base import (
    IDENTITY_ROLES,
    READ_ROLES,
    check,
    deny,
    require_role,
    require_site,
)

ENROL_ROLES = ("investigator", "admin")
CLINICAL_ENTRY = ("investigator",)
_LEVEL = re.compile(r"^(C[1-8]|T([1-9]|1[0-2])|L[1-5]|S[1-5])$")
STUDY_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")


def list_for(user: User, session: Session) -> list[Patient]:
    """The patients ``user`` may see: their site's, or all for users without a site."""
    require_role(session, user, READ_ROLES, "list patients")
    q = (
        select(Patient)
        .options(joinedload(Patient.site), joinedload(Patient.injury))
        .order_by(Patient.study_code)
    )
    if user.site_id is not None:
        q = q.where(Patient.site_id == user.site_id)
    return list(session.scalars(q))


def get_for(user: User, session: Session, study_code: str) -> Patient:
    """One patient by study code, refused when unknown or at another site."""
    require_role(session, user, READ_ROLES, "view a patient")
    patient = session.scalar(select(Patient).where(Patient.study_code == study_code))
    if patient is None:
        deny(session, user, "not_found", f"no patient with study code {study_code!r}")
    require_site(session, user, patient, "view a patient")
    return patient


def identity_for(user: User, session: Session, patient: Patient) -> PatientIdentity | None:
    """Identifying data; only for roles that need it, at the patient's site."""
    require_role(session, user, IDENTITY_ROLES, "read identifying data")
    require_site(session, user, patient, "read identifying data")
    return session.get(PatientIdentity, patient.id)


def register(
    user: User,
    session: Session,
    *,
    site: Site,
    study_code: str,
    sex: str | None,
    age_at_injury: int,
    identity: dict | None = None,
    synthetic: bool = False,
) -> Patient:
    require_role(session, user, ENROL_ROLES, "register a patient")
    check(session, user, user.site_id in (None, site.id), "site", site.code, "the user's own site")
    check(
        session,
        user,
        bool(STUDY_CODE.match(study_code or "")),
        "study_code",
        study_code,
        "2-32 of A-Z, 0-9 and '-' (pseudonymous; no names or hospital numbers)",
    )
    check(session, user, sex in ("F", "M", None), "sex", sex, "F, M or empty")
    check(
        session,
        user,
        isinstance(age_at_injury, int) and 0 <= age_at_injury <= 120,
        "age_at_injury",
        age_at_injury,
        "whole years 0-120",
    )
    taken = session.scalar(select(Patient.id).where(Patient.study_code == study_code))
    check(session, user, taken is None, "study_code", study_code, "a code not yet used")
    patient = Patient(
        study_code=study_code,
        site_id=site.id,
        sex=sex,
        age_at_injury=age_at_injury,
        synthetic=synthetic,
        status="screening",
    )
    session.add(patient)
    session.flush()
    if identity:
        session.add(PatientIdentity(patient_id=patient.id, **identity))
        session.flush()
    return patient


def record_injury(
    user: User,
    session: Session,
    patient: Patient,
    *,
    injury_date: date,
    mechanism: str,
    non_penetrating: bool,
    level: str,
) -> Injury:
    require_role(session, user, CLINICAL_ENTRY, "record the injury")
    require_site(session, user, patient, "record the injury")
    check(
        session,
        user,
        bool(_LEVEL.match(level or "")),
        "level",
        level,
        "C1-C8, T1-T12, L1-L5, S1-S5",
    )
    check(
        session,
        user,
        bool(mechanism and mechanism.strip()),
        "mechanism",
        mechanism,
        "a description",
    )
    existing = session.scalar(select(Injury).where(Injury.patient_id == patient.id))
    check(
        session,
        user,
        existing is None,
        "injury",
        patient.study_code,
        "one injury record per patient (amend the existing one with a reason)",
    )
    injury = Injury(
        patient_id=patient.id,
        injury_date=injury_date,
        mechanism=mechanism,
        non_penetrating=non_penetrating,
        level=level,
    )
    session.add(injury)
    session.flush()
    return injury


def record_eligibility(
    user: User, session: Session, patient: Patient, *, assessed_on: date, criteria: dict[str, bool]
) -> Eligibility:
    """Eligible only when every criterion is met (study.md: onset <= 14 d, cervical, AIS A-C,
    age 20-70; the label's screening exclusions are further criteria)."""
    require_role(session, user, CLINICAL_ENTRY, "record eligibility")
    require_site(session, user, patient, "record eligibility")
    check(
        session,
        user,
        bool(criteria) and all(isinstance(v, bool) for v in criteria.values()),
        "criteria",
        criteria,
        "a non-empty mapping of criterion -> true/false",
    )
    row = Eligibility(
        patient_id=patient.id,
        assessed_on=assessed_on,
        criteria=dict(criteria),
        eligible=all(criteria.values()),
        assessed_by_id=user.id,
    )
    session.add(row)
    patient.status = "eligible" if row.eligible else "not eligible"
    session.flush()
    return row


def record_consent(
    user: User, session: Session, patient: Patient, *, consent_date: date, form_version: str
) -> Consent:
    require_role(session, user, CLINICAL_ENTRY, "record consent")
    require_site(session, user, patient, "record consent")
    check(
        session,
        user,
        bool(form_version and form_version.strip()),
        "form_version",
        form_version,
        "the consent form version",
    )
    row = Consent(
        patient_id=patient.id,
        consent_date=consent_date,
        form_version=form_version,
        obtained_by_id=user.id,
    )
    session.add(row)
    if patient.status == "eligible":
        patient.status = "enrolled"
    session.flush()
    return row


def has_consent_and_eligibility(session: Session, patient: Patient) -> bool:
    eligible = session.scalar(
        select(Eligibility.eligible)
        .where(Eligibility.patient_id == patient.id)
        .order_by(Eligibility.id.desc())
        .limit(1)
    )
    consent = session.scalar(
        select(Consent.id).where(Consent.patient_id == patient.id, Consent.withdrawn_on.is_(None))
    )
    return bool(eligible) and consent is not None


def schedule_visits(
    user: User,
    session: Session,
    patient: Patient,
    *,
    planned_infusion: date,
    protocol: Protocol | None = None,
) -> list[Visit]:
    """Create (or move) the protocol's visits around the planned infusion day."""
    protocol = protocol or default_protocol()
    require_role(session, user, CLINICAL_ENTRY, "schedule visits")
    require_site(session, user, patient, "schedule visits")
    injury = session.scalar(select(Injury).where(Injury.patient_id == patient.id))
    if injury is None:
        deny(
            session,
            user,
            "injury_missing",
            f"schedule visits: record the injury of {patient.study_code} first",
        )
    existing = {
        v.code: v for v in session.scalars(select(Visit).where(Visit.patient_id == patient.id))
    }
    out = []
    for w in protocol.visits:
        target, start, end = w.window(injury.injury_date, planned_infusion)
        visit = existing.get(w.code) or Visit(patient_id=patient.id, code=w.code)
        visit.target_date, visit.window_start, visit.window_end = target, start, end
        session.add(visit)
        out.append(visit)
    session.flush()
    return out


def visits_of(user: User, session: Session, patient: Patient) -> list[Visit]:
    require_role(session, user, READ_ROLES, "view visits")
    require_site(session, user, patient, "view visits")
    return list(
        session.scalars(
            select(Visit).where(Visit.patient_id == patient.id).order_by(Visit.target_date)
        )
    )


def days_outside_window(visit: Visit, on: date) -> int:
    """0 inside the visit's window; days early (negative) or late (positive) otherwise.

    An assessment outside its window is a protocol deviation to report, not a refusal: the
    exam still happened and is stored as done.
    """
    if on < visit.window_start:
        return (on - visit.window_start).days
    if on > visit.window_end:
        return (on - visit.window_end).days
    return 0
