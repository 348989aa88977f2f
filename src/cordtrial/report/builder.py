"""Assemble the trial report (sections of figures and tables) from AnalysisTables.

Pure: takes tables, returns a ``Report``; ``render.py`` turns it into one HTML file.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cordtrial.analysis import comparator, descriptive, plots, power, responders, walking
from cordtrial.analysis import natural_history as nh
from cordtrial.analysis import self_controlled as sc
from cordtrial.analysis.tables import AnalysisTables

from . import comparisons as cmp
from .model import Section

NH_SOURCE = (
    "natural-history reference tables shipped in cordtrial/analysis/data "
    "(ais_conversion.csv, emsci_means.csv, rate_scenarios.csv; each row cited)"
)
EMSCI_SOURCE = (
    "EMSCI 2001-2019 pooled means by score, population and baseline AIS (Bourguignon, Jutzeler "
    "et al.; jutzca/SCI_Neurological_Recovery; emsci_means.csv) [V]"
)
SYNTHETIC_LIMIT = (
    "These patients are SYNTHETIC: every outcome here was produced by a data generator, so a "
    "difference between observed and expected describes that generator, not any treatment."
)
STORE_SOURCE = "trial data (the analysis tables given to the report)"


@dataclass
class Report:
    title: str
    data_source: str
    synthetic: bool
    n_patients: int
    key_findings: list[str]
    sections: list[Section] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The series' apparent effect (set by the comparator section, used by the power section).
    series_effect: power.SeriesEffect | None = None
    # Every P value or CI against "no effect" the report states (multiplicity, point 4).
    comparisons: list[cmp.Comparison] = field(default_factory=list)

    def compare(self, *args, **kwargs) -> None:
        self.comparisons.append(cmp.Comparison(*args, **kwargs))


def _fmt_p(p: float) -> str:
    if p != p:
        return "-"
    return f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


def _fmt_ci(m: float, lo: float, hi: float, digits: int = 2) -> str:
    if m != m:
        return "-"
    return f"{m:.{digits}f} (95% CI {lo:.{digits}f} to {hi:.{digits}f})"


def _excludes(lo: float, hi: float) -> bool | None:
    if lo != lo or hi != hi:
        return None
    return bool(lo > 0 or hi < 0)


def _esc(s: object) -> str:
    return html.escape(str(s))


def build(
    tables: AnalysisTables,
    data_source: str = STORE_SOURCE,
    title: str = "Cell-therapy case series: outcomes against natural history",
    progress: Callable[[str], None] | None = None,
    draws: int = 4000,
) -> Report:
    """Validate the tables and build every report section."""
    tables.validate()
    step = progress or (lambda _msg: None)
    synthetic = bool(tables.patients["synthetic"].any()) if len(tables.patients) else False
    rep = Report(
        title=title,
        data_source=data_source,
        synthetic=synthetic,
        n_patients=len(tables.patients),
        key_findings=[],
    )
    if tables.patients.empty or tables.exams.empty:
        rep.warnings.append("No patients or no exams in the data: nothing to analyse.")
        rep.sections.append(_methods_section(None, rep))
        return rep
    builders = [
        ("patients", _patients_section),
        ("trajectories", _trajectory_section),
        ("shift tables", _shift_section),
        ("thresholds", _responder_section),
        ("natural-history comparator", lambda t, r: _comparator_section(t, r, draws)),
        ("self-controlled analyses", _self_controlled_section),
        ("walking prediction", _walking_section),
        ("safety", _safety_section),
        ("power and sample size", _power_section),
    ]
    for name, fn in builders:
        step(name)
        try:
            rep.sections.append(fn(tables, rep))
        except (ValueError, KeyError) as exc:  # a section that cannot run says why, others go on
            s = Section(id=name.replace(" ", "-"), title=name.capitalize())
            s.note(f"This section could not be computed from these data: {_esc(exc)}", "warning")
            rep.sections.append(s)
            rep.warnings.append(f"{name}: {exc}")
    # Findings with a comparator first; those that cannot be interpreted after them.
    rep.key_findings.sort(key=lambda f: responders.NO_COMPARATOR in f)
    step("methods and limitations")
    rep.sections.append(_methods_section(tables, rep))
    rep.sections.append(_sources_section())
    return rep


def _patients_section(t: AnalysisTables, rep: Report) -> Section:
    s = Section("patients", "Patients and baseline")
    base = descriptive.baseline_characteristics(t)
    s.table(
        "Baseline characteristics (baseline = last exam on or before the infusion day)",
        base,
        source=STORE_SOURCE,
    )
    blinded = t.exams["blinded"].astype(bool)
    s.note(
        f"{int(blinded.sum())} of {len(blinded)} exams were rated by a blinded assessor.",
        "caveat" if blinded.mean() < 0.5 else "info",
    )
    s.table(
        "Exam scores per visit, median (IQR)", descriptive.score_summary(t), source=STORE_SOURCE
    )
    return s


def _trajectory_section(t: AnalysisTables, rep: Report) -> Section:
    s = Section(
        "trajectories",
        "Trajectories",
        "Each line is one patient, coloured by baseline AIS grade; the black triangle is "
        "the infusion. Recovery after SCI happens anyway: compare the lines with the "
        "untreated EMSCI means of the same score, population and baseline grade, not with the "
        "patient's own earlier value.",
    )
    for m in ("uems", "lems", "lt_total", "pp_total"):
        s.figure(
            f"{plots.MEASURE_LABELS[m]} against days since injury",
            plots.spaghetti(t, m),
            source=f"{STORE_SOURCE}; curves: {EMSCI_SOURCE}",
            assumptions="EMSCI curves are cross-sectional means of a different (untreated) "
            "cohort at weeks 2, 4, 12, 26 and 52 (linear in log time between them; EMSCI's first "
            "stage pools the first 2 weeks). Exams in the first days after injury are unreliable "
            "(spinal shock).",
        )
    inst = t.instruments
    for key, label in (("scim3.total", "SCIM III"), ("wisci2.max_level", "WISCI II")):
        i, m = key.split(".")
        if ((inst["instrument"] == i) & (inst["measure"] == m)).any():
            s.figure(
                f"{plots.MEASURE_LABELS[key]} against days since injury",
                plots.spaghetti(t, key, reference_curve=False),
                source=STORE_SOURCE,
                assumptions=f"{label}: {responders.NO_COMPARATOR} (no natural-history curve "
                "in the shipped references); functional scores also reflect rehabilitation dose "
                "and setting.",
            )
        else:
            s.note(f"No {label} assessments in the data.")
    s.figure(
        "Swimmer plot: exams (AIS grade), infusion and adverse events per patient",
        plots.swimmer(t),
        source=STORE_SOURCE,
        assumptions="Letters are the AIS grade at each exam; comma lists are indeterminate "
        "grades as classified.",
    )
    return s


def _shift_section(t: AnalysisTables, rep: Report) -> Section:
    s = Section(
        "shift-tables",
        "AIS shift tables",
        "Rows: AIS grade at baseline (last exam on or before the infusion day); columns: "
        "AIS grade at the visit. Counts of patients.",
    )
    for visit, tab in descriptive.shift_tables(t).items():
        s.table(
            f"Baseline to {visit}",
            tab.rename_axis(index="baseline", columns=None),
            source=STORE_SOURCE,
            index=True,
        )
    return s


def _responder_section(t: AnalysisTables, rep: Report) -> Section:
    s = Section(
        "responders",
        "Pre-specified thresholds: how many patients met them",
        "Each definition fixes the baseline exam, the end-point exam and the threshold "
        "before outcomes are seen. Proportions carry exact (Clopper-Pearson) 95% CIs. "
        "Meeting a threshold says nothing about the treatment until it is compared with what "
        "natural history predicts for the same patients; definitions without such a "
        "comparator cannot be interpreted.",
    )
    summ = responders.summary(t)
    shown = summ.drop(columns=["definition"]).rename(
        columns={"met_threshold": "met the threshold", "comparator": "natural-history comparator"}
    )
    s.table(
        "Patients who met each threshold",
        shown,
        source=f"{STORE_SOURCE}; definitions: natural-history.md s.5 (cited per row)",
        assumptions="Definitions with 'no comparator: cannot be interpreted' have no published "
        "untreated expectation for this interval and population.",
    )
    for _, row in summ.iterrows():
        d = responders.DEFINITIONS[row["definition"]]
        if not d.has_comparator and row["evaluable"]:
            rep.key_findings.append(
                f"{d.label}: {int(row['met_threshold'])} of {int(row['evaluable'])} met the "
                f"threshold; {responders.NO_COMPARATOR}."
            )
            s.note(
                f"<strong>{_esc(d.label)}: {int(row['met_threshold'])} of "
                f"{int(row['evaluable'])} met the threshold - {_esc(d.comparator)}</strong>",
                "warning",
            )
    for name in ("regulator_preset",):
        r = responders.evaluate(t, name)
        not_ev = r[r["responder"].isna()]
        if len(not_ev):
            reasons = not_ev["reason"].value_counts()
            s.note(
                f"Regulator preset: {len(not_ev)} of {len(r)} patients not evaluable ("
                + "; ".join(f"{_esc(k)}: {v}" for k, v in reasons.items())
                + "). The preset was registered for cervical SCI, age 20-70; its windows (day "
                "49 +/- 7 baseline, day 180 +/- 30 end point, days since injury) need exams "
                "scheduled on those days.",
                "caveat",
            )
    return s


def _unverified_note(sources: pd.DataFrame) -> str:
    """A plain note naming any [R] (unverified) figure a comparison uses ("" when none)."""
    if sources.empty:
        return ""
    bad = sources[sources["tag"] == "R"]
    if bad.empty:
        return ""
    names = ", ".join(f"{r.source} ({r.rate:.0%})" for r in bad.itertuples())
    return (
        f"UNVERIFIED figure used: {_esc(names)} [R]: no source confirms it yet; the result that "
        "uses it is provisional."
    )


# The case mixes of natural-history.md section 6 (illustrative; the study's mix is not public).
SECTION6_MIXES = [
    {"A": 6, "B": 2, "C": 5},
    {"A": 4, "B": 4, "C": 5},
    {"A": 3, "B": 3, "C": 7},
    {"A": 0, "B": 0, "C": 13},
]


def _comparator_section(t: AnalysisTables, rep: Report, draws: int) -> Section:
    s = Section(
        "comparator",
        "Natural-history comparator",
        "For each patient, the probability of the same outcome without treatment, "
        "conditioned on baseline AIS grade, baseline exam day and the reference era; "
        "observed minus expected; and how often an untreated series of the same patients "
        "would do at least as well.",
    )
    synthetic = bool(t.patients["synthetic"].any())
    for name in ("ais_1_grade", "regulator_preset"):
        d = responders.DEFINITIONS[name]
        res = comparator.compare(t, name, draws=draws)
        if res.evaluable == 0:
            s.note(f"{_esc(d.label)}: no evaluable patients.", "warning")
            continue
        lo, mid, hi = res.p_interval
        e_lo, e_hi = res.expected_range
        line = (
            f"{d.label}: {res.observed} of {res.evaluable} met the threshold; natural history "
            f"expects {res.expected:.1f} (95% range of an untreated count {e_lo}-{e_hi}). "
            f"P(>= {res.observed} of {res.evaluable} untreated) = "
            f"{_fmt_p(res.p_at_least_observed)} (95% range over reference uncertainty "
            f"{_fmt_p(lo)}-{_fmt_p(hi)})."
        )
        rep.key_findings.append(line)
        rep.compare(
            "comparator",
            f"{d.label}: observed vs natural history",
            f"{res.observed}/{res.evaluable} vs {res.expected:.1f}; "
            f"P = {_fmt_p(res.p_at_least_observed)}",
            bool(res.p_at_least_observed < 0.05),
            effect_key=f"comparator.{name}",
        )
        s.note(_esc(line), "info")
        if unverified := _unverified_note(res.sources):
            s.note(unverified, "warning")
        per = res.per_patient.copy()
        if "observed" in per.columns:
            per["observed"] = per["observed"].astype("Int64")
        cols = {
            "patient": "patient",
            "tetraplegia": "tetraplegia",
            "baseline_ais": "baseline_ais",
            "baseline_day": "baseline_day",
            "end_ais": "end_ais",
            "end_day": "end_day",
            "reference": "reference",
            "reference_rate": "reference_rate",
            "expected_p": "expected_p",
            "observed": "met threshold (1/0)",
            "observed_minus_expected": "observed_minus_expected",
            "uems_observed_gain": "uems_observed_gain",
            "uems_expected_gain": "uems_expected_gain",
            "lems_observed_gain": "lems_observed_gain",
            "lems_expected_gain": "lems_expected_gain",
            "reason": "reason",
        }
        keep = [c for c in cols if c in per.columns]
        s.table(
            f"Per patient: {d.label}",
            per[keep].rename(columns=cols),
            source=f"{STORE_SOURCE}; {NH_SOURCE}",
            assumptions=" ".join(res.assumptions),
        )
        ev = per[per["expected_p"].notna()]
        s.figure(
            f"Observed outcome vs untreated probability, per patient ({d.label})",
            plots.observed_vs_expected(per),
            source=f"{NH_SOURCE}; sources used: " + "; ".join(res.sources["citation"].astype(str)),
            assumptions=comparator.TIMING_ASSUMPTION,
        )
        s.figure(
            f"Number meeting the threshold with no treatment ({d.label})",
            plots.k_of_n(list(ev["expected_p"]), res.observed),
            source="Poisson-binomial over the per-patient probabilities above",
            assumptions="Independent patients; probabilities as in the per-patient table "
            "(point values; the Beta range is in the text above).",
        )
        s.table(
            f"Reference figures used ({d.label})",
            res.sources,
            source=NH_SOURCE,
            assumptions="Beta(x + 1/2, n - x + 1/2) per source carries its sample size into "
            "the range of P; tags: [V] checked, [V2] secondary source, [R] UNVERIFIED, "
            "[D] derived.",
        )
        if name == "ais_1_grade":
            _comparator_details(t, rep, s, res, ev, synthetic)
    _era_table(t, rep, s, draws)
    _claim_sensitivity(s)
    return s


def _comparator_details(t, rep: Report, s: Section, res, ev: pd.DataFrame, synthetic) -> None:
    """Scenario sensitivity, motor gains over natural history (ais_1_grade interval)."""
    if not res.scenarios.empty:
        k, n = res.observed, res.evaluable
        s.table(
            f"Sensitivity: rate scenarios for {k} of {n} (section 6 of natural-history.md, "
            "the lowest published rates, the Khorasanizadeh 2019 meta-analysis, the upper end)",
            res.scenarios.drop(columns=["citation"]),
            source=NH_SOURCE + "; Khorasanizadeh et al., J Neurosurg Spine 2019;30:683 [V2]",
            assumptions="Scenario rates apply to baseline A/B/C with a 1-grade threshold; "
            "'kept' patients keep their reference probability. " + comparator.ONE_YEAR_NOTE,
        )
        for row in res.scenarios.itertuples():
            for col, label in (("p_as_published", "as published"), ("p_conditioned", "cond.")):
                p = getattr(row, col)
                rep.compare(
                    "comparator",
                    f">= 1 AIS grade, scenario {row.scenario} ({label})",
                    f"P = {_fmt_p(p)}",
                    bool(p < 0.05),
                    kind=cmp.SENSITIVITY,
                )
        s.figure(
            "P(>= observed) across rate scenarios (log scale; dotted line 0.05)",
            plots.scenario_sensitivity(res.scenarios),
            source=NH_SOURCE,
            assumptions="The answer moves by orders of magnitude with era, case mix and "
            "baseline timing: never read one number alone. " + comparator.ONE_YEAR_NOTE,
        )
    rows = []
    for score in ("uems", "lems"):
        m, lo, hi, n = res.excess[score]
        key = f"excess_gain.{score}"
        rows.append(
            {
                "score": score.upper(),
                "patients": n,
                "mean observed - expected gain": _fmt_ci(m, lo, hi),
                "false effects in no-effect simulations": cmp.calibration_cell(key),
            }
        )
        rep.compare(
            "comparator",
            f"Mean {score.upper()} gain over natural history",
            _fmt_ci(m, lo, hi),
            _excludes(lo, hi),
            effect_key=key,
        )
    s.table(
        "Motor gain over natural history (baseline: last exam before infusion; end: last exam)",
        pd.DataFrame(rows),
        source=f"{STORE_SOURCE}; {EMSCI_SOURCE}",
        assumptions=comparator.EXCESS_NOTE + " " + comparator.MOTOR_ASSUMPTION,
    )
    for score in ("uems", "lems"):
        if w := cmp.warning_for(f"excess_gain.{score}"):
            s.note(f"{score.upper()} gain over natural history: {_esc(w)}", "warning")
        s.figure(
            f"{score.upper()} gain: observed vs expected from EMSCI means, same interval",
            plots.motor_gain_vs_expected(ev, score),
            source=EMSCI_SOURCE,
            assumptions=comparator.MOTOR_ASSUMPTION,
        )
    if synthetic:
        s.note(SYNTHETIC_LIMIT, "caveat")
    rep.series_effect = power.effect_from_series(
        res.observed, res.evaluable, res.expected, list(ev["uems_observed_minus_expected"])
    )


def _era_table(t: AnalysisTables, rep: Report, s: Section, draws: int) -> None:
    era_rows = []
    for name in ("ais_1_grade", "regulator_preset"):
        for ref_set in nh.REFERENCE_SETS:
            r = comparator.compare(t, name, reference_set=ref_set, draws=min(draws, 1000))
            if r.evaluable == 0:
                continue
            era_rows.append(
                {
                    "definition": name,
                    "reference set": ref_set,
                    "observed": f"{r.observed}/{r.evaluable}",
                    "expected": r.expected,
                    "P(>= observed)": r.p_at_least_observed,
                    "2.5%": r.p_interval[0],
                    "97.5%": r.p_interval[2],
                }
            )
            rep.compare(
                "comparator",
                f"{name}, reference set {ref_set}",
                f"P = {_fmt_p(r.p_at_least_observed)}",
                bool(r.p_at_least_observed < 0.05),
                kind=cmp.SENSITIVITY,
            )
    if era_rows:
        s.table(
            "Sensitivity to the reference era",
            pd.DataFrame(era_rows),
            source=NH_SOURCE,
            assumptions="emsci_2009: van Middendorp 2009 (EMSCI 2001-08) for every grade; "
            "modern_cervical: cervical AIS A from Marino 2020 (SCIMS 2013-15, 50% convert, "
            "follow-up 30-730 days; n not in the reference, so n = 50 is assumed for its Beta). "
            "Paraplegic AIS A: Marino 2020 thoracic T1-9 in both.",
            digits=3,
        )


def _claim_sensitivity(s: Section) -> None:
    """The published claim (12 of 13 improved by ~6 months) across case mix, rates and timing."""
    cm = comparator.case_mix_table(SECTION6_MIXES, 12)
    s.table(
        "How surprising is '12 of 13 improved' with no treatment? (natural-history.md s.6, "
        "recomputed: case mix x scenario, baseline <= 2 weeks)",
        cm,
        source="natural-history.md s.6, recomputed",
        assumptions="Baseline exams within 2 weeks; one-year rates, no timing adjustment.",
        digits=4,
    )
    grid = comparator.sensitivity_grid(12, SECTION6_MIXES)
    lo, hi, orders = comparator.orders_of_magnitude(grid)
    s.table(
        "'12 of 13 improved': P(>= 12) with no treatment by case mix, rates (era) and timing",
        grid,
        source=NH_SOURCE + "; Khorasanizadeh 2019 [V2]; timing: natural_history.conditional_rate",
        assumptions="The model study's claim is at about 6 months (220 days in one report) "
        "from a baseline before infusion; the published rates are one-year conversion from an "
        "exam within 2 weeks. " + comparator.ONE_YEAR_NOTE,
        digits=3,
    )
    s.note(
        f"Between these plausible inputs P(>= 12 of 13) runs from {lo:.2g} to {hi:.2g}: "
        f"{orders:.1f} orders of magnitude. The conclusion depends on case mix, era and baseline "
        "day more than on the data; no single P value describes it.",
        "caveat",
    )


def _self_controlled_section(t: AnalysisTables, rep: Report) -> Section:
    s = Section("self-controlled", "Self-controlled analyses (before vs after infusion)")
    s.note(
        f"<strong>Daily rate of change before vs after infusion, as published.</strong> "
        f"{_esc(sc.RATE_BIAS)}",
        "caveat",
    )
    rows = []
    for m in ("uems", "lems", "lt_total", "pp_total"):
        for after, window in ((7, "7d"), (None, "last")):
            r = sc.rate_before_after(t, m, after)
            sm = sc.summarise_rates(r, after)
            key = f"rate_before_after.{m}.{window}"
            rows.append(
                {
                    "measure": m,
                    "after window": "7 days" if after else "to last exam",
                    "patients": sm.n,
                    "median rate before (/day)": sm.median_before,
                    "median rate after (/day)": sm.median_after,
                    "Wilcoxon p (biased)": sm.wilcoxon_p,
                    "P < 0.05 in no-effect simulations": cmp.calibration_cell(key),
                }
            )
            rep.compare(
                "self-controlled",
                f"Rate before vs after ({rows[-1]['after window']}), {m} (biased)",
                f"Wilcoxon p = {_fmt_p(sm.wilcoxon_p)}",
                None if sm.wilcoxon_p != sm.wilcoxon_p else bool(sm.wilcoxon_p < 0.05),
                effect_key=key,
            )
    s.table(
        "Rate of change before vs after infusion (reproduces the published analysis; biased)",
        pd.DataFrame(rows),
        source=f"{STORE_SOURCE}; method: study.md (the group's stroke paper)",
        assumptions="Before: first exam to last exam on/before the infusion day. "
        "After: that exam to the last exam in the window. The last column: share of synthetic "
        "trials WITHOUT any effect where this test gave p < 0.05 (nominal 5%).",
        digits=3,
    )
    _segmented_table(t, rep, s)
    _plateau(t, s)
    return s


def _segmented_table(t: AnalysisTables, rep: Report, s: Section) -> None:
    seg_rows, warnings_ = [], []
    for m in ("uems", "lems", "lt_total", "pp_total", "scim3.total"):
        try:
            r = sc.segmented_model(t, m)
        except ValueError as exc:
            seg_rows.append({"measure": m, "note": str(exc)})
            continue
        row = {
            "measure": m,
            "patients (step / pace)": f"{r.n_patients_step} / {r.n_patients}",
            "exams": r.n_observations,
        }
        for what, est, ci, label in (
            ("step", r.step, r.step_ci, "step in the first week (points)"),
            ("slope", r.slope_change, r.slope_change_ci, "change in pace (x expected change)"),
        ):
            key = f"segmented.{what}.{m}"
            row[label] = _fmt_ci(est, *ci)
            row[f"{what}: false effects in simulations"] = cmp.calibration_cell(key)
            rep.compare(
                "self-controlled",
                f"Segmented model: {label}, {m}",
                _fmt_ci(est, *ci),
                _excludes(*ci),
                effect_key=key,
            )
            if w := cmp.warning_for(key):
                warnings_.append(f"{label}, {m}: {w}")
        left_out = r.excluded
        row["note"] = (
            f"{len(left_out)} patient(s) left out: "
            + "; ".join(sorted(set(left_out["reason"].astype(str))))
            if len(left_out)
            else ""
        )
        seg_rows.append(row)
    seg = pd.DataFrame(seg_rows)
    if "exams" in seg.columns:
        seg["exams"] = seg["exams"].astype("Int64")
    s.table(
        "Step and change in pace at infusion against the natural-history curve of each score",
        seg,
        source=f"{STORE_SOURCE}; curves: {EMSCI_SOURCE}; calibration: analysis/data/"
        "calibration.csv (synthetic no-effect trials, docs/analysis.md)",
        assumptions=sc.SEGMENTED_NOTE,
    )
    for w in warnings_:
        s.note(_esc(w), "warning")
    s.note(
        "'False effects in simulations': how often the 95% CI excluded 0 in synthetic trials "
        "with no effect, generated from the same natural-history sources (nominal 5%). It "
        "checks the method, not these patients: if they do not follow the EMSCI curves (other "
        "era, case mix, unblinded raters), the step and pace change are biased anyway. SCIM "
        "III has no natural-history curve in the shipped references, so it is not modelled.",
        "caveat",
    )


def _plateau(t: AnalysisTables, s: Section) -> None:
    p = sc.plateau_check(t, "uems", run_in_days=14)
    assessable = p[p["plateau"].notna()]
    assumptions = (
        "Plateau = change < 1 point between an exam within 3 days before the infusion and one "
        "11-17 days before that (the group's chronic protocol: no improvement in the 2 weeks "
        "before infusion, study.md). Exams only a few days apart are not a run-in and are "
        "reported as not assessable."
    )
    if len(assessable):
        s.table(
            "Pre-infusion plateau check, UEMS, 14-day run-in (< 1 point = plateau)",
            p.drop(columns=["measure"]),
            source=STORE_SOURCE,
            assumptions=assumptions,
        )
        return
    s.note(
        f"Pre-infusion plateau check (14-day run-in): not assessable in any of {len(p)} "
        f"patients. {_run_in_schedule(t)}" + assumptions,
        "warning",
    )


def _run_in_schedule(t: AnalysisTables) -> str:
    """Why no patient has a run-in: where this schedule puts the exams before the infusion."""
    inf = t.infusions.groupby("patient")["days_since_injury"].min()
    ex = t.exams.assign(before=lambda d: d["patient"].map(inf) - d["days_since_injury"])
    ex = ex[ex["before"] > 0]
    if inf.empty or ex.empty:
        return "No infused patient has an exam before the infusion day. "
    per = ex.groupby("patient")["before"]

    def days(v: pd.Series) -> str:
        lo, hi = int(v.min()), int(v.max())
        return f"{lo}" if lo == hi else f"{lo}-{hi}"

    text = (
        f"In this schedule the exams before the infusion day are {days(per.max())} days (the "
        f"first) and {days(per.min())} days (the last) before it; no patient has an exam "
        "11-17 days before one within 3 days of the infusion, so the data cannot show whether "
        "recovery had stopped. "
    )
    if inf.max() < 91:
        text += (
            f"The infusions were {inf.min():.0f}-{inf.max():.0f} days after injury, while "
            "spontaneous recovery is still under way (fastest in the first 3 months: ICCP, "
            "Fawcett 2007): no plateau is expected then, and the 14-day no-improvement run-in "
            "comes from the group's chronic protocol (study.md), not from this schedule. "
        )
    return text + "A run-in needs an exam about 2 weeks before the infusion (e.g. unscheduled). "


def _walking_section(t: AnalysisTables, rep: Report) -> Section:
    s = Section("walking", "Walking prediction at baseline vs observed walking")
    pred = walking.predict(t)
    summ = walking.summary(pred)
    for rule in walking.rules().values():
        s.note(f"{_esc(rule.name)}: {_esc(rule.side_caveat)}", "caveat")
    if pred["outside_validation"].any():
        s.note(
            f"{int(pred['outside_validation'].sum())} patient(s) have a first exam later than "
            f"{walking.VALIDATED_EXAM_DAYS} days: outside the rules' derivation window.",
            "caveat",
        )
    show = [
        "patient",
        "exam_day",
        "age",
        "l3_motor",
        "s1_motor",
        "l3_touch",
        "s1_touch",
        "van_middendorp_2011_score",
        "van_middendorp_2011_p",
        "hicks_2017_p",
        "hicks_2017_abbreviated_p",
        "walks_observed",
        "walking_day",
    ]
    s.table(
        "Per patient (items: better side of each, first exam)",
        pred[show],
        source=f"{STORE_SOURCE}; rules: data/walking_rules.toml",
        assumptions="Observed walking: last 'walks_indoors' measure, else SCIM III item 12 "
        ">= 4 [R]; 'walking_day' is the day of that last assessment.",
    )
    shown = summ.drop(columns=["caveat", "citation", "auc"]).copy()
    shown["P < 0.05 in no-effect simulations"] = [
        cmp.calibration_cell(f"walking.{r}") for r in summ["rule"]
    ]
    s.table(
        "Observed vs expected walkers",
        shown,
        source="; ".join(dict.fromkeys(summ["citation"])),
        assumptions="Poisson-binomial over per-patient predicted probabilities; "
        "'expected_95_range' is the central 95% range of an untreated count. The rules predict "
        "walking ONE YEAR after injury; observed walking is the last assessment (days shown), "
        "so an earlier assessment understates the rule's horizon. Tag [R]: unverified rule.",
    )
    for r in summ.itertuples():
        rep.compare(
            "walking",
            f"Observed vs expected walkers, {r.rule}" + (" [R] unverified" if r.tag == "R" else ""),
            f"{r.observed_walkers} vs {r.expected_walkers:.1f} ({r.expected_95_range}); "
            f"P = {_fmt_p(r.p_at_least_observed)}",
            None
            if r.p_at_least_observed != r.p_at_least_observed
            else bool(r.p_at_least_observed < 0.05),
            effect_key=f"walking.{r.rule}",
        )
    if t.patients["synthetic"].any():
        s.note(
            SYNTHETIC_LIMIT + " In cordtrial's synthetic trials (the example data and the "
            "store's demo trial) walking by one year is drawn from the van Middendorp rule "
            "itself, applied to the first exam: observed and expected walkers differ by chance, "
            "and fall short when the last assessment comes before one year.",
            "caveat",
        )
    if pred["van_middendorp_2011_p"].notna().any() and pred["walks_observed"].notna().any():
        s.figure(
            "Predicted (van Middendorp 2011) vs observed indoor walking",
            plots.walking_calibration(pred),
            source="van Middendorp 2011, Lancet 377:1004 [V]",
            assumptions="Better side per item ([V2]: secondary sources); exam <= 15 days; "
            "prediction for one year after injury.",
        )
    return s


def _safety_section(t: AnalysisTables, rep: Report) -> Section:
    s = Section("safety", "Adverse events")
    s.table(
        "Events by CTCAE grade and relatedness to the cell product",
        descriptive.ae_by_grade_relatedness(t),
        source=STORE_SOURCE,
        index=True,
        assumptions="CTCAE v5.0 grades; protocol grades for events without a CTCAE term.",
    )
    s.table(
        "Events by term",
        descriptive.ae_by_term(t),
        source=STORE_SOURCE,
        assumptions="'related' counts possible, probable or definite.",
    )
    s.note(
        "A series of this size can only exclude common harms: with 0 events in n patients the "
        "95% upper bound of the rate is about 3/n (rule of three).",
        "caveat",
    )
    return s


def _power_section(t: AnalysisTables, rep: Report) -> Section:
    s = Section(
        "power",
        "Power and sample size for a randomised trial",
        "Two-arm, 1:1, two-sided alpha 0.05, power 0.80. The series' apparent effect is "
        "one input; it is biased upwards (unblinded, selected, no concurrent control) and "
        "should not be the only planning value.",
    )
    eff = rep.series_effect
    scenarios: list[tuple[str, float, float]] = [
        ("10 points more meeting the threshold than control 0.50", 0.60, 0.50),
        ("15 points more than control 0.50", 0.65, 0.50),
        ("20 points more than control 0.30", 0.50, 0.30),
    ]
    if eff is not None and abs(eff.p_treated - eff.p_control) >= 0.05:
        scenarios.insert(0, (f"as seen in the series ({eff.source})", eff.p_treated, eff.p_control))
    elif eff is not None:
        s.note(
            f"The series shows no usable binary effect ({_esc(eff.source)}): a difference under "
            "5 percentage points cannot be planned for with a trial of realistic size.",
            "caveat",
        )
    rows = []
    for label, p1, p0 in scenarios:
        n_normal = power.n_two_proportions(p1, p0)
        # the exact search costs O(n^2) per candidate n: skipped for very large trials
        n_exact = power.n_two_proportions_exact(p1, p0) if n_normal <= 250 else None
        rows.append(
            {
                "binary end point": label,
                "treated": p1,
                "control": p0,
                "n/arm normal (Fleiss 2003, cc)": n_normal,
                "n/arm exact (Fisher)": n_exact,
                "simulated power at exact n": (
                    power.simulated_power_proportions(n_exact, p1, p0, sims=1000)
                    if n_exact is not None
                    else np.nan
                ),
            }
        )
    df = pd.DataFrame(rows)
    df["n/arm exact (Fisher)"] = df["n/arm exact (Fisher)"].astype("Int64")
    s.table(
        "Binary end point (e.g. >= 1 AIS grade at 6 months)",
        df,
        source="Fleiss, Levin & Paik 2003 (3rd ed.) with continuity correction; exact power "
        "of the two-sided Fisher "
        "test by enumeration; Monte-Carlo check (1000 simulated trials, Fisher test)",
        assumptions="'-' in the exact column: not searched when the normal n exceeds 250.",
    )
    cont = [("UEMS +3 points, SD 6.5", 3.0, 6.5), ("UEMS +5 points, SD 6.5", 5.0, 6.5)]
    usable = (
        eff is not None
        and np.isfinite(eff.mean_difference)
        and np.isfinite(eff.sd)
        and abs(eff.mean_difference) > 0.5
        and eff.sd > 0
    )
    if usable:
        cont.insert(
            0, ("UEMS excess over natural history seen in the series", eff.mean_difference, eff.sd)
        )
    elif eff is not None and np.isfinite(eff.mean_difference):
        s.note(
            f"The series' mean UEMS gain over natural history is {eff.mean_difference:.2f} "
            "points: too small to plan a trial on.",
            "caveat",
        )
    crow = []
    for label, dlt, sd in cont:
        n_exact = power.n_two_means_exact(dlt, sd)
        crow.append(
            {
                "continuous end point": label,
                "difference": dlt,
                "SD": sd,
                "n/arm normal": power.n_two_means(dlt, sd),
                "n/arm exact (t)": n_exact,
                "simulated power at exact n": power.simulated_power_means(
                    n_exact, dlt, sd, sims=1000
                ),
            }
        )
    s.table(
        "Continuous end point (motor score gain)",
        pd.DataFrame(crow),
        source="normal approximation; exact noncentral-t power; Monte-Carlo (1000 trials)",
        assumptions="SD 6.5: change in UEMS, cervical AIS A, Kirshblum 2022 [V] (paired "
        "change SD); other populations differ.",
    )
    s.figure(
        "Power against patients per arm (control 0.50)",
        plots.power_curve(0.5, [0.6, 0.65, 0.7], list(range(10, 401, 15))),
        source="normal approximation (uncorrected Fleiss, Levin & Paik 2003 formula, inverted)",
        assumptions="Control share meeting the threshold 0.50 (a round value inside the "
        "natural-history range for a mixed A/B/C cohort).",
    )
    return s


LIMITATIONS = (
    "<p><strong>Regression to the mean.</strong> A baseline chosen because a patient is "
    "severely affected (or measured on a bad day) tends to be followed by better values even "
    "without any change in the patient; gains from such a baseline overstate recovery.</p>"
    "<p><strong>Early exams are unreliable.</strong> In the first days after injury (spinal "
    "shock, sedation, pain, other injuries) the ISNCSCI exam can understate function; a "
    "screening exam in that window makes later gains and AIS conversions look larger. The "
    "natural-history figures start from exams within 1-4 weeks; EMSCI's first stage pools the "
    "first 2 weeks.</p>"
)


def _methods_section(t: AnalysisTables | None, rep: Report) -> Section:
    s = Section("methods", "Methods and limitations")
    s.note(
        "<p><strong>What a single-arm, unblinded series can show.</strong> Feasibility, the "
        "procedures' and product's short-term safety profile at this sample size, the outcome "
        "distribution of treated patients, and whether outcomes are plausibly better than "
        "natural history predicts (hypothesis generation).</p>"
        "<p><strong>What it cannot show.</strong> That the treatment caused any improvement. "
        "Recovery after SCI happens anyway, fastest in the first 3 months (ICCP, Fawcett 2007); "
        "each patient as their own control confounds treatment with time. Without blinding, "
        "ratings can drift toward expectations; without randomisation, selected patients may "
        "differ from registry cohorts (injury mechanism, level, era, rehabilitation). The "
        "natural-history comparator uses external cohorts from other eras and countries; its "
        "own uncertainty is shown as a range, but its biases (case mix, exam timing, "
        "classification practice) are not removed. Only a randomised, blinded, controlled "
        "trial can estimate the effect (ICCP guidelines, Spinal Cord 2007;45:190-242).</p>"
        + LIMITATIONS
        + "<p><strong>How to read the numbers.</strong> P values here describe how unusual the "
        "series would be under the stated natural-history assumptions; they move by orders of "
        "magnitude with era, case mix and baseline day. The 'rate before vs after infusion' "
        "is shown only to reproduce the published analysis and is labelled biased. Each "
        "effect with a CI or P value was also computed on synthetic trials without any effect "
        "(calibration); one 'found' in more than 7.5% of them is marked NOT CALIBRATED.</p>",
        "caveat",
    )
    s.note(
        "<p><strong>Multiplicity.</strong> "
        + _esc(cmp.multiplicity_text(rep.comparisons))
        + "</p>",
        "warning",
    )
    if rep.comparisons:
        s.table(
            f"Every comparison this report states ({len(rep.comparisons)})",
            cmp.table(rep.comparisons),
            source="this report; simulations: analysis/data/calibration.csv",
            assumptions="'primary': a comparison in its own right; 'sensitivity variant': the "
            "same comparison under other reference rates, eras or timing. Simulations: share "
            "of synthetic no-effect trials where it reached P < 0.05 or a CI excluding 0.",
        )
    assumptions = [
        comparator.TIMING_ASSUMPTION,
        comparator.MOTOR_ASSUMPTION,
        "Patients are independent; each either meets the threshold or not.",
        "Reference uncertainty: Beta(x + 1/2, n - x + 1/2) per source; where a source gives no "
        f"n, the n its 95% CI implies, else n = {nh.ASSUMED_N_WHEN_NOT_REPORTED} (assumed).",
        "Indeterminate AIS grades count against improvement (best candidate before, worst after).",
        "Walking rules use the better side of each item ([V2] for van Middendorp; the Hicks "
        "abbreviated rule's items are [R] unverified).",
    ]
    s.note(
        "<p><strong>Assumptions used throughout.</strong></p><ul>"
        + "".join(f"<li>{_esc(a)}</li>" for a in assumptions)
        + "</ul>"
    )
    if t is not None and len(t.exams):
        facts = []
        blinded = t.exams["blinded"].astype(bool)
        facts.append(
            f"{int(blinded.sum())} of {len(blinded)} exams ({blinded.mean():.0%}) had a blinded "
            "assessor."
        )
        for name in ("ais_1_grade", "regulator_preset"):
            r = responders.evaluate(t, name)
            facts.append(
                f"{responders.DEFINITIONS[name].label}: {int(r['responder'].notna().sum())} of "
                f"{len(r)} patients evaluable."
            )
        p = sc.plateau_check(t, "uems", run_in_days=14)
        assessable = int(p["plateau"].notna().sum())
        facts.append(
            "Pre-infusion plateau (two exams spanning a 14-day run-in) assessable in "
            f"{assessable} of {len(p)} patients"
            + (
                ": the schedule has no exam about 2 weeks before the infusion."
                if not assessable
                else "."
            )
        )
        first = t.exams.groupby("patient")["days_since_injury"].min()
        facts.append(
            f"{int((first < 3).sum())} of {len(first)} first exams within 72 hours of injury "
            f"and {int((first < 7).sum())} within 7 days (unreliable: spinal shock)."
        )
        if t.patients["synthetic"].any():
            facts.append(
                f"{int(t.patients['synthetic'].sum())} of {len(t.patients)} patients are "
                "SYNTHETIC. " + SYNTHETIC_LIMIT
            )
        s.note(
            "<p><strong>Limits of these data.</strong></p><ul>"
            + "".join(f"<li>{_esc(f)}</li>" for f in facts)
            + "</ul>",
            "warning",
        )
    return s


def _sources_section() -> Section:
    s = Section("sources", "Reference figures shipped with cordtrial")
    conv = nh.conversion_table()[
        [
            "id",
            "baseline_ais",
            "outcome",
            "percent",
            "ci_low",
            "ci_high",
            "n",
            "baseline_exam_max_days",
            "follow_up",
            "era",
            "tag",
            "citation",
        ]
    ]
    s.table(
        "AIS conversion figures",
        conv,
        source="natural-history.md s.1-2 and s.7",
        digits=1,
        assumptions="Tag R = UNVERIFIED (provisional).",
    )
    s.table("Rate scenarios", nh.rate_scenarios(), source="natural-history.md s.6 and s.7")
    means = nh.score_means_table()
    wide = means.pivot_table(
        index=["score", "population", "ais"], columns="week", values="mean"
    ).reset_index()
    wide.columns = [c if isinstance(c, str) else f"week {c}" for c in wide.columns]
    s.table(
        "EMSCI mean scores by population, baseline AIS and week (untreated)",
        wide,
        source=EMSCI_SOURCE + "; SDs and n in emsci_means.csv",
        digits=1,
    )
    rules = pd.DataFrame(
        [
            {
                "rule": r.name,
                "slope": r.slope,
                "intercept": r.intercept,
                "AUC": r.auc,
                "outcome": r.outcome,
                "tag": r.tag,
                "citation": r.citation,
                "caveat": r.side_caveat,
            }
            for r in walking.rules().values()
        ]
    )
    s.table("Walking rules", rules, source="natural-history.md s.4 and s.7", digits=3)
    s.note(
        "Tags: [V] checked against the cited source; [V2] seen only in a secondary source; "
        "[R] recollection not yet checked against any source: a provisional figure, to be "
        "verified before it is relied on (shown as UNVERIFIED); [D] derived by arithmetic from "
        "[V] figures."
    )
    return s
