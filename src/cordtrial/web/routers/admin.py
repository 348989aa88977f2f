"""Administration of accounts and of the login policy (role admin): pages under /admin and the
same operations under /api/v1/admin. Rules (site scope, never deleting an account, sessions
ending on deactivation, resets and role changes) are the store's users and two_factor services.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from cordtrial.store.models import ROLES, Site, User
from cordtrial.store.refusals import Refusal
from cordtrial.store.services import sessions as session_service
from cordtrial.store.services import two_factor
from cordtrial.store.services import users as user_service
from cordtrial.store.types import utcnow

from ..accounts import acting_user
from ..deps import Idempotent, current_principal, require, unit_of_work
from ..errors import FormInvalid, NotFound
from ..forms import errors_from_refusal, validate_form
from ..idempotency import respond
from ..principal import ROLE_LABELS, Principal
from ..render import flash, render
from ..schemas import RolePolicyIn, UserIn, UserUpdateIn
from .account import SessionOut, session_out

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/admin", tags=["Administration"])
Who = Annotated[Principal, Depends(current_principal)]
Username = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")]
Role = Literal[ROLES]  # type: ignore[valid-type]
ERRORS = {404: {"description": "No such account (or not at your site)"}}


class AccountOut(BaseModel):
    username: str
    display_name: str
    role: str
    site: str | None
    active: bool
    two_factor: bool
    must_change_password: bool
    locked: bool
    live_sessions: int


class CreatedOut(AccountOut):
    temporary_password: str


def _site(db: DbSession, code: str | None, field: str = "site") -> Site | None:
    """A site by code; "*" (or None) means every site."""
    if code in (None, "*"):
        return None
    site = db.scalar(select(Site).where(Site.code == code))
    if site is None:
        codes = ", ".join(db.scalars(select(Site.code).order_by(Site.code))) or "none yet"
        raise FormInvalid(
            [{"field": field, "value": code, "allowed": f"a site code ({codes}) or *"}]
        )
    return site


def _account(db: DbSession, admin: User, username: str) -> User:
    target = db.scalar(select(User).where(User.username == username))
    if target is None or (admin.site_id is not None and target.site_id != admin.site_id):
        raise NotFound(f"no account {username!r} you manage")
    return target


def _out(db: DbSession, request: Request, u: User, live: dict[int, int]) -> dict:
    return {
        "username": u.username,
        "display_name": u.display_name,
        "role": u.role,
        "site": u.site.code if u.site else None,
        "active": u.active,
        "two_factor": u.totp_enabled,
        "must_change_password": u.must_change_password,
        "locked": bool(u.locked_until and u.locked_until > utcnow()),
        "live_sessions": live.get(u.id, 0),
    }


def _live_counts(db: DbSession, request: Request, ids: list[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for row in session_service.live_sessions(db, request.app.state.timeouts, ids):
        counts[row.user_id] = counts.get(row.user_id, 0) + 1
    return counts


def list_accounts(request: Request, db: DbSession, who: Principal) -> list[dict]:
    admin = acting_user(db, who)
    users = user_service.accounts_for(admin, db)
    live = _live_counts(db, request, [u.id for u in users])
    return [_out(db, request, u, live) for u in users]


def create_account(db: DbSession, who: Principal, body: UserIn) -> tuple[User, str]:
    """A new account with a generated one-time password (shown once, changed at first login)."""
    from cordtrial.store.passwords import temporary_password

    admin = acting_user(db, who)
    if body.role not in ROLES:
        raise FormInvalid([{"field": "role", "value": body.role, "allowed": ", ".join(ROLES)}])
    password = temporary_password()
    user = user_service.create_user(
        admin,
        db,
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        site=_site(db, body.site),
        password=password,
        must_change_password=True,
    )
    return user, password


def update_account(db: DbSession, who: Principal, username: str, body: UserUpdateIn) -> User:
    admin = acting_user(db, who)
    target = _account(db, admin, username)
    if body.role is not None and body.role not in ROLES:
        raise FormInvalid([{"field": "role", "value": body.role, "allowed": ", ".join(ROLES)}])
    user_service.update_user(
        admin,
        db,
        target,
        display_name=body.display_name,
        role=body.role,
        site=_site(db, body.site) if body.site is not None else False,
    )
    return target


# -- pages ----------------------------------------------------------------------------------------


def _users_page(request, who, *, status_code=200, values=None, errors=None, created=None):
    with unit_of_work(request) as db:
        rows = list_accounts(request, db, who)
        sites = list(db.scalars(select(Site).order_by(Site.code)))
        return render(
            request,
            "admin_users.html",
            status_code=status_code,
            accounts=rows,
            sites=[s for s in sites if who.sees_site(s.id)],
            roles=[(r, ROLE_LABELS[r]) for r in ROLES],
            values=values or {},
            errors=errors or {},
            created=created,
        )


@router.get("/admin/users")
def users_page(request: Request, who: Who):
    require(who, "manage_users")
    return _users_page(request, who)


@router.post("/admin/users")
async def create_user_page(request: Request, who: Who):
    require(who, "manage_users")
    form = {k: str(v) for k, v in (await request.form()).items()}
    if who.site_code and not form.get("site"):
        form["site"] = who.site_code
    body, errors = validate_form(UserIn, form)
    created = None
    if body is not None:
        try:
            with unit_of_work(request) as db:
                user, password = create_account(db, who, body)
                created = {"username": user.username, "password": password}
        except Refusal as exc:
            errors = errors_from_refusal(exc)
        except FormInvalid as exc:
            errors = exc.by_field()
    if errors:
        return _users_page(request, who, status_code=422, values=form, errors=errors)
    return _users_page(request, who, created=created)


def _user_page(request, who, username, *, status_code=200, errors=None, shown_password=None):
    with unit_of_work(request) as db:
        admin = acting_user(db, who)
        target = _account(db, admin, username)
        live = session_service.live_sessions(db, request.app.state.timeouts, [target.id])
        sites = [s for s in db.scalars(select(Site).order_by(Site.code)) if who.sees_site(s.id)]
        return render(
            request,
            "admin_user.html",
            status_code=status_code,
            account=_out(db, request, target, {target.id: len(live)}),
            sessions=[session_out(r, None) for r in live],
            sites=sites,
            roles=[(r, ROLE_LABELS[r]) for r in ROLES],
            errors=errors or {},
            shown_password=shown_password,
            is_self=target.id == who.id,
        )


@router.get("/admin/users/{username}")
def user_page(username: Username, request: Request, who: Who):
    require(who, "manage_users")
    return _user_page(request, who, username)


@router.post("/admin/users/{username}")
async def update_user_page(username: Username, request: Request, who: Who):
    require(who, "manage_users")
    form = {k: str(v) for k, v in (await request.form()).items()}
    body, errors = validate_form(UserUpdateIn, form)
    if body is not None:
        try:
            with unit_of_work(request) as db:
                update_account(db, who, username, body)
        except Refusal as exc:
            errors = errors_from_refusal(exc)
        except FormInvalid as exc:
            errors = exc.by_field()
    if errors:
        return _user_page(request, who, username, status_code=422, errors=errors)
    flash(request, "ok", f"Account {username} updated.")
    return RedirectResponse(f"/admin/users/{username}", status_code=303)


ACTIONS = {
    "reset-password": "Password reset: give the one-time password below to the person.",
    "deactivate": "Account deactivated; its sessions ended.",
    "reactivate": "Account reactivated.",
    "reset-two-factor": "Two-factor login reset; the person sets it up again at the next login "
    "if the role requires it.",
    "end-sessions": "Every session of the account was ended.",
}


@router.post("/admin/users/{username}/{action}")
def user_action_page(
    username: Username,
    action: Literal[
        "reset-password", "deactivate", "reactivate", "reset-two-factor", "end-sessions"
    ],
    request: Request,
    who: Who,
):
    require(who, "manage_users")
    try:
        with unit_of_work(request) as db:
            password = account_action(db, who, username, action)
    except Refusal as exc:
        return _user_page(request, who, username, status_code=409, errors=errors_from_refusal(exc))
    if password is not None:
        return _user_page(request, who, username, shown_password=password)
    flash(request, "ok", ACTIONS[action])
    return RedirectResponse(f"/admin/users/{username}", status_code=303)


def account_action(db: DbSession, who: Principal, username: str, action: str) -> str | None:
    """Apply one of ACTIONS; returns the one-time password of a reset."""
    admin = acting_user(db, who)
    target = _account(db, admin, username)
    if action == "reset-password":
        return user_service.reset_password(admin, db, target)
    if action in ("deactivate", "reactivate"):
        user_service.set_active(admin, db, target, action == "reactivate")
    elif action == "reset-two-factor":
        two_factor.reset(admin, db, target)
    elif action == "end-sessions":
        user_service.administrable(admin, db, target, "end sessions")
        session_service.end_sessions(db, target.id, "ended by an administrator")
    return None


@router.get("/admin/security")
def security_page(request: Request, who: Who):
    require(who, "manage_users")
    with unit_of_work(request) as db:
        policies = two_factor.policies(db)
    return render(
        request,
        "admin_security.html",
        policies=[(r, ROLE_LABELS[r], policies[r]) for r in ROLES],
        editable=who.site_id is None,
    )


@router.post("/admin/security")
async def save_security(request: Request, who: Who):
    require(who, "manage_users")
    form = await request.form()
    with unit_of_work(request) as db:
        admin = acting_user(db, who)
        for role in ROLES:
            two_factor.set_required(admin, db, role, form.get(f"require_totp_{role}") == "on")
    flash(request, "ok", "Login policy saved.")
    return RedirectResponse("/admin/security", status_code=303)


# -- API ------------------------------------------------------------------------------------------


@api.get("/users", response_model=list[AccountOut], summary="Accounts you manage")
def api_users(request: Request, who: Who) -> list[dict]:
    require(who, "manage_users")
    with unit_of_work(request) as db:
        return list_accounts(request, db, who)


@api.post(
    "/users",
    response_model=CreatedOut,
    status_code=201,
    summary="Create an account (its one-time password is in the answer, once)",
)
def api_create_user(body: UserIn, request: Request, who: Who, _: Idempotent) -> dict:
    require(who, "manage_users")
    with unit_of_work(request) as db:
        user, password = create_account(db, who, body)
        out = {**_out(db, request, user, {}), "temporary_password": password}
        return respond(request, db, out, 201)


@api.get("/users/{username}", response_model=AccountOut, summary="One account", responses=ERRORS)
def api_user(username: Username, request: Request, who: Who) -> dict:
    require(who, "manage_users")
    with unit_of_work(request) as db:
        target = _account(db, acting_user(db, who), username)
        return _out(db, request, target, _live_counts(db, request, [target.id]))


@api.patch(
    "/users/{username}",
    response_model=AccountOut,
    summary="Change an account's name, role or site (its sessions end on a role or site change)",
    responses=ERRORS,
)
def api_update_user(username: Username, body: UserUpdateIn, request: Request, who: Who) -> dict:
    require(who, "manage_users")
    with unit_of_work(request) as db:
        target = update_account(db, who, username, body)
        return _out(db, request, target, _live_counts(db, request, [target.id]))


class ActionOut(BaseModel):
    username: str
    done: str
    temporary_password: str | None = None


@api.post(
    "/users/{username}/{action}",
    response_model=ActionOut,
    summary="reset-password | deactivate | reactivate | reset-two-factor | end-sessions",
    responses=ERRORS,
)
def api_user_action(
    username: Username,
    action: Literal[
        "reset-password", "deactivate", "reactivate", "reset-two-factor", "end-sessions"
    ],
    request: Request,
    who: Who,
) -> dict:
    require(who, "manage_users")
    with unit_of_work(request) as db:
        password = account_action(db, who, username, action)
    return {"username": username, "done": ACTIONS[action], "temporary_password": password}


@api.get(
    "/users/{username}/sessions",
    response_model=list[SessionOut],
    summary="An account's live sessions",
    responses=ERRORS,
)
def api_user_sessions(username: Username, request: Request, who: Who) -> list[dict]:
    require(who, "manage_users")
    with unit_of_work(request) as db:
        target = _account(db, acting_user(db, who), username)
        rows = session_service.live_sessions(db, request.app.state.timeouts, [target.id])
        return [session_out(r, None) for r in rows]


class PolicyOut(BaseModel):
    role: str
    require_totp: bool


@api.get("/role-policies", response_model=list[PolicyOut], summary="Login policy per role")
def api_policies(request: Request, who: Who) -> list[dict]:
    require(who, "manage_users")
    with unit_of_work(request) as db:
        return [{"role": r, "require_totp": v} for r, v in two_factor.policies(db).items()]


@api.put(
    "/role-policies/{role}",
    response_model=PolicyOut,
    summary="Require (or not) two-factor login for a role",
)
def api_set_policy(role: Role, body: RolePolicyIn, request: Request, who: Who) -> dict:
    require(who, "manage_users")
    with unit_of_work(request) as db:
        two_factor.set_required(acting_user(db, who), db, role, body.require_totp)
    return {"role": role, "require_totp": body.require_totp}
