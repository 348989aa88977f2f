"""Unit and property tests of the web's pure parts: worksheet layout, CSRF,
credential cache, charts, CSV export safety, form helpers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cordtrial.isncsci import CELL_KEYS
from cordtrial.web import layout
from cordtrial.web.charts import Point, line_chart
from cordtrial.web.exports import to_csv
from cordtrial.web.forms import parse_float, validate_form
from cordtrial.web.schemas import PassageIn
from cordtrial.web.security import CredentialCache, WebSession, csrf_matches


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- layout ------------------------------------------------------------------------------------


def test_worksheet_has_the_standard_cells():
    assert len(layout.DERMATOMES) == 28 and len(layout.KEY_MUSCLES) == 10
    assert len(layout.CELL_FIELDS) == 28 * 2 * 2 + 10 * 2
    assert len(set(layout.ENTRY_ORDER)) == len(layout.ENTRY_ORDER)
    # Every cell the engine knows is on the worksheet, and nothing else.
    assert set(layout.CELL_FIELDS) == set(CELL_KEYS)


def test_entry_order_follows_the_paper_form():
    order = layout.ENTRY_ORDER
    assert order[:10] == tuple(layout.motor_field(m, "Right") for m in layout.KEY_MUSCLES)
    assert order[10] == "c2RightTouch" and order[37] == "s4_5RightTouch"
    assert order[-4:] == (layout.VAC, layout.DAP, *layout.NON_KEY.values())


@given(st.sampled_from(layout.DERMATOMES))
def test_normal_down_to_fills_exactly_the_rows_down_to_the_level(level):
    filled = layout.normal_down_to(level)
    cut = layout.DERMATOMES.index(level)
    for col in layout.COLUMNS:
        for row in col.levels:
            name = col.field(row)
            if layout.DERMATOMES.index(row) <= cut:
                assert filled[name] == ("5" if col.kind == "Motor" else "2")
            else:
                assert name not in filled


def test_normal_down_to_rejects_unknown_level():
    import pytest

    with pytest.raises(ValueError, match="allowed: C2"):
        layout.normal_down_to("C9")


def test_result_fields_are_the_engines():
    from cordtrial.isncsci import RESULT_KEYS

    assert set(layout.RESULT_FIELDS) == set(RESULT_KEYS)


# -- CSRF, credential cache (sessions and lockout: tests/store/test_sessions.py) ------------------


def test_csrf_matches():
    session = WebSession(1, 1, "active", "token-123")
    assert csrf_matches(session, "token-123")
    assert not csrf_matches(session, None) and not csrf_matches(session, "")
    assert not csrf_matches(session, "token-123x")


def test_credential_cache_expires_and_is_bound_to_the_stored_hash():
    clock = Clock()
    cache = CredentialCache("secret", ttl=10, clock=clock)
    cache.remember("u", "pw", "hash1")
    assert cache.hit("u", "pw", "hash1")
    assert not cache.hit("u", "other", "hash1")
    assert not cache.hit("u", "pw", "hash2")  # password changed: stored hash differs
    clock.now += 11
    assert not cache.hit("u", "pw", "hash1")


# -- charts, CSV, forms ------------------------------------------------------------------------


def test_line_chart_draws_points_and_empty_state():
    svg = line_chart(
        [Point(0, 0), Point(5, 3.1), Point(10, 7.2)],
        x_label="days",
        y_label="PD",
        title="Growth <curve>",
    )
    assert svg.count("<circle") == 3 and "Growth &lt;curve&gt;" in svg
    assert "no data yet" in line_chart([], x_label="x", y_label="y", title="t")


@given(st.lists(st.tuples(st.floats(0, 60), st.floats(0, 40)), min_size=1, max_size=20))
def test_chart_points_stay_inside_the_plot(raw):
    import re

    svg = line_chart(
        [Point(x, y) for x, y in sorted(raw)],
        x_label="x",
        y_label="y",
        title="t",
        width=560,
        height=300,
    )
    for cx, cy in re.findall(r'<circle cx="([-\d.]+)" cy="([-\d.]+)"', svg):
        assert 56 - 0.1 <= float(cx) <= 560 - 16 + 0.1
        assert 30 - 0.1 <= float(cy) <= 300 - 44 + 0.1


@given(st.text(max_size=30))
def test_csv_cells_never_start_a_formula(text):
    import csv
    import io

    out = to_csv([{"a": text}])
    [row] = list(csv.DictReader(io.StringIO(out, newline="")))
    assert row["a"][:1] not in ("=", "+", "-", "@", "\t", "\r")
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        assert row["a"] == "'" + text  # neutralised, content kept
    else:
        assert row["a"] == text


def test_parse_float_names_field_value_allowed():
    errors: dict[str, str] = {}
    assert parse_float("1e8", "cells", errors) == 1e8
    assert parse_float("nan", "cells", errors, allowed="a cell count") is None
    assert errors == {"cells": "'nan' not allowed: a cell count"}
    errors.clear()
    assert parse_float("", "x", errors, required=False) is None and not errors
    parse_float("150", "viability", errors, maximum=100, allowed="0-100 %")
    assert errors["viability"] == "'150' not allowed: 0-100 %"


def test_forms_read_through_the_api_models_with_their_words():
    good = {
        "passage_number": "2",
        "seeded_on": "2026-01-05",
        "harvested_on": "2026-01-10",
        "cells_seeded": "1e6",
        "cells_harvested": "2.5e7",
        "viability_pct": "93.5",
        "operator": " CPC operator ",
        "vessels": "",  # blank: the default
        "confluence_pct": "",
        "csrf_token": "x",  # not a model field: ignored
    }
    passage, errors = validate_form(PassageIn, good)
    assert errors == {}
    assert passage is not None
    assert (passage.vessels, passage.confluence_pct, passage.operator) == (1, None, "CPC operator")
    assert passage.cells_harvested == 2.5e7

    passage, errors = validate_form(
        PassageIn, {**good, "viability_pct": "150", "operator": "  ", "passage_number": "two"}
    )
    assert passage is None
    assert errors == {
        "viability_pct": "'150' not allowed: 0-100 %",
        "operator": "required: the operator's name",
        "passage_number": "'two' not allowed: a whole number 0-50",
    }
