"""A trial record named by table and id, read with the caller's role and site checked, and the
records of patients by type (what source data verification and queries count)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import models as m
from ..models import User
from ..record_refs import RECORD_TYPES, model_for, patient_id_of
from .base import READ_ROLES, check, deny, require_role, require_site


def get_record(
    user: User, session: Session, table: str, record_id: int, action: str = "view a record"
) -> tuple[m.Base, m.Patient]:
    """(the record, its patient); refused when the table is not a trial record type, the record
    does not exist, or belongs to another site."""
    require_role(session, user, READ_ROLES, action)
    check(session, user, table in RECORD_TYPES, "record_table", table, ", ".join(RECORD_TYPES))
    record = session.get(model_for(table), record_id)
    if record is None:
        deny(session, user, "not_found", f"no {RECORD_TYPES[table].lower()} with id {record_id}")
    patient = session.get(m.Patient, patient_id_of(session, record))
    require_site(session, user, patient, action)
    return record, patient


def records_of(session: Session, patient_ids: Iterable[int]) -> Iterator[tuple[int, m.Base]]:
    """(patient id, record) for every record of a trial record type of these patients."""
    ids = list(patient_ids)
    if not ids:
        return
    lots = {
        lot.id: lot.patient_id
        for lot in session.scalars(select(m.Lot).where(m.Lot.patient_id.in_(ids)))
    }
    for table in RECORD_TYPES:
        model = model_for(table)
        if hasattr(model, "patient_id"):
            q = select(model).where(model.patient_id.in_(ids))
        else:
            q = select(model).where(model.lot_id.in_(lots))
        for record in session.scalars(q.order_by(model.id)):
            pid = record.patient_id if hasattr(model, "patient_id") else lots[record.lot_id]
            yield pid, record


def count_by_patient(session: Session, patient_ids: Iterable[int]) -> Counter:
    return Counter(pid for pid, _ in records_of(session, patient_ids))
