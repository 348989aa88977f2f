"""Defects a walk of a new trial in a browser found (every role through pages only): times in
the site's time zone, refusals in sentences, nested form errors, exports with a header, the
age at injury against the date of birth, corrected eligibility against the raw material."""

from __future__ import annotations

from datetime import timedelta

from conftest import INJURY, PASSWORD, TODAY, csrf_of, login
from test_web_api import API, basic

from cordtrial.store.protocol import default_protocol
from cordtrial.store.rules import eligible_answers


def _ids(client, model, code="SAP-001"):
    from cordtrial.store import db as store_db
    from cordtrial.store.models import Patient

    with store_db.session_scope(client.app.state.database_url) as s:
        pid = s.query(Patient.id).filter(Patient.study_code == code).scalar()
        if model.__name__ in ("Patient", "PatientIdentity"):
            return [pid]  # an identity is keyed by its patient
        return [i for (i,) in s.query(model.id).filter(model.patient_id == pid).order_by(model.id)]


def _correct(client, table, rid, changes):
    return client.post(
        f"{API}/records/{table}/{rid}/corrections",
        json={"changes": changes, "reason": "source document"},
        auth=basic("investigator"),
    )


# -- age at injury and date of birth ---------------------------------------------------------------


def _born(age: int, before_injury_days: int = 30) -> str:
    """A date of birth that makes the patient ``age`` on the injury day of the scenario."""
    day = INJURY - timedelta(days=before_injury_days)
    try:
        return day.replace(year=day.year - age).isoformat()
    except ValueError:  # 29 February
        return (day - timedelta(days=1)).replace(year=day.year - age).isoformat()


def test_registration_refuses_an_age_older_than_the_date_of_birth_allows(client):
    body = {"sex": "F", "full_name": "Hanako Example", "date_of_birth": _born(30)}
    r = client.post(
        f"{API}/patients", json={**body, "age_at_injury": 45}, auth=basic("investigator")
    )
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert "date of birth" in error["allowed"] and "age at injury" in error["allowed"]
    ok = client.post(
        f"{API}/patients", json={**body, "age_at_injury": 30}, auth=basic("investigator")
    )
    assert ok.status_code == 201, ok.text
    # the injury day is then checked against both: an injury before birth is refused
    code = ok.json()["study_code"]
    injury = {"level": "C5", "mechanism": "fall", "non_penetrating": True}
    r = client.post(
        f"{API}/patients/{code}/injury",
        json={**injury, "injury_date": INJURY.isoformat()},
        auth=basic("investigator"),
    )
    assert r.status_code == 201, r.text
    # a correction of the age is checked against the date of birth
    from cordtrial.store.models import Patient

    r = _correct(client, "patients", _ids(client, Patient, code)[0], {"age_at_injury": 50})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "age_at_injury", r.text
    assert "date of birth" in r.json()["errors"][0]["allowed"]
    # moving the injury a year back contradicts the age stated for it
    from cordtrial.store.models import Injury

    injury = _ids(client, Injury, code)[0]
    r = _correct(client, "injuries", injury, {"injury_date": (INJURY - timedelta(days=400)).isoformat()})  # fmt: skip
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "injury_date"
    assert "date of birth" in r.json()["errors"][0]["allowed"]


def test_a_corrected_date_of_birth_must_agree_with_the_age_at_injury(client):
    from cordtrial.store.models import PatientIdentity

    identity = _ids(client, PatientIdentity)[0]  # SAP-001: 45 at the injury, no birth date yet
    r = _correct(client, "patient_identities", identity, {"date_of_birth": _born(30)})
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert error["field"] == "date_of_birth" and "age at injury (45)" in error["allowed"]


def test_the_registration_page_shows_the_contradiction_at_the_field(client):
    login(client, "investigator")
    token = csrf_of(client.get("/patients/new").text)
    r = client.post(
        "/patients/new",
        data={
            "csrf_token": token,
            "full_name": "Taro Example",
            "age_at_injury": "60",
            "date_of_birth": _born(30),
            "sex": "M",
        },
    )
    assert r.status_code == 422
    assert 'id="err-date_of_birth"' in r.text and "age at injury (60)" in r.text


# -- eligibility corrections against the raw material ----------------------------------------------


def test_a_corrected_eligibility_still_covers_the_raw_material_taken(client):
    """SAP-001: eligibility day 5, consent day 6, draws days 7 and 9, harvest day 10."""
    from cordtrial.store.models import Eligibility

    eid = _ids(client, Eligibility)[0]
    r = _correct(client, "eligibility", eid, {"assessed_on": (INJURY + timedelta(days=8)).isoformat()})  # fmt: skip
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert error["field"] == "assessed_on"
    assert (INJURY + timedelta(days=7)).isoformat() in error["allowed"]
    assert "raw material" in error["allowed"]
    criteria = dict(eligible_answers(default_protocol()), infection=True)
    r = _correct(client, "eligibility", eid, {"criteria": criteria})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "criteria"
    assert "raw material" in r.json()["errors"][0]["allowed"]
    ok = _correct(client, "eligibility", eid, {"assessed_on": (INJURY + timedelta(days=7)).isoformat()})  # fmt: skip
    assert ok.status_code == 200, ok.text
    # the correction page shows the same refusal at the field
    login(client, "investigator")
    page = client.get(f"/records/eligibility/{eid}")
    day8 = (INJURY + timedelta(days=8)).isoformat()
    r = client.post(
        f"/records/eligibility/{eid}",
        data={"csrf_token": csrf_of(page.text), "assessed_on": day8, "reason": "typo"},
    )
    assert r.status_code == 422 and 'id="err-assessed_on"' in r.text and "raw material" in r.text


# -- exports ---------------------------------------------------------------------------------------


def _header(text: str) -> list[str]:
    return text.splitlines()[0].split(",") if text else []


def test_an_export_without_rows_is_its_header_line(client, tmp_path):
    """An empty store: every export was a 0-byte file; each is now its header, the same one
    the export has with rows (the scenario's store)."""
    from fastapi.testclient import TestClient

    from cordtrial.store import db as store_db
    from cordtrial.store.services import users
    from cordtrial.web.app import create_app
    from cordtrial.web.exports import EXPORTS

    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    store_db.upgrade(url)
    with store_db.session_scope(url) as s:
        users.create_user(
            None, s, username="stat", display_name="Stat", role="statistician",
            site=None, password="sta-password-1",
        )  # fmt: skip
    login(client, "statistician")
    with TestClient(create_app(url, secret_key="t"), base_url="https://testserver") as empty:
        login(empty, username="stat", password="sta-password-1")
        for name in EXPORTS:
            if name == "audit_trail":  # the statistician does not read the audit trail
                continue
            r = empty.get(f"/exports/{name}.csv")
            assert r.status_code == 200, (name, r.text)
            assert r.text.endswith("\r\n") and r.text.count("\r\n") == 1, (name, r.text)
            full = client.get(f"/exports/{name}.csv").text
            assert _header(r.text) == _header(full), name


def test_the_patients_export_has_the_end_of_study(client):
    r = client.post(
        f"{API}/patients/SAP-002/end-of-study",
        json={"ended_on": TODAY.isoformat(), "reason": "other", "detail": "moved abroad"},
        auth=basic("investigator"),
    )
    assert r.status_code in (200, 201), r.text
    login(client, "statistician")
    text = client.get("/exports/patients.csv").text
    header = _header(text)
    assert {"ended_on", "end_reason", "end_detail"} <= set(header)
    row = next(line for line in text.splitlines() if line.startswith("SAP-002,"))
    cells = dict(zip(header, row.split(","), strict=True))
    assert cells["end_reason"] == "other" and cells["end_detail"] == "moved abroad"


def test_the_deviations_export_without_rows_has_its_header(client):
    from cordtrial.web.routers.data_management import DEVIATION_COLUMNS

    login(client, "monitor")
    r = client.get("/deviations.csv?status=closed")  # none closed in the scenario
    assert r.status_code == 200, r.text
    assert r.text == ",".join(DEVIATION_COLUMNS) + "\r\n"


# -- nested form errors ----------------------------------------------------------------------------


def test_a_nested_field_error_says_what_that_field_allows():
    """Unit: the error of a visit window or a release-test limit named the enclosing field's
    description ("the whole protocol: visit schedule, ...")."""
    from pydantic import ValidationError

    from cordtrial.web.forms import pydantic_error, readable_path
    from cordtrial.web.trial_schemas import ProtocolEditIn

    data = default_protocol().model_dump(mode="json")
    data["visits"][1]["minus"] = -3
    data["release_tests"][0]["min"] = "abc"
    data["dose"]["min_rate_ml_per_min"] = 50
    try:
        ProtocolEditIn.model_validate({"summary": "x", "protocol": data})
    except ValidationError as exc:
        errors = {e["field"]: e for e in (pydantic_error(x, ProtocolEditIn) for x in exc.errors())}
    minus = errors["protocol.visits.1.minus"]
    assert minus["value"] == -3 and minus["allowed"] == "a whole number >= 0"
    assert errors["protocol.release_tests.0.min"]["allowed"] == "a number"
    assert "min_rate_ml_per_min is above max_rate_ml_per_min" in errors["protocol.dose"]["allowed"]
    assert not any("the whole protocol" in e["allowed"] for e in errors.values())
    assert readable_path("visits.1.minus") == "visits #2 › minus"
    # a top-level field keeps its own description
    try:
        ProtocolEditIn.model_validate({"summary": "", "protocol": data})
    except ValidationError as exc:
        summary = [pydantic_error(x, ProtocolEditIn) for x in exc.errors()][0]
    assert summary["field"] == "summary" and "1-2000 characters" in summary["allowed"]


def test_the_protocol_page_names_the_nested_field_its_value_and_what_is_allowed(client):
    from cordtrial.store.protocol import to_toml

    login(client, "admin")
    token = csrf_of(client.get("/protocol").text)
    text = to_toml(default_protocol()).replace("minus = 7\n", "minus = -7\n", 1)
    r = client.post(
        "/protocol/amendments",
        data={
            "csrf_token": token,
            "summary": "bad window",
            "effective_from": TODAY.isoformat(),
            "protocol_toml": text,
        },
    )
    assert r.status_code == 422
    import re

    error = re.search(r'data-testid="amend-toml-error">(.*?)<', r.text, re.S).group(1)
    assert error == "visits #1 › minus: -7 not allowed: a whole number &gt;= 0", error


# -- refusals in sentences -------------------------------------------------------------------------


def _visible(html: str) -> str:
    """The page's text as read (tags and their attributes left out)."""
    import re

    return re.sub(r"<[^>]*>", " ", html)


def test_every_code_the_infusion_and_lot_rules_raise_has_a_sentence():
    """Unit: the refusal codes of the infusion, manufacturing and signature rules (read from
    the source, so a new code without a sentence fails here) each have a sentence."""
    import re
    from pathlib import Path

    from cordtrial.store.services import base, infusions, manufacturing
    from cordtrial.web.refusal_text import RULES, rule_text

    codes = set()
    for module in (base, infusions, manufacturing):
        text = Path(module.__file__).read_text(encoding="utf-8")
        codes |= set(re.findall(r'deny\(\s*session,\s*\w+,\s*"([a-z_]+)"', text))
        codes |= set(re.findall(r'return \(\s*"([a-z_]+)"', text))  # dose_problem's codes
    codes -= {"role_not_allowed", "other_site", "not_found"}  # answered as 403/404 pages
    assert {"identity_mismatch", "dose_above_maximum", "authentication_failed"} <= codes
    for code in codes:
        assert code in RULES, code
        assert "_" not in rule_text(code) and rule_text(code).endswith("."), code
    assert rule_text("some_new_code") == "Some new code."


def test_the_infusion_page_says_the_rule_not_its_code(client):
    from test_web_pages import _infusion_form

    token = login(client, "investigator")
    r = client.post(
        "/patients/SAP-002/infusions/new", data=_infusion_form(token, wristband_code="SAP-001")
    )
    assert r.status_code == 409
    text = _visible(r.text)
    assert "identity_mismatch" not in text and "Chain of identity" in text
    assert 'data-code="identity_mismatch"' in r.text  # kept for programs, not shown
    r = client.post(
        "/patients/SAP-002/infusions/new", data=_infusion_form(token, password="wrong-password-1")
    )
    assert "authentication_failed" not in _visible(r.text)
    assert "own password" in _visible(r.text)


def test_release_refusals_and_results_name_the_tests(client, scenario):
    from cordtrial.store import db as store_db
    from cordtrial.store.models import ReleaseTest

    with store_db.session_scope(client.app.state.database_url) as s:
        s.query(ReleaseTest).filter(
            ReleaseTest.lot_id == scenario.lot_quarantine, ReleaseTest.test_code == "hla_dr"
        ).delete()
    token = login(client, "qa")
    url = f"/lots/{scenario.lot_quarantine}"
    page = _visible(client.get(url).text)
    assert "no result yet" in page and "HLA-DR positive" in page
    r = client.post(
        f"{url}/release",
        data={"csrf_token": token, "password": PASSWORD["qa"], "meaning_confirmed": "on"},
    )
    assert r.status_code == 422
    text = _visible(r.text)
    assert "no result for HLA-DR positive" in text
    assert "release_tests_incomplete" not in text and "every required release test" in text
    client.cookies.clear()
    token = login(client, "cell_processing")
    assert ">HLA-DR positive</option>" in client.get(url).text  # the test's name, not hla_dr
    r = client.post(
        f"{url}/release-tests",
        data={"csrf_token": token, "test_code": "hla_dr", "value": "4.5", "method": "flow",
              "tested_on": TODAY.isoformat(), "analyst": "QC"},
    )  # fmt: skip
    assert "Release test HLA-DR positive recorded: 4.5 %, OUTSIDE the limit" in r.text, r.text


# -- the site's time zone --------------------------------------------------------------------------


def test_a_wall_clock_time_is_read_in_the_sites_zone():
    """Unit: 08:00 in Tokyo is 23:00 UTC the day before; its day at the site is the local one."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from cordtrial.store.models import Site
    from cordtrial.store.services.timing import local_day
    from cordtrial.web.forms import parse_datetime

    errors: dict[str, str] = {}
    tokyo = ZoneInfo("Asia/Tokyo")
    moment = parse_datetime("2026-05-20T08:00", "started_at", errors, tokyo)
    assert moment == datetime(2026, 5, 19, 23, 0, tzinfo=UTC) and not errors
    assert local_day(moment, Site(time_zone="Asia/Tokyo")).isoformat() == "2026-05-20"
    assert moment.date().isoformat() == "2026-05-19"  # the UTC day the rule used to compare
    assert parse_datetime("2026-05-20T08:00", "x", errors) == datetime(2026, 5, 20, 8, tzinfo=UTC)
    parse_datetime("8 o'clock", "started_at", errors, tokyo)
    assert "Asia/Tokyo" in errors["started_at"]


def _site_zone(client, zone: str) -> None:
    r = client.patch(f"{API}/admin/sites/SAP", json={"time_zone": zone}, auth=basic("admin"))
    assert r.status_code == 200, r.text


def test_the_infusion_is_entered_and_shown_in_the_sites_time_zone(client):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from test_web_pages import _infusion_form

    _site_zone(client, "Asia/Tokyo")
    token = login(client, "investigator")
    form = client.get("/patients/SAP-002/infusions/new").text
    assert "Started at (Asia/Tokyo)" in form and "(UTC)" not in form
    day = datetime.now(ZoneInfo("Asia/Tokyo")).date()  # the site's today
    r = client.post(
        "/patients/SAP-002/infusions/new",
        data=_infusion_form(
            token,
            infused_on=day.isoformat(),
            weight_measured_on=day.isoformat(),
            started_at=f"{day.isoformat()}T08:00",  # 23:00 UTC the day before
            stopped_at=f"{day.isoformat()}T09:40",
        ),
        follow_redirects=False,
    )
    assert r.status_code == 303, _visible(r.text)
    page = client.get(r.headers["location"]).text
    assert "Times (Asia/Tokyo)" in page and "08:00–09:40" in page
    from cordtrial.store import db as store_db
    from cordtrial.store.models import Infusion

    with store_db.session_scope(client.app.state.database_url) as s:
        started = s.query(Infusion.started_at).scalar()
    assert started.utcoffset() == timedelta(0)  # stored in UTC, as before
    assert started.isoformat() == f"{(day - timedelta(days=1)).isoformat()}T23:00:00+00:00"


def test_the_casebook_says_the_sites_today(client):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    _site_zone(client, "Pacific/Kiritimati")  # UTC+14: a day ahead of UTC most of the day
    login(client, "investigator")
    page = client.get("/patients/SAP-001/casebook").text
    assert "today (UTC)" not in page
    today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    assert f"{today} (Pacific/Kiritimati)" in page


def test_a_site_is_created_with_a_chosen_time_zone_never_a_silent_utc(client):
    r = client.post(f"{API}/admin/sites", json={"code": "KOB", "name": "Kobe"}, auth=basic("admin"))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "time_zone"
    login(client, "admin")
    page = client.get("/admin/sites").text
    select = page.split('id="f-time_zone"')[1].split("</select>")[0]
    assert "selected" not in select and "choose" in select
    r = client.post(
        "/admin/sites",
        data={"csrf_token": csrf_of(page), "code": "KOB", "name": "Kobe", "time_zone": ""},
    )
    assert r.status_code == 422 and 'id="err-time_zone"' in r.text
    assert "Kobe" in r.text  # what was typed is kept


def test_a_correction_of_a_time_is_read_and_shown_in_the_sites_zone(client, scenario):
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from cordtrial.store import db as store_db
    from cordtrial.store.models import CustodyEvent, Lot, User
    from cordtrial.store.services import manufacturing

    _site_zone(client, "Asia/Tokyo")
    at = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    with store_db.session_scope(client.app.state.database_url) as s:
        cpc = s.query(User).filter(User.username == "cpc").one()
        event = manufacturing.record_custody(
            cpc, s, s.get(Lot, scenario.lot_quarantine), at=at,
            from_location="CPC LN2 tank 1", to_location="ward 5",
        )  # fmt: skip
        s.flush()
        eid = event.id
    login(client, "cell_processing")
    page = client.get(f"/records/custody_events/{eid}")
    assert "the time in Asia/Tokyo" in page.text
    local = at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert local.isoformat(timespec="minutes") in page.text  # shown as the site's clock
    typed = (local - timedelta(minutes=5)).replace(tzinfo=None).isoformat(timespec="minutes")
    r = client.post(
        f"/records/custody_events/{eid}",
        data={"csrf_token": csrf_of(page.text), "at": typed, "reason": "clock on the form"},
        follow_redirects=False,
    )
    assert r.status_code == 303, _visible(r.text)
    with store_db.session_scope(client.app.state.database_url) as s:
        stored = s.get(CustodyEvent, eid).at
    assert stored == at - timedelta(minutes=5)  # the Tokyo time typed, kept as its moment


# -- record pages ----------------------------------------------------------------------------------


def test_a_record_page_reads_as_words(client):
    from cordtrial.store.models import MarrowHarvest

    hid = _ids(client, MarrowHarvest)[0]
    login(client, "monitor")
    page = client.get(f"/records/marrow_harvests/{hid}").text
    data = page.split('data-testid="record-data"')[1].split("</table>")[0]
    assert "<th>id</th>" not in data and "<th>patient_id</th>" not in data
    assert "<th>harvested on</th>" in data
    note = page.split('data-testid="no-correction">')[1].split("<")[0]
    assert note == "Your role (Monitor) may not correct records of this kind (bone-marrow harvest)."


def test_the_infusion_form_shows_all_its_errors_together(client):
    """The store stopped at the first broken rule: the rate was reported only once the weight
    day was fixed, then the stop time. All are now reported at once, each at its field."""
    from datetime import timedelta

    from test_web_pages import _infusion_form

    token = login(client, "investigator")
    r = client.post(
        "/patients/SAP-002/infusions/new",
        data=_infusion_form(
            token,
            weight_measured_on=(TODAY - timedelta(days=20)).isoformat(),
            rate_ml_per_min="50",
            stopped_at=f"{TODAY.isoformat()}T08:00",  # before the start at 09:00
        ),
    )
    assert r.status_code == 409
    for field in ("weight_measured_on", "rate_ml_per_min", "stopped_at"):
        assert f'id="err-{field}"' in r.text, field
    from test_web_api import infusion_body

    client.cookies.clear()  # the API, with its own credentials
    body = infusion_body(
        rate_ml_per_min=50, weight_measured_on=(TODAY - timedelta(days=20)).isoformat()
    )
    r = client.post(f"{API}/patients/SAP-002/infusions", json=body, auth=basic("investigator"))
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["weight_measured_on", "rate_ml_per_min"]


def test_an_exam_form_proposes_the_sites_today(client):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    _site_zone(client, "Pacific/Kiritimati")
    login(client, "assessor")
    today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    for url in ("/patients/SAP-001/exams/new", "/patients/SAP-001/instruments/scim3/new"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert f'value="{today}"' in page.text, url
