from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cordtrial.analysis import descriptive
from cordtrial.analysis import self_controlled as sc
from cordtrial.analysis.datasets import load_example


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


def test_segmented_model_recovers_a_planted_step(example) -> None:
    ex = example.exams.copy()
    inf = example.infusions.set_index("patient")["days_since_injury"]
    after = ex["days_since_injury"] > ex["patient"].map(inf)
    ex.loc[after, "uems"] = (ex.loc[after, "uems"] + 6).clip(upper=50)
    res = sc.segmented_model(replace(example, exams=ex), "uems")
    assert res.step_ci[0] > 3 and res.step_ci[1] > 6 > res.step_ci[0]
    base = sc.segmented_model(example, "uems")
    assert base.step_ci[0] < res.step_ci[0]
    assert base.n_patients == 13


def test_segmented_model_needs_data(example) -> None:
    with pytest.raises(ValueError, match="needs >= 3 patients"):
        sc.segmented_model(example.subset(["SYN-01"]), "uems")
    with pytest.raises(ValueError, match="curve"):
        sc.segmented_model(example, "uems", curve="cubic")


def test_plateau_check(example) -> None:
    p14 = sc.plateau_check(example, "uems", run_in_days=14)
    # the example follows the study's schedule: no two exams in the 2 weeks before infusion
    assert p14["plateau"].isna().all()
    assert p14["reason"].str.contains("need 2").all()
    wide = sc.plateau_check(example, "uems", run_in_days=120)
    assert wide["plateau"].notna().all()
    assert (wide["plateau"] == (wide["change"] < 1)).all()
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
