"""The protocol as data: every role reads the versions (visit schedule, eligibility criteria,
release specification, dose limits, raw material); an admin of every site edits a version no
record was collected under yet (version 1 before the first enrolment) or amends the protocol
(a new version with the day it takes effect). Pages under /protocol, API under
/api/v1/protocol; the rules are the store's (services/protocols.py)."""

from __future__ import annotations

import tomllib
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from cordtrial.store.protocol import Protocol, to_toml
from cordtrial.store.refusals import Refusal
from cordtrial.store.services import protocols as protocol_service

from ..accounts import acting_user
from ..deps import Idempotent, current_principal, require, unit_of_work
from ..errors import NotFound
from ..form_views import form_values, read_form
from ..forms import errors_from_refusal, readable_path
from ..idempotency import respond
from ..principal import Principal
from ..render import flash, render
from ..trial_schemas import AmendmentIn, ProtocolEditIn

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/protocol", tags=["Protocol"])
Who = Annotated[Principal, Depends(current_principal)]
Number = Annotated[int, Path(ge=1, le=10_000)]


class VersionOut(BaseModel):
    number: int
    effective_from: date | None
    summary: str
    records: int
    editable: bool
    in_effect: bool
    protocol: Protocol


class ProtocolOut(BaseModel):
    in_effect: int
    versions: list[VersionOut]


def _version_out(v: protocol_service.VersionInfo) -> dict:
    return {
        "number": v.number,
        "effective_from": v.effective_from,
        "summary": v.summary,
        "records": v.records,
        "editable": v.editable,
        "in_effect": v.in_effect,
        "protocol": v.protocol,
    }


def _versions(request: Request, who: Principal) -> list[protocol_service.VersionInfo]:
    with unit_of_work(request) as db:
        return protocol_service.versions(acting_user(db, who), db)


def _read(model, form: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """The page's TOML text read into the API's model (one definition of the rules)."""
    try:
        raw = tomllib.loads(form.get("protocol_toml", ""))
    except tomllib.TOMLDecodeError as exc:
        return None, {"protocol_toml": f"not valid TOML: {exc}"}
    body, errors = read_form(model, form, protocol=raw)
    out, lines = {}, []
    for key, message in errors.items():
        if key == "protocol" or key.startswith("protocol."):
            lines.append(f"{readable_path(key.removeprefix('protocol.'))}: {message}")
        else:
            out[key] = message
    if lines:
        out["protocol_toml"] = "; ".join(lines)
    return body, out


def _page(request, who, *, status_code=200, values=None, errors=None, form_name=None):
    versions = _versions(request, who)
    current = next((v for v in versions if v.in_effect), versions[-1])
    latest = versions[-1]
    editable = next((v for v in reversed(versions) if v.editable), None)
    values = values or {}
    return render(
        request,
        "protocol.html",
        status_code=status_code,
        versions=versions,
        current=current,
        p=current.protocol,
        editable=editable,
        toml_edit=values.get("protocol_toml") if form_name == "edit" else None,
        toml_amend=values.get("protocol_toml") if form_name == "amend" else None,
        default_toml=to_toml(latest.protocol),
        edit_toml=to_toml(editable.protocol) if editable else "",
        values=values,
        form_name=form_name,
        errors=errors or {},
        can_manage=who.can("manage_protocol") and who.site_id is None,
    )


@router.get("/protocol")
def protocol_page(request: Request, who: Who):
    require(who, "view_protocol")
    return _page(request, who)


@router.post("/protocol/versions/{number}")
async def edit_page(number: int, request: Request, who: Who):
    require(who, "manage_protocol")
    form = form_values(await request.form())
    body, errors = _read(ProtocolEditIn, form)
    if body is not None:
        try:
            with unit_of_work(request) as db:
                protocol_service.edit_version(
                    acting_user(db, who), db, number, body.protocol, body.summary
                )
        except Refusal as exc:
            if exc.code in ("role_not_allowed", "other_site"):
                raise
            errors = errors_from_refusal(exc)
    if errors:
        return _page(request, who, status_code=422, values=form, errors=errors, form_name="edit")
    flash(request, "ok", f"Protocol version {number} saved.")
    return RedirectResponse("/protocol", status_code=303)


@router.post("/protocol/amendments")
async def amend_page(request: Request, who: Who):
    require(who, "manage_protocol")
    form = form_values(await request.form())
    body, errors = _read(AmendmentIn, form)
    number = None
    if body is not None:
        try:
            with unit_of_work(request) as db:
                row = protocol_service.amend(
                    acting_user(db, who),
                    db,
                    body.protocol,
                    effective_from=body.effective_from,
                    summary=body.summary,
                )
                number = row.number
        except Refusal as exc:
            if exc.code in ("role_not_allowed", "other_site"):
                raise
            errors = errors_from_refusal(exc)
    if errors:
        return _page(request, who, status_code=422, values=form, errors=errors, form_name="amend")
    flash(request, "ok", f"Amendment saved as protocol version {number}.")
    return RedirectResponse("/protocol", status_code=303)


# -- API -------------------------------------------------------------------------------------------


@api.get("", response_model=ProtocolOut, summary="The protocol's versions and the one in effect")
def api_protocol(request: Request, who: Who) -> dict:
    require(who, "view_protocol")
    versions = _versions(request, who)
    current = next((v.number for v in versions if v.in_effect), versions[-1].number)
    return {"in_effect": current, "versions": [_version_out(v) for v in versions]}


@api.get(
    "/versions/{number}",
    response_model=VersionOut,
    summary="One protocol version",
    responses={404: {"description": "No such version"}},
)
def api_version(number: Number, request: Request, who: Who) -> dict:
    require(who, "view_protocol")
    for v in _versions(request, who):
        if v.number == number:
            return _version_out(v)
    raise NotFound(f"no protocol version {number}")


@api.put(
    "/versions/{number}",
    response_model=VersionOut,
    summary="Replace a version no record was collected under yet (version 1 before the first "
    "enrolment)",
    responses={409: {"description": "Records were collected under it (`protocol_in_use`)"}},
)
def api_edit(number: Number, body: ProtocolEditIn, request: Request, who: Who) -> dict:
    require(who, "manage_protocol")
    with unit_of_work(request) as db:
        protocol_service.edit_version(acting_user(db, who), db, number, body.protocol, body.summary)
    return api_version(number, request, who)


@api.post(
    "/versions",
    response_model=VersionOut,
    status_code=201,
    summary="Amend the protocol: a new version in effect from its date",
)
def api_amend(body: AmendmentIn, request: Request, who: Who, _: Idempotent) -> dict:
    require(who, "manage_protocol")
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        row = protocol_service.amend(
            user, db, body.protocol, effective_from=body.effective_from, summary=body.summary
        )
        info = next(v for v in protocol_service.versions(user, db) if v.number == row.number)
        return respond(request, db, _version_out(info), 201)
