"""What the examiner writes beside the grades: comments, and the reason for each flagged value.

The ISNCSCI 2019 worksheet asks the examiner to document the non-SCI condition behind every
value flagged ``*`` (considered not normal) or ``**`` (considered normal), and has a box for
comments (reason for NT, pain, non-key muscles...). They travel with the exam record: the RHI
naming carries comments as ``comments`` and each reason as ``<cell>Reason`` (e.g.
``c5RightMotorReason``), keys the classification ignores.

Checks: a reason only for a cell that carries a flag; text without control characters (line
breaks allowed in comments), at most ``MAX_REASON`` / ``MAX_COMMENTS`` characters. Pure: no
I/O, reused by the store, the web forms, the API and the importer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .exam import CELL_KEYS, Exam, ExamValidationError, FieldError

MAX_COMMENTS = 2000
MAX_REASON = 200
REASON_SUFFIX = "Reason"

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # tab and line feed allowed
_CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ExamNotes:
    """Cleaned comments (None when empty) and reasons (cell key -> reason, worksheet order)."""

    comments: str | None
    flag_reasons: dict[str, str]


def flagged_cells(exam: Exam) -> dict[str, str]:
    """Every cell of the exam that carries a ``*``/``**`` flag, key -> value, in worksheet
    order."""
    return {
        key: value for key, value in exam.to_rhi().items() if key in _CELLS and value.endswith("*")
    }


def clean_notes(exam: Exam, comments: Any = None, flag_reasons: Any = None) -> ExamNotes:
    """Check and normalise an exam's comments and flag reasons; raise ExamValidationError
    naming every bad field (``comments``, ``<cell>Reason``)."""
    errors: list[FieldError] = []
    if isinstance(comments, str):
        comments = comments.replace("\r\n", "\n").replace("\r", "\n")  # a browser's line breaks
    text = _text(comments, "comments", MAX_COMMENTS, _CONTROL, errors)
    reasons: dict[str, str] = {}
    if flag_reasons is not None and not isinstance(flag_reasons, Mapping):
        errors.append(FieldError("flag_reasons", flag_reasons, "an object: cell -> reason"))
        flag_reasons = {}
    flagged = flagged_cells(exam)
    for key, value in (flag_reasons or {}).items():
        field = f"{key}{REASON_SUFFIX}"
        reason = _text(value, field, MAX_REASON, _CONTROL_IN_LINE, errors)
        if reason is None:
            continue
        if key not in flagged:
            allowed = ", ".join(f"{k} ({v})" for k, v in flagged.items()) or "none is flagged"
            errors.append(
                FieldError(field, value, f"a reason only for a cell flagged * or **: {allowed}")
            )
            continue
        reasons[key] = reason
    if errors:
        raise ExamValidationError(errors, exam.id)
    order = {key: i for i, key in enumerate(CELL_KEYS)}
    return ExamNotes(text, dict(sorted(reasons.items(), key=lambda kv: order[kv[0]])))


def notes_from_rhi(data: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(comments, reasons) carried in the flat RHI naming (``comments``, ``<cell>Reason``)."""
    reasons = {
        key[: -len(REASON_SUFFIX)]: value
        for key, value in data.items()
        if isinstance(key, str) and key.endswith(REASON_SUFFIX)
        and key[: -len(REASON_SUFFIX)] in _CELLS
    }  # fmt: skip
    return data.get("comments"), reasons


def _text(value: Any, field: str, limit: int, control: re.Pattern, errors: list) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(FieldError(field, value, "text"))
        return None
    text = value.strip()
    if not text:
        return None
    if len(text) > limit:
        errors.append(FieldError(field, f"{text[:40]}... ({len(text)} characters)",
                                 f"text of at most {limit} characters"))  # fmt: skip
        return None
    if control.search(text):
        allowed = "text without control characters"
        errors.append(
            FieldError(
                field, value, allowed + (" (line breaks allowed)" if control is _CONTROL else "")
            )
        )
        return None
    return text


_CELLS = frozenset(CELL_KEYS)
