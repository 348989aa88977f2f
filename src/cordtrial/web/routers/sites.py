"""Administration of sites (code, name, time zone): pages under /admin/sites and the same
operations under /api/v1/admin/sites. Rules (who may create, codes fixed once created, valid
time zones) are the store's (services/sites.py); every change is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel
from sqlalchemy import func, select

from cordtrial.store.models import Patient, Site, User
from cordtrial.store.refusals import Refusal
from cordtrial.store.services import sites as site_service
from cordtrial.store.services.timing import site_today

from ..accounts import acting_user
from ..deps import Idempotent, current_principal, require, unit_of_work
from ..form_views import field_views, form_values, read_form
from ..forms import errors_from_refusal
from ..idempotency import respond
from ..principal import Principal
from ..render import flash, render
from ..trial_schemas import SiteIn, SiteUpdateIn

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/admin/sites", tags=["Administration"])
Who = Annotated[Principal, Depends(current_principal)]
SiteCode = Annotated[str, Path(pattern=r"^[A-Z0-9]{2,16}$")]
ERRORS = {404: {"description": "No such site (or not one you manage)"}}


class SiteOut(BaseModel):
    code: str
    name: str
    time_zone: str
    today: str  # the site's calendar day now
    synthetic: bool
    patients: int
    accounts: int


def _out(db, site: Site) -> dict:
    return {
        "code": site.code,
        "name": site.name,
        "time_zone": site.time_zone,
        "today": site_today(site).isoformat(),
        "synthetic": site.synthetic,
        "patients": db.scalar(select(func.count()).where(Patient.site_id == site.id)),
        "accounts": db.scalar(select(func.count()).where(User.site_id == site.id)),
    }


def _zones() -> list[tuple[str, str]]:
    return [(z, z) for z in sorted(site_service.time_zones())]


def _sites_page(request, who, *, status_code=200, values=None, errors=None):
    with unit_of_work(request) as db:
        rows = [_out(db, s) for s in site_service.sites_for(acting_user(db, who), db)]
    # no preselected zone: a site left at a default would silently live in UTC
    fields = field_views(SiteIn, values or {}, options={"time_zone": _zones()})
    for f in fields:
        if f.name == "time_zone":
            f.kind = "select"
    return render(
        request,
        "admin_sites.html",
        status_code=status_code,
        sites=rows,
        fields=fields,
        can_create=who.site_id is None,
        errors=errors or {},
    )


@router.get("/admin/sites")
def sites_page(request: Request, who: Who):
    require(who, "manage_sites")
    return _sites_page(request, who)


@router.post("/admin/sites")
async def create_site_page(request: Request, who: Who):
    require(who, "manage_sites")
    form = form_values(await request.form())
    body, errors = read_form(SiteIn, form)
    if body is not None:
        try:
            with unit_of_work(request) as db:
                site_service.create_site(acting_user(db, who), db, **body.model_dump())
        except Refusal as exc:
            if exc.code == "role_not_allowed":
                raise
            errors = errors_from_refusal(exc)
    if errors:
        return _sites_page(request, who, status_code=422, values=form, errors=errors)
    flash(request, "ok", f"Site {body.code} created. Add its accounts under Accounts.")
    return RedirectResponse("/admin/sites", status_code=303)


def _site_page(request, who, code, *, status_code=200, values=None, errors=None):
    with unit_of_work(request) as db:
        site = site_service.get_site(acting_user(db, who), db, code)
        out = _out(db, site)
    shown = values or {"name": out["name"], "time_zone": out["time_zone"]}
    fields = field_views(SiteUpdateIn, shown, options={"time_zone": _zones()})
    for f in fields:
        if f.name == "time_zone":
            f.kind = "select"
    return render(
        request,
        "admin_site.html",
        status_code=status_code,
        site=out,
        fields=fields,
        errors=errors or {},
    )


@router.get("/admin/sites/{code}")
def site_page(code: str, request: Request, who: Who):
    require(who, "manage_sites")
    return _site_page(request, who, code)


@router.post("/admin/sites/{code}")
async def update_site_page(code: str, request: Request, who: Who):
    require(who, "manage_sites")
    form = form_values(await request.form())
    body, errors = read_form(SiteUpdateIn, form)
    if body is not None:
        try:
            with unit_of_work(request) as db:
                admin = acting_user(db, who)
                site = site_service.get_site(admin, db, code)
                site_service.update_site(admin, db, site, **body.model_dump())
        except Refusal as exc:
            if exc.code in ("role_not_allowed", "not_found", "other_site"):
                raise
            errors = errors_from_refusal(exc)
    if errors:
        return _site_page(request, who, code, status_code=422, values=form, errors=errors)
    flash(request, "ok", f"Site {code} saved.")
    return RedirectResponse(f"/admin/sites/{code}", status_code=303)


# -- API -------------------------------------------------------------------------------------------


@api.get("", response_model=list[SiteOut], summary="Sites you manage")
def api_sites(request: Request, who: Who) -> list[dict]:
    require(who, "manage_sites")
    with unit_of_work(request) as db:
        return [_out(db, s) for s in site_service.sites_for(acting_user(db, who), db)]


@api.post(
    "",
    response_model=SiteOut,
    status_code=201,
    summary="Create a site (administrators of every site)",
)
def api_create_site(body: SiteIn, request: Request, who: Who, _: Idempotent) -> dict:
    require(who, "manage_sites")
    with unit_of_work(request) as db:
        site = site_service.create_site(acting_user(db, who), db, **body.model_dump())
        return respond(request, db, _out(db, site), 201)


@api.get("/{code}", response_model=SiteOut, summary="One site", responses=ERRORS)
def api_site(code: SiteCode, request: Request, who: Who) -> dict:
    require(who, "manage_sites")
    with unit_of_work(request) as db:
        return _out(db, site_service.get_site(acting_user(db, who), db, code))


@api.patch(
    "/{code}",
    response_model=SiteOut,
    summary="Rename a site or set its time zone (its code is fixed)",
    responses=ERRORS,
)
def api_update_site(code: SiteCode, body: SiteUpdateIn, request: Request, who: Who) -> dict:
    require(who, "manage_sites")
    with unit_of_work(request) as db:
        admin = acting_user(db, who)
        site = site_service.get_site(admin, db, code)
        site_service.update_site(admin, db, site, **body.model_dump())
        return _out(db, site)
