"""Refusals: the one exception the domain rules raise, and the log that keeps every one of them.

A service refuses by calling :func:`refuse`, which queues the refusal on the session and raises
:class:`Refusal`. The queued refusals are written (to the ``refusals`` table, and thereby to the
audit trail) in their own transaction by :func:`flush_refusals`, after the refused unit of work
has been rolled back or committed, so a refusal is logged even though what it refused is not
stored. :func:`cordtrial.store.db.session_scope` calls it; code managing its own sessions (the
web app) must call it after handling a :class:`Refusal`.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from sqlalchemy.orm import Session

from .text import safe_echo
from .types import utcnow

log = logging.getLogger("cordtrial.store.refusals")
_PENDING = "cordtrial_pending_refusals"
_FAILED_AUTH = "cordtrial_failed_authentications"
# What one refusal may carry (and so store, log and answer): a refusal is kept forever in the
# audit trail, so a huge or hostile input must not become a huge permanent record.
MAX_MESSAGE = 1000
MAX_ERRORS = 20
MAX_VALUE = 200


class Refusal(Exception):
    """A domain rule refused an action. ``code`` is stable (for tests and the UI)."""

    def __init__(self, code: str, message: str, **context: Any):
        message = str(safe_echo(message, MAX_MESSAGE))
        self.code, self.message, self.context = code, message, _bounded(context)
        super().__init__(f"refused ({code}): {message}")


def _bounded(context: dict[str, Any]) -> dict[str, Any]:
    """The context with at most MAX_ERRORS field errors and every value made safe to keep."""
    out = {}
    for key, value in context.items():
        if key == "errors" and isinstance(value, list):
            errors = [_bounded(e) if isinstance(e, dict) else safe_echo(e) for e in value]
            if len(errors) > MAX_ERRORS:
                more = len(errors) - MAX_ERRORS
                errors = errors[:MAX_ERRORS] + [
                    {"field": "_form", "value": None, "allowed": f"... and {more} more errors"}
                ]
            out[key] = errors
        elif key == "allowed":  # what is allowed may be a long list: kept whole up to a page
            out[key] = safe_echo(value, MAX_MESSAGE)
        else:
            out[key] = _jsonable(value)
    return out


def refuse(session: Session, username: str, code: str, message: str, **context: Any) -> NoReturn:
    """Queue the refusal for logging and raise it."""
    refusal = Refusal(code, message, **context)
    refusal.context.setdefault("username", username)
    session.info.setdefault(_PENDING, []).append((utcnow(), username, refusal))
    log.warning("refused %s for %s: %s", code, username, message)
    raise refusal


def count_failed_authentication(session: Session, user_id: int) -> None:
    """Remember a wrong password given to re-authenticate (e-signature) so that it counts
    toward the account's lockout like a failed login. The refused unit of work is rolled
    back, so the count is written with the refusal log, in a transaction of its own."""
    session.info.setdefault(_FAILED_AUTH, []).append(user_id)


def pending(session: Session) -> list[Refusal]:
    return [r for _, _, r in session.info.get(_PENDING, [])]


def flush_refusals(session: Session) -> int:
    """Write queued refusals in a transaction of their own; return how many were written.

    Call with no other work pending in the session (after commit or rollback).
    """
    from .models import RefusalLog

    queued = session.info.pop(_PENDING, [])
    failed = session.info.pop(_FAILED_AUTH, [])
    if not queued and not failed:
        return 0
    if failed:
        from .lockout import count_failure
        from .models import User

        for user_id in failed:
            user = session.get(User, user_id)
            if user is not None:
                count_failure(user)
    for at, username, refusal in queued:
        # Already bounded when the refusal was made (Refusal.__init__).
        ctx = {k: v for k, v in refusal.context.items() if k != "username"}
        session.add(
            RefusalLog(
                at=at, username=username, code=refusal.code, message=refusal.message, context=ctx
            )
        )
    session.commit()
    return len(queued)


def _jsonable(v: Any, depth: int = 0) -> Any:
    if isinstance(v, list | tuple) and depth < 2:
        items = [_jsonable(x, depth + 1) for x in v[:MAX_ERRORS]]
        return items + ([f"... and {len(v) - MAX_ERRORS} more"] if len(v) > MAX_ERRORS else [])
    if isinstance(v, dict) and depth < 2:
        keys = list(v)[:MAX_ERRORS]
        out = {str(safe_echo(str(k), 64)): _jsonable(v[k], depth + 1) for k in keys}
        if len(v) > MAX_ERRORS:
            out["..."] = f"{len(v) - MAX_ERRORS} more"
        return out
    return safe_echo(v, MAX_VALUE)
