"""Domain rules, enforced in one place.

Every function takes the acting :class:`~cordtrial.store.models.User` and a session, checks the
user's role and site, validates its input and raises :class:`Refusal` (code + message) when a
rule forbids the action; every refusal is logged (see :mod:`cordtrial.store.refusals`).
"""

from ..refusals import Refusal, flush_refusals
from . import (
    adverse_events,
    assessments,
    casebook,
    data_queries,
    deviations,
    double_entry,
    infusions,
    locks,
    manufacturing,
    patients,
    protocols,
    records,
    sdv,
    sites,
    users,
    worklists,
)

__all__ = [
    "Refusal",
    "flush_refusals",
    "adverse_events",
    "assessments",
    "infusions",
    "manufacturing",
    "patients",
    "protocols",
    "records",
    "sites",
    "users",
    "casebook",
    "data_queries",
    "deviations",
    "double_entry",
    "locks",
    "sdv",
    "worklists",
]
