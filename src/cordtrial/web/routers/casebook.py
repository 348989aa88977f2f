"""The casebook of a patient (visits by forms, the steps of the cell chain, statuses and next
actions), its sign-off lock, forms not done; and the page of any trial record with its source
data verification, queries, confirmations and history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from cordtrial.casebook.forms import ENROLMENT_STEPS, FORMS, VISIT_FORMS
from cordtrial.store.models import AdverseEvent, DoubleEntry, Patient, User
from cordtrial.store.protocol_versions import protocol_on
from cordtrial.store.record_refs import field_names, patient_id_of, record_label
from cordtrial.store.services import casebook as casebook_service
from cordtrial.store.services import data_queries, locks, sdv
from cordtrial.store.services import deviations as deviation_service
from cordtrial.store.services import patients as patient_service
from cordtrial.store.services.plausibility import confirmations_for
from cordtrial.store.services.timing import site_today

from .. import casebook_view as view
from ..accounts import acting_user
from ..actions import act, form_of
from ..casebook_schemas import CasebookLockIn, DeviationIn, NotDoneIn, QueryOpenIn, ReasonIn
from ..deps import current_principal, require, unit_of_work
from ..principal import Principal
from ..queries import STAGE_LABELS, stage_of
from ..render import render

router = APIRouter(include_in_schema=False)
Who = Annotated[Principal, Depends(current_principal)]


def casebook_context(db, who: Principal, patient) -> dict:
    user = acting_user(db, who)
    book = casebook_service.casebook_for(user, db, patient)
    pending = {
        d.visit_code: d.id
        for d in db.scalars(
            select(DoubleEntry).where(
                DoubleEntry.patient_id == patient.id, DoubleEntry.status != "reconciled"
            )
        )
    }
    verified, total = book.verified
    protocol = protocol_on(db)
    devs = deviation_service.list_for(user, db, patient=patient)
    return dict(
        patient=patient,
        site_today=site_today(patient.site),
        stage=STAGE_LABELS[stage_of(db, patient)],
        book=book,
        visit_forms=VISIT_FORMS,
        steps=ENROLMENT_STEPS,
        forms=FORMS,
        view=view,
        pending=pending,
        lock=locks.casebook_lock(db, patient),
        trial_lock=locks.trial_lock(db),
        coverage=(verified, total),
        deviations=devs,
        open_deviations=sum(d.status == "open" for d, _ in devs),
        open_aes=[
            ae
            for ae in db.scalars(
                select(AdverseEvent).where(
                    AdverseEvent.patient_id == patient.id, AdverseEvent.resolution_date.is_(None)
                )
            )
        ],
        protocol=protocol,
        meaning=locks.MEANING,
        double_entry=protocol.double_data_entry,
    )


@router.get("/patients/{code}/casebook")
def casebook_page(code: str, request: Request, who: Who):
    with unit_of_work(request) as db:
        patient = patient_service.get_for(acting_user(db, who), db, code)
        return render(request, "casebook.html", **casebook_context(db, who, patient))


@router.post("/patients/{code}/casebook/not-done")
async def not_done(code: str, request: Request, who: Who):
    require(who, "mark_not_done")

    def do(db, user, body: NotDoneIn):
        patient = patient_service.get_for(user, db, code)
        casebook_service.mark_not_done(
            user, db, patient, visit_code=body.visit_code, form=body.form, reason=body.reason
        )

    form = await form_of(request)
    return act(request, who, f"/patients/{code}/casebook", NotDoneIn, form, do, "Marked not done.")


@router.post("/patients/{code}/casebook/lock")
async def lock_casebook(code: str, request: Request, who: Who):
    require(who, "lock_casebook")

    def do(db, user, body: CasebookLockIn):
        patient = patient_service.get_for(user, db, code)
        locks.lock_casebook(user, db, patient, password=body.password)

    form = await form_of(request)
    return act(
        request,
        who,
        f"/patients/{code}/casebook",
        CasebookLockIn,
        form,
        do,
        "Casebook signed off and locked.",
    )


@router.post("/patients/{code}/casebook/unlock")
async def unlock_casebook(code: str, request: Request, who: Who):
    require(who, "unlock_casebook")

    def do(db, user, body: ReasonIn):
        patient = patient_service.get_for(user, db, code)
        locks.unlock_casebook(user, db, patient, reason=body.reason)

    form = await form_of(request)
    return act(request, who, f"/patients/{code}/casebook", ReasonIn, form, do, "Casebook unlocked.")


@router.post("/patients/{code}/deviations/new")
async def report_deviation(code: str, request: Request, who: Who):
    require(who, "report_deviation")
    made = {}

    def do(db, user, body: DeviationIn):
        patient = patient_service.get_for(user, db, code)
        made["id"] = deviation_service.report(user, db, patient, **body.model_dump()).id

    form = await form_of(request)
    form = {k: v for k, v in form.items() if v.strip()}
    response = act(
        request,
        who,
        f"/patients/{code}/casebook",
        DeviationIn,
        form,
        do,
        "Protocol deviation recorded.",
    )
    if made:
        return RedirectResponse(f"/deviations/{made['id']}", status_code=303)
    return response


# -- any trial record ------------------------------------------------------------------------


def record_panel(db, who: Principal, table: str, record) -> dict:
    """What a record page shows beside the record: SDV, queries, confirmations, lock."""
    user = acting_user(db, who)
    patient = db.get(Patient, patient_id_of(db, record))
    marks = sdv.history(db, table, record.id)
    kind = getattr(record, "kind", None)
    confirmations = confirmations_for(db, record)
    return dict(
        dm_names=user_names(
            db, [m.verified_by_id for m in marks] + [c.confirmed_by_id for c in confirmations]
        ),
        dm_table=table,
        dm_record=record,
        dm_label=record_label(record),
        dm_mark=sdv.active_mark(db, table, record.id),
        dm_marks=marks,
        dm_queries=data_queries.list_for(user, db, table=table, record_id=record.id),
        dm_fields=[(f, view.field_label(table, kind, f)) for f in field_names(record)],
        dm_field_label=lambda f: view.field_label(table, kind, f),
        dm_confirmations=confirmations,
        dm_deviations=[
            d
            for d, _ in deviation_service.list_for(user, db, patient=patient)
            if d.record_table == table and d.record_id == record.id
        ],
        dm_locked=locks.casebook_lock(db, patient) is not None or locks.trial_lock(db) is not None,
        dm_lock_note=locks.lock_note_for(db, patient),
        dm_patient=patient,
    )


def user_names(db, ids) -> dict[int, str]:
    """Display names of the given users (for "verified by ..." and the like)."""
    ids = set(ids)
    if not ids:
        return {}
    return {u.id: u.display_name for u in db.scalars(select(User).where(User.id.in_(ids)))}


@router.post("/records/{table}/{record_id}/verify")
async def verify_record(table: str, record_id: int, request: Request, who: Who):
    require(who, "verify_source")
    await form_of(request)
    back = view.record_url(table, record_id)
    return act(
        request,
        who,
        back,
        None,
        {},
        lambda db, user, _: sdv.verify(user, db, table, record_id),
        "Verified against source.",
    )


@router.post("/records/{table}/{record_id}/queries")
async def open_query(table: str, record_id: int, request: Request, who: Who):
    require(who, "open_query")
    made = {}

    def do(db, user, body: QueryOpenIn):
        q = data_queries.open_query(
            user, db, table=table, record_id=record_id, field=body.field, text=body.text
        )
        made["id"] = q.id

    form = await form_of(request)
    form = {k: v for k, v in form.items() if v.strip()}
    response = act(
        request, who, view.record_url(table, record_id), QueryOpenIn, form, do, "Query opened."
    )
    if made:
        return RedirectResponse(f"/queries/{made['id']}", status_code=303)
    return response
