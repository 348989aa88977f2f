"""Live worksheet classification: the web's thin adapter over the ISNCSCI engine.

The engine (cordtrial.isncsci) holds every rule; this module only turns a possibly half-filled
worksheet into an engine call and the engine's answer into JSON-ready data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cordtrial import isncsci
from cordtrial.isncsci.explain import explain

from .layout import CELL_FIELDS, DAP, VAC


@dataclass(frozen=True)
class FieldProblem:
    """One invalid input: the field, the value given and what is allowed."""

    field: str
    value: object
    allowed: str

    def as_dict(self) -> dict[str, object]:
        return {"field": self.field, "value": self.value, "allowed": self.allowed}


class WorksheetInvalid(ValueError):
    def __init__(self, problems: list[FieldProblem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}={p.value!r}: allowed {p.allowed}" for p in problems))


@dataclass(frozen=True)
class LiveResult:
    result: dict[str, str]
    explanation: list[str]
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "result": self.result,
            "explanation": self.explanation,
            "missing": self.missing,
            "complete": not self.missing,
            "engine_version": isncsci.ENGINE_VERSION,
        }


def clean_rhi(values: Mapping[str, object]) -> dict[str, str]:
    """Drop blank values (an untouched cell) and trim the rest; values stay as typed so the
    engine reports them verbatim when invalid."""
    cleaned: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        text = str(value).strip()
        if text:
            cleaned[key] = text
    return cleaned


def missing_cells(values: Mapping[str, str]) -> list[str]:
    """Required worksheet cells not yet entered (the two non-key muscle fields are optional)."""
    return [f for f in (*CELL_FIELDS, VAC, DAP) if f not in values]


def to_exam(values: Mapping[str, object], *, partial: bool = False) -> tuple[object, list[str]]:
    """Build an engine Exam. With `partial`, cells not yet entered count as not testable (NT),
    so the result lists every classification still possible; otherwise each is an error, reported
    together with any invalid values."""
    cleaned = clean_rhi(values)
    missing = missing_cells(cleaned)
    filled = dict(cleaned)
    for name in missing:
        filled[name] = "NT"
    problems: list[FieldProblem] = []
    if not partial:
        problems = [
            FieldProblem(f, None, "a value is required (use NT if not testable)") for f in missing
        ]
    exam = None
    try:
        exam = isncsci.Exam.from_rhi(filled)
    except isncsci.ExamValidationError as exc:
        problems += [FieldProblem(e.field, e.value, e.allowed) for e in exc.errors]
    if problems:
        raise WorksheetInvalid(problems)
    return exam, missing


def classify_worksheet(values: Mapping[str, object], *, partial: bool = False) -> LiveResult:
    exam, missing = to_exam(values, partial=partial)
    result = isncsci.classify(exam)
    return LiveResult(dict(result.to_rhi()), explain(result), missing)
