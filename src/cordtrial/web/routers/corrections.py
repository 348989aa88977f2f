"""Correcting a saved record, of any kind, with a reason (records.amend): the record's page
shows its fields, its signatures (valid or INVALID after a change) and its history from the
audit trail (old and new values, who, when, why); the API has the same operations."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel
from sqlalchemy import JSON, Boolean, Date, Text
from sqlalchemy.orm import Session as DbSession

from cordtrial.store import models as m
from cordtrial.store.record_refs import RECORD_TYPES, record_id_of
from cordtrial.store.refusals import Refusal
from cordtrial.store.services import locks, records
from cordtrial.store.services.timing import site_zone
from cordtrial.store.signatures import status as signature_status
from cordtrial.store.types import UTCDateTime

from ..accounts import acting_user
from ..audit_view import entries_for
from ..casebook_view import full_page
from ..deps import Idempotent, current_principal, require, unit_of_work
from ..errors import Forbidden, FormInvalid, NotFound
from ..form_views import FieldView, form_values, read_form
from ..forms import errors_from_refusal
from ..idempotency import respond
from ..principal import Principal
from ..render import flash, render
from ..trial_schemas import CorrectionIn
from ..trial_steps import record_out
from .casebook import record_panel
from .trial_api import RecordOut

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/records", tags=["Corrections"])
Who = Annotated[Principal, Depends(current_principal)]
Table = Annotated[
    str,
    Path(
        pattern=r"^[a-z_]{1,64}$",
        description="the record's table: " + ", ".join(sorted(records.MODELS_BY_TABLE)),
    ),
]
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TITLES = {
    "patients": "Patient",
    "patient_identities": "Identifying data",
    "injuries": "Injury",
    "eligibility": "Eligibility checklist",
    "consents": "Consent",
    "blood_draws": "Blood draw",
    "marrow_harvests": "Bone-marrow harvest",
    "lots": "Lot",
    "culture_passages": "Culture passage",
    "release_tests": "Release test",
    "custody_events": "Custody hand-over",
    "infusions": "Infusion",
    "adverse_events": "Adverse event",
    "assessments": "Exam or instrument",
}


def get_record(db: DbSession, who: Principal, table: str, record_id: int):
    """(record, patient) when the caller may see it; another site's is "not found"."""
    model = records.MODELS_BY_TABLE.get(table)
    if model is None:
        allowed = ", ".join(sorted(records.MODELS_BY_TABLE))
        raise FormInvalid(
            [{"field": "record_table", "value": table, "allowed": allowed}],
            f"record_table: {table!r} is not a kind of trial record; allowed: {allowed}",
        )
    record = db.get(model, record_id)
    if record is None:
        raise NotFound(f"no {table} record {record_id}")
    patient = records._patient_of(db, record)
    if not who.sees_site(patient.site_id):
        raise NotFound(f"no {table} record {record_id}")
    if model is m.PatientIdentity:
        require(who, "view_identity")
    return record, patient


def _text(column, value: Any, zone: ZoneInfo | None = None) -> str:
    """A stored value as the text a form shows (and reads back unchanged); a date-time in the
    site's time zone ``zone``, with its offset, as the site team reads its clocks."""
    if value is None:
        return ""
    if isinstance(value, datetime) and zone is not None:
        return value.astimezone(zone).isoformat(timespec="minutes")
    if isinstance(column.type, JSON):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _field(record, name: str, value: str, zone: ZoneInfo) -> FieldView:
    column = record.__table__.columns[name]
    kind = column.type
    if isinstance(kind, Boolean):
        return FieldView(name, name.replace("_", " "), "select", value, "true or false",
                         options=[("true", "yes"), ("false", "no")])  # fmt: skip
    if isinstance(kind, JSON | Text):
        hint = "JSON" if isinstance(kind, JSON) else "text"
        return FieldView(name, name.replace("_", " "), "textarea", value, hint)
    if isinstance(kind, UTCDateTime):
        hint = f"YYYY-MM-DDTHH:MM, the time in {zone.key}"
        return FieldView(name, name.replace("_", " "), "text", value, hint)
    if isinstance(kind, Date):
        return FieldView(name, name.replace("_", " "), "date", value, "YYYY-MM-DD")
    return FieldView(name, name.replace("_", " "), "text", value, "")


def _current(record, zone: ZoneInfo) -> dict[str, str]:
    return {
        name: _text(record.__table__.columns[name], getattr(record, name), zone)
        for name in records.amendable_fields(record)
    }


def _in_zone(record, changes: dict[str, str], zone: ZoneInfo) -> dict[str, str]:
    """Typed date-times without an offset are the site's wall-clock times: given the site's
    offset here, so the store (which reads a time without one as UTC) keeps the moment meant.
    Text that is no date-time is left for the store to refuse, naming the field."""
    out = dict(changes)
    for name, text in changes.items():
        if not isinstance(record.__table__.columns[name].type, UTCDateTime):
            continue
        try:
            typed = datetime.fromisoformat(text.strip())
        except ValueError:
            continue
        if typed.tzinfo is None:
            out[name] = typed.replace(tzinfo=zone).isoformat()
    return out


# Columns that are the database's keys, not what a person reads: the record's number is in the
# page's title and its patient in the heading.
KEY_COLUMNS = frozenset({"id", "patient_id"})


def _page(request, who, table, record_id, *, status_code=200, values=None, errors=None):
    """The record, its signatures, the correction form (for who may correct it), its source
    data verification, queries and confirmations (casebook.record_panel) and its history."""
    with unit_of_work(request) as db:
        record, patient = get_record(db, who, table, record_id)
        panel = record_panel(db, who, table, record) if table in RECORD_TYPES else {}
        zone = site_zone(patient.site)
        current = _current(record, zone)
        shown = values or current
        history = []
        if who.can("view_audit"):
            history, _ = entries_for(db, who, table=table, record_id=str(record_id), limit=50)
        return render(
            request,
            "record.html",
            status_code=status_code,
            title=f"{TITLES.get(table, table)} {record_id}",
            kind=TITLES.get(table, table.replace("_", " ")).lower(),
            table=table,
            record=record,
            patient=patient,
            data=out_rows(record, zone),
            zone=zone.key,
            fields=[_field(record, n, shown.get(n, ""), zone) for n in current],
            reason=(values or {}).get("reason", ""),
            can_correct=records.may_amend(who.role, table),
            lock_note=locks.lock_note_for(db, patient),
            signatures=signature_status(db, records.signed_parent(db, record)),
            history=history,
            errors=errors or {},
            full_page=full_page(table, record),
            **panel,
        )


def out_rows(record, zone: ZoneInfo | None = None) -> list[tuple[str, str]]:
    """The record's fields as a person reads them: words for names, the site's time zone for
    date-times, the database keys left out."""
    hidden = m.secret_columns(record.__table__) | KEY_COLUMNS
    return [
        (c.name.replace("_", " "), _text(c, getattr(record, c.name), zone))
        for c in record.__table__.columns
        if c.name not in hidden
    ]


@router.get("/records/{table}/{record_id}")
def record_page(table: str, record_id: int, request: Request, who: Who):
    if table == "assessments":  # its own page: result, worksheet, and its correction form
        return RedirectResponse(f"/assessments/{record_id}", status_code=303)
    return _page(request, who, table, record_id)


@router.post("/records/{table}/{record_id}")
async def correct_page(table: str, record_id: int, request: Request, who: Who):
    if not records.may_amend(who.role, table):
        kind = TITLES.get(table, table.replace("_", " ")).lower()
        raise Forbidden(
            f"your role ({who.role_label}) may not correct records of this kind ({kind})"
        )
    form = form_values(await request.form())
    with unit_of_work(request) as db:
        record, patient = get_record(db, who, table, record_id)
        zone = site_zone(patient.site)
        current = _current(record, zone)
        # a field the form did not send is unchanged
        changes = {k: str(form[k]) for k in current if k in form and str(form[k]) != current[k]}
        changes = _in_zone(record, changes, zone)
    body, errors = read_form(CorrectionIn, {"reason": form.get("reason", "")}, changes=changes)
    if not changes:
        errors = {"_form": "no field differs from the saved record: nothing to correct"}
    elif body is not None:
        try:
            with unit_of_work(request) as db:
                record, _ = get_record(db, who, table, record_id)
                records.amend(acting_user(db, who), db, record, body.changes, body.reason)
        except Refusal as exc:
            if exc.code in ("role_not_allowed", "other_site", "not_found"):
                raise
            errors = errors_from_refusal(exc)
    if errors:
        return _page(request, who, table, record_id, status_code=422, values=form, errors=errors)
    flash(
        request, "ok", f"Corrected: {', '.join(sorted(changes))}. The reason is in the audit trail."
    )
    return RedirectResponse(f"/records/{table}/{record_id}", status_code=303)


# -- API -------------------------------------------------------------------------------------------


class HistoryOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    changes: dict[str, Any]
    reason: str | None


class RecordDetailOut(RecordOut):
    correctable_fields: list[str]
    history: list[HistoryOut]


def _detail(db, who: Principal, record, patient) -> dict:
    out = record_out(db, record, patient)
    out["signatures"] = [
        {
            "signer": s.signature.signer_name,
            "meaning": s.signature.meaning,
            "signed_at": s.signature.signed_at,
            "valid": s.valid,
        }
        for s in signature_status(db, records.signed_parent(db, record))
    ]
    out["correctable_fields"] = list(records.amendable_fields(record))
    history = []
    if who.can("view_audit"):
        history, _ = entries_for(
            db, who, table=record.__tablename__, record_id=str(record_id_of(record)), limit=100
        )
    out["history"] = history
    return out


@api.get(
    "/{table}/{record_id}",
    response_model=RecordDetailOut,
    summary="A saved record with its signatures and history (audit trail)",
    responses={404: {"description": "No such record (or not at your site)"}},
)
def api_record(table: Table, record_id: RecordId, request: Request, who: Who) -> dict:
    with unit_of_work(request) as db:
        record, patient = get_record(db, who, table, record_id)
        return _detail(db, who, record, patient)


@api.post(
    "/{table}/{record_id}/corrections",
    response_model=RecordDetailOut,
    summary="Correct a saved record (fields and a mandatory reason; signatures over it become "
    "invalid)",
    responses={
        404: {"description": "No such record (or not at your site)"},
        409: {"description": "A domain rule refused the correction (`code` names it)"},
    },
)
def api_correct(
    table: Table,
    record_id: RecordId,
    body: CorrectionIn,
    request: Request,
    who: Who,
    _: Idempotent,
) -> dict:
    with unit_of_work(request) as db:
        record, patient = get_record(db, who, table, record_id)
        records.amend(acting_user(db, who), db, record, body.changes, body.reason)
        return respond(request, db, _detail(db, who, record, patient))
