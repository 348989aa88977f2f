"""Two-factor login with time-based one-time passwords (TOTP, RFC 6238; pyotp).

A user enrols by scanning the secret (QR code) into an authenticator app and confirming one
code; from then on every login asks for a code after the password. A code is accepted once
(the last accepted 30-s step is kept), within one step of clock drift (RFC 6238 section 5.2);
wrong codes count toward the account's lockout like wrong passwords. An administrator can
require two-factor login for a role (its users must enrol at their next login) and can reset a
user's enrolment (lost phone).
"""

from __future__ import annotations

import time

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..lockout import count_failure
from ..models import ROLES, RolePolicy, User
from .base import check, deny, reauthenticate, require_role
from .sessions import end_sessions
from .users import administrable

ISSUER = "cordtrial"
STEP = 30  # seconds (RFC 6238 default, what authenticator apps use)
DRIFT_STEPS = 1


def required_for(session: Session, role: str) -> bool:
    policy = session.get(RolePolicy, role)
    return bool(policy and policy.require_totp)


def policies(session: Session) -> dict[str, bool]:
    rows = {p.role: p.require_totp for p in session.scalars(select(RolePolicy))}
    return {role: rows.get(role, False) for role in ROLES}


def set_required(admin: User, session: Session, role: str, required: bool) -> None:
    """Require (or stop requiring) two-factor login for every user of ``role``."""
    require_role(session, admin, ("admin",), "change the security policy")
    check(
        session,
        admin,
        admin.site_id is None,
        "role",
        role,
        "a trial-wide setting: only an administrator without a site changes it",
    )
    check(session, admin, role in ROLES, "role", role, ", ".join(ROLES))
    policy = session.get(RolePolicy, role)
    if policy is None:
        session.add(RolePolicy(role=role, require_totp=required))
    else:
        policy.require_totp = required
    session.flush()


def begin_enrolment(user: User, session: Session) -> str:
    """A new secret for ``user`` (not in use until a code confirms it); returns the
    otpauth:// URI that authenticator apps read from a QR code."""
    require_role(session, user, ROLES, "set up two-factor login")
    if user.totp_enabled:
        deny(
            session,
            user,
            "two_factor_enabled",
            "two-factor login is already set up; turn it off first",
        )
    user.totp_secret = pyotp.random_base32()
    session.flush()
    return provisioning_uri(user)


def provisioning_uri(user: User) -> str:
    issuer = f"{ISSUER} ({user.site.code})" if user.site is not None else ISSUER
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=issuer)


def confirm_enrolment(user: User, session: Session, code: str) -> None:
    """Turn two-factor login on once a code from the new secret is right."""
    require_role(session, user, ROLES, "set up two-factor login")
    if user.totp_secret is None or user.totp_enabled:
        deny(session, user, "two_factor_not_started", "start setting up two-factor login first")
    _check_code(session, user, code)
    user.totp_enabled = True


def verify_login_code(session: Session, user: User, code: str) -> bool:
    """True when ``code`` is right (and not used before); a wrong one is counted. The caller
    commits either way."""
    if not (user.active and user.totp_enabled and user.totp_secret):
        return False
    step = matching_step(user.totp_secret, code, user.totp_last_step)
    if step is None:
        count_failure(user)
        return False
    user.totp_last_step = step
    user.failed_logins = 0
    return True


def disable(user: User, session: Session, password: str) -> None:
    """The user turns two-factor login off (not allowed where the role requires it)."""
    require_role(session, user, ROLES, "turn off two-factor login")
    if required_for(session, user.role):
        deny(
            session,
            user,
            "two_factor_required",
            f"two-factor login is required for the role {user.role}; ask an administrator to "
            "reset it if you lost your device",
        )
    reauthenticate(session, user, password, "turn off two-factor login")
    user.totp_secret, user.totp_enabled, user.totp_last_step = None, False, None


def reset(admin: User, session: Session, target: User) -> None:
    """An administrator clears a user's enrolment (lost device); their sessions end."""
    administrable(admin, session, target, "reset two-factor login")
    target.totp_secret, target.totp_enabled, target.totp_last_step = None, False, None
    end_sessions(session, target.id, "two-factor login reset by an administrator")


def _check_code(session: Session, user: User, code: str) -> None:
    # Not counted toward lockout: the user is logged in and the secret was just made for them,
    # so a wrong code here is a typo or a clock problem, not a guess.
    step = matching_step(user.totp_secret, code, user.totp_last_step)
    check(
        session,
        user,
        step is not None,
        "code",
        "***",
        "the 6-digit code your authenticator app shows now (check the phone's clock)",
    )
    user.totp_last_step = step


def matching_step(
    secret: str, code: str, last_step: int | None, now: float | None = None
) -> int | None:
    """The 30-s step whose code is ``code`` (within DRIFT_STEPS), if newer than ``last_step``."""
    code = (code or "").replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    now = time.time() if now is None else now
    current = int(now // STEP)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if totp.verify(code, for_time=step * STEP):
            return step
    return None
