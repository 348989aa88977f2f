"""Self-controlled (before vs after infusion) analyses, with their biases stated.

1. ``rate_before_after``: the published "daily rate of change before vs after infusion"
   (study.md; the group's stroke paper). Computed as published, labelled as biased (RATE_BIAS).
2. ``segmented_model``: a segmented linear mixed model over a decelerating (log-time) recovery
   curve; the step at infusion (and the change in slope) is the quantity of interest, with a CI.
3. ``plateau_check``: did the patient stop improving over a run-in window before infusion? (The
   group's chronic protocol requires no improvement over the 2 weeks before infusion, study.md.)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

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
    data = _measure_long(tables, measure)
    inf = _infusion_day(tables)
    rows = []
    for pid, g in data.groupby("patient"):
        if pid not in inf.index:
            continue
        day0 = inf[pid]
        g = g.sort_values("days_since_injury")
        pre = g[g["days_since_injury"] <= day0]
        post = g[g["days_since_injury"] > day0]
        if after_days is not None:
            post = post[post["days_since_injury"] <= day0 + after_days]
        row = {
            "patient": pid,
            "infusion_day": int(day0),
            "rate_before": np.nan,
            "rate_after": np.nan,
            "days_before": np.nan,
            "days_after": np.nan,
        }
        if len(pre) >= 2:
            a, b = pre.iloc[0], pre.iloc[-1]
            row["days_before"] = b["days_since_injury"] - a["days_since_injury"]
            row["rate_before"] = (b["value"] - a["value"]) / row["days_before"]
        if len(pre) >= 1 and len(post) >= 1:
            a, b = pre.iloc[-1], post.iloc[-1]
            row["days_after"] = b["days_since_injury"] - a["days_since_injury"]
            row["rate_after"] = (b["value"] - a["value"]) / row["days_after"]
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
    n_patients: int
    n_observations: int
    step: float  # change in level at infusion (points)
    step_ci: tuple[float, float]
    slope_change: float  # change in points per unit of the curve after infusion
    slope_change_ci: tuple[float, float]
    random_effects: str
    converged: bool
    formula: str
    note: str
    # Patients with >= 2 values before the infusion; with fewer, their pre-infusion course
    # comes from the curve assumption alone.
    n_with_two_pre: int = 0


SEGMENTED_NOTE = (
    "Model: value ~ curve + post + post x (curve - curve at infusion), random intercept (and curve "
    "slope when estimable) per patient, fitted by REML (statsmodels MixedLM). 'post' is 1 for "
    "exams after the infusion day. 'curve' is the decelerating spontaneous-recovery shape: by "
    "default the share of the one-year mean UEMS change reached by that day for the patient's "
    "baseline AIS grade (EMSCI, natural-history.md s.3); or log(days since injury). The step and "
    "slope change estimate departures from that shape at infusion. With infusion days close "
    "together the step is weakly identified; unblinded ratings and a wrong shape bias both."
)
CURVES = ("reference", "log")


def _baseline_grades(tables: AnalysisTables) -> dict[str, str | None]:
    from .natural_history import best_grade

    ex = tables.exams.sort_values("days_since_injury")
    inf = _infusion_day(tables)
    out = {}
    for pid, g in ex.groupby("patient"):
        pre = g[g["days_since_injury"] <= inf.get(pid, np.inf)]
        out[pid] = best_grade(pre["ais"].iloc[-1]) if len(pre) else None
    return out


def segmented_model(
    tables: AnalysisTables, measure: str = "uems", curve: str = "reference"
) -> SegmentedResult:
    """Fit the segmented mixed model (SEGMENTED_NOTE); the step at infusion with its 95% CI."""
    import statsmodels.formula.api as smf

    from .natural_history import CURVE_GRADES, recovery_fraction

    if curve not in CURVES:
        raise ValueError(f"curve {curve!r} not allowed; allowed: {CURVES}")
    data = _measure_long(tables, measure)
    inf = _infusion_day(tables)
    data = data[data["patient"].isin(inf.index) & (data["days_since_injury"] > 0)].copy()
    if curve == "reference":
        grades = _baseline_grades(tables)
        data = data[data["patient"].map(grades).isin(list(CURVE_GRADES))].copy()

        def shape(pid: str, day: float) -> float:
            return recovery_fraction(day, grades[pid], 14.0)
    else:

        def shape(pid: str, day: float) -> float:
            return float(np.log(day))

    data["curve"] = [
        shape(p, d) for p, d in zip(data["patient"], data["days_since_injury"], strict=True)
    ]
    at_inf = {p: shape(p, inf[p]) for p in data["patient"].unique()}
    data["post"] = (data["days_since_injury"] > data["patient"].map(inf)).astype(float)
    data["post_curve"] = data["post"] * (data["curve"] - data["patient"].map(at_inf))
    formula = "value ~ curve + post + post_curve"
    n_pat = data["patient"].nunique()
    if n_pat < 3 or len(data) < 8 or data["post"].nunique() < 2:
        raise ValueError(
            f"segmented model for {measure!r} needs >= 3 patients with exams before and after "
            f"infusion (have {n_pat} patients, {len(data)} exams)"
        )
    fit, re_label = None, ""
    for re_formula, label in (("~curve", "intercept + curve slope"), ("~1", "intercept")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                model = smf.mixedlm(formula, data, groups=data["patient"], re_formula=re_formula)
                cand = model.fit(reml=True, method=["lbfgs"])
            except (np.linalg.LinAlgError, ValueError):
                continue
        ci = cand.conf_int()
        if cand.converged and np.isfinite(ci.loc["post"]).all():
            fit, re_label = cand, label
            break
        fit, re_label = fit or cand, label
    if fit is None:
        raise ValueError(f"segmented model for {measure!r} could not be fitted")
    ci = fit.conf_int()
    return SegmentedResult(
        measure=measure,
        n_patients=n_pat,
        n_observations=len(data),
        step=float(fit.params["post"]),
        step_ci=(float(ci.loc["post", 0]), float(ci.loc["post", 1])),
        slope_change=float(fit.params["post_curve"]),
        slope_change_ci=(float(ci.loc["post_curve", 0]), float(ci.loc["post_curve", 1])),
        random_effects=re_label,
        converged=bool(fit.converged),
        formula=formula + f" [curve={curve}]",
        note=SEGMENTED_NOTE,
        n_with_two_pre=int((data[data["post"] == 0].groupby("patient").size() >= 2).sum()),
    )


def plateau_check(
    tables: AnalysisTables,
    measure: str = "uems",
    run_in_days: float = 14,
    min_change: float = 1.0,
) -> pd.DataFrame:
    """Per patient: change over the ``run_in_days`` before infusion and whether it is a plateau
    (change < ``min_change``). Not assessable unless two exams fall inside the run-in window.
    """
    if run_in_days <= 0:
        raise ValueError(f"run_in_days must be > 0 (got {run_in_days!r})")
    data = _measure_long(tables, measure)
    inf = _infusion_day(tables)
    rows = []
    for pid in tables.patients["patient"]:
        row = {
            "patient": pid,
            "measure": measure,
            "run_in_days": run_in_days,
            "first_day": np.nan,
            "last_day": np.nan,
            "change": np.nan,
            "plateau": None,
            "reason": "",
        }
        if pid not in inf.index:
            row["reason"] = "no infusion"
            rows.append(row)
            continue
        g = data[data["patient"] == pid]
        day0 = inf[pid]
        win = g[(g["days_since_injury"] <= day0) & (g["days_since_injury"] >= day0 - run_in_days)]
        win = win.sort_values("days_since_injury")
        if len(win) < 2:
            row["reason"] = f"{len(win)} exam(s) in the {run_in_days:g}-day run-in window; need 2"
        else:
            a, b = win.iloc[0], win.iloc[-1]
            row |= {
                "first_day": a["days_since_injury"],
                "last_day": b["days_since_injury"],
                "change": b["value"] - a["value"],
            }
            row["plateau"] = bool(row["change"] < min_change)
        rows.append(row)
    return pd.DataFrame(rows)
