"""CSV exports of study data (never identifying data), scoped to the caller's site."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from cordtrial.instruments.versions import DEFINITIONS, review_text
from cordtrial.store import models as m

from . import layout
from .audit_view import iter_entries
from .principal import Principal


def _patients(db: DbSession, who: Principal) -> list[m.Patient]:
    q = select(m.Patient).order_by(m.Patient.study_code)
    if who.site_id is not None:
        q = q.where(m.Patient.site_id == who.site_id)
    return list(db.scalars(q))


def patients_rows(db, who) -> Iterable[dict]:
    for p in _patients(db, who):
        inj = p.injury
        yield {
            "patient": p.study_code,
            "site": p.site.code,
            "sex": p.sex or "",
            "age_at_injury": p.age_at_injury,
            "status": p.status,
            "injury_date": inj.injury_date.isoformat() if inj else "",
            "injury_level": inj.level if inj else "",
            # the end of study, as the data-standard and table exports carry it
            "ended_on": p.ended_on.isoformat() if p.ended_on else "",
            "end_reason": p.end_reason or "",
            "end_detail": p.end_detail or "",
            "synthetic": p.synthetic,
        }


def _by_patient(db, who, model, order):
    pats = {p.id: p for p in _patients(db, who)}
    q = select(model).where(model.patient_id.in_(pats)).order_by(*order)
    for row in db.scalars(q):
        yield pats[row.patient_id], row


def isncsci_rows(db, who) -> Iterable[dict]:
    for p, a in _by_patient(
        db, who, m.Assessment, (m.Assessment.patient_id, m.Assessment.assessed_on)
    ):
        if a.kind != "isncsci":
            continue
        row = {
            "patient": p.study_code,
            "visit": a.visit_code,
            "exam_date": a.assessed_on.isoformat(),
            "assessor": a.assessor_name,
            "blinded": a.blinded,
            "engine_version": a.engine_version,
        }
        row.update({k: (a.result or {}).get(k, "") for k in layout.RESULT_FIELDS})
        row.update({k: (a.data or {}).get(k, "") for k in layout.ALL_FIELDS})
        yield row


class InstrumentExportFilter(BaseModel):
    """Query of the instruments export: one definition version, and/or only the records a
    definition correction may have changed (e.g. WISCI II 18/19 entered under wisci2@1)."""

    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(None, description="a definition version: " + ", ".join(DEFINITIONS))
    review: Literal["pending"] | None = Field(
        None, description="'pending': only records awaiting definition review"
    )

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: str | None) -> str | None:
        if value is not None and value not in DEFINITIONS:
            raise ValueError("unknown definition version")
        return value


def instrument_rows(db, who, version: str | None = None, review: str | None = None):
    for p, a in _by_patient(
        db, who, m.Assessment, (m.Assessment.patient_id, m.Assessment.assessed_on)
    ):
        if a.kind == "isncsci" or (version is not None and a.engine_version != version):
            continue
        pending = review_text(a.engine_version, a.data or {})
        if review == "pending" and not pending:
            continue
        result = a.result or {}
        yield {
            "patient": p.study_code,
            "instrument": a.kind,
            "definition_version": a.engine_version or "",
            "awaiting_review": pending,
            "visit": a.visit_code,
            "date": a.assessed_on.isoformat(),
            "total": result.get("total", ""),
            "scores": _json(result.get("scores", {})),
            "items": _json(a.data),
            "assessor": a.assessor_name,
            "blinded": a.blinded,
        }


def adverse_event_rows(db, who) -> Iterable[dict]:
    for p, ae in _by_patient(db, who, m.AdverseEvent, (m.AdverseEvent.onset_date,)):
        yield {
            "patient": p.study_code,
            "term": ae.term,
            "grade_scale": ae.grade_scale,
            "grade": ae.grade,
            "serious": ae.serious,
            "related_product": ae.related_product,
            "related_harvest": ae.related_harvest,
            "related_blood_draw": ae.related_blood_draw,
            "related_infusion": ae.related_infusion,
            "expected": ae.expected,
            "onset_date": ae.onset_date.isoformat(),
            "resolution_date": ae.resolution_date.isoformat() if ae.resolution_date else "",
            "outcome": ae.outcome or "",
        }


def infusion_rows(db, who) -> Iterable[dict]:
    for p, inf in _by_patient(db, who, m.Infusion, (m.Infusion.infused_on,)):
        yield {
            "patient": p.study_code,
            "infusion_number": inf.infusion_number,
            "infused_on": inf.infused_on.isoformat(),
            "lot": db.get(m.Lot, inf.lot_id).lot_number,
            "cells_total": inf.cells_total,
            "cells_per_kg": inf.cells_per_kg,
            "weight_kg": inf.weight_kg,
            "dilution_factor": inf.dilution_factor,
            "rate_ml_per_min": inf.rate_ml_per_min,
            "reaction": inf.reaction or "",
        }


def lot_rows(db, who) -> Iterable[dict]:
    for p, lot in _by_patient(db, who, m.Lot, (m.Lot.lot_number,)):
        cum = 0.0
        for ps in lot.passages:
            cum += ps.population_doublings
            yield {
                "lot": lot.lot_number,
                "patient": p.study_code,
                "status": lot.status,
                "passage": ps.passage_number,
                "seeded_on": ps.seeded_on.isoformat(),
                "harvested_on": ps.harvested_on.isoformat(),
                "cells_seeded": ps.cells_seeded,
                "cells_harvested": ps.cells_harvested,
                "viability_pct": ps.viability_pct,
                "population_doublings": round(ps.population_doublings, 4),
                "cumulative_pd": round(cum, 4),
            }


def audit_rows(db, who) -> Iterable[dict]:
    for e in iter_entries(db, who):
        yield {
            "seq": e["seq"],
            "at": e["at"],
            "actor": e["actor"],
            "action": e["action"],
            "table": e["table"],
            "record_id": e["record_id"],
            "changes": _json(e["changes"]),
            "reason": e["reason"] or "",
            "hash": e["hash"],
        }


def _analysis(table: str):
    """One of the five tidy tables of the analysis contract (cordtrial.store.tables), the same
    files `cordtrial analyse` reads; restricted to the caller's site by the store."""

    def rows(db, who) -> Iterable[dict]:
        from cordtrial.store.tables import analysis_tables

        frame = getattr(analysis_tables(db, db.get(m.User, who.id)), table)
        for record in frame.to_dict(orient="records"):
            yield {k: _plain(v) for k, v in record.items()}

    return rows


def _plain(value):
    import math

    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.date().isoformat() if hasattr(value, "date") else value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return ""
    return value


def _json(value) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)


# Exports that take a query (validated with the model; the others take none).
FILTERS: dict[str, type[BaseModel]] = {"instruments": InstrumentExportFilter}

EXPORTS: dict[str, tuple[str, str, Callable[..., Iterable[dict]]]] = {
    "patients": (
        "Patients",
        "study code, site, sex, age, injury (no identifying data)",
        patients_rows,
    ),
    "isncsci": (
        "ISNCSCI exams",
        "every exam: the 25 results and the cells as entered",
        isncsci_rows,
    ),
    "instruments": (
        "Instruments",
        "SCIM III, WISCI II, NBD, bladder: totals and items, the definition version each "
        "was entered under and whether a definition correction awaits review",
        instrument_rows,
    ),
    "adverse_events": (
        "Adverse events",
        "grade, seriousness, relatedness, outcome",
        adverse_event_rows,
    ),
    "infusions": ("Infusions", "dose, dilution, rate", infusion_rows),
    "culture": ("Culture passages", "per lot and passage, with population doublings", lot_rows),
    "audit_trail": ("Audit trail", "the entries you may read, oldest first", audit_rows),
}
for _table in ("patients", "exams", "instruments", "infusions", "adverse_events"):
    EXPORTS[f"analysis_{_table}"] = (
        f"Analysis table: {_table}",
        "tidy table of the analysis contract (input of the analysis commands)",
        _analysis(_table),
    )


# The header of each export, written also when it has no row (an empty export is its header
# line, not a 0-byte file a spreadsheet or statistics package cannot read).
HEADERS: dict[str, tuple[str, ...]] = {
    "patients": (
        "patient",
        "site",
        "sex",
        "age_at_injury",
        "status",
        "injury_date",
        "injury_level",
        "ended_on",
        "end_reason",
        "end_detail",
        "synthetic",
    ),
    "isncsci": (
        "patient",
        "visit",
        "exam_date",
        "assessor",
        "blinded",
        "engine_version",
        *layout.RESULT_FIELDS,
        *layout.ALL_FIELDS,
    ),
    "instruments": (
        "patient",
        "instrument",
        "definition_version",
        "awaiting_review",
        "visit",
        "date",
        "total",
        "scores",
        "items",
        "assessor",
        "blinded",
    ),
    "adverse_events": (
        "patient",
        "term",
        "grade_scale",
        "grade",
        "serious",
        "related_product",
        "related_harvest",
        "related_blood_draw",
        "related_infusion",
        "expected",
        "onset_date",
        "resolution_date",
        "outcome",
    ),
    "infusions": (
        "patient",
        "infusion_number",
        "infused_on",
        "lot",
        "cells_total",
        "cells_per_kg",
        "weight_kg",
        "dilution_factor",
        "rate_ml_per_min",
        "reaction",
    ),
    "culture": (
        "lot",
        "patient",
        "status",
        "passage",
        "seeded_on",
        "harvested_on",
        "cells_seeded",
        "cells_harvested",
        "viability_pct",
        "population_doublings",
        "cumulative_pd",
    ),
    "audit_trail": (
        "seq",
        "at",
        "actor",
        "action",
        "table",
        "record_id",
        "changes",
        "reason",
        "hash",
    ),
}


def header_of(name: str, db, who) -> list[str]:
    """The columns of export ``name`` (an analysis table's are its frame's, the contract)."""
    if name.startswith("analysis_"):
        from cordtrial.store.tables import analysis_tables

        frame = getattr(analysis_tables(db, db.get(m.User, who.id)), name.removeprefix("analysis_"))
        return [str(c) for c in frame.columns]
    return list(HEADERS[name])


def to_csv(rows: Iterable[dict], columns: Iterable[str] | None = None) -> str:
    """RFC 4180 CSV; with no row, the header ``columns`` alone (empty only without them)."""
    rows = list(rows)
    buf = io.StringIO()
    fieldnames = list(rows[0]) if rows else list(columns or ())
    if not fieldnames:
        return ""
    writer = csv.DictWriter(buf, fieldnames=fieldnames)  # RFC 4180 CRLF
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buf.getvalue()


def _cell(value) -> object:
    # Spreadsheet formula injection: a text cell must not start with = + - @ (OWASP CSV
    # injection); numbers are left as they are.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
