"""API operations of a patient's start in the trial (issue 13): register, the steps of
web/trial_steps.py (one operation each, with the step's request model), identifying data, the lot
label. The pages are routers/trial.py; both go through the same step definitions.

(No ``from __future__ import annotations`` here: the operations are made per step, and
FastAPI reads each one's request model from its annotation.)
"""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

from cordtrial.store.services import patients as patient_service

from ..accounts import acting_user
from ..deps import Idempotent, current_principal, require, unit_of_work
from ..idempotency import respond
from ..principal import Principal
from ..trial_schemas import PatientIn
from ..trial_steps import STEPS, Step, record_out
from .api import (
    WRITE_ERRORS,
    Code,
    LotDetailOut,
    LotId,
    PatientOut,
    SignatureOut,
    _lot_detail,
    _patient_out,
)
from .trial import label_svg, register_patient

router = APIRouter(prefix="/api/v1", responses=WRITE_ERRORS)
Who = Annotated[Principal, Depends(current_principal)]


class VisitOut(BaseModel):
    code: str
    target_date: date
    window_start: date
    window_end: date


class RecordOut(BaseModel):
    table: str
    id: int
    patient: str
    protocol_version: int | None
    data: dict[str, Any]
    signatures: list[SignatureOut]
    notes: list[str]
    visits: list[VisitOut] | None = None  # for the patient's own record


class IdentityOut(BaseModel):
    patient: str
    # Corrected as /api/v1/records/patient_identities/{record_id}/corrections (None: not stored)
    record_id: int | None
    full_name: str | None
    date_of_birth: date | None
    hospital_number: str | None


@router.post(
    "/patients",
    response_model=PatientOut,
    status_code=201,
    tags=["Patients"],
    summary="Register a patient (pseudonymous study code; identifying data kept apart)",
)
def create_patient(body: PatientIn, request: Request, who: Who, _: Idempotent) -> dict:
    require(who, "register_patient")
    with unit_of_work(request) as db:
        patient = register_patient(db, who, body)
        db.refresh(patient)
        return respond(request, db, _patient_out(db, patient), 201)


@router.get(
    "/patients/{code}/identity",
    response_model=IdentityOut,
    tags=["Patients"],
    summary="A patient's identifying data (investigators and admins of the site)",
)
def patient_identity(code: Code, request: Request, who: Who) -> dict:
    require(who, "view_identity")
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        patient = patient_service.get_for(user, db, code)
        row = patient_service.identity_for(user, db, patient)
        return {
            "patient": code,
            "record_id": row.patient_id if row else None,
            "full_name": row.full_name if row else None,
            "date_of_birth": row.date_of_birth if row else None,
            "hospital_number": row.hospital_number if row else None,
        }


def _operation(step: Step):
    model = step.model

    def operation(code: Code, body: model, request: Request, who: Who, _: Idempotent) -> dict:  # type: ignore[valid-type]
        require(who, step.permission)
        with unit_of_work(request) as db:
            user = acting_user(db, who)
            patient = patient_service.get_for(user, db, code)
            record = step.apply(db, user, patient, body)
            if step.slug == "lot":
                db.refresh(record)
                out = _lot_detail(db, record)
            else:
                out = record_out(db, record, patient)
            return respond(request, db, out, 201)

    operation.__name__ = f"record_{step.slug.replace('-', '_')}"
    return operation


for _step in STEPS.values():
    router.add_api_route(
        f"/patients/{{code}}/{_step.api}",
        _operation(_step),
        methods=["POST"],
        status_code=201,
        response_model=LotDetailOut if _step.slug == "lot" else RecordOut,
        tags=["Cell product"] if _step.slug == "lot" else ["Patients"],
        summary=_step.title,
        description=_step.intro or None,
    )


@router.get(
    "/lots/{lot_id}/label",
    tags=["Cell product"],
    summary="The lot's printable label (SVG, 100 x 50 mm, QR code of the lot number)",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "The label"}},
)
def lot_label(lot_id: LotId, request: Request, who: Who) -> Response:
    require(who, "view_lots")
    with unit_of_work(request) as db:
        svg = label_svg(db, who, lot_id)
    return Response(svg, media_type="image/svg+xml")
