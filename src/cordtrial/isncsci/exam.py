"""The ISNCSCI exam: an immutable, validated worksheet, and its flat RHI form.

The RHI naming (``c5RightTouch``, ``s4_5LeftPrick``, ``l2RightMotor``, ``analContraction``,
``analSensation``, ``rightLowestNonKeyMuscleWithMotorFunction``) is the interchange format used
across ISNCSCI tools; see docs/isncsci.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .levels import INDEX, KEY_MUSCLES, SENSORY_LEVELS, SIDES, level_name, parse_level
from .values import BINARY_VALUES, MOTOR_VALUES, SENSORY_VALUES, Cell, parse_cell

METADATA_KEYS = frozenset({"id", "group", "comments", "note", "check", "totals"})


def _side_title(side: str) -> str:
    return side.capitalize()


def sensory_key(level: str, side: str, modality: str) -> str:
    """RHI key of a dermatome cell, e.g. ``("C5", "right", "Touch") -> "c5RightTouch"``."""
    return f"{level.lower()}{_side_title(side)}{modality}"


def motor_key(level: str, side: str) -> str:
    return f"{level.lower()}{_side_title(side)}Motor"


def non_key_key(side: str) -> str:
    return f"{side}LowestNonKeyMuscleWithMotorFunction"


VAC_KEY, DAP_KEY = "analContraction", "analSensation"

#: Every input cell key in worksheet order (right then left, per level, as on the paper form).
CELL_KEYS: tuple[str, ...] = tuple(
    key
    for side in SIDES
    for level in SENSORY_LEVELS
    for key in (
        sensory_key(level, side, "Touch"),
        sensory_key(level, side, "Prick"),
        *([motor_key(level, side)] if level in KEY_MUSCLES else []),
    )
)


@dataclass(frozen=True, slots=True)
class FieldError:
    """A rejected input value: which field, what was given, what is allowed."""

    field: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        return f"{self.field}: {self.value!r} is not allowed; allowed: {self.allowed}"


class ExamValidationError(ValueError):
    """An exam could not be read; ``errors`` lists every offending field."""

    def __init__(self, errors: list[FieldError], exam_id: Any = None) -> None:
        self.errors = errors
        self.exam_id = exam_id
        where = f"exam {exam_id!r}: " if exam_id is not None else ""
        super().__init__(where + "; ".join(str(e) for e in errors))


@dataclass(frozen=True, slots=True)
class ExamSide:
    """One side of the worksheet, each tuple indexed like ``SENSORY_LEVELS``/``KEY_MUSCLES``."""

    light_touch: tuple[Cell, ...]
    pin_prick: tuple[Cell, ...]
    motor: tuple[Cell, ...]
    lowest_non_key_muscle: int | None = None  # level index of a non-key muscle with function


@dataclass(frozen=True, slots=True)
class Exam:
    """A complete ISNCSCI worksheet. Build it with ``Exam.from_rhi`` (validates)."""

    right: ExamSide
    left: ExamSide
    vac: str  # voluntary anal contraction: Yes | No | NT
    dap: str  # deep anal pressure: Yes | No | NT
    id: Any = field(default=None, compare=False)

    def side(self, name: str) -> ExamSide:
        return self.right if name == "right" else self.left

    @classmethod
    def from_rhi(cls, data: Mapping[str, Any]) -> Exam:
        """Read an exam from the flat RHI naming; raise ExamValidationError listing every
        missing or invalid field (metadata keys such as ``id`` and ``comments`` are ignored)."""
        if not isinstance(data, Mapping):
            raise ExamValidationError([FieldError("exam", data, "an object of RHI fields")], None)
        errors: list[FieldError] = []
        exam_id = data.get("id")

        def read(key: str, allowed: tuple[str, ...], kind: str) -> str | None:
            if key not in data or data[key] is None or str(data[key]).strip() == "":
                errors.append(FieldError(key, data.get(key), f"{kind}: {', '.join(allowed)}"))
                return None
            raw = data[key]
            text = str(raw).strip()
            if isinstance(raw, bool) or text not in allowed:
                errors.append(FieldError(key, raw, f"{kind}: {', '.join(allowed)}"))
                return None
            return text

        sides = {}
        for side in SIDES:
            sensory, motor = [], []
            for key in _SENSORY_KEYS[side]:
                # Fast path: a well-formed value is one dict lookup; anything else goes through
                # ``read`` for normalisation (ints, spaces) or a precise error.
                cell = _SENSORY_CELLS.get(data.get(key)) if isinstance(data.get(key), str) else None
                if cell is None:
                    text = read(key, SENSORY_VALUES, "sensory")
                    cell = parse_cell(text) if text else None
                sensory.append(cell)
            for key in _MOTOR_KEYS[side]:
                cell = _MOTOR_CELLS.get(data.get(key)) if isinstance(data.get(key), str) else None
                if cell is None:
                    text = read(key, MOTOR_VALUES, "motor")
                    cell = parse_cell(text) if text else None
                motor.append(cell)
            sides[side] = (sensory[0::2], sensory[1::2], motor, _read_non_key(data, side, errors))
        vac = read(VAC_KEY, BINARY_VALUES, "voluntary anal contraction")
        dap = read(DAP_KEY, BINARY_VALUES, "deep anal pressure")
        # Other metadata (notes, tags) may travel with an exam; only a key that looks like a
        # worksheet cell but names no real one is an error (e.g. ``c9RightTouch``).
        unknown = [
            k
            for k in data
            if k not in _KNOWN_KEYS and k not in METADATA_KEYS and _CELL_LIKE.match(str(k))
        ]
        for key in unknown:
            errors.append(
                FieldError(
                    key,
                    data[key],
                    "no such worksheet cell; cells are c2..s4_5 Touch/Prick and c5..t1, l2..s1 Motor",
                )
            )
        if errors:
            raise ExamValidationError(errors, exam_id)
        built = {
            side: ExamSide(tuple(lt), tuple(pp), tuple(motor), non_key)
            for side, (lt, pp, motor, non_key) in sides.items()
        }
        return cls(built["right"], built["left"], vac, dap, exam_id)  # type: ignore[arg-type]

    def to_rhi(self) -> dict[str, str]:
        """The exam in the flat RHI naming (``id`` first when the exam has one)."""
        out: dict[str, Any] = {} if self.id is None else {"id": self.id}
        out[VAC_KEY] = self.vac
        out[DAP_KEY] = self.dap
        for side in SIDES:
            s = self.side(side)
            for i, level in enumerate(SENSORY_LEVELS):
                out[sensory_key(level, side, "Touch")] = s.light_touch[i].text
                out[sensory_key(level, side, "Prick")] = s.pin_prick[i].text
            for i, level in enumerate(KEY_MUSCLES):
                out[motor_key(level, side)] = s.motor[i].text
            if s.lowest_non_key_muscle is not None:
                out[non_key_key(side)] = level_name(s.lowest_non_key_muscle)
        return out


# A non-key muscle is named by the level it represents; the 2019 worksheet's non-key muscles
# span C5 (shoulder) to S1 (hallux).
_NON_KEY_ALLOWED = tuple(level_name(i) for i in range(INDEX["C5"], INDEX["S1"] + 1))


def _read_non_key(data: Mapping[str, Any], side: str, errors: list[FieldError]) -> int | None:
    key = non_key_key(side)
    raw = data.get(key)
    if raw is None or str(raw).strip() in ("", "None", "null"):
        return None
    try:
        index = parse_level(str(raw))
    except ValueError:
        index = None
    if index is None or level_name(index) not in _NON_KEY_ALLOWED:
        errors.append(FieldError(key, raw, f"a level {', '.join(_NON_KEY_ALLOWED)} or empty"))
        return None
    return index


# Per side, in worksheet order: light touch and pin prick interleaved per dermatome.
_SENSORY_KEYS = {
    side: [sensory_key(lv, side, m) for lv in SENSORY_LEVELS for m in ("Touch", "Prick")]
    for side in SIDES
}
_MOTOR_KEYS = {side: [motor_key(lv, side) for lv in KEY_MUSCLES] for side in SIDES}
_SENSORY_CELLS = {text: parse_cell(text) for text in SENSORY_VALUES}
_MOTOR_CELLS = {text: parse_cell(text) for text in MOTOR_VALUES}
_CELL_LIKE = re.compile(r"^[a-zA-Z]\d+(_\d+)?(Right|Left)(Touch|Prick|Motor)$")
_KNOWN_KEYS = frozenset(CELL_KEYS) | {VAC_KEY, DAP_KEY, non_key_key("right"), non_key_key("left")}

__all__ = [
    "CELL_KEYS",
    "INDEX",
    "Exam",
    "ExamSide",
    "ExamValidationError",
    "FieldError",
    "motor_key",
    "non_key_key",
    "sensory_key",
]
