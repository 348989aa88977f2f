"""One rule of the standard as ``--explain`` cites it (each step module holds its ``RULE``)."""

from __future__ import annotations

from dataclasses import dataclass

#: The standard every rule comes from.
ISNCSCI_2019 = (
    "ISNCSCI, revised 2019 (American Spinal Injury Association; Rupp R et al., "
    "Top Spinal Cord Inj Rehabil 2021;27(2):1-22)"
)
#: Where the stars (results resting on a flagged value) and open results are documented.
STARS = "star placement and open results: docs/isncsci-differential.md"


@dataclass(frozen=True)
class Rule:
    """One rule of the standard: a short name, the rule in a sentence, and the module that
    holds its only implementation."""

    name: str
    statement: str
    module: str

    def citation(self, starred: bool = False) -> str:
        """``(ISNCSCI 2019, <name>: <statement> [<module>])``, naming where the stars are
        documented when the result carries one."""
        stars = f"; {STARS}" if starred else ""
        return f"(ISNCSCI 2019, {self.name}: {self.statement} [{self.module}]{stars})"
