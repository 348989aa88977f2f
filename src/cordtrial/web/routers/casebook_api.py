"""The casebook and data management in the JSON API (/api/v1): casebooks, worklists (JSON or
CSV), data queries, source data verification, deviations, ISNCSCI double data entry, forms not
done, casebook and trial locks. The same store services and request models as the pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from cordtrial.casebook.plausibility import RULES
from cordtrial.store.models import DEVIATION_KINDS, DoubleEntry
from cordtrial.store.record_refs import RECORD_TYPES
from cordtrial.store.services import casebook as casebook_service
from cordtrial.store.services import data_queries, locks, sdv, worklists
from cordtrial.store.services import deviations as deviation_service
from cordtrial.store.services import double_entry as de_service
from cordtrial.store.services import patients as patient_service

from .. import layout
from ..accounts import acting_user
from ..casebook_schemas import (
    CasebookLockIn,
    DeviationCloseIn,
    DeviationIn,
    NotDoneIn,
    QueryAnswerIn,
    QueryMessageIn,
    QueryOpenApiIn,
    ReasonIn,
    ReconcileIn,
    TrialLockIn,
)
from ..casebook_view import actor
from ..deps import Idempotent, current_principal, require, unit_of_work
from ..exports import to_csv
from ..idempotency import respond
from ..principal import Principal
from .api import WRITE_ERRORS, AssessmentMeta, Code
from .data_management import deviation_row, worklist_filters
from .isncsci import ERRORS, RhiExam

router = APIRouter(prefix="/api/v1", responses=ERRORS)
Who = Annotated[Principal, Depends(current_principal)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Table = Annotated[str, Path(max_length=64, description=", ".join(RECORD_TYPES))]


# -- casebook --------------------------------------------------------------------------------


class CellOut(BaseModel):
    form: str
    visit: str | None
    state: str
    status: str
    statuses: list[str]
    records: list[dict[str, Any]]
    window: dict[str, date] | None
    not_done_reason: str | None
    not_expected_reason: str | None
    double_entry: str | None
    open_queries: int
    next_action: str | None


class VisitOut(BaseModel):
    visit: str
    state: str
    window: dict[str, date] | None
    cells: list[CellOut]


class CasebookOut(BaseModel):
    patient: str
    locked: bool
    lock: dict[str, Any] | None
    open_queries: int
    verified_records: int
    records: int
    enrolment: list[CellOut]
    visits: list[VisitOut]


def _window(w) -> dict[str, date] | None:
    return None if w is None else {"target": w.target, "start": w.start, "end": w.end}


def _cell(cell, who: Principal) -> dict:
    step = cell.next_action(actor(who))
    return {
        "form": cell.form,
        "visit": cell.visit,
        "state": cell.state,
        "status": cell.status,
        "statuses": cell.statuses,
        "records": [
            {"table": r.table, "id": r.id, "date": r.on, "signed": r.signed, "verified": r.verified}
            for r in cell.records
        ],
        "window": _window(cell.window),
        "not_done_reason": cell.not_done_reason,
        "not_expected_reason": cell.not_expected_reason,
        "double_entry": cell.double_entry,
        "open_queries": cell.queries,
        "next_action": step.label if step else None,
    }


@router.get(
    "/patients/{code}/casebook",
    response_model=CasebookOut,
    tags=["Casebook"],
    summary="A patient's casebook: visits by forms, status and next action per cell",
    responses=WRITE_ERRORS,
)
def get_casebook(code: Code, request: Request, who: Who) -> dict:
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        p = patient_service.get_for(user, db, code)
        book = casebook_service.casebook_for(user, db, p)
        lock = locks.casebook_lock(db, p)
        verified, total = book.verified
        return {
            "patient": code,
            "locked": book.locked,
            "lock": None
            if lock is None
            else {"locked_at": lock.locked_at, "by": lock.signer_name, "meaning": lock.meaning},
            "open_queries": book.open_queries,
            "verified_records": verified,
            "records": total,
            "enrolment": [_cell(c, who) for c in book.enrolment],
            "visits": [
                {
                    "visit": row.code,
                    "state": row.state,
                    "window": _window(row.window),
                    "cells": [_cell(c, who) for c in row.cells.values()],
                }
                for row in book.visits
            ],
        }


@router.post(
    "/patients/{code}/casebook/not-done",
    status_code=201,
    tags=["Casebook"],
    summary="Mark a scheduled form not done, with the reason",
    responses=WRITE_ERRORS,
)
def not_done(code: Code, body: NotDoneIn, request: Request, who: Who, _: Idempotent) -> dict:
    require(who, "mark_not_done")
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        p = patient_service.get_for(user, db, code)
        row = casebook_service.mark_not_done(user, db, p, **body.model_dump())
        out = {"id": row.id, "visit_code": row.visit_code, "form": row.form, "reason": row.reason}
        return respond(request, db, out, 201)


def _lock_out(lock) -> dict:
    return {
        "id": lock.id,
        "locked_at": lock.locked_at,
        "signer": lock.signer_name,
        "meaning": getattr(lock, "meaning", None) or getattr(lock, "purpose", None),
        "content_hash": lock.content_hash,
        "unlocked_at": lock.unlocked_at,
        "unlock_reason": lock.unlock_reason,
    }


@router.post(
    "/patients/{code}/casebook/lock",
    tags=["Casebook"],
    summary="Sign off and lock the casebook (investigator, re-authenticated)",
    responses=WRITE_ERRORS,
)
def lock_casebook(
    code: Code, body: CasebookLockIn, request: Request, who: Who, _: Idempotent
) -> dict:
    require(who, "lock_casebook")
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        p = patient_service.get_for(user, db, code)
        lock = locks.lock_casebook(user, db, p, password=body.password)
        return respond(request, db, _lock_out(lock))


@router.post(
    "/patients/{code}/casebook/unlock",
    tags=["Casebook"],
    summary="Unlock the casebook, with the reason",
    responses=WRITE_ERRORS,
)
def unlock_casebook(code: Code, body: ReasonIn, request: Request, who: Who, _: Idempotent) -> dict:
    require(who, "unlock_casebook")
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        p = patient_service.get_for(user, db, code)
        return respond(
            request, db, _lock_out(locks.unlock_casebook(user, db, p, reason=body.reason))
        )


# -- the trial's data lock ---------------------------------------------------------------------


@router.get("/data-lock", tags=["Casebook"], summary="The trial's data lock, if any")
def get_data_lock(request: Request, who: Who) -> dict:
    with unit_of_work(request) as db:
        lock = locks.trial_lock(db)
        return {
            "locked": lock is not None,
            "statement": locks.lock_statement(db),
            "lock": None if lock is None else {**_lock_out(lock), "scope": lock.scope},
        }


@router.post(
    "/data-lock",
    tags=["Casebook"],
    summary="Lock the trial's data (sponsor-level administrator, re-authenticated)",
    responses=WRITE_ERRORS,
)
def lock_trial(body: TrialLockIn, request: Request, who: Who, _: Idempotent) -> dict:
    require(who, "lock_trial")
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        lock = locks.lock_trial(user, db, password=body.password, purpose=body.purpose)
        return respond(request, db, {**_lock_out(lock), "scope": lock.scope})


@router.post(
    "/data-lock/unlock",
    tags=["Casebook"],
    summary="Unlock the trial's data, with the reason",
    responses=WRITE_ERRORS,
)
def unlock_trial(body: ReasonIn, request: Request, who: Who, _: Idempotent) -> dict:
    require(who, "lock_trial")
    with unit_of_work(request) as db:
        lock = locks.unlock_trial(acting_user(db, who), db, reason=body.reason)
        return respond(request, db, {**_lock_out(lock), "scope": lock.scope})


# -- worklists ---------------------------------------------------------------------------------


@router.get(
    "/worklists",
    tags=["Worklists"],
    summary="The worklists and how many rows each has for you",
)
def list_worklists(request: Request, who: Who) -> list[dict]:
    with unit_of_work(request) as db:
        counts = worklists.counts(acting_user(db, who), db)
    return [
        {"name": w.name, "title": w.title, "description": w.description, "rows": counts[w.name]}
        for w in worklists.WORKLISTS.values()
    ]


@router.get(
    "/worklists/{name}",
    tags=["Worklists"],
    summary="One worklist's rows (JSON, or CSV with format=csv)",
    responses=WRITE_ERRORS,
)
def get_worklist(
    name: Literal[tuple(worklists.WORKLISTS)],  # type: ignore[valid-type]
    request: Request,
    who: Who,
    site: Annotated[str | None, Query(max_length=32, description="a site code")] = None,
    patient: Annotated[str | None, Query(max_length=32, description="a study code")] = None,
    state: Annotated[str | None, Query(max_length=16, description="forms: overdue or due")] = None,
    status: Annotated[
        str | None, Query(max_length=16, description="queries: unresolved, open, answered, closed")
    ] = None,
    form: Annotated[str | None, Query(max_length=32, description="a casebook form id")] = None,
    within: Annotated[int, Query(ge=0, le=3650, description="lots near expiry: days ahead")] = 30,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
):
    query = {k: v for k, v in request.query_params.items() if k != "format"}
    f = worklist_filters(query)
    with unit_of_work(request) as db:
        rows = worklists.run(acting_user(db, who), db, name, f)
    columns = worklists.WORKLISTS[name].columns
    plain = [{c: r[c] for c in columns} for r in rows]
    if format == "csv":
        return Response(
            to_csv(plain) or ",".join(columns) + "\r\n", media_type="text/csv; charset=utf-8"
        )
    return plain


@router.get("/sdv", tags=["Worklists"], summary="Source data verification per site and patient")
def sdv_coverage(request: Request, who: Who) -> dict:
    with unit_of_work(request) as db:
        per_site, per_patient = sdv.coverage(acting_user(db, who), db)

    def out(c):
        return {"name": c.name, "verified": c.verified, "records": c.total, "percent": c.percent}

    return {"sites": [out(c) for c in per_site], "patients": [out(c) for c in per_patient]}


@router.post(
    "/records/{table}/{record_id}/verify",
    status_code=201,
    tags=["Data queries and SDV"],
    summary="Mark a record verified against its source documents (monitor)",
    responses=WRITE_ERRORS,
)
def verify(table: Table, record_id: Id, request: Request, who: Who, _: Idempotent) -> dict:
    require(who, "verify_source")
    with unit_of_work(request) as db:
        mark = sdv.verify(acting_user(db, who), db, table, record_id)
        out = {
            "id": mark.id,
            "record_table": mark.record_table,
            "record_id": mark.record_id,
            "verified_at": mark.verified_at,
        }
        return respond(request, db, out, 201)


# -- data queries ------------------------------------------------------------------------------


class MessageOut(BaseModel):
    action: str
    text: str
    correction: bool
    author_id: int
    at: datetime


class QueryOut(BaseModel):
    id: int
    patient: str
    record_table: str
    record_id: int
    field: str | None
    about: str
    status: str
    opened_at: datetime
    messages: list[MessageOut]


def _query_out(db, q, code: str) -> dict:
    return {
        "id": q.id,
        "patient": code,
        "record_table": q.record_table,
        "record_id": q.record_id,
        "field": q.field,
        "about": data_queries.describe(db, q),
        "status": q.status,
        "opened_at": q.opened_at,
        "messages": [
            {
                "action": m.action,
                "text": m.text,
                "correction": m.correction,
                "author_id": m.author_id,
                "at": m.at,
            }
            for m in q.messages
        ],
    }


@router.get(
    "/queries",
    response_model=list[QueryOut],
    tags=["Data queries and SDV"],
    summary="Data queries you may see",
)
def list_queries(
    request: Request,
    who: Who,
    status: Annotated[Literal["unresolved", "open", "answered", "closed"] | None, Query()] = None,
) -> list[dict]:
    with unit_of_work(request) as db:
        rows = data_queries.list_for(acting_user(db, who), db, status=status)
        return [_query_out(db, q, p.study_code) for q, p in rows]


@router.get(
    "/queries/{query_id}",
    response_model=QueryOut,
    tags=["Data queries and SDV"],
    summary="One data query with its messages",
    responses=WRITE_ERRORS,
)
def get_query(query_id: Id, request: Request, who: Who) -> dict:
    with unit_of_work(request) as db:
        q, p = data_queries.get(acting_user(db, who), db, query_id)
        return _query_out(db, q, p.study_code)


@router.post(
    "/queries",
    response_model=QueryOut,
    status_code=201,
    tags=["Data queries and SDV"],
    summary="Open a query on a record or one of its fields (monitor, data manager)",
    responses=WRITE_ERRORS,
)
def open_query(body: QueryOpenApiIn, request: Request, who: Who, _: Idempotent) -> dict:
    require(who, "open_query")
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        q = data_queries.open_query(
            user,
            db,
            table=body.record_table,
            record_id=body.record_id,
            field=body.field,
            text=body.text,
        )
        _, p = data_queries.get(user, db, q.id)
        return respond(request, db, _query_out(db, q, p.study_code), 201)


def _query_step(request: Request, who: Who, query_id: int, step, **kw) -> dict:
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        q, p = data_queries.get(user, db, query_id)
        step(user, db, q, **kw)
        db.refresh(q)
        return respond(request, db, _query_out(db, q, p.study_code))


@router.post(
    "/queries/{query_id}/answer",
    response_model=QueryOut,
    tags=["Data queries and SDV"],
    summary="Answer a query (the site): with a correction made, or an explanation",
    responses=WRITE_ERRORS,
)
def answer_query(
    query_id: Id, body: QueryAnswerIn, request: Request, who: Who, _: Idempotent
) -> dict:
    require(who, "answer_query")
    return _query_step(request, who, query_id, data_queries.answer, **body.model_dump())


@router.post(
    "/queries/{query_id}/close",
    response_model=QueryOut,
    tags=["Data queries and SDV"],
    summary="Close a query (monitor)",
    responses=WRITE_ERRORS,
)
def close_query(
    query_id: Id, body: QueryMessageIn, request: Request, who: Who, _: Idempotent
) -> dict:
    require(who, "open_query")
    return _query_step(request, who, query_id, data_queries.close, text=body.text)


@router.post(
    "/queries/{query_id}/reopen",
    response_model=QueryOut,
    tags=["Data queries and SDV"],
    summary="Re-open a query (monitor)",
    responses=WRITE_ERRORS,
)
def reopen_query(
    query_id: Id, body: QueryMessageIn, request: Request, who: Who, _: Idempotent
) -> dict:
    require(who, "open_query")
    return _query_step(request, who, query_id, data_queries.reopen, text=body.text)


# -- deviations --------------------------------------------------------------------------------


@router.get("/deviations", tags=["Deviations"], summary="Protocol deviations you may see")
def list_deviations(
    request: Request,
    who: Who,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    kind: Annotated[Literal[DEVIATION_KINDS] | None, Query()] = None,  # type: ignore[valid-type]
) -> list[dict]:
    with unit_of_work(request) as db:
        rows = deviation_service.list_for(acting_user(db, who), db, status=status, kind=kind)
        return [deviation_row(d, p) for d, p in rows]


@router.get(
    "/deviations/{deviation_id}",
    tags=["Deviations"],
    summary="One protocol deviation",
    responses=WRITE_ERRORS,
)
def get_deviation(deviation_id: Id, request: Request, who: Who) -> dict:
    with unit_of_work(request) as db:
        d, p = deviation_service.get(acting_user(db, who), db, deviation_id)
        return deviation_row(d, p)


@router.post(
    "/patients/{code}/deviations",
    status_code=201,
    tags=["Deviations"],
    summary="Report a protocol deviation",
    responses=WRITE_ERRORS,
)
def report_deviation(
    code: Code, body: DeviationIn, request: Request, who: Who, _: Idempotent
) -> dict:
    require(who, "report_deviation")
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        p = patient_service.get_for(user, db, code)
        d = deviation_service.report(user, db, p, **body.model_dump())
        return respond(request, db, deviation_row(d, p), 201)


@router.post(
    "/deviations/{deviation_id}/close",
    tags=["Deviations"],
    summary="Close a protocol deviation with what was concluded",
    responses=WRITE_ERRORS,
)
def close_deviation(
    deviation_id: Id, body: DeviationCloseIn, request: Request, who: Who, _: Idempotent
) -> dict:
    require(who, "report_deviation")
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        d, p = deviation_service.get(user, db, deviation_id)
        deviation_service.close(user, db, d, resolution=body.resolution)
        return respond(request, db, deviation_row(d, p))


@router.post(
    "/deviations/{deviation_id}/reopen",
    tags=["Deviations"],
    summary="Re-open a protocol deviation, with the reason",
    responses=WRITE_ERRORS,
)
def reopen_deviation(
    deviation_id: Id, body: ReasonIn, request: Request, who: Who, _: Idempotent
) -> dict:
    require(who, "report_deviation")
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        d, p = deviation_service.get(user, db, deviation_id)
        deviation_service.reopen(user, db, d, reason=body.reason)
        return respond(request, db, deviation_row(d, p))


# -- double data entry -------------------------------------------------------------------------


class ExamEntryIn(AssessmentMeta):
    exam: RhiExam  # type: ignore[valid-type]


def _double_entry_out(db, user, de, code: str) -> dict:
    visible = de_service.may_see_values(user, de) and len(de.entries) == 2
    return {
        "id": de.id,
        "patient": code,
        "visit_code": de.visit_code,
        "status": de.status,
        "entries": [
            {"entry_number": e.entry_number, "entered_by_id": e.entered_by_id, "at": e.entered_at}
            for e in de.entries
        ],
        "discrepancies": [
            {"field": d.field, "entry1": d.first, "entry2": d.second}
            for d in de_service.compare(de, layout.ENTRY_ORDER)
        ]
        if visible
        else None,
        "assessment_id": de.assessment_id,
        "resolution": de.resolution,
    }


@router.post(
    "/patients/{code}/isncsci-entries",
    status_code=201,
    tags=["Assessments"],
    summary="Enter an ISNCSCI exam under double data entry (first or second entry)",
    responses=WRITE_ERRORS,
)
def enter_exam(code: Code, body: ExamEntryIn, request: Request, who: Who, _: Idempotent) -> dict:
    require(who, "enter_assessments")
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        p = patient_service.get_for(user, db, code)
        entry = de_service.enter_exam(
            user,
            db,
            p,
            visit_code=body.visit_code,
            assessed_on=body.assessed_on,
            rhi=body.exam.model_dump(exclude_none=True),
            assessor_name=body.assessor_name,
            blinded=body.blinded,
        )
        de = db.get(DoubleEntry, entry.double_entry_id)
        return respond(request, db, _double_entry_out(db, user, de, code), 201)


@router.get(
    "/double-entries/{de_id}",
    tags=["Assessments"],
    summary="A double entry: its status, and the discrepancies for whoever may see them",
    responses=WRITE_ERRORS,
)
def get_double_entry(de_id: Id, request: Request, who: Who) -> dict:
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        de, p = de_service.get(user, db, de_id)
        return _double_entry_out(db, user, de, p.study_code)


@router.post(
    "/double-entries/{de_id}/reconcile",
    tags=["Assessments"],
    summary="Reconcile the two entries (a third person): the chosen value of each discrepancy",
    responses=WRITE_ERRORS,
)
def reconcile(de_id: Id, body: ReconcileIn, request: Request, who: Who, _: Idempotent) -> dict:
    require(who, "enter_assessments")
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        de, p = de_service.get(user, db, de_id)
        row = de_service.reconcile(
            user,
            db,
            de,
            chosen=body.chosen,
            confirm=body.confirm,
            deviation_reason=body.deviation_reason,
        )
        out = _double_entry_out(db, user, de, p.study_code)
        out["classification"] = row.result
        return respond(request, db, out)


@router.get("/plausibility-rules", tags=["Casebook"], summary="The plausibility rules")
def plausibility_rules(who: Who) -> list[dict]:
    return [
        {"code": r.code, "action": r.action, "summary": r.summary, "source": r.source}
        for r in RULES.values()
    ]
