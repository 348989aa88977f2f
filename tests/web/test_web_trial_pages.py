"""Issue 13: the pages of a patient's start, in-process: each step's page for the roles whose
job it is (403 for the others), errors beside the field with what was typed kept, nothing
saved on a refusal, and the label page."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from conftest import INJURY, PASSWORD, TODAY, csrf_of, login
from test_web_api import API, basic

from cordtrial.web.trial_steps import STEPS


@pytest.mark.parametrize("slug", sorted(STEPS))
def test_each_step_page_for_its_role_only(client, slug):
    step = STEPS[slug]
    own = "cell_processing" if step.permission == "start_lot" else "investigator"
    login(client, own)
    page = client.get(f"/patients/SAP-001/record/{slug}")
    assert page.status_code == 200, page.text
    assert step.submit in page.text
    login(client, "monitor")
    assert client.get(f"/patients/SAP-001/record/{slug}").status_code == 403


def test_register_page_generates_the_code_and_keeps_identity_apart(client):
    login(client, "investigator")
    page = client.get("/patients/new")
    token = csrf_of(page.text)
    bad = client.post(
        "/patients/new",
        data={"csrf_token": token, "full_name": "Taro Example", "age_at_injury": "200", "sex": "M"},
    )
    assert bad.status_code == 422
    assert 'id="err-age_at_injury"' in bad.text and "0-120" in bad.text
    assert 'value="Taro Example"' in bad.text and 'value="200"' in bad.text
    r = client.post(
        "/patients/new",
        data={"csrf_token": token, "full_name": "Taro Example", "age_at_injury": "52", "sex": "M",
              "hospital_number": "H-77"},
        follow_redirects=True,
    )  # fmt: skip
    assert r.status_code == 200 and "Patient SAP-003 registered." in r.text
    assert "Taro Example" in r.text  # investigators see the identity
    login(client, "assessor")
    assert "Taro Example" not in client.get("/patients/SAP-003").text


def test_a_refused_step_shows_the_error_beside_the_field_and_saves_nothing(client):
    login(client, "investigator")
    page = client.get("/patients/SAP-001/record/harvest")
    token = csrf_of(page.text)
    late = (INJURY + timedelta(days=29)).isoformat()  # INJURY is 30 days ago; protocol: 31 d
    future = (TODAY + timedelta(days=2)).isoformat()
    r = client.post(
        "/patients/SAP-001/record/harvest",
        data={"csrf_token": token, "harvested_on": future, "volume_ml": "45", "operator": "Dr Who"},
    )
    assert r.status_code == 422
    assert 'id="err-harvested_on"' in r.text and "a day that has come" in r.text
    assert 'value="Dr Who"' in r.text and 'value="45"' in r.text and f'value="{future}"' in r.text
    timeline = client.get(f"{API}/patients/SAP-001", auth=basic("monitor")).json()["timeline"]
    assert [e["kind"] for e in timeline].count("harvest") == 1
    r = client.post(
        "/patients/SAP-001/record/harvest",
        data={"csrf_token": token, "harvested_on": late, "volume_ml": "45", "operator": "Dr Who"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "Bone-marrow harvest recorded." in r.text


def test_eligibility_page_signs_the_checklist(client):
    login(client, "investigator")
    page = client.get("/patients/SAP-002/record/eligibility")
    token = csrf_of(page.text)
    from cordtrial.store.protocol import default_protocol

    answers = {f"criteria.{c.code}": "yes" if c.kind == "inclusion" else "no" for c in default_protocol().eligibility}  # fmt: skip
    day = (INJURY + timedelta(days=7)).isoformat()
    missing = dict(answers)
    missing.pop("criteria.infection")
    r = client.post(
        "/patients/SAP-002/record/eligibility",
        data={"csrf_token": token, "assessed_on": day, "password": PASSWORD["investigator"], **missing},
    )  # fmt: skip
    assert r.status_code == 422 and 'id="err-criteria.infection"' in r.text
    assert 'value="' + PASSWORD["investigator"] not in r.text  # a password is never echoed
    r = client.post(
        "/patients/SAP-002/record/eligibility",
        data={"csrf_token": token, "assessed_on": day, "password": "wrong", **answers},
    )
    assert r.status_code == 422 and "wrong password: not signed" in r.text
    r = client.post(
        "/patients/SAP-002/record/eligibility",
        data={"csrf_token": token, "assessed_on": day, "password": PASSWORD["investigator"], **answers},
        follow_redirects=True,
    )  # fmt: skip
    assert "Eligibility checklist signed." in r.text


def test_start_a_lot_page_and_its_label(client):
    login(client, "cell_processing")
    lots = client.get("/lots")
    assert lots.status_code == 200
    page = client.get("/patients/SAP-001/record/lot")
    assert "harvest " in page.text and "mL serum" in page.text
    token = csrf_of(page.text)
    import re

    harvest = re.search(r'name="harvest_id"[^>]*>.*?<option value="(\d+)"', page.text, re.S).group(
        1
    )
    serum = re.findall(r'name="serum_draw_ids" value="(\d+)"', page.text)
    form = {"csrf_token": token, "harvest_id": harvest, "serum_draw_ids": serum,
            "culture_started_on": (INJURY + timedelta(days=12)).isoformat()}  # fmt: skip
    r = client.post("/patients/SAP-001/record/lot", data={**form, "label_code": "SAP-002"})
    assert r.status_code == 422 and 'id="err-label_code"' in r.text and "SAP-002" in r.text
    r = client.post(
        "/patients/SAP-001/record/lot",
        data={**form, "label_code": "SAP-001"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "Lot started; print its label." in r.text
    assert 'data-testid="lot-label"' in r.text
    svg = client.get(re.search(r'src="(/lots/\d+/label\.svg)"', r.text).group(1))
    assert svg.headers["content-type"].startswith("image/svg+xml") and "SAP-001-L1" in svg.text


def test_patient_page_shows_the_path_and_correct_links(client):
    login(client, "investigator")
    page = client.get("/patients/SAP-001")
    assert 'data-testid="patient-plan"' in page.text
    assert 'data-testid="step-harvest" data-done="yes"' in page.text
    assert "/records/injuries/" in page.text and ">correct<" in page.text
    login(client, "monitor")
    page = client.get("/patients/SAP-001")
    assert ">correct<" not in page.text and ">record<" in page.text


def test_a_blood_draw_outside_the_protocol_is_saved_with_a_warning_to_report_it(client):
    """SAP-001 has two draws (days 7 and 9 after injury; the protocol plans 2 draws on days
    14-28): a third one is saved, and the page says which deviation it is."""
    login(client, "investigator")
    page = client.get("/patients/SAP-001/record/blood-draw")
    token = csrf_of(page.text)

    def draw(day: int):
        return client.post(
            "/patients/SAP-001/record/blood-draw",
            data={"csrf_token": token, "drawn_on": (INJURY + timedelta(days=day)).isoformat(),
                  "volume_ml": "200", "serum_volume_ml": "90", "operator": "Nurse Draw"},
            follow_redirects=True,
        )  # fmt: skip

    r = draw(15)  # within the days, but a third draw
    assert r.status_code == 200 and "Blood draw recorded" in r.text, r.text
    assert 'class="flash flash-warn"' in r.text
    assert "protocol deviation: blood draw 3; the protocol plans 2" in r.text
    assert "recorded under Deviations" in r.text and "day 15 after injury" not in r.text
    r = draw(12)  # outside the days as well
    assert "drawn on day 12 after injury; the protocol plans days 14-28" in r.text
    assert "blood draw 3; the protocol plans 2" in r.text  # day 12 comes before day 15
    listed = client.get("/deviations?kind=procedure").text
    assert "blood draw: blood draw 3; the protocol plans 2" in listed  # the day-15 draw
    assert "blood draw: drawn on day 12 after injury" in listed
    rows = list(csv.DictReader(io.StringIO(client.get("/deviations.csv?kind=procedure").text)))
    linked = [r for r in rows if "drawn on day 12" in r["description"]]
    assert len(linked) == 1 and linked[0]["record_table"] == "blood_draws"
    assert client.get(f"/records/blood_draws/{linked[0]['record_id']}").status_code == 200


def test_identifying_data_is_corrected_from_its_record_page(client):
    """The patient page's 'Correct identifying data' link opens the identity's record page
    (identifying data has no signatures) and a correction with a reason is saved."""
    login(client, "investigator")
    page = client.get("/patients/SAP-001")
    link = re.search(r'href="(/records/patient_identities/\d+)"', page.text)
    assert link, "no link to correct identifying data"
    record = client.get(link.group(1))
    assert record.status_code == 200, record.text
    assert "full_name" in record.text
    r = client.post(
        link.group(1),
        data={"csrf_token": csrf_of(record.text), "hospital_number": "H-0042", "reason": ""},
    )
    assert r.status_code == 422 and "reason" in r.text
    r = client.post(
        link.group(1),
        data={
            "csrf_token": csrf_of(record.text),
            "hospital_number": "H-0042",
            "reason": "typo in the hospital number (admission sheet)",
        },
        follow_redirects=True,
    )
    assert r.status_code == 200 and "Corrected: hospital_number" in r.text, r.text
    assert "H-0042" in client.get(link.group(1)).text


def test_identifying_data_record_and_correction_through_the_api(client):
    identity = client.get(f"{API}/patients/SAP-001/identity", auth=basic("investigator")).json()
    pid = identity["record_id"]
    url = f"{API}/records/patient_identities/{pid}"
    r = client.get(url, auth=basic("investigator"))
    assert r.status_code == 200, r.text
    assert r.json()["signatures"] == []
    r = client.post(
        f"{url}/corrections",
        json={"changes": {"hospital_number": "H-0043"}, "reason": "admission sheet"},
        auth=basic("investigator"),
    )
    assert r.status_code == 200, r.text
    assert any("H-0043" in json.dumps(h["changes"]) for h in r.json()["history"])


def test_a_query_page_links_to_the_correction_for_roles_that_may_correct(client):
    """A query on an injury record: the investigator is sent to the injury's correction
    page; roles that may not correct injuries get no link (it would only say 403)."""
    login(client, "investigator")
    page = client.get("/patients/SAP-001").text
    injury = int(re.search(r'href="/records/injuries/(\d+)"', page).group(1))
    client.cookies.clear()
    body = {"record_table": "injuries", "record_id": injury, "text": "Level per the MRI?"}
    q = client.post(f"{API}/queries", json=body, auth=basic("monitor"))
    assert q.status_code in (200, 201), q.text
    login(client, "investigator")
    page = client.get(f"/queries/{q.json()['id']}").text
    assert f'href="/records/injuries/{injury}" data-testid="correct-record"' in page
    client.cookies.clear()
    login(client, "assessor")
    page = client.get(f"/queries/{q.json()['id']}")
    assert page.status_code == 200 and 'data-testid="correct-record"' not in page.text


def test_completed_without_the_last_visit_asks_to_confirm_or_is_refused(client):
    """Nothing recorded at month 12: SAP-001 (no infusion day yet, so no month-12 window) may be
    'completed' only once the warning is confirmed; SAP-002, with its infusion planned, is
    refused before month 12's window opens."""
    end = {"ended_on": TODAY.isoformat(), "reason": "completed"}
    r = client.post(f"{API}/patients/SAP-001/end-of-study", json=end, auth=basic("investigator"))
    assert r.status_code == 409 and r.json()["code"] == "confirmation_required", r.text
    assert [w["rule"] for w in r.json()["warnings"]] == ["completed_without_last_visit"]
    login(client, "investigator")
    token = csrf_of(client.get("/patients/SAP-001/record/end-of-study").text)
    form = {"csrf_token": token, **end}
    r = client.post("/patients/SAP-001/record/end-of-study", data=form)
    assert r.status_code == 422 and 'data-testid="warning-completed_without_last_visit"' in r.text
    assert "nothing is recorded at the last visit (month12" in r.text
    p = client.get(f"{API}/patients/SAP-001", auth=basic("monitor")).json()
    assert p["status"] != "completed"  # nothing saved until confirmed
    form["confirm"] = "completed_without_last_visit"
    r = client.post("/patients/SAP-001/record/end-of-study", data=form, follow_redirects=True)
    assert r.status_code == 200 and "End of study recorded." in r.text
    p = client.get(f"{API}/patients/SAP-001", auth=basic("monitor")).json()
    assert p["status"] == "completed" and p["stage"] == "Study completed"
    client.cookies.clear()  # the API calls below authenticate with HTTP Basic
    planned = {"planned_infusion": (TODAY + timedelta(days=5)).isoformat()}
    r = client.post(f"{API}/patients/SAP-002/visit-plan", json=planned, auth=basic("investigator"))
    assert r.status_code in (200, 201), r.text
    r = client.post(f"{API}/patients/SAP-002/end-of-study", json=end, auth=basic("investigator"))
    assert r.json()["code"] == "completed_before_last_visit", r.text
    assert r.json()["errors"][0]["field"] == "reason"
