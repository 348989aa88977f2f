"""Observed outcomes set against what natural history predicts for the same patients.

For each patient: the expected probability of the responder outcome with no treatment
(conditioned on baseline AIS grade, tetraplegia, baseline exam day and the chosen reference era)
and the expected UEMS/LEMS gain over the same interval; observed minus expected; the probability
of "k of n improved" with no treatment (Poisson-binomial), its sensitivity across the published
rate scenarios, and its uncertainty from Beta distributions carrying each source's sample size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import natural_history as nh
from . import poisson_binomial as pb
from .intervals import t_interval
from .responders import DEFINITIONS, ResponderDefinition, evaluate
from .tables import AnalysisTables

TIMING_ASSUMPTION = (
    "Published rates are conversion by about one year (van Middendorp 2009: 6-12 months; "
    "Marino 2020: 30-730 days) from exams in the first 1-4 weeks. For a later baseline exam, or "
    "an earlier end point (a 6-month claim), the rate is conditioned on the patient still having "
    "the baseline grade on the baseline day and cut at the end-point day, assuming conversion "
    "accrues like the mean EMSCI UEMS curve of the same grade (log-time interpolation)."
)
ONE_YEAR_NOTE = (
    "'As published' applies one-year rates to the end point even when it is earlier (e.g. a "
    "6-month claim): that overstates spontaneous conversion by the end point, so the series looks "
    "less surprising than it should; the 'conditioned' columns apply the timing assumption."
)
MOTOR_ASSUMPTION = (
    "Expected gain = difference of EMSCI cross-sectional mean scores of the same score, "
    "population (tetraplegia/paraplegia) and baseline grade (not paired changes) between the "
    "baseline and end-point days; each score uses its own measured curve (weeks 2, 4, 12, 26, 52)."
)
EXCESS_NOTE = (
    "Mean of observed minus expected gain across patients, t-based 95% CI (n - 1 df). It "
    "compares these patients with other, untreated cohorts (EMSCI means): it carries the "
    "comparator's case-mix and era biases, and regression to the mean from a baseline chosen "
    "before infusion."
)


@dataclass(frozen=True)
class ComparatorResult:
    definition: ResponderDefinition
    reference_set: str
    per_patient: pd.DataFrame
    observed: int
    evaluable: int
    expected: float
    p_at_least_observed: float
    p_interval: tuple[float, float, float]  # 2.5%, 50%, 97.5% over the Beta draws
    scenarios: pd.DataFrame
    sources: pd.DataFrame
    assumptions: list[str] = field(default_factory=list)
    # 95% range of the untreated count (2.5% and 97.5% quantiles of the Poisson-binomial).
    expected_range: tuple[int, int] = (0, 0)
    # score -> (mean observed - expected gain, CI low, CI high, patients)
    excess: dict[str, tuple[float, float, float, int]] = field(default_factory=dict)


def _outcome_for(threshold: float) -> str:
    if threshold == 1:
        return "ge1_grade"
    if threshold == 2:
        return "ge2_grades"
    raise ValueError(f"no natural-history figures for a gain of {threshold} AIS grades (have 1, 2)")


def _reference_for(
    grade: str, outcome: str, reference: dict[str, str], tetraplegia: bool = True
) -> nh.ReferenceRate:
    """The reference set's figure for this grade (a "<grade>:paraplegia" entry first for
    patients without tetraplegia); if that source lacks the outcome, the first table row for the
    grade that has it."""
    keys = ([] if tetraplegia else [f"{grade}:paraplegia"]) + [grade]
    for key in keys:
        if key in reference:
            try:
                return nh.reference_rate(reference[key], outcome)
            except KeyError:
                continue
    t = nh.conversion_table()
    rows = t[(t["baseline_ais"] == grade) & (t["outcome"] == outcome)]
    if rows.empty:
        raise KeyError(f"no natural-history figure for AIS {grade} / {outcome}")
    return nh.reference_rate(str(rows.iloc[0]["id"]), outcome)


def compare(
    tables: AnalysisTables,
    definition: ResponderDefinition | str = "ais_1_grade",
    reference_set: str | dict[str, str] = "emsci_2009",
    condition_on_baseline_day: bool = True,
    draws: int = 4000,
    seed: int = 0,
) -> ComparatorResult:
    """Per-patient expected vs observed for an AIS responder definition (see module docstring)."""
    d = DEFINITIONS[definition] if isinstance(definition, str) else definition
    if d.kind != "ais":
        raise ValueError(f"comparator needs an AIS responder definition (got kind {d.kind!r})")
    if isinstance(reference_set, str):
        if reference_set not in nh.REFERENCE_SETS:
            raise KeyError(
                f"reference_set {reference_set!r} unknown; allowed: {sorted(nh.REFERENCE_SETS)}"
            )
        ref_map, ref_name = nh.REFERENCE_SETS[reference_set], reference_set
    else:
        ref_map, ref_name = dict(reference_set), "custom"
    resp = evaluate(tables, d)
    tetra = tables.patients.set_index("patient")["tetraplegia"].to_dict()
    exams_by_patient = {
        pid: g.drop_duplicates("days_since_injury").set_index("days_since_injury")
        for pid, g in tables.exams.groupby("patient")
    }
    rows, used = [], {}
    for _, r in resp.iterrows():
        row = r.to_dict()
        row |= {"tetraplegia": bool(tetra[r["patient"]])}
        if r["responder"] is None or pd.isna(r["responder"]):
            rows.append(row)
            continue
        grade = nh.best_grade(r["baseline_ais"])
        ref = _reference_for(grade, _outcome_for(r["threshold"]), ref_map, row["tetraplegia"])
        used[ref.id + "/" + ref.outcome] = ref
        b, e = float(r["baseline_day"]), float(r["end_day"])
        if condition_on_baseline_day and grade in nh.CURVE_GRADES:
            p = nh.conditional_rate(
                ref.rate, grade, b, min(e, nh.ONE_YEAR_DAYS), nh.reference_day(ref)
            )
        else:
            p = ref.rate
        row |= {
            "reference": ref.id,
            "reference_rate": ref.rate,
            "expected_p": p,
            "observed": float(bool(r["responder"])),
        }
        row["observed_minus_expected"] = row["observed"] - p
        ex = exams_by_patient[r["patient"]]
        for score in ("uems", "lems"):
            obs = float(ex.at[int(e), score] - ex.at[int(b), score])
            if grade not in nh.CURVE_GRADES:
                obs = float("nan")  # no EMSCI curve for the grade: no comparison
            exp = (
                nh.expected_motor_gain(score, grade, row["tetraplegia"], b, e)
                if grade in nh.CURVE_GRADES
                else float("nan")
            )
            row |= {
                f"{score}_observed_gain": obs,
                f"{score}_expected_gain": exp,
                f"{score}_observed_minus_expected": obs - exp,
            }
        rows.append(row)
    per = pd.DataFrame(rows)
    ev = per[per["responder"].notna()] if len(per) else per
    n = len(ev)
    k = int(ev["observed"].sum()) if n else 0
    probs = ev["expected_p"].to_numpy(float) if n else np.array([])
    expected = pb.mean(probs) if n else float("nan")
    p_obs = pb.sf(k, probs) if n else float("nan")
    interval = (
        _beta_interval(ev, used, k, condition_on_baseline_day, draws, seed)
        if n and draws > 0
        else (float("nan"),) * 3
    )
    scen = _scenario_table(ev, k, d) if n else pd.DataFrame()
    src = pd.DataFrame(
        [
            {
                "source": r.id,
                "outcome": r.outcome,
                "baseline_ais": r.baseline_ais,
                "rate": r.rate,
                "n": r.n_label,
                "follow_up": r.follow_up,
                "beta_a": round(r.beta[0], 2),
                "beta_b": round(r.beta[1], 2),
                "tag": r.tag,
                "citation": r.citation,
            }
            for r in used.values()
        ]
    )
    assumptions = [
        "Patients are independent and each either improves or not (Poisson-binomial).",
        MOTOR_ASSUMPTION,
        "Rate uncertainty: Beta(x + 1/2, n - x + 1/2) per source (x = rate * n); sources without "
        "a reported n use the n their 95% CI implies, else "
        f"n = {nh.ASSUMED_N_WHEN_NOT_REPORTED} (assumption).",
        "Indeterminate AIS grades count against improvement (best candidate before, worst after).",
    ]
    if condition_on_baseline_day:
        assumptions.insert(1, TIMING_ASSUMPTION)
    return ComparatorResult(
        definition=d,
        reference_set=ref_name,
        per_patient=per,
        observed=k,
        evaluable=n,
        expected=expected,
        p_at_least_observed=p_obs,
        p_interval=interval,
        scenarios=scen,
        sources=src,
        assumptions=assumptions,
        expected_range=pb.central_range(probs) if n else (0, 0),
        excess={score: _excess(ev, score) for score in ("uems", "lems")} if n else {},
    )


def _excess(ev: pd.DataFrame, score: str) -> tuple[float, float, float, int]:
    """Mean observed - expected gain of a score across patients with a t-based 95% CI."""
    col = f"{score}_observed_minus_expected"
    vals = ev[col].to_numpy(float) if col in ev.columns else np.array([])
    m, lo, hi = t_interval(vals)
    return m, lo, hi, int(np.isfinite(vals).sum())


def _beta_interval(ev, used, k, conditioned, draws, seed) -> tuple[float, float, float]:
    """P(K >= k) under rates drawn from each source's Beta; the 2.5/50/97.5 percentiles."""
    rng = np.random.default_rng(seed)
    sampled = {key: rng.beta(*ref.beta, size=draws) for key, ref in used.items()}
    probs = np.empty((draws, len(ev)))
    for j, (_, r) in enumerate(ev.iterrows()):
        grade = nh.best_grade(r["baseline_ais"])
        ref = nh.reference_rate(r["reference"], _outcome_for(r["threshold"]))
        rate = sampled[ref.id + "/" + ref.outcome]
        if conditioned and grade in nh.CURVE_GRADES:
            rd = nh.reference_day(ref)
            fb = nh.recovery_fraction(r["baseline_day"], grade, rd)
            fe = nh.recovery_fraction(min(r["end_day"], nh.ONE_YEAR_DAYS), grade, rd)
            probs[:, j] = rate * (fe - fb) / np.maximum(1e-12, 1 - rate * fb)
        else:
            probs[:, j] = rate
    # Vectorised Poisson-binomial over draws.
    dist = np.zeros((draws, probs.shape[1] + 1))
    dist[:, 0] = 1.0
    for i in range(probs.shape[1]):
        p = probs[:, i : i + 1]
        dist[:, 1 : i + 2] = dist[:, 1 : i + 2] * (1 - p) + dist[:, 0 : i + 1] * p
        dist[:, 0] *= 1 - probs[:, i]
    tail = dist[:, k:].sum(axis=1) if k > 0 else np.ones(draws)
    lo, mid, hi = np.percentile(tail, [2.5, 50, 97.5])
    return float(lo), float(mid), float(hi)


def _scenario_table(ev: pd.DataFrame, k: int, d: ResponderDefinition) -> pd.DataFrame:
    """P(K >= k) under each published scenario (section 6), as published and timing-conditioned.

    The scenarios are >= 1 grade rates for baseline A/B/C. Patients outside them (baseline D, or
    a >= 2 grade threshold) keep their reference-based expected probability; ``kept`` counts them.
    """
    out = []
    grades = [nh.best_grade(g) for g in ev["baseline_ais"]]
    in_scope = [
        g in ("A", "B", "C") and t == 1 for g, t in zip(grades, ev["threshold"], strict=True)
    ]
    for _, s in nh.rate_scenarios().iterrows():
        rates = {"A": s["rate_A"], "B": s["rate_B"], "C": s["rate_C"]}
        p0, p1 = [], []
        for g, b, e, own, ok in zip(
            grades, ev["baseline_day"], ev["end_day"], ev["expected_p"], in_scope, strict=True
        ):
            if not ok:
                p0.append(own)
                p1.append(own)
                continue
            p0.append(rates[g])
            p1.append(nh.conditional_rate(rates[g], g, b, min(e, nh.ONE_YEAR_DAYS), 14.0))
        out.append(
            {
                "scenario": s["scenario"],
                "rates": s["label"],
                "expected_as_published": pb.mean(p0),
                "p_as_published": pb.sf(k, p0),
                "expected_conditioned": pb.mean(p1),
                "p_conditioned": pb.sf(k, p1),
                "kept": len(in_scope) - sum(in_scope),
                "citation": s["citation"],
            }
        )
    return pd.DataFrame(out)


def case_mix_table(
    mixes: list[dict[str, int]], k: int, scenarios: pd.DataFrame | None = None
) -> pd.DataFrame:
    """E and P(K >= k) for case mixes x rate scenarios (reproduces natural-history.md s.6)."""
    scenarios = nh.reference_table_scenarios() if scenarios is None else scenarios
    out = []
    for mix in mixes:
        for _, s in scenarios.iterrows():
            p = pb.case_mix_probabilities(
                mix, {"A": s["rate_A"], "B": s["rate_B"], "C": s["rate_C"]}
            )
            out.append(
                {
                    "mix": "/".join(str(mix.get(g, 0)) for g in ("A", "B", "C")),
                    "scenario": s["scenario"],
                    "rates": s["label"],
                    "expected": pb.mean(p),
                    "p_at_least": pb.sf(k, p),
                }
            )
    return pd.DataFrame(out)


# Baseline and end-point days for the sensitivity of a "k of n improved" claim: as published
# (exam within 2 weeks, one-year rates), and conditioned on a baseline at infusion (day 49, the
# regulator's preset) and/or a 6-month end point (day 180).
TIMINGS: dict[str, tuple[float | None, float | None]] = {
    "as published (baseline <= 2 wk, 1-year rates)": (None, None),
    "baseline <= 2 wk, end day 180": (14.0, 180.0),
    "baseline day 49, 1 year": (49.0, nh.ONE_YEAR_DAYS),
    "baseline day 49, end day 180": (49.0, 180.0),
}


def sensitivity_grid(
    k: int,
    mixes: list[dict[str, int]],
    scenarios: pd.DataFrame | None = None,
    timings: dict[str, tuple[float | None, float | None]] | None = None,
) -> pd.DataFrame:
    """P(K >= k) with no treatment for each case mix x rate scenario x timing (baseline and
    end-point day; None = rates as published). Shows how far a "k of n improved" conclusion
    moves between plausible inputs."""
    scenarios = nh.rate_scenarios() if scenarios is None else scenarios
    timings = TIMINGS if timings is None else timings
    out = []
    for mix in mixes:
        for _, s in scenarios.iterrows():
            rates = {"A": s["rate_A"], "B": s["rate_B"], "C": s["rate_C"]}
            row = {
                "mix A/B/C": "/".join(str(mix.get(g, 0)) for g in ("A", "B", "C")),
                "rates": f"{s['scenario']} ({s['label']})",
            }
            for label, (b, e) in timings.items():
                probs = []
                for grade, count in mix.items():
                    p = rates[grade]
                    if b is not None and e is not None:
                        p = nh.conditional_rate(p, grade, b, e, 14.0)
                    probs += [p] * int(count)
                row[label] = pb.sf(k, probs)
            out.append(row)
    return pd.DataFrame(out)


def orders_of_magnitude(grid: pd.DataFrame) -> tuple[float, float, float]:
    """Smallest and largest P in a sensitivity grid and log10 of their ratio."""
    vals = grid.select_dtypes("number").to_numpy(float).ravel()
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if vals.size == 0:
        return float("nan"), float("nan"), float("nan")
    lo, hi = float(vals.min()), float(vals.max())
    return lo, hi, float(np.log10(hi / lo))
