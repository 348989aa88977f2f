"""The versioned JSON API (/api/v1): the same operations as the pages, through the same store
services, for scripts and other systems. Authentication: session cookie (+ X-CSRF-Token on
writes) or HTTP Basic. Errors: 401, 403 (role, site, CSRF), 404, 409 (a domain rule refused:
`code` says which), 422 (`errors: [{field, value, allowed}]`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import select

from cordtrial.instruments import INSTRUMENTS, json_schema
from cordtrial.store.models import (
    AE_OUTCOMES,
    RELATEDNESS,
    VISIT_CODES,
    Assessment,
    Lot,
    Patient,
    User,
)
from cordtrial.store.protocol_versions import protocol_of
from cordtrial.store.services import adverse_events as ae_service
from cordtrial.store.services import assessments as assessment_service
from cordtrial.store.services import double_entry, manufacturing
from cordtrial.store.services import infusions as infusion_service
from cordtrial.store.services import patients as patient_service
from cordtrial.store.services.timing import site_today
from cordtrial.store.signatures import status as signature_status

from ..accounts import acting_user
from ..audit_view import entries_for
from ..casebook_schemas import Confirmations, WarningCode
from ..deps import Idempotent, current_principal, require, unit_of_work
from ..errors import FormInvalid
from ..idempotency import respond
from ..principal import Principal
from ..queries import (
    STAGE_LABELS,
    get_lot,
    stage_of,
    stages_of,
    timeline,
    visible_adverse_events,
    visible_lots,
)
from ..schemas import PassageIn, Strict
from .isncsci import ERRORS, RhiExam
from .lots import release_checklist

router = APIRouter(prefix="/api/v1", responses=ERRORS)
Who = Annotated[Principal, Depends(current_principal)]
# The store's pseudonymous study-code format (cordtrial.store.services.patients.STUDY_CODE).
Code = Annotated[
    str,
    Path(
        pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$", description="Patient study code", examples=["SAP-001"]
    ),
]
LotId = Annotated[int, Path(ge=1, le=2**31 - 1)]
WRITE_ERRORS = {
    404: {"description": "No such record (or not at your site)"},
    409: {"description": "A domain rule refused the action (`code` names the rule)"},
}

VisitCode = Literal[VISIT_CODES]  # type: ignore[valid-type]
Relatedness = Literal[RELATEDNESS]  # type: ignore[valid-type]
Outcome = Literal[AE_OUTCOMES]  # type: ignore[valid-type]


# -- who am I -----------------------------------------------------------------------------------


class MeOut(BaseModel):
    username: str
    full_name: str
    role: str
    site: str | None
    permissions: list[str]


@router.get("/me", response_model=MeOut, tags=["Accounts"], summary="The caller's account")
def me(who: Who) -> dict:
    from ..principal import PERMISSIONS

    return {
        "username": who.username,
        "full_name": who.full_name,
        "role": who.role,
        "site": who.site_code,
        "permissions": sorted(a for a in PERMISSIONS if who.can(a)),
    }


# -- patients -----------------------------------------------------------------------------------


class PatientOut(BaseModel):
    study_code: str
    site: str
    sex: str | None
    age_at_injury: int
    status: str
    stage: str
    injury_date: date | None
    injury_level: str | None
    synthetic: bool


class EventOut(BaseModel):
    on: date
    kind: str
    title: str
    detail: str
    badges: list[str]


class PatientDetailOut(PatientOut):
    timeline: list[EventOut]


def _patient_out(db, p: Patient, stage: str | None = None) -> dict:
    return {
        "study_code": p.study_code,
        "site": p.site.code,
        "sex": p.sex,
        "age_at_injury": p.age_at_injury,
        "status": p.status,
        "stage": STAGE_LABELS[stage or stage_of(db, p)],
        "injury_date": p.injury.injury_date if p.injury else None,
        "injury_level": p.injury.level if p.injury else None,
        "synthetic": p.synthetic,
    }


@router.get(
    "/patients", response_model=list[PatientOut], tags=["Patients"], summary="Patients you may see"
)
def list_patients(request: Request, who: Who) -> list[dict]:
    with unit_of_work(request) as db:
        patients = patient_service.list_for(acting_user(db, who), db)
        stages = stages_of(db, patients)
        return [_patient_out(db, p, stages[p.id]) for p in patients]


@router.get(
    "/patients/{code}",
    response_model=PatientDetailOut,
    tags=["Patients"],
    summary="One patient with the timeline",
    responses=WRITE_ERRORS,
)
def get_patient(code: Code, request: Request, who: Who) -> dict:
    with unit_of_work(request) as db:
        p = patient_service.get_for(acting_user(db, who), db, code)
        out = _patient_out(db, p)
        out["timeline"] = [
            {
                "on": e.on,
                "kind": e.kind,
                "title": e.title,
                "detail": e.detail,
                "badges": [b for b, _ in e.badges],
            }
            for e in timeline(db, p)
        ]
        return out


# -- assessments --------------------------------------------------------------------------------


class AssessmentOut(BaseModel):
    id: int
    patient: str
    kind: str
    visit_code: str
    assessed_on: date
    assessor_name: str
    blinded: bool
    data: dict[str, Any]
    result: dict[str, Any]
    engine_version: str | None
    comments: str | None = None
    flag_reasons: dict[str, str] | None = None


def _assessment_out(a: Assessment, code: str) -> dict:
    return {
        "id": a.id,
        "patient": code,
        "kind": a.kind,
        "visit_code": a.visit_code,
        "assessed_on": a.assessed_on,
        "assessor_name": a.assessor_name,
        "blinded": a.blinded,
        "data": a.data,
        "result": a.result,
        "engine_version": a.engine_version,
        "comments": a.comments,
        "flag_reasons": a.flag_reasons,
    }


class AssessmentMeta(Confirmations):
    visit_code: VisitCode
    assessed_on: date
    assessor_name: str = Field(min_length=1, max_length=200)
    blinded: bool


class IsncsciExamIn(AssessmentMeta):
    exam: RhiExam  # type: ignore[valid-type]
    comments: str | None = Field(
        default=None, max_length=2000, description="The examiner's comments (free text)."
    )
    flag_reasons: dict[str, str] | None = Field(
        default=None,
        description="Per cell flagged * or ** (RHI key, e.g. c5RightMotor): the non-SCI "
        "condition behind it (text, at most 200 characters).",
    )


ItemId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class InstrumentIn(AssessmentMeta):
    # The largest instrument has 19 items; 100 leaves room without letting one request carry
    # (and a refusal keep) thousands of keys.
    data: dict[ItemId, Any] = Field(
        max_length=100, description="Item id -> value, as in the instrument's schema"
    )


@router.get(
    "/patients/{code}/assessments",
    response_model=list[AssessmentOut],
    tags=["Assessments"],
    summary="A patient's exams and instrument records",
    responses=WRITE_ERRORS,
)
def list_assessments(
    code: Code,
    request: Request,
    who: Who,
    kind: Annotated[Literal["isncsci", "scim3", "wisci2", "nbd", "lutf"] | None, Query()] = None,
) -> list[dict]:
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        p = patient_service.get_for(user, db, code)
        return [_assessment_out(a, code) for a in assessment_service.for_patient(user, db, p, kind)]


@router.post(
    "/patients/{code}/isncsci-exams",
    response_model=AssessmentOut,
    status_code=201,
    tags=["Assessments"],
    summary="Record an ISNCSCI exam (classified by the engine)",
    responses=WRITE_ERRORS,
)
def create_exam(code: Code, body: IsncsciExamIn, request: Request, who: Who, _: Idempotent) -> dict:
    require(who, "enter_assessments")
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        p = patient_service.get_for(user, db, code)
        double_entry.refuse_single_entry(user, db)
        row = assessment_service.record_isncsci(
            user,
            db,
            p,
            visit_code=body.visit_code,
            assessed_on=body.assessed_on,
            rhi=body.exam.model_dump(exclude_none=True),
            assessor_name=body.assessor_name,
            blinded=body.blinded,
            comments=body.comments,
            flag_reasons=body.flag_reasons,
            confirm=body.confirm,
            deviation_reason=body.deviation_reason,
        )
        return respond(request, db, _assessment_out(row, code), 201)


@router.post(
    "/patients/{code}/instruments/{kind}",
    response_model=AssessmentOut,
    status_code=201,
    tags=["Assessments"],
    summary="Record an instrument (scored)",
    responses=WRITE_ERRORS,
)
def create_instrument(
    code: Code,
    kind: Literal["scim3", "wisci2", "nbd", "lutf"],
    body: InstrumentIn,
    request: Request,
    who: Who,
    _: Idempotent,
) -> dict:
    require(who, "enter_assessments")
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        p = patient_service.get_for(user, db, code)
        row = assessment_service.record_instrument(
            user,
            db,
            p,
            kind=kind,
            visit_code=body.visit_code,
            assessed_on=body.assessed_on,
            data=body.data,
            assessor_name=body.assessor_name,
            blinded=body.blinded,
            confirm=body.confirm,
            deviation_reason=body.deviation_reason,
        )
        return respond(request, db, _assessment_out(row, code), 201)


@router.get("/instruments", tags=["Instruments"], summary="Instrument ids and names")
def list_instruments(who: Who) -> list[dict[str, str]]:
    return [
        {"id": i.id, "name": i.name, "verification": str(i.verification)}
        for i in INSTRUMENTS.values()
    ]


@router.get(
    "/instruments/{kind}/schema",
    tags=["Instruments"],
    summary="JSON Schema of an instrument record",
    responses=WRITE_ERRORS,
)
def instrument_schema(kind: Literal["scim3", "wisci2", "nbd", "lutf"], who: Who) -> dict:
    return json_schema(INSTRUMENTS[kind])


# -- lots ---------------------------------------------------------------------------------------


class PassageOut(BaseModel):
    passage_number: int
    seeded_on: date
    harvested_on: date
    cells_seeded: float
    cells_harvested: float
    viability_pct: float
    population_doublings: float
    doubling_time_hours: float | None
    operator: str


class ChecklistOut(BaseModel):
    code: str
    name: str
    limit: str
    required: bool
    verified: bool
    state: Literal["pass", "fail", "missing"]
    value: float | None
    text_result: str | None


class SignatureOut(BaseModel):
    signer: str
    meaning: str
    signed_at: datetime
    valid: bool


class LotOut(BaseModel):
    id: int
    lot_number: str
    patient: str
    status: str
    culture_started_on: date
    cryopreserved_on: date | None
    expiry_date: date | None
    released_on: date | None
    protocol_version: int | None
    total_viable_cells: float | None
    cumulative_population_doublings: float


class LotDetailOut(LotOut):
    passages: list[PassageOut]
    release_checklist: list[ChecklistOut]
    signatures: list[SignatureOut]


def _lot_out(lot: Lot) -> dict:
    return {
        "id": lot.id,
        "lot_number": lot.lot_number,
        "patient": lot.patient.study_code,
        "status": lot.status,
        "culture_started_on": lot.culture_started_on,
        "cryopreserved_on": lot.cryopreserved_on,
        "expiry_date": lot.expiry_date,
        "released_on": lot.released_on,
        "protocol_version": lot.protocol_version,
        "total_viable_cells": lot.total_viable_cells,
        "cumulative_population_doublings": manufacturing.cumulative_population_doublings(lot),
    }


def _lot_detail(db, lot: Lot) -> dict:
    out = _lot_out(lot)
    out["passages"] = [
        {
            "passage_number": p.passage_number,
            "seeded_on": p.seeded_on,
            "harvested_on": p.harvested_on,
            "cells_seeded": p.cells_seeded,
            "cells_harvested": p.cells_harvested,
            "viability_pct": p.viability_pct,
            "population_doublings": p.population_doublings,
            "doubling_time_hours": p.doubling_time_hours,
            "operator": p.operator,
        }
        for p in lot.passages
    ]
    out["release_checklist"] = [
        {
            "code": r["spec"].code,
            "name": r["spec"].name,
            "limit": r["spec"].describe(),
            "required": r["spec"].required,
            "verified": r["spec"].verified,
            "state": r["state"],
            "value": r["test"].value if r["test"] else None,
            "text_result": r["test"].text_result if r["test"] else None,
        }
        for r in release_checklist(db, lot, protocol_of(db, lot))
    ]
    out["signatures"] = [
        {
            "signer": s.signature.signer_name,
            "meaning": s.signature.meaning,
            "signed_at": s.signature.signed_at,
            "valid": s.valid,
        }
        for s in signature_status(db, lot)
    ]
    return out


@router.get("/lots", response_model=list[LotOut], tags=["Cell product"], summary="Lots you may see")
def list_lots(request: Request, who: Who) -> list[dict]:
    require(who, "view_lots")
    with unit_of_work(request) as db:
        return [_lot_out(lot) for lot in visible_lots(db, who)]


@router.get(
    "/lots/{lot_id}",
    response_model=LotDetailOut,
    tags=["Cell product"],
    summary="A lot with passages, release checklist and signatures",
    responses=WRITE_ERRORS,
)
def get_lot_api(lot_id: LotId, request: Request, who: Who) -> dict:
    require(who, "view_lots")
    with unit_of_work(request) as db:
        return _lot_detail(db, get_lot(db, who, lot_id))


@router.post(
    "/lots/{lot_id}/passages",
    response_model=LotDetailOut,
    status_code=201,
    tags=["Cell product"],
    summary="Record a culture passage",
    responses=WRITE_ERRORS,
)
def add_passage(lot_id: LotId, body: PassageIn, request: Request, who: Who, _: Idempotent) -> dict:
    require(who, "edit_culture")
    with unit_of_work(request) as db:
        lot = get_lot(db, who, lot_id)
        manufacturing.record_passage(acting_user(db, who), db, lot, **body.model_dump())
        db.refresh(lot)
        return respond(request, db, _lot_detail(db, lot), 201)


class ReleaseTestIn(Strict):
    test_code: str = Field(min_length=1, max_length=64)
    method: str = Field(min_length=1, max_length=200)
    tested_on: date
    analyst: str = Field(min_length=1, max_length=200)
    value: float | None = None
    text_result: str | None = Field(default=None, max_length=200)


@router.post(
    "/lots/{lot_id}/release-tests",
    response_model=LotDetailOut,
    status_code=201,
    tags=["Cell product"],
    summary="Record a release test result",
    responses=WRITE_ERRORS,
)
def add_release_test(
    lot_id: LotId, body: ReleaseTestIn, request: Request, who: Who, _: Idempotent
) -> dict:
    require(who, "record_release_test")
    with unit_of_work(request) as db:
        lot = get_lot(db, who, lot_id)
        manufacturing.record_release_test(acting_user(db, who), db, lot, **body.model_dump())
        return respond(request, db, _lot_detail(db, lot), 201)


class ReleaseIn(Strict):
    password: str = Field(min_length=1, max_length=1024, description="Re-authentication")
    meaning: Literal["released for clinical use"] = Field(
        description="The meaning of the signature, stated by the signer"
    )
    released_on: date | None = Field(
        default=None,
        description="the day of the release decision, YYYY-MM-DD (default: today at the site; "
        "an earlier day when a paper batch record is entered later)",
    )


@router.post(
    "/lots/{lot_id}/release",
    response_model=LotDetailOut,
    tags=["Cell product"],
    summary="QA release with an electronic signature",
    responses=WRITE_ERRORS,
)
def release_lot(lot_id: LotId, body: ReleaseIn, request: Request, who: Who, _: Idempotent) -> dict:
    require(who, "release_lot")
    with unit_of_work(request) as db:
        lot = get_lot(db, who, lot_id)
        manufacturing.release_lot(
            acting_user(db, who),
            db,
            lot,
            password=body.password,
            today=site_today(lot.patient.site),
            released_on=body.released_on,
        )
        return respond(request, db, _lot_detail(db, lot))


# -- infusions ----------------------------------------------------------------------------------


class Vitals(Strict):
    before: dict[str, str | float]
    during: dict[str, str | float] | None = None
    after: dict[str, str | float]


class InfusionIn(Strict):
    wristband_code: str = Field(min_length=1, max_length=64)
    label_code: str = Field(min_length=1, max_length=64)
    infused_on: date
    weight_kg: float = Field(gt=0)
    weight_measured_on: date
    cells_total: float = Field(gt=0)
    product_volume_ml: float = Field(gt=0)
    diluent_volume_ml: float = Field(ge=0)
    rate_ml_per_min: float = Field(gt=0)
    started_at: datetime
    stopped_at: datetime
    thawed_at: datetime | None = None
    vitals: Vitals
    reaction: str | None = Field(default=None, max_length=2000)
    password: str = Field(min_length=1, max_length=1024)
    second_username: str = Field(min_length=1, max_length=64)
    second_password: str = Field(min_length=1, max_length=1024)


class InfusionOut(BaseModel):
    id: int
    patient: str
    lot_number: str
    infusion_number: int
    infused_on: date
    cells_total: float
    cells_per_kg: float
    dilution_factor: float
    signatures: list[SignatureOut]


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@router.post(
    "/patients/{code}/infusions",
    response_model=InfusionOut,
    status_code=201,
    tags=["Cell product"],
    summary="Record an infusion after the two-person chain-of-identity check",
    responses=WRITE_ERRORS,
)
def create_infusion(
    code: Code, body: InfusionIn, request: Request, who: Who, _: Idempotent
) -> dict:
    require(who, "infuse")
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        p = patient_service.get_for(user, db, code)
        lot = db.scalar(select(Lot).where(Lot.lot_number == body.label_code.strip()))
        if lot is None or not who.sees_site(lot.patient.site_id):
            raise FormInvalid(
                [
                    {
                        "field": "label_code",
                        "value": body.label_code,
                        "allowed": "the lot number on a product label at your site",
                    }
                ]
            )
        second = db.scalar(select(User).where(User.username == body.second_username))
        data = infusion_service.InfusionInput(
            infused_on=body.infused_on,
            weight_kg=body.weight_kg,
            weight_measured_on=body.weight_measured_on,
            cells_total=body.cells_total,
            product_volume_ml=body.product_volume_ml,
            diluent_volume_ml=body.diluent_volume_ml,
            rate_ml_per_min=body.rate_ml_per_min,
            started_at=_aware(body.started_at),
            stopped_at=_aware(body.stopped_at),
            vitals=body.vitals.model_dump(exclude_none=True),
            wristband_code=body.wristband_code,
            label_code=body.label_code,
            thawed_at=_aware(body.thawed_at),
            reaction=body.reaction,
        )
        row = infusion_service.record_infusion(
            user,
            db,
            p,
            lot,
            data,
            password=body.password,
            second_person=second,
            second_password=body.second_password,
            second_username=body.second_username,
        )
        out = {
            "id": row.id,
            "patient": code,
            "lot_number": lot.lot_number,
            "infusion_number": row.infusion_number,
            "infused_on": row.infused_on,
            "cells_total": row.cells_total,
            "cells_per_kg": row.cells_per_kg,
            "dilution_factor": row.dilution_factor,
            "signatures": [
                {
                    "signer": s.signature.signer_name,
                    "meaning": s.signature.meaning,
                    "signed_at": s.signature.signed_at,
                    "valid": s.valid,
                }
                for s in signature_status(db, row)
            ],
        }
        return respond(request, db, out, 201)


# -- adverse events -----------------------------------------------------------------------------


class AdverseEventIn(Strict):
    term: str = Field(min_length=1, max_length=200)
    grade: int = Field(ge=1, le=5)
    serious: bool
    onset_date: date
    grade_scale: Literal["CTCAE v5.0", "protocol"] = "CTCAE v5.0"
    related_product: Relatedness = "not related"
    related_harvest: Relatedness = "not related"
    related_blood_draw: Relatedness = "not related"
    related_infusion: Relatedness = "not related"
    expected: bool | None = None
    resolution_date: date | None = None
    outcome: Outcome | None = None
    confirm: list[WarningCode] = Field(  # type: ignore[valid-type]
        default=[], max_length=10, description="warnings confirmed, e.g. ae_before_consent"
    )


class AdverseEventOut(BaseModel):
    id: int
    patient: str
    term: str
    grade_scale: str
    grade: int
    serious: bool
    related_product: str
    related_harvest: str
    related_blood_draw: str
    related_infusion: str
    expected: bool
    onset_date: date
    resolution_date: date | None
    outcome: str | None


def _ae_out(ae, code: str) -> dict:
    return {
        "id": ae.id,
        "patient": code,
        "term": ae.term,
        "grade_scale": ae.grade_scale,
        "grade": ae.grade,
        "serious": ae.serious,
        "related_product": ae.related_product,
        "related_harvest": ae.related_harvest,
        "related_blood_draw": ae.related_blood_draw,
        "related_infusion": ae.related_infusion,
        "expected": ae.expected,
        "onset_date": ae.onset_date,
        "resolution_date": ae.resolution_date,
        "outcome": ae.outcome,
    }


@router.get(
    "/adverse-events",
    response_model=list[AdverseEventOut],
    tags=["Safety"],
    summary="The adverse event log",
)
def list_adverse_events(request: Request, who: Who) -> list[dict]:
    with unit_of_work(request) as db:
        return [_ae_out(ae, p.study_code) for ae, p in visible_adverse_events(db, who)]


@router.post(
    "/patients/{code}/adverse-events",
    response_model=AdverseEventOut,
    status_code=201,
    tags=["Safety"],
    summary="Record an adverse event",
    responses=WRITE_ERRORS,
)
def create_adverse_event(
    code: Code, body: AdverseEventIn, request: Request, who: Who, _: Idempotent
) -> dict:
    require(who, "record_adverse_event")
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        p = patient_service.get_for(user, db, code)
        ae = ae_service.record_adverse_event(user, db, p, **body.model_dump())
        return respond(request, db, _ae_out(ae, code), 201)


# -- audit --------------------------------------------------------------------------------------


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    table: str
    record_id: str
    changes: dict[str, Any]
    reason: str | None
    hash: str


@router.get(
    "/audit",
    response_model=list[AuditEntryOut],
    tags=["Audit"],
    summary="Audit trail entries you may read, newest first",
)
def audit_entries(
    request: Request,
    who: Who,
    table: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    record_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**6)] = 0,
) -> list[dict]:
    require(who, "view_audit")
    with unit_of_work(request) as db:
        entries, _ = entries_for(
            db, who, table=table, actor=actor, record_id=record_id, limit=limit, offset=offset
        )
        return entries
