"""Engines, sessions and schema upgrades.

SQLite connections get WAL journaling, enforced foreign keys, a busy timeout,
``synchronous=FULL`` (a committed transaction survives a crash or power loss) and
``BEGIN IMMEDIATE`` transactions (see ``_sqlite_begin``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from threading import Lock

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from . import (  # noqa: F401  (flush hooks register on import)
    audit,
    casebook_guard,
    protocol_versions,
    text_guard,
)
from .config import database_url
from .refusals import flush_refusals, pending

log = logging.getLogger("cordtrial.store.db")
MIGRATIONS = Path(__file__).parent / "migrations"
_engines: dict[str, Engine] = {}
_lock = Lock()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit transactions break SAVEPOINTs).
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


def _sqlite_begin(conn) -> None:
    # IMMEDIATE: take the write lock at the start of a unit of work. SQLite allows one writer;
    # a deferred transaction that read first and writes later fails ("database is locked")
    # when another writer committed in between. Units of work on one SQLite file therefore
    # run one after another (waiting up to busy_timeout); PostgreSQL is for concurrent use.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def get_engine(url: str | None = None) -> Engine:
    """The (cached) engine for a database URL (see :func:`cordtrial.store.config.database_url`)."""
    url = database_url(url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                engine = create_engine(url)
                event.listen(engine, "connect", _sqlite_pragmas)
                event.listen(engine, "begin", _sqlite_begin)
            else:
                engine = create_engine(url, pool_pre_ping=True)
            _engines[url] = engine
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, restore)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    """Sessions whose changes are written to the audit trail."""
    return sessionmaker(bind=get_engine(url), class_=audit.AuditedSession, expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error.

    A unit of work in which a domain rule refused something is never committed, even when the
    caller caught the :class:`Refusal` and carried on: a refused action must not leave part of
    itself behind. Refusals are then logged in a transaction of their own, in every case.
    """
    session = session_factory(url)()
    try:
        yield session
        if pending(session):
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        try:
            flush_refusals(session)
        except Exception:  # never mask the original error; the refusal went to the log
            log.exception("could not store the refusal log entry")
        raise
    else:
        flush_refusals(session)
    finally:
        session.close()


def alembic_config() -> Config:
    """Alembic configured in code: works from an installed package, no alembic.ini needed."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Create or upgrade the schema (SQLite: the file is created on first use)."""
    engine = get_engine(url)
    if engine.url.get_backend_name() == "sqlite" and engine.url.database:
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def reset(url: str | None = None) -> None:
    """Drop every store table (schema downgrade to base). Destroys all data; the audit key and
    checkpoint files of the old trail are moved aside (a new trail starts)."""
    from . import audit_anchor

    engine = get_engine(url)
    if not inspect(engine).has_table("alembic_version"):
        return
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    audit_anchor.retire_files(engine.url.render_as_string(hide_password=False))


def head_revision() -> str:
    """The newest schema revision this version of cordtrial knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(url: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with get_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_initialised(url: str | None = None) -> bool:
    return inspect(get_engine(url)).has_table("audit_trail")
