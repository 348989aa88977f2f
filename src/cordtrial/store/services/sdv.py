"""Source data verification: a monitor marks a record verified against the source documents;
a later change of the record clears the mark (store/casebook_guard.py); per-patient and
per-site percentages of records verified (OpenClinica's SDV, standards.md)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Patient, Site, SourceVerification, User
from .base import READ_ROLES, deny, require_role
from .trial_records import count_by_patient, get_record

SDV_ROLES = ("monitor",)


def active_mark(session: Session, table: str, record_id: int) -> SourceVerification | None:
    return session.scalar(
        select(SourceVerification).where(
            SourceVerification.record_table == table,
            SourceVerification.record_id == record_id,
            SourceVerification.cleared_at.is_(None),
        )
    )


def history(session: Session, table: str, record_id: int) -> list[SourceVerification]:
    """Every mark the record had, oldest first (cleared ones say who changed what)."""
    return list(
        session.scalars(
            select(SourceVerification)
            .where(
                SourceVerification.record_table == table,
                SourceVerification.record_id == record_id,
            )
            .order_by(SourceVerification.id)
        )
    )


def verify(user: User, session: Session, table: str, record_id: int) -> SourceVerification:
    """Mark a record verified against its source documents (monitors only)."""
    require_role(session, user, SDV_ROLES, "verify a record against source")
    record, patient = get_record(user, session, table, record_id, "verify a record against source")
    if active_mark(session, table, record_id) is not None:
        deny(
            session,
            user,
            "already_verified",
            f"{table} {record_id} is already verified and has not changed since",
            table=table,
            record_id=record_id,
        )
    mark = SourceVerification(
        patient_id=patient.id, record_table=table, record_id=record.id, verified_by_id=user.id
    )
    session.add(mark)
    session.flush()
    return mark


def verified_keys(session: Session, patient_ids) -> set[tuple[str, int]]:
    ids = list(patient_ids)
    if not ids:
        return set()
    q = select(SourceVerification.record_table, SourceVerification.record_id).where(
        SourceVerification.patient_id.in_(ids), SourceVerification.cleared_at.is_(None)
    )
    return {(t, i) for t, i in session.execute(q)}


@dataclass(frozen=True)
class Coverage:
    """Records verified out of records, for a patient or a site."""

    name: str
    verified: int
    total: int

    @property
    def percent(self) -> float | None:
        return 100.0 * self.verified / self.total if self.total else None

    def describe(self) -> str:
        pct = "no records" if self.percent is None else f"{self.percent:.0f}%"
        return f"{self.verified}/{self.total} ({pct})"


def coverage(user: User, session: Session) -> tuple[list[Coverage], list[Coverage]]:
    """(per site, per patient) source data verification, over the patients the user sees."""
    require_role(session, user, READ_ROLES, "view source data verification")
    q = select(Patient).order_by(Patient.study_code)
    if user.site_id is not None:
        q = q.where(Patient.site_id == user.site_id)
    patients = list(session.scalars(q))
    totals = count_by_patient(session, (p.id for p in patients))
    verified = Counter(
        pid
        for (pid,) in session.execute(
            select(SourceVerification.patient_id).where(
                SourceVerification.patient_id.in_([p.id for p in patients]),
                SourceVerification.cleared_at.is_(None),
            )
        )
    )
    per_patient = [Coverage(p.study_code, verified[p.id], totals[p.id]) for p in patients]
    sites = {s.id: s.code for s in session.scalars(select(Site))}
    by_site: dict[str, list[int]] = {}
    for p in patients:
        agg = by_site.setdefault(sites[p.site_id], [0, 0])
        agg[0] += verified[p.id]
        agg[1] += totals[p.id]
    per_site = [Coverage(code, v, t) for code, (v, t) in sorted(by_site.items())]
    return per_site, per_patient
