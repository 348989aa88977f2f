"""The protocol file: what differs between trials (release limits, dose limits, infusion count,
visit windows). TOML, validated on load; errors name the file, the field, the value and what is
allowed. The shipped ``protocols/approved-label.toml`` follows the approved product's label.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .models import ASSESSMENT_KINDS, VISIT_CODES

PROTOCOLS = Path(__file__).parent / "protocols"
DEFAULT_PROTOCOL = PROTOCOLS / "approved-label.toml"
ENV_VAR = "CORDTRIAL_PROTOCOL"


class ProtocolError(ValueError):
    """The protocol file cannot be used."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReleaseSpec(_Strict):
    """One release test and its acceptance limit: numeric (min and/or max) or an expected text."""

    code: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    expected: str | None = None
    required: bool = True
    verified: bool
    source: str

    @model_validator(mode="after")
    def _one_kind(self) -> ReleaseSpec:
        numeric = self.min is not None or self.max is not None
        if numeric == (self.expected is not None):
            raise ValueError("give either a numeric limit (min and/or max) or an expected result")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    @property
    def numeric(self) -> bool:
        return self.expected is None

    def describe(self) -> str:
        if not self.numeric:
            return f"{self.expected}"
        unit = f" {self.unit}" if self.unit else ""
        parts = []
        if self.min is not None:
            parts.append(f">= {self.min:g}{unit}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}{unit}")
        return " and ".join(parts)

    def passes(self, value: float | None, text: str | None) -> bool:
        if not self.numeric:
            return text is not None and text.strip().lower() == self.expected.strip().lower()
        if value is None:
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


class VisitWindow(_Strict):
    code: Literal[VISIT_CODES[:-1]]  # every protocol visit except "unscheduled"
    anchor: Literal["injury", "infusion"]
    day: int
    minus: int = Field(ge=0)
    plus: int = Field(ge=0)
    verified: bool
    source: str
    # The forms expected at this visit (the schedule of assessments; the casebook's cells).
    forms: tuple[Literal[ASSESSMENT_KINDS], ...] = ("isncsci",)  # type: ignore[valid-type]

    def window(self, injury_date: date, infusion_date: date) -> tuple[date, date, date]:
        """(target, window start, window end)."""
        base = injury_date if self.anchor == "injury" else infusion_date
        target = base + timedelta(days=self.day)
        return target, target - timedelta(days=self.minus), target + timedelta(days=self.plus)


class Criterion(_Strict):
    """One eligibility criterion of the checklist the investigator signs. An inclusion
    criterion must be met, an exclusion criterion must not apply. The optional limits let the
    store refuse an answer the patient's records contradict on the assessment date."""

    code: str = Field(pattern=r"^[a-z0-9_]+$")
    text: str = Field(min_length=1)
    kind: Literal["inclusion", "exclusion"]
    max_days_since_injury: int | None = Field(default=None, ge=0)
    min_age: int | None = Field(default=None, ge=0, le=120)
    max_age: int | None = Field(default=None, ge=0, le=120)
    levels: list[str] | None = None  # injury level prefixes, e.g. ["C"]: cervical
    ais: list[Literal["A", "B", "C", "D", "E"]] | None = None  # latest exam's AIS grade
    verified: bool
    source: str


class RawMaterial(_Strict):
    """Blood draws for autologous serum and the bone-marrow harvest (cell-product.md 2-3)."""

    blood_draws: int = Field(ge=1, le=10)  # how many draws the serum is prepared from
    blood_draw_days: tuple[int, int]  # (first, last) day after injury; outside: a deviation
    max_blood_volume_ml: float = Field(gt=0, le=1000)  # per draw
    max_days_injury_to_harvest: int | None = Field(default=None, ge=0)
    max_harvest_volume_ml: float = Field(gt=0, le=1000)
    verified: bool
    source: str

    @model_validator(mode="after")
    def _ordered(self) -> RawMaterial:
        if self.blood_draw_days[0] > self.blood_draw_days[1]:
            raise ValueError("blood_draw_days: first day is after the last")
        return self


class DoseLimits(_Strict):
    min_cells_total: float = Field(gt=0)
    max_cells_total: float = Field(gt=0)
    max_cells_per_kg: float = Field(gt=0)
    min_dilution_factor: float = Field(ge=1)
    min_rate_ml_per_min: float = Field(gt=0)
    max_rate_ml_per_min: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> DoseLimits:
        if self.min_cells_total > self.max_cells_total:
            raise ValueError("min_cells_total is above max_cells_total")
        if self.min_rate_ml_per_min > self.max_rate_ml_per_min:
            raise ValueError("min_rate_ml_per_min is above max_rate_ml_per_min")
        return self


class Protocol(_Strict):
    id: str
    title: str
    source: str
    product: str = "Autologous bone-marrow mesenchymal stem cells"  # name on the lot label
    max_infusions: int = Field(ge=1, le=20)
    max_days_injury_to_infusion: int | None = Field(default=None, ge=1)
    lot_shelf_life_days: int = Field(ge=1)
    expected_adverse_events: list[str] = []
    dose: DoseLimits
    release_tests: list[ReleaseSpec] = Field(min_length=1)
    visits: list[VisitWindow] = Field(min_length=1)
    eligibility: list[Criterion] = []
    raw_material: RawMaterial | None = None
    # Forms entered twice by different people and reconciled by a third (docs/web.md).
    double_data_entry: tuple[Literal["isncsci"], ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> Protocol:
        for name, codes in (
            ("release_tests", [t.code for t in self.release_tests]),
            ("visits", [v.code for v in self.visits]),
            ("eligibility", [c.code for c in self.eligibility]),
        ):
            dup = {c for c in codes if codes.count(c) > 1}
            if dup:
                raise ValueError(f"{name}: duplicate code(s) {sorted(dup)}")
        return self

    def release_spec(self, code: str) -> ReleaseSpec | None:
        return next((t for t in self.release_tests if t.code == code), None)

    def visit(self, code: str) -> VisitWindow | None:
        return next((v for v in self.visits if v.code == code), None)

    def requires_double_entry(self, form: str) -> bool:
        return form in self.double_data_entry

    def is_expected(self, term: str) -> bool:
        return term.strip().lower() in {t.lower() for t in self.expected_adverse_events}

    def criterion(self, code: str) -> Criterion | None:
        return next((c for c in self.eligibility if c.code == code), None)


def load_protocol(path: str | Path | None = None) -> Protocol:
    """Load and validate a protocol file (default: ``CORDTRIAL_PROTOCOL`` or the label file)."""
    path = Path(path or os.environ.get(ENV_VAR) or DEFAULT_PROTOCOL)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError(f"protocol file {path} not found") from None
    return parse_protocol(text, f"protocol file {path}")


def parse_protocol(text: str, what: str = "protocol") -> Protocol:
    """A protocol from TOML text; ``ProtocolError`` names each field, value and rule."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(f"{what}: not valid TOML ({exc})") from None
    return validate_protocol(raw, what)


def validate_protocol(raw: object, what: str = "protocol") -> Protocol:
    try:
        return Protocol.model_validate(raw)
    except ValidationError as exc:
        lines = [f"  {loc}: {msg}" for loc, msg in protocol_errors(exc)]
        raise ProtocolError(f"{what} is invalid:\n" + "\n".join(lines)) from None


def protocol_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """(field path, what is wrong and the value given) for each error of a protocol."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        value = err.get("input")
        shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
        out.append((loc, f"{err['msg']}{shown}"))
    return out


def to_toml(protocol: Protocol) -> str:
    """The protocol as TOML text (what the protocol page edits); parse_protocol reads it back."""
    data = protocol.model_dump(mode="json", exclude_none=True)
    lines: list[str] = []
    tables: list[tuple[str, dict]] = []
    arrays: list[tuple[str, list[dict]]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            arrays.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, table in tables:
        lines += ["", f"[{key}]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    for key, rows in arrays:
        for row in rows:
            lines += ["", f"[[{key}]]"] + [f"{k} = {_toml_value(v)}" for k, v in row.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def default_protocol() -> Protocol:
    """The protocol named by ``CORDTRIAL_PROTOCOL``, else the shipped label protocol."""
    return load_protocol()
