"""One migrant-app client with everything the /me/ pages show, for `make audit-ui` and the /me/ browser tests.

`build(db, client, officer)` tops up what the client lacks (a synchronous
SQLAlchemy session; the caller commits): programme services with Finnish and Arabic texts, a plan in force
(goals, services, an approved version and a changed version waiting for approval, an Arabic translation
of a goal), an upcoming and a past appointment (address, interpreter, what to bring), a thread with the
officer's message and the client's reply (with a machine translation), a passkey, an open invitation and
a migrant-app session. `MeSample.values()` maps the path parameters of /me/ routes to its ids.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.db.appointment import (
    Appointment,
    AppointmentClient,
    AppointmentPurpose,
    AppointmentStaff,
    ClientResponse,
    InterpretationMode,
)
from app.db.base import TextOrigin
from app.db.client import Client
from app.db.client_app import ClientInvitation, ClientPasskey, ClientSession, PlanTextTranslation
from app.db.messaging import AuthorKind, Message, MessageTranslation, Thread
from app.db.organisation import Organisation, Staff
from app.db.plan import (
    ApprovalMethod,
    GoalKind,
    GoalType,
    IntegrationPlan,
    PlanApproval,
    PlanGoal,
    PlanService,
    PlanServiceKind,
    PlanServiceStatus,
    PlanStatus,
    PlanVersion,
)
from app.db.programme import (
    ProgrammeService,
    ProgrammeServiceLanguage,
    ProgrammeServiceText,
    ServiceType,
)
from app.domain import rules
from app.domain.auth import token_hash
from app.domain.demo_programme import PROGRAMME
from app.domain.plans import content_of
from app.domain.translations import content_hash
from app.i18n import LOCAL_TIME

LONG_GOAL = "Työ lähihoitajana tai hoiva-avustajana"
LONG_GOAL_AR = "العمل كممرضة عملية أو مساعدة رعاية"
PERIOD_GOAL = "Suomen kielen taito tasolle A2 kaikissa osa-alueissa"
OFFICER_MESSAGE = "Tervetuloa Kotopolkuun! Voit kirjoittaa meille täällä omalla kielelläsi."
CLIENT_MESSAGE = "مرحبا، هل يمكنني تغيير موعد الأسبوع القادم؟ لدي موعد عند الطبيب."
CLIENT_MESSAGE_FI = "Hei, voinko siirtää ensi viikon tapaamista? Minulla on lääkäriaika."
OFFICER_REPLY = "Kyllä voi. Ehdota sopivaa aikaa, niin vaihdan tapaamisen."


@dataclass
class MeSample:
    client_id: uuid.UUID
    session_token: str
    plan_id: uuid.UUID
    plan_service_id: uuid.UUID
    approved_version_id: uuid.UUID
    pending_version_id: uuid.UUID
    upcoming_appointment_id: uuid.UUID
    past_appointment_id: uuid.UUID
    thread_id: uuid.UUID
    message_id: uuid.UUID
    passkey_id: uuid.UUID
    invitation_token: str
    extra: dict[str, str] = field(default_factory=dict)

    def values(self) -> dict[str, str]:
        """Path parameter name → a value of this client's own, for the /me/ routes' parameters."""
        return {
            "appointment_id": str(self.upcoming_appointment_id),
            "past_appointment_id": str(self.past_appointment_id),
            "ref": str(self.upcoming_appointment_id),  # /me/appointments/{ref}: an id, or an id + ".ics"
            "thread_id": str(self.thread_id),
            "message_id": str(self.message_id),
            "plan_id": str(self.plan_id),
            "version_id": str(self.pending_version_id),
            "plan_version_id": str(self.pending_version_id),
            "service_id": str(self.plan_service_id),
            "plan_service_id": str(self.plan_service_id),
            "passkey_id": str(self.passkey_id),
            "credential_id": str(self.passkey_id),
            "token": self.invitation_token,
            "invitation": self.invitation_token,
            "invitation_token": self.invitation_token,
            "code": self.invitation_token,
            **self.extra,
        }


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TIME)


def programme_services(db: Session, organisation: Organisation) -> dict[ServiceType, ProgrammeService]:
    """The organisation's active civic orientation and integration training (the demo's, if loaded)."""
    wanted = (ServiceType.CIVIC_ORIENTATION, ServiceType.INTEGRATION_TRAINING)
    found: dict[ServiceType, ProgrammeService] = {}
    for service in db.scalars(
        select(ProgrammeService).where(
            ProgrammeService.organisation_id == organisation.id,
            ProgrammeService.active.is_(True),
            ProgrammeService.service_type.in_(wanted),
        )
    ):
        found.setdefault(service.service_type, service)
    for spec in PROGRAMME:
        if spec.service_type not in wanted or spec.service_type in found or not spec.active:
            continue
        name, description, eligibility = spec.fi
        source = content_hash({"name": name, "description": description, "eligibility": eligibility})
        texts = [
            ProgrammeServiceText(language="fi", name=name, description=description, eligibility=eligibility,
                                 origin=TextOrigin.ORIGINAL, source_hash=source)
        ]  # fmt: skip
        for language, ((t_name, t_description, t_eligibility), origin) in spec.translations.items():
            texts.append(
                ProgrammeServiceText(language=language, name=t_name, description=t_description,
                                     eligibility=t_eligibility, origin=origin, source_hash=source)
            )  # fmt: skip
        service = ProgrammeService(
            organisation_id=organisation.id,
            service_type=spec.service_type,
            provider_name=spec.provider or "Esimerkkilän aikuisopisto",
            source_language="fi",
            remote=spec.remote,
            place=spec.place,
            hours=Decimal(spec.hours) if spec.hours is not None else None,
            texts=texts,
            languages=[ProgrammeServiceLanguage(language=code) for code in sorted(spec.languages)],
        )
        db.add(service)
        found[spec.service_type] = service
    db.flush()
    return found


def _plan(db: Session, client: Client, officer: Staff, today: date) -> IntegrationPlan:
    existing = db.scalar(
        select(IntegrationPlan)
        .where(IntegrationPlan.client_id == client.id, IntegrationPlan.status == PlanStatus.IN_FORCE)
        .limit(1)
    )
    if existing is not None:
        return existing
    services = programme_services(db, db.get_one(Organisation, client.organisation_id))
    starts_on = today - timedelta(days=60)
    plan = IntegrationPlan(
        client_id=client.id,
        organisation_id=client.organisation_id,
        number=1,
        status=PlanStatus.IN_FORCE,
        officer_id=officer.id,
        starts_on=starts_on,
        ends_on=rules.first_plan_latest_end(starts_on),
        language_studies="Kotoutumiskoulutus suomeksi, tavoitteena A2.",
        guidance="Henkilökohtainen ohjaus kotoutumispalveluissa kerran kuukaudessa.",
        rationale="Kielitaito ja yhteiskuntatieto ovat edellytys tavoitteena olevalle työlle.",
        duties_explained=True,
        next_review_on=rules.next_review_due(starts_on),
        goals=[
            PlanGoal(position=0, kind=GoalKind.LONG_TERM, goal_type=GoalType.EMPLOYMENT, text=LONG_GOAL),
            PlanGoal(
                position=1, kind=GoalKind.PLAN_PERIOD, goal_type=GoalType.LANGUAGE_SKILLS, text=PERIOD_GOAL
            ),
        ],
        services=[
            PlanService(
                position=position,
                kind=PlanServiceKind.PROGRAMME,
                programme_service_id=service.id,
                planned_start=starts_on + timedelta(days=14),
                status=PlanServiceStatus.STARTED,
                referred_on=starts_on + timedelta(days=7),
                started_on=starts_on + timedelta(days=14),
                final_tests=[],
            )
            for position, service in enumerate(services.values())
        ],
        pauses=[],
    )
    db.add(plan)
    db.flush()
    return plan


def _versions(
    db: Session, plan: IntegrationPlan, client: Client, officer: Staff
) -> tuple[PlanVersion, PlanVersion]:
    """An approved version, then a change (an NGO activity added) presented and waiting for approval."""
    rows = list(
        db.scalars(select(PlanVersion).where(PlanVersion.plan_id == plan.id).order_by(PlanVersion.number))
    )
    approved = next(
        (
            v
            for v in rows
            if db.scalar(select(PlanApproval.id).where(PlanApproval.plan_version_id == v.id).limit(1))
        ),
        None,
    )
    if approved is None:
        approved = PlanVersion(plan_id=plan.id, number=len(rows) + 1, content=content_of(plan), content_hash="",
                               created_by_id=officer.id)  # fmt: skip
        approved.content_hash = content_hash(approved.content)
        db.add(approved)
        db.flush()
        db.add(PlanApproval(plan_version_id=approved.id, client_id=client.id, method=ApprovalMethod.SIGNED_ON_PAPER,
                            recorded_by_id=officer.id))  # fmt: skip
        rows.append(approved)
    pending = rows[-1] if rows[-1] is not approved else None
    if pending is None:
        plan.services.append(
            PlanService(
                position=len(plan.services),
                kind=PlanServiceKind.NGO,
                name="Kielikahvila, Esimerkkilän kirjasto",
                planned_start=date.today() + timedelta(days=7),  # noqa: DTZ011 - local demo dates
                status=PlanServiceStatus.PLANNED,
                final_tests=[],
            )
        )
        db.flush()
        pending = PlanVersion(plan_id=plan.id, number=rows[-1].number + 1, content=content_of(plan),
                              content_hash="", created_by_id=officer.id)  # fmt: skip
        pending.content_hash = content_hash(pending.content)
        db.add(pending)
        db.flush()
    return approved, pending


def _goal_translation(db: Session, plan: IntegrationPlan, officer: Staff) -> None:
    goal = plan.goals[0]
    key = f"goal:{goal.id}"
    if db.scalar(select(PlanTextTranslation.id).where(PlanTextTranslation.plan_id == plan.id,
                                                     PlanTextTranslation.source_key == key)):  # fmt: skip
        return
    db.add(
        PlanTextTranslation(plan_id=plan.id, source_key=key, language="ar", text=LONG_GOAL_AR,
                            origin=TextOrigin.TRANSLATOR, source_hash=content_hash(goal.text),
                            translated_by_id=officer.id)
    )  # fmt: skip


def _appointment(
    db: Session, client: Client, officer: Staff, starts: datetime, response: ClientResponse
) -> Appointment:
    appointment = Appointment(
        organisation_id=client.organisation_id,
        purpose=AppointmentPurpose.REVIEW if starts > datetime.now(UTC) else AppointmentPurpose.PLAN,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=60),
        street_address="Kauppakatu 5, 00100 Esimerkkilä",
        room="Palvelupiste, huone 3",
        what_to_bring="Oleskelulupakortti ja pankkitunnukset, jos sinulla on.",
        interpreter_language=client.interpreter_language or "ar",
        interpreter_mode=InterpretationMode.ON_SITE,
        interpreter_name="Tulkkauspalvelu Sana Oy",
        interpreter_booked_by_id=officer.id,
        interpreter_booked_at=datetime.now(UTC),
        no_show_fee_announced_at=datetime.now(UTC),
        created_by_id=officer.id,
        clients=[AppointmentClient(client_id=client.id, response=response)],
        staff=[AppointmentStaff(staff_id=officer.id)],
    )
    db.add(appointment)
    db.flush()
    return appointment


def _appointments(
    db: Session, client: Client, officer: Staff, today: date
) -> tuple[Appointment, Appointment]:
    mine = list(
        db.scalars(
            select(Appointment)
            .join(AppointmentClient, AppointmentClient.appointment_id == Appointment.id)
            .where(AppointmentClient.client_id == client.id)
            .order_by(Appointment.starts_at)
        )
    )
    now = datetime.now(UTC)
    upcoming = next((a for a in mine if a.starts_at > now), None) or _appointment(
        db, client, officer, _at(today + timedelta(days=3), 10), ClientResponse.NONE
    )
    past = next((a for a in reversed(mine) if a.starts_at <= now), None) or _appointment(
        db, client, officer, _at(today - timedelta(days=14), 9, 30), ClientResponse.CONFIRMED
    )
    return upcoming, past


def _thread(db: Session, client: Client, officer: Staff) -> tuple[Thread, Message]:
    thread = db.scalar(select(Thread).where(Thread.client_id == client.id).limit(1))
    if thread is not None:
        first = db.scalar(
            select(Message).where(Message.thread_id == thread.id).order_by(Message.created_at).limit(1)
        )
        if first is not None:
            return thread, first
    first_at = datetime.now(UTC) - timedelta(days=2)
    thread = Thread(client_id=client.id, organisation_id=client.organisation_id, subject="Tapaaminen ja kurssi",
                    last_message_at=first_at + timedelta(days=1), staff_read_at=first_at + timedelta(hours=21))  # fmt: skip
    db.add(thread)
    db.flush()
    welcome = Message(thread_id=thread.id, author_kind=AuthorKind.STAFF, author_staff_id=officer.id, language="fi",
                      body=OFFICER_MESSAGE, created_at=first_at)  # fmt: skip
    reply = Message(
        thread_id=thread.id,
        author_kind=AuthorKind.CLIENT,
        language="ar",
        body=CLIENT_MESSAGE,
        created_at=first_at + timedelta(hours=20),
        translations=[
            MessageTranslation(language="fi", body=CLIENT_MESSAGE_FI, origin=TextOrigin.MACHINE,
                               source_hash=content_hash(CLIENT_MESSAGE))
        ],
    )  # fmt: skip
    answer = Message(thread_id=thread.id, author_kind=AuthorKind.STAFF, author_staff_id=officer.id, language="fi",
                     body=OFFICER_REPLY, created_at=first_at + timedelta(days=1))  # fmt: skip
    db.add_all([welcome, reply, answer])
    db.flush()
    return thread, welcome


def _passkey(db: Session, client: Client) -> ClientPasskey:
    existing = db.scalar(select(ClientPasskey).where(ClientPasskey.client_id == client.id).limit(1))
    if existing is not None:
        return existing
    passkey = ClientPasskey(client_id=client.id, credential_id=secrets.token_bytes(32),
                            public_key=secrets.token_bytes(77), name="Android-puhelin")  # fmt: skip
    db.add(passkey)
    db.flush()
    return passkey


def _invitation(db: Session, client: Client, officer: Staff) -> str:
    token = secrets.token_urlsafe(24)
    db.add(
        ClientInvitation(client_id=client.id, token_hash=token_hash(token),
                         short_code_hash=token_hash(secrets.token_hex(8)), created_by_id=officer.id,
                         expires_at=datetime.now(UTC) + timedelta(days=7))
    )  # fmt: skip
    return token


def session_for(db: Session, client: Client, days: int = 30) -> str:
    """A signed-in migrant-app session (what a passkey sign-in creates); the cookie's token."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    db.add(ClientSession(token_hash=token_hash(token), client_id=client.id, created_at=now, last_seen_at=now,
                         expires_at=now + timedelta(days=days)))  # fmt: skip
    db.flush()
    return token


def build(db: Session, client: Client, officer: Staff, session_days: int = 30) -> MeSample:
    """Give the client everything the /me/ pages show (keeping what it has); the caller commits."""
    today = date.today()  # noqa: DTZ011 - the app's local day is close enough for sample data
    client.interpreter_language = client.interpreter_language or "ar"
    plan_id = _plan(db, client, officer, today).id
    plan = db.scalars(
        select(IntegrationPlan)
        .where(IntegrationPlan.id == plan_id)
        .options(selectinload(IntegrationPlan.goals), selectinload(IntegrationPlan.services))
        .execution_options(populate_existing=True)
    ).one()
    approved, pending = _versions(db, plan, client, officer)
    _goal_translation(db, plan, officer)
    upcoming, past = _appointments(db, client, officer, today)
    thread, message = _thread(db, client, officer)
    passkey = _passkey(db, client)
    invitation = _invitation(db, client, officer)
    token = session_for(db, client, session_days)
    db.flush()
    return MeSample(
        client_id=client.id,
        session_token=token,
        plan_id=plan.id,
        plan_service_id=plan.services[0].id,
        approved_version_id=approved.id,
        pending_version_id=pending.id,
        upcoming_appointment_id=upcoming.id,
        past_appointment_id=past.id,
        thread_id=thread.id,
        message_id=message.id,
        passkey_id=passkey.id,
        invitation_token=invitation,
    )
