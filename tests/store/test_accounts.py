"""Accounts, sessions, login throttle, password rules and two-factor login (issue 12, points 6
and 8; issue 15, point 1: sessions and lockout in the store)."""

from __future__ import annotations

import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from cordtrial.store import db, lockout
from cordtrial.store.models import Site, User, UserSession
from cordtrial.store.passwords import password_problems, verify_password
from cordtrial.store.services import login_throttle as throttle
from cordtrial.store.services import sessions, two_factor, users
from cordtrial.store.types import utcnow

from .conftest import PASSWORD
from .helpers import assert_refused

T = sessions.Timeouts(idle=timedelta(minutes=30), absolute=timedelta(hours=12))


# -- password rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["short-1", "password1234", "qwertyuiop123", "monitor-monitor", "aaaaaaaaaaaaaaaa"],
)
def test_weak_passwords_are_refused(password):
    assert password_problems(password, context=("monitor", "Monitor One"))


@pytest.mark.parametrize("password", ["violet tram ledger 42", "Kettle-Orbit-Sable-9"])
def test_passphrases_are_accepted(password):
    assert password_problems(password, context=("monitor",)) == []


def test_an_admin_cannot_create_an_account_with_a_weak_password(world):
    def action(s):
        users.create_user(
            world.user(s, "admin"),
            s,
            username="newbie",
            display_name="New Bie",
            role="assessor",
            site=s.scalar(select(Site).where(Site.code == "SAP")),
            password="password1234",
        )

    r = assert_refused(world.url, "invalid_input", action)
    assert r.context["field"] == "password" and r.context["value"] == "***"
    assert "password1234" not in r.message


# -- sessions --------------------------------------------------------------------------------------


def test_a_session_is_found_by_its_token_and_only_its_hash_is_stored(world):
    with db.session_scope(world.url) as s:
        row, token = sessions.start_session(s, world.user(s, "monitor"), "active", T)
        assert row.token_hash != token and len(row.token_hash) == 64
    with db.session_scope(world.url) as s:
        assert sessions.find_session(s, token, T).id == row.id
        assert sessions.find_session(s, token + "x", T) is None
        stored = " ".join(str(v) for v in s.execute(select(UserSession.__table__)).one())
        assert token not in stored


@pytest.mark.parametrize(
    ("field", "delta", "reason"),
    [
        ("last_seen_at", timedelta(minutes=-31), "idle timeout"),
        ("expires_at", timedelta(0), "absolute timeout"),
    ],
)
def test_idle_and_absolute_timeouts_end_a_session(world, field, delta, reason):
    with db.session_scope(world.url) as s:
        row, token = sessions.start_session(s, world.user(s, "monitor"), "active", T)
        setattr(row, field, utcnow() + delta)
    with db.session_scope(world.url) as s:
        assert sessions.find_session(s, token, T) is None
        assert s.get(UserSession, row.id).end_reason == reason


def test_deactivation_and_password_reset_end_sessions_everywhere(world):
    with db.session_scope(world.url) as s:
        monitor = world.user(s, "monitor")
        tokens = [sessions.start_session(s, monitor, "active", T)[1] for _ in range(3)]
    with db.session_scope(world.url) as s:
        password = users.reset_password(world.user(s, "admin"), s, world.user(s, "monitor"))
    with db.session_scope(world.url) as s:
        monitor = world.user(s, "monitor")
        assert all(sessions.find_session(s, t, T) is None for t in tokens)
        assert monitor.must_change_password and verify_password(monitor.password_hash, password)
        token = sessions.start_session(s, monitor, "password", T)[1]
    with db.session_scope(world.url) as s:
        users.set_active(world.user(s, "admin"), s, world.user(s, "monitor"), False)
    with db.session_scope(world.url) as s:
        assert sessions.find_session(s, token, T) is None
        assert users.authenticate(s, "monitor", password) is None


def test_an_admin_manages_only_their_sites_accounts(world):
    with db.session_scope(world.url) as s:
        kus = world.user(s, "kus_investigator")
        users.create_user(
            None,
            s,
            username="kus_admin",
            display_name="Kushiro Admin",
            role="admin",
            site=kus.site,
            password="violet tram ledger 42",
        )
    assert_refused(
        world.url,
        "other_site",
        lambda s: users.reset_password(world.user(s, "kus_admin"), s, world.user(s, "monitor")),
    )
    assert_refused(
        world.url,
        "invalid_input",
        lambda s: users.set_active(world.user(s, "admin"), s, world.user(s, "admin"), False),
    )


def test_change_password_needs_the_current_one(world):
    assert_refused(
        world.url,
        "authentication_failed",
        lambda s: users.change_password(
            world.user(s, "qa"), s, "wrong-password", "violet tram ledger 42"
        ),
    )
    assert_refused(
        world.url,
        "invalid_input",
        lambda s: users.change_password(world.user(s, "qa"), s, PASSWORD, "password1234"),
    )
    with db.session_scope(world.url) as s:
        users.change_password(world.user(s, "qa"), s, PASSWORD, "violet tram ledger 42")
    with db.session_scope(world.url) as s:
        assert users.authenticate(s, "qa", "violet tram ledger 42") is not None


# -- login throttle (per name, known or not) -----------------------------------------------------


def test_throttle_locks_names_whether_or_not_an_account_has_them(world):
    for name in ("Nobody", "monitor"):
        for i in range(throttle.MAX_FAILURES):
            with db.session_scope(world.url) as s:
                locked = throttle.record_failure(s, name if i % 2 else f" {name.upper()} ")
            assert locked == (i == throttle.MAX_FAILURES - 1)
        with db.session_scope(world.url) as s:
            assert throttle.locked_for(s, name.lower()) > 14 * 60


def test_throttle_forgets_after_success(world):
    with db.session_scope(world.url) as s:
        throttle.record_failure(s, "qa")
        throttle.record_success(s, "qa")
    with db.session_scope(world.url) as s:
        assert throttle.locked_for(s, "qa") == 0
        assert not throttle.record_failure(s, "qa")


# -- two-factor login ----------------------------------------------------------------------------


def _now_code(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + offset_steps * two_factor.STEP)


def test_enrol_then_log_in_with_a_code_once(world):
    with db.session_scope(world.url) as s:
        uri = two_factor.begin_enrolment(world.user(s, "monitor"), s)
        assert uri.startswith("otpauth://totp/") and "issuer=cordtrial" in uri
    assert_refused(
        world.url,
        "invalid_input",
        lambda s: two_factor.confirm_enrolment(world.user(s, "monitor"), s, "000000"),
    )
    with db.session_scope(world.url) as s:
        monitor = world.user(s, "monitor")
        two_factor.confirm_enrolment(monitor, s, _now_code(monitor.totp_secret))
    with db.session_scope(world.url) as s:
        monitor = world.user(s, "monitor")
        assert monitor.totp_enabled
        code = _now_code(monitor.totp_secret, 1)
        assert two_factor.verify_login_code(s, monitor, code)
    with db.session_scope(world.url) as s:  # the same code is not accepted twice
        assert not two_factor.verify_login_code(s, world.user(s, "monitor"), code)


def test_wrong_codes_count_toward_lockout(world):
    with db.session_scope(world.url) as s:
        monitor = world.user(s, "monitor")
        two_factor.begin_enrolment(monitor, s)
        two_factor.confirm_enrolment(monitor, s, _now_code(monitor.totp_secret))
    for _ in range(lockout.MAX_FAILED_LOGINS):
        with db.session_scope(world.url) as s:
            assert not two_factor.verify_login_code(s, world.user(s, "monitor"), "123 456")
    with db.session_scope(world.url) as s:
        monitor = world.user(s, "monitor")
        assert monitor.locked_until is not None
        assert users.authenticate(s, "monitor", PASSWORD) is None  # locked


def test_role_policy_is_trial_wide_and_blocks_turning_it_off(world):
    assert_refused(
        world.url,
        "role_not_allowed",
        lambda s: two_factor.set_required(world.user(s, "monitor"), s, "qa", True),
    )
    with db.session_scope(world.url) as s:
        admin = world.user(s, "admin")
        admin.site_id = None
    with db.session_scope(world.url) as s:
        two_factor.set_required(world.user(s, "admin"), s, "qa", True)
        qa = world.user(s, "qa")
        two_factor.begin_enrolment(qa, s)
        two_factor.confirm_enrolment(qa, s, _now_code(qa.totp_secret))
    assert_refused(
        world.url,
        "two_factor_required",
        lambda s: two_factor.disable(world.user(s, "qa"), s, PASSWORD),
    )
    assert_refused(
        world.url,
        "two_factor_enabled",
        lambda s: two_factor.begin_enrolment(world.user(s, "qa"), s),
    )
    with db.session_scope(world.url) as s:  # lost phone: the admin resets it
        two_factor.reset(world.user(s, "admin"), s, world.user(s, "qa"))
    with db.session_scope(world.url) as s:
        qa = world.user(s, "qa")
        assert not qa.totp_enabled and qa.totp_secret is None
    assert_refused(
        world.url,
        "two_factor_not_started",
        lambda s: two_factor.confirm_enrolment(world.user(s, "qa"), s, "123456"),
    )


def test_totp_secrets_never_enter_the_audit_trail(world):
    from cordtrial.store.models import AuditEntry

    with db.session_scope(world.url) as s:
        monitor = world.user(s, "monitor")
        two_factor.begin_enrolment(monitor, s)
        secret = monitor.totp_secret
    with db.session_scope(world.url) as s:
        trail = " ".join(s.scalars(select(AuditEntry.changes)))
        assert secret not in trail and User.__table__.c.totp_secret.info["secret"]
