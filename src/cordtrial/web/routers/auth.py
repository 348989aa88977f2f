"""Log in and out.

The login form is protected against login CSRF with a double-submit token: GET /login sets a
signed, short-lived cookie and puts the same token in the form; POST /login checks both.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .. import accounts
from ..deps import current_principal, unit_of_work
from ..principal import Principal
from ..render import render
from ..security import SESSION_COOKIE

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "cordtrial_login_csrf"
LOGIN_FORM_MAX_AGE = 3600


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.sessions.secret_key, salt="cordtrial-login")


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an attacker-supplied absolute URL must not become a redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(request: Request, *, status_code=200, error=None, username="", next_="/"):
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
    if outcome.principal is None:
        return _login_page(
            request,
            status_code=outcome.status,
            error=outcome.message,
            username=username,
            next_=next,
        )
    session, cookie = request.app.state.sessions.create(outcome.principal.id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        secure=request.app.state.cookie_secure,
        samesite="strict",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, principal: Annotated[Principal, Depends(current_principal)]):
    # current_principal has already checked this POST's CSRF token.
    request.app.state.sessions.destroy(request.state.session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
