"""Run the reference ISNCSCI algorithm (npm `isncsci`, black box) on exams, for tests and tools.

The oracle is `tools/oracle/classify.mjs`; it needs Node.js and `npm ci --prefix tools/oracle`.
Only the public API of the package is used, and only through that script's JSON Lines
interface: exams in, the 25 result fields (or an error) out, one line each.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ORACLE_DIR = REPO_ROOT / "tools" / "oracle"
ORACLE_SCRIPT = ORACLE_DIR / "classify.mjs"
ORACLE_PACKAGE = ORACLE_DIR / "node_modules" / "isncsci" / "package.json"
ORACLE_VERSION = "2.0.6"


class OracleUnavailable(RuntimeError):
    """Node.js or the installed reference package is missing."""


class OracleError(RuntimeError):
    """The oracle process failed or answered something unexpected."""


def find_node() -> str | None:
    """The Node.js executable ($CORDTRIAL_NODE, else `node` on PATH), or None."""
    return os.environ.get("CORDTRIAL_NODE") or shutil.which("node")


def unavailable_reason() -> str | None:
    """Why the oracle cannot run here, or None when it can."""
    if find_node() is None:
        return "Node.js not found (install node or set CORDTRIAL_NODE)"
    if not ORACLE_PACKAGE.is_file():
        return f"reference package not installed: run `npm ci --prefix {ORACLE_DIR}`"
    version = json.loads(ORACLE_PACKAGE.read_text(encoding="utf-8")).get("version")
    if version != ORACLE_VERSION:
        return f"installed isncsci is {version}, expected {ORACLE_VERSION}: run npm ci again"
    return None


def oracle_classify(exams: Iterable[Mapping[str, object]], timeout: float = 600) -> list[dict]:
    """Classify every exam with the reference algorithm in one Node.js process.

    Returns one dict per exam, in order: `{"id": ..., "totals": {25 str fields}}`, or
    `{"id": ..., "error": "..."}` when the reference algorithm rejected the exam.
    """
    reason = unavailable_reason()
    if reason is not None:
        raise OracleUnavailable(reason)
    lines = [json.dumps(dict(exam), separators=(",", ":")) for exam in exams]
    if not lines:
        return []
    proc = subprocess.run(
        [find_node(), str(ORACLE_SCRIPT)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ORACLE_DIR,
        check=False,
    )
    if proc.returncode != 0:
        raise OracleError(f"oracle exited with {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    answers = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if len(answers) != len(lines):
        raise OracleError(f"oracle answered {len(answers)} lines for {len(lines)} exams")
    return answers


# --- comparing cordtrial's engine with the oracle -------------------------------------------

RESULT_FIELDS: tuple[str, ...] = (
    "rightUpperMotorTotal", "leftUpperMotorTotal", "rightLowerMotorTotal", "leftLowerMotorTotal",
    "rightTouchTotal", "leftTouchTotal", "rightPrickTotal", "leftPrickTotal",
    "rightMotorTotal", "leftMotorTotal", "upperMotorTotal", "lowerMotorTotal",
    "touchTotal", "prickTotal",
    "rightSensory", "leftSensory", "rightMotor", "leftMotor", "neurologicalLevelOfInjury",
    "rightSensoryZpp", "leftSensoryZpp", "rightMotorZpp", "leftMotorZpp",
    "asiaImpairmentScale", "injuryComplete",
)  # fmt: skip


def engine_classify(exam: Mapping[str, object]) -> dict:
    """cordtrial's answer in the oracle's shape: {"totals": {...}} or {"error": "..."}."""
    from cordtrial.isncsci import Exam, classify

    try:
        return {"totals": classify(Exam.from_rhi(dict(exam))).to_rhi()}
    except Exception as exc:  # noqa: BLE001 - any failure is a disagreement to report
        return {"error": f"{type(exc).__name__}: {exc}"}


@dataclass(frozen=True)
class Disagreement:
    exam_id: object
    field: str  # one of RESULT_FIELDS, or "error" when one side failed
    ours: str
    oracle: str

    def __str__(self) -> str:
        return f"exam {self.exam_id}: {self.field}: ours {self.ours!r}, oracle {self.oracle!r}"


def compare(exam_id: object, ours: Mapping, theirs: Mapping) -> list[Disagreement]:
    """Field-by-field differences between two answers (empty when they agree on all 25)."""
    if "error" in ours or "error" in theirs:
        if "error" in ours and "error" in theirs:
            return []  # both refuse the exam
        return [
            Disagreement(
                exam_id, "error", str(ours.get("error", "ok")), str(theirs.get("error", "ok"))
            )
        ]
    a, b = ours["totals"], theirs["totals"]
    return [
        Disagreement(exam_id, f, str(a.get(f, "<missing>")), str(b.get(f, "<missing>")))
        for f in RESULT_FIELDS
        if a.get(f) != b.get(f)
    ]


def differential(exams: Sequence[Mapping[str, object]]) -> list[Disagreement]:
    """Classify `exams` with both engines; every field on which they differ."""
    theirs = oracle_classify(exams)
    found: list[Disagreement] = []
    for i, (exam, answer) in enumerate(zip(exams, theirs, strict=True)):
        found += compare(exam.get("id", i), engine_classify(exam), answer)
    return found


def format_disagreements(found: Sequence[Disagreement], limit: int = 20) -> str:
    """A readable summary: counts per field, then the first `limit` disagreements."""
    if not found:
        return "no disagreements"
    per_field = Counter(d.field for d in found)
    exams = len({str(d.exam_id) for d in found})
    lines = [f"{len(found)} disagreeing fields in {exams} exams; per field: {dict(per_field)}"]
    lines += [f"  {d}" for d in found[:limit]]
    if len(found) > limit:
        lines.append(f"  ... and {len(found) - limit} more")
    return "\n".join(lines)


# --- shrinking a disagreeing exam ------------------------------------------------------------


def _simplicity(key: str, value: str) -> int:
    """Lower is simpler: normal < 0 < other grades; flags and NT cost extra."""
    normal = {"Touch": "2", "Prick": "2", "Motor": "5"}
    if key.startswith("anal"):
        return {"Yes": 0, "No": 1}.get(value, 3)
    kind = next((k for k in normal if key.endswith(k)), None)
    if kind is None:
        return 0
    base = value.rstrip("*")
    rank = 0 if base == normal[kind] else 1 if base == "0" else 3 if base == "NT" else 2
    return rank + (1 if value.endswith("*") else 0)


def _candidates(key: str, value: str) -> list[str]:
    if key.startswith("anal"):
        return ["Yes", "No"]
    normal = "5" if key.endswith("Motor") else "2"
    return [normal, "0", value.rstrip("*")]


def shrink(
    exam: Mapping[str, object],
    keep: Callable[[list[Disagreement]], bool],
    max_rounds: int = 200,
) -> dict:
    """Greedily simplify `exam` while `keep(disagreements)` holds, e.g. while the engines still
    disagree on a given field.

    Each round tries every single-cell simplification (to the normal grade, to 0, without its
    flag, or dropping a non-key muscle) in one oracle call; it then tries all the surviving
    ones together and keeps that if it still disagrees, else the first survivor. It stops when
    nothing survives: a local minimum, small enough to read.
    """

    def still(trial: Mapping[str, object], answer: Mapping) -> bool:
        return keep(compare(trial.get("id"), engine_classify(trial), answer))

    current = {k: str(v) for k, v in exam.items()}
    for _ in range(max_rounds):
        changes: list[tuple[str, str | None]] = []  # (key, new value or None to drop it)
        for key, value in current.items():
            if key == "id":
                continue
            if key.endswith("WithMotorFunction"):
                changes.append((key, None))
                continue
            for candidate in _candidates(key, value):
                if _simplicity(key, candidate) < _simplicity(key, value):
                    changes.append((key, candidate))
        trials = [_apply(current, [change]) for change in changes]
        if not trials:
            break
        answers = oracle_classify(trials)
        survivors = [
            change
            for change, trial, answer in zip(changes, trials, answers, strict=True)
            if still(trial, answer)
        ]
        if not survivors:
            break
        # One change per key: the first listed is the simplest candidate for that key.
        firsts = list({key: (key, value) for key, value in reversed(survivors)}.values())
        combined = _apply(current, firsts)
        if len(firsts) > 1 and still(combined, oracle_classify([combined])[0]):
            current = combined
        else:
            current = _apply(current, survivors[:1])
    return current


def _apply(exam: Mapping[str, str], changes: Iterable[tuple[str, str | None]]) -> dict:
    out = dict(exam)
    for key, value in changes:
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


# --- explaining a disagreement by the oracle's own answers on completed exams ----------------

# The values a plain NT cell stands for. Flagged NT cells (NT*, NT**) are not expanded: what
# they stand for is the engines' interpretation, so they cannot explain anything here.
_NT_VALUES = {"Touch": ("0", "1", "2"), "Prick": ("0", "1", "2"), "Motor": tuple("012345")}
_LIST_FIELDS = frozenset(RESULT_FIELDS[14:])  # levels, ZPPs, AIS, completeness


def nt_completions(exam: Mapping[str, object], limit: int = 4096) -> list[dict] | None:
    """Every exam obtained by replacing each plain `NT` by one of its values, or None when
    there are more than `limit` of them (or none)."""
    slots: list[tuple[str, tuple[str, ...]]] = []
    for key, value in exam.items():
        if value != "NT":
            continue
        if key in ("analContraction", "analSensation"):
            slots.append((key, ("Yes", "No")))
        else:
            slots.append((key, next(v for k, v in _NT_VALUES.items() if key.endswith(k))))
    count = 1
    for _, values in slots:
        count *= len(values)
    if not slots or count > limit:
        return None
    out = [dict(exam)]
    for key, values in slots:
        out = [{**e, key: v} for e in out for v in values]
    return out


def _merge(answers: Iterable[str]) -> set[str]:
    """Union of candidate lists; a value is starred only if every answer giving it starred it."""
    starred: dict[str, bool] = {}
    for answer in answers:
        for token in answer.split(","):
            base = token.rstrip("*")
            starred[base] = starred.get(base, True) and token.endswith("*")
    return {base + ("*" if s else "") for base, s in starred.items()}


def explained_by_completions(exam: Mapping[str, object], d: Disagreement) -> bool:
    """True when our answer is exactly the union of the oracle's OWN answers for the completed
    exams (every plain NT replaced by each of its values) and the oracle's answer is not: the
    oracle then contradicts itself and ours is the consistent NT answer."""
    if d.field not in _LIST_FIELDS:
        return False
    exams = nt_completions(exam)
    if exams is None:
        return False
    answers = oracle_classify(exams)
    if any("error" in a for a in answers):
        return False
    union = _merge(a["totals"][d.field] for a in answers)
    return union == set(d.ours.split(",")) and union != set(d.oracle.split(","))


def _bases(answer: str) -> set[str]:
    return {token.rstrip("*") for token in answer.split(",")}


def sampled_completions(exam: Mapping[str, object], limit: int = 512, seed: int = 0) -> list[dict]:
    """Every NT completion when there are at most ``limit``, else a seeded random sample."""
    every = nt_completions(exam, limit=limit)
    if every is not None:
        return every
    import random

    rng = random.Random(seed)
    slots = [
        (
            key,
            ("Yes", "No")
            if key in ("analContraction", "analSensation")
            else next(v for k, v in _NT_VALUES.items() if key.endswith(k)),
        )
        for key, value in exam.items()
        if value == "NT"
    ]
    return [{**exam, **{key: rng.choice(values) for key, values in slots}} for _ in range(limit)]


def oracle_omits_its_own_values(exam: Mapping[str, object], d: Disagreement) -> bool:
    """True when our answer keeps every value of the oracle's and adds only values that the
    oracle itself gives for some completion of the exam's NT cells: the oracle's open result
    then leaves out possibilities it produces on real exams (docs/isncsci-differential.md, 1a).
    Sampling can only miss such a completion (a failure), never accept a wrong value."""
    if d.field not in _LIST_FIELDS:
        return False
    ours, theirs = _bases(d.ours), _bases(d.oracle)
    extra = ours - theirs
    if not extra or not theirs <= ours:
        return False
    answers = oracle_classify(sampled_completions(exam))
    if any("error" in a for a in answers):
        return False
    seen: set[str] = set()
    for a in answers:
        seen |= _bases(a["totals"][d.field])
    return extra <= seen


def conservative_open_nonkey_zpp(exam: Mapping[str, object], d: Disagreement) -> bool:
    """Documented deviation (docs/isncsci-differential.md, 1a): with a non-key muscle and more
    NT completions than the engine enumerates, our open motor ZPP keeps the key-muscle ZPP
    next to the non-key one (a superset of the reference's answer, never a missing value)."""
    from cordtrial.isncsci import Exam
    from cordtrial.isncsci.codes import encode_exam
    from cordtrial.isncsci.completions import completion_counts
    from cordtrial.isncsci.zpp import MAX_ZPP_COMPLETIONS

    side = "right" if d.field.startswith("right") else "left"
    if not d.field.endswith("MotorZpp") or not exam.get(
        f"{side}LowestNonKeyMuscleWithMotorFunction"
    ):
        return False
    ours, theirs = _bases(d.ours), _bases(d.oracle)
    codes, _ = encode_exam(Exam.from_rhi(dict(exam)))
    return theirs < ours and int(completion_counts(codes)[0]) > MAX_ZPP_COMPLETIONS


def documented_deviation(exam: Mapping[str, object], d: Disagreement) -> bool:
    """Is this disagreement one of the documented deviations (docs/isncsci-differential.md):
    our answer is the union of the oracle's own answers on the NT completions (the oracle
    contradicting itself), keeps the oracle's values adding only ones it gives itself on some
    completion (1a), or is the conservative superset beyond the enumerated completions (1a)?"""
    return (
        explained_by_completions(exam, d)
        or oracle_omits_its_own_values(exam, d)
        or conservative_open_nonkey_zpp(exam, d)
    )
