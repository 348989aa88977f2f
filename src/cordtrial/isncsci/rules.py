"""The ISNCSCI 2019 rules, one entry each, as ``--explain`` cites them.

Each classification step states its rule once, in its own module (``RULE``), next to the one
implementation of it; the explanation of a result ends with a citation of that rule: its name,
the rule in a sentence, the source and the module. Where the standard is silent (which result
rests on a flagged value, what an open result lists), cordtrial follows the reference algorithm
as documented in docs/isncsci-differential.md; the citation says so.
"""

from __future__ import annotations

from .rule import Rule


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
