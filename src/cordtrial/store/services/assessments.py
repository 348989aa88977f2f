"""Assessments: ISNCSCI exams (stored as entered, with the engine's classification and version)
and the functional instruments (SCIM III, WISCI II, NBD, LUTF; stored with their scores and the
version of the definition they were entered under, e.g. "wisci2@2")."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import set_reason
from ..models import VISIT_CODES, Assessment, Patient, User
from ..protocol import Protocol
from ..protocol_versions import protocol_on
from ..signatures import add_signature, signatures_for
from . import plausibility
from .base import check, deny, reauthenticate, require_role, require_site
from .fields import check_text
from .timing import check_event_day

ASSESS_ROLES = ("assessor", "investigator")
INSTRUMENT_KINDS = ("scim3", "wisci2", "nbd", "lutf")
# Who works the list of records a definition correction may have changed (data management):
# they read across their site (monitors and admins) or run it (investigators).
REVIEW_ROLES = ("investigator", "monitor", "admin")
REASON_MAX = 2000


def evaluate_exam(rhi: dict[str, Any]) -> tuple[dict[str, str], dict[str, str], str]:
    """(exam as entered and normalised, classification, engine version); raises
    ``cordtrial.isncsci.ExamValidationError`` for an invalid exam. Pure, no database."""
    from cordtrial.isncsci import ENGINE_VERSION, Exam, classify

    exam = Exam.from_rhi(rhi)
    return exam.to_rhi(), classify(exam).to_rhi(), ENGINE_VERSION


def evaluate_notes(rhi: dict[str, Any], comments: Any, flag_reasons: Any):
    """The exam's cleaned comments and flag reasons (``cordtrial.isncsci.notes``); raises
    ``ExamValidationError`` for a bad exam or note. Pure, no database."""
    from cordtrial.isncsci import Exam
    from cordtrial.isncsci.notes import clean_notes

    return clean_notes(Exam.from_rhi(rhi), comments, flag_reasons)


def evaluate_instrument(kind: str, data: dict[str, Any]) -> tuple[dict, dict, str]:
    """(normalised record, score, instrument version tag); raises InstrumentValidationError."""
    from cordtrial.instruments import INSTRUMENTS

    instrument = INSTRUMENTS[kind]
    clean = instrument.validate(data)
    return clean, instrument.score(clean).to_dict(), instrument.version_tag


def check_heading(
    session: Session,
    user: User,
    patient: Patient,
    visit_code: str,
    assessed_on: date,
    assessor_name: str,
    action: str,
) -> None:
    require_role(session, user, ASSESS_ROLES, action)
    require_site(session, user, patient, action)
    check(
        session, user, visit_code in VISIT_CODES, "visit_code", visit_code, ", ".join(VISIT_CODES)
    )
    check(session, user, isinstance(assessed_on, date), "assessed_on", assessed_on, "a date")
    check(
        session,
        user,
        bool(assessor_name and assessor_name.strip()),
        "assessor_name",
        assessor_name,
        "the assessor's name",
    )
    # not to come, not before the injury, not after the end of study (timing.py)
    check_event_day(session, user, patient, "assessed_on", assessed_on)


def record_isncsci(
    user: User,
    session: Session,
    patient: Patient,
    *,
    visit_code: str,
    assessed_on: date,
    rhi: dict[str, Any],
    assessor_name: str,
    blinded: bool,
    assessor: User | None = None,
    comments: str | None = None,
    flag_reasons: dict[str, str] | None = None,
    confirm: Collection[str] = (),
    deviation_reason: str | None = None,
    protocol: Protocol | None = None,
) -> Assessment:
    """Validate and classify an exam, then store it with the examiner's comments and the reason
    for each flagged value; an invalid exam or note is refused with its errors. Plausibility
    warnings (visit window, consent, follow-up) must be in ``confirm`` (services.plausibility)."""
    check_heading(
        session, user, patient, visit_code, assessed_on, assessor_name, "record an ISNCSCI exam"
    )
    entered, result, version = _evaluated_exam(session, user, rhi)
    notes = _evaluated_notes(session, user, entered, comments, flag_reasons)
    checked = plausibility.check_assessment(
        user,
        session,
        patient,
        visit_code=visit_code,
        on=assessed_on,
        protocol=protocol or protocol_on(session, assessed_on),
        confirm=confirm,
        deviation_reason=deviation_reason,
    )
    return _store(
        user,
        session,
        checked,
        kind="isncsci",
        visit_code=visit_code,
        assessed_on=assessed_on,
        data=entered,
        result=result,
        version=version,
        assessor_name=assessor_name,
        blinded=blinded,
        assessor=assessor,
        comments=notes.comments,
        flag_reasons=notes.flag_reasons or None,
    )


def _evaluated_exam(session: Session, user: User, rhi: dict[str, Any]):
    from cordtrial.isncsci import ExamValidationError

    try:
        return evaluate_exam(rhi)
    except ExamValidationError as exc:
        errors = [
            {"field": e.field, "value": e.value, "allowed": e.allowed}
            for e in getattr(exc, "errors", [])
        ]
        deny(session, user, "invalid_exam", f"invalid ISNCSCI exam: {exc}", errors=errors)


def _evaluated_notes(session: Session, user: User, rhi: dict[str, Any], comments, flag_reasons):
    from cordtrial.isncsci import ExamValidationError

    try:
        return evaluate_notes(rhi, comments, flag_reasons)
    except ExamValidationError as exc:
        errors = [{"field": e.field, "value": e.value, "allowed": e.allowed} for e in exc.errors]
        deny(session, user, "invalid_exam", f"invalid ISNCSCI exam notes: {exc}", errors=errors)


def _evaluated_instrument(session: Session, user: User, kind: str, data: dict[str, Any]):
    from cordtrial.instruments import InstrumentValidationError

    try:
        return evaluate_instrument(kind, data)
    except InstrumentValidationError as exc:
        deny(
            session, user, "invalid_instrument", str(exc), errors=[e.to_dict() for e in exc.errors]
        )


def missing_item_labels(kind: str, missing: list[str]) -> list[str]:
    """The missing items of an instrument record as a person names them ("2A Bathing...")."""
    from cordtrial.instruments import INSTRUMENTS

    items = {i.id: i for i in INSTRUMENTS[kind].items}

    def name(item) -> str:
        label = item.label.split(":")[0]
        return f"{item.number} {label}" if len(item.number) <= 3 else label

    return [name(items[m]) if m in items else m for m in missing]


def _store(
    user: User,
    session: Session,
    checked: plausibility.Checked,
    *,
    kind: str,
    visit_code: str,
    assessed_on: date,
    data: dict,
    result: dict,
    version: str,
    assessor_name: str,
    blinded: bool,
    assessor: User | None,
    **extra: Any,  # an exam's comments and flag reasons
) -> Assessment:
    row = Assessment(
        patient_id=checked.patient.id,
        kind=kind,
        visit_code=visit_code,
        assessed_on=assessed_on,
        data=data,
        result=result,
        engine_version=version,
        assessor_id=assessor.id if assessor else None,
        assessor_name=assessor_name,
        blinded=bool(blinded),
        entered_by_id=user.id,
        **extra,
    )
    session.add(row)
    session.flush()
    checked.store(user, session, row)
    return row


def record_instrument(
    user: User,
    session: Session,
    patient: Patient,
    *,
    kind: str,
    visit_code: str,
    assessed_on: date,
    data: dict[str, Any],
    assessor_name: str,
    blinded: bool,
    assessor: User | None = None,
    confirm: Collection[str] = (),
    deviation_reason: str | None = None,
    protocol: Protocol | None = None,
) -> Assessment:
    """Validate and score an instrument record, then store it. A record with items not
    assessed is stored only when ``instrument_incomplete`` is confirmed (explicitly
    incomplete, the missing items named in the confirmation)."""
    check_heading(session, user, patient, visit_code, assessed_on, assessor_name, f"record {kind}")
    check(session, user, kind in INSTRUMENT_KINDS, "kind", kind, ", ".join(INSTRUMENT_KINDS))
    clean, score, version = _evaluated_instrument(session, user, kind, data)
    missing = list(score.get("missing_items") or [])
    checked = plausibility.check_assessment(
        user,
        session,
        patient,
        visit_code=visit_code,
        on=assessed_on,
        protocol=protocol or protocol_on(session, assessed_on),
        missing=missing,
        missing_labels=missing_item_labels(kind, missing),
        confirm=confirm,
        deviation_reason=deviation_reason,
    )
    return _store(
        user,
        session,
        checked,
        kind=kind,
        visit_code=visit_code,
        assessed_on=assessed_on,
        data=clean,
        result=score,
        version=version,
        assessor_name=assessor_name,
        blinded=blinded,
        assessor=assessor,
    )


def sign_off(user: User, session: Session, assessment: Assessment, password: str):
    """The assessor's or investigator's signature on an exam ("exam reviewed and signed off")."""
    patient = session.get(Patient, assessment.patient_id)
    require_role(session, user, ASSESS_ROLES, "sign off an exam")
    require_site(session, user, patient, "sign off an exam")
    reauthenticate(session, user, password, "sign off an exam")
    return add_signature(session, user, assessment, "exam reviewed and signed off")


def correct(
    user: User,
    session: Session,
    assessment: Assessment,
    *,
    reason: str | None,
    data: dict[str, Any] | None = None,
    confirm: Collection[str] = (),
    deviation_reason: str | None = None,
    protocol: Protocol | None = None,
    **fields: Any,
) -> Assessment:
    """Change an assessment; the data are re-validated and re-scored. A signed assessment needs
    a reason (the change then shows its signature as invalid). A new date or visit is checked
    against the schedule again, new data for completeness (services.plausibility). An ISNCSCI
    exam's ``comments`` and ``flag_reasons`` are checked against its (new) data: a reason only
    for a flagged cell."""
    patient = session.get(Patient, assessment.patient_id)
    require_role(session, user, ASSESS_ROLES, "correct an assessment")
    require_site(session, user, patient, "correct an assessment")
    require_reason_if_signed(session, user, assessment, reason)
    if data is not None and assessment.kind != "isncsci":
        require_reason_if_redefined(session, user, assessment, reason)
    allowed = {"visit_code", "assessed_on", "assessor_name", "blinded"}
    if assessment.kind == "isncsci":
        allowed |= {"comments", "flag_reasons"}
    for key in fields:
        check(session, user, key in allowed, "field", key, ", ".join(sorted(allowed | {"data"})))
    if "visit_code" in fields:
        check(
            session,
            user,
            fields["visit_code"] in VISIT_CODES,
            "visit_code",
            fields["visit_code"],
            ", ".join(VISIT_CODES),
        )
    if "assessed_on" in fields:
        check_event_day(session, user, patient, "assessed_on", fields["assessed_on"])
    if "assessor_name" in fields:
        check_text(session, user, "assessor_name", fields["assessor_name"], "the assessor's name")
    evaluated = None
    if data is not None:
        if assessment.kind == "isncsci":
            evaluated = _evaluated_exam(session, user, data)
        else:
            evaluated = _evaluated_instrument(session, user, assessment.kind, data)
    visit = fields.get("visit_code", assessment.visit_code)
    on = fields.get("assessed_on", assessment.assessed_on)
    rescheduled = visit != assessment.visit_code or on != assessment.assessed_on
    missing = list((evaluated[1] if evaluated else {}).get("missing_items") or [])
    checked = plausibility.check_assessment(
        user,
        session,
        patient,
        visit_code=visit,
        on=on,
        schedule=rescheduled,
        protocol=protocol or protocol_on(session, on),
        missing=missing if evaluated is not None else (),
        missing_labels=missing_item_labels(assessment.kind, missing) if missing else (),
        confirm=confirm,
        deviation_reason=deviation_reason,
    )
    if evaluated is not None:
        assessment.data, assessment.result, assessment.engine_version = evaluated
    if assessment.kind == "isncsci" and (
        evaluated is not None or fields.keys() & {"comments", "flag_reasons"}
    ):
        notes = _evaluated_notes(
            session,
            user,
            assessment.data,
            fields.pop("comments", assessment.comments),
            fields.pop("flag_reasons", assessment.flag_reasons),
        )
        assessment.comments, assessment.flag_reasons = notes.comments, notes.flag_reasons or None
    for key, value in fields.items():
        setattr(assessment, key, value)
    if reason:
        set_reason(session, assessment, reason)
    session.flush()
    checked.store(user, session, assessment)
    return assessment


def reenter_under_current_definition(
    user: User,
    session: Session,
    assessment: Assessment,
    *,
    data: dict[str, Any],
    reason: str,
    confirm: Collection[str] = (),
) -> Assessment:
    """Resolve a record awaiting definition review: its data, read again from the source
    document, are stored under the current definition, with the reason in the audit trail.
    Every item the correction affects must be answered (leaving it out would drop it)."""
    from cordtrial.instruments.versions import current_tag, review_flags

    patient = session.get(Patient, assessment.patient_id)
    require_role(session, user, ASSESS_ROLES, "re-enter a record under the current definition")
    require_site(session, user, patient, "re-enter a record under the current definition")
    check(
        session,
        user,
        assessment.kind in INSTRUMENT_KINDS,
        "kind",
        assessment.kind,
        ", ".join(INSTRUMENT_KINDS),
    )
    flags = review_flags(assessment.engine_version, assessment.data or {})
    errors = [
        {
            "item": f.item_id,
            "value": None,
            "allowed": f"the value read from the source document, under {current_tag(f.correction.instrument)}",
            "message": "must be answered to resolve the review",
        }
        for f in flags
        if not isinstance(data, dict) or data.get(f.item_id) in (None, "", [])
    ]
    if errors:
        deny(
            session,
            user,
            "invalid_input",
            "every item the correction affects must be answered: "
            + ", ".join(e["item"] for e in errors),
            errors=errors,
        )
    check(
        session,
        user,
        isinstance(reason, str)
        and bool(reason.strip())
        and len(reason) <= REASON_MAX
        and all(c.isprintable() or c in "\n\t" for c in reason),
        "reason",
        reason,
        f"why the values are as entered (e.g. what the source document shows): text of at "
        f"most {REASON_MAX} characters, no control characters",
    )
    return correct(user, session, assessment, reason=reason.strip(), data=data, confirm=confirm)


def require_reason_if_signed(session: Session, user: User, record, reason: str | None) -> None:
    if signatures_for(session, record) and not (reason and reason.strip()):
        deny(
            session,
            user,
            "reason_required",
            f"{record.__tablename__} {record.id} is signed: a change needs a reason",
            table=record.__tablename__,
            record_id=record.id,
        )


def require_reason_if_redefined(
    session: Session, user: User, assessment: Assessment, reason: str | None
) -> None:
    """New data for a record entered under an earlier definition re-enters it under the current
    one, which can change what its values mean: that needs a reason in the audit trail."""
    from cordtrial.instruments.versions import current_tag

    now = current_tag(assessment.kind)
    if assessment.engine_version != now and not (reason and reason.strip()):
        deny(
            session,
            user,
            "reason_required",
            f"assessments {assessment.id} was entered under {assessment.engine_version}: "
            f"re-entering it under {now} needs a reason",
            table="assessments",
            record_id=assessment.id,
        )


@dataclass(frozen=True)
class ReviewEntry:
    """A stored record that a definition correction may have changed, and why."""

    assessment: Assessment
    patient: Patient
    flags: tuple  # cordtrial.instruments.ReviewFlag, one per affected item


def awaiting_review(user: User, session: Session) -> list[ReviewEntry]:
    """Records entered under a definition that was later corrected, at a value whose wording
    changed (e.g. WISCI II 18/19 under wisci2@1), oldest first; scoped to the user's site."""
    from cordtrial.instruments.versions import affected_tags, review_flags

    require_role(session, user, REVIEW_ROLES, "view records awaiting definition review")
    q = (
        select(Assessment, Patient)
        .join(Patient, Patient.id == Assessment.patient_id)
        .where(Assessment.engine_version.in_(affected_tags()))
        .order_by(Assessment.assessed_on, Assessment.id)
    )
    if user.site_id is not None:
        q = q.where(Patient.site_id == user.site_id)
    out = []
    for a, p in session.execute(q).all():
        flags = review_flags(a.engine_version, a.data or {})
        if flags:
            out.append(ReviewEntry(a, p, flags))
    return out


def for_patient(
    user: User, session: Session, patient: Patient, kind: str | None = None
) -> list[Assessment]:
    from .base import READ_ROLES

    require_role(session, user, READ_ROLES, "view assessments")
    require_site(session, user, patient, "view assessments")
    q = select(Assessment).where(Assessment.patient_id == patient.id)
    if kind:
        q = q.where(Assessment.kind == kind)
    return list(session.scalars(q.order_by(Assessment.assessed_on, Assessment.id)))
