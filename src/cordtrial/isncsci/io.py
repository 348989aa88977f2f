"""Reading exams from and writing results to JSON and CSV files (the small-file CLI path).

Large archives stream through ``cordtrial.isncsci.batch`` instead.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .classification import RESULT_KEYS, Classification, classify
from .exam import ExamValidationError
from .explain import explain as explanation_of
from .native import exam_from_any, result_to_native


class InputError(Exception):
    """The input as a whole cannot be read (a usage error, not a bad exam)."""


def read_records(text: str, suffix: str) -> list[Any]:
    """Exam records from JSON (one object or an array) or CSV (one exam per row)."""
    stripped = text.lstrip()
    if suffix == ".csv" or (suffix not in (".json",) and stripped[:1] not in ("{", "[")):
        rows = list(csv.DictReader(io.StringIO(text)))
        if not rows:
            raise InputError(
                "the CSV input has no rows (a header with RHI column names and one exam per row)"
            )
        return [{k: v for k, v in row.items() if k is not None} for row in rows]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"the input is not valid JSON: {exc}") from None
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return data
    raise InputError("the JSON input must be one exam object or an array of exam objects")


@dataclass
class Outcome:
    index: int
    result: Classification | None
    error: ExamValidationError | None


def classify_records(records: list[Any], input_format: str = "auto") -> Iterator[Outcome]:
    for index, record in enumerate(records):
        try:
            exam = exam_from_any(record, input_format)
        except ExamValidationError as exc:
            yield Outcome(index, None, exc)
            continue
        yield Outcome(index, classify(exam), None)


def result_record(result: Classification, output_format: str, explain: bool) -> dict[str, Any]:
    if output_format == "native":
        return result_to_native(result, explain=explain)
    out: dict[str, Any] = {} if result.exam.id is None else {"id": result.exam.id}
    out.update(result.to_rhi())
    if explain:
        out["explanation"] = explanation_of(result)
    return out


def write_json(records: list[dict[str, Any]]) -> str:
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


def write_csv(results: list[Classification], explain: bool) -> str:
    buffer = io.StringIO()
    has_id = any(r.exam.id is not None for r in results)
    columns = (["id"] if has_id else []) + list(RESULT_KEYS) + (["explanation"] if explain else [])
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in results:
        row: dict[str, Any] = dict(r.to_rhi())
        if has_id:
            row["id"] = r.exam.id
        if explain:
            row["explanation"] = " | ".join(explanation_of(r))
        writer.writerow(row)
    return buffer.getvalue()


def error_lines(outcome: Outcome, record: Any) -> list[str]:
    """One line per bad field, naming the exam by id (or its position), field, value, allowed."""
    assert outcome.error is not None
    exam_id = record.get("id") if isinstance(record, dict) else None
    who = f"exam {exam_id!r}" if exam_id not in (None, "") else f"exam #{outcome.index + 1}"
    return [
        f"{who}: {e.field}: {e.value!r} is not allowed; allowed: {e.allowed}"
        for e in outcome.error.errors
    ]
