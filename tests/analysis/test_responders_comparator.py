from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from cordtrial.analysis import comparator, responders
from cordtrial.analysis import natural_history as nh
from cordtrial.analysis.datasets import load_example
from cordtrial.analysis.intervals import t_interval


@pytest.fixture(scope="module")
def example():
    return load_example()


def _is(value, expected: bool) -> bool:
    """True when a responder cell is a boolean equal to ``expected`` (not None/NaN)."""
    return value is not None and value == value and bool(value) is expected


def _force_ais(t, pid: str, visit_grades: dict[str, str]):
    ex = t.exams.copy()
    for visit, grade in visit_grades.items():
        ex.loc[(ex["patient"] == pid) & (ex["visit"] == visit), "ais"] = grade
    return replace(t, exams=ex)


def test_ais_responder_uses_pre_infusion_baseline(example) -> None:
    t = _force_ais(example, "SYN-01", {"pre_infusion": "A", "month6": "C", "unscheduled": "C"})
    r = responders.evaluate(t, "ais_1_grade").set_index("patient")
    assert _is(r.loc["SYN-01", "responder"], True)
    assert r.loc["SYN-01", "change"] == 2
    pre_day = t.exams.query("patient == 'SYN-01' and visit == 'pre_infusion'")["days_since_injury"]
    assert r.loc["SYN-01", "baseline_day"] == int(pre_day.iloc[0])


def test_regulator_preset_thresholds(example) -> None:
    d = responders.DEFINITIONS["regulator_preset"]
    assert d.threshold_for("A") == 2 and d.threshold_for("B") == 1 and d.threshold_for("C") == 1
    r = responders.evaluate(example, d)
    ok = r[r["responder"].notna()]
    assert ((ok["baseline_day"] - 49).abs() <= 7).all()
    assert ((ok["end_day"] - 180).abs() <= 30).all()
    assert (ok["baseline_day"] <= ok["infusion_day"]).all()  # untreated baseline
    assert set(r.loc[r["responder"].isna(), "reason"]) <= {
        "no baseline exam",
        "no end-point exam",
        "baseline AIS 'D' not eligible",
    }


def test_indeterminate_end_grade_does_not_count(example) -> None:
    t = _force_ais(example, "SYN-02", {"pre_infusion": "A", "month6": "A,B"})
    r = responders.evaluate(t, "ais_1_grade").set_index("patient")
    assert _is(r.loc["SYN-02", "responder"], False)


def test_motor_levels(example) -> None:
    ex = example.exams.copy()
    m = ex["patient"] == "SYN-03"
    ex.loc[m & (ex["visit"] == "pre_infusion"), ["right_motor_level", "left_motor_level"]] = "C5"
    ex.loc[m & (ex["visit"] == "month6"), ["right_motor_level", "left_motor_level"]] = [
        "C7",
        "C6",
    ]
    r = responders.evaluate(replace(example, exams=ex), "motor_levels_2").set_index("patient")
    assert r.loc["SYN-03", "change"] == pytest.approx(1.5)
    assert _is(r.loc["SYN-03", "responder"], False)
    assert responders.level_index("C5,C6", "caudal") == responders.level_index("C6")


def test_summary_has_exact_ci(example) -> None:
    s = responders.summary(example).set_index("definition")
    assert list(s.index) == list(responders.DEFINITIONS)
    for _, row in s.iterrows():
        if row["evaluable"]:
            assert row["ci_low"] <= row["proportion"] <= row["ci_high"]


def test_definition_validation() -> None:
    with pytest.raises(ValueError, match="kind"):
        responders.ResponderDefinition("x", "x", "speed", {"*": 1})
    with pytest.raises(ValueError, match="baseline_window"):
        responders.ResponderDefinition("x", "x", "ais", {"*": 1}, baseline="window")


def test_comparator_expected_sums(example) -> None:
    res = comparator.compare(example, "ais_1_grade", draws=500)
    ev = res.per_patient.dropna(subset=["expected_p"])
    assert res.expected == pytest.approx(ev["expected_p"].sum())
    assert res.observed == int(ev["observed"].sum())
    lo, mid, hi = res.p_interval
    assert 0 <= lo <= mid <= hi <= 1
    assert (ev["expected_p"] <= ev["reference_rate"] + 1e-12).all()  # later baseline, less left
    assert np.allclose(ev["observed_minus_expected"], ev["observed"] - ev["expected_p"])
    assert set(res.sources["tag"]) <= {"V", "V2", "D", "R"}
    assert len(res.scenarios) == len(nh.rate_scenarios())
    lo, hi = res.expected_range
    assert lo <= res.expected <= hi


def test_comparator_unconditioned_uses_published_rates(example) -> None:
    res = comparator.compare(example, "ais_1_grade", condition_on_baseline_day=False, draws=200)
    ev = res.per_patient.dropna(subset=["expected_p"])
    assert np.allclose(ev["expected_p"], ev["reference_rate"])


def test_all_improving_series_is_surprising_only_under_low_rates(example) -> None:
    # Make every patient gain >= 1 grade: P(all) must be far smaller under the low scenario.
    ex = example.exams.copy()
    up = {"A": "B", "B": "C", "C": "D", "D": "E"}
    last = ex.sort_values("days_since_injury").groupby("patient").tail(1).index
    base = ex[ex["visit"] == "pre_infusion"].set_index("patient")["ais"]
    ex.loc[last, "ais"] = [up[base[p]] for p in ex.loc[last, "patient"]]
    res = comparator.compare(replace(example, exams=ex), "ais_1_grade", draws=200)
    sc = res.scenarios.set_index("scenario")
    assert res.observed == 13
    assert sc.loc["low", "p_conditioned"] < sc.loc["high", "p_conditioned"]
    assert res.p_at_least_observed < 0.01


def test_comparator_rejects_non_ais_definition(example) -> None:
    with pytest.raises(ValueError, match="AIS responder definition"):
        comparator.compare(example, "scim3_4")
    with pytest.raises(KeyError, match="reference_set"):
        comparator.compare(example, "ais_1_grade", reference_set="nope")


def test_runs_on_a_store_shaped_subset(example) -> None:
    sub = example.subset(["SYN-01", "SYN-09"])
    res = comparator.compare(sub, "ais_1_grade", draws=100)
    assert res.evaluable == 2
    assert isinstance(res.per_patient, pd.DataFrame)


def test_paraplegia_and_era_change_the_reference(example) -> None:
    pts = example.patients.copy()
    pts.loc[pts["patient"] == "SYN-01", "tetraplegia"] = False
    t = replace(example, patients=pts)
    per = comparator.compare(t, "ais_1_grade", draws=100).per_patient.set_index("patient")
    assert per.loc["SYN-01", "reference"] == "marino2020_A_thoracic"
    assert per.loc["SYN-02", "reference"] == "vanmiddendorp2009_A"
    assert per.loc["SYN-01", "uems_expected_gain"] == 0.0  # arms unaffected in paraplegia
    modern = comparator.compare(example, "ais_1_grade", reference_set="modern_cervical", draws=100)
    default = comparator.compare(example, "ais_1_grade", draws=100)
    assert modern.expected > default.expected  # 50% vs 26% for cervical AIS A


def test_regulator_preset_is_for_its_registered_population_issue14_point6(example) -> None:
    pts = example.patients.copy()
    pts.loc[pts["patient"] == "SYN-01", "age"] = 75
    pts.loc[pts["patient"] == "SYN-02", "tetraplegia"] = False
    r = responders.evaluate(replace(example, patients=pts), "regulator_preset").set_index("patient")
    assert r.loc["SYN-01", "responder"] is None and "age 75" in r.loc["SYN-01", "reason"]
    assert "not a cervical injury" in r.loc["SYN-02", "reason"]
    d = responders.DEFINITIONS["regulator_preset"]
    assert "cervical, age 20-70" in d.label and "age 20-70" in d.citation
    # other definitions have no registered population
    assert responders.evaluate(replace(example, patients=pts), "ais_1_grade")["reason"].eq("").all()


def test_every_definition_has_a_comparator_or_says_it_cannot_be_read_issue14_point3(
    example,
) -> None:
    s = responders.summary(example).set_index("definition")
    assert "met_threshold" in s.columns and "responders" not in s.columns
    for name, d in responders.DEFINITIONS.items():
        if d.kind == "ais":
            assert d.has_comparator
            comparator.compare(example, name, draws=0)  # it exists and runs
        else:
            assert s.loc[name, "comparator"].startswith(responders.NO_COMPARATOR)
    assert "30 %" in responders.DEFINITIONS["motor_levels_2"].comparator  # Steeves 2011
    for d in responders.DEFINITIONS.values():
        assert "respon" not in d.label.lower()  # neutral wording


def test_motor_gain_over_natural_history_has_a_ci(example) -> None:
    res = comparator.compare(example, "ais_1_grade", draws=0)
    ev = res.per_patient.dropna(subset=["expected_p"])
    for score in ("uems", "lems"):
        m, lo, hi, n = res.excess[score]
        assert (m, lo, hi) == pytest.approx(t_interval(ev[f"{score}_observed_minus_expected"]))
        assert n == 13
    assert np.isnan(res.p_interval[0])  # draws=0 skips the Beta range


def test_claim_sensitivity_spans_orders_of_magnitude_issue14_point5() -> None:
    mixes = [{"A": 6, "B": 2, "C": 5}, {"A": 0, "B": 0, "C": 13}]
    grid = comparator.sensitivity_grid(12, mixes)
    assert len(grid) == len(mixes) * len(nh.rate_scenarios())
    assert grid["rates"].str.contains("meta_analysis").any()
    lo, hi, orders = comparator.orders_of_magnitude(grid)
    assert orders > 6  # "it moves over six orders of magnitude between plausible inputs"
    published = list(comparator.TIMINGS)[0]
    cut = "baseline <= 2 wk, end day 180"
    # a 6-month end point leaves less time than the one-year rates assume: P falls
    assert (grid[cut] < grid[published]).all()
    # the section-6 rows as published reproduce the reference's table
    first = grid[(grid["mix A/B/C"] == "6/2/5") & grid["rates"].str.startswith("low")]
    assert f"{first[published].iloc[0]:.4g}" == "0.0001832"
    assert "1-year" in comparator.ONE_YEAR_NOTE or "one-year" in comparator.ONE_YEAR_NOTE
