"""Data queries (REDCap's data resolution workflow, standards.md): a monitor (or an
administrator acting as data manager) opens a query on a record or one of its fields; the site
answers, with a correction of the record or an explanation; the monitor closes it or re-opens
it. Each step is a message; the query's state and every message are in the audit trail.

States: open -> answered -> closed; answered -> open (re-opened); closed -> open (re-opened);
open -> closed (e.g. raised in error, with a message).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEntry, DataQuery, Patient, QueryMessage, User
from ..record_refs import field_names, model_for, record_label
from ..types import utcnow
from .base import READ_ROLES, check, deny, require_role, require_site, require_text
from .trial_records import get_record

OPEN_ROLES = ("monitor", "admin")
# The site answers: whoever entered the kind of record asked about.
ANSWER_ROLES = ("investigator", "assessor", "cell_processing", "qa")
OPEN_STATES = ("open", "answered")  # not closed: counts as open on the worklists


def _message(session: Session, user: User, q: DataQuery, action: str, text: str, correction=False):
    msg = QueryMessage(
        query_id=q.id, action=action, text=text, correction=correction, author_id=user.id
    )
    session.add(msg)
    q.updated_at = utcnow()
    session.flush()
    return msg


def open_query(
    user: User, session: Session, *, table: str, record_id: int, field: str | None, text: str
) -> DataQuery:
    """Ask the site about a record (``field`` None) or one of its fields."""
    require_role(session, user, OPEN_ROLES, "open a data query")
    record, patient = get_record(user, session, table, record_id, "open a data query")
    if field:
        names = field_names(record)
        check(session, user, field in names, "field", field, ", ".join(names) or "none")
    text = require_text(session, user, text, "text", "the question to the site")
    q = DataQuery(
        patient_id=patient.id,
        record_table=table,
        record_id=record.id,
        field=field or None,
        status="open",
        opened_by_id=user.id,
    )
    session.add(q)
    session.flush()
    _message(session, user, q, "open", text)
    return q


def get(user: User, session: Session, query_id: int) -> tuple[DataQuery, Patient]:
    require_role(session, user, READ_ROLES, "view a data query")
    q = session.get(DataQuery, query_id)
    if q is None:
        deny(session, user, "not_found", f"no data query with id {query_id}")
    patient = session.get(Patient, q.patient_id)
    require_site(session, user, patient, "view a data query")
    return q, patient


def _require_state(session, user, q: DataQuery, allowed: tuple[str, ...], action: str) -> None:
    if q.status not in allowed:
        deny(
            session,
            user,
            "query_transition",
            f"query {q.id} is {q.status}: it can be {action} only when {' or '.join(allowed)}",
            query=q.id,
            status=q.status,
        )


def _since_last_opened(q: DataQuery) -> datetime:
    return max(m.at for m in q.messages if m.action in ("open", "reopen"))


def changed_since(session: Session, table: str, record_id: int, since: datetime) -> bool:
    """Whether the record was changed (an audited update) after ``since``."""
    stamp = since.isoformat()
    return (
        session.scalar(
            select(AuditEntry.seq)
            .where(
                AuditEntry.table_name == table,
                AuditEntry.record_id == str(record_id),
                AuditEntry.action == "update",
                AuditEntry.at > stamp,
            )
            .limit(1)
        )
        is not None
    )


def answer(
    user: User, session: Session, q: DataQuery, *, text: str, correction: bool = False
) -> DataQuery:
    """The site's answer. ``correction``: the record was corrected (through its own form, with
    a reason) after the query was opened; refused when it was not."""
    require_role(session, user, ANSWER_ROLES, "answer a data query")
    require_site(session, user, session.get(Patient, q.patient_id), "answer a data query")
    _require_state(session, user, q, ("open",), "answered")
    text = require_text(
        session, user, text, "text", "the answer: what was corrected, or why the value stands"
    )
    if correction and not changed_since(
        session, q.record_table, q.record_id, _since_last_opened(q)
    ):
        deny(
            session,
            user,
            "no_correction",
            f"query {q.id}: {q.record_table} {q.record_id} has not been changed since the "
            "query was opened; correct the record first, or answer with an explanation",
            field="correction",
            value=True,
            allowed="a correction made after the query was opened, or an explanation",
        )
    _message(session, user, q, "answer", text, correction=bool(correction))
    q.status = "answered"
    session.flush()
    return q


def close(user: User, session: Session, q: DataQuery, *, text: str) -> DataQuery:
    require_role(session, user, OPEN_ROLES, "close a data query")
    require_site(session, user, session.get(Patient, q.patient_id), "close a data query")
    _require_state(session, user, q, OPEN_STATES, "closed")
    _message(
        session, user, q, "close", require_text(session, user, text, "text", "why it is closed")
    )
    q.status = "closed"
    session.flush()
    return q


def reopen(user: User, session: Session, q: DataQuery, *, text: str) -> DataQuery:
    require_role(session, user, OPEN_ROLES, "re-open a data query")
    require_site(session, user, session.get(Patient, q.patient_id), "re-open a data query")
    _require_state(session, user, q, ("answered", "closed"), "re-opened")
    _message(
        session,
        user,
        q,
        "reopen",
        require_text(session, user, text, "text", "what is still unclear"),
    )
    q.status = "open"
    session.flush()
    return q


def list_for(
    user: User,
    session: Session,
    *,
    status: str | None = None,
    patient: Patient | None = None,
    table: str | None = None,
    record_id: int | None = None,
) -> list[tuple[DataQuery, Patient]]:
    """Queries the user may see, most recently changed first; ``status`` "unresolved" means
    open or answered."""
    require_role(session, user, READ_ROLES, "view data queries")
    q = select(DataQuery, Patient).join(Patient, Patient.id == DataQuery.patient_id)
    if user.site_id is not None:
        q = q.where(Patient.site_id == user.site_id)
    if status == "unresolved":
        q = q.where(DataQuery.status.in_(OPEN_STATES))
    elif status:
        q = q.where(DataQuery.status == status)
    if patient is not None:
        q = q.where(DataQuery.patient_id == patient.id)
    if table is not None:
        q = q.where(DataQuery.record_table == table, DataQuery.record_id == record_id)
    rows = session.execute(q.order_by(DataQuery.updated_at.desc(), DataQuery.id.desc()))
    return [(dq, p) for dq, p in rows]


def unresolved_counts(session: Session, patient_ids) -> Counter:
    """(table, record id) -> queries open or answered, for the casebook's cells."""
    ids = list(patient_ids)
    if not ids:
        return Counter()
    rows = session.execute(
        select(DataQuery.record_table, DataQuery.record_id).where(
            DataQuery.patient_id.in_(ids), DataQuery.status.in_(OPEN_STATES)
        )
    )
    return Counter((t, i) for t, i in rows)


def describe(session: Session, q: DataQuery) -> str:
    """What the query is about, e.g. "ISNCSCI exam, month1, 2026-02-01 · data.c5RightMotor"."""
    record = session.get(model_for(q.record_table), q.record_id)
    what = record_label(record) if record is not None else f"{q.record_table} {q.record_id}"
    return f"{what} · {q.field}" if q.field else what
