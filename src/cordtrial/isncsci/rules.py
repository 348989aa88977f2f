"""The ISNCSCI 2019 rules, one entry each, as ``--explain`` cites them.

Each classification step states its rule once, in its own module (``RULE``), next to the one
implementation of it; the explanation of a result ends with a citation of that rule: its name,
the rule in a sentence, the source and the module. Where the standard is silent (which result
rests on a flagged value, what an open result lists), cordtrial follows the reference algorithm
as documented in docs/isncsci-differential.md; the citation says so.
"""

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


def all_rules() -> list[Rule]:
    """Every step's rule, in classification order."""
    from . import ais, completeness, motor_level, nli, sensory_level, totals, zpp

    return [
        totals.RULE,
        sensory_level.RULE,
        motor_level.RULE,
        nli.RULE,
        completeness.RULE,
        ais.RULE,
        zpp.SENSORY_RULE,
        zpp.MOTOR_RULE,
    ]
