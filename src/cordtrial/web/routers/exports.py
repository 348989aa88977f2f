"""Exports: CSV downloads of study data for statisticians, monitors and investigators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..deps import current_principal, require, unit_of_work
from ..errors import NotFound
from ..exports import EXPORTS, to_csv
from ..principal import Principal
from ..render import render

router = APIRouter(include_in_schema=False)


@router.get("/exports")
def exports_page(request: Request, who: Annotated[Principal, Depends(current_principal)]):
    require(who, "export")
    return render(request, "exports.html", exports=EXPORTS)


@router.get("/exports/{name}.csv")
def export_csv(name: str, request: Request, who: Annotated[Principal, Depends(current_principal)]):
    require(who, "export")
    if name not in EXPORTS:
        raise NotFound(f"no export {name!r}; available: {', '.join(EXPORTS)}")
    if name == "audit_trail":
        require(who, "view_audit")
    with unit_of_work(request) as db:
        body = to_csv(EXPORTS[name][2](db, who))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="cordtrial-{name}.csv"'},
    )
