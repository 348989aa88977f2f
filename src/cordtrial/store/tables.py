"""The store as the analysis's tidy tables (contract: ``cordtrial.analysis.tables``).

Patients without an injury record have no time axis and are left out (with their rows).
Instrument measures are the instrument's total and scores, its numeric or yes/no derived fields,
SCIM III item 12 as ``mobility_indoors`` (used by the walking analysis), and WISCI II levels as
``max_level`` and ``self_selected_level``.
"""

from __future__ import annotations

import math
import re
from datetime import date

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.analysis.tables import AnalysisTables

from .models import AdverseEvent, Assessment, Infusion, Injury, Lot, Patient, Site, User

_NUMBER = re.compile(r"^(\d+)")
_WISCI_NAMES = {"maximum": "max_level", "self_selected": "self_selected_level"}


def _num(value: object) -> float:
    """A total or exam cell as a number: "ND"/"NT" and missing are NaN; flags are dropped."""
    if value is None:
        return math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    m = _NUMBER.match(str(value))
    return float(m.group(1)) if m else math.nan


def _text(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def _dt(values: list[date]) -> pd.Series:
    return pd.to_datetime(pd.Series(values, dtype="object"))


def analysis_tables(session: Session, user: User | None = None) -> AnalysisTables:
    """Build the five analysis tables from the store; restricted to ``user``'s site if given
    (a user without a site sees every site). The result is validated against the contract."""
    q = (
        select(Patient, Injury, Site.code)
        .join(Injury, Injury.patient_id == Patient.id)
        .join(Site, Site.id == Patient.site_id)
        .order_by(Patient.study_code)
    )
    if user is not None and user.site_id is not None:
        q = q.where(Patient.site_id == user.site_id)
    rows = session.execute(q).all()
    injury_of = {p.id: inj.injury_date for p, inj, _ in rows}
    code_of = {p.id: p.study_code for p, _, _ in rows}
    patients = pd.DataFrame(
        {
            "patient": [p.study_code for p, _, _ in rows],
            "site": [site for _, _, site in rows],
            "sex": pd.Series([p.sex for p, _, _ in rows], dtype="object"),
            "age": pd.Series([p.age_at_injury for p, _, _ in rows], dtype="int64"),
            "injury_date": _dt([inj.injury_date for _, inj, _ in rows]),
            "tetraplegia": [inj.level.upper().startswith("C") for _, inj, _ in rows],
            "synthetic": [bool(p.synthetic) for p, _, _ in rows],
        }
    )

    def days(pid: int, d: date) -> int:
        return (d - injury_of[pid]).days

    ids = list(injury_of)
    exams, instruments = [], []
    for a in session.scalars(
        select(Assessment)
        .where(Assessment.patient_id.in_(ids))
        .order_by(Assessment.patient_id, Assessment.assessed_on, Assessment.id)
    ):
        base = {"patient": code_of[a.patient_id], "visit": a.visit_code}
        dsi = days(a.patient_id, a.assessed_on)
        if a.kind == "isncsci":
            r, d = a.result, a.data
            exams.append(
                {
                    **base,
                    "exam_date": a.assessed_on,
                    "days_since_injury": dsi,
                    "ais": _text(r.get("asiaImpairmentScale")),
                    "nli": _text(r.get("neurologicalLevelOfInjury")),
                    "right_motor_level": _text(r.get("rightMotor")),
                    "left_motor_level": _text(r.get("leftMotor")),
                    "uems": _num(r.get("upperMotorTotal")),
                    "lems": _num(r.get("lowerMotorTotal")),
                    "lt_total": _num(r.get("touchTotal")),
                    "pp_total": _num(r.get("prickTotal")),
                    **{
                        f"{seg}_{kind.lower()}_{side.lower()}": _num(d.get(f"{seg}{side}{kind}"))
                        for seg in ("l3", "s1")
                        for kind in ("Motor", "Touch")
                        for side in ("Right", "Left")
                    },
                    "blinded": bool(a.blinded),
                }
            )
            continue
        row = {
            **base,
            "assessment_date": a.assessed_on,
            "days_since_injury": dsi,
            "instrument": a.kind,
        }
        measures: dict[str, float] = {}
        result = a.result or {}
        if result.get("total") is not None:
            measures["total"] = float(result["total"])
        for name, value in (result.get("scores") or {}).items():
            if value is not None:
                measures[_WISCI_NAMES.get(name, name) if a.kind == "wisci2" else name] = float(
                    value
                )
        for name, value in (result.get("derived") or {}).items():
            if isinstance(value, bool):
                measures[name] = float(value)
            elif isinstance(value, int | float):
                measures[name] = float(value)
        if a.kind == "scim3" and isinstance(a.data.get("mobility_indoors"), int):
            measures["mobility_indoors"] = float(a.data["mobility_indoors"])
        instruments.extend({**row, "measure": k, "value": v} for k, v in measures.items())

    inf_rows = session.execute(
        select(Infusion, Lot.lot_number)
        .join(Lot, Lot.id == Infusion.lot_id)
        .where(Infusion.patient_id.in_(ids))
        .order_by(Infusion.patient_id, Infusion.infused_on)
    ).all()
    infusions = [
        {
            "patient": code_of[i.patient_id],
            "infusion_date": i.infused_on,
            "days_since_injury": days(i.patient_id, i.infused_on),
            "lot": lot,
            "cells_total": float(i.cells_total),
            "cells_per_kg": float(i.cells_per_kg),
        }
        for i, lot in inf_rows
    ]
    aes = [
        {
            "patient": code_of[e.patient_id],
            "term": e.term,
            "grade": int(e.grade),
            "serious": bool(e.serious),
            "related_product": e.related_product,
            "expected": bool(e.expected),
            "onset_date": e.onset_date,
            "days_since_injury": days(e.patient_id, e.onset_date),
            "outcome": e.outcome,
        }
        for e in session.scalars(
            select(AdverseEvent)
            .where(AdverseEvent.patient_id.in_(ids))
            .order_by(AdverseEvent.patient_id, AdverseEvent.onset_date)
        )
    ]

    empty = AnalysisTables.empty()
    return AnalysisTables(
        patients=patients if rows else empty.patients,
        exams=_frame(exams, empty.exams, "exam_date"),
        instruments=_frame(instruments, empty.instruments, "assessment_date"),
        infusions=_frame(infusions, empty.infusions, "infusion_date"),
        adverse_events=_frame(aes, empty.adverse_events, "onset_date"),
    ).validate()


def _frame(rows: list[dict], empty: pd.DataFrame, date_col: str) -> pd.DataFrame:
    if not rows:
        return empty
    df = pd.DataFrame(rows)
    df[date_col] = pd.to_datetime(df[date_col])
    df["days_since_injury"] = df["days_since_injury"].astype("int64")
    return df


def data_source(session: Session, site_code: str | None = None) -> str:
    """The report's data-source line: the store (and the site a site user's report covers),
    whether the data were locked (services.locks) and the audit trail's head as the tables
    were read, which `cordtrial audit verify --head` later checks against the trail."""
    from .audit import anchor_head
    from .services.locks import lock_statement

    where = "trial database" + (f", site {site_code}" if site_code else "")
    head = anchor_head(session)
    return f"{where}; {lock_statement(session)}" + (f" (audit trail head {head})" if head else "")
