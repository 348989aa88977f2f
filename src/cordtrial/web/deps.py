"""Request dependencies: database unit of work, the caller (session or HTTP Basic), CSRF."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from sqlalchemy.orm import Session as DbSession

from cordtrial.store.db import session_scope

from . import accounts
from .errors import CsrfFailed, Forbidden, NotAuthenticated
from .principal import Principal
from .security import CSRF_FIELD, CSRF_HEADER, PRINCIPAL_TTL, SESSION_COOKIE, csrf_matches

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@contextmanager
def unit_of_work(request: Request) -> Iterator[DbSession]:
    """One transaction: committed when the block ends, rolled back (nothing saved) on error;
    refusals are logged by the store either way."""
    with session_scope(request.app.state.database_url) as db:
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
    request authenticated by the cookie must carry the session's CSRF token."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    app = request.app
    session = app.state.sessions.get(request.cookies.get(SESSION_COOKIE))
    principal: Principal | None = None
    if session is not None:
        now = time.monotonic()
        if session.principal is not None and now - session.principal_read_at < PRINCIPAL_TTL:
            principal = session.principal
        else:
            with unit_of_work(request) as db:
                principal = accounts.load_principal(db, session.user_id)
            session.principal, session.principal_read_at = principal, now
        if principal is None:  # account deactivated since login
            app.state.sessions.destroy(session)
        else:
            request.state.session = session
            if request.method in UNSAFE:
                supplied = request.headers.get(CSRF_HEADER)
                if supplied is None and _is_form(request):
                    form = await request.form()
                    supplied = form.get(CSRF_FIELD)
                if not csrf_matches(session, supplied):
                    raise CsrfFailed(
                        "the form's security token (CSRF) is missing or stale; reload the page "
                        "and try again"
                    )
    elif request.url.path.startswith("/api/"):
        creds = _basic_credentials(request)
        if creds is not None:
            with unit_of_work(request) as db:
                principal = accounts.login(request, db, *creds)
    if principal is None:
        raise NotAuthenticated("log in to continue")
    request.state.principal = principal
    return principal


def _is_form(request: Request) -> bool:
    ctype = request.headers.get("content-type", "")
    return ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def require(principal: Principal, action: str) -> None:
    if not principal.can(action):
        raise Forbidden(f"your role ({principal.role_label}) may not {action.replace('_', ' ')}")
