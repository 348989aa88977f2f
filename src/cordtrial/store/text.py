"""What text and numbers the store accepts, and how a refused value is echoed safely.

Free text may hold tabs and line breaks, nothing else below U+0020: other control characters
(NUL among them, which PostgreSQL cannot store), unpaired surrogates (which no encoding can
write), U+FFFE/U+FFFF (not allowed in XML exports) and non-finite numbers (not valid JSON) are
refused wherever input enters: the web's request guard, the request models and the store's
flush (the last line for CLI and import paths). Pure functions, no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
ALLOWED_TEXT = "text without control characters (tabs and line breaks are allowed)"
ALLOWED_NUMBER = "a finite number"
ECHO_LIMIT = 200


def text_problem(text: str) -> str | None:
    """Why ``text`` is refused (naming the first bad character), or None when it is fine."""
    match = _FORBIDDEN.search(text)
    if match is None:
        return None
    char = match.group()
    kind = "unpaired surrogate" if "\ud800" <= char <= "\udfff" else "control character"
    return f"{kind} U+{ord(char):04X} at position {match.start()}"


def value_problems(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """(path, problem) for every refused string, key or number inside a JSON-like value."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield path, f"{problem}; allowed: {ALLOWED_TEXT}"
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield path, f"non-finite number; allowed: {ALLOWED_NUMBER}"
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and (problem := text_problem(key)):
                yield (*path, key), f"{problem} in the name; allowed: {ALLOWED_TEXT}"
            yield from value_problems(item, (*path, key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from value_problems(item, (*path, i))


def safe_echo(value: Any, limit: int = ECHO_LIMIT) -> Any:
    """A value fit to quote back in an answer or a log: JSON-encodable, control characters and
    surrogates escaped, long text cut to ``limit`` characters with a note of how much was cut."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict | list | tuple):
        return "(structured value)"
    text = value if isinstance(value, str) else str(value)
    cut = len(text) - limit
    if cut > 0:
        text = text[:limit]
    text = _FORBIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return f"{text}… ({cut} more characters)" if cut > 0 else text


def field_name(path: tuple) -> str:
    """A dotted field name for an error, with any bad characters in it escaped."""
    return ".".join(str(safe_echo(str(p), 64)) for p in path) or "body"
