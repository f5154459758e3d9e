"""Demo data for appointments, tasks and messages: this week's calendar for each officer, open tasks,
and message threads in the clients' own languages (one with a machine translation waiting for a check)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.appointment import (
    Appointment,
    AppointmentClient,
    AppointmentPurpose,
    AppointmentStaff,
    ClientResponse,
    InterpretationMode,
    Task,
)
from app.db.base import TextOrigin, utcnow
from app.db.client import Client
from app.db.messaging import AuthorKind, Message, MessageTranslation, Thread
from app.db.organisation import Staff
from app.db.plan import IntegrationPlan, PlanStatus
from app.domain.translations import content_hash
from app.i18n import LOCAL_TIME

ROOMS = ("Neuvotteluhuone 1", "Neuvotteluhuone 2", "Palvelupiste, huone 3")
ADDRESS = "Kauppakatu 5, 00100 Esimerkkilä"
PURPOSES = (AppointmentPurpose.ASSESSMENT, AppointmentPurpose.PLAN, AppointmentPurpose.REVIEW,
            AppointmentPurpose.GUIDANCE)  # fmt: skip
TASKS = (
    "Pyydä kielitaidon tasotesti aikuisopistolta",
    "Tarkista Kelan päätös toimeentulotuesta",
    "Varaa tulkki seuraavaan tapaamiseen",
    "Lähetä ohjaus kotoutumiskoulutukseen",
)
# (client's language, client's message, a Finnish translation by machine)
CLIENT_MESSAGES = {
    "ar": ("مرحبا، هل يمكنني تغيير موعد الأسبوع القادم؟ لدي موعد عند الطبيب.",
           "Hei, voinko siirtää ensi viikon tapaamista? Minulla on lääkäriaika."),
    "uk": ("Доброго дня! Коли починається курс фінської мови?", "Hyvää päivää! Milloin suomen kielen kurssi alkaa?"),
    "fa": ("سلام، من فرم را پر کردم. آیا باید آن را به دفتر بیاورم؟",
           "Hei, täytin lomakkeen. Pitääkö minun tuoda se toimistolle?"),
}  # fmt: skip
WELCOME = "Tervetuloa Kotopolkuun! Voit kirjoittaa meille täällä omalla kielelläsi."
# The welcome in the client's language, as a translator wrote it.
WELCOME_TRANSLATED = {
    "ar": "مرحباً بك في Kotopolku! يمكنك أن تكتب لنا هنا بلغتك.",
    "uk": "Ласкаво просимо до Kotopolku! Ви можете писати нам тут своєю мовою.",
    "fa": "به Kotopolku خوش آمدید! می‌توانید اینجا به زبان خودتان برای ما بنویسید.",
}


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TIME)


async def load_contact(
    db: AsyncSession,
    clients: list[Client],
    officers: list[Staff],
    interpreter: Staff,
    today: date,
    rng: random.Random,
) -> None:
    monday = today - timedelta(days=today.weekday())
    # Clients with a plan in force first: the demo's migrant app then has a little of everything.
    in_force = set(
        await db.scalars(
            select(IntegrationPlan.client_id).where(IntegrationPlan.status == PlanStatus.IN_FORCE)
        )
    )
    adults = sorted((c for c in clients if c.phone), key=lambda c: c.id not in in_force)
    for index, client in enumerate(adults[:24]):
        officer = officers[index % len(officers)]
        day = monday + timedelta(days=(index // len(officers)) % 5 + (7 if index >= 15 else 0))
        starts = _at(day, 9 + (index % 3) * 2, 30 if index % 2 else 0)
        needs_interpreter = client.interpreter_needed and index % 2 == 0
        appointment = Appointment(
            organisation_id=client.organisation_id,
            purpose=PURPOSES[index % len(PURPOSES)],
            starts_at=starts,
            ends_at=starts + timedelta(minutes=60 if needs_interpreter else 45),
            street_address=ADDRESS,
            room=ROOMS[index % len(ROOMS)],
            what_to_bring="Oleskelulupakortti ja pankkitunnukset, jos sinulla on." if index % 3 == 0 else None,
            interpreter_language=client.interpreter_language if needs_interpreter else None,
            interpreter_mode=InterpretationMode.PHONE if needs_interpreter and index % 4 else (
                InterpretationMode.ON_SITE if needs_interpreter else None),
            interpreter_id=interpreter.id if needs_interpreter else None,
            interpreter_booked_by_id=officer.id if needs_interpreter else None,
            interpreter_booked_at=utcnow() if needs_interpreter else None,
            no_show_fee_announced_at=utcnow() if index % 2 else None,
            created_by_id=officer.id,
            clients=[AppointmentClient(client_id=client.id,
                                       response=ClientResponse.CONFIRMED if index % 3 == 1 else ClientResponse.NONE,
                                       responded_at=utcnow() if index % 3 == 1 else None)],
            staff=[AppointmentStaff(staff_id=officer.id)],
        )  # fmt: skip
        db.add(appointment)
    for index, officer in enumerate(officers):
        for number, title in enumerate(TASKS[: 2 + index % 2]):
            db.add(
                Task(
                    organisation_id=officer.organisation_id,
                    title=title,
                    due_on=today + timedelta(days=number * 3 - 2),
                    assignee_id=officer.id,
                    client_id=adults[(index * 3 + number) % len(adults)].id if adults else None,
                    created_by_id=officer.id,
                )
            )
    writers = [c for c in adults if c.mother_tongue in CLIENT_MESSAGES][:3]
    for index, client in enumerate(writers):
        officer = officers[index % len(officers)]
        original, finnish = CLIENT_MESSAGES[str(client.mother_tongue)]
        first = utcnow() - timedelta(days=2, hours=index)
        thread = Thread(
            client_id=client.id,
            organisation_id=client.organisation_id,
            subject="Tapaaminen ja kurssi",
            last_message_at=first + timedelta(hours=20),
            staff_read_at=first + timedelta(hours=1),
        )
        db.add(thread)
        await db.flush()
        language = str(client.mother_tongue)
        welcome_in_their_language = MessageTranslation(
            language=language, body=WELCOME_TRANSLATED[language], origin=TextOrigin.TRANSLATOR,
            source_hash=content_hash(WELCOME),
        )  # fmt: skip
        db.add(Message(thread_id=thread.id, author_kind=AuthorKind.STAFF, author_staff_id=officer.id, language="fi",
                       body=WELCOME, created_at=first, translations=[welcome_in_their_language]))  # fmt: skip
        reply = Message(
            thread_id=thread.id,
            author_kind=AuthorKind.CLIENT,
            language=str(client.mother_tongue),
            body=original,
            created_at=first + timedelta(hours=20),
            translations=[
                MessageTranslation(
                    language="fi", body=finnish, origin=TextOrigin.MACHINE, source_hash=content_hash(original)
                )
            ],
        )
        db.add(reply)
    await db.flush()
