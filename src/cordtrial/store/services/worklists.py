"""Worklists of a site (or the whole trial, for users without a site): what is overdue or
missing, visits out of window, lots waiting for tests or release, lots near expiry, open
adverse events, open queries, records awaiting source data verification.

Each list is rows of plain values (the columns, for pages and CSV) plus link keys starting
with "_" (``_record``: (table, id), ``_lot``, ``_query``, ``_deviation``, ``_patient``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.casebook.forms import FORMS

from ..models import AdverseEvent, Deviation, Lot, Patient, Site, User
from ..protocol import Protocol
from ..protocol_versions import protocol_on
from ..record_refs import RECORD_TYPES, model_for, record_date, record_label
from . import casebook as casebook_service
from . import data_queries
from .base import READ_ROLES, check, require_role
from .manufacturing import release_status
from .sdv import verified_keys
from .timing import local_day, site_today
from .trial_records import records_of

RESOLVED_OUTCOMES = ("recovered", "recovered with sequelae", "fatal")
FORM_STATES = ("overdue", "due")
QUERY_FILTERS = ("unresolved", "open", "answered", "closed")


@dataclass(frozen=True)
class Filters:
    site: str | None = None  # site code
    patient: str | None = None  # study code
    state: str | None = None  # forms: overdue | due
    status: str | None = None  # queries
    form: str | None = None
    within: int = 30  # lots near expiry: days ahead
    # None: each patient's site's today (a Tokyo site's visit is due on Tokyo's day)
    today: date | None = None


@dataclass(frozen=True)
class Worklist:
    name: str
    title: str
    description: str
    columns: tuple[str, ...]
    rows: Callable[[User, Session, Filters, Protocol], list[dict]]
    filters: tuple[str, ...] = ()  # beyond site and patient


def _patients(user: User, session: Session, f: Filters) -> list[Patient]:
    q = select(Patient).order_by(Patient.study_code)
    if user.site_id is not None:
        q = q.where(Patient.site_id == user.site_id)
    if f.site:
        q = q.join(Site, Site.id == Patient.site_id).where(Site.code == f.site)
    if f.patient:
        q = q.where(Patient.study_code == f.patient)
    return list(session.scalars(q))


def _today(f: Filters, patient: Patient) -> date:
    return f.today or site_today(patient.site)


def _casebooks(user, session, f: Filters, protocol: Protocol):
    for p in _patients(user, session, f):
        yield p, casebook_service._build(session, p, protocol, _today(f, p))


def _forms(user, session, f: Filters, protocol) -> list[dict]:
    states = (f.state,) if f.state else FORM_STATES
    out = []
    for p, book in _casebooks(user, session, f, protocol):
        if book.locked:
            continue
        for cell in book.cells():
            if cell.state not in states or (f.form and cell.form != f.form):
                continue
            w = cell.window
            late = (_today(f, p) - w.end).days if w and cell.state == "overdue" else None
            out.append(
                {
                    "patient": p.study_code,
                    "site": p.site.code,
                    "visit": cell.visit or "enrolment",
                    "form": FORMS[cell.form].label,
                    "state": cell.state,
                    "window_start": w.start.isoformat() if w else "",
                    "window_end": w.end.isoformat() if w else "",
                    "days_overdue": late if late is not None else "",
                    "_patient": p.study_code,
                }
            )
    return sorted(out, key=lambda r: (r["state"] != "overdue", r["window_end"], r["patient"]))


def _out_of_window(user, session, f: Filters, protocol) -> list[dict]:
    out = []
    for p, book in _casebooks(user, session, f, protocol):
        devs = {
            (d.record_table, d.record_id): d
            for d in session.scalars(
                select(Deviation).where(
                    Deviation.patient_id == p.id, Deviation.kind == "visit_out_of_window"
                )
            )
        }
        for row in book.visits:
            for cell in row.cells.values():
                if cell.state != "done_out_of_window" or (f.form and cell.form != f.form):
                    continue
                for r in cell.records:
                    days = cell.window.days_outside(r.on) if r.on else 0
                    if not days:
                        continue
                    dev = devs.get((r.table, r.id))
                    out.append(
                        {
                            "patient": p.study_code,
                            "site": p.site.code,
                            "visit": row.code,
                            "form": FORMS[cell.form].label,
                            "date": r.on.isoformat(),
                            "window": f"{cell.window.start} to {cell.window.end}",
                            "days_outside": days,
                            "deviation": f"{dev.id} ({dev.status})" if dev else "none recorded",
                            "_record": (r.table, r.id),
                            "_deviation": dev.id if dev else None,
                        }
                    )
    return out


def _lot_rows(user, session, f: Filters):
    pats = {p.id: p for p in _patients(user, session, f)}
    q = select(Lot).where(Lot.patient_id.in_(pats)).order_by(Lot.lot_number)
    return [(lot, pats[lot.patient_id]) for lot in session.scalars(q)]


def _lots_waiting(user, session, f: Filters, protocol) -> list[dict]:
    out = []
    for lot, p in _lot_rows(user, session, f):
        if lot.status == "in_process":
            waiting = "culture to finish (cryopreservation)"
        elif lot.status == "quarantine":
            missing, failed = release_status(session, lot, protocol)
            if failed:
                waiting = f"QA decision: failed {', '.join(failed)}"
            elif missing:
                waiting = f"release tests: {', '.join(missing)}"
            else:
                waiting = "QA release (every required test passing)"
        else:
            continue
        out.append(
            {
                "lot": lot.lot_number,
                "patient": p.study_code,
                "site": p.site.code,
                "status": lot.status,
                "waiting_for": waiting,
                "culture_started": lot.culture_started_on.isoformat(),
                "expiry": lot.expiry_date.isoformat() if lot.expiry_date else "",
                "_lot": lot.id,
            }
        )
    return out


def _lots_expiring(user, session, f: Filters, protocol) -> list[dict]:
    out = []
    for lot, p in _lot_rows(user, session, f):
        if lot.status not in ("quarantine", "released", "dispensed") or lot.expiry_date is None:
            continue
        left = (lot.expiry_date - _today(f, p)).days
        if left > f.within:
            continue
        out.append(
            {
                "lot": lot.lot_number,
                "patient": p.study_code,
                "site": p.site.code,
                "status": lot.status,
                "expiry": lot.expiry_date.isoformat(),
                "days_left": left,
                "note": "expired: mark expired or reject" if left < 0 else "",
                "_lot": lot.id,
            }
        )
    return sorted(out, key=lambda r: r["days_left"])


def _adverse_events(user, session, f: Filters, protocol) -> list[dict]:
    pats = {p.id: p for p in _patients(user, session, f)}
    q = (
        select(AdverseEvent)
        .where(AdverseEvent.patient_id.in_(pats), AdverseEvent.resolution_date.is_(None))
        .order_by(AdverseEvent.onset_date)
    )
    out = []
    for ae in session.scalars(q):
        if ae.outcome in RESOLVED_OUTCOMES:
            continue
        p = pats[ae.patient_id]
        out.append(
            {
                "patient": p.study_code,
                "site": p.site.code,
                "term": ae.term,
                "grade": ae.grade,
                "serious": "SAE" if ae.serious else "",
                "onset": ae.onset_date.isoformat(),
                "days_open": (_today(f, p) - ae.onset_date).days,
                "outcome": ae.outcome or "not recorded",
                "_record": ("adverse_events", ae.id),
            }
        )
    return out


def _queries(user, session, f: Filters, protocol) -> list[dict]:
    status = f.status or "unresolved"
    codes = {p.id for p in _patients(user, session, f)}
    out = []
    for q, p in data_queries.list_for(user, session, status=status):
        if q.patient_id not in codes:
            continue
        last = q.messages[-1] if q.messages else None
        record = session.get(model_for(q.record_table), q.record_id)
        out.append(
            {
                "query": q.id,
                "patient": p.study_code,
                "site": p.site.code,
                "about": record_label(record) if record is not None else q.record_table,
                "field": q.field or "",
                "status": q.status,
                "opened": local_day(q.opened_at, p.site).isoformat(),
                "days_open": (_today(f, p) - local_day(q.opened_at, p.site)).days,
                "last_message": (last.text[:120] if last else ""),
                "_query": q.id,
                "_record": (q.record_table, q.record_id),
                "_kind": getattr(record, "kind", None),
            }
        )
    return out


def _awaiting_sdv(user, session, f: Filters, protocol) -> list[dict]:
    pats = {p.id: p for p in _patients(user, session, f)}
    verified = verified_keys(session, pats)
    out = []
    for pid, record in records_of(session, pats):
        if (record.__tablename__, record.id) in verified:
            continue
        when = record_date(record)
        out.append(
            {
                "patient": pats[pid].study_code,
                "site": pats[pid].site.code,
                "record": record_label(record),
                "type": RECORD_TYPES[record.__tablename__],
                "date": when.isoformat() if when else "",
                "_record": (record.__tablename__, record.id),
            }
        )
    return out


WORKLISTS: dict[str, Worklist] = {
    w.name: w
    for w in (
        Worklist(
            "forms",
            "Overdue and due forms",
            "Scheduled forms whose window has passed with nothing recorded (overdue), or is "
            "open now (due); forms marked not done with a reason are not listed.",
            (
                "patient",
                "site",
                "visit",
                "form",
                "state",
                "window_start",
                "window_end",
                "days_overdue",
            ),
            _forms,
            ("state", "form"),
        ),
        Worklist(
            "out-of-window",
            "Visits out of window",
            "Assessments dated outside their visit's window, with the protocol deviation "
            "recorded for each.",
            ("patient", "site", "visit", "form", "date", "window", "days_outside", "deviation"),
            _out_of_window,
            ("form",),
        ),
        Worklist(
            "lots",
            "Lots waiting for tests or release",
            "Lots in culture or in quarantine, and what each is waiting for.",
            ("lot", "patient", "site", "status", "waiting_for", "culture_started", "expiry"),
            _lots_waiting,
        ),
        Worklist(
            "expiry",
            "Lots near expiry",
            "Lots not yet infused whose expiry date is within the next days (or past).",
            ("lot", "patient", "site", "status", "expiry", "days_left", "note"),
            _lots_expiring,
            ("within",),
        ),
        Worklist(
            "adverse-events",
            "Open adverse events",
            "Adverse events without a resolution date and not recovered.",
            ("patient", "site", "term", "grade", "serious", "onset", "days_open", "outcome"),
            _adverse_events,
        ),
        Worklist(
            "queries",
            "Open queries",
            "Data queries not closed: open (the site answers) or answered (the monitor "
            "closes or re-opens).",
            (
                "query",
                "patient",
                "site",
                "about",
                "field",
                "status",
                "opened",
                "days_open",
                "last_message",
            ),
            _queries,
            ("status",),
        ),
        Worklist(
            "sdv",
            "Awaiting source data verification",
            "Records not (or no longer) verified against their source documents.",
            ("patient", "site", "record", "type", "date"),
            _awaiting_sdv,
        ),
    )
}


def run(
    user: User,
    session: Session,
    name: str,
    filters: Filters,
    protocol: Protocol | None = None,
) -> list[dict]:
    """The rows of one worklist for the user's site (or every site), filtered."""
    require_role(session, user, READ_ROLES, "view worklists")
    check(session, user, name in WORKLISTS, "worklist", name, ", ".join(WORKLISTS))
    if filters.state is not None:
        check(
            session,
            user,
            filters.state in FORM_STATES,
            "state",
            filters.state,
            ", ".join(FORM_STATES),
        )
    if filters.status is not None:
        check(
            session,
            user,
            filters.status in QUERY_FILTERS,
            "status",
            filters.status,
            ", ".join(QUERY_FILTERS),
        )
    if filters.form is not None:
        check(session, user, filters.form in FORMS, "form", filters.form, ", ".join(FORMS))
    return WORKLISTS[name].rows(user, session, filters, protocol or protocol_on(session))


def counts(user: User, session: Session, protocol: Protocol | None = None) -> dict[str, int]:
    """How many rows each worklist has for the user (default filters)."""
    f = Filters()
    return {name: len(run(user, session, name, f, protocol)) for name in WORKLISTS}
