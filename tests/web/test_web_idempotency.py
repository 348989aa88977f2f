"""Idempotency keys on API writes (issue 12, point 7): a write committed but not acknowledged
is not duplicated when the client retries."""

from __future__ import annotations

import threading

import httpx
from conftest import TODAY
from test_web_api import API, basic


def _ae(term="Fever") -> dict:
    return {"term": term, "grade": 1, "serious": False, "onset_date": TODAY.isoformat()}


def _count(client) -> int:
    return len(client.get(f"{API}/adverse-events", auth=basic("monitor")).json())


def test_a_retry_with_the_same_key_gets_the_first_answer(client):
    headers = {"Idempotency-Key": "7f3c9a52-ae-retry"}
    url = f"{API}/patients/SAP-001/adverse-events"
    first = client.post(url, json=_ae(), headers=headers, auth=basic("investigator"))
    again = client.post(url, json=_ae(), headers=headers, auth=basic("investigator"))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert _count(client) == 1
    # without a key every post is a new write, as before
    client.post(url, json=_ae(), auth=basic("investigator"))
    assert _count(client) == 2


def test_the_same_key_for_another_request_is_refused(client):
    headers = {"Idempotency-Key": "7f3c9a52-ae-reuse"}
    url = f"{API}/patients/SAP-001/adverse-events"
    assert (
        client.post(url, json=_ae(), headers=headers, auth=basic("investigator")).status_code == 201
    )
    r = client.post(url, json=_ae("Headache"), headers=headers, auth=basic("investigator"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "Idempotency-Key"
    assert _count(client) == 1


def test_a_refused_write_leaves_its_key_free(client):
    """A refusal stores nothing, the key included: the corrected retry goes through."""
    from test_web_api import infusion_body

    headers = {"Idempotency-Key": "7f3c9a52-infusion"}
    url = f"{API}/patients/SAP-002/infusions"
    wrong = infusion_body(second_password="not-the-password")
    assert (
        client.post(url, json=wrong, headers=headers, auth=basic("investigator")).status_code == 403
    )
    r = client.post(url, json=infusion_body(), headers=headers, auth=basic("investigator"))
    assert r.status_code == 201, r.text
    again = client.post(url, json=infusion_body(), headers=headers, auth=basic("investigator"))
    assert again.status_code == 201 and again.json()["id"] == r.json()["id"]


def test_keys_are_per_account(client):
    headers = {"Idempotency-Key": "7f3c9a52-ae-shared"}
    for role in ("investigator",):
        assert (
            client.post(
                f"{API}/patients/SAP-001/adverse-events",
                json=_ae(),
                headers=headers,
                auth=basic(role),
            ).status_code
            == 201
        )
    r = client.post(
        f"{API}/admin/users",
        json={"username": "carol", "display_name": "Carol Example", "role": "qa", "site": "SAP"},
        headers=headers,
        auth=basic("admin"),
    )
    assert r.status_code == 201


def test_simultaneous_retries_store_one_record(live_server):
    base, _ = live_server
    headers = {"Idempotency-Key": "7f3c9a52-ae-race"}
    results = []

    def post():
        with httpx.Client(base_url=base, timeout=30) as c:
            r = c.post(
                f"{API}/patients/SAP-001/adverse-events",
                json=_ae(),
                headers=headers,
                auth=("inv", "inv-password-1"),
            )
            results.append(r.status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results) <= {201, 409} and 201 in results, results
    with httpx.Client(base_url=base) as c:
        log = c.get(f"{API}/adverse-events", auth=("mon", "mon-password-1")).json()
    assert len(log) == 1


def test_every_api_write_accepts_an_idempotency_key(client):
    spec = client.get(f"{API}/openapi.json").json()
    writes = [
        (path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method == "post"
        and path.startswith(
            (
                "/api/v1/patients",
                "/api/v1/lots",
                "/api/v1/admin/users",
                "/api/v1/admin/sites",
                "/api/v1/records",
                "/api/v1/protocol",
                "/api/v1/reports",
                # casebook and data management (issue 16)
                "/api/v1/queries",
                "/api/v1/deviations",
                "/api/v1/double-entries",
                "/api/v1/data-lock",
            )
        )
        and "{action}" not in path
    ]
    assert len(writes) >= 26
    for path, op in writes:
        names = [p["name"] for p in op.get("parameters", []) if p["in"] == "header"]
        assert "Idempotency-Key" in names, path
