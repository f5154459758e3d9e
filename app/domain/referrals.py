"""Referrals by another authority (service 20, §9): another authority — Kela, a school, a health centre,
the police, a reception centre — tells the municipality of a person who needs an initial assessment, with
the person's consent.

The public side (/referral, app/routes/referral.py) needs no account. The referrer names their authority,
unit, themselves and an e-mail address for the acknowledgement; the person's names, identity code or date
of birth, language and phone; why an assessment is needed; and that the person consented (on which day).
CSRF and a honeypot field keep robots out; REFERRALS_PER_ADDRESS referrals per address within the sign-in
window (counted under a keyed hash of the address in the sign-in failure table, as anonymous questions
are), then 429.

Consent. No ConsentPurpose of the client register fits a consent to be referred (those are consents to
share the client's data onwards), so the consent stays on the referral (consent_given, consent_on); an
accepted referral links the client, so the consent is found from the client's referral.

Officers with the outreach permission see their own organisation's referrals (another's id is not found)
and decide: accept — a new client (segment 1, known by an authority's referral on the day it arrived,
names, date of birth, identity code, language and phone copied) or a link to an existing client (offered
when the identity code, or the date of birth with a name, or the phone matches; a new client is refused
when the identity code is already registered) — with an outreach item to reach the person (the client's
existing item is linked, and a closed one opened again: a referral with consent is news); or decline
with a reason. Decisions are checked against the version the form showed (StaleReferral) and audited.

E-mails. The referrer gets an acknowledgement when the referral arrives and another when it is decided
(outbox kind referral_acknowledgement, rendered in app/jobs/render.py in the language the form was sent
in). They carry the referral's reference and the day it arrived, never the person's data and never the
decline reason: the address was typed into a public form and is not verified, e-mail is not a secure
channel, and the reason, written about the person, is likely to hold personal data. The referrer who needs
the reason asks the municipality, which can answer through a secure channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.db.base import utcnow
from app.db.client import Client, ClientStatus, KnownHow, Segment
from app.db.organisation import Organisation, OrganisationType, Staff
from app.db.outbox import Channel, NotificationKind, OutboxMessage
from app.db.outreach import AuthorityReferral, OutreachItem, OutreachReason, OutreachStatus, ReferralStatus
from app.domain import audit, auth, clients, feedback, outbox, phone
from app.domain.audit import Action
from app.domain.forms import FormErrors, birth_and_identity_code, checkbox, date_field, email_field, text
from app.domain.policy import Actor, load_client, may_write_client
from app.i18n import COMMON_LANGUAGES, DEFAULT_LOCALE, LOCAL_TIME, PUBLIC_LOCALES, _, ngettext
from app.settings import Settings

REFERRALS_PER_ADDRESS = 5  # within the sign-in window (15 minutes by default); then 429
HONEYPOT = "website"
NAME_MAX = 200
REASON_MAX = 4000
DECLINE_MAX = 2000
DECIDED_LIMIT = 50  # decided referrals listed in the inbox, newest first
# Outreach statuses that end the effort: a new referral (with consent) opens the item again.
CLOSED_OUTREACH = (OutreachStatus.DECLINED, OutreachStatus.NOT_ELIGIBLE, OutreachStatus.MOVED_AWAY)
# The fields of the person shown on the officer's pages (audited by name when viewed).
PERSON_FIELDS = ["first_names", "last_name", "identity_code", "date_of_birth", "language", "phone", "reason"]
ITEM_FIELDS = (
    "status",
    "reason",
    "identity_code",
    "first_names",
    "last_name",
    "date_of_birth",
    "language",
    "phone",
)
REFERRER_FIELDS = [
    "authority_name",
    "referrer_organisation",
    "contact_name",
    "contact_email",
    "contact_phone",
]


class StaleReferral(Exception):
    """The referral was decided, or otherwise changed, after the form was opened."""


class ClientConflict(Exception):
    """A client with the referral's identity code is already registered: link that one instead."""


class CannotLink(Exception):
    """The chosen client cannot be linked to this referral; `message` says why (translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def reference(referral: AuthorityReferral) -> str:
    """The short reference the referrer is told (derived from the id, so nothing more is stored)."""
    return "R-" + referral.id.hex[:8].upper()


def received_on(referral: AuthorityReferral) -> date:
    return referral.received_at.astimezone(LOCAL_TIME).date()


# --- the public form --------------------------------------------------------------------------------


async def municipalities(db: AsyncSession) -> list[Organisation]:
    """Where a referral can go: the municipalities of the deployment, by name."""
    return list(
        (
            await db.scalars(
                select(Organisation)
                .where(Organisation.type == OrganisationType.MUNICIPALITY)
                .order_by(Organisation.name)
            )
        ).all()
    )


async def default_municipality(
    db: AsyncSession, settings: Settings, choices: Sequence[Organisation]
) -> uuid.UUID | None:
    """The municipality preselected on the form: the deployment's (PUBLIC_ORGANISATION, as for feedback),
    else the only one."""
    wanted = await feedback.public_organisation(db, settings)
    ids = [organisation.id for organisation in choices]
    if wanted in ids:
        return wanted
    return ids[0] if len(ids) == 1 else None


@dataclass
class ReferralInput:
    values: dict[str, Any] = field(default_factory=dict)
    errors: FormErrors = field(default_factory=FormErrors)


def _required(
    data: Mapping[str, Any], name: str, errors: FormErrors, message: str, limit: int = NAME_MAX
) -> str:
    value = text(data, name, limit, errors)
    if not value:
        errors[name] = message
    return value or ""


def _phone(data: Mapping[str, Any], name: str, errors: FormErrors) -> str | None:
    raw = text(data, name, 40, errors)
    if not raw:
        return None
    value = phone.to_e164(raw)
    if value is None:
        errors[name] = _("Enter a phone number like 040 123 4567 or +358 40 123 4567.")
    return value


def read_referral_form(data: Mapping[str, Any], choices: Sequence[Organisation]) -> ReferralInput:
    """The public form: every error a translated message under the field's name."""
    parsed = ReferralInput()
    v, errors = parsed.values, parsed.errors
    raw_organisation = str(data.get("organisation_id") or "")
    chosen = next((o for o in choices if str(o.id) == raw_organisation), None)
    if chosen is None:
        errors["organisation_id"] = _("Choose the municipality you refer the person to.")
    v["organisation_id"] = chosen.id if chosen else None

    v["authority_name"] = _required(data, "authority_name", errors, _("Enter the name of your authority."))
    v["referrer_organisation"] = text(data, "referrer_organisation", NAME_MAX, errors)
    v["contact_name"] = _required(data, "contact_name", errors, _("Enter the contact person's name."))
    v["contact_email"] = email_field(data, "contact_email", errors)
    if not v["contact_email"] and "contact_email" not in errors:
        errors["contact_email"] = _("Enter an e-mail address: the acknowledgement is sent there.")
    v["contact_phone"] = _phone(data, "contact_phone", errors)

    v["first_names"] = _required(data, "first_names", errors, _("Enter the first names."))
    v["last_name"] = _required(data, "last_name", errors, _("Enter the last name."))
    v["date_of_birth"], v["identity_code"] = birth_and_identity_code(data, errors)
    if v["date_of_birth"] is None and "date_of_birth" not in errors and "identity_code" not in errors:
        errors["date_of_birth"] = _("Enter the date of birth or the personal identity code.")
    language = str(data.get("language") or "").strip()
    if language and language not in COMMON_LANGUAGES:
        errors["language"] = _("Choose one of the options.")
    v["language"] = language if language in COMMON_LANGUAGES else None
    v["phone"] = _phone(data, "phone", errors)
    v["reason"] = text(data, "reason", REASON_MAX, errors) or ""
    if not v["reason"]:
        errors["reason"] = _("Say why the person needs an initial assessment.")

    v["consent_given"] = checkbox(data, "consent_given")
    if not v["consent_given"]:
        errors["consent_given"] = _(
            "A referral needs the person's consent. Ask the person first, then tick the box."
        )
    v["consent_on"] = date_field(data, "consent_on", errors, required=True)
    born = v["date_of_birth"]
    if v["consent_on"] and born and v["consent_on"] < born:
        errors["consent_on"] = _("The consent cannot be older than the person.")
    return parsed


def is_robot(data: Mapping[str, Any]) -> bool:
    """A form robot filled in the field people never see."""
    return bool(str(data.get(HONEYPOT) or "").strip())


def address_key(settings: Settings, address: str | None) -> str | None:
    """A keyed hash of the sender's address, of its own kind (apart from sign-ins, feedback, questions)."""
    if not address:
        return None
    return auth.limiter_keys(settings, None, f"authority-referral:{address}")[1]


async def retry_after(db: AsyncSession, settings: Settings, key: str | None) -> int:
    """Seconds until this address may refer again (REFERRALS_PER_ADDRESS within the sign-in window)."""
    limited = replace(settings, sign_in_max_failures_per_address=REFERRALS_PER_ADDRESS)
    return await auth.retry_after(db, limited, None, key)


async def count_sending(db: AsyncSession, settings: Settings, key: str | None) -> None:
    """One more referral (stored or caught by the honeypot) from this address."""
    await auth.record_failure(db, settings, None, key)


def too_many_message(seconds: int) -> str:
    minutes = feedback.wait_minutes(seconds)
    return ngettext(
        "You have sent many referrals in a short while. Try again in %(num)d minute.",
        "You have sent many referrals in a short while. Try again in %(num)d minutes.",
        minutes,
    ) % {"num": minutes}


def _dedupe_key(referral: AuthorityReferral, event: str) -> str:
    return f"referral:{referral.id}:{event}"


async def receive(db: AsyncSession, parsed: ReferralInput, locale: str) -> AuthorityReferral:
    """Store a referral from the public form and queue the acknowledgement to the referrer (in the
    language of the form). Audited as anonymous: the referrer has no account."""
    v = parsed.values
    referral = AuthorityReferral(
        organisation_id=v["organisation_id"],
        status=ReferralStatus.RECEIVED,
        authority_name=v["authority_name"],
        referrer_organisation=v["referrer_organisation"],
        contact_name=v["contact_name"],
        contact_email=v["contact_email"],
        contact_phone=v["contact_phone"],
        first_names=v["first_names"],
        last_name=v["last_name"],
        identity_code=v["identity_code"],
        date_of_birth=v["date_of_birth"],
        language=v["language"],
        phone=v["phone"],
        reason=v["reason"],
        consent_given=True,
        consent_on=v["consent_on"],
        received_at=utcnow(),
    )
    db.add(referral)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor_kind="anonymous",
        object_type="authority_referral",
        object_id=referral.id,
        fields=[
            name
            for name in [*REFERRER_FIELDS, *PERSON_FIELDS, "consent_given", "consent_on"]
            if getattr(referral, name) not in (None, "")
        ],
    )
    await _acknowledge(db, referral, "received", locale if locale in PUBLIC_LOCALES else DEFAULT_LOCALE)
    return referral


async def _acknowledge(db: AsyncSession, referral: AuthorityReferral, event: str, locale: str) -> None:
    await outbox.notify_address(
        db,
        Channel.EMAIL,
        referral.contact_email,
        NotificationKind.REFERRAL_ACKNOWLEDGEMENT,
        {"referral_id": str(referral.id), "event": event},
        locale,
        dedupe_key=_dedupe_key(referral, event),
    )


async def referrer_locale(db: AsyncSession, referral: AuthorityReferral) -> str:
    """The language the referrer used on the form (kept on the acknowledgement's outbox row)."""
    found = await db.scalar(
        select(OutboxMessage.locale).where(OutboxMessage.dedupe_key == _dedupe_key(referral, "received"))
    )
    return found if found in PUBLIC_LOCALES else DEFAULT_LOCALE


# --- the officers' inbox ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Inbox:
    received: list[AuthorityReferral]
    decided: list[AuthorityReferral]
    more_decided: bool


async def inbox(db: AsyncSession, actor: Actor) -> Inbox:
    """The organisation's referrals waiting for a decision (oldest first) and the latest decided ones.
    The person's name is shown, so each listed referral is audited as viewed."""
    base = select(AuthorityReferral).where(AuthorityReferral.organisation_id == actor.organisation_id)
    received = list(
        (
            await db.scalars(
                base.where(AuthorityReferral.status == ReferralStatus.RECEIVED).order_by(
                    AuthorityReferral.received_at, AuthorityReferral.id
                )
            )
        ).all()
    )
    decided = list(
        (
            await db.scalars(
                base.where(AuthorityReferral.status != ReferralStatus.RECEIVED)
                .order_by(AuthorityReferral.decided_at.desc(), AuthorityReferral.id)
                .limit(DECIDED_LIMIT + 1)
            )
        ).all()
    )
    for referral in [*received, *decided[:DECIDED_LIMIT]]:
        await audit.record(
            db,
            Action.VIEW,
            actor=actor,
            client_id=referral.client_id,
            object_type="authority_referral",
            object_id=referral.id,
            fields=["first_names", "last_name", "authority_name"],
        )
    return Inbox(received, decided[:DECIDED_LIMIT], len(decided) > DECIDED_LIMIT)


async def load(db: AsyncSession, actor: Actor, referral_id: uuid.UUID) -> AuthorityReferral | None:
    """One of the actor's organisation's referrals; another organisation's is not found."""
    return await db.scalar(
        select(AuthorityReferral)
        .where(
            AuthorityReferral.id == referral_id, AuthorityReferral.organisation_id == actor.organisation_id
        )
        .execution_options(populate_existing=True)
    )


async def audit_view(db: AsyncSession, actor: Actor, referral: AuthorityReferral) -> None:
    await audit.record(
        db,
        Action.VIEW,
        actor=actor,
        client_id=referral.client_id,
        object_type="authority_referral",
        object_id=referral.id,
        fields=[*REFERRER_FIELDS, *PERSON_FIELDS, "consent_given", "consent_on"]
        + (["decline_reason"] if referral.decline_reason else []),
    )


@dataclass(frozen=True)
class Decision:
    """What the referral page shows of a decision taken."""

    decided_by: str
    client: Client | None  # None when declined, or the client is out of the actor's scope now
    item: OutreachItem | None


async def decision(db: AsyncSession, actor: Actor, referral: AuthorityReferral) -> Decision | None:
    if referral.status == ReferralStatus.RECEIVED:
        return None
    staff = await db.get(Staff, referral.decided_by_id) if referral.decided_by_id else None
    client = None
    if referral.client_id is not None:
        client = await load_client(db, actor, referral.client_id)
    item = await db.get(OutreachItem, referral.outreach_item_id) if referral.outreach_item_id else None
    return Decision(staff.full_name if staff else "", client, item)


def _values(referral: AuthorityReferral) -> dict[str, Any]:
    """The referral's person as the client register's fields (for the duplicate check and a new client)."""
    return {
        "segment": int(Segment.OWN_INITIATIVE),
        "known_on": received_on(referral),
        "known_how": KnownHow.AUTHORITY_REFERRAL,
        "first_names": referral.first_names,
        "last_name": referral.last_name,
        "date_of_birth": referral.date_of_birth,
        "identity_code": referral.identity_code,
        "mother_tongue": referral.language,
        "phone": referral.phone,
    }


@dataclass(frozen=True)
class Candidates:
    """Existing clients the referred person may be: `same_code` is the one with the identity code."""

    clients: list[Client]
    same_code: Client | None


async def candidates(db: AsyncSession, actor: Actor, referral: AuthorityReferral) -> Candidates:
    """Clients of the organisation the person probably is (same identity code, phone, or date of birth
    with a name); audited as a search, as the client register's duplicate check is."""
    found = await clients.probable_duplicates(db, actor, _values(referral))
    await audit.record(db, Action.SEARCH, actor=actor, object_type="client", fields=["duplicates"])
    same = next(
        (c for c in found if referral.identity_code and c.identity_code == referral.identity_code), None
    )
    return Candidates(found, same)


def read_accept_form(data: Mapping[str, Any], offered: Candidates) -> tuple[uuid.UUID | None, FormErrors]:
    """'new' or the id of an offered client. (None, no errors) means a new client."""
    errors = FormErrors()
    raw = str(data.get("client") or "").strip()
    if (raw == "new" or (not raw and not offered.clients)) and offered.same_code is None:
        return None, errors
    if raw == "new":
        errors["client"] = _(
            "A client with this personal identity code is already registered: link the referral to them."
        )
        return None, errors
    chosen = next((c.id for c in offered.clients if str(c.id) == raw), None)
    if chosen is None:
        errors["client"] = (
            _("Choose whether to create a new client or link an existing one.")
            if offered.clients
            else _("Choose one of the options.")
        )
    return chosen, errors


def _check(referral: AuthorityReferral, seen_version: int) -> None:
    if seen_version != referral.version or referral.status != ReferralStatus.RECEIVED:
        raise StaleReferral


async def _flush(db: AsyncSession) -> None:
    try:
        await db.flush()
    except StaleDataError as error:  # decided by someone else between our read and our write
        raise StaleReferral from error


async def _outreach_item(
    db: AsyncSession, actor: Actor, referral: AuthorityReferral, client: Client
) -> OutreachItem:
    """The client's outreach item (by client, else by identity code), linked and open; else a new one."""
    code = client.identity_code or referral.identity_code
    conditions = [OutreachItem.client_id == client.id]
    if code:
        conditions.append(OutreachItem.identity_code == code)
    item = await db.scalar(
        select(OutreachItem)
        .where(OutreachItem.organisation_id == actor.organisation_id, or_(*conditions))
        .order_by(case((OutreachItem.client_id == client.id, 0), else_=1), OutreachItem.created_at)
        .limit(1)
    )
    if item is not None:
        changed = []
        if item.client_id is None:
            item.client_id = client.id
            changed.append("client_id")
        if item.status in CLOSED_OUTREACH:
            item.status = OutreachStatus.TO_REACH
            changed.append("status")
        if changed:
            await db.flush()
            await audit.record(
                db,
                Action.UPDATE,
                actor=actor,
                client_id=client.id,
                object_type="outreach_item",
                object_id=item.id,
                fields=changed,
            )
        return item
    item = OutreachItem(
        organisation_id=actor.organisation_id,
        client_id=client.id,
        status=OutreachStatus.TO_REACH,
        reason=OutreachReason.AUTHORITY_REFERRAL,
        identity_code=code,
        first_names=client.first_names,
        last_name=client.last_name,
        date_of_birth=client.date_of_birth or referral.date_of_birth,
        first_permit_date=client.first_permit_date,
        language=client.mother_tongue or referral.language,
        phone=client.phone or referral.phone,
        created_by_id=actor.staff_id,
    )
    db.add(item)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="outreach_item",
        object_id=item.id,
        fields=[name for name in ITEM_FIELDS if getattr(item, name) is not None],
    )
    return item


async def accept(
    db: AsyncSession,
    actor: Actor,
    referral: AuthorityReferral,
    seen_version: int,
    existing: Client | None,
) -> Client:
    """Accept: link `existing` (or register a new client) and an outreach item; e-mail the referrer.
    StaleReferral when decided meanwhile; ClientConflict when the identity code is registered already
    (also when another officer registered it at the same moment: the caller rolls back); CannotLink when
    `existing` may not be linked."""
    _check(referral, seen_version)
    if existing is not None:
        if not may_write_client(actor, existing):
            raise CannotLink(
                _("The client relationship has ended. Reopen it on the client page first, then accept.")
                if existing.status == ClientStatus.ENDED
                else _("You cannot change this client's data.")
            )
        if (
            referral.identity_code
            and existing.identity_code
            and existing.identity_code != referral.identity_code
        ):
            raise CannotLink(_("The client's personal identity code is not the one in the referral."))
    elif await clients.identity_code_taken(db, actor.organisation_id, referral.identity_code):
        raise ClientConflict
    # The decision first: a concurrent decision on the same referral waits for this row and then fails.
    referral.status = ReferralStatus.ACCEPTED
    referral.decided_by_id = actor.staff_id
    referral.decided_at = utcnow()
    await _flush(db)
    try:
        if existing is None:
            values = _values(referral)
            client = await clients.create(db, actor, clients.ClientInput(values=values, languages=[]))
        else:
            client = existing
        item = await _outreach_item(db, actor, referral, client)
    except IntegrityError as error:  # the same identity code registered by someone else just now
        raise ClientConflict from error
    referral.client_id = client.id
    referral.outreach_item_id = item.id
    await _flush(db)
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=client.id,
        object_type="authority_referral",
        object_id=referral.id,
        fields=["status", "decided_by_id", "decided_at", "client_id", "outreach_item_id"],
    )
    await _acknowledge(db, referral, "decision", await referrer_locale(db, referral))
    return client


def read_decline(data: Mapping[str, Any]) -> tuple[str | None, FormErrors]:
    errors = FormErrors()
    reason = text(data, "decline_reason", DECLINE_MAX, errors)
    if not reason:
        errors["decline_reason"] = _("Say why the referral is declined.")
    return reason, errors


async def decline(
    db: AsyncSession, actor: Actor, referral: AuthorityReferral, seen_version: int, reason: str
) -> None:
    """Decline with a reason (kept for officers; the referrer's e-mail says only that it was declined)."""
    _check(referral, seen_version)
    referral.status = ReferralStatus.DECLINED
    referral.decided_by_id = actor.staff_id
    referral.decided_at = utcnow()
    referral.decline_reason = reason
    await _flush(db)
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        object_type="authority_referral",
        object_id=referral.id,
        fields=["status", "decided_by_id", "decided_at", "decline_reason"],
    )
    await _acknowledge(db, referral, "decision", await referrer_locale(db, referral))


def stale_message(referral: AuthorityReferral | None) -> str:
    """What the officer is told when the referral changed under their form (nothing was saved)."""
    if referral is None:
        return _("The referral is no longer there. Nothing was saved.")
    if referral.status == ReferralStatus.ACCEPTED:
        return _("Someone accepted this referral while you were deciding. Nothing was saved.")
    if referral.status == ReferralStatus.DECLINED:
        return _("Someone declined this referral while you were deciding. Nothing was saved.")
    return _("The referral changed while you were deciding. Check it and decide again.")


async def client_section(db: AsyncSession, actor: Actor, client: Client) -> Any:
    """What the client page shows of this area (None: nothing)."""
    return None
