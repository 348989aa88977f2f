"""Accounts in the browser's terms: first login with a one-time password, two-factor login,
the session list, administration, and sessions shared by every worker (issue 12 point 8,
issue 13 points 1-2 for accounts, issue 15 point 1)."""

from __future__ import annotations

import re
import time

import pyotp
from conftest import PASSWORD, USERNAME, csrf_of, login
from fastapi.testclient import TestClient

API = "/api/v1"


def _client(app) -> TestClient:
    return TestClient(app, base_url="https://testserver")


def _form_login(client, username, password):
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_of(page.text),
            "next": "/",
        },
        follow_redirects=False,
    )


def _token(client, path="/") -> str:
    page = client.get(path)
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


def _create_account(client, username, role="assessor", site="SAP") -> str:
    token = login(client, "admin")
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": username,
            "display_name": "Ann Example",
            "role": role,
            "site": site,
        },
    )
    assert r.status_code == 200, r.text
    return re.search(r'data-testid="one-time-password">([^<]+)<', r.text).group(1)


def test_a_new_account_must_choose_its_own_password_first(app):
    with _client(app) as admin:
        once = _create_account(admin, "ann")
    with _client(app) as ann:
        r = _form_login(ann, "ann", once)
        assert r.status_code == 303 and r.headers["location"] == "/account/password"
        assert ann.get("/", follow_redirects=False).headers["location"] == "/account/password"
        token = _token(ann, "/account/password")
        weak = ann.post(
            "/account/password",
            data={
                "csrf_token": token,
                "current_password": once,
                "new_password": "password1234",
                "confirm_password": "password1234",
            },
        )
        assert weak.status_code == 422 and "new_password" in weak.text
        ok = ann.post(
            "/account/password",
            data={
                "csrf_token": token,
                "current_password": once,
                "new_password": "violet tram ledger 42",
                "confirm_password": "violet tram ledger 42",
            },
            follow_redirects=False,
        )
        assert ok.status_code == 303 and ok.headers["location"] == "/"
        assert ann.get("/").status_code == 200
    with _client(app) as again:
        assert _form_login(again, "ann", once).status_code == 401
        assert _form_login(again, "ann", "violet tram ledger 42").headers["location"] == "/"


def _enrol(client) -> str:
    page = client.get("/account/two-factor")
    secret = re.search(r'data-testid="totp-secret">([^<]+)<', page.text).group(1).replace(" ", "")
    assert "<svg" in page.text  # the QR code, inline
    r = client.post(
        "/account/two-factor",
        data={"csrf_token": csrf_of(page.text), "code": pyotp.TOTP(secret).now()},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return secret


def _next_code(secret: str) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30)  # a step not used yet


def test_two_factor_login_in_the_browser_and_the_api(app):
    with _client(app) as mon:
        login(mon, "monitor")
        secret = _enrol(mon)
    with _client(app) as mon:
        r = _form_login(mon, USERNAME["monitor"], PASSWORD["monitor"])
        assert r.headers["location"] == "/login/code"
        assert mon.get("/audit", follow_redirects=False).headers["location"] == "/login/code"
        token = csrf_of(mon.get("/login/code").text)
        assert (
            mon.post("/login/code", data={"csrf_token": token, "code": "000000"}).status_code == 401
        )
        r = mon.post(
            "/login/code",
            data={"csrf_token": token, "code": _next_code(secret)},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/"
        assert mon.get("/audit").status_code == 200
    with _client(app) as script:
        # HTTP Basic cannot carry the second factor: refused with a pointer to /session
        r = script.get(f"{API}/me", auth=(USERNAME["monitor"], PASSWORD["monitor"]))
        assert r.status_code == 401 and "/api/v1/session" in r.json()["detail"]


def test_two_factor_through_the_api(client):
    from test_web_api import basic

    inv = (USERNAME["investigator"], PASSWORD["investigator"])
    secret = client.post(f"{API}/account/two-factor", auth=basic("investigator")).json()["secret"]
    r = client.post(
        f"{API}/account/two-factor/confirm",
        json={"code": pyotp.TOTP(secret).now()},
        auth=basic("investigator"),
    )
    assert r.status_code == 204
    assert client.get(f"{API}/me", auth=inv).status_code == 401  # Basic no longer enough
    body = {"username": inv[0], "password": inv[1]}
    assert client.post(f"{API}/session", json=body).status_code == 401
    r = client.post(f"{API}/session", json={**body, "code": _next_code(secret)})
    assert r.status_code == 200
    csrf = r.json()["csrf_token"]
    assert client.get(f"{API}/me").json()["role"] == "investigator"
    assert client.delete(f"{API}/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get(f"{API}/me").status_code == 401


def test_a_role_that_requires_two_factor_enrols_at_login(app):
    with _client(app) as admin:
        token = login(admin, "admin")
        r = admin.post("/admin/security", data={"csrf_token": token, "require_totp_qa": "on"})
        assert r.status_code == 200
    with _client(app) as qa:
        r = _form_login(qa, USERNAME["qa"], PASSWORD["qa"])
        assert r.headers["location"] == "/account/two-factor"
        assert qa.get("/lots", follow_redirects=False).headers["location"] == "/account/two-factor"
        _enrol(qa)
        assert qa.get("/lots").status_code == 200


def test_session_list_and_ending_another_session(app):
    with _client(app) as laptop, _client(app) as phone:
        login(laptop, "investigator")
        login(phone, "investigator")
        sessions = laptop.get(f"{API}/account/sessions").json()
        assert len(sessions) == 2 and sum(s["current"] for s in sessions) == 1
        other = next(s for s in sessions if not s["current"])
        token = _token(laptop)
        r = laptop.post(
            f"/account/sessions/{other['id']}/end",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert phone.get("/", follow_redirects=False).headers["location"].startswith("/login")
        assert laptop.get("/").status_code == 200


def test_deactivation_ends_a_live_session_at_once(app):
    with _client(app) as victim, _client(app) as admin:
        login(victim, "assessor")
        token = login(admin, "admin")
        r = admin.post(
            f"/admin/users/{USERNAME['assessor']}/deactivate",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert victim.get("/", follow_redirects=False).headers["location"].startswith("/login")
        assert _form_login(victim, USERNAME["assessor"], PASSWORD["assessor"]).status_code == 401


def test_admin_reset_password_shows_it_once_and_forces_a_change(app):
    with _client(app) as admin:
        token = login(admin, "admin")
        r = admin.post(f"/admin/users/{USERNAME['qa']}/reset-password", data={"csrf_token": token})
        once = re.search(r'data-testid="one-time-password">([^<]+)<', r.text).group(1)
        assert once not in admin.get(f"/admin/users/{USERNAME['qa']}").text
    with _client(app) as qa:
        assert _form_login(qa, USERNAME["qa"], PASSWORD["qa"]).status_code == 401
        assert _form_login(qa, USERNAME["qa"], once).headers["location"] == "/account/password"


def test_admin_api_for_accounts(client):
    from test_web_api import basic

    r = client.post(
        f"{API}/admin/users",
        json={"username": "bob", "display_name": "Bob Example", "role": "monitor", "site": "*"},
        auth=basic("admin"),
    )
    assert r.status_code == 201 and r.json()["temporary_password"]
    assert r.json()["must_change_password"]
    names = [u["username"] for u in client.get(f"{API}/admin/users", auth=basic("admin")).json()]
    assert "bob" in names
    assert client.get(f"{API}/admin/users", auth=basic("investigator")).status_code == 403
    r = client.patch(f"{API}/admin/users/bob", json={"role": "statistician"}, auth=basic("admin"))
    assert r.status_code == 200 and r.json()["role"] == "statistician"
    r = client.post(f"{API}/admin/users/bob/deactivate", auth=basic("admin"))
    assert (
        r.status_code == 200
        and not client.get(f"{API}/admin/users/bob", auth=basic("admin")).json()["active"]
    )
    bad = client.post(
        f"{API}/admin/users",
        json={"username": "eve", "display_name": "Eve", "role": "assessor", "site": "NOPE"},
        auth=basic("admin"),
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "site"


def test_a_login_is_valid_on_every_worker_and_after_a_restart(scenario):
    """Two app instances over one store stand for two workers (and for the app after a
    restart): a session made through one is valid through the other, and a logout through
    one ends it on both."""
    from cordtrial.web.app import create_app

    first, second = create_app(scenario.url), create_app(scenario.url)
    with _client(first) as a, _client(second) as b:
        login(a, "monitor")
        b.cookies.update(a.cookies)
        assert b.get("/audit").status_code == 200
        token = _token(b)
        a.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert b.get("/audit", follow_redirects=False).status_code == 303
    # the signing key was generated once and stored: both instances read the same one
    assert first.state.signing_key.value == second.state.signing_key.value
