"""Pages of a patient's start in the trial: registration, then each step of web/trial_steps.py (one
generic page per step, drawn from its request model), and the printable lot label. The same
operations are in the API (routers/trial_api.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from cordtrial.store.models import Base, Patient, Site
from cordtrial.store.protocol_versions import protocol_of
from cordtrial.store.refusals import Refusal
from cordtrial.store.services import patients as patient_service

from ..accounts import acting_user
from ..casebook_view import warnings_view
from ..deps import current_principal, require, unit_of_work
from ..errors import FormInvalid, NotFound
from ..form_views import FieldView, field_views, form_values, read_form
from ..forms import errors_from_refusal
from ..labels import LabelData, lot_label_svg
from ..principal import Principal
from ..queries import get_lot
from ..render import flash, render
from ..trial_schemas import EligibilityIn, PatientIn
from ..trial_steps import STEPS, Step, notes_for

router = APIRouter(include_in_schema=False)
Who = Annotated[Principal, Depends(current_principal)]
# Refusals that are not about the form: answered as an error page (403/404), as elsewhere.
NOT_FORM = ("role_not_allowed", "other_site", "not_found")


def register_patient(db, who: Principal, body: PatientIn) -> Patient:
    """patients.register with the site chosen by code (a user bound to a site: their own)."""
    user = acting_user(db, who)
    code = body.site or who.site_code
    site = db.scalar(select(Site).where(Site.code == code)) if code else None
    if site is None or not who.sees_site(site.id):
        codes = [
            s.code for s in db.scalars(select(Site).order_by(Site.code)) if who.sees_site(s.id)
        ]
        raise FormInvalid(
            [
                {
                    "field": "site",
                    "value": body.site,
                    "allowed": f"a site code you work at: {', '.join(codes) or 'none yet'}",
                }
            ]
        )
    identity = {
        "full_name": body.full_name,
        "date_of_birth": body.date_of_birth,
        "hospital_number": body.hospital_number,
    }
    return patient_service.register(
        user,
        db,
        site=site,
        study_code=body.study_code,
        sex=body.sex,
        age_at_injury=body.age_at_injury,
        identity=identity,
    )


def _register_page(request, who, *, status_code=200, values=None, errors=None):
    with unit_of_work(request) as db:
        sites = [s for s in db.scalars(select(Site).order_by(Site.code)) if who.sees_site(s.id)]
    options = {"site": [(s.code, f"{s.code} · {s.name}") for s in sites]}
    omit = ("site",) if who.site_code else ()
    fields = field_views(PatientIn, values or {}, options=options, omit=omit)
    for f in fields:
        if f.name == "site":
            f.kind = "select"
        elif f.name == "sex":
            f.options = [("F", "female"), ("M", "male")]
    return render(
        request,
        "step.html",
        status_code=status_code,
        title="Register a patient",
        intro="The study code is all the trial data will show of the patient; the name, date "
        "of birth and hospital number go to the restricted identity table, seen by "
        "investigators and admins of the site only.",
        fields=fields,
        errors=errors or {},
        submit="Register",
        patient=None,
        facts=[("Site", who.site_code)] if who.site_code else [],
    )


@router.get("/patients/new")
def new_patient(request: Request, who: Who):
    require(who, "register_patient")
    return _register_page(request, who)


@router.post("/patients/new")
async def save_patient(request: Request, who: Who):
    require(who, "register_patient")
    form = form_values(await request.form())
    body, errors = read_form(PatientIn, form)
    code = None
    if body is not None:
        try:
            with unit_of_work(request) as db:
                code = register_patient(db, who, body).study_code
        except Refusal as exc:
            if exc.code in NOT_FORM:
                raise
            errors = errors_from_refusal(exc)
        except FormInvalid as exc:
            errors = exc.by_field()
    if errors:
        return _register_page(request, who, status_code=422, values=form, errors=errors)
    flash(request, "ok", f"Patient {code} registered.")
    return RedirectResponse(f"/patients/{code}", status_code=303)


# -- the steps -------------------------------------------------------------------------------------


def _step(slug: str) -> Step:
    step = STEPS.get(slug)
    if step is None:
        raise NotFound(f"no step {slug!r}; steps: {', '.join(STEPS)}")
    return step


def _ticked(value) -> list[str]:
    return value if isinstance(value, list) else [value] if value else []


def _step_fields(step: Step, values: dict, ctx: dict) -> list[FieldView]:
    if step.model is not EligibilityIn:  # warnings are confirmed in the confirm box instead
        return field_views(step.model, values, options=ctx.get("options"), omit=("confirm",))
    fields = field_views(step.model, values, omit=("criteria",))
    questions = [
        FieldView(
            name=f"criteria.{c.code}",
            label=c.text,
            kind="yesno",
            value=values.get(f"criteria.{c.code}", ""),
            hint="inclusion: must be met" if c.kind == "inclusion" else "exclusion: applies?",
            required=True,
        )
        for c in ctx.get("criteria", [])
    ]
    return fields[:1] + questions + fields[1:]


def _step_page(
    request, who, code, step: Step, *, status_code=200, values=None, errors=None, warnings=()
):
    with unit_of_work(request) as db:
        patient = patient_service.get_for(acting_user(db, who), db, code)
        ctx = step.context(db, patient, who) if step.context else {}
        shown = values if values is not None else ctx.get("defaults", {})
        return render(
            request,
            "step.html",
            status_code=status_code,
            title=step.title,
            intro=step.intro,
            patient=patient,
            fields=_step_fields(step, shown, ctx),
            errors=errors or {},
            submit=step.submit,
            facts=ctx.get("facts", []),
            criteria=ctx.get("criteria"),
            protocol=ctx.get("protocol"),
            signing=ctx.get("signing"),
            warnings=list(warnings),
            confirmed=_ticked((values or {}).get("confirm")),
        )


@router.get("/patients/{code}/record/{slug}")
def step_page(code: str, slug: str, request: Request, who: Who):
    step = _step(slug)
    require(who, step.permission)
    return _step_page(request, who, code, step)


@router.post("/patients/{code}/record/{slug}")
async def save_step(code: str, slug: str, request: Request, who: Who):
    step = _step(slug)
    require(who, step.permission)
    form = form_values(await request.form())
    body, errors = read_form(step.model, form)
    status, target, notes, warnings = 422, None, [], []
    if body is not None:
        try:
            with unit_of_work(request) as db:
                user = acting_user(db, who)
                patient = patient_service.get_for(user, db, code)
                record = step.apply(db, user, patient, body)
                target = step.lands_on(record, patient)
                notes = notes_for(db, record) if isinstance(record, Base) else []
        except Refusal as exc:
            if exc.code in NOT_FORM:
                raise
            errors = errors_from_refusal(exc)
            if exc.code == "confirmation_required":  # ticked in the confirm box, then saved
                warnings, errors = warnings_view(exc.context.get("warnings", [])), {}
            if exc.code == "authentication_failed":
                errors = {"password": "wrong password: not signed"}
            status = 422 if set(errors) - {"_form"} or warnings else 409
        except FormInvalid as exc:
            errors = exc.by_field()
    if errors or warnings:
        return _step_page(
            request,
            who,
            code,
            step,
            status_code=status,
            values=form,
            errors=errors,
            warnings=warnings,
        )
    flash(request, "ok", step.done)
    for note in notes:  # saved (the event happened), and recorded as a deviation to review
        flash(request, "warn", f"{note}: recorded under Deviations, to review.")
    return RedirectResponse(target, status_code=303)


# -- lot label -----------------------------------------------------------------------------------


def label_svg(db, who: Principal, lot_id: int) -> str:
    lot = get_lot(db, who, lot_id)
    return lot_label_svg(
        LabelData(
            lot_number=lot.lot_number,
            patient_code=lot.patient.study_code,
            product=protocol_of(db, lot).product,
            expiry=lot.expiry_date,
            status=lot.status,
            synthetic=lot.patient.synthetic,
        )
    )


@router.get("/lots/{lot_id}/label.svg")
def label_file(lot_id: int, request: Request, who: Who):
    require(who, "view_lots")
    with unit_of_work(request) as db:
        svg = label_svg(db, who, lot_id)
    return Response(svg, media_type="image/svg+xml")


@router.get("/lots/{lot_id}/label")
def label_page(lot_id: int, request: Request, who: Who):
    require(who, "view_lots")
    with unit_of_work(request) as db:
        lot = get_lot(db, who, lot_id)
        return render(request, "lot_label.html", lot=lot, patient=lot.patient)
