"""Request models shared by the JSON API and the HTML forms, so a field's rule is written once.

A field's ``description`` says what is allowed in words; form and API errors quote it
(``forms.pydantic_error``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from cordtrial.store.text import value_problems


class Strict(BaseModel):
    """Base of every request model: unknown fields, non-finite numbers, control characters and
    unpaired surrogates (anywhere, nested values and keys included) are refused, naming the
    field (cordtrial.store.text)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="wrap")
    @classmethod
    def _refuse_bad_text(cls, data: Any, handler):
        problems = list(value_problems(data)) if isinstance(data, dict) else []
        if problems:
            raise ValidationError.from_exception_data(
                cls.__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("refused_text", "{problem}", {"problem": p}),
                        loc=tuple(str(x) for x in path),
                        input=None,
                    )
                    for path, p in problems
                ],
            )
        return handler(data)


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
