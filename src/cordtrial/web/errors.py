"""Errors the web layer raises, and how each becomes a page or a JSON answer."""

from __future__ import annotations


class WebError(Exception):
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotAuthenticated(WebError):
    status = 401


class StepRequired(NotAuthenticated):
    """The session must finish a login step (one-time code, new password, second-factor
    set-up) before anything else; pages are sent to the step's page."""

    def __init__(self, state: str):
        from .steps import STEP_NAMES

        super().__init__(f"first {STEP_NAMES.get(state, 'finish logging in')}")
        self.state = state


class Forbidden(WebError):
    status = 403


class NotFound(WebError):
    status = 404


class Conflict(WebError):
    status = 409


class CsrfFailed(WebError):
    status = 403


class FormInvalid(WebError):
    """Field-level validation errors: [{field, value, allowed}]; nothing was saved."""

    status = 422

    def __init__(self, errors: list[dict[str, object]], message: str = "invalid input"):
        super().__init__(message)
        self.errors = errors

    def by_field(self) -> dict[str, str]:
        return {
            str(e["field"]): f"{e['value']!r} not allowed: {e['allowed']}"
            if e.get("value") not in (None, "")
            else f"required: {e['allowed']}"
            for e in self.errors
        }
