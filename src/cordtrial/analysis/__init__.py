"""Honest outcome analysis over tidy tables (see docs/analysis.md).

Modules: ``tables`` (the contract), ``datasets`` (synthetic example), ``descriptive``,
``responders``, ``natural_history`` + ``comparator`` + ``poisson_binomial``, ``self_controlled``,
``walking``, ``power``, ``plots``.
"""

from .datasets import load_example
from .tables import AnalysisTables, TableContractError

__all__ = ["AnalysisTables", "TableContractError", "load_example"]
