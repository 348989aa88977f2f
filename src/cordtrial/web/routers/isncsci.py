"""The ISNCSCI worksheet page (calculator mode) and the live classification API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, create_model

from cordtrial import isncsci

from .. import layout
from ..classify import WorksheetInvalid, classify_worksheet
from ..deps import current_principal
from ..errors import FormInvalid
from ..principal import Principal
from ..render import render

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/isncsci", tags=["ISNCSCI"])


def _cell_description(name: str) -> str:
    if name in (layout.VAC, layout.DAP):
        return "Yes | No | NT"
    if name in layout.NON_KEY.values():
        return "a key-muscle level C5..T1 or L2..S1, or omitted"
    if name.endswith("Motor"):
        return "0..5 | NT; flagged 0*..4*, NT*, 0**..4**, NT**"
    return "0 | 1 | 2 | NT; flagged 0*, 1*, NT*, 0**, 1**, NT**"


# The request body: every worksheet field by its RHI name, all optional so a half-filled
# worksheet can be classified (?partial=true); the engine checks the values.
RhiExam = create_model(
    "RhiExam",
    __config__=ConfigDict(extra="forbid"),
    **{
        name: (str | int | None, Field(default=None, description=_cell_description(name)))
        for name in layout.ALL_FIELDS
    },
)


class ClassificationOut(BaseModel):
    result: dict[str, str] = Field(description="The 25 result fields (RHI naming).")
    explanation: list[str]
    missing: list[str] = Field(description="Cells not entered (counted as NT with partial).")
    complete: bool
    engine_version: str


class FieldErrorOut(BaseModel):
    field: str
    value: object | None = None
    allowed: str


class ErrorOut(BaseModel):
    detail: str
    errors: list[FieldErrorOut] = []
    code: str | None = None


ERRORS = {
    401: {"model": ErrorOut, "description": "Not logged in"},
    403: {"model": ErrorOut, "description": "Not allowed (role, site or CSRF)"},
    422: {"model": ErrorOut, "description": "Invalid input: errors name field, value, allowed"},
}


@api.post(
    "/classify",
    response_model=ClassificationOut,
    responses=ERRORS,
    summary="Classify an ISNCSCI exam",
)
def classify(
    exam: Annotated[RhiExam, Body()],  # type: ignore[valid-type]
    principal: Annotated[Principal, Depends(current_principal)],
    partial: Annotated[
        bool, Query(description="Count cells not entered as NT instead of refusing.")
    ] = False,
) -> dict:
    """Classify an exam given in the flat RHI naming; answers totals, levels, NLI, AIS, ZPP and
    the reasons. Nothing is stored."""
    try:
        live = classify_worksheet(exam.model_dump(exclude_none=True), partial=partial)
    except WorksheetInvalid as exc:
        raise FormInvalid([p.as_dict() for p in exc.problems], "invalid ISNCSCI exam") from exc
    return live.as_dict()


@pages.get("/isncsci")
def worksheet_page(request: Request, principal: Annotated[Principal, Depends(current_principal)]):
    return render(request, "isncsci.html", engine_version=isncsci.ENGINE_VERSION)
