"""Generate the SYNTHETIC example trial (13 patients) shipped in this directory.

Run: ``python -m cordtrial.analysis.datasets.make_example`` (seeded, reproducible).

Nothing here is patient data. The shape follows the model case series (study.md): cervical SCI,
AIS A/B/C at screening (<= 14 days), one IV infusion 40-55 days after injury, exams before the
infusion and about day 1, week 1 and months 1, 3, 6 after it. Recovery is drawn from the
natural-history figures only (no treatment effect is added): conversion probabilities from the
default reference (van Middendorp 2009) and motor scores following the EMSCI mean curves, so the
demo shows what an untreated series can look like.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cordtrial.analysis import natural_history as nh
from cordtrial.analysis.csv_io import write_tables_dir
from cordtrial.analysis.tables import AIS_GRADES, AnalysisTables

SEED = 20210301
MIX = ["A"] * 6 + ["B"] * 2 + ["C"] * 5
CERVICAL = ["C3", "C4", "C5", "C6", "C7"]
CERVICAL_AND_BELOW = CERVICAL + ["C8", "T1", "T2"]
# Visit offsets in days after the infusion (study.md [R] schedule).
AFTER = {"day1": 1, "week1": 7, "month1": 30, "month3": 90, "month6": 180}


def _curve_at(score: str, ais: str, day: float) -> float:
    pop = "tetraplegia"
    m = nh.motor_means_table()
    rows = m[(m["score"] == score) & (m["population"] == pop) & (m["ais"] == ais)]
    rows = rows.sort_values("week")
    days = rows["week"].to_numpy(float) * 7
    d = float(np.clip(day, days[0], days[-1]))
    if score == "uems":
        return float(np.interp(np.log(d), np.log(days), rows["mean"].to_numpy(float)))
    lo, hi = rows["mean"].iloc[0], rows["mean"].iloc[-1]
    return float(lo + (hi - lo) * nh.recovery_fraction(d, ais, days[0]))


def _scim(uems: float, lems: float, rng: np.random.Generator) -> dict[str, float]:
    # Crude synthetic link from motor scores to independence; only for a plausible demo.
    self_care = float(np.clip(round(uems / 50 * 20 + rng.normal(0, 1.5)), 0, 20))
    resp = float(np.clip(round(10 + lems / 50 * 25 + rng.normal(0, 3)), 0, 40))
    mob = float(np.clip(round(uems / 50 * 12 + lems / 50 * 26 + rng.normal(0, 2)), 0, 40))
    item12 = float(np.clip(round((lems - 20) / 4), 0, 8)) if lems > 20 else 0.0
    return {
        "self_care": self_care,
        "respiration_sphincter": resp,
        "mobility": mob,
        "total": self_care + resp + mob,
        "mobility_indoors": item12,
        "walks_indoors": float(item12 >= 4),
    }


def make(seed: int = SEED) -> AnalysisTables:
    rng = np.random.default_rng(seed)
    patients, exams, instr, infusions, aes = [], [], [], [], []
    injury0 = pd.Timestamp("2019-04-01")
    for i, ais0 in enumerate(MIX, start=1):
        code = f"SYN-{i:02d}"
        injury = injury0 + pd.Timedelta(days=int(rng.integers(0, 600)))
        age = int(rng.integers(20, 71))
        patients.append(
            {
                "patient": code,
                "site": "DEMO",
                "sex": str(rng.choice(["M", "M", "M", "F"])),
                "age": age,
                "injury_date": injury,
                "tetraplegia": True,
                "synthetic": True,
            }
        )
        inf_day = int(rng.integers(40, 56))
        screen_day = int(rng.integers(3, 15))
        # Outcome grade at one year, drawn from the reference rates (no treatment effect).
        r1 = nh.reference_rate(nh.DEFAULT_REFERENCE[ais0]).rate
        # vM 2009 gives no >= 2-grade share for B; Marino 2011 (B -> D 37%) stands in.
        r2_source = "marino2011_B" if ais0 == "B" else nh.DEFAULT_REFERENCE[ais0]
        r2 = nh.reference_rate(r2_source, "ge2_grades").rate
        u = rng.random()
        steps = 2 if u < r2 else (1 if u < r1 else 0)
        final = AIS_GRADES[min(AIS_GRADES.index(ais0) + steps, 3)]
        # Conversion day drawn so that timing follows the recovery curve (inverse of F).
        q = rng.random()
        grid = np.arange(screen_day, 365)
        fr = np.array([nh.recovery_fraction(d, ais0, 14) for d in grid])
        conv_day = int(grid[np.searchsorted(fr, q)]) if steps else 10_000
        u_off = rng.normal(0, 6)
        l_gain_scale = max(0.0, rng.normal(1.0, 0.4))
        nli = str(rng.choice(CERVICAL))
        days = {"screening": screen_day, "pre_infusion": inf_day - int(rng.integers(1, 4))}
        days |= {v: inf_day + off for v, off in AFTER.items()}
        # One extra exam near day 180 after injury, the regulator's end point (jRCT2053210130),
        # which the study's post-infusion schedule would otherwise miss.
        days["unscheduled"] = 180 + int(rng.integers(-10, 11))
        # Motor levels gained by one year (Steeves 2011: >= 1 level in up to 70%, >= 2 in 30%).
        level_gain = int(rng.choice([0, 1, 2], p=[0.4, 0.35, 0.25]))
        for visit, d in sorted(days.items(), key=lambda kv: kv[1]):
            grade = final if d >= conv_day else ais0
            moved = round(level_gain * nh.recovery_fraction(d, ais0, 14))
            level = CERVICAL_AND_BELOW[CERVICAL_AND_BELOW.index(nli) + moved]
            uems = float(
                np.clip(round(_curve_at("uems", ais0, d) + u_off + rng.normal(0, 1)), 0, 50)
            )
            if grade == "A":
                lems = 0.0
            elif grade == "B":
                lems = float(np.clip(round(rng.normal(1, 1)), 0, 50))
            else:
                base = _curve_at("lems", "C" if grade == "C" else "D", d)
                lems = float(np.clip(round(base * l_gain_scale + rng.normal(0, 2)), 1, 50))
            lt = float(
                np.clip(round(40 + uems * 0.6 + (grade != "A") * 20 + rng.normal(0, 3)), 0, 112)
            )
            pp = float(np.clip(round(lt - 8 - (grade == "B") * 10 + rng.normal(0, 3)), 0, 112))
            lm = min(5.0, lems / 10)
            touch = 0.0 if grade == "A" else (1.0 if grade == "B" else 2.0 * (lems > 10))
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
                    "uems": uems,
                    "lems": lems,
                    "lt_total": lt,
                    "pp_total": pp,
                    "l3_motor_right": float(round(lm)),
                    "l3_motor_left": float(round(max(0, lm - 0.6))),
                    "s1_motor_right": float(round(max(0, lm - 0.4))),
                    "s1_motor_left": float(round(max(0, lm - 1))),
                    "l3_touch_right": touch,
                    "l3_touch_left": touch,
                    "s1_touch_right": touch,
                    "s1_touch_left": max(0.0, touch - 1),
                    "blinded": False,
                }
            )
            if visit in ("screening", "day1"):
                continue  # functional measures are not repeated the day after infusion
            for measure, value in _scim(uems, lems, rng).items():
                instr.append(
                    {
                        "patient": code,
                        "visit": visit,
                        "assessment_date": injury + pd.Timedelta(days=d),
                        "days_since_injury": d,
                        "instrument": "scim3",
                        "measure": measure,
                        "value": value,
                    }
                )
            wisci = float(np.clip(round((lems - 15) / 2), 0, 20)) if lems > 15 else 0.0
            for measure in ("max_level", "self_selected_level"):
                instr.append(
                    {
                        "patient": code,
                        "visit": visit,
                        "assessment_date": injury + pd.Timedelta(days=d),
                        "days_since_injury": d,
                        "instrument": "wisci2",
                        "measure": measure,
                        "value": wisci if measure == "max_level" else max(0.0, wisci - 2),
                    }
                )
        weight = float(rng.uniform(50, 85))
        cells = float(rng.uniform(0.5e8, 2.0e8))
        cells = min(cells, 3.34e6 * weight)  # label maximum 3.34e6 cells/kg (study.md)
        infusions.append(
            {
                "patient": code,
                "infusion_date": injury + pd.Timedelta(days=inf_day),
                "days_since_injury": inf_day,
                "lot": f"SYN-LOT-{i:02d}",
                "cells_total": round(cells, -5),
                "cells_per_kg": round(cells / weight, -3),
            }
        )
        # Adverse events: label reactions and common SCI complications, all synthetic.
        candidates = [
            ("Fever", 1, False, "possible", True, inf_day, 0.3),
            ("Puncture-site pain", 1, False, "not related", True, inf_day - 20, 0.4),
            ("Anaemia", 2, False, "possible", True, inf_day + 2, 0.15),
            ("Urinary tract infection", 2, False, "not related", True, inf_day + 30, 0.4),
            ("Pneumonia", 3, True, "not related", True, inf_day + 60, 0.1),
            ("Neuropathic pain", 2, False, "unlikely", True, inf_day + 90, 0.2),
        ]
        for term, grade, serious, rel, expected, d, prob in candidates:
            if rng.random() < prob:
                aes.append(
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
    return AnalysisTables(
        patients=pd.DataFrame(patients),
        exams=pd.DataFrame(exams),
        instruments=pd.DataFrame(instr),
        infusions=pd.DataFrame(infusions),
        adverse_events=pd.DataFrame(aes),
    ).validate()


if __name__ == "__main__":
    write_tables_dir(make(), Path(__file__).parent)
