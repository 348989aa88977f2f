"""Patients, their injury, eligibility, consent (and its withdrawal), end of study and visit
schedule; site-scoped queries.

Every record says when its event happened and is checked against that day: the protocol
version in effect then (cordtrial.store.protocol_versions), the site's "today", the injury
and the end of study (timing.check_event_day).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ..models import (
    END_REASONS,
    WITHDRAWAL_USES,
    Assessment,
    BloodDraw,
    Consent,
    Eligibility,
    Infusion,
    Injury,
    MarrowHarvest,
    Patient,
    PatientIdentity,
    Site,
    User,
    Visit,
)
from ..protocol import Protocol
from ..protocol_versions import protocol_on
from ..rules import (
    EligibilityFacts,
    age_at_injury_problem,
    eligibility_problems,
    first_day_without_eligibility,
    is_eligible,
    visit_schedule,
)
from ..signatures import add_signature
from . import plausibility
from .base import (
    IDENTITY_ROLES,
    READ_ROLES,
    check,
    deny,
    reauthenticate,
    require_role,
    require_site,
)
from .fields import check_text
from .timing import check_event_day, injury_date_of, site_today

ENROL_ROLES = ("investigator", "admin")
CLINICAL_ENTRY = ("investigator",)
ELIGIBILITY_MEANING = "eligibility assessed and confirmed"
_LEVEL = re.compile(r"^(C[1-8]|T([1-9]|1[0-2])|L[1-5]|S[1-5])$")
STUDY_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
HOSPITAL_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./-]{0,63}$")
TEXT_MAX = 2000


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


def next_study_code(session: Session, site: Site) -> str:
    """The first free pseudonymous code of the form SITE-001 (it says nothing of the person)."""
    taken = set(
        session.scalars(select(Patient.study_code).where(Patient.study_code.like(f"{site.code}-%")))
    )
    n = len(taken) + 1
    while f"{site.code}-{n:03d}" in taken:
        n += 1
    return f"{site.code}-{n:03d}"


def validate_patient(session: Session, user: User, patient: Patient) -> None:
    check(session, user, patient.sex in ("F", "M", None), "sex", patient.sex, "F, M or empty")
    age = patient.age_at_injury
    check(
        session,
        user,
        isinstance(age, int) and not isinstance(age, bool) and 0 <= age <= 120,
        "age_at_injury",
        age,
        "whole years 0-120",
    )
    if patient.id is not None:  # a correction: the age must still fit the date of birth
        identity = session.get(PatientIdentity, patient.id)
        check_age_at_injury(
            session,
            user,
            patient,
            "age_at_injury",
            born=identity.date_of_birth if identity else None,
            age=age,
            injured_on=injury_date_of(session, patient),
        )


def check_age_at_injury(
    session: Session,
    user: User,
    patient: Patient,
    field: str,
    *,
    born: date | None,
    age: int | None,
    injured_on: date | None,
) -> None:
    """Refuse an age at injury, date of birth or injury day that contradicts the other two
    (``field`` is the one being entered); the message names both fields."""
    site = patient.site or session.get(Site, patient.site_id)
    problem = age_at_injury_problem(born, age, injured_on, site_today(site))
    if problem is not None:
        value = {"age_at_injury": age, "date_of_birth": born, "injury_date": injured_on}[field]
        deny(
            session,
            user,
            "invalid_input",
            f"age at injury and date of birth disagree: {problem}",
            field=field,
            value=value.isoformat() if isinstance(value, date) else value,
            allowed=f"an age at injury and a date of birth that agree: {problem}",
        )


def validate_identity(session: Session, user: User, row: PatientIdentity, site: Site) -> None:
    check_text(session, user, "full_name", row.full_name, "the patient's full name")
    if row.date_of_birth is not None:
        today = site_today(site)
        check(
            session,
            user,
            row.date_of_birth <= today and (today - row.date_of_birth).days <= 130 * 366,
            "date_of_birth",
            row.date_of_birth.isoformat(),
            f"a date of birth on or before today ({today.isoformat()})",
        )
        patient = session.get(Patient, row.patient_id) if row.patient_id is not None else None
        if patient is not None:
            check_age_at_injury(
                session,
                user,
                patient,
                "date_of_birth",
                born=row.date_of_birth,
                age=patient.age_at_injury,
                injured_on=injury_date_of(session, patient),
            )
    if row.hospital_number is not None:
        check(
            session,
            user,
            bool(HOSPITAL_NUMBER.match(row.hospital_number)),
            "hospital_number",
            row.hospital_number,
            "1-64 letters, digits, spaces and . / - (the hospital's record number)",
        )


def register(
    user: User,
    session: Session,
    *,
    site: Site,
    study_code: str | None,
    sex: str | None,
    age_at_injury: int,
    identity: dict | None = None,
    synthetic: bool = False,
) -> Patient:
    """Register a patient under a pseudonymous study code (generated when not given); the
    identifying data go to the restricted identity table only."""
    require_role(session, user, ENROL_ROLES, "register a patient")
    check(session, user, user.site_id in (None, site.id), "site", site.code, "the user's own site")
    study_code = study_code or next_study_code(session, site)
    check(
        session,
        user,
        bool(STUDY_CODE.match(study_code or "")),
        "study_code",
        study_code,
        "2-32 of A-Z, 0-9 and '-' (pseudonymous; no names or hospital numbers)",
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
    validate_patient(session, user, patient)
    session.add(patient)
    session.flush()
    if identity:
        row = PatientIdentity(patient_id=patient.id, **identity)
        validate_identity(session, user, row, site)
        session.add(row)
        session.flush()
    return patient


def validate_injury(session: Session, user: User, patient: Patient, injury: Injury) -> None:
    check(
        session,
        user,
        bool(_LEVEL.match(injury.level or "")),
        "level",
        injury.level,
        "C1-C8, T1-T12, L1-L5, S1-S5",
    )
    check_text(session, user, "mechanism", injury.mechanism, "how the injury happened")
    check(
        session,
        user,
        isinstance(injury.non_penetrating, bool),
        "non_penetrating",
        injury.non_penetrating,
        "true or false",
    )
    check_event_day(session, user, patient, "injury_date", injury.injury_date, after_injury=False)
    identity = session.get(PatientIdentity, patient.id)
    check_age_at_injury(
        session,
        user,
        patient,
        "injury_date",
        born=identity.date_of_birth if identity else None,
        age=patient.age_at_injury,
        injured_on=injury.injury_date,
    )
    for model, column, name in _DATED_BEFORE:
        first = session.scalar(select(func.min(column)).where(model.patient_id == patient.id))
        check(
            session,
            user,
            first is None or first >= injury.injury_date,
            "injury_date",
            injury.injury_date.isoformat(),
            f"on or before the first {name} ({first})",
        )


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
    existing = session.scalar(select(Injury).where(Injury.patient_id == patient.id))
    check(
        session,
        user,
        existing is None,
        "injury",
        patient.study_code,
        "one injury record per patient (correct the existing one with a reason)",
    )
    injury = Injury(
        patient_id=patient.id,
        injury_date=injury_date,
        mechanism=mechanism,
        non_penetrating=non_penetrating,
        level=level,
    )
    validate_injury(session, user, patient, injury)
    session.add(injury)
    session.flush()
    _schedule(session, patient, injury_date, _infusion_day(session, patient))
    return injury


def _facts(session: Session, patient: Patient, on: date) -> EligibilityFacts:
    injury = session.scalar(select(Injury).where(Injury.patient_id == patient.id))
    exam = session.scalar(
        select(Assessment)
        .where(
            Assessment.patient_id == patient.id,
            Assessment.kind == "isncsci",
            Assessment.assessed_on <= on,
        )
        .order_by(Assessment.assessed_on.desc(), Assessment.id.desc())
        .limit(1)
    )
    ais = (exam.result or {}).get("asiaImpairmentScale") if exam is not None else None
    return EligibilityFacts(
        days_since_injury=(on - injury.injury_date).days if injury else None,
        age=patient.age_at_injury,
        level=injury.level if injury else None,
        ais=ais if ais in ("A", "B", "C", "D", "E") else None,
    )


def validate_eligibility(session: Session, user: User, patient: Patient, row: Eligibility) -> None:
    """The checklist of the protocol version in effect on the assessment day: every criterion
    answered, none contradicted by the records of that day."""
    check_event_day(session, user, patient, "assessed_on", row.assessed_on)
    criteria = row.criteria
    check(
        session,
        user,
        isinstance(criteria, dict)
        and bool(criteria)
        and all(isinstance(v, bool) for v in criteria.values()),
        "criteria",
        criteria,
        "a non-empty mapping of criterion -> true/false",
    )
    protocol = protocol_on(session, row.assessed_on)
    if not protocol.eligibility:  # a protocol file without a checklist: the answers decide
        row.eligible = all(criteria.values())
        return
    problems = eligibility_problems(protocol, criteria, _facts(session, patient, row.assessed_on))
    if problems:
        deny(
            session,
            user,
            "invalid_input",
            "eligibility checklist: " + "; ".join(f"{code}: {why}" for code, why in problems),
            errors=[
                {"field": f"criteria.{code}", "value": criteria.get(code), "allowed": why}
                for code, why in problems
            ],
        )
    row.eligible = is_eligible(protocol, criteria)
    if row.id is not None:  # a correction: raw material may already rely on this decision
        _check_raw_material_eligible(session, user, patient, row)


def _check_raw_material_eligible(
    session: Session, user: User, patient: Patient, row: Eligibility
) -> None:
    """A corrected eligibility decision still covers every blood draw and harvest already
    taken: each needed a positive decision assessed by its day (the check when it was
    recorded, manufacturing._procedure_allowed). Read from the session's objects, so the
    corrected row counts with its new day and answers."""
    rows = session.scalars(
        select(Eligibility)
        .where(Eligibility.patient_id == patient.id)
        .order_by(Eligibility.assessed_on, Eligibility.id)
    ).all()
    decisions = [(r.assessed_on, bool(r.eligible)) for r in rows]
    taken = [
        *session.scalars(select(BloodDraw.drawn_on).where(BloodDraw.patient_id == patient.id)),
        *session.scalars(
            select(MarrowHarvest.harvested_on).where(MarrowHarvest.patient_id == patient.id)
        ),
    ]
    day = first_day_without_eligibility(decisions, taken)
    if day is None:
        return
    taken_when = f"raw material (a blood draw or the bone-marrow harvest) was taken on {day}"
    if row.eligible and row.assessed_on > day:
        check(
            session,
            user,
            False,
            "assessed_on",
            row.assessed_on.isoformat(),
            f"on or before {day.isoformat()}: {taken_when} under this eligibility decision",
        )
    deny(
        session,
        user,
        "invalid_input",
        f"eligibility correction: {taken_when}, which needs a positive eligibility decision",
        field="criteria",
        value="(the corrected answers)",
        allowed=f"answers that keep the patient eligible: {taken_when} under this decision "
        "(raw material already taken stays as it was; record a deviation or end the study "
        "instead)",
    )


def record_eligibility(
    user: User,
    session: Session,
    patient: Patient,
    *,
    assessed_on: date,
    criteria: dict[str, bool],
    password: str | None,
) -> Eligibility:
    """The eligibility checklist, signed by the investigator (re-authenticated; meaning
    "eligibility assessed and confirmed"). Eligible when every inclusion criterion is met and
    no exclusion applies (study.md: onset <= 14 d, cervical, AIS A-C, age 20-70; the label's
    screening exclusions). ``password`` None stores it unsigned: only for a checklist
    imported from a file, which cannot carry a signature (the page and the API require one)."""
    require_role(session, user, CLINICAL_ENTRY, "record eligibility")
    require_site(session, user, patient, "record eligibility")
    if session.scalar(select(Injury.id).where(Injury.patient_id == patient.id)) is None:
        deny(
            session,
            user,
            "injury_missing",
            f"record eligibility: record the injury of {patient.study_code} first (the "
            "criteria are checked against it)",
        )
    row = Eligibility(
        patient_id=patient.id,
        assessed_on=assessed_on,
        criteria=dict(criteria),
        eligible=False,
        assessed_by_id=user.id,
    )
    validate_eligibility(session, user, patient, row)
    if password is not None:
        reauthenticate(session, user, password, "sign the eligibility checklist")
    session.add(row)
    if patient.ended_on is None:
        patient.status = "eligible" if row.eligible else "not eligible"
    session.flush()
    if password is not None:
        add_signature(session, user, row, ELIGIBILITY_MEANING)
    return row


def _check_raw_material_consented(
    session: Session, user: User, patient: Patient, row: Consent
) -> None:
    """A corrected consent day is not after raw material already taken under it (a draw or
    harvest needs a consent given by its day, as checked when it was recorded). A withdrawal
    is never refused: what was taken before it stays as it was."""
    others = select(func.min(Consent.consent_date)).where(
        Consent.patient_id == patient.id, Consent.id != row.id
    )
    first_consent = min(d for d in (session.scalar(others), row.consent_date) if d is not None)
    taken = [
        session.scalar(
            select(func.min(BloodDraw.drawn_on)).where(BloodDraw.patient_id == patient.id)
        ),
        session.scalar(
            select(func.min(MarrowHarvest.harvested_on)).where(
                MarrowHarvest.patient_id == patient.id
            )
        ),
    ]
    first_taken = min((d for d in taken if d is not None), default=None)
    check(
        session,
        user,
        first_taken is None or first_consent <= first_taken,
        "consent_date",
        row.consent_date.isoformat(),
        f"on or before {first_taken.isoformat() if first_taken else ''}, when raw material "
        "(a blood draw or the bone-marrow harvest) was first taken under this consent",
    )


def validate_consent(session: Session, user: User, patient: Patient, row: Consent) -> None:
    check_event_day(session, user, patient, "consent_date", row.consent_date)
    check_text(
        session, user, "form_version", row.form_version, "the consent form version", max_len=64
    )
    check_text(
        session,
        user,
        "taken_by",
        row.taken_by,
        "the name of the person who took consent",
        required=False,
    )
    if row.withdrawn_on is not None:
        check_event_day(session, user, patient, "withdrawn_on", row.withdrawn_on, on_study=False)
        check(
            session,
            user,
            row.withdrawn_on >= row.consent_date,
            "withdrawn_on",
            row.withdrawn_on.isoformat(),
            f"on or after the consent ({row.consent_date.isoformat()})",
        )
        check(
            session,
            user,
            row.withdrawal_use in WITHDRAWAL_USES,
            "withdrawal_use",
            row.withdrawal_use,
            ", ".join(WITHDRAWAL_USES),
        )
    if row.id is not None:  # a correction: raw material may already rely on this consent
        _check_raw_material_consented(session, user, patient, row)


def record_consent(
    user: User,
    session: Session,
    patient: Patient,
    *,
    consent_date: date,
    form_version: str,
    taken_by: str | None = None,
) -> Consent:
    """Consent as signed on paper: form version, date, the person who took it."""
    require_role(session, user, CLINICAL_ENTRY, "record consent")
    require_site(session, user, patient, "record consent")
    row = Consent(
        patient_id=patient.id,
        consent_date=consent_date,
        form_version=form_version,
        obtained_by_id=user.id,
        taken_by=taken_by if taken_by is not None else user.display_name,
    )
    validate_consent(session, user, patient, row)
    session.add(row)
    if patient.status == "eligible":
        patient.status = "enrolled"
    session.flush()
    return row


def withdraw_consent(
    user: User,
    session: Session,
    patient: Patient,
    *,
    withdrawn_on: date,
    use: str,
    reason: str | None = None,
) -> list[Consent]:
    """The patient withdraws consent: every valid consent ends that day, the record says what
    may still be used (WITHDRAWAL_USES), and the patient's participation ends."""
    require_role(session, user, CLINICAL_ENTRY, "record a withdrawal of consent")
    require_site(session, user, patient, "record a withdrawal of consent")
    active = list(
        session.scalars(
            select(Consent).where(Consent.patient_id == patient.id, Consent.withdrawn_on.is_(None))
        )
    )
    check(
        session,
        user,
        bool(active),
        "consent",
        patient.study_code,
        "a patient with a valid consent (none is recorded, or it was withdrawn already)",
    )
    _check_text(session, user, "reason", reason, required=False)
    for row in active:
        row.withdrawn_on, row.withdrawal_use, row.withdrawal_reason = withdrawn_on, use, reason
        validate_consent(session, user, patient, row)
    if patient.ended_on is None:
        end_study(
            user,
            session,
            patient,
            ended_on=withdrawn_on,
            reason="consent_withdrawn",
            detail=reason,
        )
    session.flush()
    return active


def _check_text(session, user, field, value, *, required: bool) -> None:
    check_text(session, user, field, value, "text", max_len=TEXT_MAX, required=required)


# Records dated after an end of study, or before the injury, would contradict it.
_DATED = (
    (Assessment, Assessment.assessed_on, "exam or instrument"),
    (BloodDraw, BloodDraw.drawn_on, "blood draw"),
    (MarrowHarvest, MarrowHarvest.harvested_on, "bone-marrow harvest"),
    (Infusion, Infusion.infused_on, "infusion"),
)


_DATED_BEFORE = (
    *_DATED,
    (Eligibility, Eligibility.assessed_on, "eligibility assessment"),
    (Consent, Consent.consent_date, "consent"),
)


def validate_end(session: Session, user: User, patient: Patient) -> None:
    check(
        session,
        user,
        patient.end_reason in END_REASONS,
        "reason",
        patient.end_reason,
        ", ".join(END_REASONS),
    )
    if patient.end_reason == "other" or patient.end_detail is not None:
        _check_text(session, user, "detail", patient.end_detail, required=True)
    check_event_day(session, user, patient, "ended_on", patient.ended_on, on_study=False)
    for model, column, name in _DATED:
        last = session.scalar(select(func.max(column)).where(model.patient_id == patient.id))
        check(
            session,
            user,
            last is None or last <= patient.ended_on,
            "ended_on",
            patient.ended_on.isoformat(),
            f"on or after the last {name} ({last})",
        )
    protocol = protocol_on(session, patient.ended_on)
    refused = [f for f in plausibility.end_findings(session, patient, protocol) if f.refuses]
    plausibility.settle(user, session, patient, refused, ())  # a correction is checked too


def end_study(
    user: User,
    session: Session,
    patient: Patient,
    *,
    ended_on: date,
    reason: str,
    detail: str | None = None,
    confirm: Collection[str] = (),
) -> Patient:
    """The end of a patient's participation: completed, or withdrawn with the reason; no
    record may be dated after it. "Completed" with nothing recorded at the protocol's last
    visit is refused before that visit's window opens, and needs a confirmation after
    (plausibility rules ``completed_before_last_visit``, ``completed_without_last_visit``)."""
    require_role(session, user, CLINICAL_ENTRY, "end the study for a patient")
    require_site(session, user, patient, "end the study for a patient")
    check(
        session,
        user,
        patient.ended_on is None,
        "ended_on",
        ended_on,
        f"none yet: {patient.study_code} left the study on {patient.ended_on} "
        "(correct that record instead)",
    )
    patient.ended_on, patient.end_reason, patient.end_detail = ended_on, reason, detail
    validate_end(session, user, patient)
    findings = plausibility.end_findings(session, patient, protocol_on(session, ended_on))
    checked = plausibility.settle(user, session, patient, findings, confirm)
    patient.status = "completed" if reason == "completed" else "withdrawn"
    session.flush()
    checked.store(user, session, patient)
    return patient


def has_consent_and_eligibility(session: Session, patient: Patient, on: date | None = None) -> bool:
    """A positive eligibility decision and a consent valid on ``on`` (any day if None)."""
    elig = select(Eligibility.eligible).where(Eligibility.patient_id == patient.id)
    consent = select(Consent.id).where(Consent.patient_id == patient.id)
    if on is None:
        consent = consent.where(Consent.withdrawn_on.is_(None))
    else:
        elig = elig.where(Eligibility.assessed_on <= on)
        consent = consent.where(
            Consent.consent_date <= on,
            (Consent.withdrawn_on.is_(None)) | (Consent.withdrawn_on > on),
        )
    eligible = session.scalar(
        elig.order_by(Eligibility.assessed_on.desc(), Eligibility.id.desc()).limit(1)
    )
    return bool(eligible) and session.scalar(consent.limit(1)) is not None


def _infusion_day(session: Session, patient: Patient) -> date | None:
    return session.scalar(
        select(Infusion.infused_on)
        .where(Infusion.patient_id == patient.id)
        .order_by(Infusion.infusion_number)
        .limit(1)
    )


def _schedule(
    session: Session,
    patient: Patient,
    injury_date: date,
    infusion_date: date | None,
    protocol: Protocol | None = None,
) -> list[Visit]:
    """Create or move the patient's visits to the schedule of the protocol version in effect
    on the anchor day (the infusion's, else the injury's)."""
    protocol = protocol or protocol_on(session, infusion_date or injury_date)
    existing = {
        v.code: v for v in session.scalars(select(Visit).where(Visit.patient_id == patient.id))
    }
    out = []
    for planned in visit_schedule(protocol, injury_date, infusion_date):
        visit = existing.get(planned.code) or Visit(patient_id=patient.id, code=planned.code)
        visit.target_date, visit.window_start, visit.window_end = (
            planned.target,
            planned.start,
            planned.end,
        )
        session.add(visit)
        out.append(visit)
    session.flush()
    return out


def schedule_visits(
    user: User,
    session: Session,
    patient: Patient,
    *,
    planned_infusion: date | None,
    protocol: Protocol | None = None,
) -> list[Visit]:
    """Create (or move) the protocol's visits around the planned infusion day (the visits
    anchored to the infusion wait for it when it is not planned yet)."""
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
    if planned_infusion is not None:
        check(
            session,
            user,
            planned_infusion >= injury.injury_date,
            "planned_infusion",
            planned_infusion.isoformat(),
            f"on or after the injury ({injury.injury_date.isoformat()})",
        )
        done = _infusion_day(session, patient)
        check(
            session,
            user,
            done is None,
            "planned_infusion",
            planned_infusion.isoformat(),
            f"no plan: the infusion was given on {done} and the schedule follows it",
        )
    return _schedule(session, patient, injury.injury_date, planned_infusion, protocol)


def reschedule_after_infusion(session: Session, patient: Patient) -> None:
    """The visits anchored to the infusion follow the day it was actually given."""
    injury = session.scalar(select(Injury).where(Injury.patient_id == patient.id))
    if injury is not None:
        _schedule(session, patient, injury.injury_date, _infusion_day(session, patient))


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
