"""Failed logins per user name, kept in the store so every worker counts the same attempts.

Names are counted whether or not an account has them, so the answers never reveal which user
names exist: after ``MAX_FAILURES`` failures within ``WINDOW`` the name is refused for
``LOCKOUT`` (OWASP Authentication Cheat Sheet, "account lockout"). The accounts' own counter
(users.failed_logins) also counts wrong signing passwords and one-time codes.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..models import LoginThrottle
from ..types import utcnow

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)


def name_key(username: str) -> str:
    return username.strip().casefold()[:64]


def locked_for(session: Session, username: str) -> float:
    """Seconds left on the lockout of this name (0 when not locked)."""
    row = session.get(LoginThrottle, name_key(username))
    if row is None or row.locked_until is None:
        return 0.0
    return max(0.0, (row.locked_until - utcnow()).total_seconds())


def record_failure(
    session: Session,
    username: str,
    max_failures: int = MAX_FAILURES,
    lockout: timedelta = LOCKOUT,
) -> bool:
    """Count one failure; True when it locked the name. The caller commits."""
    key, now = name_key(username), utcnow()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(LoginThrottle)
        .values(name_key=key, failures=0, window_started_at=now)
        .on_conflict_do_nothing()
    )
    row = session.scalar(
        select(LoginThrottle).where(LoginThrottle.name_key == key).with_for_update()
    )
    if now - row.window_started_at > WINDOW:
        row.failures, row.window_started_at = 0, now
    row.failures += 1
    if row.failures >= max_failures:
        row.failures, row.locked_until = 0, now + lockout
        return True
    return False


def record_success(session: Session, username: str) -> None:
    row = session.get(LoginThrottle, name_key(username))
    if row is not None:
        session.delete(row)
