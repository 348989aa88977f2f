"""Pages from the request models: the inputs of a form are drawn from its Strict model (label =
the field's title, hint = its description, input kind from its type), and a submitted form is
read back through the same model. So a page and the API share one definition of every field,
and what was typed is shown again, beside the error, when something is refused.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from .forms import _message, pydantic_error


@dataclass
class FieldView:
    name: str
    label: str
    kind: str  # text | number | date | select | checkbox | checkboxes | textarea | password | yesno
    value: Any = ""
    hint: str = ""
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    group: str | None = None  # yes/no questions shown under one heading


def _base(annotation: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else annotation), True
    return annotation, False


def _kind(name: str, annotation: Any, extra: dict) -> str:
    if extra.get("widget"):
        return extra["widget"]
    base, _ = _base(annotation)
    if typing.get_origin(base) is Literal:
        return "select"
    if typing.get_origin(base) is list:
        return "checkboxes"
    if base is bool:
        return "checkbox"
    if base is date:
        return "date"
    if base is int:
        return "number"
    return "text"


def field_views(
    model: type[BaseModel],
    values: dict[str, Any] | None = None,
    *,
    options: dict[str, list[tuple[str, str]]] | None = None,
    omit: tuple[str, ...] = (),
) -> list[FieldView]:
    """The inputs of a form for ``model``, filled with ``values`` (what was typed, or
    defaults); ``options`` gives the choices of list fields (e.g. this patient's draws)."""
    values, options = values or {}, options or {}
    out = []
    for name, info in model.model_fields.items():
        if name in omit:
            continue
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        kind = _kind(name, info.annotation, extra)
        opts = options.get(name, [])
        base, _ = _base(info.annotation)
        if opts and kind != "checkboxes":
            kind = "select"  # a choice among the given options (e.g. this patient's harvests)
        if kind == "select" and not opts:
            labels = extra.get("labels", {})
            opts = [(v, labels.get(v, v)) for v in typing.get_args(base)]
        default = "" if info.is_required() or info.default is None else info.default
        value = values.get(name, default)
        out.append(
            FieldView(
                name=name,
                label=info.title or name.replace("_", " "),
                kind=kind,
                value=value,
                hint=info.description or "",
                required=info.is_required() and kind != "checkbox",
                options=opts,
            )
        )
    return out


def form_values(form) -> dict[str, Any]:
    """A submitted form as {name: text or list of texts} (lists for repeated names)."""
    out: dict[str, Any] = {}
    for key in form.keys():
        items = [str(v) for v in form.getlist(key)]
        out[key] = items if len(items) > 1 else items[0]
    return out


def read_form(
    model: type[BaseModel], form: dict[str, Any], **fixed: Any
) -> tuple[BaseModel | None, dict[str, str]]:
    """Read a submitted form through ``model``: blanks are "not given", list fields take every
    ticked value, ``name.key`` inputs fill a mapping field (the eligibility criteria), and
    ``fixed`` values (e.g. a checklist assembled by the page) are added. Returns (instance, {})
    or (None, {field: message})."""
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        base, _ = _base(info.annotation)
        raw = form.get(name)
        if typing.get_origin(base) is list:
            items = raw if isinstance(raw, list) else ([raw] if raw else [])
            items = [i.strip() for i in items if i and i.strip()]
            if items or info.is_required():
                data[name] = items
        elif typing.get_origin(base) is dict:
            prefix = f"{name}."
            found = {k[len(prefix) :]: v for k, v in form.items() if k.startswith(prefix)}
            if found:
                data[name] = {k: _yes_no(v) for k, v in found.items()}
        elif isinstance(raw, str) and raw.strip():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            kind = _kind(name, info.annotation, extra)
            data[name] = raw if kind == "password" else raw.strip()
        elif base is bool and name not in form:
            continue
    data.update(fixed)
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors = {}
        for err in exc.errors():
            e = pydantic_error(err, model)
            errors[str(e["field"])] = _message(e["value"], e["allowed"])
        return None, errors


def _yes_no(value: Any) -> Any:
    text = value[-1] if isinstance(value, list) else value
    return {"yes": True, "no": False}.get(str(text).strip().lower(), text)
