"""Officers' recovery codes (ASVS 6.5.1–6.5.3): ten single-use codes for the second step of a password
sign-in when the app or passkey is lost; created on the profile after the password, shown once, stored only
as keyed hashes, used once (also when two requests race), wrong ones counted and audit-logged."""

import asyncio
import re

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.db.audit import AuditEvent
from app.db.auth import Passkey, SignInFailure, StaffRecoveryCode, StaffSession
from app.db.base import utcnow
from app.db.engine import make_engine
from app.db.organisation import Role
from app.domain import recovery_codes
from tests.conftest import PASSWORD, post, sign_in
from tests.integration.test_passkeys import register
from tests.soft_authenticator import SoftAuthenticator

CODE = re.compile(r'<li><code dir="ltr">([2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5})</code></li>')


@pytest.fixture
def officer(client, factory):
    """An officer with a passkey, signed in (in English, for the texts)."""
    client.headers["Accept-Language"] = "en"
    person = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    assert register(client, SoftAuthenticator(origin="http://testserver.local", rp_id="testserver.local"))
    return person


def create_codes(client) -> list[str]:
    created = post(client, "/officer/profile/recovery-codes", {"recovery_password": PASSWORD})
    assert created.status_code == 200, created.text
    assert "These codes are shown only now." in created.text
    return CODE.findall(created.text)


def second_step(client, person):
    """Sign out, and sign in again with the password: the session waits for the second step."""
    post(client, "/officer/sign-out")
    answer = post(client, "/officer/sign-in", {"email": person.email, "password": PASSWORD})
    assert answer.headers["location"].startswith("/officer/sign-in/code")


def use(client, code):
    return post(client, "/officer/sign-in/recovery-code", {"recovery_code": code, "next": "/officer/clients"})


def test_ten_codes_shown_once_and_stored_only_as_salted_password_hashes(client, officer, db):
    codes = create_codes(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    rows = db.scalars(select(StaffRecoveryCode)).all()
    assert len(rows) == 10 and {r.staff_id for r in rows} == {officer.id}
    stored = " ".join(f"{r.code_hash} {r.created_at} {r.used_at}" for r in rows)
    # argon2id with a salt of its own per code (ASVS 6.5.2: lookup secrets under 112 bits).
    assert all(r.code_hash.startswith("$argon2id$") for r in rows)
    assert len({r.code_hash.split("$")[4] for r in rows}) == 10
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored
        assert code.replace("-", "").lower() not in stored
    profile = client.get("/officer/profile").text
    assert "You have 10 unused recovery codes." in profile
    assert not [code for code in codes if code in profile], "shown only on the answer to creating them"
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "update")).all()
    assert [(e.actor_id, e.object_id) for e in events if e.fields == ["recovery_codes"]] == [
        (officer.id, str(officer.id))
    ]


def test_creating_codes_needs_the_password_and_a_factor_to_back_up(client, factory, officer, db):
    refused = post(client, "/officer/profile/recovery-codes", {"recovery_password": "not the password"})
    assert refused.status_code == 422 and "The password is wrong." in refused.text
    assert 'href="#recovery_password"' in refused.text, "the error summary links to the field"
    assert db.scalar(select(StaffRecoveryCode)) is None
    assert db.scalars(select(SignInFailure)).all(), "a wrong password is counted"

    newcomer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)  # no app, no passkey
    client.cookies.clear()
    sign_in(client, newcomer)
    assert "Set up an authenticator app or add a passkey first" in client.get("/officer/profile").text
    refused = post(client, "/officer/profile/recovery-codes", {"recovery_password": PASSWORD})
    assert refused.status_code == 422 and "recovery codes are their back-up" in refused.text
    assert db.scalar(select(StaffRecoveryCode)) is None


def test_a_recovery_code_signs_in_once(client, officer, db):
    codes = create_codes(client)
    second_step(client, officer)
    page = client.get("/officer/sign-in/code").text
    assert 'action="/officer/sign-in/recovery-code"' in page and 'for="recovery_code"' in page

    typed = codes[3].replace("-", " ").lower()  # any case, spaces for the hyphen
    signed_in = use(client, typed)
    assert signed_in.status_code == 302
    assert signed_in.headers["location"] == "/officer/profile?done=recovery#recovery-codes"
    assert db.scalar(select(StaffSession.method)) == "password+recovery"
    profile = client.get(signed_in.headers["location"]).text
    assert "You signed in with a recovery code. You have 9 unused codes left." in profile
    assert "set up the authenticator app again or add a new passkey" in profile
    assert client.get("/officer/clients", follow_redirects=False).status_code == 200
    sign_ins = db.scalars(
        select(AuditEvent.fields).where(AuditEvent.action == "sign_in", AuditEvent.actor_id == officer.id)
    ).all()
    assert ["password+recovery"] in sign_ins

    second_step(client, officer)
    again = use(client, codes[3])
    assert again.status_code == 422
    assert "The recovery code is wrong or was used already." in again.text
    assert (
        'aria-invalid="true"' in again.text and 'value=""' in again.text.split('id="recovery_code"')[1][:200]
    )
    failed = db.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in_failed")).one()
    assert (failed.actor_id, failed.fields) == (officer.id, ["recovery_code"])
    assert use(client, codes[4]).status_code == 302, "the others still work"


def test_wrong_recovery_codes_count_towards_the_sign_in_limit(client, officer, db, settings):
    codes = create_codes(client)
    second_step(client, officer)
    for attempt in range(settings.sign_in_max_failures_per_account):
        wrong = use(client, "ABCDE-FGHJK" if attempt % 2 else "not a code")
        assert wrong.status_code == 422
    limited = use(client, codes[0])
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert "Too many failed sign-in attempts" in limited.text
    assert db.scalar(select(StaffSession.method)) == "pending-totp"
    failed = db.scalars(select(AuditEvent.fields).where(AuditEvent.action == "sign_in_failed")).all()
    assert failed == [["recovery_code"]] * settings.sign_in_max_failures_per_account
    everything = " ".join(str(e.__dict__) for e in db.scalars(select(AuditEvent)).all())
    assert "ABCDE" not in everything and "not a code" not in everything, "never the value"
    db.expire_all()
    assert db.scalar(select(StaffRecoveryCode).where(StaffRecoveryCode.used_at.is_not(None))) is None


def test_new_codes_replace_the_old_ones(client, officer, db):
    old = create_codes(client)
    refused = post(client, "/officer/profile/recovery-codes", {"recovery_password": "wrong"})
    assert refused.status_code == 422
    new = create_codes(client)
    assert not set(old) & set(new)
    assert len(db.scalars(select(StaffRecoveryCode)).all()) == 10
    second_step(client, officer)
    assert use(client, old[0]).status_code == 422
    assert use(client, new[0]).status_code == 302


def test_few_codes_left_are_warned_of(client, officer, db):
    create_codes(client)
    ids = db.scalars(select(StaffRecoveryCode.id)).all()
    db.execute(update(StaffRecoveryCode).where(StaffRecoveryCode.id.in_(ids[:8])).values(used_at=utcnow()))
    db.commit()
    assert "Only 2 unused recovery codes are left. Create new ones." in client.get("/officer/profile").text
    db.execute(update(StaffRecoveryCode).values(used_at=utcnow()))
    db.commit()
    assert "You have no unused recovery codes left." in client.get("/officer/profile").text


def test_recovery_codes_alone_are_still_a_second_step(client, officer, db):
    """Removing the passkey leaves the codes: the password alone is still not enough."""
    codes = create_codes(client)
    key_id = db.scalar(select(Passkey.id))
    removed = post(
        client, "/officer/profile/passkeys/remove", {"passkey": str(key_id), "passkey_password": PASSWORD}
    )
    assert removed.status_code == 303
    second_step(client, officer)
    page = client.get("/officer/sign-in/code").text
    assert "data-passkey-sign-in" not in page and 'name="code"' not in page
    assert use(client, codes[0]).status_code == 302


def test_the_offer_follows_setting_up_a_factor(client, factory):
    client.headers["Accept-Language"] = "en"
    person = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    added = register(client, SoftAuthenticator(origin="http://testserver.local", rp_id="testserver.local"))
    page = client.get(added.json()["redirect"]).text
    assert "Your passkey was added." in page and 'href="#recovery-codes"' in page
    create_codes(client)
    assert 'href="#recovery-codes"' not in client.get(added.json()["redirect"]).text


def test_an_administrators_reset_removes_the_recovery_codes(client, factory, officer, db):
    create_codes(client)
    admin = factory.staff(db.get(type(officer), officer.id).organisation, Role.ADMINISTRATOR)
    client.cookies.clear()
    sign_in(client, admin)
    assert post(client, f"/officer/admin/staff/{officer.id}/reset-password").status_code == 200
    assert db.scalar(select(StaffRecoveryCode)) is None
    fields = db.scalar(
        select(AuditEvent.fields).where(
            AuditEvent.actor_id == admin.id, AuditEvent.object_id == str(officer.id)
        )
    )
    assert fields == ["password", "recovery_codes"]


def test_two_requests_with_the_same_code_cannot_both_sign_in(settings, factory, db):
    """Two sessions of their own use each code at the same moment: exactly one succeeds. On PostgreSQL the
    second UPDATE … WHERE used_at IS NULL waits for the first's commit and then matches nothing; SQLite
    serialises writers, so there the two run one after the other (the same outcome)."""
    if not settings.database_url.startswith("postgres"):
        pytest.skip("overlapping transactions need PostgreSQL; SQLite serialises writers")
    person = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)

    async def run() -> list[tuple[bool, bool]]:
        engine = make_engine(settings, pool_size=2, max_overflow=0)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with sessions() as session, session.begin():
            codes = await recovery_codes.create(session, settings, person.id)

        async def attempt(code: str, both_ready: asyncio.Barrier) -> bool:
            async with sessions() as session, session.begin():
                await both_ready.wait()
                used = await recovery_codes.use(session, settings, person.id, code)
                await asyncio.sleep(0.05)  # hold the row while the other request tries
                return used

        try:
            results = []
            for code in codes:
                barrier = asyncio.Barrier(2)
                first, second = await asyncio.gather(attempt(code, barrier), attempt(code, barrier))
                results.append((first, second))
            return results
        finally:
            await engine.dispose()

    results = asyncio.run(run())
    assert all(sorted(pair) == [False, True] for pair in results), results
    db.expire_all()
    assert all(r.used_at is not None for r in db.scalars(select(StaffRecoveryCode)))
