"""The web application factory.

`create_app()` wires the pieces: server-side sessions and CSRF (security.py), the store (every
write goes through cordtrial.store services, so domain rules, audit and refusals live there),
Jinja2 pages and the versioned JSON API under /api/v1 (its OpenAPI document at
/api/v1/openapi.json). Static assets are served from the package: the app needs no network.
"""

from __future__ import annotations

import secrets
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from cordtrial.store.refusals import Refusal
from cordtrial.store.services.sessions import Timeouts

from . import layout
from .errors import FormInvalid, NotAuthenticated, StepRequired, WebError
from .forms import pydantic_error
from .idempotency import Replay
from .input_guard import MAX_BODY, MAX_ERRORS, InputGuard
from .operations import RequestLog
from .refusal_text import rule_text
from .render import FlashCookies
from .security import CredentialCache, SigningKey

HERE = Path(__file__).parent
API_PREFIX = "/api/v1"

SECURITY_HEADERS = {
    # Everything is served by the app itself: no CDN, no inline script, no framing.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def create_app(
    database_url: str | None = None,
    *,
    secret_key: str | None = None,
    cookie_secure: bool = True,
    session_idle_minutes: float = 30,
    max_login_failures: int = 5,
    lockout_minutes: float = 15,
    demo_notice: str | None = None,
    max_body: int = MAX_BODY,
) -> FastAPI:
    """Build the app over the store at `database_url` (None: the store's default, the embedded
    SQLite file or CORDTRIAL_DATABASE_URL). The schema must exist (see `cordtrial serve`)."""
    from cordtrial.store.config import database_url as resolve_url

    app = FastAPI(
        lifespan=_lifespan,
        title="cordtrial",
        version="1.0.0",
        summary="Trial store, ISNCSCI classification and cell-product chain for autologous "
        "MSC therapy in spinal cord injury.",
        description=API_DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        # The interactive Swagger page loads its assets from a CDN; the app serves its own
        # API reference page (routers/apidocs.py) instead, so it works offline.
        docs_url=None,
        redoc_url=None,
    )
    app.state.database_url = resolve_url(database_url)
    app.state.signing_key = SigningKey(app.state.database_url, secret_key)
    app.state.timeouts = Timeouts(
        idle=timedelta(minutes=session_idle_minutes), absolute=timedelta(hours=12)
    )
    app.state.credentials = CredentialCache(secrets.token_urlsafe(32))  # per-process cache
    app.state.login_limits = (max_login_failures, timedelta(minutes=lockout_minutes))
    app.state.cookie_secure = cookie_secure
    app.state.demo_notice = demo_notice
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(L=layout, demo_notice=demo_notice)
    templates.env.filters["sci"] = _sci
    templates.env.filters["rule"] = rule_text  # a refusal code as a sentence
    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    from .routers import register_routers

    register_routers(app)
    _install_handlers(app)

    app.add_middleware(FlashCookies)
    app.add_middleware(InputGuard, max_body=max_body)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLog)
    return app


# What `cordtrial serve` hands to its workers (each worker builds its own app from these).
ENV_COOKIE_SECURE = "CORDTRIAL_COOKIE_SECURE"
ENV_DEMO_NOTICE = "CORDTRIAL_DEMO_NOTICE"
ENV_REQUEST_LOG = "CORDTRIAL_REQUEST_LOG"


def app_from_environment() -> FastAPI:
    """The app as configured by environment variables: the factory every worker of
    `cordtrial serve` calls (uvicorn factory mode), so any number of workers share settings."""
    import os

    from .operations import configure_request_log

    configure_request_log(os.environ.get(ENV_REQUEST_LOG) or None)
    return create_app(
        None,
        cookie_secure=os.environ.get(ENV_COOKIE_SECURE, "1") != "0",
        demo_notice=os.environ.get(ENV_DEMO_NOTICE) or None,
    )


API_DESCRIPTION = """
Versioned JSON API (v1). Authenticate either with the browser session cookie (then send the
session's CSRF token in the `X-CSRF-Token` header on POST) or with HTTP Basic credentials of a
cordtrial account (no CSRF token needed). Every call checks the caller's role and site.
Invalid input is answered with 422 and `errors: [{field, value, allowed}]`; a refusal by a domain
rule with 409 and its stable `code`.
"""


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response (plain ASGI: no per-request task overhead)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for key, value in SECURITY_HEADERS.items():
                    if static and key == "Cache-Control":
                        continue
                    if key.lower().encode() not in present:
                        headers.append((key.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


@asynccontextmanager
async def _lifespan(app: FastAPI):
    """Before serving, read (or create) the cookie-signing key, outside any request's
    transaction; while serving, checkpoint the audit chain's head a few seconds after writes."""
    from cordtrial.store.audit_anchor import CheckpointTimer

    try:
        await run_in_threadpool(lambda: app.state.signing_key.value)
    except SQLAlchemyError:  # no store yet (e.g. an app built only for its OpenAPI document)
        pass
    timer = CheckpointTimer()
    timer.start()
    try:
        yield
    finally:
        timer.stop()


def _sci(value: float | None, digits: int = 2) -> str:
    """1.23e+08 -> "1.23 × 10⁸" for cell counts."""
    if value is None:
        return "–"
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    sup = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa} × 10{sup}"


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX + "/")


def _install_handlers(app: FastAPI) -> None:
    from .render import render_error

    @app.exception_handler(Replay)
    async def replay(request: Request, exc: Replay) -> Response:
        return Response(
            exc.body,
            status_code=exc.status,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )

    @app.exception_handler(WebError)
    async def web_error(request: Request, exc: WebError) -> Response:
        if isinstance(exc, StepRequired) and not wants_json(request):
            from .steps import STEP_PAGES

            return RedirectResponse(STEP_PAGES[exc.state], status_code=303)
        if isinstance(exc, NotAuthenticated) and not wants_json(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)
        if wants_json(request):
            body: dict[str, object] = {"detail": exc.message}
            if isinstance(exc, FormInvalid):
                body["errors"] = exc.errors
            headers = {}
            if isinstance(exc, NotAuthenticated):
                headers["WWW-Authenticate"] = 'Basic realm="cordtrial-api"'
            return JSONResponse(_encode(body), status_code=exc.status, headers=headers)
        return render_error(request, exc.status, exc.message)

    @app.exception_handler(Refusal)
    async def refusal(request: Request, exc: Refusal) -> Response:
        status = refusal_status(exc.code)
        if wants_json(request):
            body: dict[str, object] = {"detail": exc.message, "code": exc.code}
            errors = refusal_errors(exc)
            if errors:
                body["errors"] = errors
            if isinstance(exc.context.get("warnings"), list):  # confirmation_required
                body["warnings"] = exc.context["warnings"]
            return JSONResponse(_encode(body), status_code=status)
        return render_error(request, status, exc.message, code=exc.code)

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [pydantic_error(e) for e in exc.errors()[:MAX_ERRORS]]
        if len(exc.errors()) > MAX_ERRORS:
            more = len(exc.errors()) - MAX_ERRORS
            errors.append({"field": "_form", "value": None, "allowed": f"... and {more} more"})
        if wants_json(request):
            return JSONResponse(_encode({"detail": "invalid input", "errors": errors}), 422)
        return render_error(
            request, 422, "; ".join(f"{e['field']}: {e['allowed']}" for e in errors)
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_json(request) or request.url.path.startswith("/static/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return render_error(request, exc.status_code, str(exc.detail))


def _encode(body: dict) -> object:
    try:
        return jsonable_encoder(body)
    except (TypeError, ValueError):
        return jsonable_encoder(body, custom_encoder={object: str})


def refusal_status(code: str) -> int:
    """HTTP status for a store refusal code."""
    if code == "not_found":
        return 404
    if code.startswith("invalid_"):
        return 422
    if code.startswith("account_") or code == "authentication_failed":
        return 403
    if any(word in code for word in ("role", "site", "permission", "forbidden", "not_allowed")):
        return 403
    return 409


def refusal_errors(exc: Refusal) -> list[dict[str, object]]:
    """Field errors carried by a refusal: [{field, value, allowed}] (empty if none)."""
    ctx = exc.context
    if isinstance(ctx.get("errors"), list) and ctx["errors"]:
        return list(ctx["errors"])
    if "field" in ctx:
        return [
            {
                "field": ctx["field"],
                "value": ctx.get("value"),
                "allowed": ctx.get("allowed", exc.message),
            }
        ]
    return []


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def html(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    from .render import render

    return render(request, template, status_code=status_code, **context)
