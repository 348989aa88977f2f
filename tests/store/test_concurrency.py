"""Concurrent units of work: none fails spuriously and the audit chain never forks."""

from __future__ import annotations

import threading

from sqlalchemy import select

from cordtrial.store import audit, db
from cordtrial.store.models import Injury, Patient
from cordtrial.store.services import records


def test_parallel_writers_keep_one_chain(world):
    errors: list[BaseException] = []
    codes = [world.patient, world.other_patient]

    def worker(n: int) -> None:
        try:
            for i in range(5):
                with db.session_scope(world.url) as s:
                    inv = world.user(s, "investigator")  # read first, write later
                    inj = s.scalar(
                        select(Injury).join(Patient).where(Patient.study_code == codes[n % 2])
                    )
                    records.amend(
                        inv,
                        s,
                        inj,
                        {"mechanism": f"worker {n} edit {i}"},
                        reason="concurrency test",
                    )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    with db.session_scope(world.url) as s:
        report = audit.verify(s)
        assert report.ok, report.problems
