"""Server-rendered pages: login, CSRF, role and site checks, forms that save all or nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import INJURY, PASSWORD, TODAY, USERNAME, csrf_of, login, reference_case

ROLES = list(USERNAME)


def test_pages_redirect_to_login(client):
    r = client.get("/patients/SAP-001", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/patients/SAP-001"


def test_security_headers_and_cookie_flags(client):
    r = client.get("/login")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    page = client.get("/login")
    r = client.post(
        "/login",
        data={
            "username": "inv",
            "password": PASSWORD["investigator"],
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie


@pytest.mark.parametrize("role", ROLES)
def test_each_role_logs_in_and_sees_the_dashboard(client, role):
    login(client, role)
    page = client.get("/").text
    assert "Patients by stage" in page
    assert "SAP-001" in page
    assert ("OTH-001" in page) == (role in ("statistician", "admin"))


def test_login_form_csrf_is_required(client):
    client.get("/login")
    r = client.post(
        "/login",
        data={"username": "inv", "password": PASSWORD["investigator"], "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "expired" in r.text


def test_wrong_password_then_lockout_on_the_form(client):
    for _ in range(4):
        page = client.get("/login")
        r = client.post(
            "/login", data={"username": "mon", "password": "bad", "csrf_token": csrf_of(page.text)}
        )
        assert r.status_code == 401 and "Unknown user name or wrong password" in r.text
    page = client.get("/login")
    r = client.post(
        "/login", data={"username": "mon", "password": "bad", "csrf_token": csrf_of(page.text)}
    )
    assert r.status_code == 429 and "locked" in r.text
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": "mon", "password": PASSWORD["monitor"], "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 429  # the right password does not open a locked account


def test_open_redirect_is_refused(client):
    page = client.get("/login")
    r = client.post(
        "/login",
        data={
            "username": "inv",
            "password": PASSWORD["investigator"],
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_logout_needs_csrf_and_ends_the_session(client):
    token = login(client, "investigator")
    assert client.post("/logout", data={}).status_code == 403
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_copied_cookie_stops_working_after_logout(app):
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="https://testserver") as a:
        token = login(a, "investigator")
        stolen = a.cookies.get("cordtrial_session")
        a.post("/logout", data={"csrf_token": token})
    with TestClient(app, base_url="https://testserver") as b:
        b.cookies.set("cordtrial_session", stolen, domain="testserver")
        assert b.get("/", follow_redirects=False).status_code == 303


def test_other_sites_patient_page_is_refused(client):
    login(client, "monitor")
    r = client.get("/patients/OTH-001")
    assert r.status_code == 403 and "another site" in r.text


def test_patient_page_timeline_and_identity_by_role(client):
    login(client, "investigator")
    page = client.get("/patients/SAP-001").text
    assert "Bone-marrow harvest" in page and "Culture started, lot LOT-SAP-001" in page
    assert "Name of SAP-001" in page  # investigators see identifying data
    client.cookies.clear()
    login(client, "monitor")
    page = client.get("/patients/SAP-001").text
    assert "Name of SAP-001" not in page
    assert "New ISNCSCI exam" not in page and "Record an adverse event" not in page


def _exam_form(token: str, index: int = 0, **over) -> dict:
    case = reference_case(index)
    meta = {"id", "group", "comments", "note", "check", "totals"}
    data = {k: v for k, v in case.items() if k not in meta}
    data.update(
        {
            "csrf_token": token,
            "visit_code": "screening",
            "assessed_on": (INJURY + timedelta(days=6)).isoformat(),
            "assessor_name": "A. Assessor",
            "blinded": "on",
        }
    )
    data.update(over)
    return data


def test_worksheet_save_and_view(client):
    token = login(client, "assessor")
    assert client.get("/patients/SAP-001/exams/new").status_code == 200
    r = client.post("/patients/SAP-001/exams/new", data=_exam_form(token), follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    assert 'data-testid="result-asiaImpairmentScale">A<' in page
    assert "Exam saved" in page


def test_worksheet_invalid_cell_shown_next_to_field_and_nothing_saved(client):
    token = login(client, "assessor")
    r = client.post(
        "/patients/SAP-001/exams/new",
        data=_exam_form(token, c6LeftMotor="8", assessed_on="yesterday"),
    )
    assert r.status_code == 422
    assert re.search(r'id="err-c6LeftMotor"[^>]*>[^<]*&#39;8&#39; not allowed: motor: 0, 1', r.text)
    assert 'id="err-assessed_on"' in r.text
    assert 'value="8"' in r.text  # what was typed is kept for correction
    assert "Nothing was saved" in r.text
    timeline = client.get("/patients/SAP-001").text
    assert "ISNCSCI exam (" not in timeline


def test_worksheet_forms_need_csrf(client):
    login(client, "assessor")
    form = _exam_form("forged")
    r = client.post("/patients/SAP-001/exams/new", data=form)
    assert r.status_code == 403


def test_monitor_cannot_post_exams(client):
    token = login(client, "monitor")
    assert client.get("/patients/SAP-001/exams/new").status_code == 403
    r = client.post("/patients/SAP-001/exams/new", data=_exam_form(token))
    assert r.status_code == 403


def test_instrument_form_generated_from_definition_and_saved(client):
    from cordtrial.instruments import SCIM3

    token = login(client, "assessor")
    page = client.get("/patients/SAP-001/instruments/scim3/new").text
    for item in SCIM3.items:
        assert f'name="item_{item.id}"' in page
    form = {
        "csrf_token": token,
        "visit_code": "screening",
        "assessed_on": (INJURY + timedelta(days=6)).isoformat(),
        "assessor_name": "A",
    }
    form.update({f"item_{i.id}": str(i.options[0].value) for i in SCIM3.items})
    r = client.post("/patients/SAP-001/instruments/scim3/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    total = re.search(r'data-testid="score-total"[^>]*>(.*?)</tr>', page, re.S).group(1)
    assert "<strong>0</strong> / 100" in total
    assert '<pre class="json">' not in page


def test_instrument_form_rejects_value_outside_definition(client):
    from cordtrial.instruments import SCIM3

    token = login(client, "assessor")
    first = SCIM3.items[0]
    form = {
        "csrf_token": token,
        "visit_code": "screening",
        "assessed_on": (INJURY + timedelta(days=6)).isoformat(),
        "assessor_name": "A",
        f"item_{first.id}": "99",
    }
    r = client.post("/patients/SAP-001/instruments/scim3/new", data=form)
    assert r.status_code == 422
    assert "99" in r.text and first.allowed_text() in r.text
    assert client.get("/patients/SAP-001/instruments/bogus/new").status_code == 404


def test_lot_page_release_with_signature(client, scenario):
    token = login(client, "qa")
    page = client.get(f"/lots/{scenario.lot_quarantine}").text
    assert "<svg" in page and "Growth curve" in page and 'id="release-form"' in page
    url = f"/lots/{scenario.lot_quarantine}/release"
    r = client.post(url, data={"csrf_token": token, "password": PASSWORD["qa"]})
    assert r.status_code == 422 and "confirm the meaning" in r.text
    r = client.post(url, data={"csrf_token": token, "password": "wrong", "meaning_confirmed": "on"})
    assert r.status_code == 422 and "wrong password" in r.text
    r = client.post(
        url,
        data={"csrf_token": token, "password": PASSWORD["qa"], "meaning_confirmed": "on"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/lots/{scenario.lot_quarantine}").text
    assert 'data-testid="lot-status">released<' in page
    assert "Qa User" in page and "released for clinical use" in page


def test_cell_processing_cannot_release(client, scenario):
    token = login(client, "cell_processing")
    assert 'id="release-form"' not in client.get(f"/lots/{scenario.lot_quarantine}").text
    r = client.post(
        f"/lots/{scenario.lot_quarantine}/release",
        data={
            "csrf_token": token,
            "password": PASSWORD["cell_processing"],
            "meaning_confirmed": "on",
        },
    )
    assert r.status_code == 403


def test_release_test_form_errors_next_to_fields(client, scenario):
    token = login(client, "cell_processing")
    r = client.post(
        f"/lots/{scenario.lot_quarantine}/release-tests",
        data={
            "csrf_token": token,
            "test_code": "viability",
            "value": "lots",
            "method": "",
            "tested_on": TODAY.isoformat(),
            "analyst": "QC",
        },
    )
    assert r.status_code == 422
    assert 'id="err-value"' in r.text and 'id="err-method"' in r.text


def _infusion_form(token, **over):
    data = {
        "csrf_token": token,
        "wristband_code": "SAP-002",
        "label_code": "LOT-SAP-002",
        "infused_on": TODAY.isoformat(),
        "weight_kg": "60",
        "weight_measured_on": TODAY.isoformat(),
        "cells_total": "1e8",
        "product_volume_ml": "20",
        "diluent_volume_ml": "60",
        "rate_ml_per_min": "0.8",
        "started_at": f"{TODAY.isoformat()}T09:00",
        "stopped_at": f"{TODAY.isoformat()}T10:40",
        "vitals_before_hr": "70",
        "vitals_after_hr": "72",
        "password": PASSWORD["investigator"],
        "second_username": USERNAME["assessor"],
        "second_password": PASSWORD["assessor"],
    }
    data.update(over)
    return data


def test_infusion_page_refuses_another_patients_lot(client):
    token = login(client, "investigator")
    r = client.post(
        "/patients/SAP-001/infusions/new", data=_infusion_form(token, wristband_code="SAP-001")
    )
    assert r.status_code == 409
    assert "wrong_patient_lot" in r.text and "nothing was saved" in r.text
    assert "Infusion #" not in client.get("/patients/SAP-001").text


def test_infusion_page_records_infusion(client):
    token = login(client, "investigator")
    r = client.post(
        "/patients/SAP-002/infusions/new", data=_infusion_form(token), follow_redirects=False
    )
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    assert "LOT-SAP-002" in page and page.count("infusion performed and chain of identity") == 2


def test_adverse_event_form_and_log(client):
    token = login(client, "investigator")
    r = client.post(
        "/patients/SAP-001/adverse-events/new",
        data={
            "csrf_token": token,
            "term": "Fever",
            "grade_scale": "CTCAE v5.0",
            "grade": "6",
            "onset_date": TODAY.isoformat(),
        },
    )
    assert r.status_code == 422 and 'id="err-grade"' in r.text
    r = client.post(
        "/patients/SAP-001/adverse-events/new",
        data={
            "csrf_token": token,
            "term": "Fever",
            "grade_scale": "CTCAE v5.0",
            "grade": "1",
            "onset_date": TODAY.isoformat(),
            "related_infusion": "possible",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Fever" in client.get("/adverse-events").text


def test_audit_page_and_exports(client):
    login(client, "monitor")
    page = client.get("/audit?table=lots").text
    assert "LOT-SAP-001" in page and "LOT-OTH-001" not in page
    csv_text = client.get("/exports/patients.csv").text
    assert csv_text.splitlines()[0].startswith("patient,site")
    assert "SAP-001" in csv_text and "OTH-001" not in csv_text and "Name of" not in csv_text
    assert client.get("/exports/nothing.csv").status_code == 404


def test_audit_page_forbidden_for_assessor(client):
    login(client, "assessor")
    assert client.get("/audit").status_code == 403
    assert client.get("/exports").status_code == 403


def test_admin_verifies_the_chain(client):
    login(client, "admin")
    page = client.get("/audit?verify=true").text
    assert "Chain check" in page and "intact" in page


def test_api_reference_page(client):
    login(client, "statistician")
    page = client.get("/api/v1/docs").text
    assert "/api/v1/isncsci/classify" in page and "openapi.json" in page


@pytest.mark.parametrize("kind", ["scim3", "wisci2", "nbd", "lutf"])
def test_every_instrument_form_renders_its_items(client, kind):
    from cordtrial.instruments import INSTRUMENTS

    login(client, "assessor")
    page = client.get(f"/patients/SAP-001/instruments/{kind}/new").text
    for item in INSTRUMENTS[kind].items:
        assert f'name="item_{item.id}"' in page


def test_exam_sign_off_with_password(client):
    token = login(client, "assessor")
    r = client.post("/patients/SAP-001/exams/new", data=_exam_form(token), follow_redirects=False)
    url = r.headers["location"]
    r = client.post(f"{url}/sign", data={"csrf_token": token, "password": "nope"})
    assert "Not signed: wrong password" in r.text
    r = client.post(f"{url}/sign", data={"csrf_token": token, "password": PASSWORD["assessor"]})
    assert "Exam signed off" in r.text and "exam reviewed and signed off" in r.text
    assert "(valid)" in r.text


def test_lots_list_is_scoped(client):
    login(client, "cell_processing")
    page = client.get("/lots").text
    assert "LOT-SAP-001" in page and "LOT-SAP-002" in page and "LOT-OTH-001" not in page


def test_passage_form_is_checked_by_the_api_rules_before_the_store(client, scenario):
    token = login(client, "cell_processing")
    before = client.get(f"/api/v1/lots/{scenario.lot_quarantine}").json()["passages"]
    r = client.post(
        f"/lots/{scenario.lot_quarantine}/passages",
        data={"csrf_token": token, "passage_number": "4", "viability_pct": "150"},
    )
    assert r.status_code == 422
    assert client.get(f"/api/v1/lots/{scenario.lot_quarantine}").json()["passages"] == before
