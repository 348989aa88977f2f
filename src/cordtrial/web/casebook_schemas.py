"""Request models of the casebook and data management, shared by pages and the JSON API (one
definition per form; field descriptions are the "allowed" words of the error messages)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from cordtrial.casebook.plausibility import WARNINGS
from cordtrial.store.models import DEVIATION_KINDS, VISIT_CODES
from cordtrial.store.services.locks import MEANING, TRIAL_PURPOSE

from .schemas import Strict

VisitCode = Literal[VISIT_CODES]  # type: ignore[valid-type]
WarningCode = Literal[tuple(sorted(WARNINGS))]  # type: ignore[valid-type]
_TEXT = "text of 1-2000 characters"
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class Confirmations(Strict):
    """The plausibility warnings confirmed for a save (cordtrial.casebook.plausibility)."""

    confirm: list[WarningCode] = Field(
        default=[],
        max_length=10,
        description="rule codes of the warnings confirmed: " + ", ".join(sorted(WARNINGS)),
    )
    deviation_reason: str | None = Field(
        default=None,
        max_length=2000,
        description="why the visit is outside its window (required with visit_out_of_window)",
    )


class QueryOpenIn(Strict):
    field: str | None = Field(
        default=None, max_length=100, description="a field of the record, or none for all of it"
    )
    text: Text = Field(description="the question to the site: " + _TEXT)


class QueryOpenApiIn(QueryOpenIn):
    record_table: str = Field(max_length=64, description="the record's table, e.g. assessments")
    record_id: int = Field(ge=1, le=2**31 - 1, description="the record's id")


class QueryAnswerIn(Strict):
    text: Text = Field(description="what was corrected, or why the value stands: " + _TEXT)
    correction: bool = Field(
        default=False, description="true when the record was corrected after the query opened"
    )


class QueryMessageIn(Strict):
    text: Text = Field(description=_TEXT)


class NotDoneIn(Strict):
    visit_code: VisitCode = Field(description="a protocol visit")
    form: str = Field(max_length=32, description="a form scheduled at the visit, e.g. nbd")
    reason: Text = Field(description="why the form will not be done: " + _TEXT)


class CasebookLockIn(Strict):
    password: str = Field(min_length=1, max_length=1024, description="your password")
    meaning: Literal[MEANING] = Field(description=f"the meaning of the signature: {MEANING!r}")


class ReasonIn(Strict):
    reason: Text = Field(description="why: " + _TEXT)


class TrialLockIn(Strict):
    password: str = Field(min_length=1, max_length=1024, description="your password")
    purpose: Text = Field(default=TRIAL_PURPOSE, description="what the lock is for: " + _TEXT)


class DeviationIn(Strict):
    kind: Literal[DEVIATION_KINDS] = Field(  # type: ignore[valid-type]
        description="one of " + ", ".join(DEVIATION_KINDS)
    )
    description: Text = Field(description="what happened: " + _TEXT)
    reason: Text = Field(description="why it happened: " + _TEXT)
    visit_code: VisitCode | None = Field(default=None, description="the visit, if any")


class DeviationCloseIn(Strict):
    resolution: Text = Field(description="what was concluded or done: " + _TEXT)


class ReconcileIn(Confirmations):
    chosen: dict[Annotated[str, StringConstraints(max_length=64)], Any] = Field(
        max_length=200,
        description="for each discrepant field, the value read from the source document",
    )
