"""Administration: organisations, staff accounts and roles. Roles are read on every request, so a
revoked right takes effect on the next one; deactivating an account ends its sessions.

An administrator manages the staff of their own organisation only: another organisation's staff id
answers 404. The first administrator of a new organisation is made with `kotopolku create-admin`."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.db.organisation import Organisation, OrganisationType, Role, Staff
from app.domain import audit, auth, passkeys, recovery_codes, totp
from app.domain import staff as staff_service
from app.domain.audit import Action
from app.domain.forms import FormErrors, choice, email_field, text
from app.domain.policy import Actor, Permission
from app.i18n import _
from app.settings import Settings
from app.web import current, requires, staff_guard

GUARDS = [staff_guard, requires(Permission.STAFF_MANAGE)]


async def _own_organisation(db: AsyncSession, actor: Actor) -> Organisation:
    organisation = await db.get(Organisation, actor.organisation_id)
    assert organisation is not None  # staff rows reference their organisation
    return organisation


async def _organisations(db: AsyncSession) -> list[Organisation]:
    return list((await db.scalars(select(Organisation).order_by(Organisation.name))).all())


def _roles_from(form: Any) -> list[Role]:
    roles = []
    for value in form.getall("roles", []):
        try:
            roles.append(Role(value))
        except ValueError:
            continue
    return roles


async def _staff_list(db: AsyncSession, actor: Actor, status: int = 200, **context: Any) -> Template:
    people = (
        await db.scalars(
            select(Staff)
            .options(selectinload(Staff.roles))
            .where(Staff.organisation_id == actor.organisation_id)
            .order_by(Staff.active.desc(), Staff.full_name)
        )
    ).all()
    context.setdefault("errors", FormErrors())
    return Template(
        "officer/admin/staff_list.html",
        context={"people": people, "actor": actor, **context},
        status_code=status,
    )


@get("/admin/staff")
async def staff_list(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template:
    return await _staff_list(db_session, actor, done=request.query_params.get("done"))


@post("/admin/staff/sign-out-everyone")
async def sign_out_everyone(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor
) -> Template | Redirect:
    """Every session of the organisation's staff ends, the administrator's own excepted (ASVS 7.4.5): after a
    suspected breach, say. Asks for an explicit confirmation; audited with how the count was taken, no ids."""
    if (await request.form()).get("confirm") != "on":
        errors = FormErrors(confirm=_("Tick the box to confirm that everyone must sign in again."))
        return await _staff_list(db_session, actor, 422, errors=errors)
    await auth.end_organisation_sessions(db_session, actor.organisation_id, keep=current(request).session)
    await audit.record(
        db_session,
        Action.SIGN_OUT,
        actor=actor,
        object_type="organisation",
        object_id=actor.organisation_id,
        fields=["sessions"],
    )
    return Redirect("/officer/admin/staff?done=signed-out", status_code=303)


def _staff_form(status: int = 200, **context: Any) -> Template:
    context.setdefault("errors", FormErrors())
    return Template(
        "officer/admin/staff_form.html",
        context={**context, "all_roles": staff_service.ROLES_BY_ORGANISATION[context["organisation"].type]},
        status_code=status,
    )


@get("/admin/staff/new")
async def new_staff(db_session: AsyncSession, actor: Actor) -> Template:
    organisation = await _own_organisation(db_session, actor)
    return _staff_form(form={}, roles=[], person=None, organisation=organisation, actor=actor)


@post("/admin/staff")
async def create_staff(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, settings: Settings
) -> Template:
    form = await request.form()
    data = {k: form.get(k) for k in form}
    roles = _roles_from(form)
    errors = FormErrors()
    email = email_field(data, "email", errors)
    if not email and "email" not in errors:
        errors["email"] = _("Enter the e-mail address the person signs in with.")
    elif email and await staff_service.email_taken(db_session, email):
        errors["email"] = _("Someone already signs in with this e-mail address.")
    full_name = text(data, "full_name", 200, errors)
    if not full_name:
        errors["full_name"] = _("Enter the person's name.")
    organisation = await _own_organisation(db_session, actor)
    if data.get("organisation_id") not in (None, "", str(organisation.id)):
        errors["roles"] = _("You can add staff only to your own organisation.")
    elif not roles:
        errors["roles"] = _("Choose at least one role.")
    elif not set(roles) <= set(staff_service.ROLES_BY_ORGANISATION[organisation.type]):
        errors["roles"] = _("Some of these roles are not available in this organisation.")
    if errors or not email or not full_name:
        return _staff_form(
            422, form=data, roles=roles, person=None, errors=errors, organisation=organisation, actor=actor
        )
    password = staff_service.generate_password()
    person = await staff_service.create_staff(
        db_session,
        settings,
        organisation=organisation,
        email=email,
        full_name=full_name,
        roles=roles,
        password=password,
        actor=actor,
        password_must_change=True,
    )
    return Template(
        "officer/admin/staff_created.html", context={"person": person, "password": password, "actor": actor}
    )


async def _person(db: AsyncSession, actor: Actor, staff_id: uuid.UUID) -> Staff:
    person = await db.scalar(
        select(Staff)
        .options(selectinload(Staff.roles))
        .where(Staff.id == staff_id, Staff.organisation_id == actor.organisation_id)
    )
    if person is None:
        raise NotFoundException
    return person


@get("/admin/staff/{staff_id:uuid}")
async def edit_staff(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, staff_id: uuid.UUID
) -> Template:
    person = await _person(db_session, actor, staff_id)
    return _staff_form(
        done=request.query_params.get("done"),
        form={"full_name": person.full_name, "email": person.email, "version": person.version},
        roles=sorted(person.role_set),
        person=person,
        organisation=person.organisation,
        actor=actor,
    )


@post("/admin/staff/{staff_id:uuid}")
async def update_staff(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, staff_id: uuid.UUID
) -> Template | Redirect:
    person = await _person(db_session, actor, staff_id)
    form = await request.form()
    data = {k: form.get(k) for k in form}
    roles = _roles_from(form)
    errors = FormErrors()
    full_name = text(data, "full_name", 200, errors)
    if not full_name:
        errors["full_name"] = _("Enter the person's name.")
    if not roles:
        errors["roles"] = _("Choose at least one role.")
    elif not set(roles) <= set(staff_service.ROLES_BY_ORGANISATION[person.organisation.type]):
        errors["roles"] = _("Some of these roles are not available in this organisation.")
    elif person.id == actor.staff_id and Role.ADMINISTRATOR not in roles:
        errors["roles"] = _("You cannot remove your own administrator role.")
    if str(person.version) != str(data.get("version")):
        errors["version"] = _(
            "Someone else saved changes to this person after you opened the page. Check the details and try again."
        )
        data["version"] = person.version
    if errors or not full_name:
        return _staff_form(
            409 if "version" in errors else 422,
            form=data,
            roles=roles,
            person=person,
            errors=errors,
            organisation=person.organisation,
            actor=actor,
        )
    if person.full_name != full_name:
        person.full_name = full_name
        await audit.record(
            db_session,
            Action.UPDATE,
            actor=actor,
            object_type="staff",
            object_id=person.id,
            fields=["full_name"],
        )
    await staff_service.set_roles(db_session, actor, person, roles)
    return Redirect("/officer/admin/staff", status_code=303)


@post("/admin/staff/{staff_id:uuid}/deactivate")
async def deactivate_staff(db_session: AsyncSession, actor: Actor, staff_id: uuid.UUID) -> Redirect:
    person = await _person(db_session, actor, staff_id)
    if person.id != actor.staff_id and person.active:
        await auth.deactivate(db_session, person)
        await audit.record(
            db_session,
            Action.UPDATE,
            actor=actor,
            object_type="staff",
            object_id=person.id,
            fields=["active"],
        )
    return Redirect("/officer/admin/staff", status_code=303)


@post("/admin/staff/{staff_id:uuid}/sign-out")
async def sign_out_person(db_session: AsyncSession, actor: Actor, staff_id: uuid.UUID) -> Redirect:
    """Every session of one person ends, nothing else changes (a device left signed in, say; ASVS 7.4.5)."""
    person = await _person(db_session, actor, staff_id)
    await auth.end_all_sessions(db_session, person.id)
    await audit.record(
        db_session,
        Action.SIGN_OUT,
        actor=actor,
        object_type="staff",
        object_id=person.id,
        fields=["sessions"],
    )
    return Redirect(f"/officer/admin/staff/{person.id}?done=signed-out", status_code=303)


@post("/admin/staff/{staff_id:uuid}/reset-password")
async def reset_password(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, settings: Settings, staff_id: uuid.UUID
) -> Template:
    """A new one-time password; every session ends, the authenticator app and the recovery codes are removed (a
    lost phone is the usual reason), and the passkeys too when the administrator chooses so (a lost or stolen
    device). The audit event names what was removed."""
    form = await request.form()
    person = await _person(db_session, actor, staff_id)
    password = staff_service.generate_password()
    person.password_hash = auth.hash_password(settings, password)
    person.password_must_change = True
    person.active = True
    person.deactivated_at = None
    await auth.end_all_sessions(db_session, person.id)
    fields = ["password"]
    if await totp.remove(db_session, person.id):
        fields.append("totp")
    if await recovery_codes.remove_all(db_session, person.id):
        fields.append("recovery_codes")
    if form.get("remove_passkeys") == "on" and await passkeys.remove_all(db_session, person.id):
        fields.append("passkeys")
    await audit.record(
        db_session, Action.UPDATE, actor=actor, object_type="staff", object_id=person.id, fields=fields
    )
    return Template(
        "officer/admin/staff_created.html", context={"person": person, "password": password, "actor": actor}
    )


@get("/admin/organisations")
async def organisations(db_session: AsyncSession, actor: Actor) -> Template:
    return Template(
        "officer/admin/organisations.html",
        context={
            "organisations": await _organisations(db_session),
            "org_type_enum": OrganisationType,
            "form": {},
            "errors": FormErrors(),
            "actor": actor,
        },
    )


@post("/admin/organisations")
async def create_organisation(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor
) -> Template | Redirect:
    data = dict((await request.form()).items())
    errors = FormErrors()
    name = text(data, "name", 200, errors)
    kind = choice(data, "type", OrganisationType, errors)
    code = text(data, "code", 20, errors)
    if not name:
        errors["name"] = _("Enter the organisation's name.")
    elif await staff_service.organisation_by_name(db_session, name):
        errors["name"] = _("An organisation with this name exists already.")
    if errors or not name or kind is None:
        return Template(
            "officer/admin/organisations.html",
            status_code=422,
            context={
                "organisations": await _organisations(db_session),
                "org_type_enum": OrganisationType,
                "form": data,
                "errors": errors,
                "actor": actor,
            },
        )
    organisation = Organisation(name=name, type=kind, code=code)
    db_session.add(organisation)
    await db_session.flush()
    await audit.record(
        db_session,
        Action.CREATE,
        actor=actor,
        object_type="organisation",
        object_id=organisation.id,
        fields=["name", "type", "code"],
    )
    return Redirect("/officer/admin/organisations", status_code=303)


router = Router(
    include_in_schema=False,  # pages, not an API
    path="/officer",
    guards=GUARDS,
    route_handlers=[
        staff_list,
        new_staff,
        create_staff,
        edit_staff,
        update_staff,
        deactivate_staff,
        sign_out_person,
        sign_out_everyone,
        reset_password,
        organisations,
        create_organisation,
    ],
)
