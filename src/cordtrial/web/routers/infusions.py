"""The infusion page: bedside chain-of-identity check (wristband and product label, two
persons, each re-authenticated) and the infusion record (cell-product.md step 8). Every rule is
the store's (cordtrial.store.services.infusions); this page gathers the inputs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from cordtrial.store.models import Infusion, Lot, Patient, User
from cordtrial.store.refusals import Refusal
from cordtrial.store.services import infusions as infusion_service
from cordtrial.store.services import patients as patient_service
from cordtrial.store.services.timing import site_today, site_zone
from cordtrial.store.signatures import status as signature_status

from ..accounts import acting_user
from ..deps import current_principal, require, unit_of_work
from ..errors import NotFound
from ..forms import errors_from_refusal, parse_date, parse_datetime, parse_float
from ..principal import Principal
from ..queries import patient_lots
from ..render import flash, render

router = APIRouter(include_in_schema=False)

VITAL_SIGNS = (
    ("bp", "Blood pressure (mmHg, e.g. 120/80)"),
    ("hr", "Heart rate (/min)"),
    ("temp", "Temperature (°C)"),
    ("spo2", "SpO₂ (%)"),
)
PHASES = ("before", "during", "after")
# How the stored vital signs are named on the infusion page (this form's keys and the demo's).
VITAL_LABELS = {
    **dict(VITAL_SIGNS),
    "sbp": "Systolic blood pressure (mmHg)",
    "dbp": "Diastolic blood pressure (mmHg)",
    "temp_c": "Temperature (°C)",
}
FIELDS = (
    "wristband_code",
    "label_code",
    "infused_on",
    "weight_kg",
    "weight_measured_on",
    "cells_total",
    "product_volume_ml",
    "diluent_volume_ml",
    "rate_ml_per_min",
    "thawed_at",
    "started_at",
    "stopped_at",
    "reaction",
    "second_username",
)


def _page(request, who, code, *, status_code=200, values=None, errors=None, refusal=None):
    with unit_of_work(request) as db:
        patient = patient_service.get_for(acting_user(db, who), db, code)
        lots = [lot for lot in patient_lots(db, patient) if lot.status in ("released", "dispensed")]
        today = site_today(patient.site).isoformat()  # the site's day, not the server's
        return render(
            request,
            "infusion_new.html",
            status_code=status_code,
            patient=patient,
            lots=lots,
            values=values or {"infused_on": today, "weight_measured_on": today},
            zone=site_zone(patient.site).key,
            errors=errors or {},
            refusal=refusal,
            vital_signs=VITAL_SIGNS,
            phases=PHASES,
        )


@router.get("/patients/{code}/infusions/new")
def new_infusion(
    code: str, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    require(who, "infuse")
    return _page(request, who, code)


def _vitals(form) -> dict:
    vitals: dict[str, dict[str, str]] = {}
    for phase in PHASES:
        readings = {k: str(form.get(f"vitals_{phase}_{k}", "")).strip() for k, _ in VITAL_SIGNS}
        readings = {k: v for k, v in readings.items() if v}
        if readings:
            vitals[phase] = readings
    return vitals


@router.post("/patients/{code}/infusions/new")
async def save_infusion(
    code: str, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    require(who, "infuse")
    form = await request.form()
    values = {k: str(form.get(k, "")).strip() for k in FIELDS}
    for phase in PHASES:
        for k, _ in VITAL_SIGNS:
            values[f"vitals_{phase}_{k}"] = str(form.get(f"vitals_{phase}_{k}", "")).strip()
    errors: dict[str, str] = {}
    for name in ("wristband_code", "label_code"):
        if not values[name]:
            errors[name] = "required: scan or type the code"
    infused_on = parse_date(values["infused_on"], "infused_on", errors)
    weighed_on = parse_date(values["weight_measured_on"], "weight_measured_on", errors)
    nums = {}
    for name, allowed in (
        ("weight_kg", "body weight in kg, > 0"),
        ("cells_total", "a cell count, e.g. 1.0e8"),
        ("product_volume_ml", "mL of product, > 0"),
        ("diluent_volume_ml", "mL of saline, >= 0"),
        ("rate_ml_per_min", "mL/min, e.g. 0.8"),
    ):
        nums[name] = parse_float(values[name], name, errors, minimum=0, allowed=allowed)
    with unit_of_work(request) as db:  # times are entered as the site's clocks show them
        zone = site_zone(patient_service.get_for(acting_user(db, who), db, code).site)
    thawed = (
        parse_datetime(values["thawed_at"], "thawed_at", errors, zone)
        if values["thawed_at"]
        else None
    )
    started = parse_datetime(values["started_at"], "started_at", errors, zone)
    stopped = parse_datetime(values["stopped_at"], "stopped_at", errors, zone)
    password = str(form.get("password", ""))
    second_password = str(form.get("second_password", ""))
    if not password:
        errors["password"] = "required: re-enter your password to sign"
    if not values["second_username"]:
        errors["second_username"] = "required: the second person confirming identity"
    if not second_password:
        errors["second_password"] = "required: the second person's password"
    refusal = None
    infusion_id = None
    if not errors:
        try:
            with unit_of_work(request) as db:
                user = acting_user(db, who)
                patient = patient_service.get_for(user, db, code)
                lot = _lot_by_label(db, who, values["label_code"])
                if lot is None:
                    errors["label_code"] = (
                        f"{values['label_code']!r} not allowed: the lot number on a product "
                        "label at your site"
                    )
                second = db.scalar(select(User).where(User.username == values["second_username"]))
                if not errors:
                    data = infusion_service.InfusionInput(
                        infused_on=infused_on,
                        weight_kg=nums["weight_kg"],
                        weight_measured_on=weighed_on,
                        cells_total=nums["cells_total"],
                        product_volume_ml=nums["product_volume_ml"],
                        diluent_volume_ml=nums["diluent_volume_ml"],
                        rate_ml_per_min=nums["rate_ml_per_min"],
                        started_at=started,
                        stopped_at=stopped,
                        vitals=_vitals(form),
                        wristband_code=values["wristband_code"],
                        label_code=values["label_code"],
                        thawed_at=thawed,
                        reaction=values["reaction"] or None,
                    )
                    row = infusion_service.record_infusion(
                        user,
                        db,
                        patient,
                        lot,
                        data,
                        password=password,
                        second_person=second,
                        second_password=second_password,
                        second_username=values["second_username"],
                    )
                    infusion_id = row.id
        except Refusal as exc:
            if exc.code in ("role_not_allowed", "other_site", "not_found"):
                raise
            refusal = exc
            errors.update(errors_from_refusal(exc))
    if errors:
        return _page(
            request,
            who,
            code,
            status_code=422 if refusal is None else 409,
            values=values,
            errors=errors,
            refusal=refusal,
        )
    flash(request, "ok", "Infusion recorded and signed by both persons.")
    return RedirectResponse(f"/infusions/{infusion_id}", status_code=303)


def _lot_by_label(db, who: Principal, label: str) -> Lot | None:
    lot = db.scalar(select(Lot).where(Lot.lot_number == label.strip()))
    if lot is None or not who.sees_site(db.get(Patient, lot.patient_id).site_id):
        return None
    return lot


@router.get("/infusions/{infusion_id}")
def infusion_page(
    infusion_id: int, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    with unit_of_work(request) as db:
        row = db.get(Infusion, infusion_id)
        if row is None:
            raise NotFound(f"no infusion with id {infusion_id}")
        patient = patient_service.get_for(
            acting_user(db, who), db, db.get(Patient, row.patient_id).study_code
        )
        return render(
            request,
            "infusion.html",
            inf=row,
            patient=patient,
            lot=db.get(Lot, row.lot_id),
            signatures=signature_status(db, row),
            vital_labels=VITAL_LABELS,
            zone=site_zone(patient.site),
        )
