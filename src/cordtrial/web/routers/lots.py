"""Cell product pages: lots, culture passages with the growth curve, release checklist, QA
release with an electronic signature (cell-product.md steps 4-7)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from sqlalchemy import select

from cordtrial.store.models import CustodyEvent, Lot, ReleaseTest
from cordtrial.store.protocol_versions import protocol_of
from cordtrial.store.refusals import Refusal
from cordtrial.store.services import manufacturing
from cordtrial.store.services.timing import site_today
from cordtrial.store.signatures import status as signature_status

from ..accounts import acting_user
from ..charts import Point, line_chart
from ..deps import current_principal, require, unit_of_work
from ..forms import errors_from_refusal, parse_date, parse_float, validate_form
from ..principal import Principal
from ..queries import awaiting_lot, get_lot, visible_lots
from ..refusal_text import rule_text
from ..render import flash, render
from ..schemas import PassageIn

router = APIRouter(include_in_schema=False)


@router.get("/lots")
def lots_page(request: Request, who: Annotated[Principal, Depends(current_principal)]):
    require(who, "view_lots")
    with unit_of_work(request) as db:
        lots = visible_lots(db, who)
        return render(request, "lots.html", lots=lots, waiting=awaiting_lot(db, who))


def growth_points(lot: Lot) -> list[Point]:
    """Cumulative population doublings against days since culture start (PD = log2 of
    harvested/seeded per passage, summed; cell-product.md step 4)."""
    points = [Point(0, 0, f"culture start {lot.culture_started_on}")]
    total = 0.0
    for p in lot.passages:
        total += p.population_doublings
        day = (p.harvested_on - lot.culture_started_on).days
        points.append(
            Point(day, round(total, 3), f"P{p.passage_number}: cumulative PD {total:.2f}")
        )
    return points


def release_checklist(db, lot: Lot, protocol) -> list[dict]:
    latest: dict[str, ReleaseTest] = {}
    for t in db.scalars(
        select(ReleaseTest)
        .where(ReleaseTest.lot_id == lot.id)
        .order_by(ReleaseTest.tested_on, ReleaseTest.id)
    ):
        latest[t.test_code] = t
    rows = []
    for spec in protocol.release_tests:
        test = latest.get(spec.code)
        state = "missing" if test is None else ("pass" if test.passed else "fail")
        rows.append({"spec": spec, "test": test, "state": state})
    return rows


def lot_context(request: Request, who: Principal, lot_id: int, **extra) -> dict:
    with unit_of_work(request) as db:
        lot = get_lot(db, who, lot_id)
        patient = lot.patient
        protocol = protocol_of(db, lot)  # the specification of the lot's protocol version
        checklist = release_checklist(db, lot, protocol)
        custody = list(
            db.scalars(
                select(CustodyEvent).where(CustodyEvent.lot_id == lot.id).order_by(CustodyEvent.at)
            )
        )
        ctx = dict(
            lot=lot,
            patient=patient,
            passages=list(lot.passages),
            cumulative_pd=manufacturing.cumulative_population_doublings(lot),
            chart=Markup(
                line_chart(
                    growth_points(lot),
                    x_label="days since culture start",
                    y_label="cumulative population doublings",
                    title=f"Growth curve, lot {lot.lot_number}",
                )
            ),
            checklist=checklist,
            ready=all(r["state"] == "pass" for r in checklist if r["spec"].required),
            signatures=signature_status(db, lot),
            custody=custody,
            protocol=protocol,
            today=site_today(patient.site),
            serum=manufacturing.serum_of(db, lot),
            errors={},
            values={},
        )
        ctx.update(extra)
        return ctx


@router.get("/lots/{lot_id}")
def lot_page(lot_id: int, request: Request, who: Annotated[Principal, Depends(current_principal)]):
    require(who, "view_lots")
    return render(request, "lot.html", **lot_context(request, who, lot_id))


def _fail(request, who, lot_id, form_name, errors, values):
    ctx = lot_context(request, who, lot_id, errors=errors, values=values, failed_form=form_name)
    return render(request, "lot.html", status_code=422, **ctx)


def _verdict(request, who, lot_id: int, code: str) -> str:
    """The latest result of a release test against its limit, in words."""
    with unit_of_work(request) as db:
        lot = get_lot(db, who, lot_id)
        spec = protocol_of(db, lot).release_spec(code)
        test = max((t for t in lot.release_tests if t.test_code == code), key=lambda t: t.id)
        shown = (
            f"{test.value:g}{f' {spec.unit}' if spec.unit else ''}"
            if spec.numeric
            else (test.text_result)
        )
        verdict = "within" if test.passed else "OUTSIDE"
        return f"{shown}, {verdict} the limit ({spec.describe()})."


def _run(request, who, lot_id, action):
    """Run a store action on the lot in one transaction; (ok, errors)."""
    try:
        with unit_of_work(request) as db:
            user = acting_user(db, who)
            lot = get_lot(db, who, lot_id)
            action(user, db, lot)
    except Refusal as exc:
        if exc.code in ("role_not_allowed", "other_site", "not_found"):
            raise
        return errors_from_refusal(exc)
    return {}


@router.post("/lots/{lot_id}/passages")
async def add_passage(
    lot_id: int, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    require(who, "edit_culture")
    form = {k: str(v) for k, v in (await request.form()).items()}
    passage, errors = validate_form(PassageIn, form)  # the API's rules (schemas.py)
    if passage is not None:
        errors = _run(
            request,
            who,
            lot_id,
            lambda user, db, lot: manufacturing.record_passage(
                user, db, lot, **passage.model_dump()
            ),
        )
    if errors:
        return _fail(request, who, lot_id, "passage", errors, form)
    flash(request, "ok", f"Passage {passage.passage_number} recorded.")
    return RedirectResponse(f"/lots/{lot_id}", status_code=303)


@router.post("/lots/{lot_id}/finish")
async def finish_culture(
    lot_id: int, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    require(who, "edit_culture")
    form = {k: str(v) for k, v in (await request.form()).items()}
    errors: dict[str, str] = {}
    on = parse_date(form.get("cryopreserved_on", ""), "cryopreserved_on", errors)
    cells = parse_float(
        form.get("total_viable_cells", ""),
        "total_viable_cells",
        errors,
        minimum=1,
        allowed="a cell count > 0, e.g. 1.2e8",
    )
    vol = parse_float(
        form.get("volume_ml", ""), "volume_ml", errors, minimum=0.001, allowed="a volume > 0 mL"
    )
    where = form.get("storage_location", "").strip()
    if not where:
        errors["storage_location"] = "required: where the frozen lot is stored"
    if not errors:
        errors = _run(
            request,
            who,
            lot_id,
            lambda user, db, lot: manufacturing.finish_culture(
                user,
                db,
                lot,
                cryopreserved_on=on,
                total_viable_cells=cells,
                volume_ml=vol,
                storage_location=where,
            ),
        )
    if errors:
        return _fail(request, who, lot_id, "finish", errors, form)
    flash(request, "ok", "Culture finished; the lot is in quarantine awaiting release.")
    return RedirectResponse(f"/lots/{lot_id}", status_code=303)


@router.post("/lots/{lot_id}/release-tests")
async def add_release_test(
    lot_id: int, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    require(who, "record_release_test")
    form = {k: str(v) for k, v in (await request.form()).items()}
    errors: dict[str, str] = {}
    code = form.get("test_code", "")
    with unit_of_work(request) as db:
        protocol = protocol_of(db, get_lot(db, who, lot_id))
    spec = protocol.release_spec(code)
    if spec is None:
        allowed = ", ".join(t.code for t in protocol.release_tests)
        errors["test_code"] = f"{code!r} not allowed: {allowed}"
    value = text = None
    if spec is not None and spec.numeric:
        value = parse_float(
            form.get("value", ""),
            "value",
            errors,
            allowed=f"a number{f' in {spec.unit}' if spec.unit else ''}",
        )
    elif spec is not None:
        text = form.get("text_result", "").strip() or None
        if text is None:
            errors["text_result"] = f"required: the observed result, e.g. {spec.expected!r}"
    tested_on = parse_date(form.get("tested_on", ""), "tested_on", errors)
    method = form.get("method", "").strip()
    analyst = form.get("analyst", "").strip()
    if not method:
        errors["method"] = "required: the test method"
    if not analyst:
        errors["analyst"] = "required: the analyst's name"
    if not errors:
        errors = _run(
            request,
            who,
            lot_id,
            lambda user, db, lot: manufacturing.record_release_test(
                user,
                db,
                lot,
                test_code=code,
                method=method,
                tested_on=tested_on,
                analyst=analyst,
                value=value,
                text_result=text,
            ),
        )
    if errors:
        return _fail(request, who, lot_id, "test", errors, form)
    flash(
        request, "ok", f"Release test {spec.name} recorded: {_verdict(request, who, lot_id, code)}"
    )
    return RedirectResponse(f"/lots/{lot_id}", status_code=303)


@router.post("/lots/{lot_id}/release")
async def release(
    lot_id: int, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    require(who, "release_lot")
    form = await request.form()
    errors: dict[str, str] = {}
    if form.get("meaning_confirmed") != "on":
        errors["meaning_confirmed"] = (
            "required: confirm the meaning of your signature (released for clinical use)"
        )
    password = str(form.get("password", ""))
    if not password:
        errors["password"] = "required: re-enter your password to sign"
    day = str(form.get("released_on", "")).strip()
    released_on = parse_date(day, "released_on", errors) if day else None
    if not errors:
        try:
            with unit_of_work(request) as db:
                user = acting_user(db, who)
                lot = get_lot(db, who, lot_id)
                manufacturing.release_lot(
                    user,
                    db,
                    lot,
                    password=password,
                    today=site_today(lot.patient.site),
                    released_on=released_on,
                )
        except Refusal as exc:
            if exc.code in ("role_not_allowed", "other_site", "not_found"):
                raise
            if exc.code == "authentication_failed":
                errors = {"password": "wrong password: not signed"}
            elif exc.context.get("field") == "released_on":
                errors = errors_from_refusal(exc)
            else:
                errors = {"_release": f"{exc.message}. {rule_text(exc.code)}"}
    if errors:
        return _fail(request, who, lot_id, "release", errors, {"released_on": day})
    flash(request, "ok", "Lot released for clinical use; your signature is recorded.")
    return RedirectResponse(f"/lots/{lot_id}", status_code=303)


@router.post("/lots/{lot_id}/reject")
async def reject(
    lot_id: int, request: Request, who: Annotated[Principal, Depends(current_principal)]
):
    require(who, "release_lot")
    form = await request.form()
    reason = str(form.get("reason", "")).strip()
    errors = {"reason": "required: why the lot is rejected"} if not reason else {}
    if not errors:
        errors = _run(
            request,
            who,
            lot_id,
            lambda user, db, lot: manufacturing.reject_lot(user, db, lot, reason=reason),
        )
    if errors:
        return _fail(request, who, lot_id, "reject", errors, {"reason": reason})
    flash(request, "ok", "Lot rejected.")
    return RedirectResponse(f"/lots/{lot_id}", status_code=303)
