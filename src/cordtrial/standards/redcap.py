"""REDCap: a longitudinal project (events = visits) and its data, both directions.

Files: ``data_dictionary.csv`` (REDCap's data dictionary columns), ``events.csv``,
``instrument_event_mapping.csv``, ``repeating_instruments_events.csv`` and ``records.csv``
(REDCap's flat "raw" record export: one row per record, event and repeat instance). A site
loads the dictionary and the three event files into a new project, then imports the records.
:func:`read_redcap` reads the records (with the dictionary's form names) back into form records
for :mod:`.clinical_import`. ISNCSCI cells are text fields holding the RHI values as entered
("0*", "NT"), with the RHI key in the field annotation.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from cordtrial.instruments import INSTRUMENTS

from . import crf
from .trial import Trial

DICTIONARY_COLUMNS = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
)  # fmt: skip
SITE_FIELDS = (
    crf.Field("site", "Site code", required=True, note="cordtrial site code"),
    crf.Field("site_name", "Site name"),
)
MAX_BYTES = 200 * 1024 * 1024


def unique_event(event: str) -> str:
    return f"{event}_arm_1"


def safe_code(code: str) -> str:
    """A choice code REDCap accepts (letters, digits, underscores)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", code)


def _fields(form: crf.Form) -> tuple[crf.Field, ...]:
    return (*SITE_FIELDS, *form.fields) if form.name == "demographics" else form.fields


def _dictionary_row(form: crf.Form, f: crf.Field) -> dict[str, str]:
    row = dict.fromkeys(DICTIONARY_COLUMNS, "")
    row["Variable / Field Name"], row["Form Name"], row["Field Label"] = f.name, form.name, f.label
    kind, validation = "text", ""
    if f.type == "boolean":
        kind = "yesno"
    elif f.type in ("choice", "multi"):
        kind = "dropdown" if f.type == "choice" else "checkbox"
        row["Choices, Calculations, OR Slider Labels"] = " | ".join(
            f"{safe_code(c)}, {label.replace('|', '/')}" for c, label in f.choices
        )
    elif f.type == "date":
        validation = "date_ymd"
    elif f.type == "integer":
        validation = "integer"
    elif f.type == "float":
        validation = "number"
    row["Field Type"], row["Text Validation Type OR Show Slider Number"] = kind, validation
    notes = [f.note] if f.note else []
    annotations = []
    if f.derived:
        annotations.append("@READONLY")
        notes.append("computed by cordtrial")
    if f.cde:
        annotations.append(f"NINDS CDE {f.cde[0]} {f.cde[1]}")
    if f.store_key in crf.RHI_KEYS:
        annotations.append(f"RHI {f.store_key}")
    row["Field Note"], row["Field Annotation"] = "; ".join(notes), " ".join(annotations)
    row["Required Field?"] = "y" if f.required and not f.derived else ""
    row["Identifier?"] = "y" if f.identifying else ""
    return row


def dictionary_rows() -> list[dict[str, str]]:
    first = dict.fromkeys(DICTIONARY_COLUMNS, "")
    first.update(
        {
            "Variable / Field Name": "record_id",
            "Form Name": "demographics",
            "Field Type": "text",
            "Field Label": "Study code",
        }
    )
    return [first, *(_dictionary_row(form, f) for form in crf.FORMS for f in _fields(form))]


def _events_of(form: crf.Form) -> list[str]:
    if form.events == "enrolment":
        return [crf.ENROLMENT]
    if form.events == "adverse_events":
        return [crf.AE_EVENT]
    if form.events == "infusion":
        return ["infusion_day"]
    return [
        e
        for e in crf.EVENTS
        if e not in (crf.ENROLMENT, crf.AE_EVENT)
        and not (e == "unscheduled" and form.name == "visit_schedule")
    ]


def _csv(rows: list[dict], columns) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def record_rows(trial: Trial) -> tuple[list[str], list[dict[str, str]]]:
    """REDCap's raw flat export: (columns, rows)."""
    columns = [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
    ]
    for form in crf.FORMS:
        for f in _fields(form):
            columns += (
                [f"{f.name}___{safe_code(c)}" for c, _ in f.choices]
                if f.type == "multi"
                else [f.name]
            )
    sites = {s["code"]: s["name"] for s in trial.sites}
    rows: dict[tuple, dict[str, str]] = {}
    for rec in crf.form_records(trial):
        form = crf.FORM[rec.form]
        if rec.event in crf.REPEATING_EVENTS:
            key = (rec.subject, rec.event, "", str(rec.event_repeat))
        elif form.repeating:
            key = (rec.subject, rec.event, form.name, str(rec.form_repeat))
        else:
            key = (rec.subject, rec.event, "", "")
        row = rows.setdefault(
            key,
            {
                "record_id": rec.subject,
                "redcap_event_name": unique_event(rec.event),
                "redcap_repeat_instrument": key[2],
                "redcap_repeat_instance": key[3],
            },
        )
        values = dict(rec.values)
        if form.name == "demographics":
            values |= {"site": rec.site, "site_name": sites.get(rec.site, rec.site)}
        for f in _fields(form):
            value = values.get(f.name)
            if f.type == "multi":
                chosen = {str(v) for v in value or ()}
                for c, _ in f.choices:
                    row[f"{f.name}___{safe_code(c)}"] = (
                        ("1" if c in chosen else "0") if value else ""
                    )
            elif f.type == "choice":
                row[f.name] = safe_code(str(value)) if value not in (None, "") else ""
            else:
                row[f.name] = crf.to_text(f, value) or ""
    return columns, list(rows.values())


def write_redcap(trial: Trial, out: Path) -> list[Path]:
    files = {
        "data_dictionary.csv": _csv(dictionary_rows(), DICTIONARY_COLUMNS),
        "events.csv": _csv(
            [
                {
                    "event_name": crf.event_label(e),
                    "arm_num": "1",
                    "unique_event_name": unique_event(e),
                }
                for e in crf.EVENTS
            ],
            ("event_name", "arm_num", "unique_event_name"),
        ),
        "instrument_event_mapping.csv": _csv(
            [
                {"arm_num": "1", "unique_event_name": unique_event(e), "form": f.name}
                for f in crf.FORMS
                for e in _events_of(f)
            ],
            ("arm_num", "unique_event_name", "form"),
        ),
        "repeating_instruments_events.csv": _csv(
            [{"event_name": unique_event(e), "form_name": ""} for e in crf.REPEATING_EVENTS]
            + [
                {"event_name": unique_event(e), "form_name": f.name}
                for f in crf.FORMS
                if f.repeating
                for e in _events_of(f)
                if e not in crf.REPEATING_EVENTS
            ],
            ("event_name", "form_name"),
        ),
    }
    columns, rows = record_rows(trial)
    files["records.csv"] = _csv(rows, columns)
    paths = []
    for name, text in files.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


class RedcapFileError(ValueError):
    """The REDCap files cannot be read as a cordtrial project export."""


def read_redcap(records_csv: str | Path) -> tuple[dict[str, str], list[crf.FormRecord], list[str]]:
    """(sites, form records, problems) from a REDCap raw records CSV of a cordtrial project."""
    path = Path(records_csv)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise RedcapFileError(f"{path}: larger than {MAX_BYTES} bytes")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RedcapFileError(f"{path}: cannot read ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("record_id", "redcap_event_name") if c not in (reader.fieldnames or [])]
    if missing:
        raise RedcapFileError(
            f"{path}: header lacks {', '.join(missing)}; allowed: REDCap's raw record export"
        )
    events = {unique_event(e): e for e in crf.EVENTS}
    sites: dict[str, str] = {}
    records, errors = [], []
    for n, row in enumerate(reader, start=2):
        code, event = (
            (row.get("record_id") or "").strip(),
            events.get((row.get("redcap_event_name") or "").strip()),
        )
        where = f"line {n} (record {code})"
        if event is None:
            errors.append(
                f"{where}: redcap_event_name {row.get('redcap_event_name')!r}; allowed: {', '.join(events)}"
            )
            continue
        instrument, instance = (
            (row.get("redcap_repeat_instrument") or "").strip(),
            (row.get("redcap_repeat_instance") or "").strip(),
        )
        forms = (
            [crf.FORM[instrument]]
            if instrument in crf.FORM
            else [
                f
                for f in crf.FORMS
                if event in _events_of(f)
                and not (f.repeating and event not in crf.REPEATING_EVENTS)
            ]
        )
        if instrument and instrument not in crf.FORM:
            errors.append(
                f"{where}: redcap_repeat_instrument {instrument!r}; allowed: {', '.join(crf.FORM)}"
            )
            continue
        repeat = int(instance) if instance.isdigit() else 1
        for form in forms:
            values, site = _form_values(form, row, where, errors)
            if not values:
                continue
            if form.name == "demographics":
                sites[site or ""] = (row.get("site_name") or site or "").strip()
            rec = crf.FormRecord(
                code,
                site or "",
                event,
                form.name,
                values,
                repeat if event in crf.REPEATING_EVENTS else 1,
                repeat if instrument else 1,
            )
            records.append(rec)
    site_of = {r.subject: r.site for r in records if r.form == "demographics"}
    for r in records:
        r.site = site_of.get(r.subject, r.site)
    return sites, records, errors


def _form_values(
    form: crf.Form, row: dict, where: str, errors: list[str]
) -> tuple[dict, str | None]:
    inst = INSTRUMENTS.get(form.kind)
    values = {}
    for f in form.fields:
        if f.type == "multi":
            chosen = [
                c
                for c, _ in f.choices
                if (row.get(f"{f.name}___{safe_code(c)}") or "").strip() == "1"
            ]
            text = ",".join(chosen) or None
        elif f.type == "choice":
            raw = (row.get(f.name) or "").strip()
            text = next((c for c, _ in f.choices if safe_code(c) == raw), raw) or None
        else:
            text = row.get(f.name)
        try:
            value = crf.from_text(f, text, inst)
        except crf.FieldValueError as exc:
            errors.append(f"{where}, form {form.name}: {exc}")
            continue
        if value is not None:
            values[f.name] = value
    site = (row.get("site") or "").strip() if form.name == "demographics" else None
    return values, site
