"""Definition versions, corrections and the per-part source/verification metadata."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cordtrial.instruments import (
    CORRECTIONS,
    INSTRUMENTS,
    WISCI2,
    Evidence,
    definition_for,
    review_flags,
)
from cordtrial.instruments.versions import DEFINITIONS, affected_tags, current_tag, review_text
from cordtrial.instruments.wisci import WISCI2_V1


def test_every_released_definition_is_known_by_its_tag():
    assert set(DEFINITIONS) == {"scim3@1", "wisci2@1", "wisci2@2", "nbd@1", "lutf@1"}
    for tag, definition in DEFINITIONS.items():
        assert definition.version_tag == tag
        assert definition_for(tag) is definition
    assert {current_tag(k) for k in INSTRUMENTS} == {"scim3@1", "wisci2@2", "nbd@1", "lutf@1"}


@pytest.mark.parametrize("tag", [None, "", "wisci2", "wisci2@3", "scim3/1"])
def test_unknown_tags_have_no_definition_and_no_flags(tag):
    assert definition_for(tag) is None
    assert review_flags(tag, {"maximum": 19}) == ()


def test_corrections_point_at_released_definitions():
    for c in CORRECTIONS:
        assert c.fixed_in == INSTRUMENTS[c.instrument].version_tag
        for tag in c.affected_versions:
            old = DEFINITIONS[tag]
            assert old is not INSTRUMENTS[c.instrument]
            # Only the named values changed wording, and they did change.
            for item_id in c.items:
                for option in old.item(item_id).options:
                    now = INSTRUMENTS[c.instrument].item(item_id).option(option.value)
                    assert (option.meaning != now.meaning) == (option.value in c.values)
    assert affected_tags() == ("wisci2@1",)


def test_wisci_18_19_under_version_1_are_flagged_with_both_wordings():
    flags = review_flags("wisci2@1", {"self_selected": 17, "maximum": 19})
    (flag,) = flags
    assert (flag.item_id, flag.value) == ("maximum", 19)
    assert flag.item_label == "Maximum level"
    assert flag.meaning_entered == "19: no devices, braces, no assistance"
    assert flag.meaning_now == "19: one cane/crutch, no braces, no assistance"
    assert "entered as" in flag.describe()
    both = review_flags("wisci2@1", {"self_selected": 18, "maximum": 19})
    assert [f.item_id for f in both] == ["self_selected", "maximum"]
    assert review_text("wisci2@1", {"self_selected": 18, "maximum": 19}) == (
        "wisci2-levels-18-19: self_selected=18, maximum=19"
    )


def test_records_under_the_fixed_definition_are_never_flagged():
    assert review_flags("wisci2@2", {"self_selected": 18, "maximum": 19}) == ()
    assert review_text("wisci2@2", {"maximum": 18}) == ""
    assert review_flags("scim3@1", {"feeding": 1}) == ()


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "self_selected": st.integers(0, 20),
            "maximum": st.integers(0, 20),
        },
    )
)
def test_flags_are_exactly_the_items_at_18_or_19(record):
    flagged = {f.item_id for f in review_flags("wisci2@1", record)}
    assert flagged == {k for k, v in record.items() if v in (18, 19)}
    # Apart from 18 and 19, both versions read a record the same way.
    for key, value in record.items():
        if key not in flagged:
            assert (
                WISCI2_V1.item(key).option(value).meaning == WISCI2.item(key).option(value).meaning
            )


@pytest.mark.parametrize("definition", DEFINITIONS.values(), ids=lambda d: d.version_tag)
def test_every_definition_states_source_and_evidence_per_part(definition):
    assert definition.parts, definition.version_tag
    for part in definition.parts:
        assert part.name and part.source
        assert part.evidence in set(Evidence)
    # A definition with unverified items has at least one unverified part, and vice versa.
    unverified_items = any(i.verification != "verified" for i in definition.items)
    unverified_parts = any(p.evidence is Evidence.UNVERIFIED for p in definition.parts)
    assert unverified_parts or not unverified_items


def test_scim_scoring_is_verified_and_wording_is_a_stand_in():
    parts = {p.name: p for p in INSTRUMENTS["scim3"].parts}
    assert parts["19 items and the points of every option"].evidence is Evidence.VERIFIED
    maxima = next(p for n, p in parts.items() if n.startswith("subscales and maxima"))
    assert maxima.evidence is Evidence.VERIFIED
    for needle in ("0-20", "0-40", "0-10", "0-30", "0-100"):
        assert needle in maxima.name
    wording = parts["option wording of the other 16 items"]
    assert wording.evidence is Evidence.UNVERIFIED and "licence" in wording.note


def test_lut_cites_both_versions_and_keeps_items_unverified():
    lutf = INSTRUMENTS["lutf"]
    assert "2008;46:325-30" in lutf.source and "Spinal Cord Series and Cases 2018" in lutf.source
    assert all(i.verification == "unverified" for i in lutf.items)
    names = [p.name for p in lutf.parts]
    assert "'not applicable' answer codes" in names


def test_nbd_parts_match_the_issue():
    states = {p.name: p.evidence for p in INSTRUMENTS["nbd"].parts}
    assert states["total 0-47, lower is better"] is Evidence.VERIFIED
    assert states["points of the middle answers of items 1, 2 and 7"] is Evidence.UNVERIFIED
    unverified = [n for n, e in states.items() if e is Evidence.UNVERIFIED]
    assert any("item 6" in n for n in unverified)
