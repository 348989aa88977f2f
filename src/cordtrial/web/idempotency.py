"""Idempotency keys for API writes: a retry after a lost answer gets the first answer, not a
second record.

A client sends ``Idempotency-Key: <random value>`` with a write (IETF draft
"The Idempotency-Key HTTP Header Field"). The key is claimed in the write's own transaction,
before any work, and the answer is stored in that same transaction (``respond``), so either
both the record and its answer are stored or neither is. A repeat of the same request with the
same key gets the stored answer (header ``Idempotent-Replayed: true``); the same key with a
different request is refused (422); a repeat while the first is still running waits for it
(PostgreSQL row lock, SQLite's single writer) and then gets 409 and, once more, the answer.
Keys are per account and kept for ``KEEP``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from cordtrial.store.db import session_scope
from cordtrial.store.models import IdempotencyKey
from cordtrial.store.types import utcnow

from .errors import Conflict, FormInvalid, WebError

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)
_STATE = "idempotency"


class Replay(WebError):
    """The stored answer of an earlier, identical request."""

    def __init__(self, status: int, body: str):
        super().__init__("replayed")
        self.status, self.body = status, body


def request_digest(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\0".join((method.encode(), path.encode(), body))).hexdigest()


def lookup(request: Request, user_id: int, key: str) -> tuple[str, int | None, str | None] | None:
    with session_scope(request.app.state.database_url) as db:
        row = db.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
            )
        )
        return None if row is None else (row.request_hash, row.status_code, row.response)


def answer_repeat(found: tuple[str, int | None, str | None], key: str, digest: str) -> None:
    request_hash, status, response = found
    if request_hash != digest:
        raise FormInvalid(
            [
                {
                    "field": HEADER,
                    "value": key,
                    "allowed": "a new key: this one was used for a different request",
                }
            ]
        )
    if status is None:  # pragma: no cover - a claim is committed with its answer
        raise Conflict("this write is still being processed; retry to get its answer")
    raise Replay(status, response)


def claim(request: Request, db: DbSession) -> None:
    """Called by the unit of work: claim the noted key before the write does anything."""
    noted = getattr(request.state, _STATE, None)
    if noted is None or getattr(request.state, "idempotency_row", None) is not None:
        return
    user_id, key, digest = noted
    now = utcnow()
    db.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEEP))
    row = IdempotencyKey(user_id=user_id, key=key, request_hash=digest, created_at=now)
    db.add(row)
    try:
        db.flush()
    except IntegrityError:
        # the same key committed while this request was on its way: its answer is stored
        db.rollback()
        raise Conflict(
            "a write with this Idempotency-Key was just processed; retry to get its answer"
        ) from None
    request.state.idempotency_row = row


def respond(request: Request, db: DbSession, out: Any, status_code: int = 200) -> Any:
    """Keep ``out`` as the answer of this write (same transaction); returns it."""
    row = getattr(request.state, "idempotency_row", None)
    if row is not None:
        row.status_code = status_code
        row.response = json.dumps(jsonable_encoder(out), separators=(",", ":"))
    return out
