"""The casebook's flush guard: where any trial record changes, whatever service or script
changes it.

Before each flush of an audited session, for every record of a patient being inserted,
updated or deleted:

1. Locks: a patient whose casebook is locked, or any patient while the trial's data are locked,
   refuses the change (``casebook_locked``, ``trial_locked``), logged like every refusal.
2. Dates: an event date (plausibility.EVENT_DATES) after tomorrow or before the injury is
   refused (``invalid_date``), naming the rule, the field and the value.
3. Source data verification: an updated or deleted record loses its verification mark; the
   mark is cleared (who changed the record, which fields), an audited change like any other.

It runs first among the flush hooks, so the audit hook records the cleared marks too. The
rules live here, once, rather than in each service: a form added later is covered as soon as
its records carry a patient (and its dates are listed in EVENT_DATES).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from cordtrial.casebook.plausibility import EVENT_DATES, date_findings

from . import models as m
from .audit import AuditedSession, actor_of, set_reason
from .record_refs import in_casebook, patient_id_of, record_id_of
from .refusals import refuse
from .types import utcnow


@event.listens_for(AuditedSession, "before_flush", insert=True)
def _guard(session: Session, _ctx, _instances) -> None:
    touched = _touched(session)
    if not touched:
        return
    _refuse_when_locked(session, touched)
    _refuse_implausible_dates(session, touched)
    _clear_verifications(session, touched)


def _touched(session: Session) -> list[tuple[object, str, int | None]]:
    """(record, "new" | "dirty" | "deleted", patient id) for each patient record in the flush."""
    out = []
    for action, objs in (
        ("new", session.new),
        ("dirty", session.dirty),
        ("deleted", session.deleted),
    ):
        for obj in list(objs):
            if not in_casebook(obj):
                continue
            if action == "dirty" and not session.is_modified(obj, include_collections=False):
                continue
            pid = patient_id_of(session, obj)
            if pid is None and not isinstance(obj, m.Patient):
                continue  # a record of no patient (e.g. a signature of an account)
            out.append((obj, action, pid))
    return out


def _refuse_when_locked(session: Session, touched) -> None:
    trial = session.execute(
        select(m.DataLock.id, m.DataLock.locked_at).where(m.DataLock.unlocked_at.is_(None))
    ).first()
    if trial is not None:
        obj = touched[0][0]
        refuse(
            session,
            actor_of(session),
            "trial_locked",
            f"{obj.__tablename__}: the trial's data are locked (data lock {trial.id} of "
            f"{trial.locked_at:%Y-%m-%d %H:%M} UTC); an administrator must unlock them, with a "
            "reason, before anything changes",
            table=obj.__tablename__,
        )
    pids = {pid for _, _, pid in touched if pid is not None}
    if not pids:
        return
    locked = set(
        session.scalars(
            select(m.CasebookLock.patient_id).where(
                m.CasebookLock.patient_id.in_(pids), m.CasebookLock.unlocked_at.is_(None)
            )
        )
    )
    for obj, _, pid in touched:
        if pid in locked:
            code = session.get(m.Patient, pid).study_code
            refuse(
                session,
                actor_of(session),
                "casebook_locked",
                f"{obj.__tablename__}: the casebook of {code} is locked (signed off by the "
                "investigator); it must be unlocked, with a reason, before anything changes",
                table=obj.__tablename__,
                patient=code,
            )


def _refuse_implausible_dates(session: Session, touched) -> None:
    today = utcnow().date()
    injuries: dict[int, date | None] = {}
    for obj, action, pid in touched:
        names = EVENT_DATES.get(obj.__tablename__, ())
        if action == "deleted" or not names:
            continue
        state = inspect(obj)
        if pid is not None and pid not in injuries:
            injuries[pid] = session.scalar(
                select(m.Injury.injury_date).where(m.Injury.patient_id == pid)
            )
        injury = None if isinstance(obj, m.Injury) else injuries.get(pid)
        for name in names:
            if action == "dirty" and not state.attrs[name].history.has_changes():
                continue
            for f in date_findings(name, getattr(obj, name), injury=injury, today=today):
                refuse(
                    session,
                    actor_of(session),
                    "invalid_date",
                    f"{obj.__tablename__}.{f.message} (rule {f.rule.code}: {f.rule.summary})",
                    field=name,
                    value=f.value,
                    allowed=f"a date from the injury ({injury}) to today"
                    if injury
                    else "a date up to today",
                    rule=f.rule.code,
                )


def _clear_verifications(session: Session, touched) -> None:
    for obj, action, _ in touched:
        if action == "new" or isinstance(obj, m.SourceVerification):
            continue
        marks = session.scalars(
            select(m.SourceVerification).where(
                m.SourceVerification.record_table == obj.__tablename__,
                m.SourceVerification.record_id == record_id_of(obj),
                m.SourceVerification.cleared_at.is_(None),
            )
        ).all()
        if not marks:
            continue
        if action == "deleted":
            what = "the record was deleted"
        else:
            state = inspect(obj)
            changed = sorted(
                a.key for a in state.mapper.column_attrs if state.attrs[a.key].history.has_changes()
            )
            what = f"changed: {', '.join(changed)}"
        for mark in marks:
            mark.cleared_at = utcnow()
            mark.cleared_by = actor_of(session)
            mark.cleared_reason = what
            set_reason(session, mark, f"source data verification cleared: {what}")
