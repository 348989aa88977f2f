"""Patient pages: the timeline, ISNCSCI exam entry and the instrument forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from cordtrial import isncsci
from cordtrial.casebook.reconcile import entry_defaults
from cordtrial.store.models import VISIT_CODES, Assessment, DoubleEntry, Patient
from cordtrial.store.protocol_versions import protocol_on
from cordtrial.store.refusals import Refusal
from cordtrial.store.services import assessments as assessment_service
from cordtrial.store.services import double_entry as de_service
from cordtrial.store.services import locks, records
from cordtrial.store.services import patients as patient_service
from cordtrial.store.services.timing import site_today
from cordtrial.store.signatures import status as signature_status

from .. import layout
from ..accounts import acting_user
from ..casebook_view import warnings_view
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
            correctable=set()
            if locks.lock_note_for(db, patient)  # the record pages say why
            else {t for t in records.MODELS_BY_TABLE if records.may_amend(who.role, t)},
        )
        return render(request, "patient.html", **ctx)


def _exam_meta_defaults(
    who: Principal, visit: str = "", *, double_entry: bool = False, patient=None
) -> dict[str, str]:
    return entry_defaults(
        visit if visit in VISIT_CODES else "",
        double_entry=double_entry,
        user_name=who.full_name,
        # the patient's site's day (an exam this morning in Tokyo is not yesterday's)
        today=site_today(patient.site if patient else None),
    )


@router.get("/patients/{code}/exams/new")
def new_exam(code: str, request: Request, who: Annotated[Principal, Depends(current_principal)]):
    require(who, "enter_assessments")
    with unit_of_work(request) as db:
        patient = patient_service.get_for(acting_user(db, who), db, code)
        double = _double_entry_on(db)
        visit = request.query_params.get("visit", "")
        return render(
            request,
            "exam_new.html",
            patient=patient,
            meta=_exam_meta_defaults(who, visit, double_entry=double, patient=patient),
            reasons={},
            comments="",
            visit_codes=VISIT_CODES,
            save_url=f"/patients/{code}/exams/new",
            engine_version=isncsci.ENGINE_VERSION,
            double_entry=double,
        )


def _exam_notes(form) -> tuple[dict[str, str], str]:
    """Beside the grades: a reason per flagged cell ("reason:<cell>") and the comments."""
    reasons = {
        key.removeprefix("reason:"): str(value).strip()
        for key, value in form.items()
        if key.startswith("reason:") and str(value).strip()
    }
    return reasons, str(form.get("comments", ""))


def _double_entry_on(db) -> bool:
    return protocol_on(db).requires_double_entry("isncsci")


def _confirmations(form) -> tuple[list[str], str | None]:
    """The warnings the user confirmed and the reason given for a deviation."""
    confirm = [str(v) for v in form.getlist("confirm")]
    reason = str(form.get("deviation_reason", "")).strip() or None
    return confirm, reason


def _refusal_to_form(exc: Refusal, errors: dict[str, str]) -> list[dict]:
    """Field errors, or the warnings to confirm, of a refused save (others are error pages)."""
    if exc.code in ("not_found", "other_site", "role_not_allowed"):
        raise exc
    if exc.code == "confirmation_required":
        return warnings_view(exc.context.get("warnings", []))
    errors.update(errors_from_refusal(exc))
    return []


@router.post("/patients/{code}/exams/new")
async def save_exam(
    code: str, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    require(who, "enter_assessments")
    form = await request.form()
    values = {k: str(form.get(k, "")).strip() for k in layout.ALL_FIELDS}
    values = {k: v for k, v in values.items() if v}
    meta = {k: str(form.get(k, "")).strip() for k in _exam_meta_defaults(who)}
    reasons, comments = _exam_notes(form)
    errors: dict[str, str] = {}
    assessed_on = parse_date(meta["assessed_on"], "assessed_on", errors)
    if meta["visit_code"] not in VISIT_CODES:
        errors["visit_code"] = f"{meta['visit_code']!r} not allowed: {', '.join(VISIT_CODES)}"
    # Check every cell now, so all problems show at once (the store checks again on save).
    try:
        to_exam(values, partial=False)
    except WorksheetInvalid as exc:
        errors.update({p.field: _problem_text(p) for p in exc.problems})
    confirm, deviation_reason = _confirmations(form)
    warnings: list[dict] = []
    target = None
    if not errors:
        try:
            with unit_of_work(request) as db:
                user = acting_user(db, who)
                patient = patient_service.get_for(user, db, code)
                heading = dict(
                    visit_code=meta["visit_code"],
                    assessed_on=assessed_on,
                    rhi=values,
                    assessor_name=meta["assessor_name"],
                    blinded=meta["blinded"] == "on",
                )
                if _double_entry_on(db):  # notes go on the reconciled exam (exam_new.html)
                    entry = de_service.enter_exam(user, db, patient, **heading)
                    target = (f"/double-entries/{entry.double_entry_id}", entry.entry_number)
                else:
                    row = assessment_service.record_isncsci(
                        user,
                        db,
                        patient,
                        **heading,
                        comments=comments,
                        flag_reasons=reasons,
                        confirm=confirm,
                        deviation_reason=deviation_reason,
                    )
                    target = (f"/assessments/{row.id}", 0)
        except Refusal as exc:
            warnings = _refusal_to_form(exc, errors)
    if errors or warnings:
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
                warnings=warnings,
                confirmed=confirm,
                deviation_reason=deviation_reason,
                result=result.as_dict() if result else None,
                visit_codes=VISIT_CODES,
                save_url=f"/patients/{code}/exams/new",
                engine_version=isncsci.ENGINE_VERSION,
                double_entry=_double_entry_on(db),
                form_error="Nothing was saved: "
                + (
                    "confirm the warnings below."
                    if warnings and not errors
                    else "correct the highlighted fields."
                ),
            )
    url, number = target
    if number:
        flash(
            request,
            "ok",
            f"Entry {number} of 2 saved. "
            + (
                "A second person enters the same exam independently."
                if number == 1
                else "A third person now reconciles the two entries."
            ),
        )
    else:
        flash(request, "ok", "Exam saved.")
    return RedirectResponse(url, status_code=303)


def _problem_text(p) -> str:
    if p.value in (None, ""):
        return f"required: {p.allowed}"
    return f"{p.value!r} not allowed: {p.allowed}"


@router.get("/assessments/{assessment_id}")
def assessment_page(
    assessment_id: int, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    from .casebook import record_panel

    with unit_of_work(request) as db:
        user = acting_user(db, who)
        row = _assessment(db, user, assessment_id)
        patient = db.get(Patient, row.patient_id)
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
            reconciled_from=db.scalar(
                select(DoubleEntry).where(DoubleEntry.assessment_id == row.id)
            ),
            **record_panel(db, who, "assessments", row),
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


def _assessment(db, user, assessment_id: int) -> Assessment:
    row = db.get(Assessment, assessment_id)
    if row is None:
        raise NotFound(f"no assessment with id {assessment_id}")
    # The store checks role and site (and logs a refusal for another site's record).
    patient_service.get_for(user, db, db.get(Patient, row.patient_id).study_code)
    return row


# -- correcting a stored exam or instrument (e.g. to answer a query) -----------------------------


def _correct_page(request, db, who, row, *, values, meta, reason="", status_code=200, **extra):
    patient = db.get(Patient, row.patient_id)
    extra.setdefault("reasons", row.flag_reasons or {})
    extra.setdefault("comments", row.comments or "")
    ctx = dict(
        a=row,
        patient=patient,
        meta=meta,
        values=values,
        reason=reason,
        visit_codes=VISIT_CODES,
        save_url=f"/assessments/{row.id}/correct",
        **extra,
    )
    if row.kind == "isncsci":
        return render(
            request,
            "exam_correct.html",
            status_code=status_code,
            engine_version=isncsci.ENGINE_VERSION,
            **ctx,
        )
    return render(
        request,
        "instrument_correct.html",
        status_code=status_code,
        spec=form_spec(row.kind),
        **ctx,
    )


def _stored_values(row: Assessment) -> dict:
    return {
        k: [str(x) for x in v] if isinstance(v, list) else str(v)
        for k, v in (row.data or {}).items()
    }


@router.get("/assessments/{assessment_id}/correct")
def correct_form(
    assessment_id: int, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    require(who, "enter_assessments")
    with unit_of_work(request) as db:
        row = _assessment(db, acting_user(db, who), assessment_id)
        locked = locks.lock_note_for(db, db.get(Patient, row.patient_id))
        if locked:  # no form to fill in for nothing: the store would refuse the save
            flash(request, "warn", f"Not correctable: {locked}.")
            return RedirectResponse(f"/assessments/{row.id}", status_code=303)
        meta = {
            "visit_code": row.visit_code,
            "assessed_on": row.assessed_on.isoformat(),
            "assessor_name": row.assessor_name,
            "blinded": "on" if row.blinded else "",
        }
        return _correct_page(request, db, who, row, values=_stored_values(row), meta=meta)


@router.post("/assessments/{assessment_id}/correct")
async def save_correction(
    assessment_id: int, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    """Correct a stored record (data and heading) with a reason, through the store's
    assessments.correct: re-validated, re-scored or re-classified, audited; a verification
    mark on it is cleared and a signature shows as invalid."""
    require(who, "enter_assessments")
    form = await request.form()
    meta = {k: str(form.get(k, "")).strip() for k in _exam_meta_defaults(who)}
    reason = str(form.get("reason", "")).strip()
    confirm, deviation_reason = _confirmations(form)
    errors: dict[str, str] = {}
    notes: dict = {}  # an exam's flag reasons and comments, corrected with it
    with unit_of_work(request) as db:
        kind = _assessment(db, acting_user(db, who), assessment_id).kind
    if kind == "isncsci":
        values = {k: str(form.get(k, "")).strip() for k in layout.ALL_FIELDS}
        data = values = {k: v for k, v in values.items() if v}
        reasons, comments = _exam_notes(form)
        notes = {"flag_reasons": reasons, "comments": comments}
        try:
            to_exam(values, partial=False)
        except WorksheetInvalid as exc:
            errors.update({p.field: _problem_text(p) for p in exc.problems})
    else:
        data, values = parse_instrument_form(form_spec(kind), form, errors)
    assessed_on = parse_date(meta["assessed_on"], "assessed_on", errors)
    if meta["visit_code"] not in VISIT_CODES:
        errors["visit_code"] = f"{meta['visit_code']!r} not allowed: {', '.join(VISIT_CODES)}"
    if not reason:
        errors["reason"] = "required: why the record is corrected (kept in the audit trail)"
    warnings: list[dict] = []
    if not errors:
        try:
            with unit_of_work(request) as db:
                user = acting_user(db, who)
                row = _assessment(db, user, assessment_id)
                assessment_service.correct(
                    user,
                    db,
                    row,
                    reason=reason,
                    data=data,
                    confirm=confirm,
                    deviation_reason=deviation_reason,
                    visit_code=meta["visit_code"],
                    assessed_on=assessed_on,
                    assessor_name=meta["assessor_name"],
                    blinded=meta["blinded"] == "on",
                    **notes,
                )
        except Refusal as exc:
            warnings = _refusal_to_form(exc, errors)
    if errors or warnings:
        with unit_of_work(request) as db:
            row = _assessment(db, acting_user(db, who), assessment_id)
            if notes:  # as typed
                notes = {"reasons": notes["flag_reasons"], "comments": notes["comments"]}
            return _correct_page(
                request,
                db,
                who,
                row,
                values=values,
                meta=meta,
                reason=reason,
                status_code=422,
                errors=errors,
                warnings=warnings,
                confirmed=confirm,
                deviation_reason=deviation_reason,
                form_error="Nothing was saved: "
                + (
                    "confirm the warnings below."
                    if warnings and not errors
                    else "correct the highlighted fields."
                ),
                **notes,
            )
    flash(request, "ok", "Corrected; the reason is in the audit trail.")
    return RedirectResponse(f"/assessments/{assessment_id}", status_code=303)


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
            meta=_exam_meta_defaults(who, request.query_params.get("visit", ""), patient=patient),
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
    confirm, deviation_reason = _confirmations(form)
    warnings: list[dict] = []
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
                    confirm=confirm,
                    deviation_reason=deviation_reason,
                )
                assessment_id = row.id
        except Refusal as exc:
            warnings = _refusal_to_form(exc, errors)
    if errors or warnings:
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
                warnings=warnings,
                confirmed=confirm,
                deviation_reason=deviation_reason,
                visit_codes=VISIT_CODES,
                form_error="Nothing was saved: "
                + (
                    "confirm the warnings below."
                    if warnings and not errors
                    else "correct the highlighted fields."
                ),
            )
    flash(request, "ok", f"{spec.title} saved.")
    return RedirectResponse(f"/assessments/{assessment_id}", status_code=303)
