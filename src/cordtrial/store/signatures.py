"""Electronic signatures bound to the signed content (21 CFR Part 11 §11.50, §11.70).

Signing re-authenticates the signer (password), stores the printed name, the UTC time, the
meaning, and a SHA-256 of the record's canonical content. A later change to the content makes
:func:`status` report the signature as invalid, visibly, rather than silently carrying it over.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .audit import canonical_json, row_state
from .models import Base, Lot, ReleaseTest, Signature, User
from .record_refs import record_id_of
from .types import utcnow

# Fields left out of the signed content because they change legitimately after signing
# (a released lot is later dispensed and infused, and moves between storage places).
_UNSIGNED_FIELDS = {"lots": {"status", "storage_location"}}


def signed_content(session: Session, record: Base) -> dict:
    """The content a signature covers: the row, and for a lot its release tests too."""
    table = record.__table__
    state = row_state(table, _row(session, record))
    for name in _UNSIGNED_FIELDS.get(table.name, ()):
        state.pop(name, None)
    content = {"table": table.name, "row": state}
    if isinstance(record, Lot):
        tests = session.scalars(
            select(ReleaseTest).where(ReleaseTest.lot_id == record.id).order_by(ReleaseTest.id)
        ).all()
        content["release_tests"] = [_state(session, t) for t in tests]
    return content


def _row(session: Session, record: Base):
    session.flush()
    table = record.__table__
    cond = [
        c == getattr(record, record.__mapper__.get_property_by_column(c).key)
        for c in table.primary_key.columns
    ]
    return session.connection().execute(select(table).where(*cond)).mappings().one()


def _state(session: Session, record: Base) -> dict:
    return row_state(record.__table__, _row(session, record))


def content_hash(session: Session, record: Base) -> str:
    return hashlib.sha256(canonical_json(signed_content(session, record)).encode()).hexdigest()


def add_signature(session: Session, signer: User, record: Base, meaning: str) -> Signature:
    """Record a signature; the caller has re-authenticated ``signer`` (see services)."""
    sig = Signature(
        record_table=record.__tablename__,
        record_id=record_id_of(record),
        meaning=meaning,
        signer_id=signer.id,
        signer_name=signer.display_name,
        signed_at=utcnow(),
        content_hash=content_hash(session, record),
    )
    session.add(sig)
    session.flush()
    return sig


def signatures_for(session: Session, record: Base) -> list[Signature]:
    return list(
        session.scalars(
            select(Signature)
            .where(
                Signature.record_table == record.__tablename__,
                Signature.record_id == record_id_of(record),
            )
            .order_by(Signature.id)
        )
    )


@dataclass(frozen=True)
class SignatureStatus:
    signature: Signature
    valid: bool

    def describe(self) -> str:
        s = self.signature
        state = "valid" if self.valid else "INVALID: the record changed after signing"
        return f"{s.signer_name}, {s.signed_at:%Y-%m-%d %H:%M} UTC, {s.meaning!r} ({state})"


def status(session: Session, record: Base) -> list[SignatureStatus]:
    """Each signature of the record and whether the record still has the signed content."""
    current = content_hash(session, record)
    return [SignatureStatus(s, s.content_hash == current) for s in signatures_for(session, record)]
