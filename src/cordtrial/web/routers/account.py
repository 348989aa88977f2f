"""Your account: password, two-factor login, and the sessions you are logged in with (pages and
/api/v1/account). The rules are the store's (users, two_factor, sessions services)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session as DbSession

from cordtrial.store.models import User, UserSession
from cordtrial.store.passwords import RULES
from cordtrial.store.refusals import Refusal
from cordtrial.store.services import sessions as session_service
from cordtrial.store.services import two_factor
from cordtrial.store.services import users as user_service

from .. import accounts
from ..deps import current_principal, step_principal, unit_of_work
from ..errors import NotFound
from ..forms import errors_from_refusal, validate_form
from ..principal import Principal
from ..render import flash, render
from ..schemas import CodeIn, PasswordChangeIn, PasswordIn
from ..steps import STEP_PAGES

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/account", tags=["Accounts"])
Who = Annotated[Principal, Depends(current_principal)]
SessionId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class SessionOut(BaseModel):
    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client: str | None
    address: str | None
    current: bool


def session_out(row: UserSession, current_id: int | None) -> dict:
    return {
        "id": row.id,
        "created_at": row.created_at,
        "last_seen_at": row.last_seen_at,
        "expires_at": row.expires_at,
        "client": row.client,
        "address": row.address,
        "current": row.id == current_id,
    }


def _current_id(request: Request) -> int | None:
    web = getattr(request.state, "session", None)
    return web.id if web is not None else None


def _user(db: DbSession, who: Principal) -> User:
    return accounts.acting_user(db, who)


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG QR code (no image request, no script)."""
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#1d2b3a")


# -- pages ----------------------------------------------------------------------------------------


def _account_page(request: Request, who: Principal, *, status_code=200, errors=None, values=None):
    with unit_of_work(request) as db:
        user = _user(db, who)
        rows = session_service.live_sessions(db, request.app.state.timeouts, [user.id])
        return render(
            request,
            "account.html",
            status_code=status_code,
            account=user,
            required=two_factor.required_for(db, user.role),
            sessions=[session_out(r, _current_id(request)) for r in rows],
            errors=errors or {},
            values=values or {},
            rules=RULES,
        )


@router.get("/account")
def account_page(request: Request, who: Who):
    return _account_page(request, who)


@router.get("/account/password")
def password_page(
    request: Request,
    who: Annotated[Principal, Depends(step_principal("active", "password"))],
):
    return render(
        request, "account_password.html", rules=RULES, forced=_state(request) == "password"
    )


def _state(request: Request) -> str:
    return request.state.session.state


@router.post("/account/password")
async def change_password(
    request: Request,
    who: Annotated[Principal, Depends(step_principal("active", "password"))],
):
    form = {k: str(v) for k, v in (await request.form()).items()}
    body, errors = validate_form(PasswordChangeIn, form)
    if body is not None:
        try:
            with unit_of_work(request) as db:
                next_state = _apply_password(request, db, who, body)
        except Refusal as exc:
            errors = errors_from_refusal(exc)
    if errors:
        if "body" in errors:
            errors["confirm_password"] = errors.pop("body")
        return render(
            request,
            "account_password.html",
            status_code=422,
            rules=RULES,
            errors=errors,
            forced=_state(request) == "password",
        )
    flash(request, "ok", "Password changed. Your other sessions were ended.")
    forced = _state(request) == "password"
    default = "/" if forced else "/account"
    return RedirectResponse(STEP_PAGES.get(next_state, default), status_code=303)


def _apply_password(request: Request, db: DbSession, who: Principal, body: PasswordChangeIn) -> str:
    """Change the password, end the account's other sessions, move this one on."""
    user = _user(db, who)
    user_service.change_password(user, db, body.current_password, body.new_password)
    current = _current_id(request)
    session_service.end_sessions(db, user.id, "password changed", except_id=current)
    if current is None:
        return "active"
    row = db.get(UserSession, current)
    if row.state == "password":
        row.state = accounts.step_after_password(db, user)
    return row.state


@router.get("/account/two-factor")
def two_factor_page(
    request: Request,
    who: Annotated[Principal, Depends(step_principal("active", "mfa_setup"))],
):
    with unit_of_work(request) as db:
        user = _user(db, who)
        if user.totp_enabled:
            return RedirectResponse("/account", status_code=303)
        uri = two_factor.begin_enrolment(user, db)
        secret = user.totp_secret
    return render(
        request,
        "account_two_factor.html",
        qr=qr_svg(uri),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        forced=_state(request) == "mfa_setup",
    )


@router.post("/account/two-factor")
async def confirm_two_factor(
    request: Request,
    who: Annotated[Principal, Depends(step_principal("active", "mfa_setup"))],
):
    form = {k: str(v) for k, v in (await request.form()).items()}
    body, errors = validate_form(CodeIn, form)
    if body is not None:
        try:
            with unit_of_work(request) as db:
                user = _user(db, who)
                two_factor.confirm_enrolment(user, db, body.code.replace(" ", ""))
                row = db.get(UserSession, _current_id(request))
                row.state = "active"
                uri = two_factor.provisioning_uri(user)
        except Refusal as exc:
            errors = errors_from_refusal(exc)
    if errors:
        with unit_of_work(request) as db:
            user = _user(db, who)
            uri = two_factor.provisioning_uri(user) if user.totp_secret else None
            secret = user.totp_secret or ""
        return render(
            request,
            "account_two_factor.html",
            status_code=422,
            qr=qr_svg(uri) if uri else "",
            secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            errors=errors,
            forced=_state(request) == "mfa_setup",
        )
    flash(request, "ok", "Two-factor login is on: each login will ask for a code from your app.")
    return RedirectResponse("/account", status_code=303)


@router.post("/account/two-factor/off")
async def disable_two_factor(request: Request, who: Who):
    form = {k: str(v) for k, v in (await request.form()).items()}
    body, errors = validate_form(PasswordIn, form)
    if body is not None:
        try:
            with unit_of_work(request) as db:
                two_factor.disable(_user(db, who), db, body.password)
        except Refusal as exc:
            errors = errors_from_refusal(exc)
    if errors:
        return _account_page(request, who, status_code=422, errors=errors)
    flash(request, "ok", "Two-factor login is off.")
    return RedirectResponse("/account", status_code=303)


@router.post("/account/sessions/{session_id}/end")
def end_own_session(session_id: SessionId, request: Request, who: Who):
    with unit_of_work(request) as db:
        _end_own(db, who, session_id)
    flash(request, "ok", "That session was ended.")
    return RedirectResponse("/account", status_code=303)


@router.post("/account/sessions/end-others")
def end_other_sessions(request: Request, who: Who):
    with unit_of_work(request) as db:
        n = session_service.end_sessions(
            db, who.id, "ended by the user", except_id=_current_id(request)
        )
    flash(request, "ok", f"{n} other session(s) ended.")
    return RedirectResponse("/account", status_code=303)


def _end_own(db: DbSession, who: Principal, session_id: int) -> None:
    row = db.get(UserSession, session_id)
    if row is None or row.user_id != who.id:
        raise NotFound(f"no session {session_id} of yours")
    session_service.end_session(db, row, "ended by the user")


# -- API ------------------------------------------------------------------------------------------


@api.get("/sessions", response_model=list[SessionOut], summary="Your live sessions")
def api_sessions(request: Request, who: Who) -> list[dict]:
    with unit_of_work(request) as db:
        rows = session_service.live_sessions(db, request.app.state.timeouts, [who.id])
        return [session_out(r, _current_id(request)) for r in rows]


@api.delete(
    "/sessions/{session_id}",
    status_code=204,
    summary="End one of your sessions",
    responses={404: {"description": "Not a session of yours"}},
)
def api_end_session(session_id: SessionId, request: Request, who: Who):
    with unit_of_work(request) as db:
        _end_own(db, who, session_id)
    return Response(status_code=204)


@api.post(
    "/password",
    status_code=204,
    summary="Change your password (your other sessions end)",
    responses={403: {"description": "Wrong current password"}, 422: {"description": "Rules"}},
)
def api_change_password(body: PasswordChangeIn, request: Request, who: Who):
    with unit_of_work(request) as db:
        _apply_password(request, db, who, body)
    return Response(status_code=204)


class EnrolmentOut(BaseModel):
    otpauth_uri: str
    secret: str


@api.post(
    "/two-factor",
    response_model=EnrolmentOut,
    summary="Start setting up two-factor login: a new secret for your authenticator app",
)
def api_begin_two_factor(request: Request, who: Who) -> dict:
    with unit_of_work(request) as db:
        user = _user(db, who)
        uri = two_factor.begin_enrolment(user, db)
        return {"otpauth_uri": uri, "secret": user.totp_secret}


@api.post("/two-factor/confirm", status_code=204, summary="Turn two-factor login on with a code")
def api_confirm_two_factor(body: CodeIn, request: Request, who: Who):
    with unit_of_work(request) as db:
        two_factor.confirm_enrolment(_user(db, who), db, body.code.replace(" ", ""))
    return Response(status_code=204)


@api.post(
    "/two-factor/disable", status_code=204, summary="Turn two-factor login off (your password)"
)
def api_disable_two_factor(body: PasswordIn, request: Request, who: Who):
    with unit_of_work(request) as db:
        two_factor.disable(_user(db, who), db, body.password)
    return Response(status_code=204)
