"""Form helpers: parsing typed fields and turning store refusals into per-field messages."""

from __future__ import annotations

import math
import typing
from datetime import UTC, date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

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


def parse_datetime(
    text: str, field: str, errors: dict[str, str], zone: ZoneInfo | None = None
) -> datetime | None:
    """A wall-clock time from <input type=datetime-local>, read in ``zone`` (the site's time
    zone, as the site team enters it; UTC when not given) and returned in UTC, as stored."""
    zone = zone or ZoneInfo("UTC")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        errors[field] = _message(text, f"a date and time YYYY-MM-DDTHH:MM ({zone.key})")
        return None
    return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)


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
    """One pydantic error as {field, value, allowed}. ``field`` is the dotted path (e.g.
    protocol.visits.1.minus); ``allowed`` is the description of the field the error is about
    in ``model`` when it has one (schemas.py), nested fields included, else what the field's
    type and limits allow (never the description of the enclosing field: a visit window's
    error must not answer with what "the protocol" is)."""
    loc = [p for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
    field = ".".join(str(p) for p in loc) or "body"
    value = err.get("input")
    if isinstance(value, dict | list):
        value = None if err.get("type") == "missing" else "(structured value)"
    else:
        value = safe_echo(value)  # never echo a megabyte, a NaN or a control character back
    kind = err.get("type")
    described = _field_at(model, loc) if model is not None else None
    if kind == "refused_text":
        allowed = err.get("msg", "a valid value")  # it names the refused character or number
    elif kind == "extra_forbidden":
        allowed = "no such field"
    elif described is not None and described.description and not _about_a_model(kind, described):
        allowed = described.description
    else:
        whole = described is not None and int in (
            described.annotation,
            *typing.get_args(described.annotation),
        )
        allowed = allowed_by(err, whole=whole)
    return {"field": field, "value": value, "allowed": allowed}


# Errors a check raises in its own words (a model's check about several fields together).
_ABOUT_THE_WHOLE = ("value_error", "assertion_error")


def _about_a_model(kind: str, described: FieldInfo) -> bool:
    """A nested model's own check failed (e.g. dose: min above max): its message says why,
    not the description of the field holding the model."""
    return kind in _ABOUT_THE_WHOLE and _inner_model(described.annotation) is not None


_LIMITS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
_WORDS = {
    "missing": "a value is required",
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text",
    "date_parsing": "a date YYYY-MM-DD",
    "date_from_datetime_parsing": "a date YYYY-MM-DD",
    "date_type": "a date YYYY-MM-DD",
    "datetime_parsing": "a date and time YYYY-MM-DDTHH:MM",
    "datetime_from_date_parsing": "a date and time YYYY-MM-DDTHH:MM",
    "list_type": "a list of values",
    "tuple_type": "a list of values",
    "dict_type": "a table of named values",
    "model_type": "a table of named values",
    "model_attributes_type": "a table of named values",
}


def allowed_by(err: dict, *, whole: bool = False) -> str:
    """What a field's type and limits allow, in words, from one pydantic error (``whole``: the
    field takes whole numbers)."""
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    limits = [f"{word} {ctx[key]}" for key, word in _LIMITS if key in ctx]
    if limits:
        return ("a whole number " if whole else "a number ") + " and ".join(limits)
    if "expected" in ctx:
        return f"one of {ctx['expected']}"
    if kind == "string_pattern_mismatch":
        return f"text matching {ctx.get('pattern')}"
    if kind in ("string_too_short", "string_too_long"):
        bound = "at least" if kind == "string_too_short" else "at most"
        return f"{bound} {ctx.get('min_length', ctx.get('max_length'))} character(s)"
    if kind in ("too_short", "too_long"):
        bound = "at least" if kind == "too_short" else "at most"
        return f"{bound} {ctx.get('min_length', ctx.get('max_length'))} item(s)"
    if kind in _ABOUT_THE_WHOLE:
        return (
            str(err.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        )
    return _WORDS.get(kind, err.get("msg", "a valid value"))


def _field_at(model: type[BaseModel], loc: list) -> FieldInfo | None:
    """The field of ``model`` at the error's path, into nested models and their lists."""
    info, current = None, model
    for part in loc:
        if isinstance(part, int):
            continue  # an item of a list: the item type is already ``current``
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(str(part))
        if info is None:
            return None
        current = _inner_model(info.annotation)
    return info


def _inner_model(annotation) -> object:
    """The model inside ``X``, ``X | None``, ``list[X]`` or ``tuple[X, ...]``, if any."""
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        inner = [
            a for a in typing.get_args(arg) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if inner:
            return inner[0]
    return None


def readable_path(field: str) -> str:
    """A dotted error path as a person reads it: visits.1.minus -> visits #2 › minus."""
    out: list[str] = []
    for part in field.split("."):
        if part.isdigit() and out:
            out[-1] += f" #{int(part) + 1}"
        else:
            out.append(part)
    return " › ".join(out)


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
