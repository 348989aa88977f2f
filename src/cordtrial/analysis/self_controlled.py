"""Self-controlled (before vs after infusion) analyses, with their biases stated.

1. ``rate_before_after``: the published "daily rate of change before vs after infusion"
   (study.md; the group's stroke paper). Computed as published, labelled as biased (RATE_BIAS).
2. ``segmented_model``: against the natural-history (EMSCI) curve of the measure, population and
   baseline grade, the step in the first week after infusion and the change in pace after it
   (a segmented regression per patient), with t-based CIs across patients. Its false-effect
   rate is checked by simulation (``calibration``).
3. ``plateau_check``: did the patient stop improving over a run-in before infusion? (The group's
   chronic protocol requires no improvement over the 2 weeks before infusion, study.md.) Only
   exams that actually span the run-in count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .intervals import t_interval
from .tables import AnalysisTables

RATE_BIAS = (
    "Biased in acute SCI: spontaneous recovery is steep early and slows (ICCP, Fawcett 2007), the "
    "before and after windows are unequal and differently placed on that curve, early-after "
    "windows are short and noisy, and raters were not blinded. A higher rate after infusion is "
    "expected in some windows without any treatment effect; a lower one in others. Shown only to "
    "reproduce the published analysis."
)
EXAM_MEASURES = ("uems", "lems", "lt_total", "pp_total", "total_motor")


def _measure_long(tables: AnalysisTables, measure: str) -> pd.DataFrame:
    """patient, days_since_injury, value for an exam score or an instrument measure."""
    if measure in EXAM_MEASURES:
        ex = tables.exams.copy()
        if measure == "total_motor":
            ex["value"] = ex["uems"] + ex["lems"]
        else:
            ex["value"] = ex[measure]
        out = ex[["patient", "days_since_injury", "value"]]
    else:
        if "." not in measure:
            raise ValueError(
                f"measure {measure!r} unknown: use one of {EXAM_MEASURES} or 'instrument.measure'"
            )
        instrument, name = measure.split(".", 1)
        i = tables.instruments
        out = i[(i["instrument"] == instrument) & (i["measure"] == name)][
            ["patient", "days_since_injury", "value"]
        ]
    out = out.dropna(subset=["value"])
    if not out.duplicated(["patient", "days_since_injury"]).any():
        return out.reset_index(drop=True)
    return out.groupby(["patient", "days_since_injury"], as_index=False)["value"].mean()


def _infusion_day(tables: AnalysisTables) -> pd.Series:
    return tables.infusions.groupby("patient")["days_since_injury"].min()


def rate_before_after(
    tables: AnalysisTables, measure: str = "uems", after_days: float | None = 7
) -> pd.DataFrame:
    """Per patient: points per day from the first exam to the last exam before (or on) the
    infusion day, and from that exam to the last exam within ``after_days`` after the infusion
    (None: to the last exam). Columns carry ``bias_note``.
    """
    data = _measure_long(tables, measure).sort_values(["patient", "days_since_injury"])
    inf = _infusion_day(tables)
    rows = []
    for pid, g in data.groupby("patient", sort=False):
        if pid not in inf.index:
            continue
        day0 = float(inf[pid])
        days = g["days_since_injury"].to_numpy(float)
        vals = g["value"].to_numpy(float)
        pre = days <= day0
        post = ~pre if after_days is None else ~pre & (days <= day0 + after_days)
        row = {
            "patient": pid,
            "infusion_day": int(day0),
            "rate_before": np.nan,
            "rate_after": np.nan,
            "days_before": np.nan,
            "days_after": np.nan,
        }
        i_pre = np.flatnonzero(pre)
        i_post = np.flatnonzero(post)
        if i_pre.size >= 2:
            a, b = i_pre[0], i_pre[-1]
            row["days_before"] = days[b] - days[a]
            row["rate_before"] = (vals[b] - vals[a]) / row["days_before"]
        if i_pre.size and i_post.size:
            a, b = i_pre[-1], i_post[-1]
            row["days_after"] = days[b] - days[a]
            row["rate_after"] = (vals[b] - vals[a]) / row["days_after"]
        rows.append(row)
    out = pd.DataFrame(rows)
    out["measure"] = measure
    out["bias_note"] = RATE_BIAS
    return out


@dataclass(frozen=True)
class RateSummary:
    measure: str
    after_days: float | None
    n: int
    median_before: float
    median_after: float
    wilcoxon_p: float
    bias_note: str = RATE_BIAS


def summarise_rates(rates: pd.DataFrame, after_days: float | None = 7) -> RateSummary:
    """Medians and a Wilcoxon signed-rank p (paired), as such series are usually reported."""
    both = rates.dropna(subset=["rate_before", "rate_after"])
    n = len(both)
    p = np.nan
    if n >= 2 and not np.allclose(both["rate_after"] - both["rate_before"], 0):
        diff = (both["rate_after"] - both["rate_before"]).to_numpy()
        # Exact null only without zeros or ties; otherwise the normal approximation (scipy would
        # fall back to a slow permutation test).
        ties = (diff == 0).any() or len(np.unique(np.abs(diff))) < len(diff)
        p = float(stats.wilcoxon(diff, method="approx" if ties else "exact").pvalue)
    measure = str(rates["measure"].iloc[0]) if len(rates) else ""
    return RateSummary(
        measure=measure,
        after_days=after_days,
        n=n,
        median_before=float(both["rate_before"].median()) if n else np.nan,
        median_after=float(both["rate_after"].median()) if n else np.nan,
        wilcoxon_p=p,
    )


@dataclass(frozen=True)
class SegmentedResult:
    measure: str
    n_patients: int  # patients in the change-in-pace model
    n_observations: int
    step: float  # mean change in the first week after infusion beyond the curve (points)
    step_ci: tuple[float, float]
    # Mean change in pace after infusion, in multiples of the natural-history expected change
    # (0.5: half a point more per point EMSCI expects than the patient's own pace before).
    slope_change: float
    slope_change_ci: tuple[float, float]
    per_patient: pd.DataFrame  # one row per patient: estimates, or why the patient is left out
    formula: str
    note: str
    n_patients_step: int = 0  # patients with a step (an exam in the first week after infusion)

    @property
    def excluded(self) -> pd.DataFrame:
        return self.per_patient[self.per_patient["reason"] != ""]


STEP_WINDOW_DAYS = 7
SEGMENTED_FORMULA = (
    "step = mean over exams in the first 7 days after infusion of (value - value before) - "
    "(E(t) - E(t before)); pace: value ~ a + b * E(t) + c * post + slope * post * "
    "(E(t) - E(t_infusion))"
)
SEGMENTED_NOTE = (
    "Summary-measures analysis (Matthews et al., BMJ 1990;300:230): one number per patient, then "
    "the mean across patients with a t-based 95% CI (n - 1 df), so patient-to-patient variation "
    "is part of the uncertainty. E(t) is the EMSCI mean of the same score for the patient's "
    "population and baseline AIS grade (emsci_means.csv; log-time interpolation, flat before "
    "week 2 and after week 52). Step at infusion: the change from the last exam on or before the "
    "infusion day to the exams of the first 7 days after it, minus the change E(t) expects over "
    "the same days (local: no curve is extrapolated over months). Change in pace: per patient, "
    "value ~ a + b * E(t) + c * post + slope * post * (E(t) - E(t_infusion)) by least squares "
    "('post': exams after the infusion day); a and b are the patient's own level and pace of "
    "natural recovery before infusion, slope the change in pace after it. It needs 2 exams "
    "before (on different curve values) and 2 after. Unblinded ratings, a wrong curve shape for "
    "these patients and an unreliable early exam (spinal shock) bias both."
)


def _baseline_grades(tables: AnalysisTables) -> dict[str, str | None]:
    """Best AIS grade of each patient's last exam on or before the infusion day."""
    from .natural_history import best_grade

    ex = tables.exams[["patient", "days_since_injury", "ais"]]
    day0 = ex["patient"].map(_infusion_day(tables)).fillna(np.inf)
    pre = ex[ex["days_since_injury"] <= day0].sort_values(["patient", "days_since_injury"])
    last = pre.groupby("patient", sort=False).tail(1)
    out: dict[str, str | None] = {p: None for p in ex["patient"].unique()}
    out |= {p: best_grade(a) for p, a in zip(last["patient"], last["ais"], strict=True)}
    return out


def local_step(
    days: np.ndarray, values: np.ndarray, curve: np.ndarray, infusion_day: float
) -> tuple[float, str]:
    """Change from the last exam on/before the infusion day to the exams of the first
    STEP_WINDOW_DAYS after it, beyond the curve's change over the same days."""
    pre = np.flatnonzero(days <= infusion_day)
    post = np.flatnonzero((days > infusion_day) & (days <= infusion_day + STEP_WINDOW_DAYS))
    if pre.size == 0 or post.size == 0:
        return np.nan, (
            "step: no exam before infusion"
            if pre.size == 0
            else f"step: no exam in the first {STEP_WINDOW_DAYS} days after infusion"
        )
    b = pre[-1]
    return float(np.mean((values[post] - values[b]) - (curve[post] - curve[b]))), ""


def fit_patient_segments(
    days: np.ndarray,
    values: np.ndarray,
    curve: np.ndarray,
    infusion_day: float,
    curve_at_inf: float,
) -> tuple[float, str]:
    """One patient's change in pace (see SEGMENTED_NOTE); NaN and a reason when the patient's
    exams cannot identify it."""
    post = (days > infusion_day).astype(float)
    n_pre, n_post = int((post == 0).sum()), int(post.sum())
    if n_pre < 2 or n_post < 2:
        return np.nan, f"pace: {n_pre} exam(s) before and {n_post} after infusion; need 2 and 2"
    x = np.column_stack([np.ones_like(curve), curve, post, post * (curve - curve_at_inf)])
    if np.ptp(curve[post == 0]) < 1e-9 or np.linalg.matrix_rank(x) < 4:
        return np.nan, "pace: exams before infusion all on the same curve value"
    beta = np.linalg.lstsq(x, values, rcond=None)[0]
    return float(beta[3]), ""


def segmented_model(tables: AnalysisTables, measure: str = "uems") -> SegmentedResult:
    """Step and change in pace at infusion against the natural-history curve (SEGMENTED_NOTE)."""
    from . import natural_history as nh

    if measure not in nh.CURVE_SCORES:
        raise ValueError(
            f"segmented model for {measure!r}: no natural-history curve to test the infusion "
            f"against (curves exist for {', '.join(nh.CURVE_SCORES)})"
        )
    data = _measure_long(tables, measure)
    inf = _infusion_day(tables)
    grades = _baseline_grades(tables)
    tetra = tables.patients.set_index("patient")["tetraplegia"].astype(bool).to_dict()
    rows, n_obs = [], 0
    for pid, g in data.groupby("patient"):
        row = {"patient": pid, "baseline_ais": grades.get(pid), "step": np.nan, "slope": np.nan}
        if pid not in inf.index:
            rows.append(row | {"reason": "no infusion"})
            continue
        grade, tet = grades.get(pid), bool(tetra.get(pid, True))
        if grade not in nh.CURVE_GRADES:
            rows.append(row | {"reason": f"baseline AIS {grade!r}: no EMSCI curve"})
            continue
        if measure == "uems" and not tet:
            rows.append(row | {"reason": "paraplegia: UEMS is not expected to change"})
            continue
        days = g["days_since_injury"].to_numpy(float)
        values = g["value"].to_numpy(float)
        curve = np.asarray(nh.expected_score(measure, grade, tet, days), float)
        at_inf = float(nh.expected_score(measure, grade, tet, float(inf[pid])))
        step, step_reason = local_step(days, values, curve, float(inf[pid]))
        slope, slope_reason = fit_patient_segments(days, values, curve, float(inf[pid]), at_inf)
        row |= {
            "population": nh.population_of(tet),
            "exams_before": int((days <= inf[pid]).sum()),
            "exams_after": int((days > inf[pid]).sum()),
            "step": step,
            "slope": slope,
            "reason": "; ".join(r for r in (step_reason, slope_reason) if r),
        }
        n_obs += len(g) if np.isfinite(step) or np.isfinite(slope) else 0
        rows.append(row)
    per = pd.DataFrame(rows)
    n_step = int(np.isfinite(per["step"]).sum()) if len(per) else 0
    n_slope = int(np.isfinite(per["slope"]).sum()) if len(per) else 0
    if max(n_step, n_slope) < 3:
        raise ValueError(
            f"segmented model for {measure!r} needs >= 3 patients with exams before and after "
            f"infusion (have {n_step} with a step, {n_slope} with a change in pace)"
        )
    nan3 = (np.nan, np.nan, np.nan)
    step, s_lo, s_hi = t_interval(per["step"].to_numpy()) if n_step >= 3 else nan3
    slope, c_lo, c_hi = t_interval(per["slope"].to_numpy()) if n_slope >= 3 else nan3
    return SegmentedResult(
        measure=measure,
        n_patients=n_slope,
        n_observations=n_obs,
        step=step,
        step_ci=(s_lo, s_hi),
        slope_change=slope,
        slope_change_ci=(c_lo, c_hi),
        per_patient=per,
        formula=SEGMENTED_FORMULA,
        note=SEGMENTED_NOTE,
        n_patients_step=n_step,
    )


def plateau_check(
    tables: AnalysisTables,
    measure: str = "uems",
    run_in_days: float = 14,
    min_change: float = 1.0,
    tolerance_days: float = 3,
) -> pd.DataFrame:
    """Per patient: the change over a run-in of about ``run_in_days`` before infusion and whether
    it is a plateau (change < ``min_change``).

    A run-in needs an exam within ``tolerance_days`` before (or on) the infusion day and another
    ``run_in_days`` +/- ``tolerance_days`` before that one: two exams a few days apart do not
    show that a patient stopped improving over two weeks, so they are "not assessable" with the
    interval they do span (the group's chronic protocol: no improvement over the 2 weeks before
    infusion, study.md).
    """
    if run_in_days <= 0:
        raise ValueError(f"run_in_days must be > 0 (got {run_in_days!r})")
    if not 0 <= tolerance_days < run_in_days:
        raise ValueError(
            f"tolerance_days must be >= 0 and below run_in_days (got {tolerance_days!r})"
        )
    data = _measure_long(tables, measure)
    inf = _infusion_day(tables)
    lo, hi = run_in_days - tolerance_days, run_in_days + tolerance_days
    rows = []
    for pid in tables.patients["patient"]:
        row = {
            "patient": pid,
            "measure": measure,
            "run_in_days": run_in_days,
            "first_day": np.nan,
            "last_day": np.nan,
            "span_days": np.nan,
            "change": np.nan,
            "plateau": None,
            "reason": "",
        }
        if pid not in inf.index:
            rows.append(row | {"reason": "no infusion"})
            continue
        day0 = inf[pid]
        g = data[(data["patient"] == pid) & (data["days_since_injury"] <= day0)]
        g = g.sort_values("days_since_injury")
        last = g[g["days_since_injury"] >= day0 - tolerance_days]
        if last.empty:
            row["reason"] = f"no exam within {tolerance_days:g} days before the infusion"
            rows.append(row)
            continue
        b = last.iloc[-1]
        gap = b["days_since_injury"] - g["days_since_injury"]
        first = g[(gap >= lo) & (gap <= hi)]
        if first.empty:
            earlier = g[gap > 0]
            span = f"{int(gap[earlier.index].min())} days" if len(earlier) else "no earlier exam"
            row["reason"] = (
                f"not assessable: a {run_in_days:g}-day run-in needs two exams {lo:g}-{hi:g} "
                f"days apart, the later within {tolerance_days:g} days of the infusion (nearest "
                f"earlier exam: {span})"
            )
            rows.append(row)
            continue
        a = first.iloc[0]
        row |= {
            "first_day": a["days_since_injury"],
            "last_day": b["days_since_injury"],
            "span_days": b["days_since_injury"] - a["days_since_injury"],
            "change": b["value"] - a["value"],
        }
        row["plateau"] = bool(row["change"] < min_change)
        rows.append(row)
    return pd.DataFrame(rows)
