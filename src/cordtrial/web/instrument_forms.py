"""Instrument forms generated from the instrument definitions (cordtrial.instruments).

The definitions are the single source of items, options and allowed values; this module only
decides how each item kind is shown and turns posted form fields back into a record.
"""

from __future__ import annotations

from dataclasses import dataclass

from cordtrial.instruments import (
    INSTRUMENTS,
    Instrument,
    ItemKind,
    ReviewFlag,
    definition_for,
    review_flags,
)
from cordtrial.instruments.readout import Readout, readout

from .errors import NotFound

FIELD_PREFIX = "item_"


@dataclass(frozen=True)
class FormSpec:
    kind: str
    instrument: Instrument

    @property
    def title(self) -> str:
        return self.instrument.short_name or self.instrument.name

    @property
    def items(self):
        return self.instrument.items


def form_spec(kind: str) -> FormSpec:
    if kind not in INSTRUMENTS:
        raise NotFound(f"no instrument {kind!r}; known: {', '.join(INSTRUMENTS)}")
    return FormSpec(kind, INSTRUMENTS[kind])


def field_name(item_id: str) -> str:
    return FIELD_PREFIX + item_id


def parse_instrument_form(spec: FormSpec, form, errors: dict[str, str]):
    """(record for the instrument, raw values for re-display). Blank items are left out:
    a missing item is missing, never 0. Value checks are the instrument's (via the store)."""
    data: dict[str, object] = {}
    raw: dict[str, object] = {}
    for item in spec.items:
        name = field_name(item.id)
        if item.kind is ItemKind.MULTI_CHOICE:
            picked = [str(v) for v in form.getlist(name) if str(v).strip()]
            raw[item.id] = picked
            if picked:
                data[item.id] = [_typed(item, v) for v in picked]
            continue
        text = str(form.get(name, "")).strip()
        raw[item.id] = text
        if text:
            data[item.id] = _typed(item, text)
    return data, raw


def _typed(item, text: str) -> object:
    # Integer-valued items get ints so the instrument compares like with like; anything that
    # is not a whole number is passed through as text and the instrument names the problem.
    if item.integer_valued:
        try:
            return int(text)
        except ValueError:
            return text
    return text


@dataclass(frozen=True)
class RecordView:
    """What a result page shows of a stored instrument record: the record read with the
    definition it was entered under, and whether a later correction touches it."""

    readout: Readout
    version_tag: str | None
    current_tag: str
    known_version: bool  # False: a version this release does not know (read with the current)
    flags: tuple[ReviewFlag, ...]

    @property
    def superseded(self) -> bool:
        return self.version_tag != self.current_tag


def record_view(kind: str, version_tag: str | None, data: dict, result: dict) -> RecordView:
    entered = definition_for(version_tag)
    current = INSTRUMENTS[kind]
    return RecordView(
        readout(entered or current, data or {}, result or {}),
        version_tag,
        current.version_tag,
        entered is not None,
        review_flags(version_tag, data or {}),
    )
