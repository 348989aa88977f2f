"""The protocol as stored, versioned data.

Version 1 is the shipped protocol file (``CORDTRIAL_PROTOCOL`` or approved-label.toml) until an
admin edits it; it is stored when the first record is collected (or when the admin edits it).
Later versions are amendments, each in effect from its date. Every trial record keeps, in
``protocol_version``, the version in effect on its event date (the day the injury, draw,
harvest, exam... happened, not the day it was entered); a flush hook stamps new records, so
no path of entry can forget it. Services read the rules of a day with :func:`protocol_on`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from . import models as m
from .audit import AuditedSession, set_reason
from .protocol import Protocol, default_protocol
from .rules import version_in_effect
from .types import utcnow

_CACHE = "cordtrial_protocol_versions"
FIRST_SUMMARY = "the shipped protocol, in effect from the start of the trial"
FIRST_REASON = "version 1 of the protocol is stored with the first record collected under it"

# The day each kind of record happened on (its protocol version is the one in effect then).
EVENT_DATE: dict[type, str] = {
    m.Injury: "injury_date",
    m.Eligibility: "assessed_on",
    m.Consent: "consent_date",
    m.Visit: "target_date",
    m.Assessment: "assessed_on",
    m.BloodDraw: "drawn_on",
    m.MarrowHarvest: "harvested_on",
    m.Lot: "culture_started_on",
    m.CulturePassage: "seeded_on",
    m.ReleaseTest: "tested_on",
    m.CustodyEvent: "at",
    m.Infusion: "infused_on",
    m.AdverseEvent: "onset_date",
    m.Patient: "created_at",
}


def event_date(record: Any) -> date | None:
    value = getattr(record, EVENT_DATE.get(type(record), ""), None)
    if isinstance(value, datetime):
        return value.date()
    return value


def _versions(session: Session) -> list[tuple[int, date | None, dict]]:
    cached = session.info.get(_CACHE)
    if cached is None:
        table = m.ProtocolVersion.__table__
        rows = session.connection().execute(
            select(table.c.number, table.c.effective_from, table.c.content).order_by(table.c.number)
        )
        cached = [(n, since, content) for n, since, content in rows]
        session.info[_CACHE] = cached
    return cached


def forget(session: Session) -> None:
    session.info.pop(_CACHE, None)


def stored_versions(session: Session) -> list[m.ProtocolVersion]:
    return list(session.scalars(select(m.ProtocolVersion).order_by(m.ProtocolVersion.number)))


def number_on(session: Session, on: date | None) -> int:
    """The number of the version in effect on ``on`` (today if None); 1 before any is stored."""
    rows = _versions(session)
    if not rows:
        return 1
    day = on or utcnow().date()  # today on the trial's calendar (UTC), as amend() reads it
    found = version_in_effect([(n, s) for n, s, _ in rows], day)
    return found or rows[0][0]


def protocol_number(session: Session, number: int) -> Protocol:
    for n, _, content in _versions(session):
        if n == number:
            return Protocol.model_validate(content)
    if number == 1:
        return default_protocol()
    raise LookupError(f"no protocol version {number}")


def protocol_on(session: Session, on: date | None = None) -> Protocol:
    """The protocol in effect on ``on`` (today if None): what services check a record against."""
    return protocol_number(session, number_on(session, on))


def protocol_of(session: Session, record: Any) -> Protocol:
    """The protocol version a stored record was collected under."""
    number = getattr(record, "protocol_version", None)
    if number is None:
        return protocol_on(session, event_date(record))
    return protocol_number(session, number)


def ensure_first(session: Session) -> m.ProtocolVersion | None:
    """Store version 1 (the shipped protocol) if nothing is stored yet; returns it when new."""
    if _versions(session):
        return None
    row = m.ProtocolVersion(
        number=1,
        effective_from=None,
        content=default_protocol().model_dump(mode="json"),
        summary=FIRST_SUMMARY,
        created_at=utcnow(),
    )
    session.add(row)
    set_reason(session, row, FIRST_REASON)
    return row


def restamp(session: Session, record: Any) -> None:
    """After a correction of its event date, a record keeps the version in effect then."""
    when = event_date(record)
    if when is not None and hasattr(record, "protocol_version"):
        record.protocol_version = number_on(session, when)


@event.listens_for(AuditedSession, "before_flush")
def _stamp_new_records(session: Session, _ctx, _instances) -> None:
    new = [o for o in session.new if isinstance(o, m.Versioned) and o.protocol_version is None]
    if any(isinstance(o, m.ProtocolVersion) for o in session.new):
        forget(session)
    if not new:
        return
    first = ensure_first(session)
    if first is not None:
        session.info[_CACHE] = [(1, None, first.content)]
    for obj in new:
        obj.protocol_version = number_on(session, event_date(obj))


@event.listens_for(AuditedSession, "after_flush")
def _forget_on_change(session: Session, _ctx) -> None:
    if any(isinstance(o, m.ProtocolVersion) for o in list(session.new) + list(session.dirty)):
        forget(session)


@event.listens_for(AuditedSession, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    forget(session)
