"""One place that sets odmlib's (process-wide) XML namespace registry, under a lock, so an
ODM and a Define-XML written at the same time by two web requests cannot disturb each other."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
_lock = threading.Lock()


@contextmanager
def odm_namespaces(define: bool) -> Iterator[None]:
    import odmlib.ns_registry as NS

    with _lock:
        NS.NamespaceRegistry(prefix="odm", uri=ODM_NS, is_default=True, is_reset=True)
        if define:
            NS.NamespaceRegistry(prefix="def", uri=DEF_NS)
            NS.NamespaceRegistry(prefix="xlink", uri=XLINK_NS)
        yield
