"""Accounts: logging in (password, then the steps an account still owes), sessions, and the
caller's Principal.

The password check and the account's lockout counter are the store's
(cordtrial.store.services.users.authenticate: argon2, lock after 5 failures for 15 min). Failed
logins are also counted per user name (store.services.login_throttle) so that unknown names
lock the same way as real ones: the answers never reveal which user names exist.

After the password a session may still owe steps before it is "active": a one-time code
("mfa"), a new password after a reset ("password"), enrolling a second factor the role
requires ("mfa_setup"). Until then it reaches only the page of its step.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from cordtrial.store import models
from cordtrial.store.services import login_throttle as throttle
from cordtrial.store.services import sessions as session_service
from cordtrial.store.services import two_factor
from cordtrial.store.services import users as user_service
from cordtrial.store.types import utcnow

from .errors import NotAuthenticated
from .principal import Principal
from .security import SESSION_COOKIE, WebSession, cookie_value, token_of
from .steps import STEP_NAMES

BAD_CREDENTIALS = "Unknown user name or wrong password."


@dataclass(frozen=True)
class LoginOutcome:
    principal: Principal | None
    status: int = 200
    message: str = ""
    state: str = "active"


def _principal(user: models.User) -> Principal:
    return Principal(
        id=user.id,
        username=user.username,
        full_name=user.display_name,
        role=user.role,
        site_id=user.site_id,
        site_code=user.site.code if user.site is not None else None,
    )


def load_principal(db: DbSession, user_id: int) -> Principal | None:
    user = db.get(models.User, user_id)
    if user is None or not user.active:
        return None
    return _principal(user)


def _locked(minutes: float) -> LoginOutcome:
    return LoginOutcome(
        None,
        429,
        f"Too many failed attempts: this account is locked for {max(1, round(minutes))} min.",
    )


def try_login(request: Request, db: DbSession, username: str, password: str) -> LoginOutcome:
    limits = request.app.state.login_limits
    username = username.strip()
    if not username or not password:
        return LoginOutcome(None, 401, "Enter your user name and password.")
    wait = throttle.locked_for(db, username)
    if wait > 0:
        return _locked(wait / 60)
    user = user_service.authenticate(db, username, password)
    if user is None:
        known = db.scalar(select(models.User).where(models.User.username == username))
        if known is not None and known.locked_until is not None and known.locked_until > utcnow():
            throttle.record_failure(db, username, *limits)
            db.commit()  # the failure counters must be kept even though login failed
            return _locked((known.locked_until - utcnow()).total_seconds() / 60)
        locked = throttle.record_failure(db, username, *limits)
        db.commit()
        if locked:
            return _locked(limits[1].total_seconds() / 60)
        return LoginOutcome(None, 401, BAD_CREDENTIALS)
    throttle.record_success(db, username)
    return LoginOutcome(_principal(user), state=first_step(db, user))


def first_step(db: DbSession, user: models.User) -> str:
    return "mfa" if user.totp_enabled else step_after_code(db, user)


def step_after_code(db: DbSession, user: models.User) -> str:
    if user.must_change_password:
        return "password"
    return step_after_password(db, user)


def step_after_password(db: DbSession, user: models.User) -> str:
    if two_factor.required_for(db, user.role) and not user.totp_enabled:
        return "mfa_setup"
    return "active"


def open_session(request: Request, db: DbSession, user_id: int, state: str) -> tuple[str, str]:
    """Start a session; returns the signed cookie value and the session's CSRF token."""
    user = db.get(models.User, user_id)
    client = request.client.host if request.client else None
    row, token = session_service.start_session(
        db,
        user,
        state,
        request.app.state.timeouts,
        client=request.headers.get("user-agent"),
        address=client,
    )
    return cookie_value(request.app.state.signing_key, token), row.csrf_token


def load_session(request: Request, db: DbSession) -> tuple[WebSession, Principal] | None:
    """The request's live session and its account, or None (no cookie, forged, ended, timed
    out, account deactivated: the last ends the session)."""
    token = token_of(request.app.state.signing_key, request.cookies.get(SESSION_COOKIE))
    if token is None:
        return None
    row = session_service.find_session(db, token, request.app.state.timeouts)
    if row is None:
        return None
    principal = load_principal(db, row.user_id)
    if principal is None:
        session_service.end_session(db, row, "account deactivated")
        return None
    return WebSession(row.id, row.user_id, row.state, row.csrf_token), principal


def acting_user(db: DbSession, who: Principal) -> models.User:
    """The store's User row for the caller (the services take the model)."""
    user = db.get(models.User, who.id)
    if user is None:
        raise NotAuthenticated("your account no longer exists")
    return user


def login(request: Request, db: DbSession, username: str, password: str) -> Principal:
    """HTTP Basic login for API clients: the same checks and lockout as the form, with recently
    verified credentials remembered (security.CredentialCache). An account that owes a step
    (one-time code, new password) cannot use HTTP Basic: it logs in with POST /api/v1/session."""
    cache = request.app.state.credentials
    user = db.scalar(select(models.User).where(models.User.username == username.strip()))
    usable = (
        user is not None
        and user.active
        and (user.locked_until is None or user.locked_until <= utcnow())
        and first_step(db, user) == "active"
        and throttle.locked_for(db, username) == 0
    )
    if usable and cache.hit(user.username, password, user.password_hash):
        return _principal(user)
    outcome = try_login(request, db, username, password)
    if outcome.principal is None:
        raise NotAuthenticated(outcome.message)
    if outcome.state != "active":
        raise NotAuthenticated(
            f"this account must {STEP_NAMES[outcome.state]} before using the API: log in with "
            "POST /api/v1/session (or in the browser) instead of HTTP Basic"
        )
    cache.remember(user.username, password, user.password_hash)
    return outcome.principal
