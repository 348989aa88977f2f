"""Checks of free-text fields, written once: present (or allowed blank) and within a length.
(Characters the store refuses anywhere are refused at the flush: cordtrial.store.text_guard.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..models import User
from .base import check


def check_text(
    session: Session,
    user: User,
    field: str,
    value: Any,
    what: str,
    *,
    max_len: int = 200,
    required: bool = True,
) -> None:
    """Refuse a text that is missing (when required), blank or longer than ``max_len``;
    ``what`` says what the field holds, e.g. "the operator's name"."""
    if value is None and not required:
        return
    check(
        session,
        user,
        isinstance(value, str) and bool(value.strip()) and len(value) <= max_len,
        field,
        value,
        f"{what}, 1-{max_len} characters",
    )
