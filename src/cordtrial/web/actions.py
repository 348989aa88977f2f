"""Small write forms of the data-management pages (a reason, a message, a password): read the
form through its request model, let the store act, and go back to the page with a message.
A refused action keeps nothing and says why (the store logged it)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from cordtrial.store.refusals import Refusal

from .accounts import acting_user
from .deps import unit_of_work
from .forms import validate_form
from .principal import Principal
from .render import flash

# Refusals answered as an error page (the user may not act here at all), not as a message.
PAGE_ERRORS = ("not_found", "other_site", "role_not_allowed")


async def form_of(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if k != "csrf_token"}


def act(
    request: Request,
    who: Principal,
    back: str,
    model: type[BaseModel] | None,
    form: dict[str, str],
    do: Callable,
    done: str,
) -> RedirectResponse:
    """Validate ``form`` with ``model``, run ``do(db, user, body)``, flash ``done`` (or why
    nothing was done) and redirect to ``back``."""
    body = None
    if model is not None:
        body, errors = validate_form(model, form)
        if errors:
            flash(
                request,
                "error",
                "Nothing was saved: " + "; ".join(f"{k}: {v}" for k, v in errors.items()),
            )
            return RedirectResponse(back, status_code=303)
    try:
        with unit_of_work(request) as db:
            do(db, acting_user(db, who), body)
    except Refusal as exc:
        if exc.code in PAGE_ERRORS:
            raise
        flash(request, "error", f"Nothing was saved: {exc.message}")
    else:
        flash(request, "ok", done)
    return RedirectResponse(back, status_code=303)
