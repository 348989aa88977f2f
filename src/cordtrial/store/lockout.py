"""An account's failed-attempt counter: wrong passwords at login or to sign, wrong one-time
codes. After MAX_FAILED_LOGINS the account is locked for LOCKOUT (OWASP Authentication Cheat
Sheet, "account lockout")."""

from __future__ import annotations

from datetime import timedelta

from .models import User
from .types import utcnow

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


def count_failure(user: User) -> None:
    """One more failed attempt; the account locks when it reaches MAX_FAILED_LOGINS."""
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = utcnow() + LOCKOUT
        user.failed_logins = 0
