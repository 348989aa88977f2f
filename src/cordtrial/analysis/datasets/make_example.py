"""Generate the SYNTHETIC example trial (13 patients) shipped in this directory.

Run: ``python -m cordtrial.analysis.datasets.make_example`` (seeded, reproducible).

Nothing here is patient data. The shape follows the model case series (study.md): cervical SCI,
AIS A/B/C at screening (<= 14 days), one IV infusion 40-55 days after injury, exams before the
infusion and about day 1, week 1 and months 1, 3, 6 after it. There is NO treatment effect (unless
``Knobs.effect`` plants one, for power checks): every patient follows natural history, built so
that the report's own comparators are right on average for these data. Each patient's course
comes from ``natural_course`` (the one model, shared with the store's demo trial): grade
conversion (van Middendorp 2009, Marino 2011), indoor walking by one year from the van
Middendorp 2011 rule at the first exam, motor levels gained (Steeves 2011), and UEMS, LEMS,
light touch and pin prick along the EMSCI means of the population and baseline grade.

The heterogeneity (levels, sizes, speeds, jumps, noise, rounding, floors) is deliberately more
than the report's models assume, so that ``analysis.calibration`` tests them on data they were
not fitted to.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cordtrial.analysis.csv_io import write_tables_dir
from cordtrial.analysis.tables import AnalysisTables

from .natural_course import Knobs, draw_course, scim_mobility_indoors, side_items, wisci_levels

__all__ = ["Knobs", "SEED", "make"]

SEED = 20210301
MIX = Knobs().mix
# Visit offsets in days after the infusion (study.md [R] schedule).
AFTER = {"day1": 1, "week1": 7, "month1": 30, "month3": 90, "month6": 180}


def _scim(uems: float, lems: float, walks: bool, rng: np.random.Generator) -> dict[str, float]:
    """A crude synthetic link from motor scores and walking to SCIM III; only for a plausible
    demo. Item 12 (mobility indoors) >= 4 exactly when the patient walks indoors."""
    self_care = float(np.clip(round(uems / 50 * 20 + rng.normal(0, 1.5)), 0, 20))
    resp = float(np.clip(round(10 + lems / 50 * 25 + rng.normal(0, 3)), 0, 40))
    item12 = float(scim_mobility_indoors(lems, walks))
    mob = float(np.clip(round(uems / 50 * 12 + lems / 50 * 14 + item12 * 1.5), 0, 40))
    return {
        "self_care": self_care,
        "respiration_sphincter": resp,
        "mobility": mob,
        "total": self_care + resp + mob,
        "mobility_indoors": item12,
        "walks_indoors": float(walks),
    }


def _patient(rng: np.random.Generator, i: int, ais0: str, knobs: Knobs) -> dict[str, list]:
    code = f"SYN-{i:02d}"
    tetra = bool(rng.random() >= knobs.paraplegia_share)
    injury = pd.Timestamp("2019-04-01") + pd.Timedelta(days=int(rng.integers(0, 600)))
    age = int(rng.integers(20, 71))
    inf_day = int(rng.integers(40, 56))
    screen_day = int(rng.integers(3, 15))
    days = {"screening": screen_day, "pre_infusion": inf_day - int(rng.integers(1, 4))}
    days |= {v: inf_day + off for v, off in AFTER.items()}
    # One extra exam near day 180 after injury, the regulator's end point (jRCT2053210130),
    # which the study's post-infusion schedule would otherwise miss.
    days["unscheduled"] = 180 + int(rng.integers(-10, 11))

    course = draw_course(rng, ais0, tetraplegia=tetra, age=age, first_day=screen_day, knobs=knobs)
    exams, instr = [], []
    for visit, d in sorted(days.items(), key=lambda kv: kv[1]):
        state = course.exam(rng, d, post=d > inf_day)
        grade, vals, level, walks = state.grade, state.scores, state.motor_level, state.walks
        exams.append(
            {
                "patient": code,
                "visit": visit,
                "exam_date": injury + pd.Timedelta(days=d),
                "days_since_injury": d,
                "ais": grade,
                "nli": course.nli,
                "right_motor_level": level,
                "left_motor_level": level,
                **vals,
                **side_items(
                    grade, vals["lems"], course.first_items if visit == "screening" else None
                ),
                "blinded": False,
            }
        )
        if visit in ("screening", "day1"):
            continue  # functional measures are not repeated the day after infusion
        date = injury + pd.Timedelta(days=d)
        for measure, value in _scim(vals["uems"], vals["lems"], walks, rng).items():
            instr.append(_instrument(code, visit, date, d, "scim3", measure, value))
        top, chosen = wisci_levels(vals["lems"], walks)
        instr.append(_instrument(code, visit, date, d, "wisci2", "max_level", float(top)))
        instr.append(
            _instrument(code, visit, date, d, "wisci2", "self_selected_level", float(chosen))
        )

    weight = float(rng.uniform(50, 85))
    cells = min(float(rng.uniform(0.5e8, 2.0e8)), 3.34e6 * weight)  # label max 3.34e6/kg
    infusion = {
        "patient": code,
        "infusion_date": injury + pd.Timedelta(days=inf_day),
        "days_since_injury": inf_day,
        "lot": f"SYN-LOT-{i:02d}",
        "cells_total": round(cells, -5),
        "cells_per_kg": round(cells / weight, -3),
    }
    patient = {
        "patient": code,
        "site": "DEMO",
        "sex": str(rng.choice(["M", "M", "M", "F"])),
        "age": age,
        "injury_date": injury,
        "tetraplegia": tetra,
        "synthetic": True,
    }
    return {
        "patients": [patient],
        "exams": exams,
        "instruments": instr,
        "infusions": [infusion],
        "adverse_events": _adverse_events(rng, code, injury, inf_day),
    }


def _instrument(code, visit, date, day, instrument, measure, value) -> dict:
    return {
        "patient": code,
        "visit": visit,
        "assessment_date": date,
        "days_since_injury": day,
        "instrument": instrument,
        "measure": measure,
        "value": value,
    }


def _adverse_events(rng: np.random.Generator, code: str, injury, inf_day: int) -> list[dict]:
    """Label reactions and common SCI complications, all synthetic."""
    candidates = [
        ("Fever", 1, False, "possible", True, inf_day, 0.3),
        ("Puncture-site pain", 1, False, "not related", True, inf_day - 20, 0.4),
        ("Anaemia", 2, False, "possible", True, inf_day + 2, 0.15),
        ("Urinary tract infection", 2, False, "not related", True, inf_day + 30, 0.4),
        ("Pneumonia", 3, True, "not related", True, inf_day + 60, 0.1),
        ("Neuropathic pain", 2, False, "unlikely", True, inf_day + 90, 0.2),
    ]
    out = []
    for term, grade, serious, rel, expected, d, prob in candidates:
        if rng.random() < prob:
            out.append(
                {
                    "patient": code,
                    "term": term,
                    "grade": grade,
                    "serious": serious,
                    "related_product": rel,
                    "expected": expected,
                    "onset_date": injury + pd.Timedelta(days=d),
                    "days_since_injury": d,
                    "outcome": "recovered",
                }
            )
    return out


def make(seed: int = SEED, knobs: Knobs | None = None) -> AnalysisTables:
    """One synthetic trial (seeded). ``knobs`` changes the natural history (calibration runs)."""
    knobs = knobs or Knobs()
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {k: [] for k in AnalysisTables.__dataclass_fields__}
    for i, ais0 in enumerate(knobs.mix, start=1):
        for table, new in _patient(rng, i, ais0, knobs).items():
            rows[table] += new
    frames = {k: pd.DataFrame(v) for k, v in rows.items()}
    if frames["adverse_events"].empty:
        frames["adverse_events"] = AnalysisTables.empty().adverse_events
    return AnalysisTables(**frames).validate()


if __name__ == "__main__":
    write_tables_dir(make(), Path(__file__).parent)
