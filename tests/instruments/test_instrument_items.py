"""Every item's allowed set and its boundaries, checked against the project reference."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cordtrial.instruments import (
    INSTRUMENTS,
    LUTF,
    NBD,
    SCIM3,
    WISCI2,
    InstrumentValidationError,
    ItemKind,
    Verification,
)

REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "instruments.md"


def _reference_text() -> str:
    if not REFERENCE.exists():
        pytest.skip(f"reference not found at {REFERENCE}")
    return REFERENCE.read_text(encoding="utf-8")


def _rejects(instrument, item_id, value) -> str:
    with pytest.raises(InstrumentValidationError) as info:
        instrument.validate({item_id: value})
    errors = info.value.errors
    assert [e.item_id for e in errors] == [item_id]
    assert errors[0].value == value
    return str(info.value)


# -- SCIM III ----------------------------------------------------------------------------------

# The SCIM III table of the reference, written out so the test stands without the file.
SCIM_EXPECTED = {
    "1": [0, 1, 2, 3],
    "2A": [0, 1, 2, 3],
    "2B": [0, 1, 2, 3],
    "3A": [0, 1, 2, 3, 4],
    "3B": [0, 1, 2, 3, 4],
    "4": [0, 1, 2, 3],
    "5": [0, 2, 4, 6, 8, 10],
    "6": [0, 3, 6, 9, 11, 13, 15],
    "7": [0, 5, 8, 10],
    "8": [0, 1, 2, 4, 5],
    "9": [0, 2, 4, 6],
    "10": [0, 1, 2],
    "11": [0, 1, 2],
    "12": list(range(9)),
    "13": list(range(9)),
    "14": list(range(9)),
    "15": [0, 1, 2, 3],
    "16": [0, 1, 2],
    "17": [0, 1],
}


def test_scim_items_match_written_table():
    assert len(SCIM3.items) == 19
    assert {i.number: list(i.allowed_values) for i in SCIM3.items} == SCIM_EXPECTED


def test_scim_items_match_reference_file():
    text = _reference_text()
    section = text.split("## SCIM III")[1].split("\n## ")[0]
    rows = re.findall(r"^\| (\w+) \| [^|]+ \| ([0-9.,]+) \|$", section, flags=re.M)
    parsed = {}
    for number, allowed in rows:
        if ".." in allowed:
            lo, hi = allowed.split("..")
            parsed[number] = list(range(int(lo), int(hi) + 1))
        else:
            parsed[number] = [int(v) for v in allowed.split(",")]
    assert parsed == SCIM_EXPECTED


@pytest.mark.parametrize("item", SCIM3.items, ids=lambda i: i.id)
def test_scim_item_accepts_each_allowed_value_and_rejects_the_rest(item):
    allowed = set(item.allowed_values)
    for v in allowed:
        assert SCIM3.validate({item.id: v}) == {item.id: v}
    # Boundaries and the gaps inside the range (e.g. 1 for respiration).
    for v in range(min(allowed) - 2, max(allowed) + 3):
        if v not in allowed:
            message = _rejects(SCIM3, item.id, v)
            assert item.id in message and repr(v) in message
            assert ", ".join(str(a) for a in item.allowed_values) in message


@pytest.mark.parametrize("bad", [True, False, "2", 1.5, [1], {"v": 1}])
def test_scim_rejects_wrong_types(bad):
    _rejects(SCIM3, "feeding", bad)


def test_integral_float_is_normalised_and_none_means_missing():
    assert SCIM3.validate({"feeding": 2.0, "grooming": None}) == {"feeding": 2}
    assert type(SCIM3.validate({"feeding": 2.0})["feeding"]) is int


def test_mobility_level_meanings_are_from_the_reference():
    item = SCIM3.item("mobility_indoors")
    assert item.option(0).meaning == "0: total assistance"
    assert "swing-through" in item.option(4).meaning
    assert "one cane" in item.option(6).meaning
    assert "without aids" in item.option(8).meaning
    assert all(o.meaning_from_reference for o in item.options)


def test_scim_items_without_reference_wording_are_flagged():
    flagged = [i.number for i in SCIM3.items if not i.options[0].meaning_from_reference]
    assert flagged == [n for n in SCIM_EXPECTED if n not in ("12", "13", "14")]
    assert all(i.verification is Verification.VERIFIED for i in SCIM3.items)


# -- WISCI II ----------------------------------------------------------------------------------


@pytest.mark.parametrize("item", WISCI2.items, ids=lambda i: i.id)
def test_wisci_levels_and_boundaries(item):
    assert item.allowed_values == tuple(range(21))
    assert WISCI2.validate({item.id: 0}) == {item.id: 0}
    assert WISCI2.validate({item.id: 20}) == {item.id: 20}
    for bad in (-1, 21, 10.5, "10"):
        _rejects(WISCI2, item.id, bad)
    assert [o.value for o in item.options if not o.verified] == [16, 17, 18, 19, 20]
    assert item.verification is Verification.PARTLY_UNVERIFIED


# The published WISCI II order (Ditunno & Ditunno 2001, Spinal Cord 39:654; NINDS CDE table for
# 0-15; Ben et al. 2024 for 16-20): (walking aid, braces, physical assistance) per level. Levels
# 18 and 19 were swapped in definition version 1; this pins the fix.
PUBLISHED_WISCI = {
    0: None,
    1: ("parallel bars", "braces", "2 persons, less than 10 m"),
    2: ("parallel bars", "braces", "2 persons, 10 m"),
    3: ("parallel bars", "braces", "1 person"),
    4: ("parallel bars", "no braces", "1 person"),
    5: ("parallel bars", "braces", "no assistance"),
    6: ("walker", "braces", "1 person"),
    7: ("two crutches", "braces", "1 person"),
    8: ("walker", "no braces", "1 person"),
    9: ("walker", "braces", "no assistance"),
    10: ("one cane/crutch", "braces", "1 person"),
    11: ("two crutches", "no braces", "1 person"),
    12: ("two crutches", "braces", "no assistance"),
    13: ("walker", "no braces", "no assistance"),
    14: ("one cane/crutch", "no braces", "1 person"),
    15: ("one cane/crutch", "braces", "no assistance"),
    16: ("two crutches", "no braces", "no assistance"),
    17: ("no devices", "no braces", "1 person"),
    18: ("no devices", "braces", "no assistance"),
    19: ("one cane/crutch", "no braces", "no assistance"),
    20: ("no devices", "no braces", "no assistance"),
}


@pytest.mark.parametrize("item", WISCI2.items, ids=lambda i: i.id)
def test_wisci_levels_follow_the_published_order(item):
    for level, parts in PUBLISHED_WISCI.items():
        meaning = item.option(level).meaning
        if parts is None:
            assert meaning == "0: unable to stand and/or take part in assisted walking"
        else:
            assert meaning == f"{level}: " + ", ".join(parts)
    assert item.option(18).meaning == "18: no devices, braces, no assistance"
    assert item.option(19).meaning == "19: one cane/crutch, no braces, no assistance"


def test_wisci_definition_version_and_citation():
    from cordtrial.instruments import Evidence
    from cordtrial.instruments.wisci import WISCI2_V1

    assert WISCI2.version_tag == "wisci2@2"
    assert "Ditunno" in WISCI2.source and "39:654" in WISCI2.source
    top = next(p for p in WISCI2.parts if p.name.startswith("levels 16-20"))
    assert top.evidence is Evidence.UNVERIFIED and "Ditunno" in top.source
    # Version 1 is kept as entered: its 18 and 19 carry each other's wording.
    old = WISCI2_V1.item("maximum")
    assert WISCI2_V1.version_tag == "wisci2@1"
    assert old.option(18).meaning == "18: one cane/crutch, no braces, no assistance"
    assert old.option(19).meaning == "19: no devices, braces, no assistance"
    for level in set(range(21)) - {18, 19}:
        assert old.option(level) == WISCI2.item("maximum").option(level)


def test_wisci_levels_match_reference_file():
    """The reference's prose lists 16-20 in the published order with their sources; its table
    tags 0-15 [V] and 16-20 [R]. (The table's rows 18 and 19 still show the old order, which
    the prose above it corrects, so only the tags and levels 0-17 and 20 are read from it.)"""
    text = _reference_text()
    section = text.split("## WISCI II")[1].split("\n## ")[0]
    prose = " ".join(section.split())
    assert "18 no devices, with braces, no assistance" in prose
    assert "19 one cane or crutch, no braces, no assistance" in prose
    rows = re.findall(r"^\| (\d+) \| ([^|]+) \| ([VR]) \|$", section, flags=re.M)
    assert len(rows) == 21
    for level, wording, tag in rows:
        option = WISCI2.item("maximum").option(int(level))
        assert option.verified is (tag == "V")
        if int(level) not in (18, 19):
            assert option.meaning == f"{level}: {wording.strip()}"


def test_wisci_self_selected_above_maximum_is_rejected():
    assert WISCI2.validate({"self_selected": 9, "maximum": 9})
    with pytest.raises(InstrumentValidationError) as info:
        WISCI2.validate({"self_selected": 10, "maximum": 9})
    (err,) = info.value.errors
    assert err.item_id == "self_selected" and err.value == 10
    assert "maximum level (9)" in err.allowed


# -- NBD ---------------------------------------------------------------------------------------

NBD_EXPECTED = {
    "defecation_frequency": {"daily": 0, "2_to_6_per_week": 1, "less_than_weekly": 6},
    "time_per_defecation": {"under_30_min": 0, "31_to_60_min": 3, "over_60_min": 7},
    "autonomic_symptoms": {"no": 0, "yes": 2},
    "constipation_tablets": {"no": 0, "yes": 2},
    "constipation_drops": {"no": 0, "yes": 2},
    "digital_stimulation": {"less_than_weekly": 0, "weekly_or_more": 6},
    "faecal_incontinence_frequency": {
        "daily": 13,
        "1_to_6_per_week": 7,
        "1_to_4_per_month": 6,
        "less_than_monthly": 0,
    },
    "incontinence_medication": {"no": 0, "yes": 4},
    "flatus_incontinence": {"no": 0, "yes": 2},
    "perianal_skin_problems": {"no": 0, "yes": 3},
}


def test_nbd_responses_and_points():
    got = {i.id: {o.value: o.score_points for o in i.options} for i in NBD.items}
    assert got == NBD_EXPECTED


def test_nbd_item_maxima_match_reference_file():
    text = _reference_text()
    line = re.search(r"Item maxima \[V\]: ([\d, ]+)\.", text)
    assert line is not None
    maxima = [int(v) for v in line.group(1).split(",")]
    assert [i.point_range[1] for i in NBD.items] == maxima
    assert sum(maxima) == 47


@pytest.mark.parametrize("item", NBD.items, ids=lambda i: i.id)
def test_nbd_item_rejects_points_and_unknown_responses(item):
    for o in item.options:
        assert NBD.validate({item.id: o.value}) == {item.id: o.value}
    # The record stores the response, not its points.
    for bad in (item.options[-1].score_points, "sometimes", "", "YES"):
        _rejects(NBD, item.id, bad)


# Not found in any source (issue 19): the middle answers' points of items 1, 2 and 7 and the
# answer categories of item 6; Krogh 2006 is the primary source to check them against.
NBD_UNVERIFIED_ANSWERS = {
    "defecation_frequency": {"2_to_6_per_week"},
    "time_per_defecation": {"31_to_60_min"},
    "digital_stimulation": {"less_than_weekly", "weekly_or_more"},
    "faecal_incontinence_frequency": {"1_to_6_per_week", "1_to_4_per_month"},
}


def test_nbd_verification_per_answer():
    for item in NBD.items:
        unverified = {o.value for o in item.options if not o.verified}
        assert unverified == NBD_UNVERIFIED_ANSWERS.get(item.id, set()), item.id
        assert item.verified
        expected = Verification.PARTLY_UNVERIFIED if unverified else Verification.VERIFIED
        assert item.verification is expected
        for o in item.options:
            assert o.verified or "Krogh 2006" in o.note
    assert "Krogh" in NBD.source and "Erdem" in NBD.source


# -- LUTF data set -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "item", [i for i in LUTF.items if i.kind is ItemKind.CHOICE], ids=lambda i: i.id
)
def test_lutf_choice_items(item):
    for v in item.allowed_values:
        assert LUTF.validate({item.id: v}) == {item.id: v}
    for bad in ("maybe", 1, ["no"]):
        _rejects(LUTF, item.id, bad)
    assert item.verification is Verification.UNVERIFIED


def test_lutf_leakage_categories_follow_reference():
    values = LUTF.item("involuntary_leakage_last_3_months").allowed_values
    assert values[:5] == ("daily", "weekly", "monthly", "less_than_monthly", "never")


def test_lutf_emptying_methods_cover_reference_list():
    values = set(LUTF.item("main_emptying_method").allowed_values)
    for method in (
        "normal_voiding",
        "reflex_triggering",
        "straining",
        "external_compression",
        "intermittent_self_catheterisation",
        "intermittent_attendant_catheterisation",
        "indwelling_urethral_catheter",
        "suprapubic_catheter",
        "sacral_anterior_root_stimulation",
        "non_continent_diversion",
    ):
        assert method in values


def test_lutf_count_boundaries():
    item_id = "voluntary_emptyings_per_day"
    assert LUTF.validate({item_id: 0}) == {item_id: 0}
    assert LUTF.validate({item_id: 50}) == {item_id: 50}
    for bad in (-1, 51, 2.5, "3", True):
        message = _rejects(LUTF, item_id, bad)
        assert "from 0 to 50" in message


@pytest.mark.parametrize(
    "bad, reason",
    [
        ([], "empty"),
        ("straining", "not a list"),
        (["straining", "straining"], "more than once"),
        (["straining", "flying"], "not allowed"),
        (["none", "straining"], "cannot be combined"),
        (["unknown", "other"], "cannot be combined"),
    ],
)
def test_lutf_supplementary_methods_rejections(bad, reason):
    assert reason in _rejects(LUTF, "supplementary_emptying_methods", bad)


def test_lutf_supplementary_methods_accepts_combinations_and_tuples():
    item_id = "supplementary_emptying_methods"
    assert LUTF.validate({item_id: ("straining", "external_compression")}) == {
        item_id: ["straining", "external_compression"]
    }
    assert LUTF.validate({item_id: ["none"]}) == {item_id: ["none"]}


# -- all instruments ---------------------------------------------------------------------------


@pytest.mark.parametrize("instrument", INSTRUMENTS.values(), ids=lambda i: i.id)
def test_unknown_items_and_non_objects_are_rejected(instrument):
    with pytest.raises(InstrumentValidationError) as info:
        instrument.validate({"not_an_item": 1})
    (err,) = info.value.errors
    assert err.item_id == "not_an_item" and "unknown item" in str(err)
    assert instrument.items[0].id in err.allowed
    with pytest.raises(InstrumentValidationError, match="must be an object"):
        instrument.validate([1, 2])


@pytest.mark.parametrize("instrument", INSTRUMENTS.values(), ids=lambda i: i.id)
def test_every_item_and_option_carries_display_text(instrument):
    assert instrument.source
    for item in instrument.items:
        assert item.label and item.number
        if not item.verified:
            assert "[R]" in item.note
        for option in item.options:
            assert option.meaning
            if not option.verified:
                assert option.note or not item.verified


def test_all_errors_are_reported_together():
    with pytest.raises(InstrumentValidationError) as info:
        SCIM3.validate({"feeding": 9, "respiration": 3, "stairs": -1})
    assert [e.item_id for e in info.value.errors] == ["feeding", "respiration", "stairs"]
    text = str(info.value)
    assert text.startswith("invalid scim3 record (3 errors):")
    assert "respiration: not an allowed value: got 3; allowed: 0, 2, 4, 6, 8, 10" in text
    assert isinstance(info.value, ValueError)
