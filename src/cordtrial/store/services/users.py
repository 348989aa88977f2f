"""User accounts: creation by an admin, login with lockout after repeated failures."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import set_actor
from ..models import ROLES, Site, User
from ..passwords import hash_password, verify_password, waste_verification
from ..types import utcnow
from .base import LOCKOUT, MAX_FAILED_LOGINS, check, require_role


def create_user(
    actor: User | None,
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    site: Site | None,
    password: str | None = None,
    password_hash: str | None = None,
) -> User:
    """Create an account. ``actor`` None is the bootstrap path (first admin, demo data).

    Give ``password`` (hashed here) or an Argon2 ``password_hash`` made elsewhere.
    """
    if actor is not None:
        require_role(session, actor, ("admin",), "create a user")
        if actor.site_id is not None and (site is None or site.id != actor.site_id):
            check(
                session, actor, False, "site", site.code if site else None, "the admin's own site"
            )
    else:
        set_actor(session, "system")
    who = actor or User(username="system", role="admin", display_name="system")
    check(session, who, role in ROLES, "role", role, ", ".join(ROLES))
    check(
        session,
        who,
        bool(username) and username.strip() == username and len(username) <= 64,
        "username",
        username,
        "1-64 characters without surrounding spaces",
    )
    if password_hash is None:
        check(
            session,
            who,
            password is not None and len(password) >= 8,
            "password",
            "***",
            "at least 8 characters",
        )
        password_hash = hash_password(password)
    else:
        check(
            session,
            who,
            password_hash.startswith("$argon2"),
            "password_hash",
            "***",
            "an Argon2 hash",
        )
    taken = session.scalar(select(User.id).where(User.username == username))
    check(session, who, taken is None, "username", username, "a username not yet taken")
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        site_id=site.id if site else None,
        password_hash=password_hash,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user if the password matches and the account is usable, else None.

    Counts failures; after MAX_FAILED_LOGINS the account locks for LOCKOUT. The caller commits
    (a failed attempt must be remembered).
    """
    user = session.scalar(select(User).where(User.username == username))
    now = utcnow()
    if user is None or not user.active or (user.locked_until and user.locked_until > now):
        # The same Argon2 work as for a real account, so the time taken does not tell which
        # user names exist (OWASP Authentication Cheat Sheet, "authentication responses").
        waste_verification(password)
        return None
    set_actor(session, username)
    if verify_password(user.password_hash, password):
        if user.failed_logins or user.locked_until:
            user.failed_logins, user.locked_until = 0, None
        return user
    _count(user, now)
    return None


def _count(user: User, now) -> None:
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = now + LOCKOUT
        user.failed_logins = 0


def count_failure(session: Session, user_id: int) -> None:
    """Count a wrong password given for ``user_id`` outside the login form (re-authentication
    to sign); the same counter and lockout as logins."""
    user = session.get(User, user_id)
    if user is not None:
        _count(user, utcnow())
