"""Rendering pages with the context every template needs (user, CSRF token, messages), and
one-shot messages carried to the next page (post/redirect/get) in a signed cookie, so they
reach whichever worker serves that page without a database write."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse
from itsdangerous import BadSignature

FLASH_COOKIE = "cordtrial_flash"
_PENDING = "flash_pending"  # messages of this request not yet shown


def render(request: Request, template: str, *, status_code: int = 200, **context) -> HTMLResponse:
    session = getattr(request.state, "session", None)
    carried = _carried(request)
    pending = request.scope.setdefault("state", {}).pop(_PENDING, [])
    context.setdefault("user", getattr(request.state, "principal", None))
    context.setdefault("csrf_token", session.csrf_token if session else "")
    context.setdefault("values", {})
    context.setdefault("errors", {})
    context["messages"] = carried + pending + list(context.get("messages", []))
    templates = request.app.state.templates
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    if carried:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def flash(request: Request, kind: str, text: str) -> None:
    """A message for the next page this browser opens (set as a cookie on this answer)."""
    request.scope.setdefault("state", {}).setdefault(_PENDING, []).append((kind, text))


def _carried(request: Request) -> list[tuple[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        items = request.app.state.signing_key.serializer("cordtrial-flash").loads(raw)
    except (BadSignature, ValueError):
        return []
    return [(str(k), str(t)) for k, t in items][:10]


class FlashCookies:
    """ASGI middleware: messages flashed but not shown by this answer go out as a cookie."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_flash(message):
            if message["type"] == "http.response.start":
                pending = scope.get("state", {}).pop(_PENDING, None)
                if pending:
                    message = {
                        **message,
                        "headers": [*message.get("headers", []), _cookie(scope, pending)],
                    }
            await send(message)

        await self.app(scope, receive, send_with_flash)


def _cookie(scope, pending) -> tuple[bytes, bytes]:
    app = scope["app"]
    value = app.state.signing_key.serializer("cordtrial-flash").dumps(pending[:10])
    secure = "; Secure" if app.state.cookie_secure else ""
    header = f"{FLASH_COOKIE}={value}; Path=/; Max-Age=300; HttpOnly; SameSite=Strict{secure}"
    return b"set-cookie", header.encode("latin-1")


def render_error(request: Request, status: int, message: str, code: str | None = None):
    titles = {
        401: "Please log in",
        403: "Not allowed",
        404: "Not found",
        409: "Refused",
        413: "Too large",
        415: "Not accepted",
        422: "Invalid input",
    }
    return render(
        request,
        "error.html",
        status_code=status,
        status=status,
        title=titles.get(status, "Error"),
        message=message,
        code=code,
    )
