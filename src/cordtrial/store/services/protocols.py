"""Administering the protocol: edit a version no record was collected under yet (version 1
before the first enrolment), or amend (a new version in effect from its date). The trial's
protocol is one for all sites, so only an admin without a site changes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import models as m
from ..models import User
from ..protocol import Protocol
from ..protocol_versions import FIRST_SUMMARY, forget, protocol_number, stored_versions
from ..rules import version_in_effect
from ..types import utcnow
from .base import READ_ROLES, check, deny, require_role
from .fields import check_text
from .timing import site_today

ADMIN = ("admin",)
SUMMARY_MAX = 2000


@dataclass(frozen=True)
class VersionInfo:
    number: int
    effective_from: date | None
    summary: str
    records: int  # records collected under it
    stored: bool  # False: the shipped file, not stored yet
    protocol: Protocol
    in_effect: bool  # the version in effect today

    @property
    def editable(self) -> bool:
        return self.records == 0


def records_under(session: Session, number: int) -> int:
    """How many trial records were collected under a version (0: it can still be edited)."""
    total = 0
    for model in m.Base.registry.mappers:
        cls = model.class_
        if issubclass(cls, m.Versioned):
            total += session.scalar(
                select(func.count()).select_from(cls).where(cls.protocol_version == number)
            )
    return total


def versions(user: User, session: Session) -> list[VersionInfo]:
    """Every version, oldest first (version 1 from the shipped file if none is stored)."""
    require_role(session, user, READ_ROLES, "view the protocol")
    rows = stored_versions(session)
    today = site_today(None)
    if not rows:
        return [VersionInfo(1, None, FIRST_SUMMARY, 0, False, protocol_number(session, 1), True)]
    current = version_in_effect([(r.number, r.effective_from) for r in rows], today)
    return [
        VersionInfo(
            r.number,
            r.effective_from,
            r.summary,
            records_under(session, r.number),
            True,
            Protocol.model_validate(r.content),
            r.number == current,
        )
        for r in rows
    ]


def _check_summary(session: Session, admin: User, summary: str) -> None:
    check_text(
        session,
        admin,
        "summary",
        summary,
        "what changed and why (e.g. the amendment's title and approval)",
        max_len=SUMMARY_MAX,
    )


def _sponsor_admin(session: Session, admin: User, action: str) -> None:
    require_role(session, admin, ADMIN, action)
    if admin.site_id is not None:
        deny(
            session,
            admin,
            "other_site",
            f"{action}: the protocol is the whole trial's; an administrator of every site "
            "changes it",
        )


def edit_version(
    admin: User, session: Session, number: int, protocol: Protocol, summary: str
) -> m.ProtocolVersion:
    """Replace a version's content while no record was collected under it (version 1 before
    the first enrolment, or an amendment not yet used)."""
    _sponsor_admin(session, admin, "edit the protocol")
    _check_summary(session, admin, summary)
    rows = {r.number: r for r in stored_versions(session)}
    if number not in rows and not (number == 1 and not rows):
        deny(session, admin, "not_found", f"no protocol version {number}")
    used = records_under(session, number)
    if used:
        deny(
            session,
            admin,
            "protocol_in_use",
            f"protocol version {number} is frozen: {used} record(s) were collected under it; "
            "change the protocol by an amendment (a new version with its effective date)",
            version=number,
            records=used,
        )
    row = rows.get(number) or m.ProtocolVersion(
        number=1, effective_from=None, created_at=utcnow(), created_by_id=admin.id
    )
    row.content = protocol.model_dump(mode="json")
    row.summary = summary.strip()
    session.add(row)
    session.flush()
    forget(session)
    return row


def amend(
    admin: User, session: Session, protocol: Protocol, *, effective_from: date, summary: str
) -> m.ProtocolVersion:
    """A new protocol version in effect from ``effective_from`` (today or later, after the
    latest version's date): records dated from then on are collected under it."""
    _sponsor_admin(session, admin, "amend the protocol")
    _check_summary(session, admin, summary)
    rows = stored_versions(session)
    if not rows:  # the shipped version 1 becomes a stored version before the first amendment
        from ..protocol_versions import ensure_first

        ensure_first(session)
        session.flush()
        forget(session)
        rows = stored_versions(session)
    today = site_today(None)
    latest = max((r.effective_from for r in rows if r.effective_from), default=None)
    floor = max(d for d in (today, latest) if d is not None)
    check(
        session,
        admin,
        isinstance(effective_from, date)
        and effective_from >= today
        and (latest is None or effective_from > latest),
        "effective_from",
        effective_from,
        f"a day from today on (amendments do not reach back: records already collected keep "
        f"their version){f', after the latest version’s {latest.isoformat()}' if latest else ''}"
        f" (earliest: {floor.isoformat()})",
    )
    row = m.ProtocolVersion(
        number=max(r.number for r in rows) + 1,
        effective_from=effective_from,
        content=protocol.model_dump(mode="json"),
        summary=summary.strip(),
        created_by_id=admin.id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    forget(session)
    return row
