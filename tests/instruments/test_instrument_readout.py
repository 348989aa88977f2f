"""A stored record read as a person reads it: answers in words, scores with ranges, missing
items named, and old records read with the definition they were entered under."""

from __future__ import annotations

from hypothesis import given
from test_instrument_properties import records

from cordtrial.instruments import LUTF, NBD, SCIM3, WISCI2
from cordtrial.instruments.readout import readout
from cordtrial.instruments.wisci import WISCI2_V1


def _read(instrument, record):
    return readout(instrument, record, instrument.score(record).to_dict())


def test_wisci_levels_are_read_with_their_description():
    ro = _read(WISCI2, {"self_selected": 18, "maximum": 19})
    scores = {s.score_id: s for s in ro.scores}
    assert scores["maximum"].value == 19
    assert scores["maximum"].meaning == "19: one cane/crutch, no braces, no assistance"
    assert scores["self_selected"].meaning == "18: no devices, braces, no assistance"
    answers = {a.item_id: a for a in ro.answers}
    assert answers["maximum"].answer_verified is False  # levels 16-20 unverified
    assert _read(WISCI2, {"maximum": 12}).answers[1].answer_verified is True


def test_an_old_record_keeps_the_wording_it_was_entered_under():
    record = {"maximum": 19}
    old = readout(WISCI2_V1, record, WISCI2_V1.score(record).to_dict())
    assert old.scores[1].meaning == "19: no devices, braces, no assistance"


def test_incomplete_scim_names_missing_items_and_keeps_complete_subscales():
    record = {i.id: i.options[-1].value for i in SCIM3.items}
    del record["bathing_upper"], record["stairs"]
    ro = _read(SCIM3, record)
    assert not ro.complete
    assert [(m.number, m.label) for m in ro.missing] == [
        ("2A", "Bathing, upper body"),
        ("15", "Stair management"),
    ]
    scores = {s.score_id: s for s in ro.scores}
    assert scores["total"].value is None and scores["total"].missing == ("2A", "15")
    assert scores["self_care"].value is None and scores["self_care"].missing == ("2A",)
    assert (
        scores["respiration_sphincter"].value == 40
        and scores["respiration_sphincter"].missing == ()
    )
    assert scores["mobility_room_toilet"].is_part
    derived = {d.field_id: d for d in ro.derived}
    assert derived["walks_indoors"].text == "yes (item 12 at level 4 or more)"
    feeding = ro.answers[0]
    assert feeding.answer == "3: highest (independent)" and feeding.points == 3
    assert feeding.stand_in_wording and not ro.answers[13].stand_in_wording  # item 12


def test_nbd_answers_points_and_severity_in_words():
    record = {i.id: i.options[0].value for i in NBD.items}
    record["time_per_defecation"] = "31_to_60_min"
    record["faecal_incontinence_frequency"] = "1_to_6_per_week"
    ro = _read(NBD, record)
    total = ro.scores[0]
    assert total.value == 3 + 7 and total.maximum == 47 and not total.higher_is_better
    assert ro.derived[0].text == "moderate (10-13)"
    time = next(a for a in ro.answers if a.item_id == "time_per_defecation")
    assert (time.answer, time.points, time.answer_verified) == ("31-60 minutes", 3, False)
    assert _read(NBD, {"flatus_incontinence": "yes"}).derived[0].text == "not computed"


def test_lut_answers_in_words():
    record = {
        "awareness_of_need_to_empty": "yes",
        "main_emptying_method": "intermittent_self_catheterisation",
        "supplementary_emptying_methods": ["straining", "external_compression"],
        "voluntary_emptyings_per_day": 5,
        "involuntary_leakage_last_3_months": "less_than_monthly",
    }
    ro = _read(LUTF, record)
    answers = {a.item_id: a.answer for a in ro.answers}
    assert answers["main_emptying_method"] == "intermittent self-catheterisation"
    assert answers["supplementary_emptying_methods"] == "straining; external compression"
    assert answers["voluntary_emptyings_per_day"] == "5 per day"
    assert answers["involuntary_leakage_last_3_months"] == "less than monthly"
    assert answers["change_in_symptoms"] is None
    assert not ro.scored and [m.number for m in ro.missing] == ["5", "6", "7", "8"]


def test_a_value_the_definition_does_not_know_is_shown_not_hidden():
    ro = readout(WISCI2, {"maximum": 25}, {"scores": {"maximum": 25}})
    assert ro.answers[1].answer == "25 (not an answer of this definition)"


@given(records(SCIM3, complete=False))
def test_readout_agrees_with_the_score(record):
    result = SCIM3.score(record)
    ro = readout(SCIM3, record, result.to_dict())
    assert {m.item_id for m in ro.missing} == set(result.missing_items)
    for line in ro.scores:
        expected = result.total if line.score_id == "total" else result.scores[line.score_id]
        assert line.value == expected
        assert (line.value is None) == bool(line.missing)
    assert all(a.answer for a in ro.answers if a.item_id in record)
