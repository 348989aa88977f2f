"""Patient pages: the timeline, ISNCSCI exam entry and the instrument forms."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from cordtrial import isncsci
from cordtrial.store.models import VISIT_CODES, Assessment, Patient
from cordtrial.store.refusals import Refusal
from cordtrial.store.services import assessments as assessment_service
from cordtrial.store.services import patients as patient_service
from cordtrial.store.services import records
from cordtrial.store.services.timing import site_today
from cordtrial.store.signatures import status as signature_status

from .. import layout
from ..accounts import acting_user
from ..classify import WorksheetInvalid, classify_worksheet, to_exam
from ..deps import current_principal, require, unit_of_work
from ..errors import NotFound
from ..forms import errors_from_refusal, parse_date
from ..instrument_forms import form_spec, parse_instrument_form, record_view
from ..principal import Principal
from ..queries import STAGE_LABELS, stage_of, timeline
from ..render import flash, render
from ..trial_steps import patient_plan

router = APIRouter(include_in_schema=False)


@router.get("/patients/{code}")
def patient_page(
    code: str, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        patient = patient_service.get_for(user, db, code)
        events = timeline(db, patient)
        identity = None
        if who.can("view_identity"):
            identity = patient_service.identity_for(user, db, patient)
        visits = patient_service.visits_of(user, db, patient)
        injury_date = patient.injury.injury_date if patient.injury else None
        ctx = dict(
            patient=patient,
            stage=STAGE_LABELS[stage_of(db, patient)],
            events=events,
            identity=identity,
            visits=visits,
            injury_date=injury_date,
            today=site_today(patient.site),
            plan=patient_plan(db, patient, who),
            correctable={t for t in records.MODELS_BY_TABLE if records.may_amend(who.role, t)},
        )
        return render(request, "patient.html", **ctx)


def _exam_meta_defaults(who: Principal) -> dict[str, str]:
    return {
        "visit_code": "",
        "assessed_on": date.today().isoformat(),
        "assessor_name": who.full_name,
        "blinded": "",
    }


@router.get("/patients/{code}/exams/new")
def new_exam(code: str, request: Request, who: Annotated[Principal, Depends(current_principal)]):
    require(who, "enter_assessments")
    with unit_of_work(request) as db:
        patient = patient_service.get_for(acting_user(db, who), db, code)
        return render(
            request,
            "exam_new.html",
            patient=patient,
            meta=_exam_meta_defaults(who),
            reasons={},
            comments="",
            visit_codes=VISIT_CODES,
            save_url=f"/patients/{code}/exams/new",
            engine_version=isncsci.ENGINE_VERSION,
        )


@router.post("/patients/{code}/exams/new")
async def save_exam(
    code: str, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    require(who, "enter_assessments")
    form = await request.form()
    values = {k: str(form.get(k, "")).strip() for k in layout.ALL_FIELDS}
    values = {k: v for k, v in values.items() if v}
    meta = {k: str(form.get(k, "")).strip() for k in _exam_meta_defaults(who)}
    # Beside the grades: a reason per flagged cell ("reason:<cell>") and comments.
    reasons = {
        key.removeprefix("reason:"): str(value).strip()
        for key, value in form.items()
        if key.startswith("reason:") and str(value).strip()
    }
    comments = str(form.get("comments", ""))
    errors: dict[str, str] = {}
    assessed_on = parse_date(meta["assessed_on"], "assessed_on", errors)
    if meta["visit_code"] not in VISIT_CODES:
        errors["visit_code"] = f"{meta['visit_code']!r} not allowed: {', '.join(VISIT_CODES)}"
    # Check every cell now, so all problems show at once (the store checks again on save).
    try:
        to_exam(values, partial=False)
    except WorksheetInvalid as exc:
        errors.update({p.field: _problem_text(p) for p in exc.problems})
    assessment_id = None
    if not errors:
        try:
            with unit_of_work(request) as db:
                user = acting_user(db, who)
                patient = patient_service.get_for(user, db, code)
                row = assessment_service.record_isncsci(
                    user,
                    db,
                    patient,
                    visit_code=meta["visit_code"],
                    assessed_on=assessed_on,
                    rhi=values,
                    assessor_name=meta["assessor_name"],
                    blinded=meta["blinded"] == "on",
                    comments=comments,
                    flag_reasons=reasons,
                )
                assessment_id = row.id
        except Refusal as exc:
            if exc.code in ("not_found", "other_site", "role_not_allowed"):
                raise
            errors.update(errors_from_refusal(exc))
    if errors:
        # The classification beside the form is a courtesy; when the entered values cannot be
        # classified, the field errors shown next to each field say why, so show none.
        try:
            result = classify_worksheet(values, partial=True)
        except ValueError:
            result = None
        with unit_of_work(request) as db:
            patient = patient_service.get_for(acting_user(db, who), db, code)
            return render(
                request,
                "exam_new.html",
                status_code=422,
                patient=patient,
                meta=meta,
                values=values,
                reasons=reasons,
                comments=comments,
                errors=errors,
                result=result.as_dict() if result else None,
                visit_codes=VISIT_CODES,
                save_url=f"/patients/{code}/exams/new",
                engine_version=isncsci.ENGINE_VERSION,
                form_error="Nothing was saved: correct the highlighted fields.",
            )
    flash(request, "ok", "Exam saved.")
    return RedirectResponse(f"/assessments/{assessment_id}", status_code=303)


def _problem_text(p) -> str:
    if p.value in (None, ""):
        return f"required: {p.allowed}"
    return f"{p.value!r} not allowed: {p.allowed}"


@router.get("/assessments/{assessment_id}")
def assessment_page(
    assessment_id: int, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        row = db.get(Assessment, assessment_id)
        if row is None:
            raise NotFound(f"no assessment with id {assessment_id}")
        # The store checks role and site (and logs a refusal for another site's record).
        patient = patient_service.get_for(user, db, db.get(Patient, row.patient_id).study_code)
        rv = None
        if row.kind != "isncsci":
            rv = record_view(row.kind, row.engine_version, row.data, row.result)
        return render(
            request,
            "assessment.html",
            a=row,
            patient=patient,
            rv=rv,
            signatures=signature_status(db, row),
            can_sign=who.can("enter_assessments"),
            can_review=who.can("enter_assessments"),
        )


@router.get("/assessments/{assessment_id}/worksheet.pdf")
def worksheet_pdf(
    assessment_id: int, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    """The exam printed like the paper worksheet, with its classification, stars, flag
    reasons, comments and signatures (for the patient's file)."""
    from datetime import UTC, datetime

    from ..worksheet_pdf import WorksheetRecord, worksheet_pdf

    with unit_of_work(request) as db:
        user = acting_user(db, who)
        row = db.get(Assessment, assessment_id)
        if row is None or row.kind != "isncsci":
            raise NotFound(f"no ISNCSCI exam with id {assessment_id}")
        patient = patient_service.get_for(user, db, db.get(Patient, row.patient_id).study_code)
        record = WorksheetRecord(
            study_code=patient.study_code,
            visit=row.visit_code.replace("_", " "),
            exam_date=row.assessed_on.isoformat(),
            examiner=row.assessor_name,
            blinded=row.blinded,
            engine_version=row.engine_version or "",
            data=row.data,
            result=row.result,
            comments=row.comments,
            flag_reasons=row.flag_reasons or {},
            signatures=[st.describe() for st in signature_status(db, row)],
            synthetic=bool(patient.synthetic),
            printed_at=datetime.now(UTC),
        )
    name = f"isncsci-{record.study_code}-{record.exam_date}-{assessment_id}.pdf"
    return Response(
        worksheet_pdf(record),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/assessments/{assessment_id}/sign")
async def sign_assessment(
    assessment_id: int, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    require(who, "enter_assessments")
    form = await request.form()
    try:
        with unit_of_work(request) as db:
            user = acting_user(db, who)
            row = db.get(Assessment, assessment_id)
            if row is None:
                raise NotFound(f"no assessment with id {assessment_id}")
            patient_service.get_for(user, db, db.get(Patient, row.patient_id).study_code)
            assessment_service.sign_off(user, db, row, str(form.get("password", "")))
    except Refusal as exc:
        if exc.code != "authentication_failed":
            raise
        flash(request, "error", "Not signed: wrong password.")
    else:
        flash(request, "ok", "Exam signed off.")
    return RedirectResponse(f"/assessments/{assessment_id}", status_code=303)


@router.get("/patients/{code}/instruments/{kind}/new")
def new_instrument(
    code: str, kind: str, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    require(who, "enter_assessments")
    spec = form_spec(kind)
    with unit_of_work(request) as db:
        patient = patient_service.get_for(acting_user(db, who), db, code)
        return render(
            request,
            "instrument_new.html",
            patient=patient,
            spec=spec,
            meta=_exam_meta_defaults(who),
            visit_codes=VISIT_CODES,
        )


@router.post("/patients/{code}/instruments/{kind}/new")
async def save_instrument(
    code: str, kind: str, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    require(who, "enter_assessments")
    spec = form_spec(kind)
    form = await request.form()
    meta = {k: str(form.get(k, "")).strip() for k in _exam_meta_defaults(who)}
    errors: dict[str, str] = {}
    data, values = parse_instrument_form(spec, form, errors)
    assessed_on = parse_date(meta["assessed_on"], "assessed_on", errors)
    if meta["visit_code"] not in VISIT_CODES:
        errors["visit_code"] = f"{meta['visit_code']!r} not allowed: {', '.join(VISIT_CODES)}"
    assessment_id = None
    if not errors:
        try:
            with unit_of_work(request) as db:
                user = acting_user(db, who)
                patient = patient_service.get_for(user, db, code)
                row = assessment_service.record_instrument(
                    user,
                    db,
                    patient,
                    kind=kind,
                    visit_code=meta["visit_code"],
                    assessed_on=assessed_on,
                    data=data,
                    assessor_name=meta["assessor_name"],
                    blinded=meta["blinded"] == "on",
                )
                assessment_id = row.id
        except Refusal as exc:
            if exc.code in ("not_found", "other_site", "role_not_allowed"):
                raise
            errors.update(errors_from_refusal(exc))
    if errors:
        with unit_of_work(request) as db:
            patient = patient_service.get_for(acting_user(db, who), db, code)
            return render(
                request,
                "instrument_new.html",
                status_code=422,
                patient=patient,
                spec=spec,
                meta=meta,
                values=values,
                errors=errors,
                visit_codes=VISIT_CODES,
                form_error="Nothing was saved: correct the highlighted fields.",
            )
    flash(request, "ok", f"{spec.title} saved.")
    return RedirectResponse(f"/assessments/{assessment_id}", status_code=303)
