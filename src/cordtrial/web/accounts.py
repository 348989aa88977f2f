"""Accounts: logging in with lockout, and loading the caller's Principal.

The password check and the account's lockout counter are the store's
(cordtrial.store.services.users.authenticate: argon2, lock after 5 failures for 15 min). The web
also counts failures per user name in memory (security.LoginThrottle) so that unknown names lock
the same way as real ones: the answers never reveal which user names exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from cordtrial.store import models
from cordtrial.store.services import users as user_service
from cordtrial.store.types import utcnow

from .errors import NotAuthenticated
from .principal import Principal

BAD_CREDENTIALS = "Unknown user name or wrong password."


@dataclass(frozen=True)
class LoginOutcome:
    principal: Principal | None
    status: int = 200
    message: str = ""


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


def try_login(request: Request, db: DbSession, username: str, password: str) -> LoginOutcome:
    throttle = request.app.state.throttle
    username = username.strip()
    if not username or not password:
        return LoginOutcome(None, 401, "Enter your user name and password.")
    wait = throttle.locked_for(username)
    if wait > 0:
        minutes = max(1, round(wait / 60))
        return LoginOutcome(
            None, 429, f"Too many failed attempts: this account is locked for {minutes} min."
        )
    user = user_service.authenticate(db, username, password)
    if user is None:
        db.commit()  # the store's failure counter must be kept even though login failed
        known = db.scalar(select(models.User).where(models.User.username == username))
        if known is not None and known.locked_until is not None and known.locked_until > utcnow():
            throttle.record_failure(username)
            return LoginOutcome(
                None,
                429,
                "Too many failed attempts: this account is locked for "
                f"{max(1, round((known.locked_until - utcnow()).total_seconds() / 60))} min.",
            )
        if throttle.record_failure(username):
            minutes = round(throttle.lockout / 60)
            return LoginOutcome(
                None, 429, f"Too many failed attempts: this account is locked for {minutes} min."
            )
        return LoginOutcome(None, 401, BAD_CREDENTIALS)
    throttle.record_success(username)
    return LoginOutcome(_principal(user))


def acting_user(db: DbSession, who: Principal) -> models.User:
    """The store's User row for the caller (the services take the model)."""
    user = db.get(models.User, who.id)
    if user is None:
        raise NotAuthenticated("your account no longer exists")
    return user


def login(request: Request, db: DbSession, username: str, password: str) -> Principal:
    """HTTP Basic login for API clients: the same checks and lockout as the form, with recently
    verified credentials remembered (security.CredentialCache)."""
    cache = request.app.state.credentials
    user = db.scalar(select(models.User).where(models.User.username == username.strip()))
    usable = (
        user is not None
        and user.active
        and (user.locked_until is None or user.locked_until <= utcnow())
        and request.app.state.throttle.locked_for(username) == 0
    )
    if usable and cache.hit(user.username, password, user.password_hash):
        return _principal(user)
    outcome = try_login(request, db, username, password)
    if outcome.principal is None:
        raise NotAuthenticated(outcome.message)
    if user is not None:
        cache.remember(user.username, password, user.password_hash)
    return outcome.principal
