"""Rendering pages with the context every template needs (user, CSRF token, messages)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse


def render(request: Request, template: str, *, status_code: int = 200, **context) -> HTMLResponse:
    session = getattr(request.state, "session", None)
    messages = []
    if session is not None:
        messages, session.messages = session.messages, []
    context.setdefault("user", getattr(request.state, "principal", None))
    context.setdefault("csrf_token", session.csrf_token if session else "")
    context.setdefault("values", {})
    context.setdefault("errors", {})
    context["messages"] = messages + list(context.get("messages", []))
    templates = request.app.state.templates
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def flash(request: Request, kind: str, text: str) -> None:
    session = getattr(request.state, "session", None)
    if session is not None:
        session.messages.append((kind, text))


def render_error(request: Request, status: int, message: str, code: str | None = None):
    titles = {
        401: "Please log in",
        403: "Not allowed",
        404: "Not found",
        409: "Refused",
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
