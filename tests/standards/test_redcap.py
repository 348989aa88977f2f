"""REDCap: the data dictionary has REDCap's columns and names REDCap accepts, the records fit
the dictionary, and records read back into an empty store give the same clinical data."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from cordtrial.standards.clinical_import import import_records
from cordtrial.standards.redcap import DICTIONARY_COLUMNS, read_redcap, write_redcap
from cordtrial.standards.trial import load_trial
from cordtrial.store import db

from .conftest import importer
from .roundtrip import clinical_differences

# The columns of a REDCap data dictionary (../shared/reference/standards.md [V2]).
REFERENCE_COLUMNS = ["Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label", "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number", "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)", "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name", "Matrix Ranking?", "Field Annotation"]  # fmt: skip
NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


@pytest.fixture(scope="module")
def files(demo_trial, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("redcap")
    write_redcap(demo_trial, out)
    return out


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_dictionary_columns_and_field_names(files):
    with (files / "data_dictionary.csv").open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header == REFERENCE_COLUMNS == list(DICTIONARY_COLUMNS)
    rows = _rows(files / "data_dictionary.csv")
    names = [r["Variable / Field Name"] for r in rows]
    assert names[0] == "record_id" and len(names) == len(set(names))
    assert all(NAME.match(n) for n in names), [n for n in names if not NAME.match(n)]
    for r in rows:
        assert r["Field Type"] in {"text", "dropdown", "checkbox", "yesno"}
        if r["Field Type"] in ("dropdown", "checkbox"):
            codes = [
                c.split(",", 1)[0].strip()
                for c in r["Choices, Calculations, OR Slider Labels"].split("|")
            ]
            assert all(re.fullmatch(r"[A-Za-z0-9_]+", c) for c in codes), (
                r["Variable / Field Name"],
                codes,
            )
    annotations = " ".join(r["Field Annotation"] for r in rows)
    assert "RHI c5RightMotor" in annotations and "NINDS CDE C06007" in annotations
    assert "RHI assessed_on" not in annotations  # only the exam's own fields have RHI names


def test_records_fit_dictionary_and_events(files):
    fields = {r["Variable / Field Name"]: r for r in _rows(files / "data_dictionary.csv")}
    events = {r["unique_event_name"] for r in _rows(files / "events.csv")}
    mapping = {
        (r["unique_event_name"], r["form"]) for r in _rows(files / "instrument_event_mapping.csv")
    }
    rows = _rows(files / "records.csv")
    columns = list(rows[0])
    for col in columns[4:]:
        base = col.split("___")[0]
        assert base in fields, col
    for row in rows:
        assert row["redcap_event_name"] in events
        for col, value in row.items():
            if value and col in fields and col != "record_id":
                assert (row["redcap_event_name"], fields[col]["Form Name"]) in mapping, (
                    col,
                    row["redcap_event_name"],
                )
                if fields[col]["Text Validation Type OR Show Slider Number"] == "date_ymd":
                    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)


def test_records_round_trip_into_an_empty_store(files, demo_trial, empty_store):
    sites, records, problems = read_redcap(files / "records.csv")
    assert problems == []
    with db.session_scope(empty_store) as s:
        report = import_records(s, importer(s), sites, records, "records.csv")
        assert report.ok, report.summary()
    with db.session_scope(empty_store) as s:
        back = load_trial(s)
    assert clinical_differences(demo_trial, back) == []


def test_bad_redcap_value_is_reported(files, tmp_path):
    text = (files / "records.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    header = lines[0].split(",")
    first = next(i for i, line in enumerate(lines) if ",enrolment_arm_1,," in line)
    cells = next(csv.reader([lines[first]]))
    cells[header.index("age_at_injury")] = "old"
    buf = tmp_path / "records.csv"
    import io

    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    lines[first] = out.getvalue().rstrip("\n")
    buf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, _, problems = read_redcap(buf)
    assert any("age_at_injury: got 'old'; allowed: a whole number" in p for p in problems)
