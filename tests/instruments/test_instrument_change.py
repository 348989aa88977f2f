"""Change helpers: SCIM III thresholds (Scivoletto 2013), MCID range (Corallo 2017), responders."""

from __future__ import annotations

import pytest

from cordtrial.instruments import (
    NBD,
    SCIM3,
    WISCI2,
    ChangeCategory,
    compare,
    count_responders,
)

BASE = {i.id: 0 for i in SCIM3.items}


def scim_with_total(total: int) -> dict:
    """A complete SCIM III record with the given total (filled item by item from the top)."""
    record, left = dict(BASE), total
    for item in SCIM3.items:
        best = max((v for v in item.allowed_values if v <= left), default=0)
        record[item.id] = best
        left -= best
    assert left == 0
    return record


def total_change(before: int, after: int):
    return compare(SCIM3, scim_with_total(before), scim_with_total(after)).total


@pytest.mark.parametrize(
    "after, category",
    [
        (20, ChangeCategory.BELOW_THRESHOLD),
        (23, ChangeCategory.BELOW_THRESHOLD),
        (24, ChangeCategory.SMALL),
        (29, ChangeCategory.SMALL),
        (30, ChangeCategory.SUBSTANTIAL),
        (60, ChangeCategory.SUBSTANTIAL),
        (5, ChangeCategory.BELOW_THRESHOLD),  # a worsening is never classified as change
    ],
)
def test_scim_total_thresholds(after, category):
    change = total_change(20, after)
    assert change.delta == after - 20
    assert change.category is category


@pytest.mark.parametrize(
    "delta, mcid_min, mcid_max",
    [(11, False, False), (12, True, False), (44, True, False), (45, True, True)],
)
def test_scim_mcid_range(delta, mcid_min, mcid_max):
    change = total_change(10, 10 + delta)
    assert (change.reaches_mcid_min, change.reaches_mcid_max) == (mcid_min, mcid_max)


def test_subscales_have_deltas_but_no_categories():
    change = compare(SCIM3, scim_with_total(10), scim_with_total(40))
    self_care = change.scores["self_care"]
    assert self_care.delta is not None and self_care.category is None
    assert self_care.meets("small") is None


def test_incomplete_scoring_is_not_computable():
    before = dict(BASE)
    del before["stairs"]
    change = compare(SCIM3, before, BASE)
    assert change.total.delta is None and change.total.category is None
    assert not change.total.computable
    assert change.scores["self_care"].delta == 0


def test_accepts_score_results_and_checks_instrument():
    before = SCIM3.score(scim_with_total(30))
    change = compare(SCIM3, before, scim_with_total(45))
    assert change.total.delta == 15
    assert change.derived_before == {"walks_indoors": before.derived["walks_indoors"]}
    with pytest.raises(ValueError, match="expected a scim3 score"):
        compare(SCIM3, NBD.score({}), BASE)


def test_invalid_records_raise():
    with pytest.raises(ValueError, match="feeding"):
        compare(SCIM3, {"feeding": 9}, BASE)


def test_nbd_lower_is_better():
    worst = {i.id: max(i.options, key=lambda o: o.score_points).value for i in NBD.items}
    best = {i.id: min(i.options, key=lambda o: o.score_points).value for i in NBD.items}
    change = compare(NBD, worst, best)
    assert change.total.delta == -47 and change.total.improvement == 47
    assert change.derived_before["severity"] == "severe"
    assert change.derived_after["severity"] == "very_minor"


def test_wisci_level_changes():
    change = compare(WISCI2, {"self_selected": 4, "maximum": 6}, {"maximum": 9})
    assert change.scores["maximum"].delta == 3
    assert change.scores["self_selected"].delta is None
    assert change.total is None


def test_count_responders():
    changes = [
        total_change(20, 24),  # small
        total_change(20, 35),  # substantial, >= MCID min
        total_change(20, 19),  # worse
        compare(SCIM3, {"feeding": 1}, BASE).total,  # not evaluable
    ]
    small = count_responders(changes, "small")
    assert (small.responders, small.evaluable, small.not_evaluable) == (2, 3, 1)
    assert count_responders(changes, "substantial").responders == 1
    assert count_responders(changes, "mcid_min").responders == 1
    assert count_responders(changes, "mcid_max").responders == 0
    assert count_responders(changes, "small").to_dict()["criterion"] == "small"
    with pytest.raises(ValueError, match="allowed: small, substantial, mcid_min, mcid_max"):
        count_responders(changes, "large")


def test_to_dict_is_plain():
    d = total_change(20, 30).to_dict()
    assert d == {
        "score": "total",
        "before": 20,
        "after": 30,
        "delta": 10,
        "improvement": 10,
        "category": "substantial",
        "reaches_mcid_min": False,
        "reaches_mcid_max": False,
    }
