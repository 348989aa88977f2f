"""The ISNCSCI worksheet layout: rows, cells and the paper form's entry order.

Pure data, no I/O. Field names follow the flat "RHI" interchange naming used by the engine
(see ../shared/isncsci/README.md). Key muscles and dermatomes are those of the International
Standards for Neurological Classification of SCI, revised 2019 (ASIA/ISCoS worksheet).
"""

from __future__ import annotations

from dataclasses import dataclass

# The 28 dermatomes, rostral to caudal (ISNCSCI 2019 worksheet rows).
DERMATOMES: tuple[str, ...] = (
    "C2", "C3", "C4", "C5", "C6", "C7", "C8",
    "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12",
    "L1", "L2", "L3", "L4", "L5", "S1", "S2", "S3", "S4-5",
)  # fmt: skip

# The 10 key muscles (ISNCSCI 2019 worksheet, "motor key muscles").
KEY_MUSCLES: dict[str, str] = {
    "C5": "Elbow flexors",
    "C6": "Wrist extensors",
    "C7": "Elbow extensors",
    "C8": "Finger flexors",
    "T1": "Finger abductors (little finger)",
    "L2": "Hip flexors",
    "L3": "Knee extensors",
    "L4": "Ankle dorsiflexors",
    "L5": "Long toe extensors",
    "S1": "Ankle plantar flexors",
}

# Levels accepted for "lowest non-key muscle with motor function" and the non-key muscle
# movements the 2019 worksheet lists for each (used by the engine to tell AIS B from C).
NON_KEY_MUSCLES: dict[str, str] = {
    "C5": "Shoulder flexion, extension, abduction, adduction, rotation; elbow supination",
    "C6": "Elbow pronation; wrist flexion",
    "C7": "Finger flexion (proximal joint) and extension; thumb flexion, extension, abduction",
    "C8": "Finger flexion at MCP joint; thumb opposition, adduction, perpendicular abduction",
    "T1": "Index finger abduction",
    "L2": "Hip adduction",
    "L3": "Hip external rotation",
    "L4": "Hip extension, abduction, internal rotation; knee flexion; ankle inversion/eversion",
    "L5": "Hallux and toe DIP/PIP flexion and abduction",
    "S1": "Hallux adduction",
}

SENSORY_VALUES: tuple[str, ...] = ("0", "1", "2", "NT")
MOTOR_VALUES: tuple[str, ...] = ("0", "1", "2", "3", "4", "5", "NT")
ANAL_VALUES: tuple[str, ...] = ("Yes", "No", "NT")
SIDES: tuple[str, ...] = ("Right", "Left")
VAC = "analContraction"
DAP = "analSensation"
NON_KEY = {side: f"{side.lower()}LowestNonKeyMuscleWithMotorFunction" for side in SIDES}


def rhi_level(level: str) -> str:
    """Worksheet level label -> RHI prefix ("S4-5" -> "s4_5")."""
    return level.lower().replace("-", "_")


def sensory_field(level: str, side: str, modality: str) -> str:
    """RHI name of a sensory cell, modality "Touch" or "Prick"."""
    return f"{rhi_level(level)}{side}{modality}"


def motor_field(level: str, side: str) -> str:
    return f"{rhi_level(level)}{side}Motor"


@dataclass(frozen=True)
class Column:
    """One column of the worksheet: a side and a kind (Motor, Touch or Prick)."""

    side: str
    kind: str

    @property
    def levels(self) -> tuple[str, ...]:
        return tuple(KEY_MUSCLES) if self.kind == "Motor" else DERMATOMES

    def field(self, level: str) -> str:
        if self.kind == "Motor":
            return motor_field(level, self.side)
        return sensory_field(level, self.side, self.kind)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.field(level) for level in self.levels)

    @property
    def allowed(self) -> tuple[str, ...]:
        return MOTOR_VALUES if self.kind == "Motor" else SENSORY_VALUES


# Columns left to right as printed on the paper form: the right side (motor, light touch,
# pin prick) then the mirrored left side (light touch, pin prick, motor). Keyboard entry walks
# each column top to bottom in this order, which is how the form is filled at the bedside.
COLUMNS: tuple[Column, ...] = (
    Column("Right", "Motor"),
    Column("Right", "Touch"),
    Column("Right", "Prick"),
    Column("Left", "Touch"),
    Column("Left", "Prick"),
    Column("Left", "Motor"),
)

ENTRY_ORDER: tuple[str, ...] = tuple(f for col in COLUMNS for f in col.fields) + (
    VAC,
    DAP,
    NON_KEY["Right"],
    NON_KEY["Left"],
)

CELL_FIELDS: tuple[str, ...] = tuple(f for col in COLUMNS for f in col.fields)
ALL_FIELDS: tuple[str, ...] = ENTRY_ORDER

_KIND_LABEL = {"Motor": "motor", "Touch": "light touch", "Prick": "pin prick"}
CELL_LABELS: dict[str, str] = {
    col.field(level): f"{level} {col.side.lower()} {_KIND_LABEL[col.kind]}"
    + (f" ({KEY_MUSCLES[level].lower()})" if col.kind == "Motor" else "")
    for col in COLUMNS
    for level in col.levels
}


def flagged(values: dict[str, str]) -> dict[str, str]:
    """The cells of a worksheet whose value carries a non-SCI flag (* or **), in entry order."""
    return {k: values[k] for k in CELL_FIELDS if str(values.get(k, "")).endswith("*")}


# The 25 result fields of a classification, grouped as the worksheet prints them.
RESULT_GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Motor totals",
        (
            ("rightUpperMotorTotal", "UER"),
            ("leftUpperMotorTotal", "UEL"),
            ("upperMotorTotal", "UEMS"),
            ("rightLowerMotorTotal", "LER"),
            ("leftLowerMotorTotal", "LEL"),
            ("lowerMotorTotal", "LEMS"),
            ("rightMotorTotal", "Right motor"),
            ("leftMotorTotal", "Left motor"),
        ),
    ),
    (
        "Sensory totals",
        (
            ("rightTouchTotal", "LTR"),
            ("leftTouchTotal", "LTL"),
            ("touchTotal", "LT total"),
            ("rightPrickTotal", "PPR"),
            ("leftPrickTotal", "PPL"),
            ("prickTotal", "PP total"),
        ),
    ),
    (
        "Neurological levels",
        (
            ("rightSensory", "Sensory R"),
            ("leftSensory", "Sensory L"),
            ("rightMotor", "Motor R"),
            ("leftMotor", "Motor L"),
            ("neurologicalLevelOfInjury", "NLI"),
        ),
    ),
    (
        "Classification",
        (
            ("injuryComplete", "Complete (C) / incomplete (I)"),
            ("asiaImpairmentScale", "AIS"),
        ),
    ),
    (
        "Zone of partial preservation",
        (
            ("rightSensoryZpp", "Sensory R"),
            ("leftSensoryZpp", "Sensory L"),
            ("rightMotorZpp", "Motor R"),
            ("leftMotorZpp", "Motor L"),
        ),
    ),
)
RESULT_FIELDS: tuple[str, ...] = tuple(key for _, items in RESULT_GROUPS for key, _ in items)


def normal_down_to(level: str) -> dict[str, str]:
    """Cells to fill for "normal down to <level>": sensory 2 and motor 5 on both sides for every
    row from C2 through `level` inclusive. Raises ValueError for an unknown level."""
    if level not in DERMATOMES:
        raise ValueError(f"level {level!r} is not a dermatome; allowed: {', '.join(DERMATOMES)}")
    cutoff = DERMATOMES.index(level)
    filled: dict[str, str] = {}
    for col in COLUMNS:
        for row in col.levels:
            if DERMATOMES.index(row) <= cutoff:
                filled[col.field(row)] = "5" if col.kind == "Motor" else "2"
    return filled
