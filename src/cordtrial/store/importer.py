"""Import ISNCSCI exams from a file: all or nothing per file, with a report of bad rows.

Formats: CSV with a header row, or JSON (a list of objects, or ``{"exams": [...]}``). Each row
holds the RHI worksheet fields (../shared/isncsci/README.md) plus:

- ``patient``: the study code; ``visit``: a protocol visit code; ``exam_date``: YYYY-MM-DD;
- ``assessor``: the assessor's name; ``blinded``: yes/no, true/false or 1/0;
- optional ``comments`` and, per value flagged ``*``/``**``, its reason as ``<cell>Reason``
  (``cordtrial.isncsci.notes``).

Every row is checked first (patient known and at the importing user's site, visit, date, exam
validity by the engine). One bad row rejects the whole file and nothing is written. Otherwise
all rows are stored in one transaction, so an interrupted import (crash, kill) leaves the store
exactly as before it started.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.isncsci.notes import notes_from_rhi

from .models import VISIT_CODES, Patient, User
from .services import assessments
from .services.base import require_role
from .services.plausibility import CONFIRM_ALL

META = ("patient", "visit", "exam_date", "assessor", "blinded")
_TRUE = {"yes", "true", "1", "y"}
_FALSE = {"no", "false", "0", "n"}


class ImportFileError(ValueError):
    """The file cannot be read as an exam file at all."""


@dataclass
class RowError:
    row: int  # 1-based data row (CSV: line number minus the header)
    field: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.field}: got {self.value!r}; allowed: {self.allowed}"


@dataclass
class ImportReport:
    path: str
    rows: int = 0
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def bad_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})

    def summary(self) -> str:
        if self.ok:
            return f"{self.path}: imported {self.imported} of {self.rows} exams"
        lines = [
            f"{self.path}: REJECTED, nothing imported: {len(self.bad_rows())} bad row(s) "
            f"of {self.rows}"
        ]
        lines += [f"  {e}" for e in self.errors]
        return "\n".join(lines)


def read_rows(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"{path}: cannot read ({exc})") from None
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames:
            raise ImportFileError(f"{path}: empty CSV (a header row is required)")
        missing = [m for m in META if m not in reader.fieldnames]
        if missing:
            raise ImportFileError(
                f"{path}: CSV header lacks {', '.join(missing)}; "
                f"required: {', '.join(META)} and the RHI fields"
            )
        return [dict(r) for r in reader]
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFileError(f"{path}: not valid JSON ({exc})") from None
        if isinstance(data, dict) and isinstance(data.get("exams"), list):
            data = data["exams"]
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ImportFileError(
                f'{path}: JSON must be a list of exam objects or {{"exams": [...]}}'
            )
        return data
    raise ImportFileError(f"{path}: unknown file type {suffix!r}; allowed: .csv, .json")


@dataclass
class _Checked:
    patient: Patient
    visit: str
    exam_date: date
    assessor: str
    blinded: bool
    rhi: dict[str, Any]
    comments: str | None = None
    flag_reasons: dict[str, Any] = field(default_factory=dict)


def _check_row(
    session: Session,
    user: User,
    n: int,
    row: dict[str, Any],
    patients: dict[str, Patient],
    errors: list[RowError],
) -> _Checked | None:
    from cordtrial.isncsci import ExamValidationError

    start = len(errors)
    code = str(row.get("patient") or "").strip()
    patient = patients.get(code)
    if patient is None:
        errors.append(RowError(n, "patient", row.get("patient"), "a registered study code"))
    elif user.site_id is not None and patient.site_id != user.site_id:
        errors.append(RowError(n, "patient", code, "a patient of the importing user's site"))
    visit = str(row.get("visit") or "").strip()
    if visit not in VISIT_CODES:
        errors.append(RowError(n, "visit", row.get("visit"), ", ".join(VISIT_CODES)))
    try:
        exam_date = date.fromisoformat(str(row.get("exam_date") or "").strip())
    except ValueError:
        exam_date = None
        errors.append(RowError(n, "exam_date", row.get("exam_date"), "a date YYYY-MM-DD"))
    assessor = str(row.get("assessor") or "").strip()
    if not assessor:
        errors.append(RowError(n, "assessor", row.get("assessor"), "the assessor's name"))
    raw_blind = row.get("blinded")
    blinded_text = str(raw_blind).strip().lower() if raw_blind is not None else ""
    if isinstance(raw_blind, bool):
        blinded = raw_blind
    elif blinded_text in _TRUE | _FALSE:
        blinded = blinded_text in _TRUE
    else:
        blinded = False
        errors.append(RowError(n, "blinded", raw_blind, "yes/no, true/false or 1/0"))
    rhi = {k: v for k, v in row.items() if k not in META}
    comments, reasons = notes_from_rhi(rhi)
    reasons = {k: v for k, v in reasons.items() if v not in (None, "")}  # empty CSV cells
    try:
        assessments.evaluate_exam(rhi)
        assessments.evaluate_notes(rhi, comments or None, reasons)
    except ExamValidationError as exc:
        errors.extend(RowError(n, e.field, e.value, e.allowed) for e in exc.errors)
    if len(errors) > start:
        return None
    return _Checked(patient, visit, exam_date, assessor, blinded, rhi, comments or None, reasons)


def import_exams(
    session: Session,
    user: User,
    path: str | Path,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportReport:
    """Check then store every exam of the file in ``session`` (the caller commits).

    Returns a report; when it has errors nothing was added to the session.
    ``progress(phase, done, total)`` is called per row ("checking", then "writing").
    """
    path = Path(path)
    require_role(session, user, assessments.ASSESS_ROLES, "import exams")
    rows = read_rows(path)
    report = ImportReport(str(path), rows=len(rows))
    codes = {str(r.get("patient") or "").strip() for r in rows}
    patients = {
        p.study_code: p
        for p in session.scalars(select(Patient).where(Patient.study_code.in_(codes)))
    }
    checked: list[_Checked] = []
    for n, row in enumerate(rows, start=1):
        c = _check_row(session, user, n, row, patients, report.errors)
        if c is not None:
            checked.append(c)
        if progress:
            progress("checking", n, len(rows))
    if not report.ok:
        return report
    for n, c in enumerate(checked, start=1):
        assessments.record_isncsci(
            user,
            session,
            c.patient,
            visit_code=c.visit,
            assessed_on=c.exam_date,
            rhi=c.rhi,
            assessor_name=c.assessor,
            blinded=c.blinded,
            comments=c.comments,
            flag_reasons=c.flag_reasons,
            # exams examined and entered elsewhere: their warnings are confirmed (and stored)
            # in the importing user's name, a visit out of window with its deviation
            confirm=CONFIRM_ALL,
            deviation_reason=f"imported from {path.name}",
        )
        report.imported += 1
        if n % 50 == 0:
            session.flush()
        if progress:
            progress("writing", n, len(checked))
    return report


def write_csv(rows: Iterable[dict[str, Any]], path: Path) -> None:
    """Write exam rows (metadata + RHI fields) as an import CSV."""
    rows = list(rows)
    keys: list[str] = list(META)
    for r in rows:
        keys += [k for k in r if k not in keys]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
