"""Form helpers: parsing typed fields and turning store refusals into per-field messages."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from cordtrial.store.refusals import Refusal
from cordtrial.store.text import safe_echo


def _message(value: object, allowed: object) -> str:
    if value in (None, ""):
        return f"required: {allowed}"
    return f"{value!r} not allowed: {allowed}"


def parse_date(text: str, field: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = _message(text, "a date YYYY-MM-DD")
        return None


def parse_datetime(text: str, field: str, errors: dict[str, str]) -> datetime | None:
    """A local wall-clock time from <input type=datetime-local>, taken as UTC (the app shows
    and stores UTC throughout)."""
    from datetime import UTC

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        errors[field] = _message(text, "a date and time YYYY-MM-DDTHH:MM (UTC)")
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_float(
    text: str,
    field: str,
    errors: dict[str, str],
    *,
    required: bool = True,
    minimum: float | None = None,
    maximum: float | None = None,
    allowed: str = "a number",
) -> float | None:
    text = (text or "").strip()
    if not text:
        if required:
            errors[field] = _message(text, allowed)
        return None
    try:
        value = float(text)
    except ValueError:
        errors[field] = _message(text, allowed)
        return None
    if (
        not math.isfinite(value)
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
    ):
        errors[field] = _message(text, allowed)
        return None
    return value


def parse_int(
    text: str,
    field: str,
    errors: dict[str, str],
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    allowed: str = "a whole number",
) -> int | None:
    text = (text or "").strip()
    try:
        value = int(text)
    except ValueError:
        errors[field] = _message(text, allowed)
        return None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        errors[field] = _message(text, allowed)
        return None
    return value


def errors_from_refusal(exc: Refusal, prefix: str = "") -> dict[str, str]:
    """Per-field messages from a store refusal; a refusal not about a field goes under "_form"."""
    ctx = exc.context
    out: dict[str, str] = {}
    items = ctx.get("errors") if isinstance(ctx.get("errors"), list) else None
    if items:
        for e in items:
            name = str(e.get("field") or e.get("item") or "_form")
            out[prefix + name if name != "_form" else name] = _message(
                e.get("value"), e.get("allowed", "")
            )
    elif "field" in ctx:
        out[prefix + str(ctx["field"])] = _message(ctx.get("value"), ctx.get("allowed", ""))
    else:
        out["_form"] = exc.message
    return out


def pydantic_error(err: dict, model: type[BaseModel] | None = None) -> dict[str, object]:
    """One pydantic error as {field, value, allowed}; ``allowed`` is the field's description in
    ``model`` when it has one (schemas.py), else pydantic's own words."""
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
    field = ".".join(loc) or "body"
    value = err.get("input")
    if isinstance(value, dict | list):
        value = None if err.get("type") == "missing" else "(structured value)"
    else:
        value = safe_echo(value)  # never echo a megabyte, a NaN or a control character back
    allowed = err.get("msg", "a valid value")
    ctx = err.get("ctx") or {}
    if "expected" in ctx:
        allowed = f"one of {ctx['expected']}"
    described = model.model_fields.get(loc[0]) if model is not None and loc else None
    if err.get("type") == "refused_text":
        pass  # the message names the refused character or number
    elif described is not None and described.description:
        allowed = described.description
    elif err.get("type") == "missing":
        allowed = "a value is required"
    if err.get("type") == "extra_forbidden":
        allowed = "no such field"
    return {"field": field, "value": value, "allowed": allowed}


M = TypeVar("M", bound=BaseModel)


def validate_form(model: type[M], form: dict[str, str]) -> tuple[M | None, dict[str, str]]:
    """A submitted form read through ``model``: (the instance, {}) or (None, per-field
    messages). Blank fields count as not given, so optional ones take their defaults."""
    data = {name: form[name].strip() for name in model.model_fields if form.get(name, "").strip()}
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors = [pydantic_error(e, model) for e in exc.errors()]
        return None, {str(e["field"]): _message(e["value"], e["allowed"]) for e in errors}
