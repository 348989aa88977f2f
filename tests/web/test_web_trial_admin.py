"""Issue 13: sites administration, the protocol as versioned data, corrections of any record
with a reason (audit: old, new, who; signatures shown invalid), and the trial report built in
the background (same content as `cordtrial report`)."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from conftest import INJURY, PASSWORD, csrf_of, login
from test_web_api import API, basic

from cordtrial.store.protocol import default_protocol, to_toml

# -- sites --------------------------------------------------------------------------------------


def test_admin_creates_and_edits_a_site_audited(client):
    r = client.post(
        f"{API}/admin/sites",
        json={"code": "KOB", "name": "Kobe General", "time_zone": "Asia/Tokyo"},
        auth=basic("admin"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["today"]  # the site's own calendar day
    r = client.patch(
        f"{API}/admin/sites/KOB", json={"name": "Kobe City Hospital"}, auth=basic("admin")
    )
    assert r.status_code == 200 and r.json()["name"] == "Kobe City Hospital"
    audit = client.get(f"{API}/audit?table=sites", auth=basic("admin")).json()
    assert audit[0]["changes"]["name"] == ["Kobe General", "Kobe City Hospital"]
    assert audit[0]["actor"] == "adm"
    # the new site is offered when creating an account
    r = client.post(
        f"{API}/admin/users",
        json={
            "username": "kob-inv",
            "display_name": "Kobe Inv",
            "role": "investigator",
            "site": "KOB",
        },  # fmt: skip
        auth=basic("admin"),
    )
    assert r.status_code == 201


def test_site_refusals_name_the_field(client):
    cases = [
        ({"code": "sap", "name": "x", "time_zone": "UTC"}, "code"),  # lower case
        ({"code": "SAP", "name": "again", "time_zone": "UTC"}, "code"),  # taken
        ({"code": "NEW", "name": "x", "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"code": "NEW", "name": "", "time_zone": "UTC"}, "name"),
        ({"code": "NEW", "name": "x"}, "time_zone"),  # required: never a silent UTC
    ]
    for body, field in cases:
        r = client.post(f"{API}/admin/sites", json=body, auth=basic("admin"))
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == field
    assert client.post(f"{API}/admin/sites", json={"code": "NEW", "name": "x", "time_zone": "UTC"}, auth=basic("investigator")).status_code == 403  # fmt: skip
    names = [s["code"] for s in client.get(f"{API}/admin/sites", auth=basic("admin")).json()]
    assert names == ["OTH", "SAP"]


def test_sites_page_creates_a_site_and_keeps_typed_values_on_error(client):
    login(client, "admin")
    page = client.get("/admin/sites")
    assert page.status_code == 200 and "Asia/Tokyo" in page.text
    token = csrf_of(page.text)
    bad = client.post(
        "/admin/sites",
        data={"csrf_token": token, "code": "KOB", "name": "Kobe", "time_zone": "Nowhere/X"},
    )
    assert bad.status_code == 422
    assert 'id="err-time_zone"' in bad.text and 'value="Kobe"' in bad.text
    ok = client.post(
        "/admin/sites",
        data={"csrf_token": token, "code": "KOB", "name": "Kobe", "time_zone": "Asia/Tokyo"},
    )
    assert ok.status_code == 200 and "Site KOB created" in ok.text
    assert client.get("/admin/sites/KOB").status_code == 200
    assert "/admin/sites" in client.get("/admin/users").text  # in the Administration nav


# -- protocol -------------------------------------------------------------------------------------


def test_protocol_versions_and_amendments(client, today):
    body = client.get(f"{API}/protocol", auth=basic("monitor")).json()
    assert body["in_effect"] == 1
    v1 = body["versions"][0]
    assert v1["records"] > 0 and not v1["editable"]  # the scenario's records use it
    assert [c["code"] for c in v1["protocol"]["eligibility"]][0] == "onset_14_days"
    proto = v1["protocol"]
    # version 1 is frozen
    r = client.put(
        f"{API}/protocol/versions/1", json={"summary": "x", "protocol": proto}, auth=basic("admin")
    )
    assert r.status_code == 409 and r.json()["code"] == "protocol_in_use"
    # an amendment does not reach back
    amended = {**proto, "lot_shelf_life_days": 90}
    r = client.post(
        f"{API}/protocol/versions",
        json={
            "summary": "shelf life 90 d",
            "effective_from": (today - timedelta(days=1)).isoformat(),
            "protocol": amended,
        },
        auth=basic("admin"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "effective_from"
    r = client.post(
        f"{API}/protocol/versions",
        json={
            "summary": "shelf life 90 d",
            "effective_from": today.isoformat(),
            "protocol": amended,
        },
        auth=basic("admin"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["number"] == 2 and r.json()["editable"]
    # a record of today is collected under version 2, one of an earlier day under version 1
    new = client.post(
        f"{API}/patients/SAP-001/blood-draws",
        json={"drawn_on": today.isoformat(), "volume_ml": 100, "operator": "N"},
        auth=basic("investigator"),
    ).json()
    old = client.post(
        f"{API}/patients/SAP-001/blood-draws",
        json={
            "drawn_on": (INJURY + timedelta(days=15)).isoformat(),
            "volume_ml": 100,
            "operator": "N",
        },  # fmt: skip
        auth=basic("investigator"),
    ).json()
    assert (new["protocol_version"], old["protocol_version"]) == (2, 1)
    # only an admin of every site changes the protocol; a bad protocol names the field
    bad = {**proto, "visits": [{**proto["visits"][0], "anchor": "moon"}]}
    r = client.put(
        f"{API}/protocol/versions/2", json={"summary": "x", "protocol": bad}, auth=basic("admin")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("protocol.visits")
    assert client.post(f"{API}/protocol/versions", json={}, auth=basic("investigator")).status_code in (403, 422)  # fmt: skip


def test_protocol_page_shows_the_schedule_and_edits_as_toml(client, today):
    login(client, "admin")
    page = client.get("/protocol")
    assert page.status_code == 200
    assert "month6" in page.text and "Onset of the injury" in page.text
    token = csrf_of(page.text)
    text = to_toml(default_protocol()).replace(
        "lot_shelf_life_days = 180", "lot_shelf_life_days = 0"
    )
    r = client.post(
        "/protocol/amendments",
        data={
            "csrf_token": token,
            "summary": "bad",
            "effective_from": today.isoformat(),
            "protocol_toml": text,
        },
    )
    assert r.status_code == 422
    assert "lot_shelf_life_days" in r.text and "lot_shelf_life_days = 0" in r.text  # typed kept
    r = client.post(
        "/protocol/amendments",
        data={
            "csrf_token": token,
            "summary": "version 2",
            "effective_from": today.isoformat(),
            "protocol_toml": to_toml(default_protocol()),
        },
        follow_redirects=True,
    )
    assert "Amendment saved as protocol version 2" in r.text


# -- corrections ------------------------------------------------------------------------------------


def _eligibility_id(client, code: str = "SAP-001") -> int:
    timeline = client.get(f"{API}/patients/{code}", auth=basic("investigator")).json()
    assert any(e["kind"] == "eligibility" for e in timeline["timeline"])
    from cordtrial.store import db as store_db
    from cordtrial.store.models import Eligibility, Patient

    with store_db.session_scope(client.app.state.database_url) as s:
        pid = s.query(Patient.id).filter(Patient.study_code == code).scalar()
        return s.query(Eligibility.id).filter(Eligibility.patient_id == pid).scalar()


def _eligible_without_raw_material(client) -> str:
    """A new patient with a signed positive eligibility decision and nothing taken yet (a
    decision raw material relies on may not be corrected to not eligible)."""
    from test_web_trial_api import register

    from cordtrial.store.rules import eligible_answers

    code = register(client, INJURY)
    r = client.post(
        f"{API}/patients/{code}/eligibility",
        json={
            "assessed_on": (INJURY + timedelta(days=5)).isoformat(),
            "criteria": eligible_answers(default_protocol()),
            "password": PASSWORD["investigator"],
        },
        auth=basic("investigator"),
    )
    assert r.status_code == 201, r.text
    return code


def test_a_correction_needs_a_reason_and_invalidates_the_signature(client):
    eid = _eligibility_id(client, _eligible_without_raw_material(client))
    url = f"{API}/records/eligibility/{eid}"
    before = client.get(url, auth=basic("investigator")).json()
    assert [s["valid"] for s in before["signatures"]] == [True]
    criteria = dict(before["data"]["criteria"], infection=True)  # found later on the notes
    r = client.post(
        f"{url}/corrections",
        json={"changes": {"criteria": criteria}, "reason": " "},
        auth=basic("investigator"),  # fmt: skip
    )
    assert r.status_code == 422 or r.json()["code"] == "reason_required"
    r = client.post(
        f"{url}/corrections",
        json={"changes": {"criteria": criteria}, "reason": "infection noted in the chart"},
        auth=basic("investigator"),
    )
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["data"]["eligible"] is False
    assert [s["valid"] for s in after["signatures"]] == [False]
    change = after["history"][0]
    assert change["actor"] == "inv" and change["reason"] == "infection noted in the chart"
    assert change["changes"]["criteria"][0]["infection"] is False
    assert change["changes"]["criteria"][1]["infection"] is True
    # the role that may not, and the field that is not correctable
    assert client.post(f"{url}/corrections", json={"changes": {"assessed_on": "2020-01-01"}, "reason": "x"}, auth=basic("assessor")).status_code == 403  # fmt: skip
    r = client.post(f"{url}/corrections", json={"changes": {"eligible": True}, "reason": "x"}, auth=basic("investigator"))  # fmt: skip
    assert r.status_code == 422 and "criteria" in r.json()["errors"][0]["allowed"]


def test_a_corrected_date_is_checked_like_a_new_one(client):
    from cordtrial.store import db as store_db
    from cordtrial.store.models import MarrowHarvest, Patient

    with store_db.session_scope(client.app.state.database_url) as s:
        pid = s.query(Patient.id).filter(Patient.study_code == "SAP-001").scalar()
        hid = s.query(MarrowHarvest.id).filter(MarrowHarvest.patient_id == pid).scalar()
    url = f"{API}/records/marrow_harvests/{hid}/corrections"
    r = client.post(
        url,
        json={
            "changes": {"harvested_on": (INJURY + timedelta(days=2)).isoformat()},
            "reason": "typo",
        },  # fmt: skip
        auth=basic("investigator"),
    )
    # day 2 is before eligibility and consent (days 5 and 6)
    assert r.status_code == 409 and r.json()["code"] == "no_consent"
    r = client.post(
        url,
        json={"changes": {"harvested_on": "not a day"}, "reason": "typo"},
        auth=basic("investigator"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "harvested_on"
    r = client.post(
        url,
        json={"changes": {"volume_ml": 55}, "reason": "weighed bag"},
        auth=basic("investigator"),
    )
    assert r.status_code == 200 and r.json()["data"]["volume_ml"] == 55.0
    # another site's record is not found
    assert client.get(f"{API}/records/marrow_harvests/{hid}", auth=("inv-b", "invb-password-1")).status_code == 404  # fmt: skip


def test_correction_page_shows_old_new_who_why(client):
    login(client, "cell_processing")
    from cordtrial.store import db as store_db
    from cordtrial.store.models import CulturePassage

    with store_db.session_scope(client.app.state.database_url) as s:
        pid = s.query(CulturePassage.id).order_by(CulturePassage.id).first()[0]
    page = client.get(f"/records/culture_passages/{pid}")
    assert page.status_code == 200 and 'id="correct-form"' in page.text
    token = csrf_of(page.text)
    r = client.post(
        f"/records/culture_passages/{pid}",
        data={
            "csrf_token": token,
            "viability_pct": "101",
            "operator": "CPC operator",
            "reason": "typo",
        },  # fmt: skip
    )
    assert r.status_code == 422 and 'id="err-viability_pct"' in r.text and 'value="101"' in r.text
    r = client.post(
        f"/records/culture_passages/{pid}",
        data={"csrf_token": token, "viability_pct": "93.0", "reason": ""},
    )
    assert r.status_code == 422 and 'id="err-reason"' in r.text
    r = client.post(
        f"/records/culture_passages/{pid}",
        data={"csrf_token": token, "viability_pct": "93.0", "reason": "batch record p.3"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "Corrected: viability_pct" in r.text
    # the lot's QA signature is not affected by a passage; its record history is kept
    login(client, "investigator")
    page = client.get(f"/records/culture_passages/{pid}")
    assert "95.0 → 93.0" in page.text and "batch record p.3" in page.text


# -- the trial report -------------------------------------------------------------------------------


def test_report_is_built_in_the_background_like_the_cli(client, scenario):
    from cordtrial.report.builder import build
    from cordtrial.store import db as store_db
    from cordtrial.store.tables import analysis_tables

    assert client.post(f"{API}/reports", auth=basic("qa")).status_code == 403
    r = client.post(f"{API}/reports", auth=basic("statistician"))
    assert r.status_code == 202, r.text
    job = r.json()
    for _ in range(600):
        job = client.get(f"{API}/reports/{job['id']}", auth=basic("statistician")).json()
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.2)
    assert job["state"] == "done", job
    assert job["steps"][0] == "reading the trial's analysis tables" and job["steps"][-1] == "done"
    html = client.get(f"{API}/reports/{job['id']}/html", auth=basic("statistician"))
    assert "default-src 'none'" in html.headers["content-security-policy"]
    with store_db.session_scope(scenario.url) as s:
        expected = build(analysis_tables(s), data_source="trial database")
    for section in expected.sections:
        assert section.title in html.text
    # another user's report is not found
    assert client.get(f"{API}/reports/{job['id']}", auth=basic("monitor")).status_code == 404
    assert json.dumps(job)  # the state is plain JSON
    assert PASSWORD  # fixture passwords unchanged


def _ids(client, model):
    from cordtrial.store import db as store_db
    from cordtrial.store.models import Patient

    with store_db.session_scope(client.app.state.database_url) as s:
        pid = s.query(Patient.id).filter(Patient.study_code == "SAP-001").scalar()
        return [i for (i,) in s.query(model.id).filter(model.patient_id == pid).order_by(model.id)]


def test_a_correction_cannot_move_raw_material_after_its_culture_or_consent(client):
    """SAP-001: consent day 6, draws days 7 and 9, harvest day 10, culture started day 11 (from
    that harvest and both draws). Each corrected day below is valid on its own (after consent,
    within the protocol's days) but would contradict a record that relies on it."""
    from cordtrial.store.models import BloodDraw, Consent, MarrowHarvest

    def correct(table, rid, field, day):
        return client.post(
            f"{API}/records/{table}/{rid}/corrections",
            json={"changes": {field: (INJURY + timedelta(days=day)).isoformat()}, "reason": "typo"},
            auth=basic("investigator"),
        )

    cases = (
        ("marrow_harvests", _ids(client, MarrowHarvest)[0], "harvested_on", "the culture"),
        ("blood_draws", _ids(client, BloodDraw)[1], "drawn_on", "the culture"),
    )
    for table, rid, field, why in cases:
        r = correct(table, rid, field, 12)
        assert r.status_code == 422, (table, r.text)
        error = r.json()["errors"][0]
        assert error["field"] == field and why in error["allowed"]
        assert (INJURY + timedelta(days=11)).isoformat() in error["allowed"]
        assert correct(table, rid, field, 11).status_code == 200  # the culture's own day is fine
    consent = _ids(client, Consent)[0]
    r = correct("consents", consent, "consent_date", 8)  # after the first draw (day 7)
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert error["field"] == "consent_date" and "raw material" in error["allowed"]
    assert correct("consents", consent, "consent_date", 7).status_code == 200


def test_every_link_of_the_administration_menu_opens_a_page(client):
    """The menu's Protocol link pointed at /admin/protocol, a 404."""
    import re

    login(client, "admin")
    page = client.get("/admin/users")
    nav = re.search(r'<nav class="actions" aria-label="Administration">(.*?)</nav>', page.text)
    links = re.findall(r'href="([^"]+)"', nav.group(1))
    assert "/protocol" in links and len(links) == 4
    for href in links:
        assert client.get(href).status_code == 200, href


def test_a_site_time_zone_is_a_place_not_the_servers_setting(client):
    """'localtime' (the server's own setting) and 'Factory' were offered and accepted."""
    for name in ("localtime", "Factory"):
        r = client.post(
            f"{API}/admin/sites",
            json={"code": "KOB", "name": "Kobe General", "time_zone": name},
            auth=basic("admin"),
        )
        assert r.status_code == 422, (name, r.text)
        assert r.json()["errors"][0]["field"] == "time_zone"
    login(client, "admin")
    page = client.get("/admin/sites").text
    assert '<option value="Asia/Tokyo"' in page
    assert '<option value="localtime"' not in page and '<option value="Factory"' not in page
