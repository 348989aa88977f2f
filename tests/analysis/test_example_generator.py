"""The synthetic example generator agrees with the checks the report runs on it (issue 14,
point 7): what it draws is what the comparators expect, on average, with no effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cordtrial.analysis import comparator, walking
from cordtrial.analysis import natural_history as nh
from cordtrial.analysis.datasets import load_example
from cordtrial.analysis.datasets.make_example import Knobs, make

TRIALS = range(500, 530)


@pytest.fixture(scope="module")
def trials():
    return [make(s) for s in TRIALS]


def test_seeded_and_shipped() -> None:
    a, b = make(11), make(11)
    pd.testing.assert_frame_equal(a.exams, b.exams)
    shipped, fresh = load_example(), make()
    for col in ("patient", "visit", "days_since_injury", "ais", "uems", "lems", "pp_total"):
        assert list(shipped.exams[col]) == list(fresh.exams[col]), col


def _z(observed: float, expected: float, variance: float) -> float:
    return (observed - expected) / np.sqrt(variance)


def test_ais_conversions_match_the_comparator(trials) -> None:
    obs = exp = var = 0.0
    for t in trials:
        per = comparator.compare(t, "ais_1_grade", draws=0).per_patient.dropna(
            subset=["expected_p"]
        )
        obs += per["observed"].sum()
        exp += per["expected_p"].sum()
        var += (per["expected_p"] * (1 - per["expected_p"])).sum()
    assert abs(_z(obs, exp, var)) < 3.5, (obs, exp)


def test_walking_follows_the_rule_it_is_checked_with(trials) -> None:
    # Walking is drawn from van Middendorp 2011 for ONE year; the last assessment is ~7 months,
    # so observed walkers are at most about the rule's expectation, never far above it.
    obs = exp = 0.0
    for t in trials:
        s = walking.summary(walking.predict(t)).set_index("rule").loc["van_middendorp_2011"]
        obs += s["observed_walkers"]
        exp += s["expected_walkers"]
    assert 0.5 * exp < obs < 1.1 * exp, (obs, exp)


def test_walkers_are_motor_incomplete_and_motor_complete_lems_is_zero(trials) -> None:
    for t in trials:
        ex = t.exams
        walkers = t.instruments.query("measure == 'walks_indoors' and value == 1")["patient"]
        last = ex.sort_values("days_since_injury").groupby("patient").tail(1).set_index("patient")
        assert set(last.loc[walkers.unique(), "ais"]) <= {"C", "D", "E"}
        complete = ex[ex["ais"].isin(["A", "B"])]
        assert (complete["lems"] == 0).all()


def test_scores_follow_emsci_means_on_average(trials) -> None:
    frames = []
    for t in trials:  # patient codes repeat across trials: baseline grade per trial
        base = t.exams[t.exams["visit"] == "screening"].set_index("patient")["ais"]
        frames.append(t.exams.assign(grade0=t.exams["patient"].map(base)))
    ex = pd.concat(frames)
    ex = ex[ex["visit"] == "month6"]
    for score in ("uems", "lt_total", "pp_total"):
        for grade in ("A", "C"):
            g = ex[ex["grade0"] == grade]
            want = nh.expected_score(score, grade, True, g["days_since_injury"].to_numpy(float))
            sd = nh.stage_sd(score, "tetraplegia", grade, 26)
            assert abs(g[score].mean() - np.mean(want)) < 0.25 * sd, (score, grade)


def test_effect_knob_plants_a_step_only_after_infusion() -> None:
    a, b = make(3), make(3, Knobs(effect={"pp_total": 5.0}))
    inf = a.infusions.set_index("patient")["days_since_injury"]
    post = a.exams["days_since_injury"] > a.exams["patient"].map(inf)
    diff = b.exams["pp_total"] - a.exams["pp_total"]
    assert (diff[~post] == 0).all()
    assert diff[post].mean() > 4
    assert (b.exams["uems"] == a.exams["uems"]).all()
