"""Property-based tests: scoring invariants and agreement of validate() with the JSON Schema."""

from __future__ import annotations

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from cordtrial.instruments import (
    INSTRUMENTS,
    NBD,
    SCIM3,
    WISCI2,
    InstrumentValidationError,
    Item,
    ItemKind,
    compare,
    json_schema,
)

VALIDATORS = {
    k: jsonschema.Draft202012Validator(json_schema(inst)) for k, inst in INSTRUMENTS.items()
}


def value_of(item: Item) -> st.SearchStrategy:
    if item.kind is ItemKind.COUNT:
        return st.integers(item.minimum, item.maximum)
    if item.kind is ItemKind.CHOICE:
        return st.sampled_from(item.allowed_values)
    ordinary = [o.value for o in item.options if not o.exclusive]
    exclusive = [o.value for o in item.options if o.exclusive]
    return st.one_of(
        st.lists(st.sampled_from(ordinary), min_size=1, unique=True),
        st.sampled_from(exclusive).map(lambda v: [v]),
    )


def records(instrument, *, complete: bool) -> st.SearchStrategy[dict]:
    fields = {i.id: value_of(i) for i in instrument.items}
    if complete:
        return st.fixed_dictionaries(fields)
    return st.fixed_dictionaries({}, optional=fields)


def wisci_ordered(record: dict) -> dict:
    # Keep generated WISCI records consistent with self-selected <= maximum.
    if "self_selected" in record and "maximum" in record:
        lo, hi = sorted((record["self_selected"], record["maximum"]))
        record = {"self_selected": lo, "maximum": hi}
    return record


def points(instrument, record, item_ids):
    return sum(instrument.item(i).option(record[i]).score_points for i in item_ids)


@given(records(SCIM3, complete=True))
def test_scim_total_is_sum_of_items_and_subscales(record):
    r = SCIM3.score(record)
    assert r.total == points(SCIM3, record, SCIM3.item_ids)
    s = r.scores
    assert r.total == s["self_care"] + s["respiration_sphincter"] + s["mobility"]
    assert s["mobility"] == s["mobility_room_toilet"] + s["mobility_indoors_outdoors"]
    for d in SCIM3.scores[1:]:
        assert d.minimum <= s[d.id] <= d.maximum
    assert 0 <= r.total <= 100
    assert r.derived["walks_indoors"] is (record["mobility_indoors"] >= 4)


@given(records(SCIM3, complete=False))
def test_scim_scores_exist_exactly_when_their_items_do(record):
    r = SCIM3.score(record)
    for d in SCIM3.scores:
        value = r.total if d.id == "total" else r.scores[d.id]
        if all(i in record for i in d.item_ids):
            assert value == points(SCIM3, record, d.item_ids)
        else:
            assert value is None
    assert set(r.missing_items) == set(SCIM3.item_ids) - set(record)


@given(records(NBD, complete=False))
def test_nbd_total_and_band(record):
    r = NBD.score(record)
    if len(record) == len(NBD.items):
        assert r.total == points(NBD, record, NBD.item_ids)
        assert 0 <= r.total <= 47
        assert r.derived["severity"] is not None
    else:
        assert r.total is None and r.derived["severity"] is None


@given(records(WISCI2, complete=False).map(wisci_ordered))
def test_wisci_levels_pass_through(record):
    r = WISCI2.score(record)
    assert r.scores == {k: record.get(k) for k in ("self_selected", "maximum")}


@given(
    st.sampled_from(list(INSTRUMENTS.values())).flatmap(
        lambda inst: st.tuples(st.just(inst), records(inst, complete=False))
    )
)
def test_validate_is_idempotent_and_schema_accepts_valid(pair):
    instrument, record = pair
    if instrument is WISCI2:
        record = wisci_ordered(record)
    clean = instrument.validate(record)
    assert instrument.validate(clean) == clean
    assert list(VALIDATORS[instrument.id].iter_errors(record)) == []


# Arbitrary JSON-ish values, biased towards near-miss integers and strings.
junk = st.one_of(
    st.integers(-3, 60),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-5, max_value=60),
    st.sampled_from(["yes", "no", "daily", "none", "straining", "unknown", "3", ""]),
    st.lists(st.sampled_from(["none", "straining", "other", "unknown", "flying"]), max_size=3),
)


@settings(max_examples=300)
@given(
    st.sampled_from(list(INSTRUMENTS.values())).flatmap(
        lambda inst: st.tuples(
            st.just(inst),
            st.dictionaries(st.sampled_from([*inst.item_ids, "bogus"]), junk, max_size=4),
        )
    )
)
def test_schema_and_validate_agree(pair):
    instrument, record = pair
    schema_ok = VALIDATORS[instrument.id].is_valid(record)
    try:
        instrument.validate(record)
        python_ok = True
    except InstrumentValidationError:
        python_ok = False
    assert schema_ok == python_ok, record


@given(records(SCIM3, complete=True), records(SCIM3, complete=True))
def test_change_is_antisymmetric_and_matches_totals(before, after):
    forward = compare(SCIM3, before, after)
    back = compare(SCIM3, after, before)
    for key, change in forward.scores.items():
        assert change.delta == -back.scores[key].delta
        assert change.delta == change.after - change.before
    total = forward.total
    assert total.delta == SCIM3.score(after).total - SCIM3.score(before).total
    assert total.category is not None
    assert total.reaches_mcid_min == (total.delta >= 12)


@given(records(NBD, complete=True), records(NBD, complete=True))
def test_nbd_improvement_is_a_decrease(before, after):
    change = compare(NBD, before, after).total
    assert change.improvement == -change.delta
    assert change.category is None  # no published threshold
