"""Plausibility checks where records are made (rules: cordtrial.casebook.plausibility).

A rule that refuses refuses the save (code = the rule, naming the field). A warning refuses it
too (``confirmation_required``, listing the warnings) until the user confirms each one by its
rule code; the save then stores one ``Confirmation`` per warning with the record (audited),
and a visit out of window also a protocol deviation with the reason the user gave.
Dates after tomorrow or before the injury are refused for every form by the flush guard
(cordtrial.store.casebook_guard).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cordtrial.casebook.plausibility import (
    Finding,
    completeness_findings,
    consent_findings,
    date_findings,
    end_of_study_findings,
    visit_findings,
)
from cordtrial.casebook.schedule import Anchors

from ..models import (
    Assessment,
    Confirmation,
    Consent,
    FormNotDone,
    Infusion,
    Injury,
    Patient,
    User,
    Visit,
)
from ..protocol import Protocol
from ..types import utcnow
from . import deviations
from .base import deny, require_text

# Every warning rule, for callers that take records made and checked elsewhere (an import from
# another system): they are confirmed in the importing user's name and stored as such.
CONFIRM_ALL = frozenset(
    {
        "before_consent",
        "ae_before_consent",
        "follow_up_not_infused",
        "visit_out_of_window",
        "instrument_incomplete",
        "completed_without_last_visit",
    }
)


DATE_RULES = ("date_in_future", "before_injury")


def _dates(field: str, on, anchors: Anchors) -> list[Finding]:
    return date_findings(field, on, injury=anchors.injury, today=utcnow().date())


def anchors_for(session: Session, patient: Patient) -> Anchors:
    """The patient's injury, first consent, first infusion and planned infusion day."""
    pid = patient.id
    planned = session.scalar(
        select(Visit.target_date).where(Visit.patient_id == pid, Visit.code == "infusion_day")
    )
    return Anchors(
        injury=session.scalar(select(Injury.injury_date).where(Injury.patient_id == pid)),
        consent=session.scalar(
            select(func.min(Consent.consent_date)).where(Consent.patient_id == pid)
        ),
        infusion=session.scalar(
            select(func.min(Infusion.infused_on)).where(Infusion.patient_id == pid)
        ),
        planned_infusion=planned,
    )


@dataclass(frozen=True)
class Checked:
    """The warnings a user confirmed for a record about to be stored."""

    patient: Patient
    confirmed: tuple[Finding, ...]
    deviation_reason: str | None

    def store(self, user: User, session: Session, record) -> None:
        """Keep the confirmations with the stored record; a visit out of window also gets its
        protocol deviation."""
        for f in self.confirmed:
            message = f.message + (f"; {f.note}" if f.note else "")
            session.add(
                Confirmation(
                    patient_id=self.patient.id,
                    record_table=record.__tablename__,
                    record_id=record.id,
                    rule=f.rule.code,
                    message=message,
                    confirmed_by_id=user.id,
                )
            )
            if f.rule.code == "visit_out_of_window":
                deviations.record_visit_deviation(
                    user,
                    session,
                    self.patient,
                    visit_code=record.visit_code,
                    days_outside=f.days or 0,
                    description=message,
                    reason=self.deviation_reason or "",
                    record=record,
                )
        session.flush()


def settle(
    user: User,
    session: Session,
    patient: Patient,
    findings: Sequence[Finding],
    confirm: Collection[str],
    deviation_reason: str | None = None,
) -> Checked:
    """Refuse on a refusing rule or an unconfirmed warning; else what was confirmed. The date
    rules refuse as the flush guard does (``invalid_date``), the others under their own code."""
    for f in findings:
        if f.refuses:
            deny(
                session,
                user,
                "invalid_date" if f.rule.code in DATE_RULES else f.rule.code,
                f"{f.message} (rule {f.rule.code}: {f.rule.summary})",
                field=f.field,
                value=f.value,
                allowed=f.rule.summary,
                rule=f.rule.code,
            )
    pending = [f for f in findings if f.rule.code not in confirm]
    if pending:
        deny(
            session,
            user,
            "confirmation_required",
            "confirm to save: " + "; ".join(f.message for f in pending),
            warnings=[f.as_dict() for f in pending],
        )
    reason = None
    if any(f.rule.code == "visit_out_of_window" for f in findings):
        reason = require_text(
            session,
            user,
            deviation_reason,
            "deviation_reason",
            "why the visit is outside its window (recorded with the protocol deviation)",
        )
    return Checked(patient, tuple(findings), reason)


def check_assessment(
    user: User,
    session: Session,
    patient: Patient,
    *,
    visit_code: str,
    on,
    protocol: Protocol,
    missing: Sequence[str] = (),
    missing_labels: Sequence[str] = (),
    confirm: Collection[str] = (),
    deviation_reason: str | None = None,
    schedule: bool = True,
) -> Checked:
    """The schedule and consent rules (``schedule``: off for a correction that keeps the date
    and visit) and the completeness rule for an exam or instrument."""
    findings = []
    if schedule:
        anchors = anchors_for(session, patient)
        findings += _dates("assessed_on", on, anchors)
        findings += visit_findings(protocol, anchors, visit_code, on)
        findings += consent_findings("assessed_on", on, anchors)
    findings += completeness_findings(missing, missing_labels)
    return settle(user, session, patient, findings, confirm, deviation_reason)


def check_adverse_event(
    user: User, session: Session, patient: Patient, *, onset, confirm: Collection[str] = ()
) -> Checked:
    anchors = anchors_for(session, patient)
    findings = _dates("onset_date", onset, anchors)
    findings += consent_findings("onset_date", onset, anchors, rule="ae_before_consent")
    return settle(user, session, patient, findings, confirm)


def _visit_seen(session: Session, patient: Patient, visit_code: str) -> bool:
    """Something recorded at the visit: an exam or instrument, or a form marked not done."""
    pid = patient.id
    for model in (Assessment, FormNotDone):
        q = select(model.id).where(model.patient_id == pid, model.visit_code == visit_code)
        if session.scalar(q.limit(1)) is not None:
            return True
    return False


def end_findings(session: Session, patient: Patient, protocol: Protocol) -> list[Finding]:
    """The end-of-study rules for the patient's (new or corrected) end of study."""
    if patient.end_reason != "completed" or not protocol.visits:
        return []
    last = protocol.visits[-1].code
    return end_of_study_findings(
        protocol,
        anchors_for(session, patient),
        patient.end_reason,
        patient.ended_on,
        _visit_seen(session, patient, last),
    )


def confirmations_for(session: Session, record) -> list[Confirmation]:
    return list(
        session.scalars(
            select(Confirmation)
            .where(
                Confirmation.record_table == record.__tablename__,
                Confirmation.record_id == record.id,
            )
            .order_by(Confirmation.id)
        )
    )
