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

from .model import Section

NH_SOURCE = (
    "natural-history reference tables shipped in cordtrial/analysis/data "
    "(ais_conversion.csv, motor_means.csv, rate_scenarios.csv; each row cited)"
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


def _fmt_p(p: float) -> str:
    if p != p:
        return "-"
    return f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


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
        rep.sections.append(_methods_section(None))
        return rep
    builders = [
        ("patients", _patients_section),
        ("trajectories", _trajectory_section),
        ("shift tables", _shift_section),
        ("responders", _responder_section),
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
    step("methods and limitations")
    rep.sections.append(_methods_section(tables))
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
        "dashed untreated EMSCI means, not with the patient's own earlier value.",
    )
    for m in ("uems", "lems"):
        s.figure(
            f"{plots.MEASURE_LABELS[m]} against days since injury",
            plots.spaghetti(t, m),
            source=f"{STORE_SOURCE}; dashed lines: EMSCI 2001-2019 tetraplegia means by AIS "
            "(Bourguignon, Jutzeler et al.; jutzca/SCI_Neurological_Recovery) [V]",
            assumptions="EMSCI curves are cross-sectional means of a different (untreated) "
            "cohort; LEMS means are given for weeks 2 and 52 only.",
        )
    for m in ("lt_total", "pp_total"):
        s.figure(
            f"{plots.MEASURE_LABELS[m]} against days since injury",
            plots.spaghetti(t, m, reference_curve=False),
            source=STORE_SOURCE,
            assumptions="No natural-history reference curve for sensory totals in the "
            "shipped tables.",
        )
    inst = t.instruments
    for key, label in (("scim3.total", "SCIM III"), ("wisci2.max_level", "WISCI II")):
        i, m = key.split(".")
        if ((inst["instrument"] == i) & (inst["measure"] == m)).any():
            s.figure(
                f"{plots.MEASURE_LABELS[key]} against days since injury",
                plots.spaghetti(t, key, reference_curve=False),
                source=STORE_SOURCE,
                assumptions=f"{label}: no natural-history curve shipped; functional scores "
                "also reflect rehabilitation dose and setting.",
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
        "Responders under pre-specified definitions",
        "Each definition fixes the baseline exam, the end-point exam and the threshold "
        "before outcomes are seen. Proportions carry exact (Clopper-Pearson) 95% CIs. "
        "A responder count says nothing about the treatment until it is compared with "
        "natural history (next section).",
    )
    summ = responders.summary(t)
    s.table(
        "Responders by definition",
        summ.drop(columns=["definition"]),
        source=f"{STORE_SOURCE}; definitions: natural-history.md s.5 (cited per row)",
    )
    for name in ("regulator_preset",):
        r = responders.evaluate(t, name)
        not_ev = r[r["responder"].isna()]
        if len(not_ev):
            reasons = not_ev["reason"].value_counts()
            s.note(
                f"Regulator preset: {len(not_ev)} of {len(r)} patients not evaluable ("
                + "; ".join(f"{_esc(k)}: {v}" for k, v in reasons.items())
                + "). Its windows (day 49 +/- 7 baseline, day 180 +/- 30 end point, days since "
                "injury) need exams scheduled on those days.",
                "caveat",
            )
    return s


def _comparator_section(t: AnalysisTables, rep: Report, draws: int) -> Section:
    s = Section(
        "comparator",
        "Natural-history comparator",
        "For each patient, the probability of the same outcome without treatment, "
        "conditioned on baseline AIS grade, baseline exam day and the reference era; "
        "observed minus expected; and how often an untreated series of the same patients "
        "would do at least as well.",
    )
    for name in ("ais_1_grade", "regulator_preset"):
        d = responders.DEFINITIONS[name]
        res = comparator.compare(t, name, draws=draws)
        if res.evaluable == 0:
            s.note(f"{_esc(d.label)}: no evaluable patients.", "warning")
            continue
        lo, mid, hi = res.p_interval
        line = (
            f"{d.label}: {res.observed} of {res.evaluable} responded; natural history "
            f"expects {res.expected:.1f}. P(>= {res.observed} of {res.evaluable} untreated) = "
            f"{_fmt_p(res.p_at_least_observed)} (95% range over reference uncertainty "
            f"{_fmt_p(lo)}-{_fmt_p(hi)})."
        )
        rep.key_findings.append(line)
        s.note(_esc(line), "info")
        per = res.per_patient.copy()
        if "observed" in per.columns:
            per["observed"] = per["observed"].astype("Int64")
        cols = [
            "patient",
            "baseline_ais",
            "baseline_day",
            "end_ais",
            "end_day",
            "reference",
            "reference_rate",
            "expected_p",
            "observed",
            "observed_minus_expected",
            "uems_observed_gain",
            "uems_expected_gain",
            "lems_observed_gain",
            "lems_expected_gain",
            "reason",
        ]
        s.table(
            f"Per patient: {d.label}",
            per[[c for c in cols if c in per.columns]],
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
            f"Number of responders expected with no treatment ({d.label})",
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
            "the range of P.",
        )
        if name == "ais_1_grade" and not res.scenarios.empty:
            s.table(
                "Sensitivity: published rate scenarios (natural-history.md s.6)",
                res.scenarios.drop(columns=["citation"]),
                source=NH_SOURCE,
                assumptions="Scenario rates apply to baseline A/B/C with a 1-grade threshold; "
                "'kept' patients keep their reference probability. 'conditioned' "
                "applies the baseline-day adjustment to each scenario.",
            )
            s.figure(
                "P(>= observed) across rate scenarios (log scale; dotted line 0.05)",
                plots.scenario_sensitivity(res.scenarios),
                source=NH_SOURCE,
                assumptions="The answer moves by orders of magnitude with era, case mix and "
                "baseline timing: never read one number alone.",
            )
            s.figure(
                "UEMS gain: observed vs expected from EMSCI means, same interval",
                plots.motor_gain_vs_expected(per, "uems"),
                source="EMSCI 2001-2019 tetraplegia means (motor_means.csv) [V]",
                assumptions=comparator.MOTOR_ASSUMPTION,
            )
            s.figure(
                "LEMS gain: observed vs expected from EMSCI means, same interval",
                plots.motor_gain_vs_expected(per, "lems"),
                source="EMSCI 2001-2019 means (motor_means.csv) [V]",
                assumptions=comparator.MOTOR_ASSUMPTION,
            )
            rep.series_effect = power.effect_from_series(
                res.observed, res.evaluable, res.expected, list(ev["uems_observed_minus_expected"])
            )
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
    if era_rows:
        s.table(
            "Sensitivity to the reference era",
            pd.DataFrame(era_rows),
            source=NH_SOURCE,
            assumptions="emsci_2009: van Middendorp 2009 (EMSCI 2001-08) for every grade; "
            "modern_cervical: cervical AIS A from Marino 2020 (SCIMS 2013-15, 50% convert; n not "
            "in the reference, so n = 50 is assumed for its Beta). Paraplegic AIS A: Marino 2020 "
            "thoracic T1-9 in both.",
            digits=3,
        )
    # Reproduce the reference's section-6 table so readers can see the case-mix sensitivity.
    mixes = [
        {"A": 6, "B": 2, "C": 5},
        {"A": 4, "B": 4, "C": 5},
        {"A": 3, "B": 3, "C": 7},
        {"A": 0, "B": 0, "C": 13},
    ]
    cm = comparator.case_mix_table(mixes, 12)
    s.table(
        "How surprising is '12 of 13 improved' with no treatment? (case mix x scenario, "
        "baseline <= 2 weeks)",
        cm,
        source="natural-history.md s.6, recomputed",
        assumptions="Baseline exams within 2 weeks; no timing adjustment.",
        digits=4,
    )
    return s


def _self_controlled_section(t: AnalysisTables, rep: Report) -> Section:
    s = Section("self-controlled", "Self-controlled analyses (before vs after infusion)")
    s.note(
        f"<strong>Daily rate of change before vs after infusion, as published.</strong> "
        f"{_esc(sc.RATE_BIAS)}",
        "caveat",
    )
    rows = []
    for m in ("uems", "lems", "lt_total", "pp_total"):
        for after in (7, None):
            r = sc.rate_before_after(t, m, after)
            sm = sc.summarise_rates(r, after)
            rows.append(
                {
                    "measure": m,
                    "after window": "7 days" if after else "to last exam",
                    "patients": sm.n,
                    "median rate before (/day)": sm.median_before,
                    "median rate after (/day)": sm.median_after,
                    "Wilcoxon p (biased)": sm.wilcoxon_p,
                }
            )
    s.table(
        "Rate of change before vs after infusion (reproduces the published analysis; biased)",
        pd.DataFrame(rows),
        source=f"{STORE_SOURCE}; method: study.md (the group's stroke paper)",
        assumptions="Before: first exam to last exam on/before the infusion day. "
        "After: that exam to the last exam in the window.",
        digits=3,
    )
    seg_rows = []
    for m in ("uems", "lems", "lt_total", "pp_total", "scim3.total"):
        try:
            r = sc.segmented_model(t, m)
        except ValueError as exc:
            seg_rows.append({"measure": m, "note": str(exc)})
            continue
        # Without repeated pre-infusion values the slope change is pure extrapolation.
        slope_ok = r.n_with_two_pre >= 3
        seg_rows.append(
            {
                "measure": m,
                "patients": r.n_patients,
                "exams": r.n_observations,
                "patients with >= 2 pre-infusion values": r.n_with_two_pre,
                "step at infusion": r.step,
                "step 95% CI": f"{r.step_ci[0]:.2f} to {r.step_ci[1]:.2f}",
                "slope change": r.slope_change if slope_ok else np.nan,
                "slope change 95% CI": (
                    f"{r.slope_change_ci[0]:.2f} to {r.slope_change_ci[1]:.2f}"
                    if slope_ok
                    else "not identified (< 3 patients with 2 pre-infusion values)"
                ),
                "random effects": r.random_effects,
                "converged": r.converged,
            }
        )
    s.table(
        "Segmented mixed model over the decelerating recovery curve",
        pd.DataFrame(seg_rows),
        source=f"{STORE_SOURCE}; curve shape: EMSCI UEMS means by AIS (motor_means.csv)",
        assumptions=sc.SEGMENTED_NOTE,
    )
    s.note(
        "With one pre-infusion exam per patient, the pre-infusion course comes from the curve "
        "assumption alone; the step is then only as good as that assumption.",
        "caveat",
    )
    for days in (14, None):
        run_in = days or 120
        p = sc.plateau_check(t, "uems", run_in_days=run_in)
        assessable = p["plateau"].notna().sum()
        title = (
            f"Pre-infusion plateau check, UEMS, {days}-day run-in (< 1 point = plateau)"
            if days
            else "Pre-infusion change, UEMS, all exams before infusion (context)"
        )
        s.table(
            title,
            p.drop(columns=["measure"]),
            source=STORE_SOURCE,
            assumptions="Plateau = change < 1 point between the first and last exam in the "
            "window (the group's chronic protocol: no improvement in the 2 weeks "
            "before infusion, study.md).",
        )
        if days and assessable == 0:
            s.note(
                "No patient has two exams in the 14-day run-in: the schedule does not allow a "
                "plateau check. Add an exam about 2 weeks before the infusion.",
                "warning",
            )
    return s


def _walking_section(t: AnalysisTables, rep: Report) -> Section:
    s = Section("walking", "Walking prediction at baseline vs observed walking")
    pred = walking.predict(t)
    summ = walking.summary(pred)
    s.note(_esc(walking.rules()["van_middendorp_2011"].side_caveat), "caveat")
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
        ">= 4 [R].",
    )
    s.table(
        "Observed vs expected walkers",
        summ.drop(columns=["caveat", "citation"]),
        source="; ".join(dict.fromkeys(summ["citation"])) + " [V]",
        assumptions="Poisson-binomial over per-patient predicted probabilities; prediction "
        "horizon is 1 year after injury.",
    )
    if pred["van_middendorp_2011_p"].notna().any() and pred["walks_observed"].notna().any():
        s.figure(
            "Predicted (van Middendorp 2011) vs observed indoor walking",
            plots.walking_calibration(pred),
            source="van Middendorp 2011, Lancet 377:1004 [V]",
            assumptions="Better side per item ([R] unverified for this rule); exam <= 15 days.",
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
        ("10 points more responders than control 0.50", 0.60, 0.50),
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
                "n/arm normal (Fleiss, cc)": n_normal,
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
        source="Fleiss 1981 with continuity correction; exact power of the two-sided Fisher "
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
        source="normal approximation (uncorrected Fleiss formula, inverted)",
        assumptions="Control responder rate 0.50 (a round value inside the natural-history "
        "range for a mixed A/B/C cohort).",
    )
    return s


def _methods_section(t: AnalysisTables | None) -> Section:
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
        "<p><strong>How to read the numbers.</strong> P values here describe how unusual the "
        "series would be under the stated natural-history assumptions; they move by orders of "
        "magnitude with era, case mix and baseline day. The 'rate before vs after infusion' "
        "is shown only to reproduce the published analysis and is labelled biased.</p>",
        "caveat",
    )
    assumptions = [
        comparator.TIMING_ASSUMPTION,
        comparator.MOTOR_ASSUMPTION,
        "Patients are independent; each either reaches the responder threshold or not.",
        "Reference uncertainty: Beta(x + 1/2, n - x + 1/2) per source; n = "
        f"{nh.ASSUMED_N_WHEN_NOT_REPORTED} assumed where a source gives none.",
        "Indeterminate AIS grades count against improvement (best candidate before, worst after).",
        "Walking rules use the better side of each item ([R] unverified for van Middendorp).",
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
        facts.append(
            f"Pre-infusion plateau (14-day run-in) assessable in {int(p['plateau'].notna().sum())}"
            f" of {len(p)} patients."
        )
        if t.patients["synthetic"].any():
            facts.append(
                f"{int(t.patients['synthetic'].sum())} of {len(t.patients)} patients are SYNTHETIC."
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
            "n",
            "baseline_exam_max_days",
            "era",
            "tag",
            "citation",
        ]
    ]
    s.table("AIS conversion figures", conv, source="natural-history.md s.1-2", digits=1)
    s.table("Rate scenarios", nh.rate_scenarios(), source="natural-history.md s.6")
    rules = pd.DataFrame(
        [
            {
                "rule": r.name,
                "slope": r.slope,
                "intercept": r.intercept,
                "AUC": r.auc,
                "tag": r.tag,
                "citation": r.citation,
                "caveat": r.side_caveat,
            }
            for r in walking.rules().values()
        ]
    )
    s.table("Walking rules", rules, source="natural-history.md s.4", digits=3)
    s.note(
        "Tags: [V] checked against the cited source; [V2] seen only in a secondary source; "
        "[R] recollection not yet checked against any source: a provisional figure, to be "
        "verified before it is relied on; [D] derived by arithmetic from [V] figures."
    )
    return s
