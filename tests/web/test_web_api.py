"""The JSON API: every endpoint's success and error paths, role and site checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from conftest import (
    INJURY,
    OTHER_INVESTIGATOR,
    PASSWORD,
    TODAY,
    USERNAME,
    login,
    reference_case,
)

API = "/api/v1"


def basic(role: str) -> httpx.BasicAuth:
    return httpx.BasicAuth(USERNAME[role], PASSWORD[role])


def reference_exam(index: int = 0) -> tuple[dict, dict]:
    case = reference_case(index)
    meta = {"id", "group", "comments", "note", "check", "totals"}
    return {k: v for k, v in case.items() if k not in meta}, case["totals"]


# -- authentication ----------------------------------------------------------------------------


def test_api_requires_authentication(client):
    r = client.get(f"{API}/patients")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic")
    assert r.json()["detail"]


def test_wrong_basic_password_is_401_and_malformed_header_too(client):
    assert client.get(f"{API}/me", auth=("inv", "nope")).status_code == 401
    r = client.get(f"{API}/me", headers={"Authorization": "Basic !!!notbase64"})
    assert r.status_code == 401


def test_me_with_basic_auth(client):
    r = client.get(f"{API}/me", auth=basic("qa"))
    assert r.status_code == 200
    body = r.json()
    assert body["role"] == "qa" and body["site"] == "SAP"
    assert "release_lot" in body["permissions"] and "infuse" not in body["permissions"]


def test_session_cookie_post_needs_csrf_header(client):
    token = login(client, "assessor")
    exam, _ = reference_exam()
    assert client.post(f"{API}/isncsci/classify", json=exam).status_code == 403
    assert (
        client.post(
            f"{API}/isncsci/classify", json=exam, headers={"X-CSRF-Token": "forged"}
        ).status_code
        == 403
    )
    r = client.post(f"{API}/isncsci/classify", json=exam, headers={"X-CSRF-Token": token})
    assert r.status_code == 200


# -- classification ----------------------------------------------------------------------------


def test_classify_reference_case(client):
    exam, totals = reference_exam()
    r = client.post(f"{API}/isncsci/classify", json=exam, auth=basic("assessor"))
    assert r.status_code == 200
    body = r.json()
    assert body["result"] == totals
    assert body["complete"] and body["missing"] == []
    assert body["explanation"] and body["engine_version"]


def test_classify_partial_counts_blanks_as_nt(client):
    r = client.post(
        f"{API}/isncsci/classify?partial=true", json={"c5RightMotor": "5"}, auth=basic("assessor")
    )
    assert r.status_code == 200
    body = r.json()
    assert not body["complete"] and "c2RightTouch" in body["missing"]
    assert "," in body["result"]["asiaImpairmentScale"]  # still undetermined


def test_classify_invalid_value_names_field_value_allowed(client):
    exam, _ = reference_exam()
    exam["c5RightMotor"] = "7"
    r = client.post(f"{API}/isncsci/classify", json=exam, auth=basic("assessor"))
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert errors == [{"field": "c5RightMotor", "value": "7", "allowed": errors[0]["allowed"]}]
    assert "5" in errors[0]["allowed"] and "NT" in errors[0]["allowed"]


def test_classify_missing_cells_without_partial_is_422(client):
    r = client.post(f"{API}/isncsci/classify", json={"c5RightMotor": "5"}, auth=basic("assessor"))
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert "analContraction" in fields and "c5RightMotor" not in fields


def test_classify_unknown_field_is_422(client):
    r = client.post(
        f"{API}/isncsci/classify?partial=true", json={"c9RightMotor": "5"}, auth=basic("assessor")
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "c9RightMotor"


def test_classify_body_must_be_an_object(client):
    r = client.post(f"{API}/isncsci/classify", json=["x"], auth=basic("assessor"))
    assert r.status_code == 422


# -- patients ----------------------------------------------------------------------------------


def test_patients_are_scoped_to_the_site(client):
    codes = {p["study_code"] for p in client.get(f"{API}/patients", auth=basic("monitor")).json()}
    assert codes == {"SAP-001", "SAP-002"}
    everyone = client.get(f"{API}/patients", auth=basic("statistician")).json()
    assert {p["study_code"] for p in everyone} == {"SAP-001", "SAP-002", "OTH-001"}


def test_patient_detail_with_timeline(client):
    r = client.get(f"{API}/patients/SAP-001", auth=basic("investigator"))
    assert r.status_code == 200
    body = r.json()
    kinds = [e["kind"] for e in body["timeline"]]
    assert kinds[0] == "injury" and "harvest" in kinds and "culture" in kinds
    assert body["stage"] == "Cell culture"


def test_other_sites_patient_is_refused(client):
    r = client.get(f"{API}/patients/OTH-001", auth=basic("monitor"))
    assert r.status_code == 403
    assert r.json()["code"] == "other_site"
    r = client.get(f"{API}/patients/NOPE-1", auth=basic("monitor"))
    assert r.status_code == 404


# -- assessments -------------------------------------------------------------------------------


def exam_body(exam: dict, **over) -> dict:
    body = {
        "visit_code": "screening",
        "assessed_on": (INJURY + timedelta(days=6)).isoformat(),
        "assessor_name": "A. Assessor",
        "blinded": True,
        "exam": exam,
    }
    body.update(over)
    return body


def test_record_exam_and_list(client):
    exam, totals = reference_exam()
    r = client.post(
        f"{API}/patients/SAP-001/isncsci-exams", json=exam_body(exam), auth=basic("assessor")
    )
    assert r.status_code == 201, r.text
    assert r.json()["result"]["asiaImpairmentScale"] == totals["asiaImpairmentScale"]
    listed = client.get(
        f"{API}/patients/SAP-001/assessments?kind=isncsci", auth=basic("monitor")
    ).json()
    assert [a["id"] for a in listed] == [r.json()["id"]]


def test_record_exam_with_comments_and_flag_reasons(client):
    exam, _ = reference_exam()
    cell = next(k for k, v in exam.items() if k.endswith("Motor") and v in ("0", "1", "2"))
    exam[cell] += "*"
    body = exam_body(exam) | {"comments": "Pain.", "flag_reasons": {cell: "old fracture"}}
    r = client.post(f"{API}/patients/SAP-001/isncsci-exams", json=body, auth=basic("assessor"))
    assert r.status_code == 201, r.text
    assert (r.json()["comments"], r.json()["flag_reasons"]) == ("Pain.", {cell: "old fracture"})
    listed = client.get(f"{API}/patients/SAP-001/assessments", auth=basic("monitor")).json()
    assert listed[0]["flag_reasons"] == {cell: "old fracture"}
    other = next(k for k, v in exam.items() if k.endswith("Touch") and not v.endswith("*"))
    body["flag_reasons"] = {other: "not flagged"}
    r = client.post(f"{API}/patients/SAP-001/isncsci-exams", json=body, auth=basic("assessor"))
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == [f"{other}Reason"]
    body["flag_reasons"], body["comments"] = None, "x" * 2001
    r = client.post(f"{API}/patients/SAP-001/isncsci-exams", json=body, auth=basic("assessor"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "comments"


def test_record_exam_invalid_saves_nothing(client):
    exam, _ = reference_exam()
    exam["t1LeftMotor"] = "9"
    r = client.post(
        f"{API}/patients/SAP-001/isncsci-exams", json=exam_body(exam), auth=basic("assessor")
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "t1LeftMotor"
    assert client.get(f"{API}/patients/SAP-001/assessments", auth=basic("assessor")).json() == []


def test_record_exam_bad_visit_and_date_before_injury(client):
    exam, _ = reference_exam()
    r = client.post(
        f"{API}/patients/SAP-001/isncsci-exams",
        json=exam_body(exam, visit_code="month99"),
        auth=basic("assessor"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "visit_code"
    early = (INJURY - timedelta(days=1)).isoformat()
    r = client.post(
        f"{API}/patients/SAP-001/isncsci-exams",
        json=exam_body(exam, assessed_on=early),
        auth=basic("assessor"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "assessed_on"


@pytest.mark.parametrize("role", ["monitor", "statistician", "cell_processing", "qa"])
def test_roles_that_may_not_record_exams(client, role):
    exam, _ = reference_exam()
    r = client.post(f"{API}/patients/SAP-001/isncsci-exams", json=exam_body(exam), auth=basic(role))
    assert r.status_code == 403


def test_record_instrument_scored_and_errors(client):
    body = {
        "visit_code": "screening",
        "assessed_on": (INJURY + timedelta(days=6)).isoformat(),
        "assessor_name": "A. Assessor",
        "blinded": False,
        "data": {"self_selected": 3, "maximum": 4},
    }
    r = client.post(f"{API}/patients/SAP-001/instruments/wisci2", json=body, auth=basic("assessor"))
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "wisci2"
    body["data"] = {"maximum": 42}
    r = client.post(f"{API}/patients/SAP-001/instruments/wisci2", json=body, auth=basic("assessor"))
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["item"] == "maximum" and err["value"] == 42 and "20" in err["allowed"]
    r = client.post(f"{API}/patients/SAP-001/instruments/nope", json=body, auth=basic("assessor"))
    assert r.status_code == 422


def test_instruments_and_schemas(client):
    ids = {i["id"] for i in client.get(f"{API}/instruments", auth=basic("monitor")).json()}
    assert ids == {"scim3", "wisci2", "nbd", "lutf"}
    schema = client.get(f"{API}/instruments/scim3/schema", auth=basic("monitor")).json()
    assert schema["type"] == "object" and schema["properties"]
    assert client.get(f"{API}/instruments/xyz/schema", auth=basic("monitor")).status_code == 422


# -- lots --------------------------------------------------------------------------------------


def test_lots_scoped_and_detail(client, scenario):
    lots = client.get(f"{API}/lots", auth=basic("qa")).json()
    assert {lot["lot_number"] for lot in lots} == {"LOT-SAP-001", "LOT-SAP-002"}
    detail = client.get(f"{API}/lots/{scenario.lot_quarantine}", auth=basic("qa")).json()
    assert detail["status"] == "quarantine" and len(detail["passages"]) == 3
    assert all(c["state"] == "pass" for c in detail["release_checklist"])
    assert client.get(f"{API}/lots/{scenario.lot_other_site}", auth=basic("qa")).status_code == 404
    assert client.get(f"{API}/lots/999999", auth=basic("qa")).status_code == 404


def test_release_by_qa_with_signature(client, scenario):
    url = f"{API}/lots/{scenario.lot_quarantine}/release"
    body = {"password": PASSWORD["qa"], "meaning": "released for clinical use"}
    wrong = client.post(url, json={**body, "password": "wrong"}, auth=basic("qa"))
    assert wrong.status_code == 403 and wrong.json()["code"] == "authentication_failed"
    r = client.post(url, json=body, auth=basic("qa"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "released"
    [sig] = r.json()["signatures"]
    assert sig["meaning"] == "released for clinical use" and sig["valid"]
    again = client.post(url, json=body, auth=basic("qa"))
    assert again.status_code == 409 and again.json()["code"] == "lot_transition"


@pytest.mark.parametrize("role", ["cell_processing", "investigator", "monitor"])
def test_only_qa_releases(client, scenario, role):
    r = client.post(
        f"{API}/lots/{scenario.lot_quarantine}/release",
        json={"password": PASSWORD[role], "meaning": "released for clinical use"},
        auth=basic(role),
    )
    assert r.status_code == 403


def test_release_needs_the_stated_meaning(client, scenario):
    r = client.post(
        f"{API}/lots/{scenario.lot_quarantine}/release",
        json={"password": PASSWORD["qa"], "meaning": "looks fine"},
        auth=basic("qa"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "meaning"


def test_passage_refused_after_culture_finished(client, scenario):
    body = {
        "passage_number": 4,
        "seeded_on": TODAY.isoformat(),
        "harvested_on": TODAY.isoformat(),
        "cells_seeded": 1e6,
        "cells_harvested": 2e6,
        "viability_pct": 90,
        "operator": "X",
    }
    r = client.post(
        f"{API}/lots/{scenario.lot_quarantine}/passages", json=body, auth=basic("cell_processing")
    )
    assert r.status_code == 409 and r.json()["code"] == "lot_transition"
    r = client.post(
        f"{API}/lots/{scenario.lot_quarantine}/passages",
        json={**body, "viability_pct": 140},
        auth=basic("cell_processing"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "viability_pct"
    r = client.post(
        f"{API}/lots/{scenario.lot_quarantine}/passages", json=body, auth=basic("assessor")
    )
    assert r.status_code == 403


def test_release_test_recorded_and_unknown_code_refused(client, scenario):
    url = f"{API}/lots/{scenario.lot_quarantine}/release-tests"
    body = {
        "test_code": "viability",
        "method": "7-AAD",
        "tested_on": TODAY.isoformat(),
        "analyst": "QC",
        "value": 60.0,
    }
    r = client.post(url, json=body, auth=basic("qa"))
    assert r.status_code == 201
    viability = [c for c in r.json()["release_checklist"] if c["code"] == "viability"][0]
    assert viability["state"] == "fail"  # 60% is below the protocol's 70% limit
    r = client.post(url, json={**body, "test_code": "colour"}, auth=basic("qa"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "test_code"


# -- infusions ---------------------------------------------------------------------------------


def infusion_body(**over) -> dict:
    start = datetime.combine(TODAY, datetime.min.time(), UTC).replace(hour=9)
    body = {
        "wristband_code": "SAP-002",
        "label_code": "LOT-SAP-002",
        "infused_on": TODAY.isoformat(),
        "weight_kg": 60,
        "weight_measured_on": TODAY.isoformat(),
        "cells_total": 1.0e8,
        "product_volume_ml": 20,
        "diluent_volume_ml": 60,
        "rate_ml_per_min": 0.8,
        "started_at": start.isoformat(),
        "stopped_at": (start + timedelta(minutes=100)).isoformat(),
        "vitals": {"before": {"hr": 70}, "after": {"hr": 72}},
        "password": PASSWORD["investigator"],
        "second_username": USERNAME["assessor"],
        "second_password": PASSWORD["assessor"],
    }
    body.update(over)
    return body


def test_infusion_of_own_released_lot(client):
    r = client.post(
        f"{API}/patients/SAP-002/infusions", json=infusion_body(), auth=basic("investigator")
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["cells_per_kg"] == pytest.approx(1.0e8 / 60)
    assert len(body["signatures"]) == 2
    again = client.post(
        f"{API}/patients/SAP-002/infusions", json=infusion_body(), auth=basic("investigator")
    )
    assert again.status_code == 409


def test_infusion_of_another_patients_lot_is_refused(client):
    r = client.post(
        f"{API}/patients/SAP-001/infusions",
        json=infusion_body(wristband_code="SAP-001"),
        auth=basic("investigator"),
    )
    assert r.status_code == 409
    assert r.json()["code"] == "wrong_patient_lot"
    detail = client.get(f"{API}/patients/SAP-001", auth=basic("investigator")).json()
    assert "infusion" not in [e["kind"] for e in detail["timeline"]]


def test_infusion_wristband_mismatch_and_dose_limit(client):
    r = client.post(
        f"{API}/patients/SAP-002/infusions",
        json=infusion_body(wristband_code="SAP-001"),
        auth=basic("investigator"),
    )
    assert r.status_code == 409 and r.json()["code"] == "identity_mismatch"
    r = client.post(
        f"{API}/patients/SAP-002/infusions",
        json=infusion_body(weight_kg=20),
        auth=basic("investigator"),
    )
    assert r.status_code == 409 and r.json()["code"] == "dose_above_maximum"


def test_infusion_unknown_label_and_second_person(client):
    r = client.post(
        f"{API}/patients/SAP-002/infusions",
        json=infusion_body(label_code="LOT-OTH-001"),
        auth=basic("investigator"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "label_code"
    r = client.post(
        f"{API}/patients/SAP-002/infusions",
        json=infusion_body(second_username="ghost"),
        auth=basic("investigator"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "second_username"


def test_only_investigators_infuse(client):
    r = client.post(
        f"{API}/patients/SAP-002/infusions", json=infusion_body(), auth=basic("monitor")
    )
    assert r.status_code == 403


# -- adverse events ----------------------------------------------------------------------------


def test_adverse_event_record_and_log(client):
    body = {
        "term": "Fever",
        "grade": 1,
        "serious": False,
        "onset_date": TODAY.isoformat(),
        "related_infusion": "possible",
    }
    r = client.post(f"{API}/patients/SAP-001/adverse-events", json=body, auth=basic("investigator"))
    assert r.status_code == 201, r.text
    assert r.json()["expected"] is False
    log = client.get(f"{API}/adverse-events", auth=basic("monitor")).json()
    assert [ae["term"] for ae in log] == ["Fever"]
    assert (
        client.get(f"{API}/adverse-events", auth=httpx.BasicAuth(*OTHER_INVESTIGATOR)).json() == []
    )


def test_adverse_event_errors(client):
    base = {"term": "Fever", "grade": 5, "serious": True, "onset_date": TODAY.isoformat()}
    r = client.post(f"{API}/patients/SAP-001/adverse-events", json=base, auth=basic("investigator"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "outcome"
    r = client.post(
        f"{API}/patients/SAP-001/adverse-events",
        json={**base, "grade": 7},
        auth=basic("investigator"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "grade"
    r = client.post(
        f"{API}/patients/SAP-001/adverse-events", json={**base, "grade": 1}, auth=basic("monitor")
    )
    assert r.status_code == 403
    r = client.post(
        f"{API}/patients/OTH-001/adverse-events",
        json={**base, "grade": 1},
        auth=basic("investigator"),
    )
    assert r.status_code == 403


# -- audit -------------------------------------------------------------------------------------


def test_audit_readable_by_monitor_scoped_and_filtered(client):
    r = client.get(f"{API}/audit?table=lots&limit=500", auth=basic("monitor"))
    assert r.status_code == 200
    entries = r.json()
    assert entries and all(e["table"] == "lots" for e in entries)
    lots_seen = {e["record_id"] for e in entries}
    assert len(lots_seen) == 2  # the other site's lot is not shown
    everything = client.get(f"{API}/audit?table=lots&limit=500", auth=basic("admin")).json()
    assert len({e["record_id"] for e in everything}) == 3


def test_audit_identity_hidden_from_monitor_and_forbidden_for_assessor(client):
    entries = client.get(
        f"{API}/audit?table=patient_identities&limit=500", auth=basic("monitor")
    ).json()
    assert entries and all(
        v == ["(identifying data hidden)"] * 2 for e in entries for v in e["changes"].values()
    )
    assert client.get(f"{API}/audit", auth=basic("assessor")).status_code == 403
    assert client.get(f"{API}/audit?limit=0", auth=basic("monitor")).status_code == 422


def test_refused_actions_are_in_the_trail(client):
    client.get(f"{API}/patients/OTH-001", auth=basic("monitor"))
    entries = client.get(f"{API}/audit?table=refusals", auth=basic("admin")).json()
    assert any("other_site" in json.dumps(e["changes"]) for e in entries)


def test_lockout_after_repeated_failures(client):
    for _ in range(5):
        assert client.get(f"{API}/me", auth=("ass", "wrong")).status_code == 401
    r = client.get(f"{API}/me", auth=basic("assessor"))
    assert r.status_code == 401 and "locked" in r.json()["detail"]
    # Unknown names lock the same way, so lockout does not reveal which names exist.
    for _ in range(5):
        client.get(f"{API}/me", auth=("nobody", "wrong"))
    assert "locked" in client.get(f"{API}/me", auth=("nobody", "x")).json()["detail"]


def test_openapi_document(client):
    spec = client.get(f"{API}/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert f"{API}/isncsci/classify" in spec["paths"]
    assert all(p.startswith(API) for p in spec["paths"])


def test_malformed_study_code_is_422_naming_the_field(client):
    r = client.get(f"{API}/patients/not a code", auth=basic("monitor"))
    assert r.status_code == 422
    [err] = r.json()["errors"]
    assert err["field"] == "code" and err["value"] == "not a code"
