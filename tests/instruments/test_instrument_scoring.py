"""Worked scoring examples: totals, partial records, derived fields, NBD bands."""

from __future__ import annotations

import pytest

from cordtrial.instruments import LUTF, NBD, SCIM3, WISCI2, NbdSeverity, score
from cordtrial.instruments.bowel import severity

SCIM_MAX = {i.id: max(i.allowed_values) for i in SCIM3.items}
SCIM_ZERO = {i.id: 0 for i in SCIM3.items}


def test_scim_extremes():
    top = SCIM3.score(SCIM_MAX)
    assert top.total == 100
    assert top.scores == {
        "self_care": 20,
        "respiration_sphincter": 40,
        "mobility": 40,
        "mobility_room_toilet": 10,
        "mobility_indoors_outdoors": 30,
    }
    assert top.complete and top.derived == {"walks_indoors": True}
    bottom = SCIM3.score(SCIM_ZERO)
    assert bottom.total == 0 and set(bottom.scores.values()) == {0}
    assert bottom.derived == {"walks_indoors": False}


def test_scim_worked_example():
    # A person with incomplete tetraplegia, scored by hand: self-care 2+1+0+2+0+2 = 7,
    # respiration/sphincter 10+9+8+2 = 29, room/toilet 4+1+1 = 6, indoors/outdoors 5+4+2+1+1+0 = 13.
    record = {
        "feeding": 2,
        "bathing_upper": 1,
        "bathing_lower": 0,
        "dressing_upper": 2,
        "dressing_lower": 0,
        "grooming": 2,
        "respiration": 10,
        "bladder": 9,
        "bowel": 8,
        "toilet": 2,
        "bed_mobility": 4,
        "transfer_bed_wheelchair": 1,
        "transfer_wheelchair_toilet": 1,
        "mobility_indoors": 5,
        "mobility_moderate": 4,
        "mobility_outdoors": 2,
        "stairs": 1,
        "transfer_wheelchair_car": 1,
        "transfer_ground_wheelchair": 0,
    }
    result = SCIM3.score(record)
    assert result.scores["self_care"] == 7
    assert result.scores["respiration_sphincter"] == 29
    assert result.scores["mobility_room_toilet"] == 6
    assert result.scores["mobility_indoors_outdoors"] == 13
    assert result.scores["mobility"] == 19
    assert result.total == 55


def test_scim_incomplete_record_keeps_complete_subscales_only():
    record = dict(SCIM_MAX)
    del record["stairs"]  # item 15, in mobility indoors/outdoors
    result = SCIM3.score(record)
    assert result.total is None
    assert result.scores["self_care"] == 20
    assert result.scores["respiration_sphincter"] == 40
    assert result.scores["mobility_room_toilet"] == 10
    assert result.scores["mobility"] is None
    assert result.scores["mobility_indoors_outdoors"] is None
    assert result.missing_items == ("stairs",)
    assert not result.complete


def test_missing_is_never_zero():
    # A record with every item 0 but one missing must not score 0.
    record = dict(SCIM_ZERO)
    record["feeding"] = None
    result = SCIM3.score(record)
    assert result.total is None and result.scores["self_care"] is None


@pytest.mark.parametrize("level, walks", [(0, False), (3, False), (4, True), (8, True)])
def test_walks_indoors_threshold(level, walks):
    assert SCIM3.score({"mobility_indoors": level}).derived["walks_indoors"] is walks


def test_walks_indoors_unknown_without_item_12():
    assert SCIM3.score({"mobility_moderate": 8}).derived["walks_indoors"] is None


def test_wisci_scores_are_the_two_levels():
    result = WISCI2.score({"self_selected": 12, "maximum": 16})
    assert result.total is None
    assert result.scores == {"self_selected": 12, "maximum": 16}
    assert WISCI2.score({"maximum": 3}).scores == {"self_selected": None, "maximum": 3}


NBD_MAX = {i.id: max(i.options, key=lambda o: o.score_points).value for i in NBD.items}


def test_nbd_extremes_and_example():
    assert NBD.score(NBD_MAX).total == 47
    assert NBD.score(NBD_MAX).derived == {"severity": "severe"}
    least = {i.id: min(i.options, key=lambda o: o.score_points).value for i in NBD.items}
    assert NBD.score(least).total == 0
    # 2-6/week (1) + 31-60 min (3) + tablets (2) + flatus (2) = 8: minor.
    example = dict(least)
    example.update(
        defecation_frequency="2_to_6_per_week",
        time_per_defecation="31_to_60_min",
        constipation_tablets="yes",
        flatus_incontinence="yes",
    )
    result = NBD.score(example)
    assert result.total == 8 and result.derived["severity"] == "minor"


def test_nbd_incomplete_has_no_total_or_band():
    record = dict(NBD_MAX)
    del record["perianal_skin_problems"]
    result = NBD.score(record)
    assert result.total is None and result.derived == {"severity": None}


@pytest.mark.parametrize(
    "total, band",
    [
        (0, NbdSeverity.VERY_MINOR),
        (6, NbdSeverity.VERY_MINOR),
        (7, NbdSeverity.MINOR),
        (9, NbdSeverity.MINOR),
        (10, NbdSeverity.MODERATE),
        (13, NbdSeverity.MODERATE),
        (14, NbdSeverity.SEVERE),
        (47, NbdSeverity.SEVERE),
    ],
)
def test_nbd_severity_band_edges(total, band):
    assert severity(total) is band


@pytest.mark.parametrize("bad", [-1, 48, 7.0, True, "7"])
def test_nbd_severity_rejects_impossible_totals(bad):
    with pytest.raises(ValueError, match="0 to 47"):
        severity(bad)


def test_lutf_has_no_scores():
    result = LUTF.score({"main_emptying_method": "intermittent_self_catheterisation"})
    assert result.total is None and result.scores == {} and result.derived == {}
    assert "awareness_of_need_to_empty" in result.missing_items


def test_module_level_helpers_and_to_dict():
    result = score("scim3", SCIM_MAX)
    d = result.to_dict()
    assert d["total"] == 100 and d["complete"] is True and d["missing_items"] == []
    with pytest.raises(KeyError, match="known: scim3, wisci2, nbd, lutf"):
        score("fim", {})


def test_parse_form_then_validate():
    fields = {"feeding": " 3 ", "grooming": "", "respiration": "-1", "bathing_upper": "two"}
    record = SCIM3.parse_form(fields)
    assert record == {"feeding": 3, "respiration": -1, "bathing_upper": "two"}
    with pytest.raises(ValueError) as info:
        SCIM3.validate(record)
    assert [e.item_id for e in info.value.errors] == ["bathing_upper", "respiration"]
    lutf = LUTF.parse_form(
        {"supplementary_emptying_methods": ["straining", ""], "voluntary_emptyings_per_day": "6"}
    )
    assert LUTF.validate(lutf) == {
        "supplementary_emptying_methods": ["straining"],
        "voluntary_emptyings_per_day": 6,
    }
    assert NBD.parse_form({"flatus_incontinence": "yes"}) == {"flatus_incontinence": "yes"}


def test_version_tags_are_distinct():
    from cordtrial.instruments import INSTRUMENTS

    tags = [i.version_tag for i in INSTRUMENTS.values()]
    assert tags == ["scim3@1", "wisci2@2", "nbd@1", "lutf@1"]
