"""JSON Schema export: valid schemas, good records pass, bad ones fail with readable messages."""

from __future__ import annotations

import json

import jsonschema
import pytest

from cordtrial.instruments import INSTRUMENTS, LUTF, NBD, SCIM3, WISCI2, json_schema
from cordtrial.instruments.schema import schema_errors


def validator(instrument):
    return jsonschema.Draft202012Validator(json_schema(instrument))


def messages(instrument, record):
    return [
        ("/".join(str(p) for p in e.absolute_path), e.message)
        for e in validator(instrument).iter_errors(record)
    ]


@pytest.mark.parametrize("instrument", INSTRUMENTS.values(), ids=lambda i: i.id)
def test_schema_is_valid_draft_2020_12_and_json_serialisable(instrument):
    schema = json_schema(instrument)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert json.loads(json.dumps(schema)) == schema
    assert list(schema["properties"]) == list(instrument.item_ids)
    assert schema["additionalProperties"] is False
    assert "required" not in schema  # missing items are allowed


@pytest.mark.parametrize("instrument", INSTRUMENTS.values(), ids=lambda i: i.id)
def test_empty_and_null_records_are_valid(instrument):
    assert messages(instrument, {}) == []
    assert messages(instrument, {i: None for i in instrument.item_ids}) == []


GOOD = {
    "scim3": {i.id: max(i.allowed_values) for i in SCIM3.items},
    "wisci2": {"self_selected": 13, "maximum": 16},
    "nbd": {i.id: i.options[0].value for i in NBD.items},
    "lutf": {
        "awareness_of_need_to_empty": "no",
        "main_emptying_method": "intermittent_self_catheterisation",
        "supplementary_emptying_methods": ["reflex_triggering", "external_compression"],
        "voluntary_emptyings_per_day": 0,
        "involuntary_leakage_last_3_months": "weekly",
        "collecting_appliances": "yes",
        "urinary_tract_drugs": "yes",
        "urinary_tract_surgery": "no",
        "change_in_symptoms": "unknown",
    },
}


@pytest.mark.parametrize("name", GOOD)
def test_good_records_pass_schema_and_validate(name):
    instrument = INSTRUMENTS[name]
    assert messages(instrument, GOOD[name]) == []
    assert instrument.validate(GOOD[name]) == GOOD[name]


BAD = [
    (SCIM3, {"feeding": 4}, "feeding", "4 is not one of [0, 1, 2, 3, None]"),
    (SCIM3, {"respiration": 5}, "respiration", "5 is not one of [0, 2, 4, 6, 8, 10, None]"),
    (SCIM3, {"mobility_indoors": 9}, "mobility_indoors", "9 is not one of"),
    (SCIM3, {"feeding": True}, "feeding", "True is not one of"),
    (SCIM3, {"walking": 3}, "", "'walking' was unexpected"),
    (WISCI2, {"maximum": 21}, "maximum", "21 is not one of"),
    (WISCI2, {"self_selected": 12, "maximum": 10}, "self_selected", "12 is not one of"),
    (NBD, {"flatus_incontinence": 2}, "flatus_incontinence", "2 is not one of ['no', 'yes', None]"),
    (LUTF, {"voluntary_emptyings_per_day": 51}, "voluntary_emptyings_per_day", "maximum of 50"),
    (LUTF, {"voluntary_emptyings_per_day": -1}, "voluntary_emptyings_per_day", "minimum of 0"),
    (LUTF, {"supplementary_emptying_methods": []}, "supplementary_emptying_methods", "empty"),
    (
        LUTF,
        {"supplementary_emptying_methods": ["none", "straining"]},
        "supplementary_emptying_methods",
        "['none'] was expected",
    ),
    (
        LUTF,
        {"supplementary_emptying_methods": ["straining", "straining"]},
        "supplementary_emptying_methods",
        "non-unique elements",
    ),
    (LUTF, {"main_emptying_method": "flying"}, "main_emptying_method", "'flying' is not one of"),
]


@pytest.mark.parametrize("instrument, record, path, fragment", BAD)
def test_bad_records_fail_with_readable_messages(instrument, record, path, fragment):
    found = messages(instrument, record)
    assert any(p == path and fragment in m for p, m in found), found
    # The Python validator rejects the same record.
    with pytest.raises(ValueError):
        instrument.validate(record)


def test_schema_errors_helper_names_the_item():
    assert schema_errors(SCIM3, {"feeding": 4}) == ["feeding: 4 is not one of [0, 1, 2, 3, None]"]
    assert schema_errors(SCIM3, {"x": 1}) == [
        "<record>: Additional properties are not allowed ('x' was unexpected)"
    ]


def test_form_annotations():
    schema = json_schema(WISCI2)
    maximum = schema["properties"]["maximum"]
    options = maximum["x-options"]
    assert [o["value"] for o in options] == list(range(21))
    assert options[16]["verified"] is False and options[15]["verified"] is True
    assert options[0]["meaning"].startswith("0: unable to stand")
    assert maximum["x-verification"] == "partly unverified"
    nbd = json_schema(NBD)["properties"]["faecal_incontinence_frequency"]
    assert nbd["x-verification"] == "partly unverified"
    assert {o["value"]: o["points"] for o in nbd["x-options"]}["daily"] == 13
    assert schema["x-definition-version"] == "wisci2@2"
    parts = {p["name"]: p["evidence"] for p in schema["x-parts"]}
    assert parts["levels 16-20: order and wording"] == "unverified"
    feeding = json_schema(SCIM3)["properties"]["feeding"]
    assert feeding["title"] == "1. Feeding"
    assert feeding["x-options"][0]["meaning_from_reference"] is False
