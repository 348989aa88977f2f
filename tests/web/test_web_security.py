"""Security findings of issue 12, each reproduced against the app (points 1-4 and 6; the
others in their own tests): every test here failed on the code before the fix."""

from __future__ import annotations

import json

import pytest
from conftest import PASSWORD, TODAY, USERNAME, login
from test_web_api import API, basic, infusion_body

# -- 1. password hashes never reach a reader ---------------------------------------------------


def test_audit_reader_never_sees_password_hashes(client):
    api = client.get(f"{API}/audit", params={"table": "users", "limit": 500}, auth=basic("monitor"))
    assert api.status_code == 200 and api.json()
    page_token = login(client, "monitor")
    assert page_token
    page = client.get("/audit", params={"table": "users"})
    csv = client.get("/exports/audit_trail.csv")
    for body in (api.text, page.text, csv.text):
        assert "$argon2" not in body
        assert "secret:sha256" not in body  # not even the fingerprint is shown
    entry = next(e for e in api.json() if "password_hash" in e["changes"])
    assert entry["changes"]["password_hash"][1] == "(secret: not shown)"


# -- 2. the second person's password is no oracle -----------------------------------------------


def test_second_person_answers_do_not_reveal_other_sites_accounts(client):
    answers = {}
    for name in ("cpc-b", "inv-b", "nobody-here", USERNAME["monitor"]):
        r = client.post(
            f"{API}/patients/SAP-002/infusions",
            json=infusion_body(second_username=name, second_password="whatever-it-is"),
            auth=basic("investigator"),
        )
        answers[name] = (r.status_code, json.dumps(r.json()).replace(name, "NAME"))
    assert len(set(answers.values())) == 1, answers
    status, text = answers["cpc-b"]
    assert status == 422 and "cell_processing)" not in text and "OTH" not in text


def test_wrong_second_password_counts_toward_lockout(client):
    for _ in range(5):
        r = client.post(
            f"{API}/patients/SAP-002/infusions",
            json=infusion_body(second_password="not-the-password"),
            auth=basic("investigator"),
        )
        assert r.status_code == 403
    # the assessor's account is now locked: even the right password is refused, and login too
    r = client.post(
        f"{API}/patients/SAP-002/infusions", json=infusion_body(), auth=basic("investigator")
    )
    assert r.status_code == 403 and r.json()["code"] == "account_locked"
    assert client.get(f"{API}/me", auth=basic("assessor")).status_code == 401


def test_identity_rules_are_checked_before_the_second_password(client):
    for second_password in ("not-the-password", PASSWORD["assessor"]):
        r = client.post(
            f"{API}/patients/SAP-002/infusions",
            json=infusion_body(wristband_code="SAP-001", second_password=second_password),
            auth=basic("investigator"),
        )
        assert r.status_code == 409 and r.json()["code"] == "identity_mismatch"


# -- 3. amplification --------------------------------------------------------------------------


def _instrument(keys: int, value: object = 1) -> dict:
    return {
        "visit_code": "screening",
        "assessed_on": TODAY.isoformat(),
        "assessor_name": "A",
        "blinded": False,
        "data": {f"unknown_item_{i:06d}": value for i in range(keys)},
    }


def test_huge_requests_are_refused_before_any_work(client, scenario):
    import os

    size = os.path.getsize(scenario.url.removeprefix("sqlite:///"))
    r = client.post(
        f"{API}/patients/SAP-001/instruments/scim3",
        json=_instrument(100_000),
        auth=basic("assessor"),
    )
    assert r.status_code == 413 and len(r.content) < 1000
    r = client.post(
        f"{API}/patients/SAP-001/instruments/scim3",
        json=_instrument(20_000),
        auth=basic("assessor"),
    )
    assert r.status_code == 422 and len(r.content) < 5000
    assert os.path.getsize(scenario.url.removeprefix("sqlite:///")) < size + 200_000


def test_many_bad_items_give_a_bounded_answer(client):
    body = _instrument(100, "v" * 2000)
    r = client.post(f"{API}/patients/SAP-001/instruments/scim3", json=body, auth=basic("assessor"))
    assert r.status_code in (409, 422)
    assert len(r.json()["errors"]) <= 21 and len(r.content) < 25_000  # was 476 kB


def test_a_body_without_content_length_is_capped_too(client):
    def chunks():
        for _ in range(40):
            yield b" " * 65536

    r = client.post(
        f"{API}/isncsci/classify",
        content=chunks(),
        headers={"content-type": "application/json"},
        auth=basic("assessor"),
    )
    assert r.status_code == 413


# -- 4. no server error on hostile values -------------------------------------------------------


AE = '{"term": %s, "grade": %s, "serious": false, "onset_date": "2026-01-01"}'


@pytest.mark.parametrize(
    ("term", "grade", "field"),
    [
        ('"Fever"', "NaN", "body"),
        ('"Fever"', "1e400", "grade"),
        ('"Fever"', "-Infinity", "body"),
        ('"Fe\\ud800ver"', "1", "term"),
        ('"Fe\\u0000ver"', "1", "term"),
    ],
)
def test_hostile_json_values_are_422_naming_the_field(client, term, grade, field):
    r = client.post(
        f"{API}/patients/SAP-001/adverse-events",
        content=AE % (term, grade),
        headers={"content-type": "application/json"},
        auth=basic("investigator"),
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


def test_control_characters_in_forms_and_queries_are_422(client):
    token = login(client, "investigator")
    r = client.post(
        "/patients/SAP-001/adverse-events/new",
        data={
            "csrf_token": token,
            "term": "head\x00ache",
            "grade": "1",
            "onset_date": "2026-01-01",
        },
    )
    assert r.status_code == 422 and "term" in r.text
    assert client.get("/audit", params={"table": "users\x00"}).status_code == 422
    assert (
        client.get(f"{API}/audit", params={"actor": "\x00"}, auth=basic("monitor")).status_code
        == 422
    )


# -- 6. the same work for unknown and real user names ------------------------------------------


def test_unknown_names_cost_an_argon2_verification_too(client, monkeypatch):
    from cordtrial.store import passwords

    calls = []
    real = passwords._hasher

    class Counting:
        def __getattr__(self, name):
            return getattr(real, name)

        def verify(self, hash_, password):
            calls.append(hash_)
            return real.verify(hash_, password)

    monkeypatch.setattr(passwords, "_hasher", Counting())
    for name in ("no-such-user", USERNAME["monitor"]):
        calls.clear()
        assert client.get(f"{API}/me", auth=(name, "wrong-password-1")).status_code == 401
        assert len(calls) == 1, name
