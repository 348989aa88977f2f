"""ODM 1.3.2: schema-valid (xmlschema, ODM XSD), and a round trip into an empty store that
gives back the same clinical data, field by field."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
import xmlschema

from cordtrial.standards.clinical_import import NOT_EXPORTED, import_records
from cordtrial.standards.odm import write_odm
from cordtrial.standards.odm_read import OdmFileError, odm_schema_path, read_odm
from cordtrial.standards.trial import load_trial
from cordtrial.store import db

from .conftest import importer
from .roundtrip import clinical_differences


@pytest.fixture(scope="module")
def odm_file(demo_trial, tmp_path_factory) -> Path:
    return write_odm(demo_trial, tmp_path_factory.mktemp("odm"))


@pytest.fixture(scope="module")
def small_odm(demo_trial, tmp_path_factory) -> Path:
    """One subject of the demo trial: enough for the refusal tests, quicker to import."""
    first = demo_trial.patients[0]
    sites = [s for s in demo_trial.sites if s["code"] == first["site_code"]]
    return write_odm(
        replace(demo_trial, patients=[first], sites=sites), tmp_path_factory.mktemp("small")
    )


def _import(url, path) -> tuple:
    content = read_odm(path)
    assert content.errors == []
    with db.session_scope(url) as s:
        report = import_records(s, importer(s), content.sites, content.records, str(path))
        if not report.ok:
            s.rollback()
    return report


def test_odm_valid_against_the_odm_1_3_2_schema(odm_file):
    schema = xmlschema.XMLSchema(odm_schema_path())
    errors = [str(e)[:300] for e in schema.iter_errors(str(odm_file))]
    assert errors == []


def test_round_trip_into_an_empty_store(odm_file, demo_trial, empty_store):
    report = _import(empty_store, odm_file)
    assert report.ok, report.summary()
    assert report.subjects == len(demo_trial.patients)
    infused = sum(1 for p in demo_trial.patients if demo_trial.rows("infusions", p))
    assert report.skipped == {"infusion": infused}
    with db.session_scope(empty_store) as s:
        back = load_trial(s)
    assert clinical_differences(demo_trial, back) == []
    with db.session_scope(empty_store) as s:
        named = load_trial(s, identified=True)
    names = {a["assessor_name"] for p in named.patients for a in named.rows("assessments", p)}
    assert names == {NOT_EXPORTED}  # de-identified: assessor names were not in the file


def test_identified_round_trip_keeps_assessor_names(demo_url, empty_store, tmp_path):
    with db.session_scope(demo_url) as s:
        trial = load_trial(s, identified=True)
    path = write_odm(trial, tmp_path)
    assert _import(empty_store, path).ok
    with db.session_scope(empty_store) as s:
        back = load_trial(s, identified=True)
    assert clinical_differences(trial, back, assessor_names=True) == []


def test_import_refuses_patients_already_in_the_store(small_odm, empty_store):
    assert _import(empty_store, small_odm).ok
    report = _import(empty_store, small_odm)
    assert not report.ok
    assert "study code already in the store" in report.errors[0]


def test_bad_value_rejects_the_file_naming_the_field(small_odm, tmp_path):
    text = small_odm.read_text()
    bad = tmp_path / "bad.xml"
    bad.write_text(
        text.replace(
            'ItemOID="IT.DEMOGRAPHICS.AGE_AT_INJURY" Value="',
            'ItemOID="IT.DEMOGRAPHICS.AGE_AT_INJURY" Value="x',
            1,
        )
    )
    content = read_odm(bad)
    assert any("age_at_injury: got 'x" in e and "a whole number" in e for e in content.errors)


def test_invalid_exam_in_file_is_refused_and_nothing_stored(small_odm, tmp_path, empty_store):
    text = small_odm.read_text()
    bad = tmp_path / "bad_exam.xml"
    bad.write_text(
        text.replace(
            'ItemOID="IT.ISNCSCI.C5_RIGHT_MOTOR" Value="',
            'ItemOID="IT.ISNCSCI.C5_RIGHT_MOTOR" Value="9',
            1,
        )
    )
    report = _import(empty_store, bad)
    assert not report.ok and "c5RightMotor" in report.errors[0]
    with db.session_scope(empty_store) as s:
        assert load_trial(s).patients == []


def test_not_odm_and_entities_are_refused(tmp_path):
    plain = tmp_path / "plain.xml"
    plain.write_text("<root/>")
    with pytest.raises(OdmFileError, match="not valid ODM 1.3.2"):
        read_odm(plain)
    bomb = tmp_path / "entity.xml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><r>&e;</r>'
    )
    with pytest.raises(OdmFileError):
        read_odm(bomb)
    broken = tmp_path / "broken.xml"
    broken.write_text("<ODM")
    with pytest.raises(OdmFileError, match="not readable XML"):
        read_odm(broken)
    assert not os.path.exists(tmp_path / "nothing")
