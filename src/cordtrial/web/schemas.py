"""Request models shared by the JSON API and the HTML forms, so a field's rule is written once.

A field's ``description`` says what is allowed in words; form and API errors quote it
(``forms.pydantic_error``).
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class PassageIn(Strict):
    """One culture passage of a cell-product lot (manufacturing.record_passage)."""

    passage_number: int = Field(ge=0, le=50, description="a whole number 0-50")
    seeded_on: date = Field(description="a date YYYY-MM-DD")
    harvested_on: date = Field(description="a date YYYY-MM-DD")
    cells_seeded: float = Field(gt=0, description="a cell count > 0, e.g. 1e6")
    cells_harvested: float = Field(gt=0, description="a cell count > 0, e.g. 2.5e7")
    viability_pct: float = Field(ge=0, le=100, description="0-100 %")
    operator: str = Field(min_length=1, max_length=200, description="the operator's name")
    vessels: int = Field(default=1, ge=1, le=1000, description="a whole number 1-1000")
    confluence_pct: float | None = Field(default=None, ge=0, le=100, description="0-100 % or blank")
