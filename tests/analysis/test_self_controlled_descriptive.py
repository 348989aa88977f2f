from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cordtrial.analysis import descriptive
from cordtrial.analysis import natural_history as nh
from cordtrial.analysis import self_controlled as sc
from cordtrial.analysis.datasets import load_example
from cordtrial.analysis.datasets.make_example import Knobs, make


@pytest.fixture(scope="module")
def example():
    return load_example()


def test_rate_before_after_as_published(example) -> None:
    r = sc.rate_before_after(example, "uems", after_days=7).set_index("patient")
    ex = example.exams[example.exams["patient"] == "SYN-05"].sort_values("days_since_injury")
    inf = int(example.infusions.set_index("patient").loc["SYN-05", "days_since_injury"])
    pre = ex[ex["days_since_injury"] <= inf]
    post = ex[(ex["days_since_injury"] > inf) & (ex["days_since_injury"] <= inf + 7)]
    before = (pre["uems"].iloc[-1] - pre["uems"].iloc[0]) / (
        pre["days_since_injury"].iloc[-1] - pre["days_since_injury"].iloc[0]
    )
    after = (post["uems"].iloc[-1] - pre["uems"].iloc[-1]) / (
        post["days_since_injury"].iloc[-1] - pre["days_since_injury"].iloc[-1]
    )
    assert r.loc["SYN-05", "rate_before"] == pytest.approx(before)
    assert r.loc["SYN-05", "rate_after"] == pytest.approx(after)
    assert r["bias_note"].str.contains("Biased").all()


def test_segmented_model_recovers_a_planted_step() -> None:
    base = sc.segmented_model(make(7), "uems")
    planted = sc.segmented_model(make(7, Knobs(effect={"uems": 6.0})), "uems")
    assert planted.step_ci[0] > 2 and planted.step_ci[1] > 6 > planted.step_ci[0]
    assert planted.step == pytest.approx(base.step + 6, abs=0.3)  # same seed, same noise
    assert planted.slope_change == pytest.approx(base.slope_change, abs=0.1)  # a jump, not pace
    assert base.step_ci[0] < 0 < base.step_ci[1]
    assert base.n_patients == 13


def test_segmented_model_uses_each_scores_own_curve_issue14_point1() -> None:
    # A patient who follows the LEMS curve of their grade exactly (b = 1) has no step and no
    # change in pace; the UEMS shape would have shown one.
    t = make(3)
    ex = t.exams.copy()
    grades = sc._baseline_grades(t)
    for i, e in ex.iterrows():
        ex.loc[i, "lems"] = nh.expected_score(
            "lems", grades[e["patient"]], True, e["days_since_injury"]
        )
    r = sc.segmented_model(replace(t, exams=ex), "lems")
    assert abs(r.step) < 1e-9 and abs(r.slope_change) < 1e-9


def test_segmented_model_needs_data(example) -> None:
    with pytest.raises(ValueError, match="needs >= 3 patients"):
        sc.segmented_model(example.subset(["SYN-01"]), "uems")
    with pytest.raises(ValueError, match="no natural-history curve"):
        sc.segmented_model(example, "scim3.total")


def test_segmented_model_leaves_out_patients_it_cannot_fit(example) -> None:
    ex = example.exams[
        ~((example.exams["patient"] == "SYN-02") & (example.exams["visit"] == "screening"))
    ]
    r = sc.segmented_model(replace(example, exams=ex), "uems")
    left = r.excluded.set_index("patient")
    assert list(left.index) == ["SYN-02"] and "need 2" in left.loc["SYN-02", "reason"]
    assert r.n_patients == 12


def test_plateau_check_needs_exams_that_span_the_run_in_issue14_point7(example) -> None:
    # The example follows the study's schedule: the exams before infusion are a screening exam
    # near week 1 and one 1-3 days before infusion; neither pair spans a 14-day run-in.
    p14 = sc.plateau_check(example, "uems", run_in_days=14)
    assert p14["plateau"].isna().all()
    assert p14["reason"].str.contains("not assessable").all()
    # Exams 1-3 days apart inside the window are not a 14-day run-in (the store's demo has them).
    inf = example.infusions.set_index("patient")["days_since_injury"]
    extra = example.exams[example.exams["visit"] == "pre_infusion"].copy()
    extra["visit"] = "infusion_day"
    extra["days_since_injury"] = extra["patient"].map(inf)
    short = replace(example, exams=pd.concat([example.exams, extra], ignore_index=True))
    assert sc.plateau_check(short, "uems")["plateau"].isna().all()
    # An exam 14 days before the pre-infusion exam makes it assessable.
    run_in = example.exams[example.exams["visit"] == "pre_infusion"].copy()
    run_in["visit"] = "unscheduled"
    run_in["days_since_injury"] -= 14
    run_in["uems"] -= 3
    ok = sc.plateau_check(replace(example, exams=pd.concat([example.exams, run_in])), "uems")
    assert ok["plateau"].notna().all() and (ok["span_days"] == 14).all()
    assert (ok["change"] == 3).all() and not ok["plateau"].any()
    with pytest.raises(ValueError, match="run_in_days"):
        sc.plateau_check(example, run_in_days=0)


def test_unknown_measure(example) -> None:
    with pytest.raises(ValueError, match="instrument.measure"):
        sc.rate_before_after(example, "speed")


def test_shift_tables_count_every_patient(example) -> None:
    tabs = descriptive.shift_tables(example)
    assert "month6" in tabs
    for visit, tab in tabs.items():
        n = example.exams.loc[example.exams["visit"] == visit, "patient"].nunique()
        assert int(tab.to_numpy().sum()) == n, visit


def test_ae_tables(example) -> None:
    by = descriptive.ae_by_grade_relatedness(example)
    assert int(by["total events"].sum()) == len(example.adverse_events)
    terms = descriptive.ae_by_term(example)
    assert int(terms["events"].sum()) == len(example.adverse_events)
    assert (terms["worst_grade"].between(1, 5)).all()


def test_baseline_characteristics(example) -> None:
    b = descriptive.baseline_characteristics(example)
    assert len(b) == 13
    assert set(b["baseline_ais"]) <= {"A", "B", "C", "D"}
    assert (b["baseline_day"] <= b["infusion_day"]).all()
    assert np.isfinite(b["cells_per_kg"]).all()


@settings(max_examples=60, deadline=None)
@given(
    shift=st.floats(-20, 20),
    jump=st.floats(-10, 10),
    noise=st.lists(st.floats(-3, 3), min_size=8, max_size=8),
)
def test_segment_estimates_move_with_a_planted_jump_only(shift, jump, noise) -> None:
    # Invariants of the per-patient estimates: a constant shift changes nothing; a jump after
    # infusion moves the first-week step by exactly that jump and leaves the pace unchanged.
    days = np.array([8.0, 44, 47, 53, 76, 136, 182, 226])
    curve = np.asarray(nh.expected_score("lems", "C", True, days), float)
    at_inf = float(nh.expected_score("lems", "C", True, 46.0))
    y = curve + np.array(noise)
    post = days > 46
    base_step, _ = sc.local_step(days, y, curve, 46.0)
    base_pace, _ = sc.fit_patient_segments(days, y, curve, 46.0, at_inf)
    step, _ = sc.local_step(days, y + shift + jump * post, curve, 46.0)
    pace, _ = sc.fit_patient_segments(days, y + shift + jump * post, curve, 46.0, at_inf)
    assert step == pytest.approx(base_step + jump, abs=1e-6)
    assert pace == pytest.approx(base_pace, abs=1e-6)
