"""Correcting a stored record: the one path for corrections of every kind of record.

A permitted role changes named fields of a saved record and gives a reason (mandatory: ALCOA+
and 21 CFR 11.10(e), cell-product.md "Records and signatures"). The values are read by the
column's type, the record's own rules are run again on the corrected record (the same
``validate_*`` functions as at entry, so a corrected date is checked like a new one), the
record keeps the protocol version in effect on its (corrected) event day, and the audit trail
holds old and new values, who and why. A signature over the changed content shows as invalid
(signatures.status). Other rules (locks, source-data verification) hook in through
:data:`BEFORE_AMEND`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Integer
from sqlalchemy.orm import Session

from ..audit import acting
from ..models import (
    AdverseEvent,
    Assessment,
    BloodDraw,
    Consent,
    CulturePassage,
    CustodyEvent,
    Eligibility,
    Infusion,
    Injury,
    Lot,
    MarrowHarvest,
    Patient,
    PatientIdentity,
    ReleaseTest,
    Site,
    User,
)
from ..protocol_versions import protocol_of, restamp
from ..record_refs import record_id_of
from ..signatures import signatures_for
from ..types import UTCDateTime
from . import adverse_events, infusions, manufacturing, patients
from .base import IDENTITY_ROLES, check, deny, require_role, require_site
from .fields import check_text

REASON_MAX = 2000
Validator = Callable[[Session, User, Any], None]


@dataclass(frozen=True)
class Amendable:
    """Who may correct a kind of record, which fields, and the rules to run again."""

    roles: tuple[str, ...]
    fields: tuple[str, ...]
    validate: Validator


def _patient_of(session: Session, record) -> Patient:
    if isinstance(record, Patient):
        return record
    if hasattr(record, "patient_id"):
        return session.get(Patient, record.patient_id)
    return session.get(Patient, session.get(Lot, record.lot_id).patient_id)


def _lot_of(session: Session, record) -> Lot:
    return session.get(Lot, record.lot_id)


def _validate_patient(session: Session, user: User, p: Patient) -> None:
    patients.validate_patient(session, user, p)
    check(
        session,
        user,
        (p.ended_on is None) == (p.end_reason is None),
        "end_reason",
        p.end_reason,
        "an end-of-study day and a reason together, or neither",
    )
    if p.ended_on is not None:
        patients.validate_end(session, user, p)


def _validate_identity(session: Session, user: User, row: PatientIdentity) -> None:
    p = session.get(Patient, row.patient_id)
    patients.validate_identity(session, user, row, p.site or session.get(Site, p.site_id))


def _validate_injury(session: Session, user: User, row: Injury) -> None:
    p = session.get(Patient, row.patient_id)
    patients.validate_injury(session, user, p, row)
    patients.reschedule_after_infusion(session, p)  # injury-anchored visits follow the day


def _with_patient(fn) -> Validator:
    return lambda session, user, row: fn(session, user, _patient_of(session, row), row)


def _validate_blood_draw(session: Session, user: User, row: BloodDraw) -> None:
    patient = _patient_of(session, row)
    manufacturing.validate_blood_draw(session, user, patient, row)
    manufacturing.record_draw_deviation(user, session, patient, row)


def _validate_lot(session: Session, user: User, lot: Lot) -> None:
    manufacturing.validate_lot(session, user, lot)
    if lot.cryopreserved_on is not None:  # expiry follows the (corrected) freezing day
        shelf = protocol_of(session, lot).lot_shelf_life_days
        lot.expiry_date = lot.cryopreserved_on + timedelta(days=shelf)


def _validate_custody(session: Session, user: User, row: CustodyEvent) -> None:
    for name in ("from_location", "to_location"):
        check_text(session, user, name, getattr(row, name), "a place")
    check(session, user, row.at.tzinfo is not None, "at", row.at, "a timezone-aware time")


CLINICAL = ("investigator",)
PROCESSING = ("cell_processing",)
AMENDABLE: dict[type, Amendable] = {
    Patient: Amendable(
        CLINICAL,
        ("sex", "age_at_injury", "ended_on", "end_reason", "end_detail"),
        _validate_patient,
    ),
    PatientIdentity: Amendable(
        IDENTITY_ROLES, ("full_name", "date_of_birth", "hospital_number"), _validate_identity
    ),
    Injury: Amendable(
        CLINICAL, ("injury_date", "level", "mechanism", "non_penetrating"), _validate_injury
    ),
    Eligibility: Amendable(
        CLINICAL, ("assessed_on", "criteria"), _with_patient(patients.validate_eligibility)
    ),
    Consent: Amendable(
        CLINICAL,
        (
            "consent_date",
            "form_version",
            "taken_by",
            "withdrawn_on",
            "withdrawal_use",
            "withdrawal_reason",
        ),
        _with_patient(patients.validate_consent),
    ),
    BloodDraw: Amendable(
        CLINICAL,
        ("drawn_on", "volume_ml", "serum_volume_ml", "operator"),
        _validate_blood_draw,
    ),
    MarrowHarvest: Amendable(
        CLINICAL,
        ("harvested_on", "volume_ml", "anatomical_site", "operator", "complications"),
        _with_patient(manufacturing.validate_harvest),
    ),
    Lot: Amendable(
        ("cell_processing", "qa"),
        (
            "culture_started_on",
            "cryopreserved_on",
            "total_viable_cells",
            "volume_ml",
            "storage_location",
        ),
        _validate_lot,
    ),
    CulturePassage: Amendable(
        PROCESSING,
        (
            "seeded_on",
            "harvested_on",
            "vessels",
            "cells_seeded",
            "cells_harvested",
            "viability_pct",
            "confluence_pct",
            "operator",
        ),
        lambda s, u, row: manufacturing.validate_passage(s, u, _lot_of(s, row), row),
    ),
    ReleaseTest: Amendable(
        ("cell_processing", "qa"),
        ("tested_on", "method", "analyst", "value", "text_result"),
        lambda s, u, row: manufacturing.judge_release_test(s, u, _lot_of(s, row), row),
    ),
    CustodyEvent: Amendable(
        ("cell_processing", "investigator", "qa"),
        ("at", "from_location", "to_location", "condition", "temperature_c"),
        _validate_custody,
    ),
    Infusion: Amendable(
        CLINICAL,
        ("thawed_at", "started_at", "stopped_at", "vitals", "reaction"),
        infusions.validate_infusion_times,
    ),
    AdverseEvent: Amendable(
        CLINICAL,
        (
            "term",
            "grade_scale",
            "grade",
            "serious",
            "onset_date",
            "resolution_date",
            "outcome",
            "expected",
            "related_product",
            "related_harvest",
            "related_blood_draw",
            "related_infusion",
        ),
        _with_patient(adverse_events.validate_adverse_event),
    ),
}
# Assessments are corrected through their own service (the data are re-scored there).
ASSESSMENT_FIELDS = ("visit_code", "assessed_on", "assessor_name", "blinded", "data")
# Checks other features add before any correction (e.g. a locked record): each may refuse.
BEFORE_AMEND: list[Callable[[Session, User, Any, dict[str, Any]], None]] = []
MODELS_BY_TABLE: dict[str, type] = {m.__tablename__: m for m in (*AMENDABLE, Assessment)}


def amendable_fields(record) -> tuple[str, ...]:
    if isinstance(record, Assessment):
        return ASSESSMENT_FIELDS
    spec = AMENDABLE.get(type(record))
    return spec.fields if spec else ()


def may_amend(user_role: str, table: str) -> bool:
    """Whether a role may correct records of ``table`` (what the pages offer)."""
    model = MODELS_BY_TABLE.get(table)
    if model is Assessment:
        from .assessments import ASSESS_ROLES

        return user_role in ASSESS_ROLES
    spec = AMENDABLE.get(model)
    return spec is not None and user_role in spec.roles


def signed_parent(session: Session, record):
    """The signed record a change would alter: the record itself, or the lot of a release test."""
    if isinstance(record, ReleaseTest):
        return session.get(Lot, record.lot_id)
    return record


def check_reason(session: Session, user: User, reason: str | None, record=None) -> str:
    if not (isinstance(reason, str) and reason.strip()):
        what = _name(record) if record is not None else "the record"
        signed = record is not None and is_signed(session, record)
        deny(
            session,
            user,
            "reason_required",
            f"{what}: a correction needs a reason"
            + (" (it is signed: the signature will show the change)" if signed else ""),
            field="reason",
            value=reason,
            allowed="why the record is corrected (e.g. what the source document shows)",
        )
    check_text(
        session,
        user,
        "reason",
        reason,
        "why the record is corrected (e.g. what the source document shows)",
        max_len=REASON_MAX,
    )
    return reason.strip()


def amend(user: User, session: Session, record, changes: dict[str, Any], reason: str | None) -> Any:
    """Correct ``changes`` ({field: new value}) of a saved record, with a mandatory reason.
    Values may be given as typed values or as text (dates ISO 8601); the record's rules run
    again; nothing is stored when one refuses."""
    table = record.__tablename__
    if isinstance(record, Assessment):
        return _amend_assessment(user, session, record, changes, reason)
    spec = AMENDABLE.get(type(record))
    if spec is None:
        deny(
            session,
            user,
            "not_amendable",
            f"{table} records are changed through their own service",
        )
    require_role(session, user, spec.roles, f"correct {table}")
    require_site(session, user, _patient_of(session, record), f"correct {table}")
    reason = check_reason(session, user, reason, record)
    for key in changes:
        check(session, user, key in spec.fields, "field", key, ", ".join(sorted(spec.fields)))
    for guard in BEFORE_AMEND:
        guard(session, user, record, changes)
    new = {key: coerce(session, user, record, key, value) for key, value in changes.items()}
    changed = {k: v for k, v in new.items() if getattr(record, k) != v}
    if not changed:
        return record  # nothing differs from the saved record: nothing to audit
    # Every change this correction causes (the record, visits that follow a corrected injury
    # day, a recomputed expiry) is audited with its reason.
    # One audit entry for the record (its rules read the database without flushing it half-way).
    with acting(session, user.username, reason), session.no_autoflush:
        for key, value in changed.items():
            setattr(record, key, value)
        restamp(session, record)
        spec.validate(session, user, record)
    return record


def _amend_assessment(user, session, record: Assessment, changes, reason) -> Assessment:
    from . import assessments

    patient = session.get(Patient, record.patient_id)
    require_role(session, user, assessments.ASSESS_ROLES, "correct assessments")
    require_site(session, user, patient, "correct assessments")
    reason = check_reason(session, user, reason, record)
    for key in changes:
        check(session, user, key in ASSESSMENT_FIELDS, "field", key, ", ".join(ASSESSMENT_FIELDS))
    for guard in BEFORE_AMEND:
        guard(session, user, record, changes)
    fields = {k: coerce(session, user, record, k, v) for k, v in changes.items() if k != "data"}
    data = changes.get("data")
    if isinstance(data, str):
        data = coerce(session, user, record, "data", data)
    with acting(session, user.username, reason):
        assessments.correct(user, session, record, reason=reason, data=data, **fields)
        restamp(session, record)
    return record


def coerce(session: Session, user: User, record, field: str, value: Any) -> Any:
    """A new value for ``field`` read by its column's type; text is parsed (dates ISO 8601,
    numbers, true/false, JSON); an empty text clears an optional field."""
    column = record.__table__.columns[field]
    kind = column.type
    if value is None or (isinstance(value, str) and not value.strip()):
        check(session, user, column.nullable, field, value, "a value (this field is required)")
        return None
    try:
        if isinstance(kind, UTCDateTime):
            out = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
            return out if out.tzinfo else out.replace(tzinfo=UTC)
        if isinstance(kind, Date):
            return value if isinstance(value, date) else date.fromisoformat(str(value).strip())
        if isinstance(kind, Boolean):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "yes", "on", "1"):
                return True
            if text in ("false", "no", "off", "0"):
                return False
            raise ValueError(value)
        if isinstance(kind, Integer):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(str(value).strip()) if isinstance(value, str) else int(value)
        if isinstance(kind, Float):
            if isinstance(value, bool):
                raise ValueError(value)
            out = float(value)
            if not math.isfinite(out):
                raise ValueError(value)
            return out
        if isinstance(kind, JSON):
            return json.loads(value) if isinstance(value, str) else value
    except (TypeError, ValueError):
        check(session, user, False, field, value, _allowed(kind))
    check(session, user, isinstance(value, str), field, value, "text")
    return value.strip()


def _allowed(kind) -> str:
    if isinstance(kind, UTCDateTime):
        return "a date and time YYYY-MM-DDTHH:MM (UTC)"
    if isinstance(kind, Date):
        return "a date YYYY-MM-DD"
    if isinstance(kind, Boolean):
        return "true or false"
    if isinstance(kind, Integer):
        return "a whole number"
    if isinstance(kind, Float):
        return "a finite number"
    return "a JSON value"


def is_signed(session: Session, record) -> bool:
    return bool(signatures_for(session, signed_parent(session, record)))


def _name(record) -> str:
    return f"{record.__tablename__} {record_id_of(record)}"
