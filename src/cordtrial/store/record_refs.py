"""References to trial records by table and id: which model a table is, which patient a record
belongs to, what a record is called. Used by the data-management records (queries, source
data verification, confirmations) and by the casebook's flush guard.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from . import models as m

# The records a monitor verifies and queries, by table, with what a person calls them. A new
# form's table is added here.
RECORD_TYPES: dict[str, str] = {
    "injuries": "Injury",
    "eligibility": "Eligibility",
    "consents": "Consent",
    "blood_draws": "Blood draw",
    "marrow_harvests": "Bone-marrow harvest",
    "lots": "Cell product lot",
    "culture_passages": "Culture passage",
    "release_tests": "Release test",
    "custody_events": "Custody hand-over",
    "infusions": "Infusion",
    "assessments": "Assessment",
    "adverse_events": "Adverse event",
}
KIND_LABELS = {
    "isncsci": "ISNCSCI exam",
    "scim3": "SCIM III",
    "wisci2": "WISCI II",
    "nbd": "NBD score",
    "lutf": "Bladder (LUTF)",
}
# Columns that tie a record to others, never a field a query is about.
_LINK_COLUMNS = {"id", "patient_id", "lot_id", "harvest_id", "double_entry_id", "query_id"}
# Models that are not a patient's trial data (accounts, the logs, the locks themselves).
_NOT_CASEBOOK = (
    m.Site,
    m.User,
    m.RolePolicy,
    m.RefusalLog,
    m.AuditEntry,
    m.CasebookLock,
    m.DataLock,
)


def model_for(table: str) -> type[m.Base] | None:
    return next((mdl for mdl in m.AUDITED_MODELS if mdl.__tablename__ == table), None)


def record_id_of(obj: Any) -> int:
    """The record's key as the audit trail, signatures and verifications name it: its ``id``,
    or for identifying data (keyed by its patient) the patient's id."""
    return obj.patient_id if isinstance(obj, m.PatientIdentity) else obj.id


def in_casebook(obj: object) -> bool:
    """Whether ``obj`` is a patient's trial data (what a lock freezes)."""
    return isinstance(obj, m.AUDITED_MODELS) and not isinstance(obj, _NOT_CASEBOOK)


def patient_id_of(session: Session, obj: Any) -> int | None:
    """The id of the patient a record belongs to (through its lot, query, double entry or the
    record a signature is on); None when it belongs to none, or is a patient not yet stored."""
    if isinstance(obj, m.Patient):
        return obj.id
    if getattr(obj, "patient_id", None) is not None:
        return obj.patient_id
    for attr, model in (("lot", m.Lot), ("query", m.DataQuery), ("double_entry", m.DoubleEntry)):
        parent = getattr(obj, attr, None) if hasattr(type(obj), attr) else None
        if parent is None and getattr(obj, f"{attr}_id", None) is not None:
            parent = session.get(model, getattr(obj, f"{attr}_id"))
        if parent is not None:
            return parent.patient_id
    if isinstance(obj, m.Signature):
        model = model_for(obj.record_table)
        record = session.get(model, obj.record_id) if model is not None else None
        return patient_id_of(session, record) if record is not None else None
    return None


def record_date(record: Any) -> date | None:
    """The date a record is about (exam date, onset, procedure day...)."""
    from cordtrial.casebook.plausibility import EVENT_DATES

    for name in EVENT_DATES.get(record.__tablename__, ()):
        value = getattr(record, name, None)
        if value is not None:
            return value.date() if isinstance(value, datetime) else value
    return None


def record_label(record: Any) -> str:
    """E.g. "ISNCSCI exam, month1, 2026-02-01" or "Adverse event: fever"."""
    table = record.__tablename__
    if table == "assessments":
        kind = KIND_LABELS.get(record.kind, record.kind)
        return f"{kind}, {record.visit_code.replace('_', ' ')}, {record.assessed_on}"
    if table == "adverse_events":
        return f"Adverse event: {record.term} ({record.onset_date})"
    if table == "lots":
        return f"Lot {record.lot_number} ({record.status})"
    if table == "release_tests":
        return f"Release test {record.test_code} ({record.tested_on})"
    when = record_date(record)
    name = RECORD_TYPES.get(table, table.replace("_", " "))
    return f"{name} {when}" if when else f"{name} {record.id}"


def field_names(record: Any) -> list[str]:
    """The fields a query may be about: the record's columns (without links), and for a record
    with data as entered (an exam or instrument), each entered item as ``data.<item>``."""
    names = [c.name for c in record.__table__.columns if c.name not in _LINK_COLUMNS]
    data = getattr(record, "data", None)
    if isinstance(data, dict):
        names += [f"data.{k}" for k in data]
    return names
