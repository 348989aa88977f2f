"""Shared guards for the services: roles, sites, input checks, re-authentication.

Roles (cell-product.md, "Access control by role and site"): a user acts only within their site
(``site_id`` None means every site); identifying data is for investigators and admins only;
monitors and statisticians read, they never change trial data.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any, NoReturn

from sqlalchemy.orm import Session

from ..audit import set_actor
from ..models import Patient, User
from ..passwords import verify_password
from ..refusals import Refusal, count_failed_authentication, refuse
from ..text import safe_echo
from ..types import utcnow

__all__ = [
    "Refusal",
    "act",
    "deny",
    "require_role",
    "require_site",
    "check",
    "check_all",
    "require_text",
    "reauthenticate",
    "CLINICAL",
    "IDENTITY_ROLES",
    "READ_ROLES",
]

CLINICAL = ("investigator",)
IDENTITY_ROLES = ("investigator", "admin")
READ_ROLES = (
    "investigator",
    "assessor",
    "cell_processing",
    "qa",
    "monitor",
    "statistician",
    "admin",
)
_SIGNING_KEY = "cordtrial_signing_key"
_SIGNING_SEEN = "cordtrial_signing_seen"


def act(session: Session, user: User) -> None:
    """Attribute the session's next changes to ``user``; refuse inactive or locked accounts."""
    if not user.active:
        deny(session, user, "account_inactive", f"account {user.username!r} is deactivated")
    set_actor(session, user.username)


def deny(session: Session, user: User | None, code: str, message: str, **ctx: Any) -> NoReturn:
    refuse(session, user.username if user else "anonymous", code, message, **ctx)


def require_role(session: Session, user: User, roles: Iterable[str], action: str) -> None:
    act(session, user)
    roles = tuple(roles)
    if user.role not in roles:
        deny(
            session,
            user,
            "role_not_allowed",
            f"{action}: role {user.role!r} may not do this; allowed roles: {', '.join(roles)}",
            action=action,
            role=user.role,
        )


def require_site(session: Session, user: User, patient: Patient, action: str) -> None:
    if user.site_id is not None and patient.site_id != user.site_id:
        deny(
            session,
            user,
            "other_site",
            f"{action}: patient {patient.study_code} belongs to another site",
            patient=patient.study_code,
        )


def check(session: Session, user: User, ok: bool, field: str, value: Any, allowed: str) -> None:
    """Refuse bad input, naming the field, the value and what is allowed."""
    if not ok:
        deny(
            session,
            user,
            "invalid_input",
            # a long value is cut in the message, so what is allowed is always readable
            f"{field}: got {safe_echo(value)!r}; allowed: {allowed}",
            field=field,
            value=value,
            allowed=allowed,
        )


def check_all(session: Session, user: User, checks: Iterable[tuple[bool, str, Any, str]]) -> None:
    """Refuse every failed (ok, field, value, allowed) at once: one refusal naming each field,
    so a form shows all its errors together rather than one per attempt."""
    failed = [(field, value, allowed) for ok, field, value, allowed in checks if not ok]
    if len(failed) == 1:
        check(session, user, False, *failed[0])
    if failed:
        deny(
            session,
            user,
            "invalid_input",
            "; ".join(f"{f}: got {safe_echo(v)!r}; allowed: {a}" for f, v, a in failed),
            errors=[{"field": f, "value": v, "allowed": a} for f, v, a in failed],
        )


TEXT_MAX = 2000


def require_text(
    session: Session, user: User, value: Any, field: str, what: str, limit: int = TEXT_MAX
) -> str:
    """A required free text (a reason, a message): non-blank, at most ``limit`` characters.
    Returns it stripped."""
    ok = isinstance(value, str) and bool(value.strip()) and len(value) <= limit
    check(session, user, ok, field, value, f"{what}: text of 1-{limit} characters")
    return value.strip()


def reauthenticate(session: Session, user: User, password: str, purpose: str) -> None:
    """Check a signer's password (21 CFR 11.200(a): signing uses the signer's own credentials).

    Within one continuous session (one unit of work), 11.200(a)(1)(i) allows later signings by
    the same person to be checked more lightly: after a full Argon2 check, the password is
    remembered as an HMAC under a key that lives only in this session, so a series of signatures
    (e.g. seeding, batch release) does not pay the deliberately slow hash each time, while a
    wrong password is still refused.
    """
    now = utcnow()
    if not user.active:
        deny(
            session,
            user,
            "account_inactive",
            f"{purpose}: account {user.username!r} is deactivated",
        )
    if user.locked_until is not None and user.locked_until > now:
        deny(
            session,
            user,
            "account_locked",
            f"{purpose}: account {user.username!r} is locked until {user.locked_until:%H:%M} UTC",
        )
    key = session.info.setdefault(_SIGNING_KEY, secrets.token_bytes(32))
    seen = session.info.setdefault(_SIGNING_SEEN, {})
    tag = hmac.new(
        key, f"{user.id}\0{user.password_hash}\0{password}".encode(), hashlib.sha256
    ).digest()
    if seen.get(user.id) is not None and hmac.compare_digest(seen[user.id], tag):
        return
    if not verify_password(user.password_hash, password):
        # Counts toward the lockout like a failed login: a signature form must not be a
        # password oracle with unlimited attempts.
        count_failed_authentication(session, user.id)
        deny(
            session,
            user,
            "authentication_failed",
            f"{purpose}: wrong password for {user.username!r}",
            purpose=purpose,
        )
    seen[user.id] = tag
