"""Request dependencies: database unit of work, the caller (session or HTTP Basic), CSRF."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session as DbSession
from starlette.concurrency import run_in_threadpool

from cordtrial.store.db import session_scope

from . import accounts, idempotency
from .errors import CsrfFailed, Forbidden, NotAuthenticated, StepRequired
from .principal import Principal
from .security import CSRF_FIELD, CSRF_HEADER, csrf_matches

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@contextmanager
def unit_of_work(request: Request) -> Iterator[DbSession]:
    """One transaction: committed when the block ends, rolled back (nothing saved) on error;
    refusals are logged by the store either way."""
    with session_scope(request.app.state.database_url) as db:
        if getattr(request.state, "idempotency", None) is not None:
            idempotency.claim(request, db)  # an API write with an Idempotency-Key
        yield db


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, data = header.partition(" ")
    if scheme.lower() != "basic" or not data:
        return None
    try:
        decoded = base64.b64decode(data.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise NotAuthenticated("malformed HTTP Basic credentials") from exc
    username, sep, password = decoded.partition(":")
    if not sep:
        raise NotAuthenticated("malformed HTTP Basic credentials")
    return username, password


async def current_principal(request: Request) -> Principal:
    """The authenticated caller, or 401/redirect to the login page.

    Pages use the session cookie; API calls may use the cookie or HTTP Basic. A state-changing
    request authenticated by the cookie must carry the session's CSRF token. A session that
    still owes a step (one-time code, new password, second-factor set-up) is sent to it."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = await session_principal(request, ("active",))
    if principal is None and request.url.path.startswith("/api/"):
        creds = _basic_credentials(request)
        if creds is not None:
            principal = await run_in_threadpool(_basic_login, request, creds)
    if principal is None:
        raise NotAuthenticated("log in to continue")
    request.state.principal = principal
    return principal


async def session_principal(request: Request, states: tuple[str, ...]) -> Principal | None:
    """The caller of a live session in one of ``states`` (CSRF checked on writes); None without
    a session; StepRequired when the session is in another state."""
    found = await run_in_threadpool(_load_session, request)
    if found is None:
        return None
    web, principal = found
    request.state.session = web
    if web.state not in states:
        raise StepRequired(web.state)
    if request.method in UNSAFE:
        supplied = request.headers.get(CSRF_HEADER)
        if supplied is None and _is_form(request):
            form = await request.form()
            supplied = form.get(CSRF_FIELD)
        if not csrf_matches(web, supplied):
            raise CsrfFailed(
                "the form's security token (CSRF) is missing or stale; reload the page "
                "and try again"
            )
    return principal


def step_principal(*states: str):
    """Dependency for the pages of the login steps: a session in one of ``states``."""

    async def dependency(request: Request) -> Principal:
        principal = await session_principal(request, states)
        if principal is None:
            raise NotAuthenticated("log in to continue")
        request.state.principal = principal
        return principal

    return dependency


def _load_session(request: Request):
    with unit_of_work(request) as db:
        return accounts.load_session(request, db)


def _basic_login(request: Request, creds: tuple[str, str]) -> Principal:
    with unit_of_work(request) as db:
        return accounts.login(request, db, *creds)


def _is_form(request: Request) -> bool:
    ctype = request.headers.get("content-type", "")
    return ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def require(principal: Principal, action: str) -> None:
    if not principal.can(action):
        raise Forbidden(f"your role ({principal.role_label}) may not {action.replace('_', ' ')}")


# -- idempotency keys on API writes (idempotency.py keeps the keys and answers) -------------------

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        pattern=r"^[A-Za-z0-9_.:-]{8,128}$",
        description="A random value (e.g. a UUID) unique to this write: a retry with the same "
        "key and body returns the first answer instead of writing again (kept 24 h).",
    ),
]


async def idempotency_key(
    request: Request,
    who: Annotated[Principal, Depends(current_principal)],
    key: IdempotencyKeyHeader = None,
) -> None:
    """Dependency of every API write: replays or refuses a reused key, else notes the key for
    the write's unit of work to claim (idempotency.claim)."""
    if key is None:
        return
    digest = idempotency.request_digest(request.method, request.url.path, await request.body())
    found = await run_in_threadpool(idempotency.lookup, request, who.id, key)
    if found is not None:
        idempotency.answer_repeat(found, key, digest)
    request.state.idempotency = (who.id, key, digest)


Idempotent = Annotated[None, Depends(idempotency_key)]
