"""Issue 13: every step of a patient's start has an API operation (in the OpenAPI document), and
each refuses the wrong role, the wrong site, another patient's serum or harvest and bad dates,
saving nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import INJURY, PASSWORD, TODAY, USERNAME
from test_web_api import API, basic

from cordtrial.store.protocol import default_protocol
from cordtrial.store.rules import eligible_answers

STEP_PATHS = (
    "/api/v1/patients",
    "/api/v1/patients/{code}/injury",
    "/api/v1/patients/{code}/eligibility",
    "/api/v1/patients/{code}/consents",
    "/api/v1/patients/{code}/consent-withdrawal",
    "/api/v1/patients/{code}/blood-draws",
    "/api/v1/patients/{code}/harvests",
    "/api/v1/patients/{code}/lots",
    "/api/v1/patients/{code}/end-of-study",
)


def day(n: int, injury: date) -> str:
    return (injury + timedelta(days=n)).isoformat()


def post(client, path, body, role="investigator", **kw):
    return client.post(f"{API}{path}", json=body, auth=basic(role), **kw)


def test_every_step_is_an_api_operation_with_its_request_model(client):
    spec = client.get(f"{API}/openapi.json").json()
    for path in STEP_PATHS:
        op = spec["paths"][path]["post"]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.split("/")[-1].endswith("In"), path
        assert "Idempotency-Key" in [p["name"] for p in op["parameters"] if p["in"] == "header"]
    label = spec["paths"]["/api/v1/lots/{lot_id}/label"]["get"]
    assert "image/svg+xml" in label["responses"]["200"]["content"]


def register(client, injury: date, **over) -> str:
    body = {"sex": "F", "age_at_injury": 41, "full_name": "Hanako Example", **over}
    r = post(client, "/patients", body)
    assert r.status_code == 201, r.text
    code = r.json()["study_code"]
    r = post(
        client,
        f"/patients/{code}/injury",
        {
            "injury_date": injury.isoformat(),
            "level": "C6",
            "mechanism": "fall from height",
            "non_penetrating": True,
        },
    )
    assert r.status_code == 201, r.text
    return code


def enrol(client, code: str, injury: date) -> None:
    r = post(
        client,
        f"/patients/{code}/eligibility",
        {
            "assessed_on": day(6, injury),
            "criteria": eligible_answers(default_protocol()),
            "password": PASSWORD["investigator"],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["data"]["eligible"] is True
    assert r.json()["signatures"][0]["meaning"] == "eligibility assessed and confirmed"
    r = post(
        client,
        f"/patients/{code}/consents",
        {"consent_date": day(6, injury), "form_version": "ICF 2.1"},
    )
    assert r.status_code == 201, r.text


def raw_material(client, code: str, injury: date) -> dict:
    draws = []
    for n in (14, 21):
        r = post(
            client,
            f"/patients/{code}/blood-draws",
            {
                "drawn_on": day(n, injury),
                "volume_ml": 240,
                "serum_volume_ml": 110,
                "operator": "Nurse B",
            },
        )
        assert r.status_code == 201, r.text
        draws.append(r.json()["id"])
    r = post(
        client,
        f"/patients/{code}/harvests",
        {"harvested_on": day(22, injury), "volume_ml": 50, "operator": "Dr C"},
    )
    assert r.status_code == 201, r.text
    return {"harvest_id": r.json()["id"], "serum_draw_ids": draws}


def test_a_new_patient_through_the_api(client):
    injury = TODAY - timedelta(days=40)
    code = register(client, injury)
    assert code == "SAP-003"  # the site's next free pseudonymous code
    who = client.get(f"{API}/patients/{code}/identity", auth=basic("investigator")).json()
    assert who["full_name"] == "Hanako Example"
    # identifying data: not in the study data, not for other roles
    assert "Hanako" not in client.get(f"{API}/patients/{code}", auth=basic("monitor")).text
    assert client.get(f"{API}/patients/{code}/identity", auth=basic("monitor")).status_code == 403
    enrol(client, code, injury)
    material = raw_material(client, code, injury)
    r = post(
        client,
        f"/patients/{code}/lots",
        {**material, "label_code": code, "culture_started_on": day(22, injury)},
        role="cell_processing",
    )
    assert r.status_code == 201, r.text
    lot = r.json()
    assert lot["lot_number"] == f"{code}-L1" and lot["status"] == "in_process"
    assert lot["protocol_version"] == 1
    label = client.get(f"{API}/lots/{lot['id']}/label", auth=basic("monitor"))
    assert label.headers["content-type"].startswith("image/svg+xml")
    assert f"{code}-L1" in label.text and code in label.text and "<path" in label.text
    # the patient's timeline and visit schedule
    body = client.get(f"{API}/patients/{code}", auth=basic("monitor")).json()
    assert body["stage"] == "Cell culture"
    kinds = [e["kind"] for e in body["timeline"]]
    assert kinds[:4] == ["injury", "eligibility", "consent", "blood_draw"]
    r = post(client, f"/patients/{code}/visit-plan", {"planned_infusion": day(45, injury)})
    assert r.status_code == 201 and len(r.json()["visits"]) == 9


def test_a_blood_draw_outside_the_planned_days_is_a_noted_deviation(client):
    r = post(
        client,
        "/patients/SAP-001/blood-draws",
        {"drawn_on": day(12, INJURY), "volume_ml": 100, "operator": "Nurse"},
    )
    assert r.status_code == 201
    assert "protocol deviation" in r.json()["notes"][0]


def _draw_deviations(client, code: str) -> list[dict]:
    rows = client.get(f"{API}/deviations?kind=procedure", auth=basic("monitor")).json()
    return [d for d in rows if d["patient"] == code and d["description"].startswith("blood draw")]


def test_a_blood_draw_deviation_is_recorded_once_and_kept_through_corrections(client):
    injury = TODAY - timedelta(days=20)
    code = register(client, injury)
    enrol(client, code, injury)
    r = post(
        client,
        f"/patients/{code}/blood-draws",
        {"drawn_on": day(10, injury), "volume_ml": 100, "operator": "Nurse"},
    )
    assert r.status_code == 201, r.text
    draw = r.json()["id"]
    [dev] = _draw_deviations(client, code)
    assert dev["status"] == "open" and dev["kind"] == "procedure"
    assert dev["description"] == "blood draw: " + r.json()["notes"][0].removeprefix(
        "protocol deviation: "
    )

    def correct(changes: dict) -> None:
        body = {"changes": changes, "reason": "as in the source document"}
        r = post(client, f"/records/blood_draws/{draw}/corrections", body)
        assert r.status_code == 200, r.text

    correct({"volume_ml": 120})  # the deviation is the same: not recorded twice
    assert _draw_deviations(client, code) == [dev]
    correct({"drawn_on": day(15, injury)})  # in the planned days now: no deviation any more
    assert _draw_deviations(client, code) == [dev]  # the recorded one stays, for review
    correct({"drawn_on": day(12, injury)})  # a different deviation: the recorded one follows
    [moved] = _draw_deviations(client, code)
    assert moved["id"] == dev["id"] and "day 12 after injury" in moved["description"]


# -- refusals ---------------------------------------------------------------------------------------


def test_wrong_role_is_refused_for_every_step(client):
    injury = {"injury_date": TODAY.isoformat(), "level": "C5", "mechanism": "x"}
    assert post(client, "/patients/SAP-001/injury", injury, role="assessor").status_code == 403
    reg = {"age_at_injury": 40, "full_name": "X"}
    assert post(client, "/patients", reg, role="monitor").status_code == 403
    lot = {"label_code": "SAP-001", "harvest_id": 1, "serum_draw_ids": [1], "culture_started_on": TODAY.isoformat()}  # fmt: skip
    assert post(client, "/patients/SAP-001/lots", lot, role="investigator").status_code == 403
    draw = {"drawn_on": TODAY.isoformat(), "volume_ml": 10, "operator": "x"}
    assert post(client, "/patients/SAP-001/blood-draws", draw, role="qa").status_code == 403
    end = {"ended_on": TODAY.isoformat(), "reason": "completed"}
    assert (
        post(client, "/patients/SAP-001/end-of-study", end, role="statistician").status_code == 403
    )


def test_wrong_site_is_refused(client):
    draw = {"drawn_on": day(15, INJURY), "volume_ml": 100, "operator": "Nurse"}
    r = post(client, "/patients/OTH-001/blood-draws", draw)
    assert r.status_code == 403 and r.json()["code"] == "other_site"
    # registering at another site
    r = post(client, "/patients", {"age_at_injury": 40, "full_name": "X", "site": "OTH"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "site"


def _material_ids(client, code: str) -> tuple[int, list[int]]:
    from cordtrial.store import db as store_db
    from cordtrial.store.models import BloodDraw, MarrowHarvest, Patient

    url = client.app.state.database_url
    with store_db.session_scope(url) as s:
        pid = s.query(Patient.id).filter(Patient.study_code == code).scalar()
        harvest = s.query(MarrowHarvest.id).filter(MarrowHarvest.patient_id == pid).scalar()
        draws = [d for (d,) in s.query(BloodDraw.id).filter(BloodDraw.patient_id == pid)]
    return harvest, draws


def test_another_patients_serum_or_harvest_is_refused(client):
    own_harvest, own_serum = _material_ids(client, "SAP-001")
    other_harvest, other_serum = _material_ids(client, "SAP-002")
    remote_harvest, _ = _material_ids(client, "OTH-001")
    base = {"label_code": "SAP-001", "culture_started_on": day(12, INJURY)}
    cases = [
        ({"harvest_id": own_harvest, "serum_draw_ids": other_serum}, 409, "wrong_patient_serum"),
        ({"harvest_id": other_harvest, "serum_draw_ids": own_serum}, 409, "wrong_patient_lot"),
        ({"harvest_id": remote_harvest, "serum_draw_ids": own_serum}, 422, None),
    ]
    for material, status, code in cases:
        r = post(client, "/patients/SAP-001/lots", {**base, **material}, role="cell_processing")
        assert r.status_code == status, r.text
        if code:
            assert r.json()["code"] == code
    # the label read at the processing center must be this patient's
    r = post(
        client,
        "/patients/SAP-001/lots",
        {**base, "harvest_id": own_harvest, "serum_draw_ids": own_serum, "label_code": "SAP-002"},
        role="cell_processing",
    )
    assert r.status_code == 409 and r.json()["code"] == "identity_mismatch"
    lots = client.get(f"{API}/lots", auth=basic("cell_processing")).json()
    assert [lot["lot_number"] for lot in lots] == ["LOT-SAP-001", "LOT-SAP-002"]  # none added


@dataclass(frozen=True)
class FromToday:
    """A day counted from the test's today, resolved when the test runs (parameters are
    built at collection, which may be the day before: the suite can cross midnight)."""

    days: int

    def on(self, today: date) -> str:
        return (today + timedelta(days=self.days)).isoformat()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # an injury to come
        (
            "/patients/SAP-003/injury",
            {
                "injury_date": FromToday(1),
                "level": "C5",
                "mechanism": "x",
            },
            "injury_date",
        ),
        # a harvest before the injury
        (
            "/patients/SAP-001/harvests",
            {"harvested_on": day(-1, INJURY), "volume_ml": 40, "operator": "Dr"},
            "harvested_on",
        ),
        # a harvest later than the protocol's 31 days after injury
        (
            "/patients/SAP-001/harvests",
            {"harvested_on": day(32, INJURY), "volume_ml": 40, "operator": "Dr"},
            "harvested_on",
        ),
        # consent on a day to come
        (
            "/patients/SAP-001/consents",
            {"consent_date": FromToday(3), "form_version": "2"},
            "consent_date",
        ),
        # eligibility assessed more than 14 days after the injury, answered "onset <= 14 days"
        (
            "/patients/SAP-001/eligibility",
            {
                "assessed_on": day(20, INJURY),
                "criteria": eligible_answers(default_protocol()),
                "password": PASSWORD["investigator"],
            },
            "criteria.onset_14_days",
        ),
        # the end of study before records already dated
        (
            "/patients/SAP-001/end-of-study",
            {"ended_on": day(8, INJURY), "reason": "lost_to_follow_up"},
            "ended_on",
        ),
    ],
)
def test_bad_dates_are_refused_naming_the_field(client, today, path, body, field):
    body = {k: v.on(today) if isinstance(v, FromToday) else v for k, v in body.items()}
    if path.startswith("/patients/SAP-003"):
        assert post(client, "/patients", {"age_at_injury": 40, "full_name": "X"}).status_code == 201
    before = client.get(f"{API}/patients/SAP-001", auth=basic("monitor")).json()["timeline"]
    r = post(client, path, body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field, r.json()
    after = client.get(f"{API}/patients/SAP-001", auth=basic("monitor")).json()["timeline"]
    assert after == before  # nothing saved


def test_raw_material_before_consent_is_refused(client):
    injury = TODAY - timedelta(days=20)
    code = register(client, injury)
    r = post(
        client,
        f"/patients/{code}/harvests",
        {"harvested_on": day(10, injury), "volume_ml": 40, "operator": "Dr"},
    )
    assert r.status_code == 409 and r.json()["code"] == "no_consent"
    enrol(client, code, injury)  # eligibility and consent on day 6
    r = post(
        client,
        f"/patients/{code}/blood-draws",
        {"drawn_on": day(5, injury), "volume_ml": 40, "operator": "Dr"},
    )
    assert r.status_code == 409 and "on " + day(5, injury) in r.json()["detail"]


def test_release_and_infusion_are_checked_against_their_days(client, scenario):
    lot = scenario.lot_quarantine
    # released before the last release test was done
    r = client.post(
        f"{API}/lots/{lot}/release",
        json={
            "password": PASSWORD["qa"],
            "meaning": "released for clinical use",
            "released_on": day(20, INJURY),
        },
        auth=basic("qa"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "released_on"
    r = client.post(
        f"{API}/lots/{lot}/release",
        json={
            "password": PASSWORD["qa"],
            "meaning": "released for clinical use",
            "released_on": (TODAY - timedelta(days=2)).isoformat(),
        },
        auth=basic("qa"),
    )
    assert (
        r.status_code == 200 and r.json()["released_on"] == (TODAY - timedelta(days=2)).isoformat()
    )
    # an infusion on a day before the release
    start = datetime.combine(TODAY - timedelta(days=3), datetime.min.time(), UTC).replace(hour=9)
    from test_web_api import infusion_body

    body = infusion_body(
        wristband_code="SAP-001",
        label_code="LOT-SAP-001",
        infused_on=(TODAY - timedelta(days=3)).isoformat(),
        weight_measured_on=(TODAY - timedelta(days=3)).isoformat(),
        started_at=start.isoformat(),
        stopped_at=(start + timedelta(minutes=100)).isoformat(),
    )
    r = client.post(f"{API}/patients/SAP-001/infusions", json=body, auth=basic("investigator"))
    assert r.status_code == 409 and r.json()["code"] == "lot_not_released"
    assert "released on" in r.json()["detail"]


def test_withdrawal_ends_participation_and_later_records_are_refused(client):
    r = post(
        client,
        "/patients/SAP-001/consent-withdrawal",
        {"withdrawn_on": TODAY.isoformat(), "use": "data_only", "reason": "moved away"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["data"]["withdrawal_use"] == "data_only"
    p = client.get(f"{API}/patients/SAP-001", auth=basic("monitor")).json()
    assert p["stage"] == "Withdrawn" and p["status"] == "withdrawn"
    r = post(
        client,
        "/patients/SAP-001/end-of-study",
        {"ended_on": TODAY.isoformat(), "reason": "completed"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "ended_on"


def test_an_unknown_withdrawal_use_names_the_allowed_values(client):
    r = post(
        client,
        "/patients/SAP-001/consent-withdrawal",
        {"withdrawn_on": TODAY.isoformat(), "use": "everything"},
    )
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["field"] == "use" and "data_only" in err["allowed"]


def test_user_names_are_not_used_as_study_codes(client):
    r = post(client, "/patients", {"age_at_injury": 40, "full_name": "X", "study_code": "Hanako"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "study_code"
    assert USERNAME  # the fixture's accounts are untouched
