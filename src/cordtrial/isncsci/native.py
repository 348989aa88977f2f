"""cordtrial's native JSON shape for exams and results (nested, readable names).

Exam::

    {"id": "p01-w1", "vac": "No", "dap": "Yes",
     "right": {"light_touch": {"C2": "2", ..., "S4_5": "0"},
               "pin_prick": {...}, "motor": {"C5": "5", ..., "S1": "0"},
               "lowest_non_key_muscle": "C8"},
     "left": {...}}

The RHI flat naming (``c5RightTouch``...) is the interchange format; this module converts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .classification import Classification
from .exam import (
    DAP_KEY,
    VAC_KEY,
    Exam,
    ExamValidationError,
    FieldError,
    motor_key,
    non_key_key,
    sensory_key,
)
from .explain import explain as explanation_of
from .levels import KEY_MUSCLES, SENSORY_LEVELS, SIDES, level_name
from .zpp import zpp_name

_MODALITIES = (("light_touch", "Touch"), ("pin_prick", "Prick"))


def is_native(data: Any) -> bool:
    return isinstance(data, Mapping) and isinstance(data.get("right"), Mapping)


def native_to_rhi(data: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten a native exam to RHI keys (values untouched: validation happens in Exam)."""
    out: dict[str, Any] = {}
    if "id" in data:
        out["id"] = data["id"]
    out[VAC_KEY] = data.get("vac")
    out[DAP_KEY] = data.get("dap")
    for side in SIDES:
        part = data.get(side)
        if not isinstance(part, Mapping):
            raise ExamValidationError(
                [FieldError(side, part, "an object with light_touch, pin_prick, motor")],
                data.get("id"),
            )
        for name, modality in _MODALITIES:
            cells = part.get(name) or {}
            for level in SENSORY_LEVELS:
                out[sensory_key(level, side, modality)] = cells.get(level)
        motor = part.get("motor") or {}
        for level in KEY_MUSCLES:
            out[motor_key(level, side)] = motor.get(level)
        if part.get("lowest_non_key_muscle") is not None:
            out[non_key_key(side)] = part["lowest_non_key_muscle"]
    return out


def exam_from_any(data: Any, input_format: str = "auto") -> Exam:
    """An Exam from a native or RHI mapping (``input_format``: auto, native or rhi)."""
    if input_format == "native" or (input_format == "auto" and is_native(data)):
        if not is_native(data):
            raise ExamValidationError(
                [FieldError("right", None, "a native exam (object with right/left sides)")],
                _id(data),
            )
        data = native_to_rhi(data)
    return Exam.from_rhi(data)


def _id(data: Any) -> Any:
    return data.get("id") if isinstance(data, Mapping) else None


def exam_to_native(exam: Exam) -> dict[str, Any]:
    rhi = exam.to_rhi()
    out: dict[str, Any] = {} if exam.id is None else {"id": exam.id}
    out.update(vac=exam.vac, dap=exam.dap)
    for side in SIDES:
        part: dict[str, Any] = {}
        for name, modality in _MODALITIES:
            part[name] = {lv: rhi[sensory_key(lv, side, modality)] for lv in SENSORY_LEVELS}
        part["motor"] = {lv: rhi[motor_key(lv, side)] for lv in KEY_MUSCLES}
        nk = exam.side(side).lowest_non_key_muscle
        part["lowest_non_key_muscle"] = None if nk is None else level_name(nk)
        out[side] = part
    return out


def result_to_native(result: Classification, *, explain: bool = False) -> dict[str, Any]:
    """A classification as nested JSON; open results keep every candidate ("C5,C6")."""
    from . import ENGINE_VERSION

    t = result.totals
    out: dict[str, Any] = {} if result.exam.id is None else {"id": result.exam.id}

    def nd(v: int | None) -> int | str:
        return "ND" if v is None else v

    out["engine"] = ENGINE_VERSION
    out["totals"] = {
        "right": {
            "upper_motor": nd(t.right.upper_motor),
            "lower_motor": nd(t.right.lower_motor),
            "motor": nd(t.right.motor),
            "light_touch": nd(t.right.light_touch),
            "pin_prick": nd(t.right.pin_prick),
        },
        "left": {
            "upper_motor": nd(t.left.upper_motor),
            "lower_motor": nd(t.left.lower_motor),
            "motor": nd(t.left.motor),
            "light_touch": nd(t.left.light_touch),
            "pin_prick": nd(t.left.pin_prick),
        },
        "upper_motor": nd(t.upper_motor),
        "lower_motor": nd(t.lower_motor),
        "light_touch": nd(t.light_touch),
        "pin_prick": nd(t.pin_prick),
    }
    out["sensory_level"] = {s: result.sensory_level[s].render(level_name) for s in SIDES}
    out["motor_level"] = {s: result.motor_level[s].render(level_name) for s in SIDES}
    out["neurological_level"] = result.neurological_level.render(level_name)
    out["injury_complete"] = result.injury_complete.render()
    out["ais"] = result.ais.render()
    out["sensory_zpp"] = {s: result.sensory_zpp[s].render(zpp_name) for s in SIDES}
    out["motor_zpp"] = {s: result.motor_zpp[s].render(zpp_name) for s in SIDES}
    if explain:
        out["explanation"] = explanation_of(result)
    return out
