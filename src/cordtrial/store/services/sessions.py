"""Login sessions kept in the store, so every worker and every restart shares them.

A session is found by the SHA-256 of its random token (the browser holds the token; the store
never does). It ends on logout, after ``idle`` without a request, after ``absolute`` in any
case (OWASP Session Management Cheat Sheet: idle and absolute timeouts), and when its account is
deactivated or its password reset. Sessions are operational data: not audited, not exported.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from ..models import SESSION_STATES, User, UserSession
from ..types import utcnow

TOUCH_EVERY = timedelta(seconds=60)  # last-seen is written at most once a minute
KEEP_ENDED = timedelta(days=30)  # ended sessions stay listed this long, then are purged


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    session: Session,
    user: User,
    state: str,
    timeouts: Timeouts,
    *,
    client: str | None = None,
    address: str | None = None,
) -> tuple[UserSession, str]:
    """A new session for ``user``; returns it and the token for the browser (shown once)."""
    assert state in SESSION_STATES, state
    token, now = secrets.token_urlsafe(32), utcnow()
    row = UserSession(
        token_hash=token_hash(token),
        user_id=user.id,
        state=state,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timeouts.absolute,
        client=(client or "")[:200] or None,
        address=(address or "")[:64] or None,
    )
    session.add(row)
    session.flush()
    return row, token


def find_session(session: Session, token: str, timeouts: Timeouts) -> UserSession | None:
    """The live session with this token, touched (at most once a minute); None when unknown,
    ended or timed out (a timed-out session is ended here)."""
    row = session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is None or row.ended_at is not None:
        return None
    now = utcnow()
    if now >= row.expires_at:
        end_session(session, row, "absolute timeout")
        return None
    if now - row.last_seen_at > timeouts.idle:
        end_session(session, row, "idle timeout")
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def end_session(session: Session, row: UserSession, reason: str) -> None:
    if row.ended_at is None:
        row.ended_at, row.end_reason = utcnow(), reason[:64]


def end_sessions(session: Session, user_id: int, reason: str, except_id: int | None = None) -> int:
    """End every live session of an account (except one); returns how many ended."""
    q = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if except_id is not None:
        q = q.where(UserSession.id != except_id)
    result = session.execute(
        q.values(ended_at=utcnow(), end_reason=reason[:64]).execution_options(
            synchronize_session="fetch"
        )
    )
    return result.rowcount or 0


def live_sessions(
    session: Session, timeouts: Timeouts, user_ids: list[int] | None = None
) -> list[UserSession]:
    """Sessions not ended and not timed out, newest first (of some accounts, or all)."""
    now = utcnow()
    q = select(UserSession).where(
        UserSession.ended_at.is_(None),
        UserSession.expires_at > now,
        UserSession.last_seen_at > now - timeouts.idle,
    )
    if user_ids is not None:
        q = q.where(UserSession.user_id.in_(user_ids))
    return list(session.scalars(q.order_by(UserSession.last_seen_at.desc())))


def purge(session: Session, now: datetime | None = None) -> int:
    """Delete sessions that ended (or expired) more than KEEP_ENDED ago."""
    cutoff = (now or utcnow()) - KEEP_ENDED
    result = session.execute(
        delete(UserSession).where(
            or_(UserSession.ended_at < cutoff, UserSession.expires_at < cutoff)
        )
    )
    return result.rowcount or 0
