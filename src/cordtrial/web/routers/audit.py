"""The audit trail viewer (read-only; the trail cannot be edited through any page or call)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from cordtrial.store import audit
from cordtrial.store.models import AUDITED_MODELS

from ..audit_view import entries_for
from ..deps import current_principal, require, unit_of_work
from ..principal import Principal
from ..render import render

router = APIRouter(include_in_schema=False)
TABLES = tuple(sorted(model.__tablename__ for model in AUDITED_MODELS))


@router.get("/audit")
def audit_page(
    request: Request,
    who: Annotated[Principal, Depends(current_principal)],
    table: Annotated[str, Query(max_length=64)] = "",
    actor: Annotated[str, Query(max_length=64)] = "",
    record_id: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    verify: Annotated[bool, Query()] = False,
):
    require(who, "view_audit")
    with unit_of_work(request) as db:
        entries, more = entries_for(
            db,
            who,
            table=table or None,
            actor=actor or None,
            record_id=record_id or None,
            limit=50,
            offset=(page - 1) * 50,
        )
        report = audit.verify(db) if verify and who.site_id is None else None
        return render(
            request,
            "audit.html",
            entries=entries,
            more=more,
            page=page,
            tables=TABLES,
            filters={"table": table, "actor": actor, "record_id": record_id},
            report=report,
        )
