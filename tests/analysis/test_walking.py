"""Walking rules on worked values (hand-computed from the published formulas)."""

from __future__ import annotations

import math

import pytest

from cordtrial.analysis import walking
from cordtrial.analysis.datasets import load_example


def vm():
    return walking.rules()["van_middendorp_2011"]


def test_van_middendorp_score_items() -> None:
    # age 70 (-10) + 2*(3 + 2) + 5*(2 + 1) = 15
    assert vm().score(70, 3, 2, 2, 1) == 15
    assert vm().score(64, 3, 2, 2, 1) == 25
    assert vm().score(30, 5, 5, 2, 2) == 40  # maximum
    assert vm().score(80, 0, 0, 0, 0) == -10  # minimum


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0, 0.03651),  # 1 / (1 + e^3.273)
        (15, 0.6752),  # logit 0.267*15 - 3.273 = 0.732
        (20, 0.8877),  # logit 2.067
        (40, 0.9994),  # logit 7.407
        (-10, 0.002617),  # logit -5.943
    ],
)
def test_van_middendorp_probability(score: float, expected: float) -> None:
    assert vm().probability(score) == pytest.approx(expected, rel=5e-4)


def test_hicks_coefficients() -> None:
    h = walking.rules()["hicks_2017"]
    assert h.probability(20) == pytest.approx(1 / (1 + math.exp(-(0.125 * 20 - 1.763))))
    ab = walking.rules()["hicks_2017_abbreviated"]
    # abbreviated rule ignores S1 items
    assert ab.score(40, 4, 5, 2, 2) == 2 * 4 + 5 * 2
    assert ab.probability(18) == pytest.approx(1 / (1 + math.exp(-(0.211 * 18 - 1.425))))


def test_side_caveat_says_secondary_source() -> None:
    # natural-history.md s.7: secondary sources say van Middendorp uses the better side [V2]
    assert "[V2]" in vm().side_caveat and "better" in vm().side_caveat
    summ = walking.summary(walking.predict(load_example()))
    assert summ.loc[summ["rule"] == "van_middendorp_2011", "caveat"].str.contains("V2").all()


def test_hicks_metadata_issue14_point6() -> None:
    # Hicks 2017's outcome is FIM locomotor 6-7, not SCIM III item 12; the abbreviated rule's
    # items differ between secondary sources, so it is marked unverified in the product.
    rules = walking.rules()
    for name in ("hicks_2017", "hicks_2017_abbreviated"):
        assert "FIM locomotor" in rules[name].outcome
    ab = rules["hicks_2017_abbreviated"]
    assert ab.tag == "R" and "unverified" in ab.side_caveat and "S1" in ab.side_caveat
    summ = walking.summary(walking.predict(load_example())).set_index("rule")
    assert summ.loc["hicks_2017_abbreviated", "tag"] == "R"
    assert "FIM locomotor" in summ.loc["hicks_2017", "outcome"]


def test_expected_walkers_have_a_range_issue14_point3() -> None:
    summ = walking.summary(walking.predict(load_example())).set_index("rule")
    for rule, row in summ.iterrows():
        lo, hi = (int(x) for x in row["expected_95_range"].split("-"))
        assert lo <= row["expected_walkers"] <= hi, rule
        assert 0 <= lo <= hi <= row["evaluable"]


@pytest.mark.parametrize(("field", "value"), [("l3_motor", 6), ("s1_touch", 3), ("age", -1)])
def test_out_of_range_item_named(field: str, value: float) -> None:
    args = {"age": 40, "l3_motor": 1, "s1_motor": 1, "l3_touch": 1, "s1_touch": 1, field: value}
    with pytest.raises(ValueError, match=field):
        vm().score(**args)


def test_predict_uses_better_side_and_flags_late_exams() -> None:
    t = load_example()
    pred = walking.predict(t).set_index("patient")
    first = t.exams.sort_values("days_since_injury").groupby("patient").head(1).set_index("patient")
    for pid, e in first.iterrows():
        assert pred.loc[pid, "l3_motor"] == max(e["l3_motor_right"], e["l3_motor_left"])
        assert pred.loc[pid, "outside_validation"] == (e["days_since_injury"] > 15)
