"""Pages of data management across patients: a data query and its conversation, the
worklists (filterable, CSV), protocol deviations (list, page, CSV), a double entry and its
reconciliation, and the trial's data lock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from cordtrial.casebook.forms import FORMS
from cordtrial.store.models import DEVIATION_KINDS, CasebookLock, DataLock, Patient, Site
from cordtrial.store.record_refs import model_for, record_label
from cordtrial.store.refusals import Refusal
from cordtrial.store.services import data_queries, locks, records, sdv, worklists
from cordtrial.store.services import deviations as deviation_service
from cordtrial.store.services import double_entry as de_service

from .. import casebook_view as view
from .. import layout
from ..accounts import acting_user
from ..actions import PAGE_ERRORS, act, form_of
from ..casebook_schemas import (
    DeviationCloseIn,
    QueryAnswerIn,
    QueryMessageIn,
    ReasonIn,
    TrialLockIn,
)
from ..deps import current_principal, require, unit_of_work
from ..errors import FormInvalid, NotFound
from ..exports import to_csv
from ..forms import errors_from_refusal, pydantic_error
from ..principal import Principal
from ..render import flash, render
from .casebook import user_names

router = APIRouter(include_in_schema=False)
Who = Annotated[Principal, Depends(current_principal)]


# -- data queries ------------------------------------------------------------------------------


@router.get("/queries/{query_id}")
def query_page(query_id: int, request: Request, who: Who):
    with unit_of_work(request) as db:
        q, patient = data_queries.get(acting_user(db, who), db, query_id)
        record = db.get(model_for(q.record_table), q.record_id)
        return render(
            request,
            "query.html",
            q=q,
            patient=patient,
            about=record_label(record),
            field=view.field_label(q.record_table, getattr(record, "kind", None), q.field),
            record_url=view.record_url(q.record_table, q.record_id),
            correct_url=_correct_url(who, q.record_table, q.record_id),
            locked=locks.casebook_lock(db, patient) is not None,
            names=user_names(db, [m.author_id for m in q.messages]),
        )


def _correct_url(who: Principal, table: str, record_id: int) -> str | None:
    """Where the caller corrects the record a query is about (None: their role may not)."""
    if not records.may_amend(who.role, table):
        return None
    if table == "assessments":  # its own page: the worksheet
        return f"/assessments/{record_id}/correct"
    return f"/records/{table}/{record_id}"


def _query_step(request, who, query_id, model, form, step, done):
    def do(db, user, body):
        q, _ = data_queries.get(user, db, query_id)
        step(user, db, q, **body.model_dump())

    return act(request, who, f"/queries/{query_id}", model, form, do, done)


@router.post("/queries/{query_id}/answer")
async def answer_query(query_id: int, request: Request, who: Who):
    require(who, "answer_query")
    form = await form_of(request)
    return _query_step(
        request, who, query_id, QueryAnswerIn, form, data_queries.answer, "Answer sent."
    )


@router.post("/queries/{query_id}/close")
async def close_query(query_id: int, request: Request, who: Who):
    require(who, "open_query")
    form = await form_of(request)
    return _query_step(
        request, who, query_id, QueryMessageIn, form, data_queries.close, "Query closed."
    )


@router.post("/queries/{query_id}/reopen")
async def reopen_query(query_id: int, request: Request, who: Who):
    require(who, "open_query")
    form = await form_of(request)
    return _query_step(
        request, who, query_id, QueryMessageIn, form, data_queries.reopen, "Query re-opened."
    )


# -- worklists ---------------------------------------------------------------------------------


class WorklistQuery(BaseModel):
    """The filters of a worklist (query string)."""

    model_config = ConfigDict(extra="forbid")

    site: str | None = Field(None, max_length=32, description="a site code")
    patient: str | None = Field(None, max_length=32, description="a study code")
    state: str | None = Field(None, max_length=16, description="overdue or due")
    status: str | None = Field(
        None, max_length=16, description="unresolved, open, answered or closed"
    )
    form: str | None = Field(None, max_length=32, description="a casebook form id")
    within: int = Field(30, ge=0, le=3650, description="days ahead, 0-3650")


def worklist_filters(query: dict[str, str]) -> worklists.Filters:
    query = {k: v for k, v in query.items() if v.strip()}
    try:
        q = WorklistQuery.model_validate(query)
    except ValidationError as exc:
        raise FormInvalid([pydantic_error(e, WorklistQuery) for e in exc.errors()]) from None
    return worklists.Filters(**q.model_dump())


def _sites_and_patients(db, who: Principal):
    pq = select(Patient).order_by(Patient.study_code)
    if who.site_id is not None:
        pq = pq.where(Patient.site_id == who.site_id)
    sites = [] if who.site_id is not None else list(db.scalars(select(Site).order_by(Site.code)))
    return sites, list(db.scalars(pq))


@router.get("/worklists")
def worklists_page(request: Request, who: Who):
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        per_site, per_patient = sdv.coverage(user, db)
        return render(
            request,
            "worklists.html",
            lists=worklists.WORKLISTS,
            counts=worklists.counts(user, db),
            per_site=per_site,
            per_patient=per_patient,
        )


def _run(request, who, name: str):
    if name not in worklists.WORKLISTS:
        raise NotFound(f"no worklist {name!r}; there are: {', '.join(worklists.WORKLISTS)}")
    filters = worklist_filters(dict(request.query_params))
    with unit_of_work(request) as db:
        rows = worklists.run(acting_user(db, who), db, name, filters)
        sites, patients = _sites_and_patients(db, who)
    return filters, rows, sites, patients


@router.get("/worklists/{name}.csv")
def worklist_csv(name: str, request: Request, who: Who):
    _, rows, _, _ = _run(request, who, name)
    columns = worklists.WORKLISTS[name].columns
    body = to_csv({c: r[c] for c in columns} for r in rows)
    if not body:
        body = ",".join(columns) + "\r\n"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="cordtrial-worklist-{name}.csv"'},
    )


@router.get("/worklists/{name}")
def worklist_page(name: str, request: Request, who: Who):
    filters, rows, sites, patients = _run(request, who, name)
    return render(
        request,
        "worklist.html",
        wl=worklists.WORKLISTS[name],
        rows=rows,
        links=[view.row_link(name, r) for r in rows],
        filters=filters,
        query=request.url.query,
        sites=sites,
        patients=patients,
        forms=FORMS,
        form_states=worklists.FORM_STATES,
        field_label=view.field_label,
        query_filters=worklists.QUERY_FILTERS,
    )


# -- deviations --------------------------------------------------------------------------------


class DeviationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(None, max_length=16, description="open or closed")
    kind: str | None = Field(None, max_length=32, description=", ".join(DEVIATION_KINDS))
    patient: str | None = Field(None, max_length=32, description="a study code")


def _deviations(request, who):
    query = {k: v for k, v in request.query_params.items() if v.strip()}
    try:
        f = DeviationQuery.model_validate(query)
    except ValidationError as exc:
        raise FormInvalid([pydantic_error(e, DeviationQuery) for e in exc.errors()]) from None
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        rows = deviation_service.list_for(user, db, status=f.status, kind=f.kind)
        if f.patient:
            rows = [(d, p) for d, p in rows if p.study_code == f.patient]
        return f, [deviation_row(d, p) for d, p in rows], _sites_and_patients(db, who)[1]


DEVIATION_COLUMNS = (
    "id",
    "patient",
    "site",
    "kind",
    "visit",
    "description",
    "days_outside",
    "reason",
    "status",
    "reported_at",
    "resolution",
)


def deviation_row(d, p) -> dict:
    return {
        "id": d.id,
        "patient": p.study_code,
        "site": p.site.code,
        "kind": d.kind,
        "visit": d.visit_code or "",
        "description": d.description,
        "days_outside": "" if d.days_outside is None else d.days_outside,
        # the record the deviation was found on (an exam out of window, a blood draw), if any
        "record_table": d.record_table or "",
        "record_id": "" if d.record_id is None else d.record_id,
        "reason": d.reason,
        "status": d.status,
        "reported_at": d.reported_at.strftime("%Y-%m-%d %H:%M"),
        "resolution": d.resolution or "",
    }


@router.get("/deviations")
def deviations_page(request: Request, who: Who):
    f, rows, patients = _deviations(request, who)
    return render(
        request,
        "deviations.html",
        rows=rows,
        filters=f,
        kinds=DEVIATION_KINDS,
        kind_labels=deviation_service.KIND_LABELS,
        patients=patients,
        query=request.url.query,
    )


@router.get("/deviations.csv")
def deviations_csv(request: Request, who: Who):
    _, rows, _ = _deviations(request, who)
    body = to_csv(rows, DEVIATION_COLUMNS)  # with no deviation, the header line
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="cordtrial-deviations.csv"'},
    )


@router.get("/deviations/{deviation_id}")
def deviation_page(deviation_id: int, request: Request, who: Who):
    with unit_of_work(request) as db:
        dev, patient = deviation_service.get(acting_user(db, who), db, deviation_id)
        record = None
        if dev.record_table:
            record = db.get(model_for(dev.record_table), dev.record_id)
        return render(
            request,
            "deviation.html",
            d=dev,
            patient=patient,
            kind_labels=deviation_service.KIND_LABELS,
            record_url=view.record_url(dev.record_table, dev.record_id) if record else None,
        )


@router.post("/deviations/{deviation_id}/close")
async def close_deviation(deviation_id: int, request: Request, who: Who):
    require(who, "report_deviation")

    def do(db, user, body: DeviationCloseIn):
        dev, _ = deviation_service.get(user, db, deviation_id)
        deviation_service.close(user, db, dev, resolution=body.resolution)

    form = await form_of(request)
    back = f"/deviations/{deviation_id}"
    return act(request, who, back, DeviationCloseIn, form, do, "Deviation closed.")


@router.post("/deviations/{deviation_id}/reopen")
async def reopen_deviation(deviation_id: int, request: Request, who: Who):
    require(who, "report_deviation")

    def do(db, user, body: ReasonIn):
        dev, _ = deviation_service.get(user, db, deviation_id)
        deviation_service.reopen(user, db, dev, reason=body.reason)

    form = await form_of(request)
    back = f"/deviations/{deviation_id}"
    return act(request, who, back, ReasonIn, form, do, "Deviation re-opened.")


# -- double data entry -------------------------------------------------------------------------


def double_entry_context(db, who, de, patient, **extra) -> dict:
    user = acting_user(db, who)
    visible = de_service.may_see_values(user, de) and len(de.entries) == 2
    found = de_service.compare(de, layout.ENTRY_ORDER) if visible else []
    return dict(
        de=de,
        patient=patient,
        visible=visible,
        discrepancies=found,
        label=view.cell_label,
        differing={d.field for d in found},
        entries=[de_service.values_of(e) for e in de.entries] if visible else [],
        is_entrant=user.id in {e.entered_by_id for e in de.entries},
        names=user_names(db, [e.entered_by_id for e in de.entries] + [de.resolved_by_id or 0]),
        L=layout,
        **extra,
    )


@router.get("/double-entries/{de_id}")
def double_entry_page(de_id: int, request: Request, who: Who):
    with unit_of_work(request) as db:
        de, patient = de_service.get(acting_user(db, who), db, de_id)
        return render(
            request, "double_entry.html", **double_entry_context(db, who, de, patient, chosen={})
        )


@router.post("/double-entries/{de_id}/reconcile")
async def reconcile(de_id: int, request: Request, who: Who):
    require(who, "enter_assessments")
    raw = await request.form()
    chosen = {}
    for key, value in raw.items():
        if key.startswith("choice_"):
            field = key[len("choice_") :]
            chosen[field] = (
                str(raw.get(f"other_{field}", "")).strip() if value == "__other__" else str(value)
            )
    confirm = [str(v) for v in raw.getlist("confirm")]
    reason = str(raw.get("deviation_reason", "")).strip() or None
    errors: dict[str, str] = {}
    warnings: list[dict] = []
    assessment_id = None
    try:
        with unit_of_work(request) as db:
            user = acting_user(db, who)
            de, _ = de_service.get(user, db, de_id)
            row = de_service.reconcile(
                user, db, de, chosen=chosen, confirm=confirm, deviation_reason=reason
            )
            assessment_id = row.id
    except Refusal as exc:
        if exc.code in PAGE_ERRORS:
            raise
        if exc.code == "confirmation_required":
            warnings = view.warnings_view(exc.context.get("warnings", []))
        else:
            errors = errors_from_refusal(exc)
    if assessment_id is None:
        with unit_of_work(request) as db:
            de, patient = de_service.get(acting_user(db, who), db, de_id)
            return render(
                request,
                "double_entry.html",
                status_code=422,
                **double_entry_context(
                    db,
                    who,
                    de,
                    patient,
                    chosen=chosen,
                    errors=errors,
                    warnings=warnings,
                    confirmed=confirm,
                    deviation_reason=reason or "",
                ),
            )
    flash(request, "ok", "Reconciled: the exam is stored and classified.")
    return RedirectResponse(f"/assessments/{assessment_id}", status_code=303)


# -- the trial's data lock ---------------------------------------------------------------------


@router.get("/data-lock")
def data_lock_page(request: Request, who: Who):
    require(who, "lock_trial")
    with unit_of_work(request) as db:
        patients = list(db.scalars(select(Patient).order_by(Patient.study_code)))
        locked = {
            lk.patient_id: lk
            for lk in db.scalars(select(CasebookLock).where(CasebookLock.unlocked_at.is_(None)))
        }
        return render(
            request,
            "data_lock.html",
            current=locks.trial_lock(db),
            history=list(db.scalars(select(DataLock).order_by(DataLock.id.desc()))),
            patients=patients,
            locked=locked,
            purpose=locks.TRIAL_PURPOSE,
            statement=locks.lock_statement(db),
            sponsor=who.site_id is None,
        )


@router.post("/data-lock/lock")
async def lock_trial(request: Request, who: Who):
    require(who, "lock_trial")
    form = await form_of(request)
    return act(
        request,
        who,
        "/data-lock",
        TrialLockIn,
        form,
        lambda db, user, body: locks.lock_trial(
            user, db, password=body.password, purpose=body.purpose
        ),
        "The trial's data are locked.",
    )


@router.post("/data-lock/unlock")
async def unlock_trial(request: Request, who: Who):
    require(who, "lock_trial")
    form = await form_of(request)
    return act(
        request,
        who,
        "/data-lock",
        ReasonIn,
        form,
        lambda db, user, body: locks.unlock_trial(user, db, reason=body.reason),
        "The trial's data are unlocked.",
    )
