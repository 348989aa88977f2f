"""The adverse event log and the form to record an event (instruments.md, "Safety grading")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from cordtrial.store.models import AE_OUTCOMES, RELATEDNESS
from cordtrial.store.refusals import Refusal
from cordtrial.store.services import adverse_events as ae_service
from cordtrial.store.services import patients as patient_service

from ..accounts import acting_user
from ..casebook_view import warnings_view
from ..deps import current_principal, require, unit_of_work
from ..forms import errors_from_refusal, parse_date, parse_int
from ..principal import Principal
from ..queries import visible_adverse_events
from ..render import flash, render

router = APIRouter(include_in_schema=False)
GRADE_SCALES = ("CTCAE v5.0", "protocol")
RELATED_FIELDS = (
    ("related_product", "Related to the cell product"),
    ("related_harvest", "Related to bone-marrow harvest"),
    ("related_blood_draw", "Related to blood draw"),
    ("related_infusion", "Related to the infusion procedure"),
)
# CTCAE v5.0 generic grades (instruments.md, "Safety grading" [V]).
GRADES = (
    (1, "1 · mild"),
    (2, "2 · moderate, limits instrumental ADL"),
    (3, "3 · severe or medically significant, hospitalisation"),
    (4, "4 · life-threatening, urgent intervention"),
    (5, "5 · death"),
)


@router.get("/adverse-events")
def ae_log(request: Request, who: Annotated[Principal, Depends(current_principal)]):
    require(who, "view_adverse_events")
    with unit_of_work(request) as db:
        rows = visible_adverse_events(db, who)
        return render(request, "adverse_events.html", rows=rows)


def _form(request, who, code, *, status_code=200, values=None, errors=None, **extra):
    with unit_of_work(request) as db:
        patient = patient_service.get_for(acting_user(db, who), db, code)
        return render(
            request,
            "adverse_event_new.html",
            status_code=status_code,
            patient=patient,
            values=values or {},
            errors=errors or {},
            grades=GRADES,
            scales=GRADE_SCALES,
            relatedness=RELATEDNESS,
            related_fields=RELATED_FIELDS,
            outcomes=AE_OUTCOMES,
            **extra,
        )


@router.get("/patients/{code}/adverse-events/new")
def new_ae(code: str, request: Request, who: Annotated[Principal, Depends(current_principal)]):
    require(who, "record_adverse_event")
    return _form(request, who, code)


@router.post("/patients/{code}/adverse-events/new")
async def save_ae(
    code: str, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    require(who, "record_adverse_event")
    form = await request.form()
    names = (
        "term",
        "grade_scale",
        "grade",
        "serious",
        "expected",
        "onset_date",
        "resolution_date",
        "outcome",
    ) + tuple(n for n, _ in RELATED_FIELDS)
    values = {k: str(form.get(k, "")).strip() for k in names}
    errors: dict[str, str] = {}
    if not values["term"]:
        errors["term"] = "required: the event term (CTCAE term or protocol-defined event)"
    grade = parse_int(
        values["grade"], "grade", errors, minimum=1, maximum=5, allowed="1-5 (1 mild ... 5 death)"
    )
    if values["grade_scale"] not in GRADE_SCALES:
        errors["grade_scale"] = f"{values['grade_scale']!r} not allowed: {', '.join(GRADE_SCALES)}"
    onset = parse_date(values["onset_date"], "onset_date", errors)
    resolution = (
        parse_date(values["resolution_date"], "resolution_date", errors)
        if values["resolution_date"]
        else None
    )
    expected = {"": None, "yes": True, "no": False}.get(values["expected"], "bad")
    if expected == "bad":
        errors["expected"] = f"{values['expected']!r} not allowed: yes, no or blank (protocol list)"
    related = {}
    for name, _ in RELATED_FIELDS:
        related[name] = values[name] or "not related"
        if related[name] not in RELATEDNESS:
            errors[name] = f"{values[name]!r} not allowed: {', '.join(RELATEDNESS)}"
    if values["outcome"] and values["outcome"] not in AE_OUTCOMES:
        errors["outcome"] = f"{values['outcome']!r} not allowed: {', '.join(AE_OUTCOMES)}"
    confirm = [str(v) for v in form.getlist("confirm")]
    warnings: list[dict] = []
    if not errors:
        try:
            with unit_of_work(request) as db:
                user = acting_user(db, who)
                patient = patient_service.get_for(user, db, code)
                ae_service.record_adverse_event(
                    user,
                    db,
                    patient,
                    term=values["term"],
                    grade=grade,
                    serious=values["serious"] == "on",
                    onset_date=onset,
                    grade_scale=values["grade_scale"],
                    expected=expected,
                    resolution_date=resolution,
                    outcome=values["outcome"] or None,
                    confirm=confirm,
                    **related,
                )
        except Refusal as exc:
            if exc.code in ("role_not_allowed", "other_site", "not_found"):
                raise
            if exc.code == "confirmation_required":
                warnings = warnings_view(exc.context.get("warnings", []))
            else:
                errors.update(errors_from_refusal(exc))
    if errors or warnings:
        return _form(
            request,
            who,
            code,
            status_code=422,
            values=values,
            errors=errors,
            warnings=warnings,
            confirmed=confirm,
        )
    flash(request, "ok", f"Adverse event “{values['term']}” recorded.")
    return RedirectResponse(f"/patients/{code}", status_code=303)
