"""The trial store: from injury to infusion to follow-up, with chain of identity and an audit
trail (SQLAlchemy 2 + Alembic; SQLite by default, PostgreSQL via CORDTRIAL_DATABASE_URL).

- ``db``: ``session_scope(url=None)`` (one audited unit of work), ``upgrade(url=None)``.
- ``models``: the tables; ``services``: every domain rule, raising ``Refusal``.
- ``audit``: hash-chained trail and ``verify``; ``signatures``: content-bound e-signatures.
- ``protocol``: the per-trial TOML file; ``tables``: the analysis's tidy tables.
- ``demo``: the synthetic demo trial; ``commands.register(app)``: the CLI commands.

See docs/data-model.md.
"""
