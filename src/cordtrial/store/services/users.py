"""User accounts: creation and administration by an admin, passwords, login with lockout.

An admin bound to a site manages that site's accounts only; an admin without a site manages
every account. Accounts are deactivated, never deleted (their names stay in the audit trail and
on signatures). Password rules: cordtrial.store.passwords.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import set_actor
from ..lockout import count_failure
from ..models import ROLES, Site, User
from ..passwords import (
    RULES,
    hash_password,
    password_problems,
    temporary_password,
    verify_password,
    waste_verification,
)
from ..types import utcnow
from .base import check, deny, reauthenticate, require_role
from .sessions import end_sessions

ADMIN = ("admin",)


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
    must_change_password: bool = False,
) -> User:
    """Create an account. ``actor`` None is the bootstrap path (first admin, demo data).

    Give ``password`` (checked against the password rules, then hashed here) or an Argon2
    ``password_hash`` made elsewhere.
    """
    if actor is not None:
        require_role(session, actor, ADMIN, "create a user")
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
    check(
        session,
        who,
        bool(display_name and display_name.strip()) and len(display_name) <= 200,
        "display_name",
        display_name,
        "the person's name, 1-200 characters",
    )
    if password_hash is None:
        _check_password(session, who, password, username, display_name)
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
        must_change_password=must_change_password,
        password_changed_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def _check_password(
    session: Session,
    who: User,
    password: str | None,
    username: str,
    display_name: str,
    field: str = "password",
) -> None:
    problems = password_problems(password or "", context=(username, display_name))
    check(
        session,
        who,
        not problems,
        field,
        "***",  # never echo a password, not even a refused one
        f"{RULES} ({'; '.join(problems)})" if problems else RULES,
    )


def administrable(actor: User, session: Session, target: User, action: str) -> None:
    """Refuse unless ``actor`` is an admin who may manage ``target`` (same site, or any site
    for an admin without one)."""
    require_role(session, actor, ADMIN, action)
    if actor.site_id is not None and target.site_id != actor.site_id:
        deny(session, actor, "other_site", f"{action}: {target.username!r} belongs to another site")


def accounts_for(actor: User, session: Session) -> list[User]:
    """The accounts an admin manages, by user name."""
    require_role(session, actor, ADMIN, "list accounts")
    q = select(User).order_by(User.username)
    if actor.site_id is not None:
        q = q.where(User.site_id == actor.site_id)
    return list(session.scalars(q))


def update_user(
    admin: User,
    session: Session,
    target: User,
    *,
    display_name: str | None = None,
    role: str | None = None,
    site: Site | None | bool = False,
) -> None:
    """Change an account's name, role or site (``site`` False: unchanged; None: every site).
    A role or site change ends the account's sessions, so it takes effect at once."""
    administrable(admin, session, target, "change an account")
    if display_name is not None:
        check(
            session,
            admin,
            bool(display_name.strip()) and len(display_name) <= 200,
            "display_name",
            display_name,
            "the person's name, 1-200 characters",
        )
        target.display_name = display_name
    if role is not None:
        check(session, admin, role in ROLES, "role", role, ", ".join(ROLES))
        check(
            session,
            admin,
            target.id != admin.id or role == "admin",
            "role",
            role,
            "admin: you cannot take your own administrator role away",
        )
    if site is not False and admin.site_id is not None:
        check(
            session,
            admin,
            site is not None and site.id == admin.site_id,
            "site",
            site.code if site else "*",
            "your own site",
        )
    moved = (role is not None and role != target.role) or (
        site is not False and (site.id if site else None) != target.site_id
    )
    if role is not None:
        target.role = role
    if site is not False:
        target.site_id = site.id if site else None
    if moved:
        end_sessions(session, target.id, "role or site changed")


def change_password(user: User, session: Session, current: str, new: str) -> None:
    """A user sets a new password, proving the current one (a wrong one counts toward lockout)."""
    require_role(session, user, ROLES, "change your password")
    reauthenticate(session, user, current, "change your password")
    check(
        session,
        user,
        new != current,
        "new_password",
        "***",
        "a password different from the current one",
    )
    _check_password(session, user, new, user.username, user.display_name, "new_password")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = utcnow()


def reset_password(admin: User, session: Session, target: User) -> str:
    """An admin gives ``target`` a one-time password to be changed at the next login; every
    session of the account ends and a lockout is lifted. Returns the password (show it once)."""
    administrable(admin, session, target, "reset a password")
    password = temporary_password()
    target.password_hash = hash_password(password)
    target.must_change_password = True
    target.password_changed_at = utcnow()
    target.failed_logins, target.locked_until = 0, None
    end_sessions(session, target.id, "password reset by an administrator")
    return password


def set_active(admin: User, session: Session, target: User, active: bool) -> None:
    """Deactivate (every session ends at once) or reactivate an account; never delete it."""
    administrable(
        admin, session, target, "deactivate an account" if not active else "reactivate an account"
    )
    check(
        session,
        admin,
        active or target.id != admin.id,
        "active",
        active,
        "an account other than your own (another admin deactivates yours)",
    )
    target.active = active
    if not active:
        end_sessions(session, target.id, "account deactivated")


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
    count_failure(user)
    return None
