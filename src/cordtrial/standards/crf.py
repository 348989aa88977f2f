"""The clinical data as case report forms: forms, fields and events shared by ODM and REDCap.

One definition of the forms serves both formats and both directions: :func:`form_records`
turns a :class:`Trial` into form records, the ODM and REDCap writers serialise them, their
readers parse files back into form records, and :mod:`.clinical_import` stores them.

Field names are snake_case (REDCap needs lowercase names); ISNCSCI fields keep their RHI key
as an alias ("c5RightMotor" is ``c5_right_motor``). Derived fields (ISNCSCI classification,
instrument scores) are exported but recomputed by the engine on import, never trusted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from cordtrial.instruments import INSTRUMENTS, Instrument, ItemKind
from cordtrial.isncsci import CELL_KEYS, RESULT_KEYS
from cordtrial.store.models import AE_OUTCOMES, END_REASONS, RELATEDNESS, VISIT_CODES

from . import cde, terms
from .trial import Row, Trial

FieldType = Literal["text", "integer", "float", "date", "boolean", "choice", "multi"]
VAC_DAP = ("analContraction", "analSensation")
NON_KEY = ("rightLowestNonKeyMuscleWithMotorFunction", "leftLowestNonKeyMuscleWithMotorFunction")
RHI_INPUT = (*VAC_DAP, *CELL_KEYS, *NON_KEY)
RHI_KEYS = frozenset((*RHI_INPUT, *RESULT_KEYS))  # the exam's flat RHI names


def snake(key: str) -> str:
    """RHI camelCase key -> REDCap/ODM field name ("c5RightMotor" -> "c5_right_motor")."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: FieldType = "text"
    choices: tuple[tuple[str, str], ...] = ()
    key: str = ""  # the store key (RHI key, instrument item id, column); defaults to name
    derived: bool = False  # exported; recomputed on import
    identifying: bool = False  # exported only with identified=True
    required: bool = False
    note: str = ""
    cde: tuple[str, str] | None = None

    @property
    def store_key(self) -> str:
        return self.key or self.name


@dataclass(frozen=True)
class Form:
    name: str  # REDCap instrument name / ODM FormDef name
    label: str
    fields: tuple[Field, ...]
    events: Literal["enrolment", "visits", "adverse_events", "infusion"]
    repeating: bool = False
    kind: str = ""  # assessment kind for the assessment forms

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


ENROLMENT, AE_EVENT = "enrolment", "adverse_events"
EVENTS: tuple[str, ...] = (ENROLMENT, *VISIT_CODES, AE_EVENT)
REPEATING_EVENTS = ("unscheduled",)


def event_label(event: str) -> str:
    return {"enrolment": "Enrolment", "adverse_events": "Adverse events"}.get(
        event
    ) or terms.visit_label(event).title()


_YN = (("1", "Yes"), ("0", "No"))
_REL = tuple((r, r) for r in RELATEDNESS)


def _assessment_fields(prefix: str) -> tuple[Field, ...]:
    return (
        Field(
            f"{prefix}_date",
            "Date of assessment",
            "date",
            key="assessed_on",
            required=True,
            cde=cde.COLLECTION_DATETIME,
        ),
        Field(
            f"{prefix}_blinded",
            "Assessor blinded to treatment state",
            "boolean",
            key="blinded",
            required=True,
        ),
        Field(
            f"{prefix}_assessor",
            "Assessor",
            key="assessor_name",
            identifying=True,
            note="identified export only",
        ),
        Field(
            f"{prefix}_version",
            "Engine or instrument version that scored the record",
            key="engine_version",
            derived=True,
        ),
    )


def _isncsci_form() -> Form:
    cells = []
    for key in RHI_INPUT:
        parsed = terms.parse_cell(key)
        if parsed:
            level, side, kind = parsed
            label = f"{terms.NV_TESTS[kind][1]}, {level}, {side.lower()}"
        else:
            label = {
                "analContraction": "Voluntary anal contraction (VAC)",
                "analSensation": "Deep anal pressure (DAP)",
            }.get(key) or f"Lowest non-key muscle with motor function, {key[: key.index('L')]}"
        cells.append(Field(snake(key), label, key=key, note=f"RHI {key}"))
    results = [
        Field(
            snake(k),
            terms.RS_TESTS[k][1],
            key=k,
            derived=True,
            note=f"RHI {k}; classified by the engine",
            cde=cde.ISNCSCI_RESULTS.get(k),
        )
        for k in RESULT_KEYS
    ]
    return Form(
        "isncsci",
        "ISNCSCI examination",
        (*_assessment_fields("isncsci"), *cells, *results),
        "visits",
        True,
        "isncsci",
    )


def _instrument_form(inst: Instrument) -> Form:
    p = inst.id
    items = []
    for item in inst.items:
        if item.kind is ItemKind.COUNT:
            items.append(
                Field(
                    f"{p}_{item.id}",
                    f"{item.number}. {item.label}",
                    "integer",
                    key=item.id,
                    note=item.allowed_text(),
                )
            )
        else:
            kind = "multi" if item.kind is ItemKind.MULTI_CHOICE else "choice"
            choices = tuple((str(o.value), o.meaning) for o in item.options)
            items.append(
                Field(f"{p}_{item.id}", f"{item.number}. {item.label}", kind, choices, key=item.id)
            )
    # WISCI II reports each level as a score of the same name: the item field already holds it.
    scores = [
        Field(f"{p}_{s.id}", s.label, "integer", key=f"score:{s.id}", derived=True)
        for s in inst.scores
        if s.id not in inst.item_ids
    ]
    derived = [
        Field(f"{p}_{d.id}", d.label, "text", key=f"derived:{d.id}", derived=True)
        for d in inst.derived_fields
    ]
    return Form(
        p, inst.name, (*_assessment_fields(p), *items, *scores, *derived), "visits", True, p
    )


FORMS: tuple[Form, ...] = (
    Form("demographics", "Demographics and site", (
        Field("sex", "Sex", "choice", (("F", "Female"), ("M", "Male"))),
        Field("age_at_injury", "Age at injury (years)", "integer", required=True),
        Field("synthetic", "Synthetic (demo) record", "boolean", required=True),
        Field("status", "Patient status (derived by cordtrial)", derived=True, note="re-derived on import"),
        # the end of the patient's participation (issue 13); imported last, after every record
        Field("ended_on", "End of study: date", "date"),
        Field("end_reason", "End of study: reason", "choice", tuple((r, r.replace("_", " ")) for r in END_REASONS)),
        Field("end_detail", "End of study: details"),
    ), ENROLMENT),
    Form("injury", "Spinal cord injury", (
        Field("injury_date", "Date of injury", "date", required=True),
        Field("mechanism", "Mechanism of injury", required=True),
        Field("non_penetrating", "Non-penetrating injury", "boolean", required=True),
        Field("level", "Level of injury (C1-S5)", required=True),
    ), ENROLMENT),
    Form("eligibility", "Eligibility", (
        Field("elig_date", "Date assessed", "date", key="assessed_on", required=True),
        Field("elig_criteria", "Criteria met (JSON: criterion -> true/false)", key="criteria", required=True),
        Field("elig_eligible", "Eligible (all criteria met)", "boolean", key="eligible", derived=True),
    ), ENROLMENT, True),
    Form("consent", "Informed consent", (
        Field("consent_date", "Date of consent", "date", required=True),
        Field("consent_form_version", "Consent form version", key="form_version", required=True),
        Field("consent_withdrawn_on", "Date consent withdrawn", "date", key="withdrawn_on"),
    ), ENROLMENT, True),
    Form("visit_schedule", "Visit schedule", (
        Field("visit_target_date", "Target date", "date", key="target_date", required=True),
        Field("visit_window_start", "Window start", "date", key="window_start", required=True),
        Field("visit_window_end", "Window end", "date", key="window_end", required=True),
    ), "visits"),
    _isncsci_form(),
    *(_instrument_form(i) for i in INSTRUMENTS.values()),
    Form("infusion", "Infusion (export only)", (
        Field("inf_number", "Infusion number", "integer", key="infusion_number"),
        Field("inf_date", "Date of infusion", "date", key="infused_on"),
        Field("inf_lot", "Lot number", key="lot_number"),
        Field("inf_cells_total", "Cells infused (total)", "float", key="cells_total"),
        Field("inf_cells_per_kg", "Cells per kg body weight", "float", key="cells_per_kg"),
        Field("inf_weight_kg", "Body weight (kg)", "float", key="weight_kg"),
        Field("inf_dilution_factor", "Dilution factor", "float", key="dilution_factor"),
        Field("inf_rate", "Infusion rate (mL/min)", "float", key="rate_ml_per_min"),
    ), "infusion", True),
    Form("adverse_event", "Adverse event", (
        Field("ae_term", "Term", key="term", required=True),
        Field("ae_grade_scale", "Grading scale", "choice", (("CTCAE v5.0", "CTCAE v5.0"), ("protocol", "Protocol")), key="grade_scale", required=True),
        Field("ae_grade", "Grade (1-5)", "integer", key="grade", required=True),
        Field("ae_serious", "Serious", "boolean", key="serious", required=True),
        Field("ae_related_product", "Relatedness to the cell product", "choice", _REL, key="related_product", required=True),
        Field("ae_related_harvest", "Relatedness to the marrow harvest", "choice", _REL, key="related_harvest", required=True),
        Field("ae_related_blood_draw", "Relatedness to the blood draw", "choice", _REL, key="related_blood_draw", required=True),
        Field("ae_related_infusion", "Relatedness to the infusion procedure", "choice", _REL, key="related_infusion", required=True),
        Field("ae_expected", "Expected per protocol", "boolean", key="expected", required=True),
        Field("ae_onset_date", "Onset date", "date", key="onset_date", required=True),
        Field("ae_resolution_date", "Resolution date", "date", key="resolution_date"),
        Field("ae_outcome", "Outcome", "choice", tuple((o, o) for o in AE_OUTCOMES), key="outcome"),
    ), AE_EVENT, True),
)  # fmt: skip
FORM = {f.name: f for f in FORMS}
IMPORTED_FORMS = tuple(f.name for f in FORMS if f.name != "infusion")


@dataclass
class FormRecord:
    """One filled form of one subject at one event (and repeat)."""

    subject: str  # study code
    site: str  # site code
    event: str
    form: str
    values: dict[str, Any] = field(default_factory=dict)  # field name -> typed value
    event_repeat: int = 1
    form_repeat: int = 1


def _values(form: Form, row: Row, identified: bool) -> dict[str, Any]:
    out = {}
    for f in form.fields:
        if f.identifying and not identified:
            continue
        out[f.name] = row.get(f.store_key)
    return out


def form_records(trial: Trial) -> list[FormRecord]:
    """Every filled form of every patient, in a stable order."""
    out: list[FormRecord] = []
    for p in trial.patients:

        def rec(event, form, values, event_repeat=1, form_repeat=1, p=p):
            out.append(
                FormRecord(
                    p["study_code"], p["site_code"], event, form, values, event_repeat, form_repeat
                )
            )

        rec(ENROLMENT, "demographics", _values(FORM["demographics"], p, True))
        inj = trial.injuries.get(p["id"])
        if inj:
            rec(ENROLMENT, "injury", _values(FORM["injury"], inj, True))
        for n, e in enumerate(trial.rows("eligibility", p), start=1):
            rec(ENROLMENT, "eligibility", _values(FORM["eligibility"], e, True), form_repeat=n)
        for n, c in enumerate(trial.rows("consents", p), start=1):
            rec(ENROLMENT, "consent", _values(FORM["consent"], c, True), form_repeat=n)
        for v in trial.rows("visits", p):
            rec(v["code"], "visit_schedule", _values(FORM["visit_schedule"], v, True))
        unscheduled = sorted(
            {
                a["assessed_on"]
                for a in trial.rows("assessments", p)
                if a["visit_code"] == "unscheduled"
            }
        )
        counts: dict[tuple[str, int, str], int] = {}
        for a in trial.rows("assessments", p):
            event_repeat = (
                unscheduled.index(a["assessed_on"]) + 1 if a["visit_code"] == "unscheduled" else 1
            )
            key = (a["visit_code"], event_repeat, a["kind"])
            counts[key] = counts.get(key, 0) + 1
            rec(
                a["visit_code"],
                a["kind"],
                assessment_values(FORM[a["kind"]], a, trial.identified),
                event_repeat,
                counts[key],
            )
        for n, i in enumerate(trial.rows("infusions", p), start=1):
            rec("infusion_day", "infusion", _values(FORM["infusion"], i, True), form_repeat=n)
        for n, e in enumerate(trial.rows("adverse_events", p), start=1):
            rec(AE_EVENT, "adverse_event", _values(FORM["adverse_event"], e, True), form_repeat=n)
    return out


def assessment_values(form: Form, a: Row, identified: bool) -> dict[str, Any]:
    data, result = a["data"] or {}, a["result"] or {}
    out = {}
    for f in form.fields:
        if f.identifying and not identified:
            continue
        key = f.store_key
        if key in ("assessed_on", "blinded", "assessor_name", "engine_version"):
            out[f.name] = a.get(key)
        elif key.startswith("score:"):
            sid = key[6:]
            out[f.name] = (
                result.get("total") if sid == "total" else (result.get("scores") or {}).get(sid)
            )
        elif key.startswith("derived:"):
            value = (result.get("derived") or {}).get(key[8:])
            out[f.name] = ("yes" if value else "no") if isinstance(value, bool) else value
        elif f.derived:
            out[f.name] = result.get(key)
        else:
            out[f.name] = data.get(key)
    return out


def to_text(f: Field, value: Any) -> str | None:
    """A typed value as the text ODM and REDCap carry; None when missing."""
    import json

    if value is None or value == "":
        return None
    if f.type == "boolean":
        return "1" if value else "0"
    if f.type == "multi":
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


class FieldValueError(ValueError):
    def __init__(self, field: str, value: Any, allowed: str):
        super().__init__(f"{field}: got {value!r}; allowed: {allowed}")
        self.field, self.value, self.allowed = field, value, allowed


def from_text(f: Field, text: str | None, instrument: Instrument | None = None) -> Any:
    """Text from a file -> the typed value cordtrial stores; FieldValueError when it cannot be."""
    import json

    if text is None or text.strip() == "":
        return None
    text = text.strip()
    try:
        if f.type == "boolean":
            if text.lower() in ("1", "true", "yes"):
                return True
            if text.lower() in ("0", "false", "no"):
                return False
            raise ValueError
        if f.type == "integer":
            return int(text)
        if f.type == "float":
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            return value
        if f.type == "date":
            return date.fromisoformat(text)
    except ValueError:
        allowed = {
            "boolean": "1/0, true/false or yes/no",
            "integer": "a whole number",
            "float": "a finite number",
            "date": "a date YYYY-MM-DD",
        }[f.type]
        raise FieldValueError(f.name, text, allowed) from None
    if f.store_key == "criteria":
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise FieldValueError(
                f.name, text, "a JSON object of criterion -> true/false"
            ) from None
        return value
    if instrument is not None and f.type in ("choice", "multi"):
        item = instrument.item(f.store_key)
        parts = [p.strip() for p in text.split(",")] if f.type == "multi" else [text]
        typed = [int(p) if item.integer_valued and re.fullmatch(r"-?\d+", p) else p for p in parts]
        return typed if f.type == "multi" else typed[0]
    return text
