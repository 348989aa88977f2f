"""The exams being classified, column-wise, and the possible values of a result.

``Exams`` wraps a code matrix (``codes``: one column per exam) with each side's blocks; the
rule modules read their answers from it. ``Possible`` is what a rule produces: for each value
of a result (one row per level, grade...) whether an exam can reach it without resting on a
flag (``plain``) and resting on one (``star``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .answers import FALSE, Answers, Bits, Const, is_false, materialise, pack, unpack
from .codes import BINARY_NT, DAP_ROW, MOTOR_NT, SENSORY_NT, SIDE_OFFSET, VAC_ROW, side_blocks
from .levels import SIDES
from .lookup import lookup, read


class Side:
    """One side of every exam: light touch and pin prick (28, n), key muscles (10, n), the
    lowest non-key muscle's level (n,), and answers already computed for it."""

    def __init__(self, exams: Exams, name: str, non_key: np.ndarray) -> None:
        self.name, self.exams = name, exams
        self.touch, self.prick, self.motor = side_blocks(exams.codes, name)
        self.non_key = non_key
        self._memo: dict[Any, Any] = {}
        self._reads: dict[str, dict] = {"touch": {}, "prick": {}, "motor": {}}  # lookup.read

    def answers(self, table: np.ndarray, block: str) -> Answers:
        """A question's answers for each cell of a block (``touch``, ``prick``, ``motor``)."""
        codes, limit, reads, flagged = self._block(block)
        return self.memo((id(table), block), lambda: lookup(table, codes, limit, reads, flagged))

    def bits(self, row: np.ndarray, block: str, packed: bool = True) -> Bits:
        """A per-code fact (True per vocabulary code) for each cell of a block (packed)."""
        codes, limit, reads, flagged = self._block(block)
        key = ("bits", id(row), block, packed)
        return self.memo(key, lambda: read(row, codes, limit, packed, reads, flagged))

    def _block(self, block: str) -> tuple[np.ndarray, int, dict, int]:
        """A block's codes, the codes below which they lie, the reads made from them
        (``lookup.read``'s cache) and the vocabulary's first flagged code."""
        kind = "motor" if block == "motor" else "sensory"
        return getattr(self, block), self.exams.limits[kind], self._reads[block], NT_CODE[kind] + 1

    def memo(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()`` once per side (several rules ask the same question)."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]


class Exams:
    """Exams as columns of a code matrix (see ``codes``) with their non-key muscle levels."""

    def __init__(self, codes: np.ndarray, non_key: np.ndarray) -> None:
        # Row-major: every rule reads whole rows (levels) of the matrix.
        self.codes, self.non_key = np.ascontiguousarray(codes), np.ascontiguousarray(non_key)
        self.n = codes.shape[1]
        self.width = (self.n + 7) // 8  # bytes of a packed row (answers.pack)
        self.vac, self.dap = self.codes[VAC_ROW], self.codes[DAP_ROW]
        self._memo: dict[Any, Any] = {}
        # Columns appended after the exams for the motor ZPP (``zpp.with_appended``).
        self.appended: Any = None
        self.limits = _limits(self.codes)
        self.right = Side(self, "right", self.non_key[0])
        self.left = Side(self, "left", self.non_key[1])

    @property
    def may_be_untested(self) -> bool:
        """Can any cell, VAC or DAP be a plain ``NT`` (codes reach it)?"""
        return any(self.limits[k] > NT_CODE[k] for k in NT_CODE)

    def binary(self, table: np.ndarray, row: np.ndarray) -> Answers:
        """A question's answers for VAC or DAP (``row``: ``vac`` or ``dap``)."""
        return lookup(table, row, self.limits["binary"], self._binary_reads(row))

    def binary_bits(self, fact: np.ndarray, row: np.ndarray) -> Bits:
        """A per-code fact for VAC or DAP (packed)."""
        return read(fact, row, self.limits["binary"], cache=self._binary_reads(row))

    def _binary_reads(self, row: np.ndarray) -> dict | None:
        """The reads already made from ``row`` when it is this exams' own VAC or DAP row (no
        cache for other rows: a row made for one question may be gone by the next)."""
        if row is self.vac:
            return self._memo.setdefault("VAC reads", {})
        if row is self.dap:
            return self._memo.setdefault("DAP reads", {})
        return None

    def pack(self, flags: np.ndarray) -> np.ndarray:
        """Booleans per exam (last axis) packed like the answers."""
        return pack(flags)

    def unpack(self, bits: Bits, rows: int | None = None) -> np.ndarray:
        """Packed bits as booleans per exam (``rows``: their row count when a constant)."""
        return unpack(bits, self.n, None if rows is None else (rows, self.width))

    @property
    def sides(self) -> tuple[Side, Side]:
        return self.right, self.left

    def side(self, name: str) -> Side:
        return self.right if name == SIDES[0] else self.left

    def memo(self, key: Any, make: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def take(self, columns: np.ndarray) -> Exams:
        """The exams ``columns`` (indices or a mask) as their own ``Exams``."""
        return Exams(self.codes[:, columns], self.non_key[:, columns])

    def with_codes(self, codes: np.ndarray) -> Exams:
        return Exams(codes, self.non_key)


NT_CODE = {"sensory": SENSORY_NT, "motor": MOTOR_NT, "binary": BINARY_NT}


def _limits(codes: np.ndarray) -> dict[str, int]:
    """Per vocabulary, one past the highest code present: the codes the rules must read."""
    if codes.shape[1] == 0:
        return {"sensory": 1, "motor": 1, "binary": 1}
    sensory = [codes[o : o + 56] for o in SIDE_OFFSET.values()]
    motor = [codes[o + 56 : o + 66] for o in SIDE_OFFSET.values()]
    return {
        "sensory": int(max(int(b.max()) for b in sensory)) + 1,
        "motor": int(max(int(b.max()) for b in motor)) + 1,
        "binary": int(codes[VAC_ROW:].max()) + 1,
    }


@dataclass
class Possible:
    """Possible values of a result per exam, one row per value: reached without a flag
    (``plain``) or resting on one (``star``); either may be a constant (``answers.Const``)."""

    plain: Bits
    star: Bits

    def __getitem__(self, index) -> Possible:
        return Possible(self.plain[index], self.star[index])

    @classmethod
    def rows(cls, shape: tuple[int, ...], *parts: tuple[Any, Possible]) -> Possible:
        """Rows of ``shape`` filled from ``parts`` (index, possible); FALSE where nothing is."""
        fields = []
        for name in ("plain", "star"):
            values = [getattr(p, name) for _, p in parts]
            if all(is_false(v) for v in values):
                fields.append(FALSE)
                continue
            out = np.zeros(shape, dtype=np.uint8)
            for (index, _), value in zip(parts, values, strict=True):
                out[index] = (255 if value.value else 0) if isinstance(value, Const) else value
            fields.append(out)
        return cls(*fields)

    @property
    def present(self) -> Bits:
        return self.plain | self.star

    @property
    def starred(self) -> Bits:
        """Starred where reached only resting on a flag: reached both ways it does not rest
        on the flag (``Candidates.of``)."""
        return self.star & ~self.plain

    def result(self, shape: tuple[int, ...]) -> Result:
        """As reported (packed, of packed ``shape``)."""
        return Result(materialise(self.present, shape), materialise(self.starred, shape))


@dataclass
class Result:
    """A result as reported: each value present or not and, if present, starred or not
    (packed, one row per value; ``unpacked`` for one boolean per exam)."""

    present: np.ndarray
    starred: np.ndarray

    def unpacked(self, n: int) -> Result:
        return Result(unpack(self.present, n), unpack(self.starred, n))
