"""Log in (password, then a one-time code where the account uses two-factor login) and out;
the same as JSON for API clients (POST/DELETE /api/v1/session).

The login form is protected against login CSRF with a double-submit token: GET /login sets a
signed, short-lived cookie and puts the same token in the form; POST /login checks both.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import BaseModel, Field

from cordtrial.store.services import sessions as session_service
from cordtrial.store.services import two_factor

from .. import accounts
from ..deps import session_principal, step_principal, unit_of_work
from ..errors import NotAuthenticated
from ..principal import Principal
from ..render import render
from ..schemas import Strict
from ..security import SESSION_COOKIE
from ..steps import STEP_NAMES, STEP_PAGES

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["Accounts"])
LOGIN_CSRF_COOKIE = "cordtrial_login_csrf"
LOGIN_FORM_MAX_AGE = 3600


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.signing_key.value, salt="cordtrial-login")


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an attacker-supplied absolute URL must not become a redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(request, *, status_code=200, error=None, username="", next_="/"):
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        status_code=status_code,
        user=None,
        csrf_token=token,
        error=error,
        username=username,
        next=_safe_next(next_),
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        _serializer(request).dumps(token),
        max_age=LOGIN_FORM_MAX_AGE,
        httponly=True,
        secure=request.app.state.cookie_secure,
        samesite="strict",
        path="/login",
    )
    return response


def set_session_cookie(request: Request, response, cookie: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        secure=request.app.state.cookie_secure,
        samesite="strict",
        path="/",
    )


@router.get("/login")
def login_form(request: Request, next: str = "/"):
    return _login_page(request, next_=next)


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
):
    try:
        expected = _serializer(request).loads(
            request.cookies.get(LOGIN_CSRF_COOKIE, ""), max_age=LOGIN_FORM_MAX_AGE
        )
    except (BadSignature, SignatureExpired):
        expected = None
    if not expected or not secrets.compare_digest(str(expected), csrf_token):
        return _login_page(
            request,
            status_code=403,
            error="The login form expired; please try again.",
            username=username,
            next_=next,
        )
    with unit_of_work(request) as db:
        outcome = accounts.try_login(request, db, username, password)
        if outcome.principal is not None:
            cookie, _ = accounts.open_session(request, db, outcome.principal.id, outcome.state)
    if outcome.principal is None:
        return _login_page(
            request,
            status_code=outcome.status,
            error=outcome.message,
            username=username,
            next_=next,
        )
    target = _safe_next(next) if outcome.state == "active" else STEP_PAGES[outcome.state]
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, cookie)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


# -- the one-time code ----------------------------------------------------------------------------


@router.get("/login/code")
def code_form(request: Request, who: Annotated[Principal, Depends(step_principal("mfa"))]):
    return render(request, "login_code.html", user=None)


@router.post("/login/code")
def check_code(
    request: Request,
    who: Annotated[Principal, Depends(step_principal("mfa"))],
    code: Annotated[str, Form(max_length=16)] = "",
):
    with unit_of_work(request) as db:
        state = _after_code(request, db, who, code)
    if state is None:
        return render(
            request,
            "login_code.html",
            status_code=401,
            user=None,
            error="That code is not right (or was used already). Enter the code your app shows now.",
        )
    if state == "locked":
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(STEP_PAGES.get(state, "/"), status_code=303)


def _after_code(request: Request, db, who: Principal, code: str) -> str | None:
    """Check the code and move the session on; None for a wrong code, "locked" when the
    wrong codes locked the account (its session ends)."""
    from cordtrial.store.models import User, UserSession

    user = db.get(User, who.id)
    row = db.get(UserSession, request.state.session.id)
    if not two_factor.verify_login_code(db, user, code):
        if user.locked_until is not None:
            session_service.end_session(db, row, "too many wrong codes")
            return "locked"
        return None
    row.state = accounts.step_after_code(db, user)
    return row.state


@router.post("/logout")
async def logout(request: Request):
    # Any session may log out, whatever step it is at; the CSRF token is checked.
    principal = await session_principal(request, ("active", "mfa", "password", "mfa_setup"))
    if principal is not None:
        with unit_of_work(request) as db:
            _end(request, db, "logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _end(request: Request, db, reason: str) -> None:
    from cordtrial.store.models import UserSession

    row = db.get(UserSession, request.state.session.id)
    session_service.end_session(db, row, reason)


# -- the same for API clients ---------------------------------------------------------------------


class SessionIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    code: str | None = Field(
        default=None, max_length=16, description="the one-time code, for two-factor accounts"
    )


class SessionOut(BaseModel):
    username: str
    role: str
    csrf_token: str = Field(description="send it as X-CSRF-Token on every write")


@api.post(
    "/session",
    response_model=SessionOut,
    summary="Log in: sets the session cookie (two-factor accounts send their code too)",
    responses={401: {"description": "Wrong credentials or code"}, 429: {"description": "Locked"}},
)
def api_login(body: SessionIn, request: Request):
    from cordtrial.store.models import User

    with unit_of_work(request) as db:
        outcome = accounts.try_login(request, db, body.username, body.password)
        if outcome.principal is None:
            return JSONResponse({"detail": outcome.message}, status_code=outcome.status)
        user = db.get(User, outcome.principal.id)
        state = outcome.state
        if state == "mfa":
            if not two_factor.verify_login_code(db, user, body.code or ""):
                db.commit()
                raise NotAuthenticated(
                    "this account uses two-factor login: send the current one-time code as `code`"
                )
            state = accounts.step_after_code(db, user)
        if state != "active":
            raise NotAuthenticated(
                f"this account must first {STEP_NAMES[state]}: log in in the browser"
            )
        cookie, csrf = accounts.open_session(request, db, user.id, "active")
    response = JSONResponse(
        {"username": user.username, "role": user.role, "csrf_token": csrf}, status_code=200
    )
    set_session_cookie(request, response, cookie)
    return response


@api.delete("/session", status_code=204, summary="Log out: ends this session")
async def api_logout(request: Request):
    principal = await session_principal(request, ("active",))
    if principal is None:
        raise NotAuthenticated("no session to end")
    with unit_of_work(request) as db:
        _end(request, db, "logout")
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
