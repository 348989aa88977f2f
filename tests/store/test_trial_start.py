"""Issue 13 in the store: the protocol as versioned data, records keeping their version, sites,
consent withdrawal, end of study, the eligibility signature, lots from harvest and serum."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from cordtrial.store import audit, db, signatures
from cordtrial.store.models import (
    BloodDraw,
    Eligibility,
    Injury,
    LotSerum,
    ProtocolVersion,
    Site,
)
from cordtrial.store.protocol import default_protocol
from cordtrial.store.protocol_versions import protocol_of
from cordtrial.store.services import manufacturing as mf
from cordtrial.store.services import patients, protocols, records, sites

from .conftest import PASSWORD, harvest_of, make_lot
from .helpers import assert_refused

TODAY = date.today()


def test_records_keep_the_version_in_effect_on_their_day(world, today):
    with db.session_scope(world.url) as s:
        v1 = s.scalar(select(ProtocolVersion))
        assert v1.number == 1 and v1.effective_from is None  # stored with the first record
        assert {i.protocol_version for i in s.scalars(select(Injury))} == {1}
        admin = world.user(s, "admin")
        admin.site_id = None  # the protocol is the whole trial's
        amended = default_protocol().model_copy(update={"lot_shelf_life_days": 30})
        protocols.amend(admin, s, amended, effective_from=today, summary="shorter shelf life")
    with db.session_scope(world.url) as s:
        inv = world.user(s, "investigator")
        draw = mf.record_blood_draw(
            inv, s, world.pat(s), drawn_on=today, volume_ml=100, operator="N"
        )
        assert draw.protocol_version == 2
        early = mf.record_blood_draw(
            inv, s, world.pat(s), drawn_on=world.injury_date + timedelta(days=15), volume_ml=100, operator="N"
        )  # fmt: skip
        assert early.protocol_version == 1
        # a correction of the day moves the record to the version of its new day
        records.amend(inv, s, early, {"drawn_on": today.isoformat()}, "date misread")
        assert early.protocol_version == 2
        assert protocol_of(s, early).lot_shelf_life_days == 30
        assert audit.verify(s).ok


def test_a_version_records_were_collected_under_is_frozen(world):
    def edit(s):
        admin = world.user(s, "admin")
        admin.site_id = None
        protocols.edit_version(admin, s, 1, default_protocol(), "change it")

    r = assert_refused(world.url, "protocol_in_use", edit)
    assert "amendment" in r.message


def test_version_1_is_editable_before_the_first_enrolment(db_url):
    with db.session_scope(db_url) as s:
        from cordtrial.store.services import users

        admin = users.create_user(
            None, s, username="a", display_name="Admin A", role="admin", site=None,
            password="a-long-password-1",
        )  # fmt: skip
        info = protocols.versions(admin, s)
        assert [(v.number, v.stored, v.editable) for v in info] == [(1, False, True)]
        edited = default_protocol().model_copy(update={"max_days_injury_to_infusion": 60})
        protocols.edit_version(admin, s, 1, edited, "our protocol allows 60 days")
        site = sites.create_site(admin, s, code="KOB", name="Kobe", time_zone="Asia/Tokyo")
        inv = users.create_user(
            admin, s, username="i", display_name="Inv I", role="investigator", site=site,
            password="b-long-password-1",
        )  # fmt: skip
        p = patients.register(inv, s, site=site, study_code=None, sex="F", age_at_injury=30)
        assert p.study_code == "KOB-001" and p.protocol_version == 1
        assert protocols.versions(admin, s)[0].protocol.max_days_injury_to_infusion == 60
        assert not protocols.versions(admin, s)[0].editable


def test_site_rules(db_url):
    with db.session_scope(db_url) as s:
        from cordtrial.store.services import users

        admin = users.create_user(
            None, s, username="a", display_name="Admin A", role="admin", site=None,
            password="a-long-password-1",
        )  # fmt: skip
        sites.create_site(admin, s, code="KOB", name="Kobe", time_zone="Asia/Tokyo")
    assert_refused(
        db_url,
        "invalid_input",
        lambda s: sites.create_site(
            s.scalar(select(Site.id)) and _admin(s), s, code="KOB", name="again", time_zone="UTC"
        ),
    )
    assert_refused(
        db_url,
        "invalid_input",
        lambda s: sites.update_site(
            _admin(s), s, s.scalar(select(Site)), time_zone="Europe/Atlantis"
        ),
    )


def _admin(s):
    from cordtrial.store.models import User

    return s.scalar(select(User).where(User.username == "a"))


def test_withdrawal_ends_the_study_and_blocks_later_records(world):
    with db.session_scope(world.url) as s:
        inv = world.user(s, "investigator")
        p = world.pat(s)
        day = world.injury_date + timedelta(days=30)
        patients.withdraw_consent(inv, s, p, withdrawn_on=day, use="data_only", reason="moving")
        assert (p.ended_on, p.end_reason, p.status) == (day, "consent_withdrawn", "withdrawn")
        assert not patients.has_consent_and_eligibility(s, p, day)
        assert patients.has_consent_and_eligibility(s, p, day - timedelta(days=1))

    def later_draw(s):
        mf.record_blood_draw(
            world.user(s, "investigator"),
            s,
            world.pat(s),
            drawn_on=world.injury_date + timedelta(days=31),
            volume_ml=100,
            operator="N",
        )

    r = assert_refused(world.url, "invalid_input", later_draw)
    assert "end of study" in r.message


def test_eligibility_is_signed_and_a_change_shows_it(world):
    with db.session_scope(world.url) as s:
        row = s.scalar(select(Eligibility))
        assert [st.valid for st in signatures.status(s, row)] == [True]
        records.amend(
            world.user(s, "investigator"),
            s,
            row,
            {"assessed_on": row.assessed_on - timedelta(days=1)},
            "day on the source document",
        )
        assert row.eligible is True
        assert [st.valid for st in signatures.status(s, row)] == [False]

    def not_eligible_after_raw_material(s):
        # the world's patient has given blood and marrow under this decision
        row = s.scalar(select(Eligibility))
        records.amend(
            world.user(s, "investigator"),
            s,
            row,
            {"criteria": {**row.criteria, "hypercoagulability": True}},
            "lab result",
        )

    assert_refused(world.url, "invalid_input", not_eligible_after_raw_material)

    def unsigned(s):
        patients.record_eligibility(
            world.user(s, "investigator"),
            s,
            world.pat(s),
            assessed_on=world.injury_date + timedelta(days=8),
            criteria=dict(s.scalar(select(Eligibility)).criteria),
            password="not-the-password",
        )

    assert_refused(world.url, "authentication_failed", unsigned)


def test_a_lot_keeps_its_serum_and_is_checked_for_days(world):
    with db.session_scope(world.url) as s:
        lot = make_lot(world, s, "LOT-S", status="in_process")
        serum = s.scalars(select(LotSerum).where(LotSerum.lot_id == lot.id)).all()
        assert len(serum) == 2
        assert [d.patient_id for d in mf.serum_of(s, lot)] == [lot.patient_id] * 2
        assert mf.next_lot_number(s, world.pat(s)) == f"{world.patient}-L1"

    def before_serum(s):
        p = world.pat(s)
        draws = list(s.scalars(select(BloodDraw).where(BloodDraw.patient_id == p.id)))
        mf.create_lot(
            world.user(s, "cell_processing"),
            s,
            p,
            lot_number="LOT-EARLY",
            harvest=harvest_of(s, p),
            serum=draws,
            culture_started_on=world.injury_date + timedelta(days=15),  # before draw 2 and harvest
        )

    r = assert_refused(world.url, "invalid_input", before_serum)
    assert r.context["field"] == "culture_started_on"


def test_release_day_is_the_event_day(world):
    with db.session_scope(world.url) as s:
        lot = make_lot(world, s, "LOT-R", status="quarantine")
        lot_id = lot.id

    def too_early(s):
        mf.release_lot(
            world.user(s, "qa"),
            s,
            s.get(mf.Lot, lot_id),
            password=PASSWORD,
            today=TODAY,
            released_on=world.injury_date + timedelta(days=30),  # before the tests (day 37)
        )

    r = assert_refused(world.url, "invalid_input", too_early)
    assert r.context["field"] == "released_on"
    with db.session_scope(world.url) as s:
        assert s.scalar(select(func.count()).select_from(LotSerum)) == 2
