"""Administration: staff, roles, organisations, and the first administrator from the command line."""

import re
import subprocess
import sys

from sqlalchemy import select

from app.db.auth import StaffSession
from app.db.organisation import Organisation, OrganisationType, Role, Staff
from tests.conftest import post, sign_in


def test_first_administrator_from_the_command_line(client, database_url, db):
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "create-admin", "--email", "Admin@Esimerkkila.fi", "--name", "Pia Pääkäyttäjä",
         "--organisation", "Esimerkkilän kaupunki"],
        env={"DATABASE_URL": database_url, "KOTOPOLKU_PASSWORD": "a long enough password", "PATH": "/usr/bin:/bin",
             "SECRET_KEY": "x", "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "1024"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    admin = db.scalar(select(Staff).where(Staff.email == "admin@esimerkkila.fi"))
    assert admin.role_set == {Role.ADMINISTRATOR}
    response = post(
        client, "/officer/sign-in", {"email": "admin@esimerkkila.fi", "password": "a long enough password"}
    )
    assert response.status_code == 302


def test_administrator_creates_staff_who_can_sign_in(client, factory, db):
    city = factory.organisation()
    admin = factory.staff(city, Role.ADMINISTRATOR)
    sign_in(client, admin)
    response = post(client, "/officer/admin/staff", [
        ("full_name", "Aino Virtanen"), ("email", "aino@example.fi"), ("organisation_id", str(city.id)),
        ("roles", "integration_officer"), ("roles", "manager"),
    ])  # fmt: skip
    assert response.status_code == 200
    password = re.search(r"<code>([^<]+)</code>", response.text).group(1)
    person = db.scalar(select(Staff).where(Staff.email == "aino@example.fi"))
    assert person.role_set == {Role.INTEGRATION_OFFICER, Role.MANAGER}
    client.cookies.clear()
    sign_in(client, person, password=password)


def test_roles_must_fit_the_organisation(client, factory, db):
    county = factory.organisation(type=OrganisationType.WELLBEING_COUNTY)
    admin = factory.staff(county, Role.ADMINISTRATOR)
    sign_in(client, admin)
    response = post(client, "/officer/admin/staff", [
        ("full_name", "Sari Niemi"), ("email", "sari@example.fi"), ("roles", "integration_officer"),
    ])  # fmt: skip
    assert response.status_code == 422
    assert 'value="Sari Niemi"' in response.text  # nothing typed is lost
    assert db.scalar(select(Staff).where(Staff.email == "sari@example.fi")) is None


def test_staff_are_added_only_to_the_administrators_own_organisation(client, factory, db):
    city = factory.organisation()
    other = factory.organisation()
    admin = factory.staff(city, Role.ADMINISTRATOR)
    sign_in(client, admin)
    response = post(client, "/officer/admin/staff", [
        ("full_name", "Eeva"), ("email", "eeva@example.fi"), ("organisation_id", str(other.id)),
        ("roles", "integration_officer"),
    ])  # fmt: skip
    assert response.status_code == 422
    assert db.scalar(select(Staff).where(Staff.email == "eeva@example.fi")) is None
    mine = post(
        client,
        "/officer/admin/staff",
        [("full_name", "Eeva"), ("email", "eeva@example.fi"), ("roles", "integration_officer")],
    )
    assert mine.status_code == 200
    assert db.scalar(select(Staff).where(Staff.email == "eeva@example.fi")).organisation_id == city.id


def test_revoking_a_role_in_the_back_office_takes_effect_at_once(client, factory, db):
    city = factory.organisation()
    admin = factory.staff(city, Role.ADMINISTRATOR)
    officer = factory.staff(city, Role.INTEGRATION_OFFICER, Role.MANAGER)
    sign_in(client, officer)
    officer_cookie = client.cookies.get("kp_session")
    assert client.get("/officer/audit").status_code == 200

    client.cookies.clear()
    sign_in(client, admin)
    edit = client.get(f"/officer/admin/staff/{officer.id}").text
    version = re.search(r'name="version" value="(\d+)"', edit).group(1)
    saved = post(
        client,
        f"/officer/admin/staff/{officer.id}",
        [("full_name", officer.full_name), ("roles", "integration_officer"), ("version", version)],
    )
    assert saved.status_code == 303

    client.cookies.clear()
    client.cookies.set("kp_session", officer_cookie)
    assert client.get("/officer/audit").status_code == 403
    assert client.get("/officer/clients").status_code == 200


def test_deactivating_ends_the_persons_sessions(client, factory, db):
    city = factory.organisation()
    admin = factory.staff(city, Role.ADMINISTRATOR)
    officer = factory.staff(city, Role.INTEGRATION_OFFICER)
    sign_in(client, officer)
    client.cookies.clear()
    sign_in(client, admin)
    assert post(client, f"/officer/admin/staff/{officer.id}/deactivate").status_code == 303
    assert db.scalar(select(StaffSession).where(StaffSession.staff_id == officer.id)) is None


def test_administrators_see_no_client_data(client, factory, db):
    city = factory.organisation()
    admin = factory.staff(city, Role.ADMINISTRATOR)
    record = factory.client(city)
    sign_in(client, admin)
    assert client.get("/officer/clients").status_code == 403
    assert client.get(f"/officer/clients/{record.id}").status_code == 403
    assert "/officer/clients" not in client.get("/officer/").text


def test_organisations_are_added_with_a_type(client, factory, db):
    admin = factory.staff(factory.organisation(), Role.ADMINISTRATOR)
    sign_in(client, admin)
    assert (
        post(
            client, "/officer/admin/organisations", {"name": "Sana Oy", "type": "service_provider"}
        ).status_code
        == 303
    )
    assert (
        db.scalar(select(Organisation).where(Organisation.name == "Sana Oy")).type
        == OrganisationType.SERVICE_PROVIDER
    )
    duplicate = post(client, "/officer/admin/organisations", {"name": "Sana Oy", "type": "municipality"})
    assert duplicate.status_code == 422


def test_a_given_password_must_be_replaced_before_anything_else(client, factory, db, settings):
    """ASVS 6.4.1: the password an administrator gives (a new account or a reset) is not a long-term one."""
    client.headers["Accept-Language"] = "en"
    city = factory.organisation()
    admin = factory.staff(city, Role.ADMINISTRATOR)
    sign_in(client, admin)
    created = post(client, "/officer/admin/staff", [
        ("full_name", "Aino Virtanen"), ("email", "aino@example.fi"), ("roles", "integration_officer"),
    ])  # fmt: skip
    given = re.search(r"<code>([^<]+)</code>", created.text).group(1)
    person = db.scalar(select(Staff).where(Staff.email == "aino@example.fi"))
    client.cookies.clear()
    sign_in(client, person, password=given)

    for path in ("/officer/", "/officer/clients"):
        response = client.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/officer/profile#password")
    htmx = client.get("/officer/clients", headers={"hx-request": "true"}, follow_redirects=False)
    assert htmx.headers["hx-redirect"] == "/officer/profile#password"
    assert "Choose your password below before you continue." in client.get("/officer/profile").text

    own = "lantern orchard velvet compass"
    changed = post(client, "/officer/profile/password", {
        "current_password": given, "new_password": own, "new_password_again": own,
    })  # fmt: skip
    assert changed.status_code == 303
    assert client.get("/officer/clients", follow_redirects=False).status_code == 200
    assert "Choose your password below" not in client.get("/officer/profile").text

    # A reset gives another one-time password.
    client.cookies.clear()
    sign_in(client, admin)
    reset = post(client, f"/officer/admin/staff/{person.id}/reset-password")
    again = re.search(r"<code>([^<]+)</code>", reset.text).group(1)
    client.cookies.clear()
    sign_in(client, person, password=again)
    assert (
        client.get("/officer/clients", follow_redirects=False).headers["location"]
        == "/officer/profile#password"
    )


def test_an_administrator_signs_a_person_out_everywhere_and_everyone_on_request(
    client, factory, db, settings
):
    """ASVS 7.4.5: one person's sessions (a computer left signed in) or everyone's in the organisation but
    the administrator's own (a suspected break-in), nothing else changed; another organisation untouched."""
    from app.db.audit import AuditEvent
    from app.main import create_app
    from tests.conftest import BASE_URL, AppTestClient

    home = factory.organisation()
    admin = factory.staff(home, Role.ADMINISTRATOR)
    officer = factory.staff(home, Role.INTEGRATION_OFFICER)
    colleague = factory.staff(home, Role.MANAGER)
    outsider = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, admin)
    with (
        AppTestClient(create_app(settings), base_url=BASE_URL) as officers_pc,
        AppTestClient(create_app(settings), base_url=BASE_URL) as colleagues_pc,
        AppTestClient(create_app(settings), base_url=BASE_URL) as outsiders_pc,
    ):
        for browser, person in ((officers_pc, officer), (colleagues_pc, colleague), (outsiders_pc, outsider)):
            sign_in(browser, person)

        def signed_in(browser):
            return browser.get("/officer/", follow_redirects=False).status_code == 200

        done = post(client, f"/officer/admin/staff/{officer.id}/sign-out")
        assert done.status_code == 303 and done.headers["location"].endswith("?done=signed-out")
        assert not signed_in(officers_pc) and signed_in(colleagues_pc)
        sign_in(officers_pc, officer)  # the password still works: only the sessions ended
        assert signed_in(officers_pc)
        assert post(client, f"/officer/admin/staff/{outsider.id}/sign-out").status_code == 404

        refused = post(client, "/officer/admin/staff/sign-out-everyone?lang=en")
        assert refused.status_code == 422 and "Tick the box" in refused.text
        assert signed_in(officers_pc) and signed_in(colleagues_pc)
        everyone = post(client, "/officer/admin/staff/sign-out-everyone", {"confirm": "on"})
        assert everyone.status_code == 303
        assert not signed_in(officers_pc) and not signed_in(colleagues_pc)
        assert signed_in(client) and signed_in(outsiders_pc)
    events = db.execute(
        select(AuditEvent.object_type, AuditEvent.fields).where(
            AuditEvent.action == "sign_out", AuditEvent.actor_id == admin.id
        )
    ).all()
    assert sorted(events) == [("organisation", ["sessions"]), ("staff", ["sessions"])]
