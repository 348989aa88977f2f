"""SDTM from the demo trial, read back or validated by tools other than the writers:
pandas' own XPORT reader, jsonschema with the official Dataset-JSON schema, and xmlschema with
the Define-XML 2.1 XSD."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import jsonschema
import pandas as pd
import pyreadstat
import pytest
import xmlschema

from cordtrial.standards import sdtm_findings, terms
from cordtrial.standards.datasetjson import write_dataset_json
from cordtrial.standards.define import write_define
from cordtrial.standards.odmns import DEF_NS, ODM_NS
from cordtrial.standards.sdtm import sdtm_datasets
from cordtrial.standards.tables import study_day
from cordtrial.standards.xpt import write_xpt

# pandas reads some IBM zeros as 5.397605e-79 (pandas-dev/pandas#50670); pyreadstat writes zero
# as all-zero bytes, so anything that small is zero.
IBM_ZERO = 1e-70


@pytest.fixture(scope="module")
def datasets(demo_trial):
    return {ds.name: ds for ds in sdtm_datasets(demo_trial)}


@pytest.fixture(scope="module")
def written(datasets, demo_trial, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sdtm")
    (out / "json").mkdir()
    for ds in datasets.values():
        write_xpt(ds, out)
        write_dataset_json(ds, demo_trial, out / "json")
    write_define(list(datasets.values()), demo_trial, out)
    return out


def test_domains_present(datasets):
    expected = {
        "TS",
        "TE",
        "TA",
        "TV",
        "DM",
        "SUPPDM",
        "MH",
        "SUPPMH",
        "DS",
        "SV",
        "EX",
        "SUPPEX",
        "VS",
        "AE",
        "SUPPAE",
        "NV",
        "RS",
        "QS",
        "BE",
        "BS",
    }
    assert expected == set(datasets)
    for name in expected - {"TS", "TE", "TA", "TV"}:
        assert datasets[name].rows, f"{name} is empty for the demo trial"


def test_xpt_v5_read_back_by_pandas(datasets, written):
    for ds in datasets.values():
        df = pd.read_sas(written / f"{ds.name.lower()}.xpt", format="xport", encoding="utf-8")
        assert list(df.columns) == [v.name for v in ds.variables]
        assert len(df) == len(ds.rows)
        for var in ds.variables:
            got = df[var.name].tolist()
            want = [r.get(var.name) for r in ds.rows]
            if var.numeric:
                got = [0.0 if abs(x) < IBM_ZERO else x for x in got]
                for g, w in zip(got, want, strict=True):
                    assert (w is None and math.isnan(g)) or g == pytest.approx(
                        float(w), rel=1e-12
                    ), (ds.name, var.name)
            else:
                assert got == [("" if w is None else str(w)) for w in want], (ds.name, var.name)
        _, meta = pyreadstat.read_xport(str(written / f"{ds.name.lower()}.xpt"), metadataonly=True)
        assert all(len(n) <= 8 for n in meta.column_names)
        assert all(len(label.encode()) <= 40 for label in meta.column_labels)


def test_dataset_json_valid_against_official_schema(datasets, written, dataset_json_schema):
    validator = jsonschema.validators.validator_for(dataset_json_schema)(dataset_json_schema)
    for ds in datasets.values():
        doc = json.loads((written / "json" / f"{ds.name.lower()}.json").read_text())
        errors = [e.message for e in validator.iter_errors(doc)]
        assert not errors, (ds.name, errors[:3])
        assert doc["records"] == len(doc["rows"]) == len(ds.rows)
        assert [c["name"] for c in doc["columns"]] == [v.name for v in ds.variables]


def test_define_xml_valid_and_describes_every_dataset_and_variable(datasets, written):
    import odmlib

    xsd = Path(odmlib.__file__).parent / "schemas" / "define" / "2.1" / "define2-1-0.xsd"
    schema = xmlschema.XMLSchema(str(xsd))
    errors = [str(e)[:300] for e in schema.iter_errors(str(written / "define.xml"))]
    assert not errors, errors[:2]
    root = ET.parse(written / "define.xml").getroot()
    ns = {"odm": ODM_NS, "def": DEF_NS}
    groups = {g.get("Name"): g for g in root.iter(f"{{{ODM_NS}}}ItemGroupDef")}
    assert set(groups) == set(datasets)
    items = {i.get("OID"): i for i in root.iter(f"{{{ODM_NS}}}ItemDef")}
    codelists = {c.get("OID"): c for c in root.iter(f"{{{ODM_NS}}}CodeList")}
    for name, ds in datasets.items():
        refs = [r.get("ItemOID") for r in groups[name].findall("odm:ItemRef", ns)]
        assert refs == [f"IT.{name}.{v.name}" for v in ds.variables]
        leaf = groups[name].find("def:leaf", ns)
        assert (written / leaf.get("{http://www.w3.org/1999/xlink}href")).exists()
        for var in ds.variables:
            item = items[f"IT.{name}.{var.name}"]
            assert item.find("odm:Description/odm:TranslatedText", ns).text == var.label
            assert item.find("def:Origin", ns).get("Type") == var.origin
            if var.codelist is not None:
                cl = codelists[item.find("odm:CodeListRef", ns).get("CodeListOID")]
                allowed = {c.get("CodedValue") for c in cl.findall("odm:CodeListItem", ns)}
                used = {str(r.get(var.name)) for r in ds.rows if r.get(var.name) not in (None, "")}
                assert used <= allowed, (name, var.name, used - allowed)


def test_define_carries_nindscde_ids(written):
    text = (written / "define.xml").read_text()
    for element in ("C06007", "C06006", "C19247", "C06005"):
        assert f'Context="NINDS CDE" Name="{element}' in text


def test_study_day_has_no_day_zero():
    ref = date(2025, 1, 10)
    assert study_day(ref, ref) == 1
    assert study_day(date(2025, 1, 9), ref) == -1
    assert study_day(date(2025, 1, 11), ref) == 2
    assert study_day(None, ref) is None


def test_dm_one_row_per_subject_and_synthetic_flag(datasets, demo_trial):
    dm = datasets["DM"]
    assert len({r["USUBJID"] for r in dm.rows}) == len(dm.rows) == len(demo_trial.patients)
    synth = {
        r["USUBJID"] for r in datasets["SUPPDM"].rows if r["QNAM"] == "SYNTHFL" and r["QVAL"] == "Y"
    }
    assert synth == {r["USUBJID"] for r in dm.rows}  # the demo trial is synthetic throughout
    for r in dm.rows:  # the demo has patients not infused yet (issue 13: every stage)
        if r["ACTARMCD"] == "MSCIV":
            assert r["RFSTDTC"] and r["ARMNRS"] == ""
        else:
            assert r["ARMNRS"] and r["ACTARMCD"] == ""
    assert sum(r["ACTARMCD"] == "MSCIV" for r in dm.rows) >= 13


def test_ex_matches_infusions(datasets, demo_trial):
    infusions = {
        (p["study_code"], i["lot_number"]): i
        for p in demo_trial.patients
        for i in demo_trial.rows("infusions", p)
    }
    assert len(datasets["EX"].rows) == len(infusions)
    for r in datasets["EX"].rows:
        inf = infusions[(r["USUBJID"].split(f"{demo_trial.study_id}-", 1)[1], r["EXLOT"])]
        assert r["EXDOSE"] == pytest.approx(inf["cells_total"] / 1e6)
        assert r["EXSTDY"] == 1  # the infusion is study day 1
    perkg = [float(r["QVAL"]) for r in datasets["SUPPEX"].rows if r["QNAM"] == "CELLSKG"]
    assert max(perkg) <= demo_trial.protocol.dose.max_cells_per_kg / 1e6


def test_ae_meddra_fields_present_and_empty(datasets, demo_trial):
    ae = datasets["AE"]
    meddra = (
        "AEDECOD",
        "AELLT",
        "AELLTCD",
        "AEPTCD",
        "AEHLT",
        "AEHLTCD",
        "AEHLGT",
        "AEHLGTCD",
        "AEBODSYS",
        "AEBDSYCD",
        "AESOC",
        "AESOCCD",
    )
    names = [v.name for v in ae.variables]
    assert all(m in names for m in meddra)
    assert all(r[m] in (None, "") for r in ae.rows for m in meddra)
    n = sum(len(demo_trial.rows("adverse_events", p)) for p in demo_trial.patients)
    assert len(ae.rows) == n
    assert {r["AEREL"] for r in ae.rows} <= set(terms.AEREL.values())
    assert {r["AEOUT"] for r in ae.rows} <= set(terms.AEOUT.values()) | {""}


def test_isncsci_cells_and_results(datasets, demo_trial):
    exams = [
        a
        for p in demo_trial.patients
        for a in demo_trial.rows("assessments", p)
        if a["kind"] == "isncsci"
    ]
    rs, nv = datasets["RS"], datasets["NV"]
    assert len(rs.rows) == 25 * len(exams)
    assert len(nv.rows) >= 134 * len(exams)  # 132 cells + VAC + DAP
    first = exams[0]
    code = next(p["study_code"] for p in demo_trial.patients if p["id"] == first["patient_id"])
    mine = [
        r
        for r in rs.rows
        if r["USUBJID"].endswith(code) and r["RSDTC"] == first["assessed_on"].isoformat()
    ]
    assert {r["RSTESTCD"]: r["RSORRES"] for r in mine}["AIS"] == first["result"][
        "asiaImpairmentScale"
    ]
    c5 = next(
        r
        for r in nv.rows
        if r["USUBJID"].endswith(code)
        and r["NVDTC"] == first["assessed_on"].isoformat()
        and r["NVTESTCD"] == "MOTOR"
        and r["NVLOC"] == "C5"
        and r["NVLAT"] == "RIGHT"
    )
    assert c5["NVORRES"] == first["data"]["c5RightMotor"]


def test_qs_codes_short_unique_and_scores_match(datasets, demo_trial):
    tests = sdtm_findings.qs_tests()
    assert all(len(c) <= 8 for c in tests) and len(tests) == len(set(tests))
    scim = [
        a
        for p in demo_trial.patients
        for a in demo_trial.rows("assessments", p)
        if a["kind"] == "scim3"
    ]
    totals = sorted(r["QSSTRESN"] for r in datasets["QS"].rows if r["QSTESTCD"] == "SCIMTOT")
    assert totals == sorted(float(a["result"]["total"]) for a in scim)


def test_cell_product_release_tests_in_bs(datasets, demo_trial):
    n = sum(
        len(lot["release_tests"]) for p in demo_trial.patients for lot in demo_trial.rows("lots", p)
    )
    assert sum(r["BSCAT"] == "RELEASE TEST" for r in datasets["BS"].rows) == n
    assert {r["BSNRIND"] for r in datasets["BS"].rows if r["BSCAT"] == "RELEASE TEST"} == {"NORMAL"}
