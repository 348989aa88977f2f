"""Every domain refusal: the action is not stored, the refusal is logged with a clear message."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from cordtrial.store import db, signatures
from cordtrial.store.models import Infusion, Injury
from cordtrial.store.refusals import Refusal
from cordtrial.store.services import infusions, patients, records
from cordtrial.store.services import manufacturing as mf

from .conftest import PASSWORD, harvest_of, infusion_input, make_lot
from .helpers import assert_refused


def _infuse(
    w,
    patient_code,
    lot_number,
    *,
    second="cell_processing",
    password=PASSWORD,
    second_password=PASSWORD,
    **over,
):
    def action(s):
        infusions.record_infusion(
            w.user(s, "investigator"),
            s,
            w.pat(s, patient_code),
            w.lot(s, lot_number),
            infusion_input(w, patient_code, lot_number, **over),
            password=password,
            second_person=w.user(s, second),
            second_password=second_password,
            second_username=second,
        )

    return action


def test_wrong_patients_lot_at_infusion(world):
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-B", world.other_patient)
    # the bedside scans match the lot, but the lot was made for another patient
    r = assert_refused(
        world.url,
        "wrong_patient_lot",
        _infuse(world, world.patient, "LOT-B", wristband_code=world.patient),
    )
    assert "SAP-002" in r.message and "SAP-001" in r.message


def test_wrong_patients_harvest_for_a_lot(world):
    def action(s):
        from .conftest import harvest_of

        other = harvest_of(s, world.pat(s, world.other_patient))
        mf.create_lot(
            world.user(s, "cell_processing"),
            s,
            world.pat(s),
            lot_number="X",
            harvest=other,
            culture_started_on=date(2026, 2, 1),
        )

    assert_refused(world.url, "wrong_patient_lot", action)


def test_wrong_patient_at_dispensing(world):
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-B", world.other_patient)

    def action(s):
        mf.dispense_lot(
            world.user(s, "cell_processing"),
            s,
            world.lot(s, "LOT-B"),
            world.pat(s),
            today=date(2026, 2, 10),
        )

    assert_refused(world.url, "wrong_patient_lot", action)


def test_unreleased_lot(world):
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-Q", status="quarantine")
    r = assert_refused(world.url, "lot_not_released", _infuse(world, world.patient, "LOT-Q"))
    assert "quarantine" in r.message


def test_expired_lot_at_infusion(world):
    with db.session_scope(world.url) as s:
        lot = make_lot(world, s, "LOT-1")
        expiry = lot.expiry_date
    late = expiry + timedelta(days=1)
    assert_refused(
        world.url,
        "lot_expired",
        _infuse(world, world.patient, "LOT-1", infused_on=late, weight_measured_on=late),
    )


def test_dose_above_per_kg_maximum(world):
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-1")
    # 1.5e8 cells / 40 kg = 3.75e6/kg > 3.34e6/kg (label maximum)
    r = assert_refused(
        world.url, "dose_above_maximum", _infuse(world, world.patient, "LOT-1", weight_kg=40.0)
    )
    assert "3.75e+06" in r.message and "3.34e+06" in r.message


def test_dose_at_the_maximum_is_accepted(world):
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-1")
    with db.session_scope(world.url) as s:
        _infuse(world, world.patient, "LOT-1", weight_kg=1.5e8 / 3.34e6)(s)
        assert s.scalar(select(Infusion.cells_per_kg)) == 1.5e8 / (1.5e8 / 3.34e6)


def test_infusion_beyond_protocol_count(world):
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-1")
        make_lot(world, s, "LOT-2")
    with db.session_scope(world.url) as s:
        _infuse(world, world.patient, "LOT-1")(s)
    r = assert_refused(world.url, "infusion_limit", _infuse(world, world.patient, "LOT-2"))
    assert "allows 1" in r.message


def test_release_with_missing_test(world):
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-M", status="quarantine", skip=("mycoplasma",))

    def action(s):
        mf.release_lot(
            world.user(s, "qa"),
            s,
            world.lot(s, "LOT-M"),
            password=PASSWORD,
            today=date(2026, 2, 15),
        )

    r = assert_refused(world.url, "release_tests_incomplete", action)
    assert "no result for Mycoplasma (PCR)" in r.message and r.context["missing"] == ["mycoplasma"]


def test_release_with_failed_test(world):
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-F", status="quarantine", failing=("viability", "sterility"))

    def action(s):
        mf.release_lot(
            world.user(s, "qa"),
            s,
            world.lot(s, "LOT-F"),
            password=PASSWORD,
            today=date(2026, 2, 15),
        )

    r = assert_refused(world.url, "release_tests_incomplete", action)
    assert "outside the limit: Viability (trypan blue or 7-AAD), Sterility" in r.message
    assert r.context["failed"] == ["viability", "sterility"]


def test_retest_after_failure_allows_release(world):
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-F", status="quarantine", failing=("viability",))
        cp = world.user(s, "cell_processing")
        mf.record_release_test(
            cp,
            s,
            world.lot(s, "LOT-F"),
            test_code="viability",
            method="7-AAD",
            tested_on=date(2026, 2, 12),
            analyst="B",
            value=88.0,
        )
        mf.release_lot(
            world.user(s, "qa"),
            s,
            world.lot(s, "LOT-F"),
            password=PASSWORD,
            today=date(2026, 2, 15),
        )
        assert world.lot(s, "LOT-F").status == "released"


def test_change_after_signature_needs_reason(world):
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-1")
    with db.session_scope(world.url) as s:
        _infuse(world, world.patient, "LOT-1")(s)

    def action(s):
        inf = s.scalar(select(Infusion))
        records.amend(
            world.user(s, "investigator"), s, inf, {"reaction": "mild flushing"}, reason=""
        )

    r = assert_refused(world.url, "reason_required", action)
    assert "signed" in r.message
    with db.session_scope(world.url) as s:
        inf = s.scalar(select(Infusion))
        assert all(st.valid for st in signatures.status(s, inf))
        records.amend(
            world.user(s, "investigator"),
            s,
            inf,
            {"reaction": "mild flushing"},
            reason="reaction noted late by the ward nurse",
        )
    with db.session_scope(world.url) as s:
        states = signatures.status(s, s.scalar(select(Infusion)))
        assert len(states) == 2 and not any(st.valid for st in states)


def test_release_test_change_after_lot_release_needs_reason(world):
    with db.session_scope(world.url) as s:
        lot = make_lot(world, s, "LOT-1")
        test = lot.release_tests[0]
        test_id = test.id

    def action(s):
        from cordtrial.store.models import ReleaseTest

        records.amend(
            world.user(s, "qa"),
            s,
            s.get(ReleaseTest, test_id),
            {"analyst": "Someone else"},
            reason=None,
        )

    assert_refused(world.url, "reason_required", action)


def test_every_correction_needs_a_reason(world):
    """Issue 13, point 5: any saved record, signed or not, is corrected with a reason."""

    def action(s):
        inj = s.scalar(select(Injury))
        records.amend(world.user(s, "investigator"), s, inj, {"mechanism": "fall"}, reason=None)

    r = assert_refused(world.url, "reason_required", action)
    assert "signed" not in r.message
    with db.session_scope(world.url) as s:
        inj = s.scalar(select(Injury))
        records.amend(world.user(s, "investigator"), s, inj, {"mechanism": "fall"}, reason="typo")


def test_role_gates(world):
    def monitor_writes(s):
        patients.record_consent(
            world.user(s, "monitor"),
            s,
            world.pat(s),
            consent_date=date(2026, 1, 9),
            form_version="2",
        )

    assert_refused(world.url, "role_not_allowed", monitor_writes)

    def cp_releases(s):
        make_lot(world, s, "LOT-X", status="quarantine")
        mf.release_lot(
            world.user(s, "cell_processing"),
            s,
            world.lot(s, "LOT-X"),
            password=PASSWORD,
            today=date(2026, 2, 15),
        )

    assert_refused(world.url, "role_not_allowed", cp_releases)

    def assessor_reads_identity(s):
        patients.identity_for(world.user(s, "assessor"), s, world.pat(s))

    assert_refused(world.url, "role_not_allowed", assessor_reads_identity)


def test_site_scoping(world):
    with db.session_scope(world.url) as s:
        mine = patients.list_for(world.user(s, "investigator"), s)
        assert [p.study_code for p in mine] == [world.patient, world.other_patient]
        theirs = patients.list_for(world.user(s, "kus_investigator"), s)
        assert [p.study_code for p in theirs] == [world.remote_patient]
        ident = patients.identity_for(world.user(s, "investigator"), s, world.pat(s))
        assert ident.full_name == f"Name of {world.patient}"

    def peek(s):
        patients.get_for(world.user(s, "investigator"), s, world.remote_patient)

    assert_refused(world.url, "other_site", peek)


def test_a_lot_from_another_patients_serum_is_refused(world):
    from cordtrial.store.models import BloodDraw

    def action(s):
        p, other = world.pat(s), world.pat(s, world.other_patient)
        mf.create_lot(
            world.user(s, "cell_processing"),
            s,
            p,
            lot_number="LOT-MIX",
            harvest=harvest_of(s, p),
            serum=list(s.scalars(select(BloodDraw).where(BloodDraw.patient_id == other.id))),
            culture_started_on=world.injury_date + timedelta(days=22),
        )

    r = assert_refused(world.url, "wrong_patient_serum", action)
    assert world.patient in r.message
    with db.session_scope(world.url) as s:
        assert world.lot(s, "LOT-MIX") is None


def test_no_raw_material_before_consent(world):
    def action(s):
        from cordtrial.store.models import Site

        inv = world.user(s, "investigator")
        p = patients.register(
            inv,
            s,
            site=s.scalar(select(Site).where(Site.code == "SAP")),
            study_code="SAP-009",
            sex="F",
            age_at_injury=30,
        )
        mf.record_blood_draw(inv, s, p, drawn_on=date(2026, 1, 20), volume_ml=240, operator="N")

    assert_refused(world.url, "no_consent", action)
    with db.session_scope(world.url) as s:  # the registration was rolled back with it
        assert s.scalar(select(func.count()).select_from(Injury)) == 3
        assert world.pat(s, "SAP-009") is None


def test_chain_of_identity_scans(world):
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-1")
    assert_refused(
        world.url,
        "identity_mismatch",
        _infuse(world, world.patient, "LOT-1", wristband_code="SAP-002"),
    )
    assert_refused(
        world.url, "identity_mismatch", _infuse(world, world.patient, "LOT-1", label_code="LOT-9")
    )


def test_two_different_persons_confirm(world):
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-1")
    assert_refused(
        world.url,
        "second_person_required",
        _infuse(world, world.patient, "LOT-1", second="investigator"),
    )
    assert_refused(
        world.url,
        "authentication_failed",
        _infuse(world, world.patient, "LOT-1", second_password="wrong-password"),
    )


def test_second_person_answer_reveals_no_names_or_roles(world):
    """An account of another site, a role that may not confirm and a name nobody has are
    refused with the same words: the answer tells nothing about other sites' accounts."""
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-1")
    answers = {}
    for name in ("kus_investigator", "monitor", "no-such-user"):
        r = assert_refused(
            world.url, "invalid_second_person", _infuse(world, world.patient, "LOT-1", second=name)
        )
        assert r.context["field"] == "second_username"
        answers[name] = r.message.replace(repr(name), "NAME")
    assert len(set(answers.values())) == 1, answers
    assert "monitor" not in answers["monitor"] and "KUS" not in answers["kus_investigator"]


def test_chain_of_identity_is_checked_before_any_password(world):
    """A wrong scan is refused for the scan whether or not the passwords are right, so the
    refusal cannot serve to test passwords (and no password is checked or counted)."""
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-1")
    for second_password in ("wrong-password", PASSWORD):
        assert_refused(
            world.url,
            "identity_mismatch",
            _infuse(
                world,
                world.patient,
                "LOT-1",
                wristband_code="SAP-002",
                second_password=second_password,
            ),
        )
    with db.session_scope(world.url) as s:
        assert world.user(s, "cell_processing").failed_logins == 0


def test_wrong_signing_passwords_count_toward_lockout(world):
    from cordtrial.store.lockout import MAX_FAILED_LOGINS

    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-1")
    for _ in range(MAX_FAILED_LOGINS):
        assert_refused(
            world.url,
            "authentication_failed",
            _infuse(world, world.patient, "LOT-1", second_password="wrong-password"),
        )
    with db.session_scope(world.url) as s:
        assert world.user(s, "cell_processing").locked_until is not None
    # locked: even the right password is refused now, as at the login form
    assert_refused(world.url, "account_locked", _infuse(world, world.patient, "LOT-1"))


def test_bad_input_names_field_value_and_allowed(world):
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-1")
    r = assert_refused(
        world.url, "invalid_input", _infuse(world, world.patient, "LOT-1", diluent_volume_ml=10.0)
    )
    assert r.message.startswith("diluent_volume_ml: got 10.0; allowed:")
    r = assert_refused(
        world.url, "invalid_input", _infuse(world, world.patient, "LOT-1", rate_ml_per_min=2.0)
    )
    assert "rate_ml_per_min" in r.message and "0.7-1" in r.message


def test_caught_refusal_still_rolls_back_the_unit_of_work(world):
    """A caller that catches a refusal and carries on cannot commit part of the refused action."""
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-1", status="in_process")
    with db.session_scope(world.url) as s:
        patients.record_consent(
            world.user(s, "investigator"),
            s,
            world.pat(s),
            consent_date=date(2026, 1, 20),
            form_version="2.0",
        )
        lot = world.lot(s, "LOT-1")
        mf.transition(world.user(s, "cell_processing"), s, lot, "quarantine")
        try:
            mf.finish_culture(
                world.user(s, "cell_processing"),
                s,
                lot,
                cryopreserved_on=date(2026, 2, 1),
                total_viable_cells=1e8,
                volume_ml=20,
                storage_location="X",
            )
        except Refusal as r:
            assert r.code == "lot_transition"
    with db.session_scope(world.url) as s:
        assert world.lot(s, "LOT-1").status == "in_process"
        assert world.lot(s, "LOT-1").storage_location is None
        from cordtrial.store.models import Consent, RefusalLog

        assert s.scalar(select(func.count()).select_from(Consent)) == 3
        assert s.scalars(select(RefusalLog)).all()[-1].code == "lot_transition"


def test_dose_out_of_range(world):
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-1")
    r = assert_refused(
        world.url, "dose_out_of_range", _infuse(world, world.patient, "LOT-1", cells_total=0.4e8)
    )
    assert "0.5e+08" in r.message or "5e+07" in r.message
    # more than the lot holds (1.6e8 viable cells), though within the label range
    assert_refused(
        world.url,
        "dose_out_of_range",
        _infuse(world, world.patient, "LOT-1", cells_total=1.8e8, weight_kg=80.0),
    )


def test_locked_and_inactive_accounts_cannot_sign(world):
    from cordtrial.store.models import User
    from cordtrial.store.types import utcnow

    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-1")
        cp = s.scalar(select(User).where(User.username == "cell_processing"))
        cp.locked_until = utcnow() + timedelta(minutes=10)
    assert_refused(world.url, "account_locked", _infuse(world, world.patient, "LOT-1"))
    with db.session_scope(world.url) as s:
        inv = s.scalar(select(User).where(User.username == "investigator"))
        inv.active = False
    assert_refused(world.url, "account_inactive", _infuse(world, world.patient, "LOT-1"))


def test_unknown_patient_and_unamendable_record(world):
    assert_refused(
        world.url,
        "not_found",
        lambda s: patients.get_for(world.user(s, "investigator"), s, "SAP-404"),
    )

    def amend_signature(s):
        from cordtrial.store.models import Signature

        records.amend(
            world.user(s, "investigator"), s, s.scalar(select(Signature)), {"meaning": "x"}, "x"
        )

    assert_refused(world.url, "not_amendable", amend_signature)

    def amend_other_field(s):
        inj = s.scalar(select(Injury))
        records.amend(world.user(s, "investigator"), s, inj, {"patient_id": 2}, "x")

    r = assert_refused(world.url, "invalid_input", amend_other_field)
    assert r.message.startswith("field: got 'patient_id'; allowed: injury_date, level")


def test_visits_need_the_injury_first(world):
    def action(s):
        from cordtrial.store.models import Site

        inv = world.user(s, "investigator")
        p = patients.register(
            inv,
            s,
            site=s.scalar(select(Site).where(Site.code == "SAP")),
            study_code="SAP-010",
            sex=None,
            age_at_injury=50,
        )
        patients.schedule_visits(inv, s, p, planned_infusion=date(2026, 3, 1))

    assert_refused(world.url, "injury_missing", action)


def _refusal_codes_in_source() -> set[str]:
    """Every refusal code the services can raise, read from their source."""
    import ast
    from pathlib import Path

    import cordtrial.store as store

    codes = set()
    for path in Path(store.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("deny", "refuse"):
                arg = node.args[2] if len(node.args) > 2 else None
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    codes.add(arg.value)
                elif isinstance(arg, ast.JoinedStr):  # f"invalid_{...}" in corrections
                    codes |= {"invalid_exam", "invalid_instrument"}
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check":
                codes.add("invalid_input")
    return codes


def test_every_refusal_code_has_a_test():
    import re
    from pathlib import Path

    tests = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    tested = set(re.findall(r'assert_refused\(\s*[^,]+,\s*"([a-z_]+)"', tests))
    codes = _refusal_codes_in_source()
    assert len(codes) >= 20
    assert codes <= tested, f"refusals without a test: {sorted(codes - tested)}"
