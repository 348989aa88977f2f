"""Definition corrections: the worklist of records a corrected instrument definition may have
changed (e.g. WISCI II 18/19 under wisci2@1), and the form that re-enters one of them under the
current definition from the source document."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from cordtrial.instruments import CORRECTIONS, INSTRUMENTS
from cordtrial.store.models import Assessment, Patient
from cordtrial.store.refusals import Refusal
from cordtrial.store.services import assessments as assessment_service
from cordtrial.store.services import patients as patient_service

from ..accounts import acting_user
from ..casebook_view import warnings_view
from ..deps import current_principal, require, unit_of_work
from ..errors import NotFound
from ..forms import errors_from_refusal
from ..instrument_forms import FormSpec, parse_instrument_form, record_view
from ..principal import Principal
from ..render import flash, render

router = APIRouter(include_in_schema=False)


@router.get("/review/definitions")
def worklist(request: Request, who: Annotated[Principal, Depends(current_principal)]):
    require(who, "review_definitions")
    with unit_of_work(request) as db:
        entries = assessment_service.awaiting_review(acting_user(db, who), db)
        return render(
            request,
            "definition_review.html",
            entries=entries,
            corrections=CORRECTIONS,
            can_reenter=who.can("enter_assessments"),
        )


def _load(db, who: Principal, assessment_id: int):
    user = acting_user(db, who)
    row = db.get(Assessment, assessment_id)
    if row is None or row.kind not in INSTRUMENTS:
        raise NotFound(f"no instrument record with id {assessment_id}")
    # The store checks role and site (and logs a refusal for another site's record).
    patient = patient_service.get_for(user, db, db.get(Patient, row.patient_id).study_code)
    return user, row, patient


def _form_values(row: Assessment, affected: set[str]) -> dict[str, object]:
    """The record's values as form text; affected items start blank, so the reviewer reads
    them from the source document instead of confirming the stored number by habit."""
    out: dict[str, object] = {}
    for key, value in (row.data or {}).items():
        if key in affected:
            continue
        out[key] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return out


def _page(
    request, row, patient, *, values, errors, reason="", status_code=200, form_error=None, **extra
):
    rv = record_view(row.kind, row.engine_version, row.data, row.result)
    must = {
        f.item_id: f"entered as {f.value} under {rv.version_tag} (“{f.meaning_entered}”): "
        "choose the level the source document shows"
        for f in rv.flags
    }
    return render(
        request,
        "assessment_review.html",
        status_code=status_code,
        a=row,
        patient=patient,
        rv=rv,
        items=INSTRUMENTS[row.kind].items,
        must_answer=must,
        values=values,
        errors=errors,
        reason=reason,
        form_error=form_error,
        **extra,
    )


@router.get("/assessments/{assessment_id}/review")
def review_form(
    assessment_id: int, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    require(who, "enter_assessments")
    with unit_of_work(request) as db:
        _, row, patient = _load(db, who, assessment_id)
        rv = record_view(row.kind, row.engine_version, row.data, row.result)
        values = _form_values(row, {f.item_id for f in rv.flags})
        return _page(request, row, patient, values=values, errors={})


@router.post("/assessments/{assessment_id}/review")
async def save_review(
    assessment_id: int, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    require(who, "enter_assessments")
    form = await request.form()
    reason = str(form.get("reason", "")).strip()
    confirm = [str(v) for v in form.getlist("confirm")]
    warnings: list[dict] = []
    errors: dict[str, str] = {}
    with unit_of_work(request) as db:
        _, row, _ = _load(db, who, assessment_id)
        spec = FormSpec(row.kind, INSTRUMENTS[row.kind])
    data, values = parse_instrument_form(spec, form, errors)
    if not errors:
        try:
            with unit_of_work(request) as db:
                user, row, _ = _load(db, who, assessment_id)
                assessment_service.reenter_under_current_definition(
                    user, db, row, data=data, reason=reason, confirm=confirm
                )
        except Refusal as exc:
            if exc.code in ("not_found", "other_site", "role_not_allowed"):
                raise
            if exc.code == "confirmation_required":
                warnings = warnings_view(exc.context.get("warnings", []))
            else:
                errors.update(errors_from_refusal(exc))
    if errors or warnings:
        with unit_of_work(request) as db:
            _, row, patient = _load(db, who, assessment_id)
            return _page(
                request,
                row,
                patient,
                values=values,
                errors=errors,
                reason=reason,
                status_code=422,
                form_error="Nothing was saved: "
                + (
                    "confirm the warnings below."
                    if warnings and not errors
                    else "correct the highlighted fields."
                ),
                warnings=warnings,
                confirmed=confirm,
            )
    flash(request, "ok", f"Re-entered under {INSTRUMENTS[spec.kind].version_tag}.")
    return RedirectResponse(f"/assessments/{assessment_id}", status_code=303)
