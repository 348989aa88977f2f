"""Form helpers: parsing typed fields and turning store refusals into per-field messages."""

from __future__ import annotations

import math
from datetime import date, datetime

from cordtrial.store.refusals import Refusal


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
