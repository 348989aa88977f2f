"""Threshold ("responder") analyses under named, pre-specifiable definitions.

Wording in outputs is neutral: a patient "met the threshold"; nothing here says the patient
responded to treatment.

Each definition fixes, before looking at outcomes, which exam is the baseline, which is the end
point, and what counts as a response. Sources: natural-history.md section 5 (>= 2 motor levels,
Kramer/Steeves 2012; SCIM III >= 4 small and >= 10 substantial, Scivoletto 2013; the regulator's
preset for the approved product, jRCT2053210130).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cordtrial.instruments import SCIM3

from .intervals import clopper_pearson
from .natural_history import best_grade, grade_steps
from .tables import AnalysisTables

# The SCIM III change thresholds live with the instrument's definition (one source).
_SCIM_TOTAL = SCIM3.thresholds_for("total")

BASELINE_RULES = ("last_before_infusion", "first", "window")
ENDPOINT_RULES = ("last", "window")
KINDS = ("ais", "motor_levels", "scim3")


@dataclass(frozen=True)
class ResponderDefinition:
    """A pre-specified responder rule.

    ``thresholds`` maps the baseline AIS grade (or "*" for any) to the minimum gain that counts:
    AIS grades for kind "ais", motor levels for "motor_levels", SCIM III points for "scim3".
    Windows are (target day, +/- tolerance) in days since injury; the exam nearest the target
    inside the window is used.
    """

    name: str
    label: str
    kind: str
    thresholds: dict[str, float]
    baseline: str = "last_before_infusion"
    endpoint: str = "last"
    baseline_window: tuple[float, float] | None = None
    endpoint_window: tuple[float, float] | None = None
    eligible_grades: tuple[str, ...] = ("A", "B", "C", "D")
    # A baseline must describe the untreated state: only exams on or before the infusion day.
    baseline_before_infusion: bool = True
    citation: str = ""
    notes: str = field(default="")
    # The population a definition was registered for (None: any).
    cervical_only: bool = False
    age_range: tuple[int, int] | None = None
    # What natural history predicts for this definition: COMPARATOR_AIS (the AIS comparator
    # section), or why there is no comparator (the figure then cannot be interpreted).
    comparator: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"ResponderDefinition.kind: {self.kind!r} not allowed ({KINDS})")
        if self.baseline not in BASELINE_RULES:
            raise ValueError(
                f"ResponderDefinition.baseline: {self.baseline!r} not allowed ({BASELINE_RULES})"
            )
        if self.endpoint not in ENDPOINT_RULES:
            raise ValueError(
                f"ResponderDefinition.endpoint: {self.endpoint!r} not allowed ({ENDPOINT_RULES})"
            )
        if self.baseline == "window" and self.baseline_window is None:
            raise ValueError(
                "ResponderDefinition.baseline_window is required for baseline='window'"
            )
        if self.endpoint == "window" and self.endpoint_window is None:
            raise ValueError(
                "ResponderDefinition.endpoint_window is required for endpoint='window'"
            )

    @property
    def has_comparator(self) -> bool:
        return self.comparator == COMPARATOR_AIS

    def outside_population(self, tetraplegia: bool, age: float) -> str:
        """Why a patient is outside the registered population ("" when inside)."""
        if self.cervical_only and not tetraplegia:
            return "outside the registered population: not a cervical injury"
        if self.age_range is not None and not self.age_range[0] <= age <= self.age_range[1]:
            lo, hi = self.age_range
            return f"outside the registered population: age {age:g} not within {lo}-{hi}"
        return ""

    def threshold_for(self, grade: str | None) -> float | None:
        if grade is not None and grade in self.thresholds:
            return self.thresholds[grade]
        return self.thresholds.get("*")


COMPARATOR_AIS = "natural-history comparator (AIS conversion, next section)"
NO_COMPARATOR = "no comparator: cannot be interpreted"
_NO_LEVELS_COMPARATOR = (
    f"{NO_COMPARATOR}. Steeves 2011 [V]: about 30 % of cervical sensorimotor-complete (AIS A) "
    "patients gain >= 2 motor levels from an early exam to one year (n not in the reference); "
    "this definition counts from the pre-infusion exam and includes B and C, so no published "
    "figure applies."
)
_NO_SCIM_COMPARATOR = (
    f"{NO_COMPARATOR}. The shipped references give no untreated distribution of SCIM III change "
    "over this interval; SCIM III rises during first rehabilitation with or without treatment."
)

DEFINITIONS: dict[str, ResponderDefinition] = {
    d.name: d
    for d in (
        ResponderDefinition(
            name="ais_1_grade",
            label=">= 1 AIS grade (pre-infusion exam to last exam)",
            kind="ais",
            thresholds={"*": 1},
            citation="Outcome reported by the model study (study.md); natural-history.md s.1-2",
            comparator=COMPARATOR_AIS,
        ),
        ResponderDefinition(
            name="regulator_preset",
            label="Regulator preset: cervical, age 20-70, day 49 +/- 7 to day 180 +/- 30; "
            "A >= 2 grades, B/C >= 1",
            kind="ais",
            thresholds={"A": 2, "B": 1, "C": 1},
            baseline="window",
            endpoint="window",
            baseline_window=(49, 7),
            endpoint_window=(180, 30),
            eligible_grades=("A", "B", "C"),
            citation="Post-marketing comparative survey jRCT2053210130, registered for cervical "
            "SCI, age 20-70 (natural-history.md s.5 and s.7 [V2])",
            cervical_only=True,
            age_range=(20, 70),
            comparator=COMPARATOR_AIS,
        ),
        ResponderDefinition(
            name="motor_levels_2",
            label=">= 2 motor levels (mean of right and left)",
            kind="motor_levels",
            thresholds={"*": 2},
            citation="Kramer/Steeves 2012 (natural-history.md s.5)",
            notes="Gain per side = levels moved caudally; the mean of both sides is used.",
            comparator=_NO_LEVELS_COMPARATOR,
        ),
        ResponderDefinition(
            name="scim3_4",
            label=f"SCIM III total >= {_SCIM_TOTAL.small} points (small change)",
            kind="scim3",
            thresholds={"*": _SCIM_TOTAL.small},
            citation="Scivoletto 2013 (natural-history.md s.5; instruments.md)",
            comparator=_NO_SCIM_COMPARATOR,
        ),
        ResponderDefinition(
            name="scim3_10",
            label=f"SCIM III total >= {_SCIM_TOTAL.substantial} points (substantial change)",
            kind="scim3",
            thresholds={"*": _SCIM_TOTAL.substantial},
            citation="Scivoletto 2013 (natural-history.md s.5; instruments.md)",
            comparator=_NO_SCIM_COMPARATOR,
        ),
    )
}

_SEGMENTS = (
    [f"C{i}" for i in range(1, 9)]
    + [f"T{i}" for i in range(1, 13)]
    + [f"L{i}" for i in range(1, 6)]
    + [f"S{i}" for i in ("1", "2", "3", "4_5")]
    + ["INT"]
)
_SEGMENT_ALIASES = {"S4-5": "S4_5", "S45": "S4_5", "S4": "S4_5", "S5": "S4_5"}


def level_index(value: object, conservative: str = "rostral") -> float:
    """Position of a neurological level (C1 = 0 ... S4_5, INT last); NaN when missing/unknown.

    Comma lists (indeterminate levels) resolve to the most rostral candidate when
    ``conservative='rostral'`` and the most caudal when ``'caudal'``.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return float("nan")
    found = []
    for part in str(value).split(","):
        p = part.strip().rstrip("*").upper()
        p = _SEGMENT_ALIASES.get(p, p)
        if p in _SEGMENTS:
            found.append(_SEGMENTS.index(p))
    if not found:
        return float("nan")
    return float(min(found) if conservative == "rostral" else max(found))


def _pick(df: pd.DataFrame, day_col: str, rule: str, window, infusion_day: float | None):
    """The exam a rule picks from ``df`` (sorted by ``day_col``); None when there is none."""
    if df.empty:
        return None
    if rule == "first":
        return df.iloc[0]
    if rule == "last":
        return df.iloc[-1]
    days = df[day_col].to_numpy(float)
    if rule == "last_before_infusion":
        if infusion_day is None or np.isnan(infusion_day):
            return None
        before = np.flatnonzero(days <= infusion_day)
        return df.iloc[before[-1]] if before.size else None
    target, tol = window
    gap = np.abs(days - target)
    inside = np.flatnonzero(gap <= tol)
    if inside.size == 0:
        return None
    return df.iloc[inside[np.argmin(gap[inside])]]


def _infusion_days(tables: AnalysisTables) -> dict[str, float]:
    inf = tables.infusions.sort_values("days_since_injury")
    return inf.groupby("patient")["days_since_injury"].first().astype(float).to_dict()


def evaluate(tables: AnalysisTables, definition: ResponderDefinition | str) -> pd.DataFrame:
    """One row per patient: baseline and end-point exam, change, and ``responder`` (True when
    the patient met the threshold).

    ``responder`` is True/False, or missing (``None``) with ``reason`` when the patient is not
    evaluable (outside the registered population, no exam in a window, baseline grade not
    eligible, measure not determinable).
    """
    d = DEFINITIONS[definition] if isinstance(definition, str) else definition
    inf_day = _infusion_days(tables)
    rows = []
    exams = tables.exams
    scim = tables.instruments[
        (tables.instruments["instrument"] == "scim3") & (tables.instruments["measure"] == "total")
    ]
    by_patient = {
        pid: g for pid, g in exams.sort_values(["patient", "days_since_injury"]).groupby("patient")
    }
    scim_by_patient = {pid: g for pid, g in scim.groupby("patient")}
    empty_exams, empty_scim = exams.iloc[0:0], scim.iloc[0:0]
    info = tables.patients.set_index("patient")
    for pid in tables.patients["patient"]:
        ex = by_patient.get(pid, empty_exams)
        infd = inf_day.get(pid)
        pre = ex
        if d.baseline_before_infusion and infd is not None:
            pre = ex[ex["days_since_injury"] <= infd]
        b = _pick(pre, "days_since_injury", d.baseline, d.baseline_window, infd)
        e = _pick(ex, "days_since_injury", d.endpoint, d.endpoint_window, infd)
        row = {
            "patient": pid,
            "infusion_day": infd,
            "baseline_day": None if b is None else int(b["days_since_injury"]),
            "baseline_ais": None if b is None else b["ais"],
            "end_day": None if e is None else int(e["days_since_injury"]),
            "end_ais": None if e is None else e["ais"],
            "baseline_value": np.nan,
            "end_value": np.nan,
            "change": np.nan,
            "threshold": np.nan,
            "responder": None,
            "reason": "",
        }
        grade = best_grade(row["baseline_ais"])
        outside = d.outside_population(bool(info.at[pid, "tetraplegia"]), info.at[pid, "age"])
        if outside:
            row["reason"] = outside
        elif b is None or e is None:
            row["reason"] = "no baseline exam" if b is None else "no end-point exam"
        elif e["days_since_injury"] <= b["days_since_injury"]:
            row["reason"] = "end-point exam not after baseline"
        elif grade not in d.eligible_grades:
            row["reason"] = f"baseline AIS {row['baseline_ais']!r} not eligible"
        else:
            thr = d.threshold_for(grade)
            row["threshold"] = thr
            if d.kind == "ais":
                change = grade_steps(b["ais"], e["ais"])
                row["baseline_value"], row["end_value"] = np.nan, np.nan
            elif d.kind == "motor_levels":
                gains = []
                for side in ("right_motor_level", "left_motor_level"):
                    # caudal move = improvement; conservative: caudal-most before, rostral after
                    gains.append(level_index(e[side], "rostral") - level_index(b[side], "caudal"))
                change = float(np.mean(gains))
            else:
                s = scim_by_patient.get(pid, empty_scim)
                # SCIM assessments nearest to (and not after) each chosen exam day.
                sb = _nearest_before(s, b["days_since_injury"], tolerance=14)
                se = _nearest_before(s, e["days_since_injury"], tolerance=30, after_ok=True)
                if sb is None or se is None:
                    row["reason"] = "no SCIM III total near baseline or end point"
                    rows.append(row)
                    continue
                row["baseline_value"], row["end_value"] = sb, se
                change = se - sb
            row["change"] = change
            if np.isnan(change):
                row["reason"] = "not determinable"
            else:
                row["responder"] = bool(change >= thr)
        rows.append(row)
    return pd.DataFrame(rows)


def _nearest_before(
    s: pd.DataFrame, day: float, tolerance: float, after_ok: bool = False
) -> float | None:
    if s.empty:
        return None
    gap = s["days_since_injury"] - day
    ok = gap.abs() <= tolerance if after_ok else (gap <= 0) & (gap >= -tolerance)
    cand = s[ok]
    if cand.empty:
        return None
    return float(cand.iloc[(cand["days_since_injury"] - day).abs().argmin()]["value"])


def summary(tables: AnalysisTables, names: list[str] | None = None) -> pd.DataFrame:
    """Patients who met each definition's threshold / evaluable, with an exact (Clopper-Pearson)
    95% CI and the definition's natural-history comparator (or why there is none)."""
    out = []
    for name in names or list(DEFINITIONS):
        d = DEFINITIONS[name]
        r = evaluate(tables, d)
        ev = r[r["responder"].notna()]
        k, n = int(ev["responder"].astype(bool).sum()), len(ev)
        lo, hi = clopper_pearson(k, n)
        out.append(
            {
                "definition": name,
                "label": d.label,
                "met_threshold": k,
                "evaluable": n,
                "not_evaluable": len(r) - n,
                "proportion": k / n if n else np.nan,
                "ci_low": lo if n else np.nan,
                "ci_high": hi if n else np.nan,
                "comparator": d.comparator,
                "citation": d.citation,
            }
        )
    return pd.DataFrame(out)
