"""Results that may hold several possible values.

Where not-testable cells leave a result open, ISNCSCI tools list every value the result could
take ("ND" cases). A ``Candidates`` maps each possible value to whether it rests on a flagged
(``*``/``**``) cell; it renders as the reference does: values in canonical order, comma-separated,
each with its own star.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidates:
    """Possible values of one result, each with its star (rests on a flagged value)."""

    items: tuple[tuple[object, bool], ...]  # sorted by the value's canonical order

    @classmethod
    def of(
        cls, pairs: Iterable[tuple[object, bool]], order: Callable[[object], object]
    ) -> Candidates:
        merged: dict[object, bool] = {}
        for value, star in pairs:
            # The same value reached both with and without an assumption does not rest on it.
            merged[value] = merged.get(value, True) and star
        return cls(tuple(sorted(merged.items(), key=lambda kv: order(kv[0]))))

    @classmethod
    def single(cls, value: object, star: bool = False) -> Candidates:
        return cls(((value, star),))

    def __iter__(self) -> Iterator[object]:
        return (value for value, _ in self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def values(self) -> tuple[object, ...]:
        return tuple(value for value, _ in self.items)

    @property
    def determined(self) -> bool:
        return len(self.items) == 1

    @property
    def starred(self) -> bool:
        return any(star for _, star in self.items)

    def render(self, name: Callable[[object], str] = str) -> str:
        return ",".join(name(value) + ("*" if star else "") for value, star in self.items)
