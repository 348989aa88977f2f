"""Exports: CSV downloads of study data, and the data standards (SDTM, ODM, REDCap, SAS, SPSS,
Stata) as zip archives, for statisticians, monitors and investigators; de-identified, site-scoped."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from ..deps import current_principal, require, unit_of_work
from ..errors import FormInvalid, NotFound, WebError
from ..exports import EXPORTS, FILTERS, header_of, to_csv
from ..forms import pydantic_error
from ..principal import Principal
from ..render import render

router = APIRouter(include_in_schema=False)


@router.get("/exports")
def exports_page(request: Request, who: Annotated[Principal, Depends(current_principal)]):
    require(who, "export")
    from cordtrial.instruments.versions import DEFINITIONS
    from cordtrial.standards.export import FORMATS

    return render(
        request, "exports.html", exports=EXPORTS, versions=list(DEFINITIONS), standards=FORMATS
    )


@router.get("/exports/{name}.csv")
def export_csv(name: str, request: Request, who: Annotated[Principal, Depends(current_principal)]):
    require(who, "export")
    if name not in EXPORTS:
        raise NotFound(f"no export {name!r}; available: {', '.join(EXPORTS)}")
    if name == "audit_trail":
        require(who, "view_audit")
    filters = _filters(name, dict(request.query_params))
    with unit_of_work(request) as db:
        rows = list(EXPORTS[name][2](db, who, **filters))
        body = to_csv(rows, None if rows else header_of(name, db, who))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="cordtrial-{name}.csv"'},
    )


def _filters(name: str, query: dict[str, str]) -> dict[str, object]:
    """The export's query read through its model; an export without one takes no query."""
    query = {k: v for k, v in query.items() if v.strip()}
    model = FILTERS.get(name)
    if model is None:
        if query:
            field = next(iter(query))
            raise FormInvalid(
                [{"field": field, "value": query[field], "allowed": "no query for this export"}],
                f"{field}: the {name} export takes no query",
            )
        return {}
    try:
        return model.model_validate(query).model_dump(exclude_none=True)
    except ValidationError as exc:
        errors = [pydantic_error(e, model) for e in exc.errors()]
        raise FormInvalid(
            errors,
            "; ".join(f"{e['field']}: got {e['value']!r}; allowed: {e['allowed']}" for e in errors),
        ) from None


@router.get("/exports/standard")
def export_standard(
    request: Request, who: Annotated[Principal, Depends(current_principal)], format: str = ""
):
    """One data standard as a zip: the caller's site only (all sites for sponsor-level roles),
    never identifying data."""
    from cordtrial.standards.export import FORMATS, export_zip

    require(who, "export")
    if format not in FORMATS:
        raise WebError(f"format: got {format!r}; allowed: {', '.join(FORMATS)}")
    with unit_of_work(request) as db:
        body = export_zip(format, db, site_id=who.site_id)
    scope = f"-{who.site_code.lower()}" if who.site_code else ""
    return Response(
        body,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="cordtrial-{format}{scope}.zip"'},
    )
