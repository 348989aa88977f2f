"""Generate the SYNTHETIC example trial (13 patients) shipped in this directory.

Run: ``python -m cordtrial.analysis.datasets.make_example`` (seeded, reproducible).

Nothing here is patient data. The shape follows the model case series (study.md): cervical SCI,
AIS A/B/C at screening (<= 14 days), one IV infusion 40-55 days after injury, exams before the
infusion and about day 1, week 1 and months 1, 3, 6 after it. There is NO treatment effect (unless
``Knobs.effect`` plants one, for power checks): every patient follows natural history, built so
that the report's own comparators are right on average for these data:

- AIS grade by one year: the default reference rates (van Middendorp 2009; >= 2 grades from B:
  Marino 2011), on a conversion day drawn from ``natural_history.recovery_fraction`` (the timing
  the comparator assumes).
- Indoor walking by one year: drawn from the van Middendorp 2011 rule applied to the first exam
  (the rule the walking section checks); a walker always ends motor incomplete. The walking day
  is drawn like a conversion day, so by the last exam (~7 months) fewer walk than the rule
  predicts for one year.
- Motor levels gained by one year: 0/1/2 with 30/40/30 % (Steeves 2011: >= 1 level in up to 70 %,
  >= 2 in 30 %, cervical sensorimotor complete), each level on a day drawn like a conversion.
- UEMS, LEMS, light touch, pin prick: the EMSCI mean curve of the score, population and baseline
  grade (``emsci_means.csv``), with each patient's own level, size and speed of recovery and exam
  noise (twice as large in the first week: spinal shock). LEMS of a motor-complete tetraplegic
  patient stays 0 until conversion to C/D and then jumps (sized so that the mean at one year is
  EMSCI's); light touch and pin prick gain a few points of sacral sparing when AIS A converts.

The heterogeneity (levels, sizes, speeds, jumps, noise, rounding, floors) is deliberately more
than the report's models assume, so that ``analysis.calibration`` tests them on data they were
not fitted to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from cordtrial.analysis import natural_history as nh
from cordtrial.analysis import walking
from cordtrial.analysis.csv_io import write_tables_dir
from cordtrial.analysis.tables import AIS_GRADES, AnalysisTables

SEED = 20210301
MIX = ("A",) * 6 + ("B",) * 2 + ("C",) * 5
CERVICAL = ("C3", "C4", "C5", "C6", "C7")
CERVICAL_AND_BELOW = CERVICAL + ("C8", "T1", "T2")
THORACIC = ("T4", "T6", "T8", "T10")
THORACIC_AND_BELOW = THORACIC + ("T11", "T12", "L1")
# Visit offsets in days after the infusion (study.md [R] schedule).
AFTER = {"day1": 1, "week1": 7, "month1": 30, "month3": 90, "month6": 180}
ONE_YEAR = 364
# Motor levels gained by one year: 0, 1, 2 (Steeves 2011 via natural-history.md s.3: >= 1 level
# in up to 70 %, >= 2 in 30 %). Used for every grade: no other source in the references.
LEVEL_GAIN_P = (0.30, 0.40, 0.30)
# Grades gained before a patient can walk: a walker is motor incomplete (C or better) at one year.
STEPS_TO_WALK = {"A": 2, "B": 1, "C": 0, "D": 0}


@dataclass(frozen=True)
class Knobs:
    """What the synthetic natural history looks like (defaults: the shipped example)."""

    mix: tuple[str, ...] = MIX
    paraplegia_share: float = 0.0  # the model study enrolled cervical injuries only
    speed_sd: float = 0.3  # log-normal SD of each patient's recovery time scale
    gain_sd: float = 0.35  # log-normal SD of each patient's size of recovery
    level_sd_share: float = 0.5  # patient level offset, as a share of the EMSCI week-2 SD
    exam_noise: dict[str, float] = field(
        default_factory=lambda: {"uems": 1.5, "lems": 1.5, "lt_total": 4.0, "pp_total": 4.0}
    )
    early_noise_factor: float = 2.0  # exams in the first 7 days (spinal shock)
    # Points added to a score on every exam after the infusion (a planted effect; none by default).
    effect: dict[str, float] = field(default_factory=dict)


@lru_cache(maxsize=8)
def _fraction_grid(ais: str) -> tuple[np.ndarray, np.ndarray]:
    """Days 14..364 and the share of the one-year change reached (inverse-CDF sampling)."""
    days = np.arange(14, ONE_YEAR + 1)
    return days, np.array([nh.recovery_fraction(float(d), ais, 14.0) for d in days])


def _event_day(rng: np.random.Generator, ais: str, after: int) -> int:
    """A day in (after, 364] for an event that accrues like the recovery fraction (the timing
    the comparator assumes), drawn conditionally on not having happened by ``after``."""
    days, frac = _fraction_grid(ais)
    f0 = float(np.interp(after, days, frac))
    u = f0 + rng.random() * (1.0 - f0)
    return max(after + 1, int(days[min(np.searchsorted(frac, u), len(days) - 1)]))


@lru_cache(maxsize=16)
def _steps_probabilities(grade: str, tetraplegia: bool) -> np.ndarray:
    """P(0, 1, 2 grades gained by one year) from the default reference (never past E)."""
    ref = nh.DEFAULT_REFERENCE.get(f"{grade}:paraplegia" if not tetraplegia else grade)
    ref = ref or nh.DEFAULT_REFERENCE[grade]
    r1 = nh.reference_rate(ref, "ge1_grade").rate
    # >= 2 grades: the reference's own figure; B from Marino 2011 (B -> D 37 %) as vM 2009 has
    # none; thoracic A keeps van Middendorp's share of two-grade conversions (11.8 of 26.1).
    if grade == "B":
        r2 = nh.reference_rate("marino2011_B", "ge2_grades").rate
    elif grade == "A" and ref != nh.DEFAULT_REFERENCE["A"]:
        a = nh.DEFAULT_REFERENCE["A"]
        r2 = r1 * nh.reference_rate(a, "ge2_grades").rate / nh.reference_rate(a).rate
    else:
        try:
            r2 = nh.reference_rate(ref, "ge2_grades").rate
        except KeyError:
            r2 = 0.0
    top = len(AIS_GRADES) - 1 - AIS_GRADES.index(grade)
    r2 = min(r2, r1) if top >= 2 else 0.0
    return np.array([1 - r1, r1 - r2, r2])


def _one_year_steps(
    rng: np.random.Generator, probs: np.ndarray, need: int, p_walk: float, walker: bool
) -> int:
    """Grades gained by one year with marginal ``probs``, given walking status: a walker gains at
    least ``need``; non-walkers take the rest of that mass, so the marginal is ``probs`` whenever
    P(walk) <= P(>= need grades) (else walking wins and conversion is a little more common)."""
    at_least = np.arange(3) >= need
    if walker:
        w = np.where(at_least, probs, 0.0)
    else:
        share = np.where(at_least, probs / max(float(probs[at_least].sum()), 1e-12), 0.0)
        w = np.clip(probs - p_walk * share, 0.0, None)
    return int(rng.choice(3, p=w / w.sum()))


def _curve_value(score: str, ais: str, tetra: bool, day: float, course: dict) -> float:
    """Patient's natural course of a score: EMSCI mean of the grade at a stretched time, with
    the patient's level and size of recovery."""
    e14 = nh.expected_score(score, ais, tetra, 14.0)
    e = nh.expected_score(score, ais, tetra, day * course["speed"])
    return e14 + course["level"][score] + course["gain"][score] * (e - e14)


def _first_exam_items(rng: np.random.Generator, grade: str, lems: float) -> dict[str, float]:
    """L3/S1 key muscles and light touch (better side) consistent with the grade and LEMS."""
    if grade in ("A", "B"):
        motor = 0.0
        touch = 0.0 if grade == "A" else float(rng.choice([0, 1], p=[0.3, 0.7]))
    else:
        motor = float(np.clip(round(lems / 10 + rng.normal(0, 0.7)), 0, 5))
        touch = float(rng.choice([1, 2], p=[0.6, 0.4]) if lems > 5 else 1)
    return {"motor": motor, "touch": touch}


def _side_items(grade: str, lems: float, first: dict[str, float] | None) -> dict[str, float]:
    lm = float(np.clip(round(lems / 10), 0, 5)) if first is None else first["motor"]
    if first is not None:
        touch = first["touch"]
    else:
        touch = 0.0 if grade == "A" else (1.0 if grade == "B" else (2.0 if lems > 10 else 1.0))
    return {
        "l3_motor_right": lm,
        "l3_motor_left": max(0.0, lm - 1),
        "s1_motor_right": max(0.0, lm - 1),
        "s1_motor_left": max(0.0, lm - 1),
        "l3_touch_right": touch,
        "l3_touch_left": max(0.0, touch - 1),
        "s1_touch_right": touch,
        "s1_touch_left": max(0.0, touch - 1),
    }


def _scim(uems: float, lems: float, walks: bool, rng: np.random.Generator) -> dict[str, float]:
    """A crude synthetic link from motor scores and walking to SCIM III; only for a plausible
    demo. Item 12 (mobility indoors) >= 4 exactly when the patient walks indoors."""
    self_care = float(np.clip(round(uems / 50 * 20 + rng.normal(0, 1.5)), 0, 20))
    resp = float(np.clip(round(10 + lems / 50 * 25 + rng.normal(0, 3)), 0, 40))
    item12 = float(np.clip(round(4 + lems / 12), 4, 8)) if walks else float(min(3, lems // 10))
    mob = float(np.clip(round(uems / 50 * 12 + lems / 50 * 14 + item12 * 1.5), 0, 40))
    return {
        "self_care": self_care,
        "respiration_sphincter": resp,
        "mobility": mob,
        "total": self_care + resp + mob,
        "mobility_indoors": item12,
        "walks_indoors": float(walks),
    }


def _walk_probability(age: int, items: dict[str, float]) -> float:
    rule = walking.rules()["van_middendorp_2011"]
    m, t = items["motor"], items["touch"]
    # Better side per item; S1 motor and touch as generated for the right side.
    s1m = max(0.0, m - 1)
    return rule.probability(rule.score(age, m, s1m, t, t))


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

    course = {
        "speed": float(np.exp(rng.normal(0, knobs.speed_sd))),
        "level": {},
        "gain": {},
    }
    pop = nh.population_of(tetra)
    for score in nh.CURVE_SCORES:
        sd2 = np.nan_to_num(nh.stage_sd(score, pop, ais0, 2))
        course["level"][score] = float(rng.normal(0, knobs.level_sd_share * sd2))
        g = knobs.gain_sd
        course["gain"][score] = float(np.exp(rng.normal(-g * g / 2, g)))

    # First exam, walking by one year (van Middendorp 2011 at the first exam), one-year grade.
    motor_complete = tetra and ais0 in ("A", "B")
    lems_first = 0.0 if motor_complete else _curve_value("lems", ais0, tetra, screen_day, course)
    first = _first_exam_items(rng, ais0, max(0.0, lems_first))
    p_walk = _walk_probability(age, first)
    walker = bool(rng.random() < p_walk)
    probs = _steps_probabilities(ais0, tetra)
    need = STEPS_TO_WALK[ais0]
    steps = _one_year_steps(rng, probs, need, p_walk, walker)
    final = AIS_GRADES[AIS_GRADES.index(ais0) + steps]
    conv_day = _event_day(rng, ais0, screen_day) if steps else 10_000
    if not motor_complete:
        mi_day = 0
    else:
        mi_day = conv_day if final in ("C", "D", "E") else 10_000
    walk_day = _event_day(rng, ais0, max(screen_day, mi_day)) if walker else 10_000
    # LEMS after a motor-complete patient converts: a jump to 40 % of the one-year value, then a
    # rise in log time; the size makes the one-year mean EMSCI's (mean / P(motor incomplete)).
    if motor_complete:
        p_mi = float(probs[need:].sum()) if need else 1.0
        target = nh.expected_score("lems", ais0, tetra, ONE_YEAR) / max(p_mi, 1e-6)
        lems_1y = min(50.0, target * course["gain"]["lems"])
        if walker:
            lems_1y = max(lems_1y, 30.0)
    levels = int(rng.choice(3, p=LEVEL_GAIN_P))
    level_days = sorted(_event_day(rng, ais0, screen_day) for _ in range(levels))
    nli_choices = CERVICAL if tetra else THORACIC
    levels_list = CERVICAL_AND_BELOW if tetra else THORACIC_AND_BELOW
    nli = str(rng.choice(nli_choices))
    sacral = float(rng.integers(1, 5))

    exams, instr = [], []
    for visit, d in sorted(days.items(), key=lambda kv: kv[1]):
        grade = final if d >= conv_day else ais0
        early = knobs.early_noise_factor if d < 7 else 1.0
        noise = {s: sd * early for s, sd in knobs.exam_noise.items()}
        post = d > inf_day
        vals = {}
        for score, hi in nh.CURVE_SCORES.items():
            if score == "uems" and not tetra:
                vals[score] = hi  # arms unaffected in paraplegia (EMSCI: 50 at every stage)
                continue
            if score == "lems" and motor_complete:
                if d < mi_day:
                    vals[score] = 0.0  # motor complete below a cervical level
                    continue
                h = np.log(d / mi_day) / max(np.log(ONE_YEAR / mi_day), 1e-9)
                v = lems_1y * (0.4 + 0.6 * float(np.clip(h, 0, 1)))
            else:
                v = _curve_value(score, ais0, tetra, d, course)
            if score in ("lt_total", "pp_total") and ais0 == "A" and grade != "A":
                v += sacral  # sacral sensory sparing appears when AIS A converts
            v += rng.normal(0, noise[score]) + (knobs.effect.get(score, 0.0) if post else 0.0)
            vals[score] = float(np.clip(round(v), 0, hi))
        moved = sum(1 for ld in level_days if ld <= d)
        level = levels_list[levels_list.index(nli) + moved]
        walks = d >= walk_day
        exams.append(
            {
                "patient": code,
                "visit": visit,
                "exam_date": injury + pd.Timedelta(days=d),
                "days_since_injury": d,
                "ais": grade,
                "nli": nli,
                "right_motor_level": level,
                "left_motor_level": level,
                **vals,
                **_side_items(grade, vals["lems"], first if visit == "screening" else None),
                "blinded": False,
            }
        )
        if visit in ("screening", "day1"):
            continue  # functional measures are not repeated the day after infusion
        date = injury + pd.Timedelta(days=d)
        for measure, value in _scim(vals["uems"], vals["lems"], walks, rng).items():
            instr.append(_instrument(code, visit, date, d, "scim3", measure, value))
        wisci = float(np.clip(round(6 + vals["lems"] / 4), 6, 20)) if walks else 0.0
        instr.append(_instrument(code, visit, date, d, "wisci2", "max_level", wisci))
        instr.append(
            _instrument(code, visit, date, d, "wisci2", "self_selected_level", max(0.0, wisci - 2))
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
