"""JSON Schema (draft 2020-12) export of instrument definitions, for generated forms.

Standard keywords carry the rules (``enum``, ``minimum``/``maximum``, ``uniqueItems``,
``additionalProperties: false``) so any validator gives readable messages; ``x-`` annotations
carry what a form needs to render (option meanings, verification flags). No item is
``required``: a missing item is allowed and stays missing. ``null`` means "not assessed".
"""

from __future__ import annotations

from typing import Any

import jsonschema

from .definition import Instrument, Item, ItemKind

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _option_annotations(item: Item) -> list[dict[str, Any]]:
    return [
        {
            "value": o.value,
            "meaning": o.meaning,
            **({"points": o.score_points} if o.score_points is not None else {}),
            "verified": o.verified,
            "meaning_from_reference": o.meaning_from_reference,
            **({"exclusive": True} if o.exclusive else {}),
            **({"note": o.note} if o.note else {}),
        }
        for o in item.options
    ]


def item_schema(item: Item) -> dict[str, Any]:
    common: dict[str, Any] = {
        "title": f"{item.number}. {item.label}" if item.number[:1].isdigit() else item.label,
        "description": item.allowed_text() + (f". {item.note}" if item.note else ""),
        "x-number": item.number,
        "x-kind": item.kind.value,
        "x-verification": item.verification.value,
    }
    if item.kind is ItemKind.COUNT:
        body = {"type": ["integer", "null"], "minimum": item.minimum, "maximum": item.maximum}
        if item.unit:
            common["x-unit"] = item.unit
        return {**common, **body}
    common["x-options"] = _option_annotations(item)
    values = list(item.allowed_values)
    if item.kind is ItemKind.CHOICE:
        return {**common, "enum": [*values, None]}
    body = {
        "type": ["array", "null"],
        "items": {"enum": values},
        "minItems": 1,
        "uniqueItems": True,
    }
    exclusive = [o.value for o in item.options if o.exclusive]
    if exclusive:
        # An exclusive answer ("none", "unknown") must stand alone; "then: const" gives the
        # message "['none'] was expected", clearer than a length complaint.
        body["allOf"] = [
            {"if": {"type": "array", "contains": {"const": v}}, "then": {"const": [v]}}
            for v in exclusive
        ]
    return {**common, **body}


def json_schema(instrument: Instrument) -> dict[str, Any]:
    """The instrument's record schema, including the cross-item rules that carry a JSON Schema
    form (WISCI II self-selected <= maximum). ``Instrument.validate`` stays authoritative."""
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": f"urn:cordtrial:instrument:{instrument.id}",
        "title": instrument.name,
        "description": f"{instrument.description} Source: {instrument.source}",
        "type": "object",
        "properties": {item.id: item_schema(item) for item in instrument.items},
        "additionalProperties": False,
        "x-instrument": instrument.id,
        "x-definition-version": instrument.version_tag,
        "x-verification": instrument.verification.value,
        "x-parts": [
            {"name": p.name, "evidence": p.evidence.value, "source": p.source, "note": p.note}
            for p in instrument.parts
        ],
        "x-scores": [
            {
                "id": s.id,
                "label": s.label,
                "kind": s.kind.value,
                "items": list(s.item_ids),
                "minimum": s.minimum,
                "maximum": s.maximum,
                "higher_is_better": s.higher_is_better,
            }
            for s in instrument.scores
        ],
    }
    rule_schemas = [r.json_schema for r in instrument.record_rules if r.json_schema]
    if rule_schemas:
        schema["allOf"] = rule_schemas
    return schema


def schema_errors(instrument: Instrument, record: Any) -> list[str]:
    """Readable JSON Schema errors for a record ("item: message"), as a form would show them."""
    validator = jsonschema.Draft202012Validator(json_schema(instrument))
    messages = []
    for error in sorted(
        validator.iter_errors(record), key=lambda e: [str(p) for p in e.absolute_path]
    ):
        where = "/".join(str(p) for p in error.absolute_path) or "<record>"
        messages.append(f"{where}: {error.message}")
    return messages
