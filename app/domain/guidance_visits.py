"""Guidance and counselling visits (service 4, process 3.4.7) and the managed list of their topics.

**Topics.** Each organisation keeps its own list (GuidanceTopic): managers (the guidance-topics permission)
add topics with a Finnish, Swedish and English name, rename them (version-checked), order them and retire
or reactivate them. A retired topic is not offered for new visits, but the visits that have it keep it
(and the statistics show it). Two topics of an organisation cannot have the same Finnish name, whatever the
case (checked here over the organisation's short list; the unique constraint catches a race).

**Visits.** Officers (the guidance-visits permission) record a visit: its date (not in the future), one or
more active topics, channel, duration (1–600 minutes), the language it was held in (the app's content
languages), whether an interpreter was used, and the referrals made. A visit is

- *identified* — linked to one of the organisation's clients the officer may read — only while the
  client's latest decision on the purpose "guidance records" is a consent (decree 874/2024: records of an
  identified person's guidance are kept only with their consent). The visit keeps the consent row it was
  made under (consent_id). Without consent the form says so and offers to record the consent now (officers
  who may change the client: a consent row, audited) or to keep the visit anonymously. A consent withdrawn
  later stops new identified visits and changes to the old ones; the old ones stay (and can be deleted).
  Only an identified visit may carry a note.
- *anonymous* — no client, no consent, no free text at all: only the facts the statistics need.

The organisation's officers see its visits in the list (their own by default); the client page lists the
client's identified visits to the staff of the organisation responsible for the client, for visits of
their own organisation (county staff reading the client through a cooperation do not see them: guidance
records are not among the data shared with the county). Every read of an identified visit is audited with
the client's id; every change, with field names only.

**Changes.** The officer who recorded a visit may change or delete it on the day it was recorded
(Helsinki time), checked against the version their form showed; after that the visit is part of the
statistics as it is. Who a visit was with (anonymous or which client) is not changed afterwards: delete
the visit and record it again.

Retention (app.domain.retention) anonymises the visits of a deleted client: client, consent and note go,
the visit stays in the statistics with its topics.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app import i18n
from app.db.base import utcnow
from app.db.client import Client, ClientStatus, Consent, ConsentPurpose
from app.db.guidance import (
    GuidanceTopic,
    GuidanceVisit,
    GuidanceVisitReferral,
    GuidanceVisitTopic,
    VisitChannel,
    VisitReferral,
)
from app.db.organisation import Staff
from app.domain import audit
from app.domain.audit import Action
from app.domain.forms import FormErrors, checkbox, choice, date_field, parse_date, text, today
from app.domain.policy import Actor, Permission, client_scope, may_write_client, of_responsible_organisation
from app.i18n import LOCAL_TIME, N_, _

TOPIC_NAME_MAX = 120  # guidance_topic.name_*
MAX_NOTE = 4000
MIN_DURATION = 1
MAX_DURATION = 600
PAGE_SIZE = 50
MAX_PAGE = 1000
LIST_DAYS = 90  # the list's default period: the last 90 days
SECTION_LIMIT = 50  # visits listed on the client page
VISIT_FIELDS = ("visited_on", "channel", "duration_minutes", "language", "interpreter_used")


class StaleTopic(Exception):
    """The topic was changed after the form was opened."""


class DuplicateTopic(Exception):
    """Another topic of the organisation has the same Finnish name."""


class StaleVisit(Exception):
    """The visit was changed or deleted after the form was opened."""


# --- topics -------------------------------------------------------------------------------------------


def topic_name(topic: GuidanceTopic) -> str:
    """The topic's name in the interface language (English for languages the back office is not in)."""
    locale = i18n.get_locale()
    if locale == "fi":
        return topic.name_fi
    if locale == "sv":
        return topic.name_sv
    return topic.name_en


async def topics(
    db: AsyncSession, organisation_id: uuid.UUID, *, active_only: bool = False
) -> list[GuidanceTopic]:
    """The organisation's topics in their order (the active ones first when all are asked for)."""
    statement = select(GuidanceTopic).where(GuidanceTopic.organisation_id == organisation_id)
    if active_only:
        statement = statement.where(GuidanceTopic.active.is_(True))
    ordered = statement.order_by(
        GuidanceTopic.active.desc(), GuidanceTopic.position, GuidanceTopic.name_fi, GuidanceTopic.id
    )
    return list((await db.scalars(ordered)).all())


async def load_topic(db: AsyncSession, actor: Actor, topic_id: uuid.UUID) -> GuidanceTopic | None:
    """The actor's organisation's topic, or None (another organisation's: the caller answers 404)."""
    return await db.scalar(
        select(GuidanceTopic).where(
            GuidanceTopic.id == topic_id, GuidanceTopic.organisation_id == actor.organisation_id
        )
    )


@dataclass
class TopicInput:
    name_fi: str | None = None
    name_sv: str | None = None
    name_en: str | None = None
    errors: FormErrors = field(default_factory=FormErrors)


TOPIC_NAME_ERRORS = {
    "name_fi": N_("Give the topic's name in Finnish."),
    "name_sv": N_("Give the topic's name in Swedish."),
    "name_en": N_("Give the topic's name in English."),
}


def read_topic_form(data: Mapping[str, Any]) -> TopicInput:
    parsed = TopicInput(errors=FormErrors())
    for name in ("name_fi", "name_sv", "name_en"):
        raw = " ".join(str(data.get(name) or "").split())
        if len(raw) > TOPIC_NAME_MAX:
            parsed.errors[name] = _("Use at most %(max)d characters.") % {"max": TOPIC_NAME_MAX}
        elif not raw:
            parsed.errors[name] = _(TOPIC_NAME_ERRORS[name])
        setattr(parsed, name, raw or None)
    return parsed


def duplicate_message() -> str:
    return _(
        "The list already has a topic with this Finnish name. Choose another name, or reactivate the "
        "retired topic if that is the one you mean."
    )


async def _check_unique(db: AsyncSession, actor: Actor, name_fi: str, exclude: uuid.UUID | None) -> None:
    folded = name_fi.casefold()
    for topic in await topics(db, actor.organisation_id):
        if topic.id != exclude and topic.name_fi.casefold() == folded:
            raise DuplicateTopic


async def add_topic(db: AsyncSession, actor: Actor, parsed: TopicInput) -> GuidanceTopic:
    """A new active topic at the end of the list; DuplicateTopic when the Finnish name is taken."""
    assert parsed.name_fi
    assert parsed.name_sv
    assert parsed.name_en
    await _check_unique(db, actor, parsed.name_fi, None)
    last = await db.scalar(
        select(func.max(GuidanceTopic.position)).where(GuidanceTopic.organisation_id == actor.organisation_id)
    )
    topic = GuidanceTopic(
        organisation_id=actor.organisation_id,
        name_fi=parsed.name_fi,
        name_sv=parsed.name_sv,
        name_en=parsed.name_en,
        active=True,
        position=(last or 0) + 1,
    )
    try:
        async with db.begin_nested():
            db.add(topic)
    except IntegrityError as error:  # the same name added at the same moment
        raise DuplicateTopic from error
    await audit.record(
        db, Action.CREATE, actor=actor, object_type="guidance_topic", object_id=topic.id,
        fields=["name_fi", "name_sv", "name_en", "position"],
    )  # fmt: skip
    return topic


def _check_topic(topic: GuidanceTopic, seen_version: int) -> None:
    if topic.version != seen_version:
        raise StaleTopic


async def _flush_topic(db: AsyncSession) -> None:
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleTopic from error


async def rename_topic(
    db: AsyncSession, actor: Actor, topic: GuidanceTopic, seen_version: int, parsed: TopicInput
) -> None:
    assert parsed.name_fi
    assert parsed.name_sv
    assert parsed.name_en
    _check_topic(topic, seen_version)
    await _check_unique(db, actor, parsed.name_fi, topic.id)
    changed = [n for n in ("name_fi", "name_sv", "name_en") if getattr(topic, n) != getattr(parsed, n)]
    if not changed:
        return
    for name in changed:
        setattr(topic, name, getattr(parsed, name))
    try:
        async with db.begin_nested():
            await _flush_topic(db)
    except IntegrityError as error:
        raise DuplicateTopic from error
    await audit.record(
        db, Action.UPDATE, actor=actor, object_type="guidance_topic", object_id=topic.id, fields=changed
    )


async def set_active(
    db: AsyncSession, actor: Actor, topic: GuidanceTopic, seen_version: int, active: bool
) -> None:
    """Retire (not offered for new visits; old visits keep it) or reactivate a topic."""
    _check_topic(topic, seen_version)
    if topic.active == active:
        return
    topic.active = active
    if active:  # back at the end of the active list
        last = await db.scalar(
            select(func.max(GuidanceTopic.position)).where(
                GuidanceTopic.organisation_id == actor.organisation_id, GuidanceTopic.active.is_(True)
            )
        )
        topic.position = (last or 0) + 1
    await _flush_topic(db)
    await audit.record(
        db, Action.UPDATE, actor=actor, object_type="guidance_topic", object_id=topic.id,
        fields=["active", *(["position"] if active else [])],
    )  # fmt: skip


async def move_topic(
    db: AsyncSession, actor: Actor, topic: GuidanceTopic, seen_version: int, direction: str
) -> bool:
    """Move an active topic one place up or down among the active topics (swapping places with its
    neighbour); False when it is already first or last. Only the two topics change."""
    _check_topic(topic, seen_version)
    listed = await topics(db, actor.organisation_id, active_only=True)
    if topic not in listed:
        return False
    if len({t.position for t in listed}) != len(listed):  # equal positions (e.g. all 0): number them first
        for number, each in enumerate(listed, start=1):
            each.position = number
    index = listed.index(topic)
    other_index = index - 1 if direction == "up" else index + 1
    if not 0 <= other_index < len(listed):
        await _flush_topic(db)
        return False
    other = listed[other_index]
    topic.position, other.position = other.position, topic.position
    await _flush_topic(db)
    for moved in (topic, other):
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            object_type="guidance_topic",
            object_id=moved.id,
            fields=["position"],
        )
    return True


def stale_topic_message() -> str:
    return _(
        "Someone else changed this topic after you opened the page. Nothing was saved; the topic as it is "
        "now is shown, and your input is still in the form."
    )


# --- consent (decree 874/2024) --------------------------------------------------------------------------


async def latest_consent(db: AsyncSession, client_id: uuid.UUID) -> Consent | None:
    """The client's latest decision on keeping guidance records (given or withdrawn); None: none recorded."""
    return await db.scalar(
        select(Consent)
        .where(Consent.client_id == client_id, Consent.purpose == ConsentPurpose.GUIDANCE_RECORDS)
        .order_by(Consent.recorded_at.desc(), Consent.decided_on.desc())
        .limit(1)
    )


async def latest_consents(db: AsyncSession, client_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Consent]:
    """The latest guidance-records decision of each client (one query)."""
    wanted = set(client_ids)
    if not wanted:
        return {}
    rows = await db.scalars(
        select(Consent)
        .where(Consent.client_id.in_(wanted), Consent.purpose == ConsentPurpose.GUIDANCE_RECORDS)
        .order_by(Consent.client_id, Consent.recorded_at.desc(), Consent.decided_on.desc())
    )
    found: dict[uuid.UUID, Consent] = {}
    for consent in rows:
        found.setdefault(consent.client_id, consent)
    return found


def in_force(consent: Consent | None) -> bool:
    return consent is not None and consent.given


async def record_consent(db: AsyncSession, actor: Actor, client: Client, on: date) -> Consent:
    """The client's consent to keeping records of their guidance, given now (the caller has checked that
    the actor may change the client)."""
    consent = Consent(
        client_id=client.id,
        purpose=ConsentPurpose.GUIDANCE_RECORDS,
        given=True,
        decided_on=on,
        recorded_by_id=actor.staff_id,
    )
    db.add(consent)
    await db.flush()
    await audit.record(
        db, Action.CREATE, actor=actor, client_id=client.id, object_type="consent", object_id=consent.id,
        fields=["purpose", "given", "decided_on"],
    )  # fmt: skip
    return consent


# --- who the visit is with -------------------------------------------------------------------------------


async def load_visit_client(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client | None:
    """A client of the actor's own organisation whom the actor may read; None otherwise (404)."""
    client = await db.scalar(select(Client).where(Client.id == client_id, client_scope(actor)))
    if client is None or client.organisation_id != actor.organisation_id:
        return None
    return client


@dataclass(frozen=True)
class ClientChoice:
    """A client offered in the visit form, with their guidance-records consent."""

    client: Client
    consent: Consent | None

    @property
    def consented(self) -> bool:
        return in_force(self.consent)


async def client_choices(db: AsyncSession, clients: Sequence[Client]) -> list[ClientChoice]:
    consents = await latest_consents(db, [c.id for c in clients])
    seen: set[uuid.UUID] = set()
    choices = []
    for client in clients:
        if client.id not in seen:
            seen.add(client.id)
            choices.append(ClientChoice(client, consents.get(client.id)))
    return choices


# --- the visit form ---------------------------------------------------------------------------------------


@dataclass
class VisitInput:
    visited_on: date | None = None
    topic_ids: list[uuid.UUID] = field(default_factory=list)
    channel: VisitChannel | None = None
    duration_minutes: int | None = None
    language: str | None = None
    interpreter_used: bool = False
    referrals: list[VisitReferral] = field(default_factory=list)
    note: str | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def language_codes() -> tuple[str, ...]:
    """The languages a visit may be held in: the app's content languages (i18n.COMMON_LANGUAGES)."""
    return i18n.COMMON_LANGUAGES


def read_visit_form(
    data: Mapping[str, Any],
    topic_values: Sequence[str],
    referral_values: Sequence[str],
    allowed: Sequence[GuidanceTopic],
) -> VisitInput:
    """`topic_values`, `referral_values`: the repeated fields. `allowed`: the topics that may be chosen (the
    active ones, and on an edit also those the visit has). Whether a note is allowed is the caller's rule."""
    parsed = VisitInput(errors=FormErrors())
    errors = parsed.errors
    parsed.visited_on = date_field(data, "visited_on", errors, required=True)
    by_id = {str(t.id): t.id for t in allowed}
    for value in topic_values:
        topic_id = by_id.get(str(value))
        if topic_id is None:
            errors["topic"] = _("Choose topics from the list.")
        elif topic_id not in parsed.topic_ids:
            parsed.topic_ids.append(topic_id)
    if not parsed.topic_ids and "topic" not in errors:
        errors["topic"] = _("Choose at least one topic.")
    parsed.channel = choice(data, "channel", VisitChannel, errors)
    raw = str(data.get("duration_minutes") or "").strip()
    if not raw:
        errors["duration_minutes"] = _("Give the duration in minutes.")
    elif not raw.isdigit() or not MIN_DURATION <= int(raw) <= MAX_DURATION:
        errors["duration_minutes"] = _("Give the duration as whole minutes from %(min)d to %(max)d.") % {
            "min": MIN_DURATION,
            "max": MAX_DURATION,
        }
    else:
        parsed.duration_minutes = int(raw)
    language = str(data.get("language") or "").strip()
    if not language:
        errors["language"] = _("Choose the language the visit was held in.")
    elif language not in language_codes():
        errors["language"] = _("Choose one of the options.")
    else:
        parsed.language = language
    parsed.interpreter_used = checkbox(data, "interpreter_used")
    for value in referral_values:
        try:
            referral = VisitReferral(str(value))
        except ValueError:
            errors["referral"] = _("Choose referrals from the list.")
            continue
        if referral not in parsed.referrals:
            parsed.referrals.append(referral)
    parsed.note = text(data, "note", MAX_NOTE, errors)
    return parsed


def anonymous_note_message() -> str:
    return _(
        "An anonymous visit is kept without any notes, so that nothing identifies the person. Clear the "
        "note, or record the visit for an identified client who has consented."
    )


def ended_message() -> str:
    return _(
        "The client relationship has ended, so no new records of the client's guidance are kept. Record "
        "the visit anonymously."
    )


def no_consent_message(consent: Consent | None) -> str:
    if consent is None:
        return _(
            "The client has not consented to keeping records of their guidance and counselling (decree "
            "874/2024). Record their consent, or record the visit anonymously."
        )
    return _(
        "The client withdrew their consent to keeping records of their guidance and counselling on "
        "%(date)s (decree 874/2024). Record the visit anonymously, or record a new consent if they give it."
    ) % {"date": i18n.format_date(consent.decided_on)}


async def _add_links(db: AsyncSession, visit: GuidanceVisit, parsed: VisitInput) -> None:
    db.add_all(GuidanceVisitTopic(visit_id=visit.id, topic_id=t) for t in parsed.topic_ids)
    db.add_all(GuidanceVisitReferral(visit_id=visit.id, referral=r) for r in parsed.referrals)


def _filled(parsed: VisitInput, identified: bool) -> list[str]:
    fields = [*VISIT_FIELDS, "topics"]
    if parsed.referrals:
        fields.append("referrals")
    if identified and parsed.note:
        fields.append("note")
    return fields


async def create_visit(
    db: AsyncSession,
    actor: Actor,
    parsed: VisitInput,
    client: Client | None = None,
    consent: Consent | None = None,
) -> GuidanceVisit:
    """Record a visit: identified when `client` is given (with the consent in force), else anonymous
    (no note, whatever was typed)."""
    assert parsed.visited_on
    assert parsed.channel
    assert parsed.duration_minutes
    assert parsed.language
    assert parsed.topic_ids
    if client is not None:
        assert consent is not None
        assert consent.given
        assert consent.client_id == client.id
    visit = GuidanceVisit(
        organisation_id=actor.organisation_id,
        client_id=client.id if client else None,
        consent_id=consent.id if client and consent else None,
        visited_on=parsed.visited_on,
        channel=parsed.channel,
        duration_minutes=parsed.duration_minutes,
        language=parsed.language,
        interpreter_used=parsed.interpreter_used,
        note=parsed.note if client else None,
        recorded_by_id=actor.staff_id,
        recorded_at=utcnow(),
    )
    db.add(visit)
    await db.flush()
    await _add_links(db, visit, parsed)
    await db.flush()
    await audit.record(
        db, Action.CREATE, actor=actor, client_id=visit.client_id, object_type="guidance_visit",
        object_id=visit.id, fields=_filled(parsed, client is not None),
    )  # fmt: skip
    return visit


# --- one visit ----------------------------------------------------------------------------------------------


async def load_visit(db: AsyncSession, actor: Actor, visit_id: uuid.UUID) -> GuidanceVisit | None:
    """A visit of the actor's organisation (the guidance-visits permission), or None (404)."""
    if not actor.has(Permission.GUIDANCE_VISITS):
        return None
    return await db.scalar(
        select(GuidanceVisit).where(
            GuidanceVisit.id == visit_id, GuidanceVisit.organisation_id == actor.organisation_id
        )
    )


async def staff_name(db: AsyncSession, staff_id: uuid.UUID) -> str:
    return await db.scalar(select(Staff.full_name).where(Staff.id == staff_id)) or ""


def recorded_on(visit: GuidanceVisit) -> date:
    return visit.recorded_at.astimezone(LOCAL_TIME).date()


def is_recorder(actor: Actor, visit: GuidanceVisit) -> bool:
    return visit.recorded_by_id == actor.staff_id and visit.organisation_id == actor.organisation_id


def may_change(actor: Actor, visit: GuidanceVisit, on: date) -> bool:
    """Changes and deletion: the officer who recorded the visit, on the day they recorded it."""
    return is_recorder(actor, visit) and recorded_on(visit) == on


def past_day_message() -> str:
    return _(
        "A visit can be changed or deleted only on the day it was recorded, by the officer who recorded "
        "it. It is now part of the statistics as it is."
    )


def stale_visit_message() -> str:
    return _(
        "Someone else changed or deleted this visit after you opened the page. Nothing was saved; your "
        "input is still in the form."
    )


def withdrawn_message() -> str:
    return _(
        "The client no longer consents to keeping records of their guidance and counselling (decree "
        "874/2024): the visit cannot be changed any more. You may delete it."
    )


async def visit_links(
    db: AsyncSession, visit_ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, list[GuidanceTopic]], dict[uuid.UUID, list[VisitReferral]]]:
    """The topics (in the list's order) and referrals of the visits: two queries for any number."""
    topics_of: dict[uuid.UUID, list[GuidanceTopic]] = {v: [] for v in visit_ids}
    referrals_of: dict[uuid.UUID, list[VisitReferral]] = {v: [] for v in visit_ids}
    if not visit_ids:
        return topics_of, referrals_of
    rows = await db.execute(
        select(GuidanceVisitTopic.visit_id, GuidanceTopic)
        .join(GuidanceTopic, GuidanceTopic.id == GuidanceVisitTopic.topic_id)
        .where(GuidanceVisitTopic.visit_id.in_(visit_ids))
        .order_by(GuidanceTopic.position, GuidanceTopic.name_fi)
    )
    for visit_id, topic in rows:
        topics_of[visit_id].append(topic)
    order = list(VisitReferral)
    for visit_id, referral in await db.execute(
        select(GuidanceVisitReferral.visit_id, GuidanceVisitReferral.referral).where(
            GuidanceVisitReferral.visit_id.in_(visit_ids)
        )
    ):
        referrals_of[visit_id].append(VisitReferral(referral))
    for listed in referrals_of.values():
        listed.sort(key=order.index)
    return topics_of, referrals_of


def form_values(
    visit: GuidanceVisit, topic_ids: Iterable[uuid.UUID], referrals: Iterable[VisitReferral]
) -> dict[str, Any]:
    """The stored visit as the strings its form posts."""
    return {
        "visited_on": visit.visited_on.isoformat(),
        "topic": [str(t) for t in topic_ids],
        "channel": visit.channel.value,
        "duration_minutes": str(visit.duration_minutes),
        "language": visit.language,
        "interpreter_used": "on" if visit.interpreter_used else "",
        "referral": [r.value for r in referrals],
        "note": visit.note or "",
        "version": str(visit.version),
    }


async def _flush_visit(db: AsyncSession) -> None:
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleVisit from error


async def update_visit(
    db: AsyncSession, actor: Actor, visit: GuidanceVisit, seen_version: int, parsed: VisitInput
) -> None:
    """Replace the visit's facts, topics and referrals (the caller has checked may_change and, for an
    identified visit, the consent)."""
    assert parsed.visited_on
    assert parsed.channel
    assert parsed.duration_minutes
    assert parsed.language
    if visit.version != seen_version:
        raise StaleVisit
    visit.visited_on = parsed.visited_on
    visit.channel = parsed.channel
    visit.duration_minutes = parsed.duration_minutes
    visit.language = parsed.language
    visit.interpreter_used = parsed.interpreter_used
    visit.note = parsed.note if visit.client_id else None
    visit.updated_at = utcnow()  # the row is written, so its version moves, whatever changed
    await _flush_visit(db)
    await db.execute(delete(GuidanceVisitTopic).where(GuidanceVisitTopic.visit_id == visit.id))
    await db.execute(delete(GuidanceVisitReferral).where(GuidanceVisitReferral.visit_id == visit.id))
    await _add_links(db, visit, parsed)
    await db.flush()
    await audit.record(
        db, Action.UPDATE, actor=actor, client_id=visit.client_id, object_type="guidance_visit",
        object_id=visit.id, fields=_filled(parsed, visit.client_id is not None),
    )  # fmt: skip


async def delete_visit(db: AsyncSession, actor: Actor, visit: GuidanceVisit, seen_version: int) -> None:
    if visit.version != seen_version:
        raise StaleVisit
    client_id, visit_id = visit.client_id, visit.id
    await db.delete(visit)
    await _flush_visit(db)
    await audit.record(
        db, Action.DELETE, actor=actor, client_id=client_id, object_type="guidance_visit", object_id=visit_id
    )


async def audit_view(db: AsyncSession, actor: Actor, visits: Iterable[GuidanceVisit]) -> None:
    """An identified visit shown is a view of the client's data: one event per client."""
    seen: set[uuid.UUID] = set()
    for visit in visits:
        if visit.client_id is not None and visit.client_id not in seen:
            seen.add(visit.client_id)
            await audit.record(
                db, Action.VIEW, actor=actor, client_id=visit.client_id, object_type="guidance_visit",
                fields=["visited_on", "topics", "channel", "note"],
            )  # fmt: skip


# --- the list -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListFilters:
    start: date
    end: date
    channel: VisitChannel | None = None
    topic_id: uuid.UUID | None = None
    everyone: bool = False  # False: the actor's own visits
    page: int = 1

    def query(self, page: int | None = None) -> dict[str, str]:
        params = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.channel:
            params["channel"] = self.channel.value
        if self.topic_id:
            params["topic"] = str(self.topic_id)
        params["whose"] = "all" if self.everyone else "mine"
        if page and page > 1:
            params["page"] = str(page)
        return params


def read_list_filters(
    params: Mapping[str, Any], on: date, choices: Sequence[GuidanceTopic]
) -> tuple[ListFilters, FormErrors, dict[str, str]]:
    """The list's GET form: filters (defaults where missing: the last LIST_DAYS days, own visits), errors
    and the values as typed."""
    errors = FormErrors()
    form = {k: str(params.get(k) or "").strip() for k in ("from", "to", "channel", "topic", "whose")}
    start, end = on - timedelta(days=LIST_DAYS), on
    for name in ("from", "to"):
        if not form[name]:
            continue
        parsed = parse_date(form[name])
        if parsed is None or not 1900 <= parsed.year <= 9999:
            errors[name] = _("Enter the date as dd.mm.yyyy, for example 24.3.2025.")
        elif name == "from":
            start = parsed
        else:
            end = parsed
    if not errors and end < start:
        errors["to"] = _("The end of the period cannot be before its start.")
    channel = None
    if form["channel"]:
        try:
            channel = VisitChannel(form["channel"])
        except ValueError:
            errors["channel"] = _("Choose one of the options.")
    topic_id = next((t.id for t in choices if str(t.id) == form["topic"]), None)
    if form["topic"] and topic_id is None:
        errors["topic"] = _("Choose one of the options.")
    try:
        page = min(MAX_PAGE, max(1, int(str(params.get("page") or 1))))
    except ValueError:
        page = 1
    form["from"] = form["from"] or start.isoformat()
    form["to"] = form["to"] or end.isoformat()
    form["whose"] = "all" if form["whose"] == "all" else "mine"
    return ListFilters(start, end, channel, topic_id, form["whose"] == "all", page), errors, form


@dataclass(frozen=True)
class VisitRow:
    visit: GuidanceVisit
    topics: list[GuidanceTopic]
    referrals: list[VisitReferral]
    client_name: str | None  # identified visits of a client the reader may read
    recorder_name: str
    may_change: bool

    @property
    def topic_names(self) -> list[str]:
        """The topics' names in the interface language."""
        return [topic_name(t) for t in self.topics]


@dataclass
class Listing:
    rows: list[VisitRow]
    page: int
    has_next: bool


async def listing(db: AsyncSession, actor: Actor, filters: ListFilters, on: date) -> Listing:
    """One page of the organisation's visits, newest first: three queries whatever the page holds."""
    readable = and_(Client.id == GuidanceVisit.client_id, client_scope(actor))
    statement = (
        select(GuidanceVisit, Client.first_names, Client.last_name, Staff.full_name)
        .outerjoin(Client, readable)
        .join(Staff, Staff.id == GuidanceVisit.recorded_by_id)
        .where(
            GuidanceVisit.organisation_id == actor.organisation_id,
            GuidanceVisit.visited_on >= filters.start,
            GuidanceVisit.visited_on <= filters.end,
        )
    )
    if not filters.everyone:
        statement = statement.where(GuidanceVisit.recorded_by_id == actor.staff_id)
    if filters.channel:
        statement = statement.where(GuidanceVisit.channel == filters.channel)
    if filters.topic_id:
        statement = statement.where(
            exists().where(
                GuidanceVisitTopic.visit_id == GuidanceVisit.id,
                GuidanceVisitTopic.topic_id == filters.topic_id,
            )
        )
    found = (
        await db.execute(
            statement.order_by(
                GuidanceVisit.visited_on.desc(), GuidanceVisit.recorded_at.desc(), GuidanceVisit.id
            )
            .offset((filters.page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    ).all()
    shown = found[:PAGE_SIZE]
    topics_of, referrals_of = await visit_links(db, [r[0].id for r in shown])
    rows = [
        VisitRow(
            visit=r[0],
            topics=topics_of[r[0].id],
            referrals=referrals_of[r[0].id],
            client_name=f"{r[2]}, {r[1]}" if r[0].client_id and r[2] is not None else None,
            recorder_name=r[3],
            may_change=may_change(actor, r[0], on),
        )
        for r in shown
    ]
    await audit_view(db, actor, [row.visit for row in rows if row.client_name is not None])
    return Listing(rows, filters.page, len(found) > PAGE_SIZE)


# --- the client page ---------------------------------------------------------------------------------------


@dataclass
class ClientSection:
    rows: list[VisitRow]
    more: bool
    consent: Consent | None
    may_record: bool  # the actor records visits (the link to the form)
    may_record_consent: bool

    @property
    def consented(self) -> bool:
        return in_force(self.consent)


async def client_section(db: AsyncSession, actor: Actor, client: Client) -> ClientSection | None:
    """The client's identified visits of the actor's organisation, newest first (None: not shown). The
    caller has loaded the client under the actor's client scope; only the staff of the organisation
    responsible for the client see the section."""
    if not of_responsible_organisation(actor, client):
        return None
    on = today()
    found = (
        await db.execute(
            select(GuidanceVisit, Staff.full_name)
            .join(Staff, Staff.id == GuidanceVisit.recorded_by_id)
            .where(
                GuidanceVisit.client_id == client.id, GuidanceVisit.organisation_id == actor.organisation_id
            )
            .order_by(GuidanceVisit.visited_on.desc(), GuidanceVisit.recorded_at.desc(), GuidanceVisit.id)
            .limit(SECTION_LIMIT + 1)
        )
    ).all()
    shown = found[:SECTION_LIMIT]
    topics_of, referrals_of = await visit_links(db, [r[0].id for r in shown])
    name = f"{client.last_name}, {client.first_names}"
    rows = [
        VisitRow(r[0], topics_of[r[0].id], referrals_of[r[0].id], name, r[1], may_change(actor, r[0], on))
        for r in shown
    ]
    await audit_view(db, actor, [row.visit for row in rows])
    return ClientSection(
        rows=rows,
        more=len(found) > SECTION_LIMIT,
        consent=await latest_consent(db, client.id),
        may_record=actor.has(Permission.GUIDANCE_VISITS) and client.status == ClientStatus.ACTIVE,
        may_record_consent=may_write_client(actor, client),
    )
