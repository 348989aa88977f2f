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

from .types import utcnow

log = logging.getLogger("cordtrial.store.refusals")
_PENDING = "cordtrial_pending_refusals"


class Refusal(Exception):
    """A domain rule refused an action. ``code`` is stable (for tests and the UI)."""

    def __init__(self, code: str, message: str, **context: Any):
        self.code, self.message, self.context = code, message, context
        super().__init__(f"refused ({code}): {message}")


def refuse(session: Session, username: str, code: str, message: str, **context: Any) -> NoReturn:
    """Queue the refusal for logging and raise it."""
    refusal = Refusal(code, message, **context)
    refusal.context.setdefault("username", username)
    session.info.setdefault(_PENDING, []).append((utcnow(), username, refusal))
    log.warning("refused %s for %s: %s", code, username, message)
    raise refusal


def pending(session: Session) -> list[Refusal]:
    return [r for _, _, r in session.info.get(_PENDING, [])]


def flush_refusals(session: Session) -> int:
    """Write queued refusals in a transaction of their own; return how many were written.

    Call with no other work pending in the session (after commit or rollback).
    """
    from .models import RefusalLog

    queued = session.info.pop(_PENDING, [])
    if not queued:
        return 0
    for at, username, refusal in queued:
        ctx = {k: _jsonable(v) for k, v in refusal.context.items() if k != "username"}
        session.add(
            RefusalLog(
                at=at, username=username, code=refusal.code, message=refusal.message, context=ctx
            )
        )
    session.commit()
    return len(queued)


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return str(v)
