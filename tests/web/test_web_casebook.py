"""Casebook and data management in pages and the API, in-process: the casebook grid and its
statuses, plausibility confirmations, queries, source data verification cleared by a
correction, deviations, worklists with filters and CSV, double data entry, casebook and trial
locks, and the lock statement of the report."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from conftest import INJURY, OTHER_INVESTIGATOR, PASSWORD, USERNAME, amend_to_double_entry, login
from sqlalchemy import select

from cordtrial.store import db as store_db
from cordtrial.store.demo_records import ExamTarget, worksheet
from cordtrial.store.models import Patient, User
from cordtrial.store.services import assessments, users

API = "/api/v1"


def basic(role: str) -> httpx.BasicAuth:
    return httpx.BasicAuth(USERNAME[role], PASSWORD[role])


def exam() -> dict[str, str]:
    return worksheet(ExamTarget("c5", "c5", "A", uems=20, lems=0, lt_total=30, pp_total=26))


def store_exam(url: str, *, patient="SAP-001", user="ass", visit="screening", day=8) -> int:
    with store_db.session_scope(url) as s:
        who = s.scalar(select(User).where(User.username == user))
        p = s.scalar(select(Patient).where(Patient.study_code == patient))
        return assessments.record_isncsci(
            who,
            s,
            p,
            visit_code=visit,
            assessed_on=INJURY + timedelta(days=day),
            rhi=exam(),
            assessor_name="Dr Exam",
            blinded=False,
        ).id


def _cell(page: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}" data-status="([a-z_]+)"', page)
    assert match, testid
    return match.group(1)


# -- the casebook ------------------------------------------------------------------------------


def test_casebook_shows_each_cell_with_its_status_and_next_action(scenario, client):
    store_exam(scenario.url)
    login(client, "assessor")
    page = client.get("/patients/SAP-001/casebook").text
    assert _cell(page, "cell-screening-isncsci") == "done"
    assert _cell(page, "cell-month6-isncsci") == "not_yet_due"
    assert _cell(page, "cell-enrolment-injury") == "done"
    assert _cell(page, "cell-enrolment-lot") == "due"  # in quarantine, not released
    assert "window not yet known" in page  # infusion not planned: month 1 has no window yet
    assert 'data-testid="next-enrolment-infusion"' not in page  # assessors do not infuse
    assert 'data-testid="next-screening-isncsci"' in page  # sign off
    client.cookies.clear()  # the API calls below authenticate with HTTP Basic
    monitor = httpx.BasicAuth(USERNAME["monitor"], PASSWORD["monitor"])
    body = client.get(f"{API}/patients/SAP-001/casebook", auth=monitor).json()
    screening = next(v for v in body["visits"] if v["visit"] == "screening")
    cell = next(c for c in screening["cells"] if c["form"] == "isncsci")
    assert cell["status"] == "done" and cell["next_action"] == "verify against source"
    assert body["records"] >= 5 and body["verified_records"] == 0
    # another site's casebook is refused, as the patient is
    r = client.get(f"{API}/patients/OTH-001/casebook", auth=monitor)
    assert r.status_code == 403


def test_a_form_marked_not_done_shows_its_reason(client):
    token = login(client, "assessor")
    r = client.post(
        "/patients/SAP-001/casebook/not-done",
        data={
            "csrf_token": token,
            "visit_code": "screening",
            "form": "isncsci",
            "reason": "too ill",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/patients/SAP-001/casebook").text
    assert _cell(page, "cell-screening-isncsci") == "not_done" and "too ill" in page
    r = client.post(
        "/patients/SAP-001/casebook/not-done",
        data={"csrf_token": token, "visit_code": "screening", "form": "isncsci", "reason": "x"},
    )
    assert "already marked not done" in r.text


def test_after_the_end_of_study_later_visits_are_not_expected_anywhere(client):
    ended = (INJURY + timedelta(days=10)).isoformat()
    r = client.post(
        f"{API}/patients/SAP-002/end-of-study",
        json={"ended_on": ended, "reason": "lost_to_follow_up"},
        auth=basic("investigator"),
    )
    assert r.status_code == 201, r.text
    why = f"study ended {ended} (lost to follow up)"
    body = client.get(f"{API}/patients/SAP-002/casebook", auth=basic("monitor")).json()
    month6 = next(v for v in body["visits"] if v["visit"] == "month6")
    assert month6["state"] == "not_expected"
    assert {c["state"] for c in month6["cells"]} == {"not_expected"}
    assert month6["cells"][0]["not_expected_reason"] == why
    infusion = next(c for c in body["enrolment"] if c["form"] == "infusion")
    assert infusion["state"] == "not_expected" and infusion["next_action"] is None
    screening = next(v for v in body["visits"] if v["visit"] == "screening")
    assert screening["cells"][0]["state"] == "overdue"  # its window opened before the end
    login(client, "monitor")
    page = client.get("/patients/SAP-002/casebook").text
    assert _cell(page, "cell-month6-isncsci") == "not_expected"
    assert _cell(page, "cell-enrolment-infusion") == "not_expected"
    assert why in page
    rows = list(csv.DictReader(io.StringIO(client.get("/worklists/forms.csv").text)))
    assert [(r["visit"], r["form"]) for r in rows if r["patient"] == "SAP-002"] == [
        ("screening", "ISNCSCI")
    ]


# -- plausibility in pages and API -------------------------------------------------------------


def test_exam_before_consent_is_saved_only_once_confirmed(client):
    token = login(client, "assessor")
    form = {
        **exam(),
        "csrf_token": token,
        "visit_code": "screening",
        "assessed_on": (INJURY + timedelta(days=2)).isoformat(),  # consent: day 6
        "assessor_name": "A",
    }
    r = client.post("/patients/SAP-001/exams/new", data=form, follow_redirects=False)
    assert r.status_code == 422
    assert 'data-testid="warning-before_consent"' in r.text and "ICH E6(R3)" in r.text
    assert "before the consent" in r.text
    r = client.post(
        "/patients/SAP-001/exams/new",
        data={**form, "confirm": "before_consent"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert 'data-testid="confirmations"' in page and "before consent" in page


def test_api_out_of_window_needs_confirm_and_reason_and_records_a_deviation(client):
    body = {
        "visit_code": "screening",
        "assessed_on": (INJURY + timedelta(days=20)).isoformat(),  # window: days 0-14
        "assessor_name": "A",
        "blinded": False,
        "exam": exam(),
    }
    url = f"{API}/patients/SAP-001/isncsci-exams"
    r = client.post(url, json=body, auth=basic("assessor"))
    assert r.status_code == 409 and r.json()["code"] == "confirmation_required"
    [warning] = r.json()["warnings"]
    assert warning["rule"] == "visit_out_of_window" and "6 days late" in warning["message"]
    r = client.post(url, json={**body, "confirm": ["visit_out_of_window"]}, auth=basic("assessor"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "deviation_reason"
    r = client.post(
        url,
        json={**body, "confirm": ["visit_out_of_window"], "deviation_reason": "ICU until day 20"},
        auth=basic("assessor"),
    )
    assert r.status_code == 201, r.text
    [dev] = client.get(f"{API}/deviations?kind=visit_out_of_window", auth=basic("monitor")).json()
    assert dev["kind"] == "visit_out_of_window" and dev["days_outside"] == 6
    assert dev["reason"] == "ICU until day 20" and dev["status"] == "open"
    r = client.post(url, json={**body, "confirm": ["not_a_rule"]}, auth=basic("assessor"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("confirm")


def test_adverse_event_in_the_future_is_refused_naming_the_rule(client):
    from datetime import date

    body = {"term": "fever", "grade": 1, "serious": False}
    url = f"{API}/patients/SAP-001/adverse-events"
    future = (date.today() + timedelta(days=5)).isoformat()
    r = client.post(url, json={**body, "onset_date": future}, auth=basic("investigator"))
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_input" and "a day that has come" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "onset_date"
    before = (INJURY - timedelta(days=1)).isoformat()
    r = client.post(url, json={**body, "onset_date": before}, auth=basic("investigator"))
    assert r.status_code == 422 and "injury" in r.json()["detail"]


# -- queries and source data verification ------------------------------------------------------


def test_query_cycle_in_pages_and_sdv_cleared_by_a_correction(scenario, client):
    aid = store_exam(scenario.url)
    token = login(client, "monitor")
    assert 'data-testid="verify"' in client.get(f"/assessments/{aid}").text
    r = client.post(
        f"/records/assessments/{aid}/verify", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    r = client.post(
        f"/records/assessments/{aid}/queries",
        data={"csrf_token": token, "field": "data.c5RightMotor", "text": "Source shows 3?"},
        follow_redirects=False,
    )
    qurl = r.headers["location"]
    assert qurl.startswith("/queries/")
    assert 'data-testid="query-status">open<' in client.get(qurl).text
    client.cookies.clear()

    token = login(client, "assessor")
    assert client.post(f"{qurl}/close", data={"csrf_token": token, "text": "x"}).status_code == 403
    page = client.get(f"/assessments/{aid}/correct").text
    assert 'name="reason"' in page
    form = {
        **exam(),
        "c5RightMotor": "3",
        "csrf_token": token,
        "visit_code": "screening",
        "assessed_on": (INJURY + timedelta(days=8)).isoformat(),
        "assessor_name": "Dr Exam",
    }
    r = client.post(f"/assessments/{aid}/correct", data=form)
    assert r.status_code == 422 and "why the record is corrected" in r.text
    r = client.post(
        f"/assessments/{aid}/correct",
        data={**form, "reason": "query: worksheet says 3"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/assessments/{aid}").text
    assert "not verified" in page and "changed: data, result" in page
    r = client.post(
        f"{qurl}/answer",
        data={"csrf_token": token, "text": "Corrected to 3.", "correction": "true"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    client.cookies.clear()

    token = login(client, "monitor")
    client.post(f"{qurl}/close", data={"csrf_token": token, "text": "Matches source."})
    page = client.get(qurl).text
    assert 'data-testid="query-status">closed<' in page and "corrected" in page
    client.cookies.clear()
    audit = client.get(f"{API}/audit?table=data_queries", auth=basic("monitor")).json()
    assert [e["changes"]["status"] for e in reversed(audit) if "status" in e["changes"]] == [
        [None, "open"],
        ["open", "answered"],
        ["answered", "closed"],
    ]
    marks = client.get(f"{API}/audit?table=source_verifications", auth=basic("monitor")).json()
    assert [m["action"] for m in reversed(marks)] == ["create", "update"]


def test_query_api_and_refusals(scenario, client):
    aid = store_exam(scenario.url)
    body = {"record_table": "assessments", "record_id": aid, "text": "Please check the date."}
    r = client.post(f"{API}/queries", json=body, auth=basic("assessor"))
    assert r.status_code == 403
    r = client.post(f"{API}/queries", json={**body, "field": "nope"}, auth=basic("monitor"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "field"
    q = client.post(f"{API}/queries", json=body, auth=basic("monitor")).json()
    r = client.post(
        f"{API}/queries/{q['id']}/answer",
        json={"text": "fixed", "correction": True},
        auth=basic("assessor"),
    )
    assert r.status_code == 409 and r.json()["code"] == "no_correction"
    r = client.post(f"{API}/queries/{q['id']}/reopen", json={"text": "x"}, auth=basic("monitor"))
    assert r.status_code == 409 and r.json()["code"] == "query_transition"
    listed = client.get(f"{API}/queries?status=unresolved", auth=basic("investigator")).json()
    assert [x["id"] for x in listed] == [q["id"]]
    other = httpx.BasicAuth(*OTHER_INVESTIGATOR)
    assert client.get(f"{API}/queries/{q['id']}", auth=other).status_code == 403
    r = client.post(f"{API}/records/assessments/{aid}/verify", json={}, auth=basic("monitor"))
    assert r.status_code == 201
    r = client.post(f"{API}/records/assessments/{aid}/verify", json={}, auth=basic("monitor"))
    assert r.status_code == 409 and r.json()["code"] == "already_verified"
    sdv = client.get(f"{API}/sdv", auth=basic("monitor")).json()
    assert sdv["patients"][0]["name"] == "SAP-001" and sdv["patients"][0]["verified"] == 1


# -- worklists and deviations ------------------------------------------------------------------


def test_worklists_filter_and_export_csv(scenario, client):
    store_exam(scenario.url)
    login(client, "monitor")
    page = client.get("/worklists").text
    assert 'data-testid="wl-count-lots"' in page and 'data-testid="sdv-sites"' in page
    page = client.get("/worklists/forms?state=overdue").text
    assert "SAP-002" in page and "OTH-001" not in page
    r = client.get("/worklists/forms.csv?state=overdue&patient=SAP-002")
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows and {row["patient"] for row in rows} == {"SAP-002"}
    assert all(row["state"] == "overdue" for row in rows)
    lots = list(csv.DictReader(io.StringIO(client.get("/worklists/lots.csv").text)))
    assert [row["lot"] for row in lots] == ["LOT-SAP-001"]
    assert lots[0]["waiting_for"].startswith("QA release")
    r = client.get("/worklists/forms?state=late")
    assert r.status_code == 422 and "state" in r.text
    assert client.get("/worklists/nope").status_code == 404
    r = client.get(f"{API}/worklists/sdv?format=csv&patient=SAP-001", auth=basic("monitor"))
    assert "Injury" in r.text and r.headers["content-type"].startswith("text/csv")
    names = {w["name"] for w in client.get(f"{API}/worklists", auth=basic("qa")).json()}
    assert names == {"forms", "out-of-window", "lots", "expiry", "adverse-events", "queries", "sdv"}


def test_deviation_reported_closed_and_reopened_in_pages(client):
    token = login(client, "investigator")
    r = client.post(
        "/patients/SAP-001/deviations/new",
        data={
            "csrf_token": token,
            "kind": "procedure",
            "visit_code": "",
            "description": "harvest volume not written down",
            "reason": "form lost",
        },
        follow_redirects=False,
    )
    durl = r.headers["location"]
    assert re.fullmatch(r"/deviations/\d+", durl)
    client.cookies.clear()
    token = login(client, "monitor")
    client.post(f"{durl}/close", data={"csrf_token": token, "resolution": "minor"})
    assert 'data-testid="dev-status">closed<' in client.get(durl).text
    r = client.post(f"{durl}/close", data={"csrf_token": token, "resolution": "again"})
    assert "only a open deviation" in client.get(durl).text or r.status_code == 200
    client.post(f"{durl}/reopen", data={"csrf_token": token, "reason": "CAPA needed"})
    assert 'data-testid="dev-status">open<' in client.get(durl).text
    listed = client.get("/deviations?status=open").text
    assert "harvest volume not written down" in listed
    rows = list(csv.DictReader(io.StringIO(client.get("/deviations.csv?kind=procedure").text)))
    mine = [r["status"] for r in rows if r["description"] == "harvest volume not written down"]
    assert mine == ["open"]
    assert client.get("/deviations?status=bogus&kind=x").status_code == 200  # unknown: nothing
    assert client.get("/deviations?sort=x").status_code == 422
    client.cookies.clear()
    login(client, "assessor")
    assert (
        client.post(f"{durl}/close", data={"csrf_token": "x", "resolution": "r"}).status_code == 403
    )


# -- double data entry --------------------------------------------------------------------------


@pytest.fixture
def double_entry_protocol(scenario):
    amend_to_double_entry(scenario.url)


def _second_assessor(url: str) -> None:
    from cordtrial.store.models import Site

    with store_db.session_scope(url) as s:
        users.create_user(
            None,
            s,
            username="ass2",
            display_name="Second Assessor",
            role="assessor",
            site=s.scalar(select(Site).where(Site.code == "SAP")),
            password="Okapi-quiver-landmark-7",
        )


def test_double_entry_through_the_api(double_entry_protocol, scenario, client):
    _second_assessor(scenario.url)
    body = {
        "visit_code": "screening",
        "assessed_on": (INJURY + timedelta(days=8)).isoformat(),
        "assessor_name": "A",
        "blinded": False,
        "exam": exam(),
    }
    r = client.post(f"{API}/patients/SAP-001/isncsci-exams", json=body, auth=basic("assessor"))
    assert r.status_code == 409 and r.json()["code"] == "double_entry_required"
    url = f"{API}/patients/SAP-001/isncsci-entries"
    first = client.post(url, json=body, auth=basic("assessor")).json()
    assert first["status"] == "awaiting_second" and first["discrepancies"] is None
    again = client.post(url, json=body, auth=basic("assessor"))
    assert again.status_code == 409 and again.json()["code"] == "same_person"
    second = dict(body, exam={**exam(), "c5LeftMotor": "2"})
    ass2 = httpx.BasicAuth("ass2", "Okapi-quiver-landmark-7")
    r = client.post(url, json=second, auth=ass2).json()
    assert r["status"] == "awaiting_reconciliation" and r["discrepancies"] is None  # entrant
    de = client.get(f"{API}/double-entries/{r['id']}", auth=basic("investigator")).json()
    assert [d["field"] for d in de["discrepancies"]] == ["c5LeftMotor"]
    rec = f"{API}/double-entries/{r['id']}/reconcile"
    r2 = client.post(rec, json={"chosen": {"c5LeftMotor": "2"}}, auth=basic("assessor"))
    assert r2.status_code == 409 and r2.json()["code"] == "third_person_required"
    r2 = client.post(rec, json={"chosen": {}}, auth=basic("investigator"))
    assert r2.status_code == 422 and r2.json()["errors"][0]["field"] == "c5LeftMotor"
    r2 = client.post(rec, json={"chosen": {"c5LeftMotor": "2"}}, auth=basic("investigator"))
    assert r2.status_code == 200, r2.text
    out = r2.json()
    assert out["status"] == "reconciled" and out["classification"]["asiaImpairmentScale"]
    stored = client.get(f"{API}/patients/SAP-001/assessments", auth=basic("monitor")).json()
    assert [a["data"]["c5LeftMotor"] for a in stored] == ["2"]


# -- locks ---------------------------------------------------------------------------------------


def test_casebook_lock_refuses_changes_until_unlocked(scenario, client):
    aid = store_exam(scenario.url)
    token = login(client, "investigator")
    from cordtrial.store.services.locks import MEANING

    r = client.post(
        "/patients/SAP-001/casebook/lock",
        data={"csrf_token": token, "meaning": MEANING, "password": "wrong-password"},
        follow_redirects=False,
    )
    assert "wrong password" in client.get("/patients/SAP-001/casebook").text
    client.post(
        "/patients/SAP-001/casebook/lock",
        data={"csrf_token": token, "meaning": MEANING, "password": PASSWORD["investigator"]},
    )
    page = client.get("/patients/SAP-001/casebook").text
    assert (
        'data-testid="casebook-locked"' in page
        and _cell(page, "cell-screening-isncsci") == "locked"
    )
    assert 'data-testid="correct-link"' not in client.get(f"/assessments/{aid}").text
    client.cookies.clear()  # the API calls below authenticate with HTTP Basic
    r = client.post(
        f"{API}/patients/SAP-001/adverse-events",
        json={
            "term": "fever",
            "grade": 1,
            "serious": False,
            "onset_date": str(INJURY + timedelta(days=9)),
        },
        auth=basic("investigator"),
    )
    assert r.status_code == 409 and r.json()["code"] == "casebook_locked"
    r = client.post(
        f"{API}/patients/SAP-001/casebook/unlock", json={"reason": ""}, auth=basic("investigator")
    )
    assert r.status_code == 422
    r = client.post(
        f"{API}/patients/SAP-001/casebook/unlock",
        json={"reason": "late lab value"},
        auth=basic("investigator"),
    )
    assert r.status_code == 200 and r.json()["unlock_reason"] == "late lab value"


def test_trial_lock_needs_every_casebook_and_the_report_states_it(scenario, client, tmp_path):
    from cordtrial.store.services.locks import MEANING

    r = client.post(f"{API}/data-lock", json={"password": PASSWORD["admin"]}, auth=basic("admin"))
    assert r.status_code == 409 and r.json()["code"] == "casebooks_not_locked"
    for code, auth in (
        ("SAP-001", basic("investigator")),
        ("SAP-002", basic("investigator")),
        ("OTH-001", httpx.BasicAuth(*OTHER_INVESTIGATOR)),
    ):
        pw = PASSWORD["investigator"] if code.startswith("SAP") else OTHER_INVESTIGATOR[1]
        r = client.post(
            f"{API}/patients/{code}/casebook/lock",
            json={"password": pw, "meaning": MEANING},
            auth=auth,
        )
        assert r.status_code == 200, r.text
    assert (
        client.post(f"{API}/data-lock", json={"password": "x"}, auth=basic("monitor")).status_code
        == 403
    )
    r = client.post(f"{API}/data-lock", json={"password": PASSWORD["admin"]}, auth=basic("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["scope"]["patients"] == ["OTH-001", "SAP-001", "SAP-002"]
    state = client.get(f"{API}/data-lock", auth=basic("statistician")).json()
    assert state["locked"] and "3 patients at sites OTH, SAP" in state["statement"]
    login(client, "admin")
    assert 'data-testid="trial-locked"' in client.get("/data-lock").text
    client.cookies.clear()

    # the report built from this store states the lock
    from typer.testing import CliRunner

    from cordtrial.cli import app

    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", "--out", str(out), "--database-url", scenario.url])
    assert result.exit_code == 0, result.output
    assert (
        "data lock 1 of " in out.read_text() and "3 patients at sites OTH, SAP" in out.read_text()
    )
    r = client.post(
        f"{API}/data-lock/unlock", json={"reason": "re-open a query"}, auth=basic("admin")
    )
    assert r.status_code == 200 and r.json()["unlock_reason"] == "re-open a query"


# -- readable pages ------------------------------------------------------------------------------


def test_isncsci_exam_page_shows_the_worksheet_not_json(scenario, client):
    aid = store_exam(scenario.url)
    login(client, "monitor")
    page = client.get(f"/assessments/{aid}").text
    assert '<pre class="json">' not in page and '"c5RightMotor":' not in page
    assert 'data-testid="exam-worksheet"' in page and 'data-field="c5RightMotor"' in page
    assert "Lowest non-key muscle with motor function" in page


def test_record_pages_show_fields_panel_and_history(scenario, client):
    from cordtrial.store.models import Injury

    with store_db.session_scope(scenario.url) as s:
        ids = {
            p.study_code: s.scalar(select(Injury.id).where(Injury.patient_id == p.id))
            for p in s.scalars(select(Patient))
        }
    login(client, "monitor")
    page = client.get(f"/records/injuries/{ids['SAP-001']}").text
    assert 'data-testid="record-data"' in page and "fall from height" in page
    assert 'data-testid="dm-panel"' in page and 'data-testid="verify"' in page
    assert "History (audit trail)" in page and "injury_date" in page
    # another site's record is not found (record ids are sequential: not even its existence)
    assert client.get(f"/records/injuries/{ids['OTH-001']}").status_code == 404
    assert client.get("/records/injuries/99999").status_code == 404
    r = client.get("/records/users/1")
    assert r.status_code == 422 and "record_table" in r.text
    aid = store_exam(scenario.url)
    r = client.get(f"/records/assessments/{aid}", follow_redirects=False)
    assert r.headers["location"] == f"/assessments/{aid}"


def test_an_exams_flag_reasons_and_comments_are_corrected_on_its_correction_page(scenario, client):
    with store_db.session_scope(scenario.url) as s:
        who = s.scalar(select(User).where(User.username == "ass"))
        p = s.scalar(select(Patient).where(Patient.study_code == "SAP-001"))
        rhi = {**exam(), "c5RightMotor": "2*"}
        aid = assessments.record_isncsci(
            who, s, p, visit_code="screening", assessed_on=INJURY + timedelta(days=8), rhi=rhi,
            assessor_name="Dr Exam", blinded=False, comments="splint",
            flag_reasons={"c5RightMotor": "old nerve injury"},
        ).id  # fmt: skip
    token = login(client, "assessor")
    page = client.get(f"/assessments/{aid}/correct").text
    assert 'value="old nerve injury"' in page and "splint" in page  # shown to correct
    form = {
        **rhi,
        "csrf_token": token,
        "visit_code": "screening",
        "assessed_on": (INJURY + timedelta(days=8)).isoformat(),
        "assessor_name": "Dr Exam",
        "reason": "source: brachial plexus, not a nerve",
        "reason:c5RightMotor": "brachial plexus injury",
        "comments": "splint on the right wrist",
    }
    r = client.post(f"/assessments/{aid}/correct", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    with store_db.session_scope(scenario.url) as s:
        row = s.get(assessments.Assessment, aid)
        assert row.flag_reasons == {"c5RightMotor": "brachial plexus injury"}
        assert row.comments == "splint on the right wrist"
    # a reason for a value that is not flagged is refused, and nothing is saved
    bad = {**form, "reason:c6RightMotor": "no flag here", "comments": "changed"}
    r = client.post(f"/assessments/{aid}/correct", data=bad)
    assert r.status_code == 422
    with store_db.session_scope(scenario.url) as s:
        assert s.get(assessments.Assessment, aid).comments == "splint on the right wrist"


def test_with_double_entry_notes_go_on_the_reconciled_exam(double_entry_protocol, client):
    login(client, "assessor")
    page = client.get("/patients/SAP-001/exams/new").text
    assert 'data-testid="notes-after-reconciliation"' in page and 'id="exam-notes"' not in page


def _heading(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="(assessed_on|assessor_name)" value="([^"]*)"', page))


def test_each_double_entry_starts_blank_but_for_the_visit(double_entry_protocol, scenario, client):
    """The heading is compared like the cells: neither typist gets a name or a date filled in
    (the one who types is not the assessor of the worksheet)."""
    _second_assessor(scenario.url)
    body = {
        "visit_code": "screening",
        "assessed_on": (INJURY + timedelta(days=8)).isoformat(),
        "assessor_name": "Dr Exam",
        "blinded": False,
        "exam": exam(),
    }
    r = client.post(f"{API}/patients/SAP-001/isncsci-entries", json=body, auth=basic("assessor"))
    assert r.status_code == 201, r.text
    login(client, username="ass2", password="Okapi-quiver-landmark-7")
    page = client.get("/patients/SAP-001/exams/new?visit=screening").text
    assert 'data-testid="double-entry-note"' in page
    assert _heading(page) == {"assessed_on": "", "assessor_name": ""}
    assert "Dr Exam" not in page  # nothing of the first entry either
    assert re.search(r'<option value="screening" selected>', page)  # the visit is kept


def test_a_single_entry_starts_with_today_and_the_user_as_assessor(client):
    login(client, "assessor")
    heading = _heading(client.get("/patients/SAP-001/exams/new").text)
    assert heading["assessor_name"] == "Assessor User" and heading["assessed_on"]


def test_a_locked_casebook_shows_no_correction_form_and_refuses_one(scenario, client):
    from cordtrial.store.models import BloodDraw
    from cordtrial.store.services.locks import MEANING

    aid = store_exam(scenario.url)
    with store_db.session_scope(scenario.url) as s:
        p = s.scalar(select(Patient).where(Patient.study_code == "SAP-001"))
        draw = s.scalar(select(BloodDraw.id).where(BloodDraw.patient_id == p.id).limit(1))
    token = login(client, "investigator")
    url = f"/records/blood_draws/{draw}"
    assert 'id="correct-form"' in client.get(url).text  # before the lock
    client.post(
        "/patients/SAP-001/casebook/lock",
        data={"csrf_token": token, "meaning": MEANING, "password": PASSWORD["investigator"]},
    )
    page = client.get(url).text
    assert 'id="correct-form"' not in page and 'data-testid="correction-locked"' in page
    today = datetime.now(UTC).date().isoformat()  # locked just now (UTC)
    assert f"casebook locked on {today} by Investigator User" in page
    r = client.get(f"/assessments/{aid}/correct", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/assessments/{aid}"
    assert "correct</a>" not in client.get("/patients/SAP-001").text  # no correct links either
    client.post(url, data={"csrf_token": token, "volume_ml": "200", "reason": "typo"})
    client.cookies.clear()
    saved = client.get(f"{API}/records/blood_draws/{draw}", auth=basic("monitor")).json()
    assert saved["data"]["volume_ml"] == 240  # the page's save was refused too
    body = {"changes": {"volume_ml": 200}, "reason": "typo"}
    r = client.post(
        f"{API}/records/blood_draws/{draw}/corrections", json=body, auth=basic("investigator")
    )
    assert r.status_code == 409 and r.json()["code"] == "casebook_locked"


def test_every_serum_draw_has_its_own_verify_link(scenario, client):
    from cordtrial.store.models import BloodDraw

    with store_db.session_scope(scenario.url) as s:
        p = s.scalar(select(Patient).where(Patient.study_code == "SAP-001"))
        first, second = s.scalars(
            select(BloodDraw.id).where(BloodDraw.patient_id == p.id).order_by(BloodDraw.drawn_on)
        ).all()
    token = login(client, "monitor")
    page = client.get("/patients/SAP-001/casebook").text
    for draw in (first, second):
        assert (
            f'href="/records/blood_draws/{draw}" class="small" data-testid="verify-blood_draws-{draw}"'
            in page
        )
    r = client.post(f"/records/blood_draws/{first}/verify", data={"csrf_token": token})
    assert r.status_code in (200, 303)
    page = client.get("/patients/SAP-001/casebook").text
    assert f'data-testid="verify-blood_draws-{first}"' not in page
    assert f'data-testid="verify-blood_draws-{second}"' in page
    # the cell's next action leads to the draw still to verify, not to the first one
    assert re.search(
        rf'href="/records/blood_draws/{second}" data-testid="next-enrolment-blood_draw"', page
    )
    login(client, "statistician")  # reads, does not verify: no links
    assert 'data-testid="verify-' not in client.get("/patients/SAP-001/casebook").text
