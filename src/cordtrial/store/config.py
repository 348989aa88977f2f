"""Where the store lives: one setting, ``CORDTRIAL_DATABASE_URL``.

Unset, the store is an embedded SQLite file ``cordtrial.sqlite`` in the working folder, created
on first use. For multi-site use point it at PostgreSQL, e.g.
``postgresql+psycopg://cordtrial:secret@db.example.org/cordtrial`` (psycopg 3).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "CORDTRIAL_DATABASE_URL"
DEFAULT_FILENAME = "cordtrial.sqlite"


class ConfigError(ValueError):
    """The database setting cannot be used."""


def database_url(url: str | None = None) -> str:
    """The database URL to use: the argument, else the environment setting, else the default.

    A bare ``postgresql://`` URL is given the psycopg 3 driver (the only one installed).
    """
    url = url or os.environ.get(ENV_VAR) or f"sqlite:///{Path.cwd() / DEFAULT_FILENAME}"
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not url.startswith(("sqlite", "postgresql+psycopg")):
        raise ConfigError(
            f"{ENV_VAR}: unsupported database URL {redact(url)!r}; allowed: sqlite:///PATH or "
            "postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"
        )
    return url


def redact(url: str) -> str:
    """The URL with any password replaced by ***, for messages and logs."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    if ":" in creds:
        creds = creds.split(":", 1)[0] + ":***"
    return f"{scheme}://{creds}@{host}"
